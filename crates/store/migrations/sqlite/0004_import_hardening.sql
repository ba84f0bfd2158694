-- Roster import jobs keep a bounded error report: the first errors of each kind in
-- errors_json, how many there were in all, and per kind how many were left out of the list.
ALTER TABLE import_jobs ADD COLUMN error_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN errors_omitted_json TEXT NOT NULL DEFAULT '[]';
