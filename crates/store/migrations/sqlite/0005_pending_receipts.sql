-- Receipts above the pool's review amount wait here until a second manager confirms them
-- (a donation of a hundred million typed by one person must not reach the append-only ledger
-- unseen). Confirmed rows cite the entry they posted; rejected ones keep who and why.
CREATE TABLE pending_receipts (
    id            INTEGER PRIMARY KEY,
    year_id       INTEGER NOT NULL REFERENCES scheme_years(id),
    kind          TEXT NOT NULL CHECK (kind IN ('donation', 'interest', 'remittance', 'opening')),
    payer         TEXT NOT NULL,
    donor_name    TEXT NOT NULL,
    organisation  INTEGER NOT NULL,
    amount_fen    INTEGER NOT NULL,
    received_on   TEXT NOT NULL,
    recorded_by   TEXT NOT NULL,
    recorded_at   TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'posted', 'rejected')),
    decided_by    TEXT,
    decided_at    TEXT,
    decision_note TEXT NOT NULL DEFAULT '',
    entry_no      INTEGER
);
CREATE INDEX pending_receipts_year ON pending_receipts(year_id, status);
