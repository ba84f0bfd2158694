//! The programme's figures (统计) of a scheme year, aggregated by the database: one GROUP BY per
//! table, so that a page costs what it shows (villages, statuses, ten DRGs), not what the pool
//! holds. The figures themselves are defined once, in `app::figures`.
//!
//! A period is either the whole year (`month` empty) or one calendar month `YYYY-MM`:
//! claims by status count the claims *received* in the month; paid figures count the payout
//! lines *paid* in the month (the UTC date of the recorded bank result, `resulted_at`).
//!
//! Also the latest re-forecast of each year (`fund_forecasts`, migration 0013), read by the
//! 风险预警 banner as one row, and the staff phones the warning SMS goes to.

use crate::{Conn, Result};
use sqlx::Row;

/// Claims of one village in one status (in the period), with their decided amounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusCount {
    pub village_code: String,
    pub status: String,
    pub claims: i64,
    pub amount_fen: i64,
}

/// Claims of the year received in the period, by village and current status.
pub async fn status_counts(conn: &mut Conn, year_id: i64, month: &str) -> Result<Vec<StatusCount>> {
    let rows = sqlx::query(
        "SELECT village_code, status, CAST(COUNT(*) AS BIGINT), \
           CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM claims \
         WHERE year_id = $1 AND ($2 = '' OR substr(received_on, 1, 7) = $2) \
         GROUP BY village_code, status ORDER BY village_code, status",
    )
    .bind(year_id)
    .bind(month)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| StatusCount {
            village_code: r.get(0),
            status: r.get(1),
            claims: r.get(2),
            amount_fen: r.get(3),
        })
        .collect())
}

/// Paid stays of one village (or of the pool when `village_code` is empty): count, distinct
/// members, money paid, and the out-of-pocket of those stays.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PaidSums {
    pub village_code: String,
    pub stays: i64,
    pub members: i64,
    pub paid_fen: i64,
    pub oop_fen: i64,
}

const PAID_FROM: &str =
    "FROM claims c JOIN payout_lines l ON l.claim_id = c.id AND l.state = 'paid' \
    WHERE c.year_id = $1 AND c.status = $2 AND ($3 = '' OR substr(l.resulted_at, 1, 7) = $3)";

fn paid_sums(r: &sqlx::any::AnyRow, village: bool) -> PaidSums {
    let o = usize::from(village);
    PaidSums {
        village_code: if village { r.get(0) } else { String::new() },
        stays: r.get(o),
        members: r.get(o + 1),
        paid_fen: r.get(o + 2),
        oop_fen: r.get(o + 3),
    }
}

/// Paid figures of the claims now in `status` (`paid`, or `recovered` for the ones paid and
/// then recovered), per village and for the whole pool (distinct members are counted once in
/// the pool even when their claims sit in two villages).
pub async fn paid_sums_by_village(
    conn: &mut Conn,
    year_id: i64,
    status: &str,
    month: &str,
) -> Result<(Vec<PaidSums>, PaidSums)> {
    const SUMS: &str = "CAST(COUNT(*) AS BIGINT), CAST(COUNT(DISTINCT c.member_id) AS BIGINT), \
        CAST(COALESCE(SUM(l.amount_fen), 0) AS BIGINT), CAST(COALESCE(SUM(c.oop_fen), 0) AS BIGINT)";
    let rows = sqlx::query(&format!(
        "SELECT c.village_code, {SUMS} {PAID_FROM} GROUP BY c.village_code ORDER BY c.village_code"
    ))
    .bind(year_id)
    .bind(status)
    .bind(month)
    .fetch_all(&mut *conn)
    .await?;
    let pool = sqlx::query(&format!("SELECT {SUMS} {PAID_FROM}"))
        .bind(year_id)
        .bind(status)
        .bind(month)
        .fetch_one(conn)
        .await?;
    Ok((
        rows.iter().map(|r| paid_sums(r, true)).collect(),
        paid_sums(&pool, false),
    ))
}

/// One DRG's paid stays and money in a village (or the pool: `village_code` empty), ranked
/// from 1 by money (ties by DRG code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrgSum {
    pub village_code: String,
    pub rank: i64,
    pub drg_code: String,
    pub drg_name: String,
    pub stays: i64,
    pub paid_fen: i64,
}

