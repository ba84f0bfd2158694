//! Storage for Shouwang: one set of SQL for SQLite and PostgreSQL through sqlx's `Any` driver.
//!
//! Why `Any` and hand-written SQL rather than an ORM: the schema is small and stable, the queries
//! that matter (scoped search, bulk import) need exact control, and `Any` lets one query string
//! run on both backends. Placeholders are written `$1, $2, …`, which both SQLite and PostgreSQL
//! accept. Only plain types cross the boundary (i64, String, Vec<u8>); dates are ISO-8601 text,
//! booleans are 0/1, sums are cast to BIGINT so PostgreSQL's NUMERIC never reaches `Any`.
//!
//! This crate never opens a transaction on its own initiative: callers in `app` decide the unit
//! of work and pass a connection (`&mut AnyConnection`, which a `Transaction` derefs to).

pub mod audit;
pub mod claims;
pub mod designs;
pub mod enrolment;
pub mod figures;
pub mod hospitals;
pub mod imports;
pub mod ledger;
pub mod payout;
pub mod receipts;
pub mod regions;
pub mod roster;
pub mod sms;
pub mod users;
pub mod years;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, ConnectOptions, Executor};
use std::str::FromStr;
use std::time::Duration;

/// For tests that must reach past the query functions (e.g. to age a session).
pub use sqlx as sqlx_reexport;
pub use sqlx::AnyConnection as Conn;
pub use sqlx::Transaction;
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://…")]
    UnsupportedUrl(String),
    #[error("database error: {0}")]
    Sqlx(sqlx::Error),
    /// Text the database cannot hold (PostgreSQL refuses NUL bytes in text): bad input, not a
    /// fault of the server. The edge should have refused it first; this is the net below.
    #[error("text the database cannot store: {0}")]
    BadText(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a record with the same key already exists: {0}")]
    Conflict(String),
    /// A stored value outside its vocabulary (a status code no version wrote): a fault of the
    /// data, reported instead of guessed.
    #[error("stored value out of its vocabulary: {0}")]
    Corrupt(String),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            // 22021: character_not_in_repertoire (a NUL byte in text); 22P05: untranslatable.
            sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("22021" | "22P05")) => {
                StoreError::BadText(d.message().to_string())
            }
            _ => StoreError::Sqlx(e),
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Picks the backend from the URL scheme and refuses anything else, so that a typo such as
    /// `postgress://` fails loudly instead of silently creating a SQLite file.
    pub fn from_url(url: &str) -> Result<Backend> {
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
        match scheme {
            "sqlite" => Ok(Backend::Sqlite),
            "postgres" | "postgresql" => Ok(Backend::Postgres),
            _ => Err(StoreError::UnsupportedUrl(url.to_string())),
        }
    }
}

/// A pool plus the knowledge of which backend it talks to (for the few places where SQL differs).
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

