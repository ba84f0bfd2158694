//! Staff accounts, their sessions (stored, so a restart logs nobody out) and failed logins
//! (stored, so a restart does not reset the lock-out).

use crate::{is_unique_violation, Conn, Result, StoreError};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: String,
    pub region_code: Option<String>,
    pub active: bool,
}

fn user_from_row(r: &sqlx::any::AnyRow) -> Result<User> {
    Ok(User {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        password_hash: r.try_get("password_hash")?,
        role: r.try_get("role")?,
        region_code: r.try_get("region_code")?,
        active: r.try_get::<i64, _>("active")? != 0,
    })
}

const USER_COLUMNS: &str = "id, username, display_name, password_hash, role, region_code, active";

pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub region_code: Option<&'a str>,
}

pub async fn insert(conn: &mut Conn, u: &NewUser<'_>, now: &str) -> Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO users (username, display_name, password_hash, role, region_code, active, created_at) \
         VALUES ($1, $2, $3, $4, $5, 1, $6) RETURNING id",
    )
    .bind(u.username)
    .bind(u.display_name)
    .bind(u.password_hash)
    .bind(u.role)
    .bind(u.region_code)
    .bind(now)
    .fetch_one(conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("user {}", u.username))
        } else {
            e.into()
        }
    })
}

pub async fn by_username(conn: &mut Conn, username: &str) -> Result<Option<User>> {
    let row = sqlx::query(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE username = $1"
    ))
    .bind(username)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(user_from_row).transpose()
}

pub struct SessionRow {
    pub user: User,
    pub csrf_token: String,
    pub expires_at: String,
}

pub async fn insert_session(
    conn: &mut Conn,
    token_hash: &str,
    user_id: i64,
    csrf_token: &str,
    ip: &str,
    now: &str,
    expires_at: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sessions (token_hash, user_id, csrf_token, ip, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(token_hash)
    .bind(user_id)
    .bind(csrf_token)
    .bind(ip)
    .bind(now)
    .bind(expires_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// The session's user if the session exists, has not expired and the account is active.
pub async fn session(conn: &mut Conn, token_hash: &str, now: &str) -> Result<Option<SessionRow>> {
    let row = sqlx::query(
        "SELECT u.id, u.username, u.display_name, u.password_hash, u.role, u.region_code, u.active, \
           s.csrf_token, s.expires_at \
         FROM sessions s JOIN users u ON u.id = s.user_id \
         WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.active = 1",
    )
    .bind(token_hash)
    .bind(now)
    .fetch_optional(conn)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some(SessionRow {
            user: user_from_row(&r)?,
            csrf_token: r.try_get("csrf_token")?,
            expires_at: r.try_get("expires_at")?,
        })),
    }
}

pub async fn touch_session(conn: &mut Conn, token_hash: &str, expires_at: &str) -> Result<()> {
    sqlx::query("UPDATE sessions SET expires_at = $2 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_expired_sessions(conn: &mut Conn, now: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected())
}

pub async fn record_login_failure(
    conn: &mut Conn,
    username: &str,
    ip: &str,
    now: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3)")
        .bind(username)
        .bind(ip)
        .bind(now)
        .execute(conn)
        .await?;
    Ok(())
}

/// Failures for this account since `since`, and the time of the latest one.
pub async fn login_failures_since(
    conn: &mut Conn,
    username: &str,
    since: &str,
) -> Result<(i64, Option<String>)> {
    let row = sqlx::query(
        "SELECT COUNT(*) AS n, MAX(at) AS last FROM login_failures WHERE username = $1 AND at > $2",
    )
    .bind(username)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok((row.try_get("n")?, row.try_get("last")?))
}

pub async fn clear_login_failures(conn: &mut Conn, username: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1")
        .bind(username)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn delete_login_failures_before(conn: &mut Conn, before: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM login_failures WHERE at < $1")
        .bind(before)
        .execute(conn)
        .await?
        .rows_affected())
}
