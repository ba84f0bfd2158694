-- Keep in step with ../postgres/0010_claims.sql.
-- Claims (补助申请): the stay as the clerk or resident entered it, the coder's coding, the
-- decision, and the deadline clock; their documents (ciphertext lives in the document store,
-- rows here name it), flags for possible duplicates, and the history of every step.
CREATE TABLE claims (
    id                 INTEGER PRIMARY KEY,
    application_no     TEXT NOT NULL UNIQUE,
    year_id            INTEGER NOT NULL REFERENCES scheme_years(id),
    pool_code          TEXT NOT NULL,
    member_id          INTEGER NOT NULL REFERENCES members(id),
    household_id       INTEGER NOT NULL REFERENCES households(id),
    village_code       TEXT NOT NULL REFERENCES regions(code),
    channel            TEXT NOT NULL,
    status             TEXT NOT NULL,
    hospital_id        INTEGER NOT NULL REFERENCES hospitals(id),
    admission_date     TEXT NOT NULL,
    discharge_date     TEXT NOT NULL,
    insurance          TEXT NOT NULL,
    consecutive_years  INTEGER NOT NULL,
    total_fen          INTEGER NOT NULL,
    basic_fen          INTEGER NOT NULL,
    serious_fen        INTEGER NOT NULL,
    assistance_fen     INTEGER NOT NULL,
    oop_fen            INTEGER NOT NULL,
    settlement_no      TEXT NOT NULL,
    received_at        TEXT NOT NULL,
    received_on        TEXT NOT NULL,
    received_by        TEXT NOT NULL,
    due_on             TEXT NOT NULL,
    days_left_paused   INTEGER,
    principal_dx       TEXT NOT NULL DEFAULT '',
    secondary_dx       TEXT NOT NULL DEFAULT '',
    procedures         TEXT NOT NULL DEFAULT '',
    discharge_mode     INTEGER NOT NULL DEFAULT 1,
    exclusions         TEXT NOT NULL DEFAULT '',
    drg_version        TEXT NOT NULL DEFAULT '',
    drg_code           TEXT NOT NULL DEFAULT '',
    drg_name           TEXT NOT NULL DEFAULT '',
    coded_by           TEXT,
    coded_at           TEXT,
    proposal           TEXT,
    proposal_note      TEXT NOT NULL DEFAULT '',
    amount_fen         INTEGER NOT NULL DEFAULT 0,
    reasons            TEXT NOT NULL DEFAULT '',
    decided_by         TEXT,
    decided_at         TEXT,
    decision_note      TEXT NOT NULL DEFAULT '',
    revision           INTEGER NOT NULL DEFAULT 1
);
-- The coder's and reviewer's queues by deadline (the open states are a small part of a year's
-- claims, so the status leads); the area's list by village and month; a member's or a
-- household's claims; the duplicate checks.
CREATE INDEX claims_queue ON claims(status, due_on, id);
CREATE INDEX claims_village ON claims(village_code, received_on);
CREATE INDEX claims_member ON claims(member_id, admission_date);
CREATE INDEX claims_household ON claims(household_id);
CREATE INDEX claims_settlement ON claims(pool_code, settlement_no);
CREATE INDEX claims_year_member ON claims(year_id, member_id, status);

CREATE TABLE claim_documents (
    id           INTEGER PRIMARY KEY,
    claim_id     INTEGER NOT NULL REFERENCES claims(id),
    pool_code    TEXT NOT NULL,
    role         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    object_name  TEXT NOT NULL,
    thumb_name   TEXT,
    bytes        INTEGER NOT NULL,
    pages        INTEGER NOT NULL,
    sha256       TEXT NOT NULL,
    uploaded_by  TEXT NOT NULL,
    uploaded_at  TEXT NOT NULL
);
CREATE INDEX claim_documents_claim ON claim_documents(claim_id, role, id);
CREATE INDEX claim_documents_hash ON claim_documents(pool_code, sha256);

CREATE TABLE claim_flags (
    claim_id       INTEGER NOT NULL REFERENCES claims(id),
    kind           TEXT NOT NULL,
    other_claim_id INTEGER NOT NULL REFERENCES claims(id),
    PRIMARY KEY (claim_id, kind, other_claim_id)
);

CREATE TABLE claim_events (
    id          INTEGER PRIMARY KEY,
    claim_id    INTEGER NOT NULL REFERENCES claims(id),
    at          TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    from_status TEXT NOT NULL,
    to_status   TEXT NOT NULL,
    note        TEXT NOT NULL
);
CREATE INDEX claim_events_claim ON claim_events(claim_id, id);
