-- Roster import progress lives with the job, so that every app server sharing the database
-- shows it. A job holds a lease while updated_at is recent: the server running it writes its
-- progress (and, when there is none, a heartbeat) every few seconds; a job without an outcome
-- whose updated_at is older than the lease was left by a server that stopped and wrote nothing.
ALTER TABLE import_jobs ADD COLUMN phase TEXT NOT NULL DEFAULT 'waiting';
ALTER TABLE import_jobs ADD COLUMN phase_done BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN phase_total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE import_jobs ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
UPDATE import_jobs SET updated_at = COALESCE(finished_at, created_at);
