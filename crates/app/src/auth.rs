//! Staff sign-in: argon2id password hashes, stored sessions with a per-session CSRF token that
//! their owner can list and end, and throttling of repeated failures.
//!
//! Throttling, and why it looks the way it does:
//! - **Per (account, address), plus a ceiling per address.** Failures are counted for the pair
//!   of username and client address, so an attacker who hammers an account from one address
//!   locks that pair only, and the owner signs in from theirs. A higher ceiling on all failures
//!   from one address (any account) stops password spraying. IPv6 clients are counted by /64,
//!   since one subscriber usually holds a whole /64.
//! - **Refuse, never sleep.** A throttled attempt is answered at once with "请 N 秒后再试",
//!   computed from the stored failures; nothing waits while holding a database connection, and
//!   a throttled attempt costs no password check.
//! - **Reserve, then count.** Each attempt first records itself (committed on its own), then
//!   counts the others. Of any number of parallel attempts, the k-th to commit sees at least k-1
//!   others, so no more than the limit ever get their password checked; refused attempts
//!   withdraw their record.
//! - **Same work for unknown users.** An unknown or disabled username is checked against a
//!   dummy hash with the same parameters, so the answer takes the same time and the same path.
//! - **Stored, not in memory.** Failures live in the database, so restarts do not reset them and
//!   several app servers behind one PostgreSQL share them.
//! - **Bounded input.** Usernames and passwords are parsed into [`Credentials`] at the edge;
//!   anything longer than the bounds is refused before it is stored, logged or echoed.

use crate::{Actor, App, AppError, AppResult};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use domain::{AuditAction, RegionCode, Role};
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::future::Future;
use std::sync::{Arc, OnceLock};

/// Idle time after which a session ends (等保: sessions time out).
pub const SESSION_IDLE_MINUTES: i64 = 30;
/// Failures within this window count towards throttling.
pub const FAILURE_WINDOW_MINUTES: i64 = 15;
/// From this many failures of one account from one address on, the next attempt from there
/// must wait (1 s, then 2, 4, 8, 16 s after each further failure).
pub const SLOWDOWN_AFTER: i64 = 3;
/// From this many failures of one account from one address on, that address is refused for the
/// account until the oldest failure leaves the window (even with the right password).
pub const LOCK_AFTER: i64 = 8;
/// From this many failures from one address, whatever the account, the address is refused
/// until the oldest failure leaves the window (password spraying).
pub const ADDRESS_LOCK_AFTER: i64 = 30;
/// The longest username accepted, in characters (also enforced when accounts are created).
pub const MAX_USERNAME_CHARS: usize = 64;
/// The longest password accepted, in characters.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Why a login form was refused before any account was looked at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    #[error("请输入用户名和密码")]
    Missing,
    #[error("用户名最多{MAX_USERNAME_CHARS}个字符，密码最多{MAX_PASSWORD_CHARS}个字符")]
    TooLong,
    #[error("用户名含有不允许的字符")]
    BadCharacters,
}

/// A username and password as typed, within bounds: the only way into [`App::login`].
#[derive(Clone)]
pub struct Credentials {
    username: String,
    password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"…")
            .finish()
    }
}

/// More than `max` characters? Stops counting at `max + 1`, so a megabyte costs no more than
/// the bound.
fn longer_than(s: &str, max: usize) -> bool {
    s.chars().nth(max).is_some()
}

/// The username rules shared by sign-in and account creation; returns it trimmed.
pub fn check_username(username: &str) -> Result<&str, CredentialsError> {
    let username = username.trim();
    if username.is_empty() {
        return Err(CredentialsError::Missing);
    }
    if longer_than(username, MAX_USERNAME_CHARS) {
        return Err(CredentialsError::TooLong);
    }
    if username.chars().any(char::is_control) {
        return Err(CredentialsError::BadCharacters);
    }
    Ok(username)
}

