//! Staff sign-in: argon2id password hashes, stored sessions with a per-session CSRF token, and
//! throttling of repeated failures (slowed down first, then refused for a while).

use crate::{Actor, App, AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use chrono::Duration;
use domain::{RegionCode, Role};
use sha2::{Digest, Sha256};

/// Idle time after which a session ends (等保: sessions time out).
pub const SESSION_IDLE_MINUTES: i64 = 30;
/// Failures within this window count towards throttling.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// From this many failures on, each attempt is delayed.
pub const SLOWDOWN_AFTER: i64 = 3;
/// From this many failures on, the account is refused until the window passes.
pub const LOCK_AFTER: i64 = 8;

pub fn hash_password(password: &str) -> AppResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn random_token() -> String {
    let mut b = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Sessions are stored by the hash of their token, so a copy of the database does not let
/// anyone take over a live session.
fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn new_csrf_token() -> String {
    random_token()
}

#[derive(Debug, Clone)]
pub struct Session {
    pub token: String,
    pub csrf_token: String,
}

/// A signed-in staff member as the web layer sees it on each request.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub actor: Actor,
    pub csrf_token: String,
}

fn actor_from(user: &store::users::User, ip: &str) -> AppResult<Actor> {
    let role = Role::from_code(&user.role)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown role {}", user.role)))?;
    let region = match &user.region_code {
        Some(c) => Some(RegionCode::parse(c).map_err(|e| AppError::Internal(e.into()))?),
        None => None,
    };
    Ok(Actor {
        user_id: Some(user.id),
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role,
        region,
        ip: ip.to_string(),
    })
}

impl App {
    pub async fn create_user(
        &self,
        username: &str,
        display_name: &str,
        password: &str,
        role: Role,
        region: Option<&RegionCode>,
    ) -> AppResult<i64> {
        if username.trim().is_empty() || password.len() < 8 {
            return Err(AppError::Invalid("用户名不能为空，密码至少8位".into()));
        }
        let hash = hash_password(password)?;
        let mut tx = self.db.begin_write().await?;
        let id = store::users::insert(
            &mut tx,
            &store::users::NewUser {
                username: username.trim(),
                display_name,
                password_hash: &hash,
                role: role.code(),
                region_code: region.map(|r| r.as_str()),
            },
            &self.now_text(),
        )
        .await?;
        let system = Actor::system();
        let region_code = region.map(|r| r.to_string()).unwrap_or_default();
        self.audit(
            &mut tx,
            &system,
            &region_code,
            "user.create",
            username,
            role.label_zh(),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Checks the password, with throttling: after `SLOWDOWN_AFTER` recent failures each attempt
    /// waits a little longer; after `LOCK_AFTER` the account is refused until the window passes,
    /// even with the right password. Unknown users count the same as wrong passwords so the
    /// answer does not reveal which accounts exist.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        ip: &str,
    ) -> AppResult<(Session, Actor)> {
        let username = username.trim();
        let now = self.now();
        let since = store::timestamp(now - Duration::minutes(FAILURE_WINDOW_MINUTES));
        let mut conn = self.db.acquire().await?;
        let (failures, _) = store::users::login_failures_since(&mut conn, username, &since).await?;
        if failures >= LOCK_AFTER {
            return Err(AppError::LoginLocked {
                minutes: FAILURE_WINDOW_MINUTES,
            });
        }
        if failures >= SLOWDOWN_AFTER {
            let secs = (failures - SLOWDOWN_AFTER + 1).min(5) as u64;
            tokio::time::sleep(std::time::Duration::from_secs(secs)).await;
        }
        let user = store::users::by_username(&mut conn, username).await?;
        let ok_user = match &user {
            Some(u) if u.active => {
                let (pw, hash) = (password.to_string(), u.password_hash.clone());
                let ok = tokio::task::spawn_blocking(move || verify_password(&pw, &hash))
                    .await
                    .map_err(|e| AppError::Internal(e.into()))?;
                ok.then_some(u)
            }
            _ => None,
        };
        let Some(user) = ok_user else {
            store::users::record_login_failure(&mut conn, username, ip, &self.now_text()).await?;
            let system = Actor {
                ip: ip.to_string(),
                ..Actor::system()
            };
            let region = user
                .as_ref()
                .and_then(|u| u.region_code.clone())
                .unwrap_or_default();
            self.audit(&mut conn, &system, &region, "login.failed", username, "")
                .await?;
            return Err(AppError::LoginFailed);
        };
        let actor = actor_from(user, ip)?;
        let session = Session {
            token: random_token(),
            csrf_token: random_token(),
        };
        let mut tx = self.db.begin_write().await?;
        store::users::clear_login_failures(&mut tx, username).await?;
        store::users::insert_session(
            &mut tx,
            &token_hash(&session.token),
            user.id,
            &session.csrf_token,
            ip,
            &self.now_text(),
            &store::timestamp(now + Duration::minutes(SESSION_IDLE_MINUTES)),
        )
        .await?;
        self.audit(
            &mut tx,
            &actor,
            &actor.audit_region(),
            "login",
            username,
            "",
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok((session, actor))
    }

    /// The staff member behind a session token, extending the idle timeout.
    pub async fn session(&self, token: &str, ip: &str) -> AppResult<SignedIn> {
        let now = self.now();
        let hash = token_hash(token);
        let mut conn = self.db.acquire().await?;
        let row = store::users::session(&mut conn, &hash, &store::timestamp(now))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        // Extend at most once a minute, not on every request.
        let new_expiry = now + Duration::minutes(SESSION_IDLE_MINUTES);
        if store::parse_timestamp(&row.expires_at)
            .is_none_or(|e| new_expiry - e > Duration::minutes(1))
        {
            store::users::touch_session(&mut conn, &hash, &store::timestamp(new_expiry)).await?;
        }
        Ok(SignedIn {
            actor: actor_from(&row.user, ip)?,
            csrf_token: row.csrf_token,
        })
    }

    pub async fn logout(&self, token: &str, actor: &Actor) -> AppResult<()> {
        let mut tx = self.db.begin_write().await?;
        store::users::delete_session(&mut tx, &token_hash(token)).await?;
        self.audit(
            &mut tx,
            actor,
            &actor.audit_region(),
            "logout",
            &actor.username,
            "",
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    pub async fn audit_log(
        &self,
        reader: &crate::AuditReader,
        before_id: Option<i64>,
    ) -> AppResult<Vec<store::audit::Entry>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::audit::list(&mut conn, reader.scope(), before_id, 100).await?)
    }
}

impl App {
    /// Removes expired sessions and failed-login records that no longer count; run at start-up
    /// and periodically by the server.
    pub async fn housekeeping(&self) -> AppResult<()> {
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        store::users::delete_expired_sessions(&mut conn, &store::timestamp(now)).await?;
        let before = store::timestamp(now - Duration::minutes(FAILURE_WINDOW_MINUTES));
        store::users::delete_login_failures_before(&mut conn, &before).await?;
        Ok(())
    }
}
