-- The county's hospital register (医院名录): where a member was treated, chosen on the claim
-- form. Each county keeps its own list; a name is unique within its county. Codes: `level` is a
-- domain::hospital::HospitalLevel code, `location` a HospitalLocation code; `designated` (医保定点)
-- and `active` are 0/1. Hospitals are never deleted (claims cite them): an admin marks one
-- inactive instead. Keep in step with ../postgres/0009_hospitals.sql.
CREATE TABLE hospitals (
    id          INTEGER PRIMARY KEY,
    county_code TEXT NOT NULL,
    name        TEXT NOT NULL,
    level       TEXT NOT NULL,
    designated  INTEGER NOT NULL,
    location    TEXT NOT NULL,
    active      INTEGER NOT NULL DEFAULT 1,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    UNIQUE (county_code, name)
);
