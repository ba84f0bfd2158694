//! Scheme years and their rule versions. The rules themselves are opaque JSON here; `app`
//! parses them into `scheme::SchemeRules`.

use crate::{is_unique_violation, Conn, Result, Scope, StoreError};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct YearRow {
    pub id: i64,
    pub pool_code: String,
    pub pool_name: String,
    pub label: String,
    pub period_start: String,
    pub period_end: String,
    pub status: String,
    pub current_version: i64,
    pub previous_year_id: Option<i64>,
    pub template_key: String,
    pub created_by: String,
    pub created_at: String,
    pub closed_at: Option<String>,
}

#[derive(Debug, Clone)]
pub struct VersionRow {
    pub version: i64,
    pub rules_json: String,
    pub changed_by: String,
    pub changed_at: String,
    pub reason: String,
}

pub struct NewYear<'a> {
    pub pool_code: &'a str,
    pub label: &'a str,
    pub period_start: &'a str,
    pub period_end: &'a str,
    pub template_key: &'a str,
    pub previous_year_id: Option<i64>,
    pub rules_json: &'a str,
    pub by: &'a str,
    pub at: &'a str,
    pub reason: &'a str,
}

const SELECT_YEAR: &str =
    "SELECT y.id, y.pool_code, r.name, y.label, y.period_start, y.period_end, \
    y.status, y.current_version, y.previous_year_id, y.template_key, y.created_by, y.created_at, \
    y.closed_at FROM scheme_years y JOIN regions r ON r.code = y.pool_code";

fn year(r: &sqlx::any::AnyRow) -> YearRow {
    YearRow {
        id: r.get(0),
        pool_code: r.get(1),
        pool_name: r.get(2),
        label: r.get(3),
        period_start: r.get(4),
        period_end: r.get(5),
        status: r.get(6),
        current_version: r.get(7),
        previous_year_id: r.get(8),
        template_key: r.get(9),
        created_by: r.get(10),
        created_at: r.get(11),
        closed_at: r.get(12),
    }
}

/// A year is visible to staff whose area is inside its pool (a village clerk of a town pool) or
/// contains it (a county admin looking at a town pool).
const IN_SCOPE: &str = "(y.pool_code LIKE $1 OR $2 LIKE y.pool_code || '%')";

pub async fn create(conn: &mut Conn, y: &NewYear<'_>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO scheme_years (pool_code, label, period_start, period_end, status, \
         current_version, previous_year_id, template_key, created_by, created_at) \
         VALUES ($1, $2, $3, $4, 'open', 1, $5, $6, $7, $8) RETURNING id",
    )
    .bind(y.pool_code)
    .bind(y.label)
    .bind(y.period_start)
    .bind(y.period_end)
    .bind(y.previous_year_id)
    .bind(y.template_key)
    .bind(y.by)
    .bind(y.at)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("scheme year {} {}", y.pool_code, y.period_start))
        } else {
            e.into()
        }
    })?;
    insert_version(conn, id, 1, y.rules_json, y.by, y.at, y.reason).await?;
    Ok(id)
}

async fn insert_version(
    conn: &mut Conn,
    year_id: i64,
    version: i64,
    rules_json: &str,
    by: &str,
    at: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO scheme_year_versions (year_id, version, rules_json, changed_by, changed_at, reason) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(year_id)
    .bind(version)
    .bind(rules_json)
    .bind(by)
    .bind(at)
    .bind(reason)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records a new version of the rules and makes it current; returns its number.
pub async fn add_version(
    conn: &mut Conn,
    year_id: i64,
    rules_json: &str,
    by: &str,
    at: &str,
    reason: &str,
) -> Result<i64> {
    let version: i64 = sqlx::query_scalar(
        "UPDATE scheme_years SET current_version = current_version + 1 WHERE id = $1 \
         RETURNING current_version",
    )
    .bind(year_id)
    .fetch_one(&mut *conn)
    .await?;
    insert_version(conn, year_id, version, rules_json, by, at, reason).await?;
    Ok(version)
}

pub async fn get(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<YearRow>> {
    let sql = format!("{SELECT_YEAR} WHERE y.id = $3 AND {IN_SCOPE}");
    let row = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(year))
}

pub async fn list(conn: &mut Conn, scope: &Scope) -> Result<Vec<YearRow>> {
    let sql = format!("{SELECT_YEAR} WHERE {IN_SCOPE} ORDER BY y.period_start DESC, y.pool_code");
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(year).collect())
}

/// Years of pools that contain or are contained in `pool_code` whose periods overlap
/// [start, end]: a household can only belong to one fund at a time.
pub async fn overlapping(
    conn: &mut Conn,
    pool_code: &str,
    start: &str,
    end: &str,
) -> Result<Vec<YearRow>> {
    let sql = format!(
        "{SELECT_YEAR} WHERE (y.pool_code LIKE $1 OR $2 LIKE y.pool_code || '%') \
         AND y.period_start <= $4 AND y.period_end >= $3"
    );
    let rows = sqlx::query(&sql)
        .bind(format!("{pool_code}%"))
        .bind(pool_code)
        .bind(start)
        .bind(end)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(year).collect())
}

pub async fn version(conn: &mut Conn, year_id: i64, version: i64) -> Result<Option<VersionRow>> {
    let row = sqlx::query(
        "SELECT version, rules_json, changed_by, changed_at, reason FROM scheme_year_versions \
         WHERE year_id = $1 AND version = $2",
    )
    .bind(year_id)
    .bind(version)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| version_row(&r)))
}

fn version_row(r: &sqlx::any::AnyRow) -> VersionRow {
    VersionRow {
        version: r.get(0),
        rules_json: r.get(1),
        changed_by: r.get(2),
        changed_at: r.get(3),
        reason: r.get(4),
    }
}

pub async fn versions(conn: &mut Conn, year_id: i64) -> Result<Vec<VersionRow>> {
    let rows = sqlx::query(
        "SELECT version, rules_json, changed_by, changed_at, reason FROM scheme_year_versions \
         WHERE year_id = $1 ORDER BY version DESC",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(version_row).collect())
}

pub async fn close(conn: &mut Conn, year_id: i64, at: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE scheme_years SET status = 'closed', closed_at = $2 WHERE id = $1 AND status = 'open'",
    )
    .bind(year_id)
    .bind(at)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
