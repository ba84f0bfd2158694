//! Staff accounts, their sessions (stored, so a restart logs nobody out) and failed logins
//! (stored, so a restart does not reset the throttling, and several app servers in front of one
//! database share it).

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
    pub id: i64,
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
        "INSERT INTO sessions (token_hash, user_id, csrf_token, ip, created_at, last_seen_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
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
           s.id AS session_id, s.csrf_token, s.expires_at \
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
            id: r.try_get("session_id")?,
            user: user_from_row(&r)?,
            csrf_token: r.try_get("csrf_token")?,
            expires_at: r.try_get("expires_at")?,
        })),
    }
}

/// Records activity on a session and pushes its expiry back.
pub async fn touch_session(
    conn: &mut Conn,
    token_hash: &str,
    now: &str,
    expires_at: &str,
) -> Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2, expires_at = $3 WHERE token_hash = $1")
        .bind(token_hash)
        .bind(now)
        .bind(expires_at)
        .execute(conn)
        .await?;
    Ok(())
}

/// One of a user's live sessions, as their owner sees it in the session list.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    pub id: i64,
    pub token_hash: String,
    pub ip: String,
    pub created_at: String,
    pub last_seen_at: String,
}

/// A user's sessions that have not expired, the most recently active first.
pub async fn sessions_of(conn: &mut Conn, user_id: i64, now: &str) -> Result<Vec<SessionInfo>> {
    let rows = sqlx::query(
        "SELECT id, token_hash, ip, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 ORDER BY last_seen_at DESC, id DESC",
    )
    .bind(user_id)
    .bind(now)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(SessionInfo {
                id: r.try_get("id")?,
                token_hash: r.try_get("token_hash")?,
                ip: r.try_get("ip")?,
                created_at: r.try_get("created_at")?,
                last_seen_at: r.try_get("last_seen_at")?,
            })
        })
        .collect()
}

pub async fn delete_session(conn: &mut Conn, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends one session of `user_id`; `false` if that user has no such session (someone else's
/// session id is simply not found).
pub async fn delete_session_of(conn: &mut Conn, user_id: i64, session_id: i64) -> Result<bool> {
    Ok(
        sqlx::query("DELETE FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(session_id)
            .bind(user_id)
            .execute(conn)
            .await?
            .rows_affected()
            > 0,
    )
}

/// Ends every session of `user_id` ("sign out everywhere").
pub async fn delete_sessions_of(conn: &mut Conn, user_id: i64) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?
        .rows_affected())
}

pub async fn delete_expired_sessions(conn: &mut Conn, now: &str) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(conn)
        .await?
        .rows_affected())
}

/// Records a failed (or, while its password is being checked, a pending) sign-in attempt and
/// returns its id. Committed on its own, so concurrent attempts count each other.
pub async fn record_login_failure(
    conn: &mut Conn,
    username: &str,
    ip: &str,
    now: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO login_failures (username, ip, at) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(username)
    .bind(ip)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// Withdraws one attempt (one that was refused before its password was checked).
pub async fn delete_login_failure(conn: &mut Conn, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Recent failures from one address: for one account on it, and for all accounts together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailureCounts {
    /// Failures for this account from this address.
    pub pair: i64,
    pub pair_oldest: Option<String>,
    pub pair_latest: Option<String>,
    /// Failures for any account from this address.
    pub address: i64,
    pub address_oldest: Option<String>,
}

/// Failures from `ip` since `since`, leaving out the attempt `except_id` (the caller's own; 0
/// leaves out none).
pub async fn login_failure_counts(
    conn: &mut Conn,
    username: &str,
    ip: &str,
    since: &str,
    except_id: i64,
) -> Result<FailureCounts> {
    let row = sqlx::query(
        "SELECT \
           CAST(COALESCE(SUM(CASE WHEN username = $1 THEN 1 ELSE 0 END), 0) AS BIGINT) AS pair, \
           MIN(CASE WHEN username = $1 THEN at END) AS pair_oldest, \
           MAX(CASE WHEN username = $1 THEN at END) AS pair_latest, \
           CAST(COUNT(*) AS BIGINT) AS address, \
           MIN(at) AS address_oldest \
         FROM login_failures WHERE ip = $2 AND at > $3 AND id <> $4",
    )
    .bind(username)
    .bind(ip)
    .bind(since)
    .bind(except_id)
    .fetch_one(conn)
    .await?;
    Ok(FailureCounts {
        pair: row.try_get("pair")?,
        pair_oldest: row.try_get("pair_oldest")?,
        pair_latest: row.try_get("pair_latest")?,
        address: row.try_get("address")?,
        address_oldest: row.try_get("address_oldest")?,
    })
}

/// After a successful sign-in: the failures of this account from this address stop counting
/// (those from other addresses, perhaps an attacker's, still do).
pub async fn clear_login_failures(conn: &mut Conn, username: &str, ip: &str) -> Result<()> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1 AND ip = $2")
        .bind(username)
        .bind(ip)
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