impl Db {
    /// Connects and applies the backend's migrations. For SQLite the file is created if missing.
    pub async fn connect(url: &str) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { "&" } else { "?" })
            }
            _ => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url)?
            .log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
        let max = match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max)
            .acquire_timeout(Duration::from_secs(30))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers proceed during an import; the busy timeout turns
                        // writer contention into waiting instead of errors; case-sensitive LIKE
                        // lets `name LIKE 'x%'` use the index; a 64 MB page cache keeps the random-keyed
                        // hash indexes of a 100,000-member county in memory during imports.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA case_sensitive_like = ON; \
                             PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Db { pool, backend })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub async fn begin(&self) -> Result<Tx> {
        self.begin_detached(None).await
    }

    /// A transaction that will write. On SQLite it takes the write lock at BEGIN (IMMEDIATE):
    /// a deferred transaction that read first and writes later fails at once with SQLITE_BUSY
    /// when another writer committed in between, whereas an immediate one waits its turn under
    /// the busy timeout. PostgreSQL needs no such care (row locks and constraints serialise).
    pub async fn begin_write(&self) -> Result<Tx> {
        match self.backend {
            Backend::Sqlite => self.begin_detached(Some("BEGIN IMMEDIATE")).await,
            Backend::Postgres => self.begin_detached(None).await,
        }
    }

    /// Begins in a task of its own, so that `BEGIN` always completes even when the caller is
    /// dropped meanwhile (a client that disconnects): sqlx 0.8 hands a connection whose `BEGIN`
    /// was cancelled mid-flight back to the pool still inside a transaction (launchbadge/sqlx
    /// #4393), and the next borrower's writes would vanish in it. Completed here, an abandoned
    /// transaction is dropped as a whole and rolled back.
    async fn begin_detached(&self, statement: Option<&'static str>) -> Result<Tx> {
        let pool = self.pool.clone();
        let task = tokio::spawn(async move {
            match statement {
                Some(s) => pool.begin_with(s).await,
                None => pool.begin().await,
            }
        });
        match task.await {
            Ok(tx) => Ok(tx?),
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // The runtime is shutting down.
            Err(_) => Err(StoreError::Sqlx(sqlx::Error::PoolClosed)),
        }
    }

    pub async fn acquire(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        Ok(self.pool.acquire().await?)
    }

    pub async fn close(&self) {
        self.pool.close().await
    }
}

/// The part of the region tree a query may see. Every query that touches people takes one, so a
/// forgotten area check is a compile error, not a data leak. `app` builds it from the signed-in
/// staff member; out-of-scope rows simply do not exist for the query (the web layer answers 404).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    prefix: String,
}

impl Scope {
    /// Everything (system administrators and command-line jobs).
    pub fn all() -> Scope {
        Scope {
            prefix: String::new(),
        }
    }
    /// A region and everything below it.
    pub fn region(code: &domain::RegionCode) -> Scope {
        Scope {
            prefix: code.as_str().to_string(),
        }
    }
    /// The LIKE pattern matching region codes inside this scope.
    pub(crate) fn like(&self) -> String {
        format!("{}%", self.prefix)
    }
    pub fn contains(&self, code: &str) -> bool {
        code.starts_with(&self.prefix)
    }
    pub fn prefix(&self) -> &str {
        &self.prefix
    }
}

/// UTC timestamps as sortable text.
pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse_timestamp(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&chrono::Utc))
}

pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            d.code().as_deref() == Some("23505") // PostgreSQL unique_violation
                || d.code().as_deref() == Some("2067") // SQLITE_CONSTRAINT_UNIQUE
                || d.code().as_deref() == Some("1555") // SQLITE_CONSTRAINT_PRIMARYKEY
                || d.message().contains("UNIQUE constraint failed")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_comes_from_the_scheme_and_typos_are_refused() {
        assert_eq!(Backend::from_url("sqlite://x.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://h/db").unwrap(),
            Backend::Postgres
        );
        assert_eq!(
            Backend::from_url("postgresql://h/db").unwrap(),
            Backend::Postgres
        );
        for bad in ["postgress://h/db", "mysql://h/db", "x.db", ""] {
            assert!(Backend::from_url(bad).is_err(), "{bad}");
        }
    }
}

/// Fresh databases for tests and benchmarks: a new SQLite file in the temp directory, or a new
/// PostgreSQL database created through `SHOUWANG_TEST_PG_URL` (default: the local server's
/// `test` database with trust auth).
pub mod testing {
    use sqlx::Connection;

    pub fn pg_admin_url() -> String {
        std::env::var("SHOUWANG_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
    }

    /// The URL of a new, empty database on `backend`.
    pub async fn fresh_database(backend: crate::Backend) -> crate::Result<String> {
        let name = format!("sw_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            crate::Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("{name}.db"));
                Ok(format!("sqlite://{}", path.display()))
            }
            crate::Backend::Postgres => {
                let admin = pg_admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await?;
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await?;
                let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
                Ok(format!("{base}/{name}"))
            }
        }
    }
}