/// The `limit` DRGs with the most money paid (claims in status paid), for the pool and for
/// every village (window function: one query whatever the number of villages).
pub async fn top_drgs(
    conn: &mut Conn,
    year_id: i64,
    month: &str,
    limit: i64,
) -> Result<(Vec<DrgSum>, Vec<DrgSum>)> {
    let village = sqlx::query(&format!(
        "SELECT village_code, rk, drg_code, drg_name, n, fen FROM ( \
           SELECT c.village_code, c.drg_code, MAX(c.drg_name) AS drg_name, \
             CAST(COUNT(*) AS BIGINT) AS n, CAST(SUM(l.amount_fen) AS BIGINT) AS fen, \
             CAST(ROW_NUMBER() OVER (PARTITION BY c.village_code \
               ORDER BY SUM(l.amount_fen) DESC, c.drg_code) AS BIGINT) AS rk \
           {PAID_FROM} GROUP BY c.village_code, c.drg_code) t \
         WHERE rk <= $4 ORDER BY village_code, rk"
    ))
    .bind(year_id)
    .bind("paid")
    .bind(month)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let pool = sqlx::query(&format!(
        "SELECT '', CAST(0 AS BIGINT), c.drg_code, MAX(c.drg_name), CAST(COUNT(*) AS BIGINT), \
           CAST(SUM(l.amount_fen) AS BIGINT) AS fen \
         {PAID_FROM} GROUP BY c.drg_code ORDER BY fen DESC, c.drg_code LIMIT $4"
    ))
    .bind(year_id)
    .bind("paid")
    .bind(month)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let read = |r: &sqlx::any::AnyRow| DrgSum {
        village_code: r.get(0),
        rank: r.get(1),
        drg_code: r.get(2),
        drg_name: r.get(3),
        stays: r.get(4),
        paid_fen: r.get(5),
    };
    let mut pool: Vec<DrgSum> = pool.iter().map(read).collect();
    for (i, d) in pool.iter_mut().enumerate() {
        d.rank = i as i64 + 1;
    }
    Ok((pool, village.iter().map(read).collect()))
}

/// Enrolled (included, active) members of the year per village, from the kept figures.
pub async fn enrolled_by_village(conn: &mut Conn, year_id: i64) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT village_code, members FROM year_village_figures WHERE year_id = $1 \
         ORDER BY village_code",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Money paid per month `YYYY-MM` (lines paid, whatever the claim's later status: recovered
/// money comes back as a receipt), in month order.
pub async fn paid_by_month(conn: &mut Conn, year_id: i64) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT substr(l.resulted_at, 1, 7) AS m, CAST(COUNT(*) AS BIGINT), \
           CAST(COALESCE(SUM(l.amount_fen), 0) AS BIGINT) \
         FROM claims c JOIN payout_lines l ON l.claim_id = c.id AND l.state = 'paid' \
         WHERE c.year_id = $1 AND c.status IN ('paid', 'recovered') GROUP BY m ORDER BY m",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Claims with a subsidy decided and not taken back (approved, in a batch, paid): their count
/// and money, what the re-forecast starts from.
pub async fn committed(conn: &mut Conn, year_id: i64) -> Result<(i64, i64)> {
    let r = sqlx::query(
        "SELECT CAST(COUNT(*) AS BIGINT), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM claims \
         WHERE year_id = $1 AND status IN ('approved', 'in_batch', 'paid')",
    )
    .bind(year_id)
    .fetch_one(conn)
    .await?;
    Ok((r.get(0), r.get(1)))
}

/// The latest re-forecast of a year.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    pub year_id: i64,
    pub pool_code: String,
    pub computed_at: String,
    pub elapsed_permille: i64,
    pub claims_decided: i64,
    pub committed_fen: i64,
    pub budget_fen: i64,
    pub expected_fen: i64,
    /// 50/90/95/99% quantiles of the year-end payout.
    pub quantiles_fen: [i64; 4],
    /// P(shortfall) in parts per million.
    pub p_shortfall_ppm: i64,
    /// The frequency level relative to the design, in parts per million.
    pub level_ppm: i64,
    pub threshold_permille: i64,
    pub warning: bool,
    pub warned_at: Option<String>,
}

