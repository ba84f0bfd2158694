-- Sign-in hardening: sessions get a row id (so their owner can list and end them) and a
-- last-activity time; failed logins are counted per address as well as per account.
-- Keep in step with ../postgres/0003_auth_hardening.sql: same tables, same columns, same names.

CREATE TABLE sessions_v3 (
    id           INTEGER PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      INTEGER NOT NULL REFERENCES users(id),
    csrf_token   TEXT NOT NULL,
    ip           TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
);
INSERT INTO sessions_v3 (token_hash, user_id, csrf_token, ip, created_at, last_seen_at, expires_at)
    SELECT token_hash, user_id, csrf_token, ip, created_at, created_at, expires_at FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_v3 RENAME TO sessions;
CREATE INDEX sessions_user ON sessions(user_id, expires_at);

-- Throttling counts failures per (account, address) and per address across all accounts.
CREATE INDEX login_failures_ip ON login_failures(ip, at);
