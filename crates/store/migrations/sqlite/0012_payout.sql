-- Keep in step with ../postgres/0012_payout.sql.
-- The paying half: members' bank cards, monthly payout batches with their public notice and
-- frozen lines, objections to a notice, and the recovery of subsidies obtained by fraud.
--
-- A claim is in at most one live line (pending or paid) at any time: the partial unique index
-- `payout_lines_claim_live` makes paying a claim twice impossible whatever the application does.
-- A line's ledger entries are recorded on the line in the same transaction that posts them, so
-- a retried approval or result import finds them and posts nothing again.
CREATE TABLE bank_cards (
    id               INTEGER PRIMARY KEY,
    member_id        INTEGER NOT NULL REFERENCES members(id),
    village_code     TEXT NOT NULL REFERENCES regions(code),
    holder_member_id INTEGER NOT NULL REFERENCES members(id),
    holder_reason    TEXT NOT NULL,
    bank_name        TEXT NOT NULL,
    card_cipher      BLOB NOT NULL,
    card_masked      TEXT NOT NULL,
    status           TEXT NOT NULL,
    note             TEXT NOT NULL DEFAULT '',
    created_by       TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    confirmed_by     TEXT,
    confirmed_at     TEXT
);
CREATE INDEX bank_cards_member ON bank_cards(member_id, id);
CREATE UNIQUE INDEX bank_cards_one_active ON bank_cards(member_id) WHERE status = 'active';
CREATE INDEX bank_cards_pending ON bank_cards(status, village_code);

CREATE TABLE payout_batches (
    id            INTEGER PRIMARY KEY,
    batch_no      TEXT NOT NULL UNIQUE,
    pool_code     TEXT NOT NULL,
    year_id       INTEGER NOT NULL REFERENCES scheme_years(id),
    cutoff_on     TEXT NOT NULL,
    status        TEXT NOT NULL,
    notice_start  TEXT NOT NULL,
    notice_end    TEXT NOT NULL,
    chain_seq     INTEGER NOT NULL,
    chain_head    TEXT NOT NULL,
    show_drg      INTEGER NOT NULL,
    prepared_by   TEXT NOT NULL,
    prepared_at   TEXT NOT NULL,
    approved_by   TEXT,
    approved_at   TEXT,
    file_hash     TEXT,
    closed_at     TEXT,
    revision      INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX payout_batches_pool ON payout_batches(pool_code, id);

CREATE TABLE payout_lines (
    id             INTEGER PRIMARY KEY,
    batch_id       INTEGER NOT NULL REFERENCES payout_batches(id),
    seq            INTEGER NOT NULL,
    claim_id       INTEGER NOT NULL REFERENCES claims(id),
    member_id      INTEGER NOT NULL REFERENCES members(id),
    village_code   TEXT NOT NULL REFERENCES regions(code),
    name_masked    TEXT NOT NULL,
    drg_name       TEXT NOT NULL,
    amount_fen     INTEGER NOT NULL,
    card_id        INTEGER NOT NULL REFERENCES bank_cards(id),
    state          TEXT NOT NULL,
    live           INTEGER NOT NULL,
    expense_entry  INTEGER,
    payout_entry   INTEGER,
    reversal_entry INTEGER,
    result_note    TEXT NOT NULL DEFAULT '',
    resulted_by    TEXT,
    resulted_at    TEXT,
    UNIQUE (batch_id, seq)
);
CREATE UNIQUE INDEX payout_lines_claim_live ON payout_lines(claim_id) WHERE live = 1;
CREATE INDEX payout_lines_batch ON payout_lines(batch_id, village_code, seq);
CREATE INDEX payout_lines_claim ON payout_lines(claim_id, id);

CREATE TABLE payout_objections (
    id            INTEGER PRIMARY KEY,
    batch_id      INTEGER NOT NULL REFERENCES payout_batches(id),
    line_id       INTEGER NOT NULL REFERENCES payout_lines(id),
    phone_cipher  BLOB NOT NULL,
    phone_hash    BLOB NOT NULL,
    phone_masked  TEXT NOT NULL,
    client_ip     TEXT NOT NULL,
    text          TEXT NOT NULL,
    status        TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    decided_by    TEXT,
    decided_at    TEXT,
    decision_note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX payout_objections_batch ON payout_objections(batch_id, status);
CREATE INDEX payout_objections_queue ON payout_objections(status, id);
CREATE INDEX payout_objections_phone ON payout_objections(phone_hash, created_at);
CREATE INDEX payout_objections_ip ON payout_objections(client_ip, created_at);

CREATE TABLE recoveries (
    id            INTEGER PRIMARY KEY,
    claim_id      INTEGER NOT NULL UNIQUE REFERENCES claims(id),
    pool_code     TEXT NOT NULL,
    year_id       INTEGER NOT NULL REFERENCES scheme_years(id),
    member_id     INTEGER NOT NULL REFERENCES members(id),
    village_code  TEXT NOT NULL REFERENCES regions(code),
    amount_fen    INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    evidence      TEXT NOT NULL,
    decided_by    TEXT NOT NULL,
    decided_at    TEXT NOT NULL,
    entry_no      INTEGER NOT NULL
);
CREATE INDEX recoveries_member ON recoveries(member_id);
CREATE INDEX recoveries_pool ON recoveries(pool_code, id);

CREATE TABLE recovery_receipts (
    id            INTEGER PRIMARY KEY,
    recovery_id   INTEGER NOT NULL REFERENCES recoveries(id),
    amount_fen    INTEGER NOT NULL,
    received_on   TEXT NOT NULL,
    entry_no      INTEGER NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL
);
CREATE INDEX recovery_receipts_recovery ON recovery_receipts(recovery_id, id);