const SELECT_FORECAST: &str = "SELECT year_id, pool_code, computed_at, elapsed_permille, \
    claims_decided, committed_fen, budget_fen, expected_fen, q50_fen, q90_fen, q95_fen, q99_fen, \
    p_shortfall_ppm, level_ppm, threshold_permille, warning, warned_at FROM fund_forecasts";

fn forecast(r: &sqlx::any::AnyRow) -> Forecast {
    Forecast {
        year_id: r.get(0),
        pool_code: r.get(1),
        computed_at: r.get(2),
        elapsed_permille: r.get(3),
        claims_decided: r.get(4),
        committed_fen: r.get(5),
        budget_fen: r.get(6),
        expected_fen: r.get(7),
        quantiles_fen: [r.get(8), r.get(9), r.get(10), r.get(11)],
        p_shortfall_ppm: r.get(12),
        level_ppm: r.get(13),
        threshold_permille: r.get(14),
        warning: r.get::<i64, _>(15) != 0,
        warned_at: r.get(16),
    }
}

pub async fn forecast_of(conn: &mut Conn, year_id: i64) -> Result<Option<Forecast>> {
    let row = sqlx::query(&format!("{SELECT_FORECAST} WHERE year_id = $1"))
        .bind(year_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(forecast))
}

/// Writes a year's latest forecast (figures only; the warning state moves through
/// [`set_warning`]).
pub async fn save_forecast(conn: &mut Conn, f: &Forecast) -> Result<()> {
    sqlx::query(
        "INSERT INTO fund_forecasts (year_id, pool_code, computed_at, elapsed_permille, \
           claims_decided, committed_fen, budget_fen, expected_fen, q50_fen, q90_fen, q95_fen, \
           q99_fen, p_shortfall_ppm, level_ppm, threshold_permille, warning) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 0) \
         ON CONFLICT (year_id) DO UPDATE SET pool_code = excluded.pool_code, \
           computed_at = excluded.computed_at, elapsed_permille = excluded.elapsed_permille, \
           claims_decided = excluded.claims_decided, committed_fen = excluded.committed_fen, \
           budget_fen = excluded.budget_fen, expected_fen = excluded.expected_fen, \
           q50_fen = excluded.q50_fen, q90_fen = excluded.q90_fen, q95_fen = excluded.q95_fen, \
           q99_fen = excluded.q99_fen, p_shortfall_ppm = excluded.p_shortfall_ppm, \
           level_ppm = excluded.level_ppm, threshold_permille = excluded.threshold_permille",
    )
    .bind(f.year_id)
    .bind(&f.pool_code)
    .bind(&f.computed_at)
    .bind(f.elapsed_permille)
    .bind(f.claims_decided)
    .bind(f.committed_fen)
    .bind(f.budget_fen)
    .bind(f.expected_fen)
    .bind(f.quantiles_fen[0])
    .bind(f.quantiles_fen[1])
    .bind(f.quantiles_fen[2])
    .bind(f.quantiles_fen[3])
    .bind(f.p_shortfall_ppm)
    .bind(f.level_ppm)
    .bind(f.threshold_permille)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves the year's warning to `on`; true only for the one call that changed it (a conditional
/// update: concurrent refreshes cannot both see the crossing).
pub async fn set_warning(conn: &mut Conn, year_id: i64, on: bool, at: &str) -> Result<bool> {
    let done = if on {
        sqlx::query(
            "UPDATE fund_forecasts SET warning = 1, warned_at = $2 WHERE year_id = $1 AND warning = 0",
        )
        .bind(year_id)
        .bind(at)
        .execute(conn)
        .await?
    } else {
        sqlx::query("UPDATE fund_forecasts SET warning = 0 WHERE year_id = $1 AND warning = 1")
            .bind(year_id)
            .execute(conn)
            .await?
    };
    Ok(done.rows_affected() == 1)
}

/// A warning in force: an open year of a pool inside `area_prefix` whose last forecast crossed
/// the warning level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveWarning {
    pub year_id: i64,
    pub pool_code: String,
    pub pool_name: String,
    pub label: String,
    pub p_shortfall_ppm: i64,
}

