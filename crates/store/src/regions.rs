//! The region tree: county → town → village (including virtual villages such as 幸福社区).

use crate::{Conn, Result, Scope};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent_code: Option<String>,
    pub is_virtual: bool,
}

#[derive(Debug, Clone)]
pub struct NewRegion<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub level: &'a str,
    pub parent_code: Option<&'a str>,
    pub is_virtual: bool,
}

const COLUMNS: &str = "code, name, level, parent_code, is_virtual";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Region> {
    Ok(Region {
        code: r.try_get("code")?,
        name: r.try_get("name")?,
        level: r.try_get("level")?,
        parent_code: r.try_get("parent_code")?,
        is_virtual: r.try_get::<i64, _>("is_virtual")? != 0,
    })
}

pub async fn insert(conn: &mut Conn, r: &NewRegion<'_>, now: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO regions (code, name, level, parent_code, is_virtual, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.code)
    .bind(r.name)
    .bind(r.level)
    .bind(r.parent_code)
    .bind(i64::from(r.is_virtual))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A region the scope may see, or `None` (also for regions that exist elsewhere).
pub async fn get(conn: &mut Conn, scope: &Scope, code: &str) -> Result<Option<Region>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM regions WHERE code = $1 AND code LIKE $2"
    ))
    .bind(code)
    .bind(scope.like())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Regions by exact code regardless of scope: only for looking up names of a staff member's own
/// scope root and for the import's village check, which is scoped by its caller.
pub async fn get_unscoped(conn: &mut Conn, code: &str) -> Result<Option<Region>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM regions WHERE code = $1"))
        .bind(code)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn children(conn: &mut Conn, scope: &Scope, parent: &str) -> Result<Vec<Region>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM regions WHERE parent_code = $1 AND code LIKE $2 ORDER BY code"
    ))
    .bind(parent)
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every village inside the scope, for pickers and the import's village lookup by name.
pub async fn villages(conn: &mut Conn, scope: &Scope) -> Result<Vec<Region>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM regions WHERE level = 'village' AND code LIKE $1 ORDER BY code"
    ))
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Towns and counties inside the scope: the regions that can run a fund.
pub async fn pools(conn: &mut Conn, scope: &Scope) -> Result<Vec<Region>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM regions WHERE level IN ('town', 'county') AND code LIKE $1 \
         ORDER BY length(code), code"
    ))
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// Top-level regions inside a scope (for a system administrator: the counties).
pub async fn roots(conn: &mut Conn, scope: &Scope) -> Result<Vec<Region>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM regions WHERE code LIKE $1 ORDER BY length(code), code"
    ))
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    let all: Vec<Region> = rows.iter().map(from_row).collect::<Result<_>>()?;
    let min_len = all.iter().map(|r| r.code.len()).min().unwrap_or(0);
    Ok(all
        .into_iter()
        .filter(|r| r.code.len() == min_len)
        .collect())
}

pub async fn count(conn: &mut Conn) -> Result<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM regions")
        .fetch_one(conn)
        .await?)
}
