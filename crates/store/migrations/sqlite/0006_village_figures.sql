-- Per-village figures kept current by the writes that change them (issue 16, item 14): the
-- year overview and the village pages read these rows instead of grouping every enrolment line
-- and every member of the pool on each view. Each is maintained in the same transaction as the
-- write (store::enrolment::insert / reverse, store::roster inserts, moves and deletes), and
-- store::enrolment::verify_figures compares them with a fresh GROUP BY over the base tables.
-- Keep in step with ../postgres/0006_village_figures.sql.

-- Included members of active enrolments per (year, village): what
-- store::enrolment::recount_village_figures groups from enrolment_members.
CREATE TABLE year_village_figures (
    year_id             INTEGER NOT NULL REFERENCES scheme_years(id),
    village_code        TEXT NOT NULL,
    households          INTEGER NOT NULL,
    members             INTEGER NOT NULL,
    consecutive_members INTEGER NOT NULL,
    special_members     INTEGER NOT NULL,
    due_personal        INTEGER NOT NULL,
    due_village         INTEGER NOT NULL,
    due_town            INTEGER NOT NULL,
    due_county          INTEGER NOT NULL,
    due_charity         INTEGER NOT NULL,
    PRIMARY KEY (year_id, village_code)
);

-- Included members with special statuses per (year, village, statuses joined by commas).
CREATE TABLE year_village_statuses (
    year_id      INTEGER NOT NULL REFERENCES scheme_years(id),
    village_code TEXT NOT NULL,
    statuses     TEXT NOT NULL,
    members      INTEGER NOT NULL,
    PRIMARY KEY (year_id, village_code, statuses)
);

-- Registered households and members per village.
CREATE TABLE village_counts (
    village_code TEXT NOT NULL PRIMARY KEY REFERENCES regions(code),
    households   INTEGER NOT NULL,
    members      INTEGER NOT NULL
);

INSERT INTO year_village_figures (year_id, village_code, households, members, consecutive_members,
    special_members, due_personal, due_village, due_town, due_county, due_charity)
SELECT year_id, village_code, CAST(COUNT(DISTINCT enrolment_id) AS BIGINT), CAST(COUNT(*) AS BIGINT),
    CAST(SUM(CASE WHEN consecutive_years > 1 THEN 1 ELSE 0 END) AS BIGINT),
    CAST(SUM(CASE WHEN statuses <> '' THEN 1 ELSE 0 END) AS BIGINT),
    CAST(SUM(due_personal) AS BIGINT), CAST(SUM(due_village) AS BIGINT),
    CAST(SUM(due_town) AS BIGINT), CAST(SUM(due_county) AS BIGINT), CAST(SUM(due_charity) AS BIGINT)
FROM enrolment_members WHERE active = 1 AND included = 1 GROUP BY year_id, village_code;

INSERT INTO year_village_statuses (year_id, village_code, statuses, members)
SELECT year_id, village_code, statuses, CAST(COUNT(*) AS BIGINT)
FROM enrolment_members WHERE active = 1 AND included = 1 AND statuses <> ''
GROUP BY year_id, village_code, statuses;

INSERT INTO village_counts (village_code, households, members)
SELECT r.code,
    CAST((SELECT COUNT(*) FROM households h WHERE h.village_code = r.code) AS BIGINT),
    CAST((SELECT COUNT(*) FROM members m WHERE m.village_code = r.code) AS BIGINT)
FROM regions r
WHERE EXISTS (SELECT 1 FROM households h WHERE h.village_code = r.code)
   OR EXISTS (SELECT 1 FROM members m WHERE m.village_code = r.code);