impl ActiveWarning {
    /// P(shortfall) as a percentage with one decimal ("12.3%").
    pub fn percent(&self) -> String {
        let tenths = (self.p_shortfall_ppm + 500) / 1000;
        format!("{}.{}%", tenths / 10, tenths % 10)
    }
}

/// The warnings in force for an area (region code prefix: the pools it contains). Reads the
/// few rows with `warning = 1` by index; what a page adds for the banner.
pub async fn active_warnings(conn: &mut Conn, area_prefix: &str) -> Result<Vec<ActiveWarning>> {
    let rows = sqlx::query(
        "SELECT f.year_id, f.pool_code, r.name, y.label, f.p_shortfall_ppm \
         FROM fund_forecasts f JOIN scheme_years y ON y.id = f.year_id \
         JOIN regions r ON r.code = f.pool_code \
         WHERE f.warning = 1 AND f.pool_code LIKE $1 AND y.status = 'open' ORDER BY f.pool_code, f.year_id",
    )
    .bind(format!("{area_prefix}%"))
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ActiveWarning {
            year_id: r.get(0),
            pool_code: r.get(1),
            pool_name: r.get(2),
            label: r.get(3),
            p_shortfall_ppm: r.get(4),
        })
        .collect())
}

/// Active town and county admins whose area contains the pool and who have a phone on their
/// account: (username, region code, encrypted phone).
pub async fn admins_to_warn(
    conn: &mut Conn,
    pool_code: &str,
) -> Result<Vec<(String, String, Vec<u8>)>> {
    let rows = sqlx::query(
        "SELECT username, region_code, phone_cipher FROM users \
         WHERE active = 1 AND role IN ('town_admin', 'county_admin') \
           AND phone_cipher IS NOT NULL AND region_code IS NOT NULL \
           AND $1 LIKE region_code || '%' ORDER BY username",
    )
    .bind(pool_code)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Puts a (encrypted, masked) phone on a staff account; false when there is no such user.
pub async fn set_user_phone(
    conn: &mut Conn,
    username: &str,
    cipher: &[u8],
    masked: &str,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE users SET phone_cipher = $2, phone_masked = $3 WHERE username = $1")
            .bind(username)
            .bind(cipher)
            .bind(masked)
            .execute(conn)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// The staff member's own phone, masked (None when none is on the account).
pub async fn user_phone_masked(conn: &mut Conn, username: &str) -> Result<Option<String>> {
    let masked: Option<Option<String>> =
        sqlx::query_scalar("SELECT phone_masked FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(conn)
            .await?;
    Ok(masked.flatten())
}

/// Open years (id) whose forecast is older than `before` or missing: what the refresh job does.
pub async fn years_to_forecast(conn: &mut Conn, before: &str) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT y.id FROM scheme_years y LEFT JOIN fund_forecasts f ON f.year_id = y.id \
         WHERE y.status = 'open' AND (f.computed_at IS NULL OR f.computed_at < $1) ORDER BY y.id",
    )
    .bind(before)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// A past year's subsidised claims for the design's credibility (approved, in a batch or paid),
/// counted by the member's risk class as enrolled that year and the DRG: (age, sex, insurance,
/// DRG code, claims). Aggregated by the database.
pub async fn experience_claims(
    conn: &mut Conn,
    year_id: i64,
) -> Result<Vec<(i64, i64, String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT e.age, e.sex, e.insurance, c.drg_code, CAST(COUNT(*) AS BIGINT) FROM claims c \
         JOIN enrolment_members e ON e.year_id = c.year_id AND e.member_id = c.member_id \
           AND e.active = 1 AND e.included = 1 \
         WHERE c.year_id = $1 AND c.status IN ('approved', 'in_batch', 'paid') AND c.drg_code <> '' \
         GROUP BY e.age, e.sex, e.insurance, c.drg_code",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4)))
        .collect())
}
