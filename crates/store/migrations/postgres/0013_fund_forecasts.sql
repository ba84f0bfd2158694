-- Keep in step with ../sqlite/0013_fund_forecasts.sql.
-- The latest re-forecast of each scheme year's payout (风险预警), one row per year, so that the
-- banner on every page reads one indexed row instead of recomputing; `warning` is the state of
-- the last crossing of the rules' warning level (flipped by conditional updates, so a crossing
-- sends its SMS once however many refreshes race). Staff phones (nullable: the warning SMS goes
-- to town and county admins who have one). An index for the figures' per-year status counts.
CREATE TABLE fund_forecasts (
    year_id            BIGINT PRIMARY KEY REFERENCES scheme_years(id),
    pool_code          TEXT NOT NULL,
    computed_at        TEXT NOT NULL,
    elapsed_permille   BIGINT NOT NULL,
    claims_decided     BIGINT NOT NULL,
    committed_fen      BIGINT NOT NULL,
    budget_fen         BIGINT NOT NULL,
    expected_fen       BIGINT NOT NULL,
    q50_fen            BIGINT NOT NULL,
    q90_fen            BIGINT NOT NULL,
    q95_fen            BIGINT NOT NULL,
    q99_fen            BIGINT NOT NULL,
    p_shortfall_ppm    BIGINT NOT NULL,
    level_ppm          BIGINT NOT NULL,
    threshold_permille BIGINT NOT NULL,
    warning            BIGINT NOT NULL,
    warned_at          TEXT
);
CREATE INDEX fund_forecasts_warning ON fund_forecasts(warning, pool_code);
CREATE INDEX claims_year_status ON claims(year_id, status, village_code);
ALTER TABLE users ADD COLUMN phone_cipher BYTEA;
ALTER TABLE users ADD COLUMN phone_masked TEXT;
