-- Region tree, roster, staff, sessions, audit log, import jobs.
-- Keep in step with ../postgres/0001_foundation.sql: same tables, same columns, same names.

CREATE TABLE regions (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL CHECK (level IN ('county', 'town', 'village')),
    parent_code TEXT REFERENCES regions(code),
    is_virtual  INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);
CREATE INDEX regions_parent ON regions(parent_code);

CREATE TABLE households (
    id           INTEGER PRIMARY KEY,
    village_code TEXT NOT NULL REFERENCES regions(code),
    household_no TEXT NOT NULL,
    address      TEXT,
    created_at   TEXT NOT NULL,
    UNIQUE (village_code, household_no)
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    household_id INTEGER NOT NULL REFERENCES households(id),
    village_code TEXT NOT NULL REFERENCES regions(code),
    name         TEXT NOT NULL,
    id_cipher    BLOB NOT NULL,
    id_hash      BLOB NOT NULL UNIQUE,
    id_masked    TEXT NOT NULL,
    birth_date   TEXT NOT NULL,
    sex          INTEGER NOT NULL,
    phone_cipher BLOB,
    phone_hash   BLOB,
    phone_masked TEXT,
    relation     TEXT NOT NULL,
    insurance    TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
);
CREATE INDEX members_household ON members(household_id);
CREATE INDEX members_name ON members(name, village_code);
CREATE INDEX members_phone ON members(phone_hash);
CREATE INDEX members_village ON members(village_code);
-- One head per household, enforced by the database as well as by the import.
CREATE UNIQUE INDEX members_one_head ON members(household_id) WHERE relation = 'head';

CREATE TABLE member_statuses (
    id        INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL REFERENCES members(id),
    status    TEXT NOT NULL,
    since     TEXT NOT NULL,
    until     TEXT,
    UNIQUE (member_id, status, since)
);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    region_code   TEXT REFERENCES regions(code),
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id),
    csrf_token TEXT NOT NULL,
    ip         TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    ip       TEXT NOT NULL,
    at       TEXT NOT NULL
);
CREATE INDEX login_failures_user ON login_failures(username, at);

CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          TEXT NOT NULL,
    user_id     INTEGER,
    username    TEXT NOT NULL,
    region_code TEXT NOT NULL,
    action      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    detail      TEXT NOT NULL,
    ip          TEXT NOT NULL
);
CREATE INDEX audit_region ON audit_log(region_code, id);

CREATE TABLE import_jobs (
    id             INTEGER PRIMARY KEY,
    user_id        INTEGER NOT NULL REFERENCES users(id),
    region_code    TEXT NOT NULL,
    filename       TEXT NOT NULL,
    status         TEXT NOT NULL,
    total_rows     INTEGER NOT NULL DEFAULT 0,
    processed_rows INTEGER NOT NULL DEFAULT 0,
    added_members  INTEGER NOT NULL DEFAULT 0,
    unchanged_rows INTEGER NOT NULL DEFAULT 0,
    errors_json    TEXT NOT NULL DEFAULT '[]',
    message        TEXT NOT NULL DEFAULT '',
    created_at     TEXT NOT NULL,
    finished_at    TEXT
);
