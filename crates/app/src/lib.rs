//! Shouwang's use cases. Web handlers and command-line jobs call these; this crate decides who
//! may do what (see `access`), opens the transactions, encrypts personal data before it reaches
//! the store, and writes the audit log.

pub mod access;
pub mod auth;
pub mod claims;
pub mod crypto;
pub mod demo;
pub mod demo_claims;
pub mod demo_payout;
pub mod design;
pub mod enrol;
pub mod enrol_import;
pub mod error;
pub mod figures;
pub mod fund;
pub mod hospitals;
pub mod import;
pub mod payout;
pub mod public;
pub mod reports;
pub mod roster;
pub mod sms;
pub mod year;

pub use access::HospitalKeeper;
pub use access::{
    Actor, AuditReader, CardKeeper, ClaimCoder, ClaimIntake, ClaimReopener, ClaimReviewer,
    DesignApprover, Enroller, FundReader, PayoutOfficer, PiiRevealer, RosterWriter, SchemeManager,
    VirtualVillagePlacer,
};
pub use crypto::PiiKeys;
pub use error::{AppError, AppResult};
pub use hospitals::HospitalInput;

use chrono::{DateTime, NaiveDate, Utc};
use domain::AuditAction;
use store::Db;

/// The programme's time zone: all dates (birthdays, deadlines, scheme years) are local dates here.
pub const TZ: chrono_tz::Tz = chrono_tz::Asia::Shanghai;

#[derive(Clone, Debug)]
pub struct App {
    pub db: Db,
    pub keys: PiiKeys,
    /// Where claim documents live (encrypted): a directory or S3-compatible object storage.
    pub documents: documents::DocumentStore,
    clock: Clock,
    faults: payout::Faults,
}

/// The time the use cases take as "now": the system clock, or a fixed instant in tests of
/// deadlines (a claim received before a holiday).
#[derive(Clone)]
pub struct Clock(std::sync::Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock(..)")
    }
}

impl Clock {
    pub fn system() -> Clock {
        Clock(std::sync::Arc::new(Utc::now))
    }
    pub fn fixed(at: DateTime<Utc>) -> Clock {
        Clock(std::sync::Arc::new(move || at))
    }
}

impl App {
    /// An app whose documents go to a directory under the system's temporary directory (tests
    /// and command-line jobs); `serve` sets the configured store with [`App::with_documents`].
    pub fn new(db: Db, keys: PiiKeys) -> App {
        let dir = std::env::temp_dir().join("shouwang-documents");
        let documents = documents::DocumentStore::local(&dir, keys.documents_key())
            .expect("the temporary directory is writable");
        App {
            db,
            keys,
            documents,
            clock: Clock::system(),
            faults: payout::Faults::default(),
        }
    }

    pub fn with_documents(mut self, documents: documents::DocumentStore) -> App {
        self.documents = documents;
        self
    }

    pub fn with_clock(mut self, clock: Clock) -> App {
        self.clock = clock;
        self
    }

    /// Failure points for the payout's crash tests (never armed in production).
    pub fn with_faults(mut self, faults: payout::Faults) -> App {
        self.faults = faults;
        self
    }

    pub(crate) fn faults(&self) -> &payout::Faults {
        &self.faults
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock.0)()
    }

    pub fn now_text(&self) -> String {
        store::timestamp(self.now())
    }

    pub fn today(&self) -> NaiveDate {
        self.now().with_timezone(&TZ).date_naive()
    }

    /// Appends to the audit log inside the caller's transaction, so the record of a write and
    /// the write itself commit together.
    pub(crate) async fn audit(
        &self,
        conn: &mut store::Conn,
        actor: &Actor,
        region_code: &str,
        action: AuditAction,
        subject: &str,
        detail: &str,
    ) -> AppResult<()> {
        store::audit::append(
            conn,
            &store::audit::NewEntry {
                at: &self.now_text(),
                user_id: actor.user_id,
                username: &actor.username,
                region_code,
                action: action.code(),
                subject,
                detail,
                ip: &actor.ip,
            },
        )
        .await?;
        Ok(())
    }
}

/// Local time for display, e.g. `2026-11-23 08:15`.
pub fn display_time(stored: &str) -> String {
    store::parse_timestamp(stored)
        .map(|t| t.with_timezone(&TZ).format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| stored.to_string())
}

/// A participation rate in per mille as people read it: 799 → "79.9%".
pub fn format_permille(p: u32) -> String {
    format!("{}.{}%", p / 10, p % 10)
}
