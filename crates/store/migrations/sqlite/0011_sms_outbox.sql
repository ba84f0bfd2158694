-- SMS to residents through a transactional outbox: the message row is inserted in the same
-- transaction as the state change it reports, and a background sender (on any app server
-- sharing the database) delivers it. Keep in step with ../postgres/0011_sms_outbox.sql.
--
-- status: pending (waiting or being sent), sent (the provider acknowledged it: never sent
-- again), failed (a permanent provider error, or the attempts ran out).
-- A sender claims a due row by setting leased_until (now + lease) and attempts + 1 in one
-- statement; the row is not claimed again while the lease holds. The attempt number doubles
-- as the claim's token: a retry or failure is only recorded by the holder of that attempt.
-- The phone is stored encrypted (AES-256-GCM) and masked; the text never names a diagnosis.
CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY,
    region_code     TEXT NOT NULL,
    subject         TEXT NOT NULL,
    phone_cipher    BLOB NOT NULL,
    phone_masked    TEXT NOT NULL,
    template        TEXT NOT NULL,
    params_json     TEXT NOT NULL,
    text            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_until    TEXT,
    last_error      TEXT NOT NULL DEFAULT '',
    provider_ref    TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    sent_at         TEXT
);
CREATE INDEX sms_outbox_due ON sms_outbox(status, next_attempt_at);
CREATE INDEX sms_outbox_region ON sms_outbox(region_code, id);
