//! The audit log: append-only from the application's point of view (no update or delete here).

use crate::{Conn, Result, Scope};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: i64,
    pub at: String,
    pub user_id: Option<i64>,
    pub username: String,
    pub region_code: String,
    pub action: String,
    pub subject: String,
    pub detail: String,
    pub ip: String,
}

pub struct NewEntry<'a> {
    pub at: &'a str,
    pub user_id: Option<i64>,
    pub username: &'a str,
    /// The region the subject belongs to, so that admins see the entries of their own area.
    pub region_code: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub detail: &'a str,
    pub ip: &'a str,
}

pub async fn append(conn: &mut Conn, e: &NewEntry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, user_id, username, region_code, action, subject, detail, ip) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.at)
    .bind(e.user_id)
    .bind(e.username)
    .bind(e.region_code)
    .bind(e.action)
    .bind(e.subject)
    .bind(e.detail)
    .bind(e.ip)
    .execute(conn)
    .await?;
    Ok(())
}

/// Newest first, `before_id` for paging.
pub async fn list(
    conn: &mut Conn,
    scope: &Scope,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT id, at, user_id, username, region_code, action, subject, detail, ip FROM audit_log \
         WHERE region_code LIKE $1 AND id < $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(scope.like())
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                id: r.try_get("id")?,
                at: r.try_get("at")?,
                user_id: r.try_get("user_id")?,
                username: r.try_get("username")?,
                region_code: r.try_get("region_code")?,
                action: r.try_get("action")?,
                subject: r.try_get("subject")?,
                detail: r.try_get("detail")?,
                ip: r.try_get("ip")?,
            })
        })
        .collect()
}
