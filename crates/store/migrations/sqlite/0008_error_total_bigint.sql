-- Nothing to do on SQLite: its INTEGER is already 64 bits. PostgreSQL's twin widens
-- import_jobs.error_total from INTEGER (32 bits) to BIGINT, as tests/schema_parity.rs asks.
-- Keep in step with ../postgres/0008_error_total_bigint.sql.
SELECT 1;