impl Credentials {
    pub fn parse(username: &str, password: &str) -> Result<Credentials, CredentialsError> {
        if longer_than(password, MAX_PASSWORD_CHARS) {
            return Err(CredentialsError::TooLong);
        }
        let username = check_username(username)?;
        if password.is_empty() {
            return Err(CredentialsError::Missing);
        }
        Ok(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    pub fn username(&self) -> &str {
        &self.username
    }
}

/// Why a sign-in did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong password, unknown or disabled account: deliberately one answer.
    #[error("用户名或密码错误")]
    Failed,
    /// Too many recent failures from this address; nothing was checked.
    #[error("{}", throttle_message(*retry_after_secs))]
    Throttled { retry_after_secs: i64 },
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<store::StoreError> for LoginError {
    fn from(e: store::StoreError) -> Self {
        LoginError::App(e.into())
    }
}

fn throttle_message(secs: i64) -> String {
    if secs <= 90 {
        format!("登录失败次数过多，请{secs}秒后再试")
    } else {
        format!("登录失败次数过多，请{}分钟后再试", (secs + 59) / 60)
    }
}

/// The wait imposed after `failures` recent failures of one account from one address.
pub fn slowdown(failures: i64) -> Duration {
    if failures < SLOWDOWN_AFTER {
        Duration::zero()
    } else {
        Duration::seconds(1 << (failures - SLOWDOWN_AFTER).min(5))
    }
}

/// Seconds until an attempt with these earlier failures may be tried, or `None` if it may be
/// tried now.
fn retry_after(c: &store::users::FailureCounts, now: DateTime<Utc>) -> Option<i64> {
    let window = Duration::minutes(FAILURE_WINDOW_MINUTES);
    // An unreadable time counts as "just now": refuse rather than guess.
    let until = |at: &Option<String>, wait: Duration| {
        at.as_deref()
            .and_then(store::parse_timestamp)
            .map_or(wait, |t| t + wait - now)
    };
    let mut wait = Duration::zero();
    if c.address >= ADDRESS_LOCK_AFTER {
        wait = wait.max(until(&c.address_oldest, window));
    }
    if c.pair >= LOCK_AFTER {
        wait = wait.max(until(&c.pair_oldest, window));
    } else if c.pair >= SLOWDOWN_AFTER {
        wait = wait.max(until(&c.pair_latest, slowdown(c.pair)));
    }
    (wait > Duration::zero()).then(|| ((wait.num_milliseconds() + 999) / 1000).max(1))
}

/// The address failures are counted under: IPv4 addresses as they are, IPv6 by their /64.
pub fn throttle_key(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.chars().take(64).collect(),
    }
}

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

/// A hash of a random password, made with the same parameters as real ones: unknown and
/// disabled accounts are checked against it, so they cost the same work as known ones.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&random_token()).expect("argon2 hashes a random password with its defaults")
    })
}

/// Password checks running at once: each takes ~19 MiB and a core for a moment, so a burst of
/// logins queues here instead of starting hundreds of blocking threads.
fn check_permits() -> Arc<tokio::sync::Semaphore> {
    static PERMITS: OnceLock<Arc<tokio::sync::Semaphore>> = OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let n = std::thread::available_parallelism().map_or(2, |n| n.get());
            Arc::new(tokio::sync::Semaphore::new(n))
        })
        .clone()
}

tokio::task_local! {
    static PASSWORD_CHECKS: Cell<u32>;
}

/// Runs `f` and counts the password checks (argon2 verifications) it awaited: the observable
/// that tests use to prove throttled attempts check nothing and unknown users are checked like
/// known ones. Costs nothing outside such a scope.
pub async fn count_password_checks<F: Future>(f: F) -> (F::Output, u32) {
    PASSWORD_CHECKS
        .scope(Cell::new(0), async {
            let out = f.await;
            (out, PASSWORD_CHECKS.with(Cell::get))
        })
        .await
}

