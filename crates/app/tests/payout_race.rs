//! Two officers at once on the same payout (issue: four eyes must not become "two payments"):
//! two approvals of one batch → exactly one succeeds, the other is told of the conflict, and
//! every line is posted once; two batches created for the same year at once → the claims go to
//! one of them, never to both. On SQLite and on PostgreSQL.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::{Actor, App, AppError, Clock, PiiKeys};
use chrono::Duration;
use domain::{BatchId, BatchStatus, RegionCode, Role};
use store::sqlx_reexport as sqlx;
use store::Backend;

const TOWN: &str = "370323104";
const COUNTY: &str = "370323";
const ROUNDS: usize = 6;

fn actor(username: &str, role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: username.into(),
        display_name: username.into(),
        role,
        region: Some(RegionCode::parse(region).unwrap()),
        ip: "127.0.0.1".into(),
    }
}

/// A 16-digit card number with a valid Luhn digit, different for every `n`.
fn card_number(n: u64) -> String {
    payout::card::with_check_digit(&format!("621462{n:09}"))
}

struct World {
    app: App,
    /// Three weeks later: after the notice.
    late: App,
    url: String,
    year_id: i64,
    hospital_id: i64,
    members: Vec<(i64, i64, String)>,
    next: usize,
}

async fn world(backend: Backend) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(400, 11)
        .await
        .unwrap()
        .expect("empty database");
    app.load_demo_years().await.unwrap();
    let late = app
        .clone()
        .with_clock(Clock::fixed(app.now() + Duration::days(21)));
    let mut conn = app.db.acquire().await.unwrap();
    let (year_id,): (i64,) = sqlx::query_as(
        "SELECT id FROM scheme_years WHERE pool_code = $1 AND period_start <= $2 AND period_end >= $2",
    )
    .bind(TOWN)
    .bind(app.today().to_string())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let (hospital_id,): (i64,) = sqlx::query_as(
        "INSERT INTO hospitals (county_code, name, level, designated, location, active, created_at, \
         updated_at) VALUES ($1, '测试县人民医院', 'secondary', 1, 'in_province', 1, $2, $2) \
         ON CONFLICT (county_code, name) DO UPDATE SET active = 1 RETURNING id",
    )
    .bind(COUNTY)
    .bind(app.now_text())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let members = sqlx::query_as(
        "SELECT id, household_id, village_code FROM members WHERE village_code LIKE $1 ORDER BY id",
    )
    .bind(format!("{TOWN}%"))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    World {
        app,
        late,
        url,
        year_id,
        hospital_id,
        members,
        next: 0,
    }
}

impl World {
    /// `n` approved claims of members not used before, each with a card.
    async fn add_claims(&mut self, n: usize) {
        let clerk = actor("clerk", Role::CountyAdmin, COUNTY);
        let keeper = clerk.card_keeper().unwrap();
        let now = self.app.now_text();
        let today = self.app.today();
        for _ in 0..n {
            let (member, household, village) = self.members[self.next].clone();
            self.next += 1;
            let mut conn = self.app.db.acquire().await.unwrap();
            sqlx::query(
                "INSERT INTO claims (application_no, year_id, pool_code, member_id, household_id, \
                 village_code, channel, status, hospital_id, admission_date, discharge_date, \
                 insurance, consecutive_years, total_fen, basic_fen, serious_fen, assistance_fen, \
                 oop_fen, settlement_no, received_at, received_on, received_by, due_on, \
                 drg_name, amount_fen, decided_by, decided_at) VALUES ($1, $2, $3, $4, $5, $6, \
                 'staff', 'approved', $7, $8, $9, 'resident', 1, 1000000, 500000, 0, 0, 500000, \
                 $1, $10, $9, 'clerk', $9, '测试病组', $11, 'reviewer', $10)",
            )
            .bind(format!("PR{:06}", self.next))
            .bind(self.year_id)
            .bind(TOWN)
            .bind(member)
            .bind(household)
            .bind(&village)
            .bind(self.hospital_id)
            .bind((today - Duration::days(12)).to_string())
            .bind((today - Duration::days(5)).to_string())
            .bind(&now)
            .bind(100_000 + self.next as i64)
            .execute(&mut *conn)
            .await
            .unwrap();
            drop(conn);
            let input = app::payout::CardInput {
                bank_name: "农商银行".into(),
                card_number: card_number(self.next as u64),
                ..Default::default()
            };
            self.app
                .record_card(&keeper, &clerk, member, &input)
                .await
                .unwrap();
        }
    }

