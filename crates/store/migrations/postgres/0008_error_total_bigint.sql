-- 0004 added import_jobs.error_total as INTEGER on both backends: 64 bits on SQLite, 32 on
-- PostgreSQL, where every other integer column is BIGINT. Found by tests/schema_parity.rs; the
-- twins are meant to be column-for-column identical. Keep in step with
-- ../sqlite/0008_error_total_bigint.sql.
ALTER TABLE import_jobs ALTER COLUMN error_total TYPE BIGINT;