/// Checks a password on a blocking thread. Takes no database connection: callers release
/// theirs first.
async fn check_password(password: &str, hash: &str) -> AppResult<bool> {
    let permit = check_permits()
        .acquire_owned()
        .await
        .map_err(|e| AppError::Internal(e.into()))?;
    let (password, hash) = (password.to_string(), hash.to_string());
    // The permit moves into the blocking task, so a client that hangs up mid-check does not
    // free its slot before the work is done.
    let ok = tokio::task::spawn_blocking(move || {
        let ok = verify_password(&password, &hash);
        drop(permit);
        ok
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?;
    let _ = PASSWORD_CHECKS.try_with(|c| c.set(c.get() + 1));
    Ok(ok)
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
    /// The id of this session in its owner's session list.
    pub session_id: i64,
}

/// One of the signed-in user's live sessions, for the session list.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub id: i64,
    /// Client address when the session was created.
    pub ip: String,
    /// Local times for display.
    pub created_at: String,
    pub last_seen_at: String,
    /// The session this list is being shown in.
    pub current: bool,
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
        let username = check_username(username)
            .map_err(|e| AppError::Invalid(format!("用户名不可用：{e}")))?;
        if password.chars().count() < 8 || longer_than(password, MAX_PASSWORD_CHARS) {
            return Err(AppError::Invalid(format!(
                "密码至少8位，最多{MAX_PASSWORD_CHARS}位"
            )));
        }
        let hash = hash_password(password)?;
        let mut tx = self.db.begin_write().await?;
        let id = store::users::insert(
            &mut tx,
            &store::users::NewUser {
                username,
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
            AuditAction::UserCreate,
            username,
            role.label_zh(),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Signs a staff member in from client address `ip`, with throttling (see the module
    /// documentation): a throttled attempt is refused at once and checks no password; any other
    /// attempt checks exactly one (a dummy one for unknown or disabled accounts), without
    /// holding a database connection while it does.
    pub async fn login(
        &self,
        credentials: &Credentials,
        ip: &str,
    ) -> Result<(Session, Actor), LoginError> {
        let username = credentials.username();
        let key = throttle_key(ip);
        let now = self.now();
        let since = store::timestamp(now - Duration::minutes(FAILURE_WINDOW_MINUTES));

        // Reserve this attempt (committed at once), then count the others: parallel attempts
        // see each other, so no more than the limit get through.
        let user = {
            let mut conn = self.db.acquire().await?;
            // An address that is plainly throttled already is refused without writing anything
            // (a flood of refused attempts costs reads only); the count after the reservation
            // below is the one that decides.
            let earlier =
                store::users::login_failure_counts(&mut conn, username, &key, &since, 0).await?;
            if let Some(secs) = retry_after(&earlier, now) {
                return Err(LoginError::Throttled {
                    retry_after_secs: secs,
                });
            }
            let attempt = store::users::record_login_failure(
                &mut conn,
                username,
                &key,
                &store::timestamp(now),
            )
            .await?;
            let others =
                store::users::login_failure_counts(&mut conn, username, &key, &since, attempt)
                    .await?;
            if let Some(secs) = retry_after(&others, now) {
                store::users::delete_login_failure(&mut conn, attempt).await?;
                return Err(LoginError::Throttled {
                    retry_after_secs: secs,
                });
            }
            store::users::by_username(&mut conn, username).await?
        }; // the connection goes back to the pool before the password is checked

        let hash: &str = match &user {
            Some(u) => &u.password_hash,
            None => dummy_hash(),
        };
        let verified = check_password(&credentials.password, hash).await?;
        let user = match user {
            Some(u) if verified && u.active => u,
            other => {
                // The reserved attempt stays recorded as the failure.
                let mut conn = self.db.acquire().await?;
                let system = Actor {
                    ip: ip.to_string(),
                    ..Actor::system()
                };
                let region = other.and_then(|u| u.region_code).unwrap_or_default();
                self.audit(
                    &mut conn,
                    &system,
                    &region,
                    AuditAction::LoginFailed,
                    username,
                    "",
                )
                .await?;
                return Err(LoginError::Failed);
            }
        };

        let actor = actor_from(&user, ip)?;
        let session = Session {
            token: random_token(),
            csrf_token: random_token(),
        };
        let now = self.now();
        let mut tx = self.db.begin_write().await?;
        // This address's failures for the account (the reserved attempt among them) stop
        // counting; other addresses' do not.
        store::users::clear_login_failures(&mut tx, username, &key).await?;
        store::users::insert_session(
            &mut tx,
            &token_hash(&session.token),
            user.id,
            &session.csrf_token,
            ip,
            &store::timestamp(now),
            &store::timestamp(now + Duration::minutes(SESSION_IDLE_MINUTES)),
        )
        .await?;
        self.audit(
            &mut tx,
            &actor,
            &actor.audit_region(),
            AuditAction::Login,
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
        // Extend (and note the activity) at most once a minute, not on every request.
        let new_expiry = now + Duration::minutes(SESSION_IDLE_MINUTES);
        if store::parse_timestamp(&row.expires_at)
            .is_none_or(|e| new_expiry - e > Duration::minutes(1))
        {
            store::users::touch_session(
                &mut conn,
                &hash,
                &store::timestamp(now),
                &store::timestamp(new_expiry),
            )
            .await?;
        }
        Ok(SignedIn {
            actor: actor_from(&row.user, ip)?,
            csrf_token: row.csrf_token,
            session_id: row.id,
        })
    }

    pub async fn logout(&self, token: &str, actor: &Actor) -> AppResult<()> {
        let mut tx = self.db.begin_write().await?;
        store::users::delete_session(&mut tx, &token_hash(token)).await?;
        self.audit(
            &mut tx,
            actor,
            &actor.audit_region(),
            AuditAction::Logout,
            &actor.username,
            "",
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// The signed-in user's live sessions (their own only), the most recently active first.
    pub async fn sessions(&self, me: &SignedIn) -> AppResult<Vec<SessionView>> {
        let user_id = me.actor.user_id.ok_or(AppError::Forbidden)?;
        let mut conn = self.db.acquire().await?;
        let rows = store::users::sessions_of(&mut conn, user_id, &self.now_text()).await?;
        Ok(rows
            .into_iter()
            .map(|s| SessionView {
                id: s.id,
                ip: s.ip,
                created_at: crate::display_time(&s.created_at),
                last_seen_at: crate::display_time(&s.last_seen_at),
                current: s.id == me.session_id,
            })
            .collect())
    }

    /// Ends one of the signed-in user's sessions; another user's session is not found. Returns
    /// whether it was the session making the request (the caller is then signed out).
    pub async fn end_session(&self, me: &SignedIn, session_id: i64) -> AppResult<bool> {
        let user_id = me.actor.user_id.ok_or(AppError::Forbidden)?;
        let mut tx = self.db.begin_write().await?;
        if !store::users::delete_session_of(&mut tx, user_id, session_id).await? {
            return Err(AppError::NotFound);
        }
        self.audit(
            &mut tx,
            &me.actor,
            &me.actor.audit_region(),
            AuditAction::SessionEnd,
            &me.actor.username,
            &format!("会话 #{session_id}"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(session_id == me.session_id)
    }

    /// Ends every session of the signed-in user, on every device ("sign out everywhere").
    pub async fn logout_everywhere(&self, actor: &Actor) -> AppResult<u64> {
        let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
        let mut tx = self.db.begin_write().await?;
        let n = store::users::delete_sessions_of(&mut tx, user_id).await?;
        self.audit(
            &mut tx,
            actor,
            &actor.audit_region(),
            AuditAction::LogoutEverywhere,
            &actor.username,
            &format!("{n} 个会话"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(n)
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
    /// and periodically by the server. Also prepares the dummy hash, so the first unknown
    /// username does not pay for making it.
    pub async fn housekeeping(&self) -> AppResult<()> {
        tokio::task::spawn_blocking(dummy_hash)
            .await
            .map_err(|e| AppError::Internal(e.into()))?;
        let now = self.now();
        let mut conn = self.db.acquire().await?;
        store::users::delete_expired_sessions(&mut conn, &store::timestamp(now)).await?;
        let before = store::timestamp(now - Duration::minutes(FAILURE_WINDOW_MINUTES));
        store::users::delete_login_failures_before(&mut conn, &before).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store::users::FailureCounts;

    #[test]
    fn credentials_are_bounded_and_never_longer_than_the_bound() {
        let ok = Credentials::parse("  town ", "secret-password").unwrap();
        assert_eq!(ok.username(), "town");
        let long_name = "名".repeat(MAX_USERNAME_CHARS + 1);
        assert_eq!(
            Credentials::parse(&long_name, "pw").unwrap_err(),
            CredentialsError::TooLong
        );
        assert!(Credentials::parse(&"名".repeat(MAX_USERNAME_CHARS), "pw").is_ok());
        let long_pw = "x".repeat(MAX_PASSWORD_CHARS + 1);
        assert_eq!(
            Credentials::parse("town", &long_pw).unwrap_err(),
            CredentialsError::TooLong
        );
        assert_eq!(
            Credentials::parse(" ", "pw").unwrap_err(),
            CredentialsError::Missing
        );
        assert_eq!(
            Credentials::parse("town", "").unwrap_err(),
            CredentialsError::Missing
        );
        assert_eq!(
            Credentials::parse("to\u{0}wn", "pw").unwrap_err(),
            CredentialsError::BadCharacters
        );
        // The password never shows in debug output.
        assert!(!format!("{ok:?}").contains("secret-password"));
    }

    #[test]
    fn the_dummy_hash_has_the_parameters_of_real_hashes() {
        let real = hash_password("some password").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        let dummy = PasswordHash::new(dummy_hash()).unwrap();
        assert_eq!(real.algorithm, dummy.algorithm);
        assert_eq!(real.version, dummy.version);
        assert_eq!(real.params, dummy.params);
        assert!(!verify_password("some password", dummy_hash()));
    }

    fn counts(pair: i64, address: i64, at: DateTime<Utc>) -> FailureCounts {
        let t = Some(store::timestamp(at));
        FailureCounts {
            pair,
            pair_oldest: t.clone(),
            pair_latest: t.clone(),
            address,
            address_oldest: t,
        }
    }

    #[test]
    fn throttling_waits_grow_then_lock_until_the_window_passes() {
        let now = Utc::now();
        assert_eq!(retry_after(&counts(0, 0, now), now), None);
        assert_eq!(retry_after(&counts(2, 2, now), now), None);
        assert_eq!(retry_after(&counts(3, 3, now), now), Some(1));
        assert_eq!(retry_after(&counts(4, 4, now), now), Some(2));
        assert_eq!(retry_after(&counts(7, 7, now), now), Some(16));
        // The slowdown is counted from the latest failure.
        assert_eq!(
            retry_after(&counts(4, 4, now - Duration::seconds(5)), now),
            None
        );
        // Locked: until the oldest failure leaves the window.
        let lock = FAILURE_WINDOW_MINUTES * 60;
        assert_eq!(
            retry_after(&counts(LOCK_AFTER, LOCK_AFTER, now), now),
            Some(lock)
        );
        assert_eq!(
            retry_after(
                &counts(LOCK_AFTER, LOCK_AFTER, now - Duration::minutes(10)),
                now
            ),
            Some(lock - 600)
        );
        // Spraying: many accounts from one address.
        assert_eq!(
            retry_after(&counts(0, ADDRESS_LOCK_AFTER, now), now),
            Some(lock)
        );
        assert!(throttle_message(30).contains("30秒后再试"));
        assert!(throttle_message(900).contains("15分钟后再试"));
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64() {
        assert_eq!(throttle_key("192.0.2.7"), "192.0.2.7");
        assert_eq!(throttle_key("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(
            throttle_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd"),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            throttle_key("2001:db8:1:2::1"),
            throttle_key("2001:db8:1:2:ffff::9")
        );
        assert_eq!(throttle_key("unknown"), "unknown");
    }
}