    async fn count(&self, sql: &str) -> i64 {
        let mut conn = self.app.db.acquire().await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut *conn).await.unwrap()
    }

    /// No claim in two live lines, no line posted twice, the ledger intact.
    async fn check(&self, context: &str) {
        for r in self.app.verify_ledgers().await.unwrap() {
            assert!(r.is_ok(), "{context}: {r:?}");
        }
        let twice = self
            .count(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT claim_id FROM payout_lines \
                 WHERE live = 1 GROUP BY claim_id HAVING COUNT(*) > 1) t",
            )
            .await;
        assert_eq!(twice, 0, "{context}: a claim in two live lines");
        let posted_lines = self
            .count(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_lines WHERE expense_entry IS NOT NULL",
            )
            .await;
        let postings = self
            .count(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM ledger_postings \
                 WHERE reference LIKE 'payout_line:%' AND kind IN ('subsidy', 'payout')",
            )
            .await;
        assert_eq!(postings, 4 * posted_lines, "{context}: postings per line");
        let distinct = self
            .count(
                "SELECT CAST(COUNT(*) AS BIGINT) FROM (SELECT DISTINCT reference, kind \
                 FROM ledger_postings WHERE reference LIKE 'payout_line:%') t",
            )
            .await;
        assert_eq!(distinct, 2 * posted_lines, "{context}: entries per line");
        let in_batch = self
            .count("SELECT CAST(COUNT(*) AS BIGINT) FROM claims WHERE status = 'in_batch'")
            .await;
        let live = self
            .count("SELECT CAST(COUNT(*) AS BIGINT) FROM payout_lines WHERE live = 1")
            .await;
        assert_eq!(in_batch, live, "{context}: claims in a batch vs live lines");
    }

    async fn cleanup(&self) {
        self.app.db.close().await;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

async fn two_approvals_at_once(backend: Backend) {
    let mut w = world(backend).await;
    let preparer = actor("preparer", Role::CountyAdmin, COUNTY);
    let officer = preparer.payout_officer().unwrap();
    let a = actor("approver-a", Role::CountyAdmin, COUNTY);
    let b = actor("approver-b", Role::TownAdmin, TOWN);
    let (oa, ob) = (a.payout_officer().unwrap(), b.payout_officer().unwrap());
    for round in 0..ROUNDS {
        w.add_claims(4).await;
        let id: BatchId = w
            .app
            .create_batch(&officer, &preparer, w.year_id, w.app.today())
            .await
            .unwrap();
        let batch = w.app.batch(&preparer, id).await.unwrap();
        let rev = batch.batch.revision;
        // Both futures start before either finishes: each reads the batch as noticed.
        let (ra, rb) = tokio::join!(
            w.late.approve_batch(&oa, &a, id, rev),
            w.late.approve_batch(&ob, &b, id, rev)
        );
        let context = format!("{backend:?} round {round}: {ra:?} / {rb:?}");
        match (&ra, &rb) {
            (Ok(()), Err(AppError::Conflict(_))) | (Err(AppError::Conflict(_)), Ok(())) => {}
            _ => panic!("{context}: want exactly one approval and one conflict"),
        }
        let after = w.app.batch(&preparer, id).await.unwrap();
        assert_eq!(after.batch.status, BatchStatus::Approved, "{context}");
        let winner = if ra.is_ok() {
            "approver-a"
        } else {
            "approver-b"
        };
        assert_eq!(
            after.batch.approved_by.as_deref(),
            Some(winner),
            "{context}"
        );
        assert!(
            after.lines.iter().all(|l| l.expense_entry.is_some()),
            "{context}"
        );
        w.check(&context).await;
    }
    w.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvals_at_once_sqlite() {
    two_approvals_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_approvals_at_once_postgres() {
    two_approvals_at_once(Backend::Postgres).await;
}

async fn two_batches_at_once(backend: Backend) {
    let mut w = world(backend).await;
    let a = actor("preparer-a", Role::CountyAdmin, COUNTY);
    let b = actor("preparer-b", Role::TownAdmin, TOWN);
    let (oa, ob) = (a.payout_officer().unwrap(), b.payout_officer().unwrap());
    for round in 0..ROUNDS {
        w.add_claims(5).await;
        let today = w.app.today();
        let (ra, rb) = tokio::join!(
            w.app.create_batch(&oa, &a, w.year_id, today),
            w.app.create_batch(&ob, &b, w.year_id, today)
        );
        let context = format!("{backend:?} round {round}: {ra:?} / {rb:?}");
        let made: Vec<BatchId> = [&ra, &rb]
            .into_iter()
            .filter_map(|r| r.as_ref().ok().copied())
            .collect();
        for r in [&ra, &rb] {
            assert!(
                matches!(r, Ok(_) | Err(AppError::Invalid(_) | AppError::Conflict(_))),
                "{context}"
            );
        }
        assert!(!made.is_empty(), "{context}: neither batch was made");
        let mut lines = 0;
        for id in &made {
            let view = w.app.batch(&a, *id).await.unwrap();
            lines += view.count;
        }
        assert_eq!(lines, 5, "{context}: the claims are in exactly one batch");
        w.check(&context).await;
        let approved = w
            .count("SELECT CAST(COUNT(*) AS BIGINT) FROM claims WHERE status = 'approved'")
            .await;
        assert_eq!(approved, 0, "{context}: a claim left out");
    }
    w.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batches_at_once_sqlite() {
    two_batches_at_once(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_batches_at_once_postgres() {
    two_batches_at_once(Backend::Postgres).await;
}
