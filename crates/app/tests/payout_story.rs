//! The month's payout end to end, on SQLite and on PostgreSQL: approved claims with bank cards →
//! the batch and its public notice → an objection upheld and one dismissed → four-eyes approval
//! after the notice (postings once) → the bank file → results with a failure → the failed claim
//! with a new card in next month's batch → recovery of a paid subsidy and its receipt; the
//! ledger verifies at the end.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::payout::{CardInput, ObjectionInput};
use app::{Actor, App, AppError, Clock, PiiKeys};
use chrono::Duration;
use domain::{BatchStatus, CardStatus, ClaimId, ClaimStatus, Fen, LineState, RegionCode, Role};
use payout::layout::FileKind;
use store::sqlx_reexport as sqlx;
use store::Backend;

const TOWN: &str = "370323104";

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

/// A card number with a valid Luhn check digit: `622848` + 12 digits from `n` + check.
fn card_number(n: u64) -> String {
    payout::card::with_check_digit(&format!("622848{n:012}"))
}

struct World {
    app: App,
    url: String,
    year_id: i64,
    clerk: Actor,
    officer: Actor,
    second: Actor,
    reviewer: Actor,
}

async fn world(backend: Backend) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(600, 11)
        .await
        .unwrap()
        .expect("empty database");
    app.load_demo_years().await.unwrap();
    app.load_demo_claims(60).await.unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let (year_id,): (i64,) = sqlx::query_as(
        "SELECT year_id FROM claims WHERE pool_code = $1 AND status = 'approved' LIMIT 1",
    )
    .bind(TOWN)
    .fetch_one(&mut *conn)
    .await
    .expect("approved demo claims in the town");
    drop(conn);
    World {
        app,
        url,
        year_id,
        clerk: actor("clerk", Role::VillageClerk, TOWN),
        officer: actor("finance1", Role::TownAdmin, TOWN),
        second: actor("finance2", Role::TownAdmin, TOWN),
        reviewer: actor("reviewer", Role::Reviewer, "370323"),
    }
}

impl World {
    /// Members of the town's approved claims, each given a card.
    async fn cards_for_approved(&self) -> Vec<(ClaimId, i64)> {
        let mut conn = self.app.db.acquire().await.unwrap();
        let rows: Vec<(i64, i64)> = sqlx::query_as(
            "SELECT id, member_id FROM claims WHERE year_id = $1 AND status = 'approved' ORDER BY id",
        )
        .bind(self.year_id)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        drop(conn);
        let keeper = self.clerk.card_keeper().unwrap();
        for (_, member) in &rows {
            let input = CardInput {
                bank_name: "沂源农商银行".into(),
                card_number: card_number(*member as u64),
                ..Default::default()
            };
            let s = self
                .app
                .record_card(&keeper, &self.clerk, *member, &input)
                .await;
            assert!(
                matches!(s, Ok(CardStatus::Active) | Err(AppError::Conflict(_))),
                "{s:?}"
            );
        }
        rows.into_iter().map(|(c, m)| (ClaimId(c), m)).collect()
    }

    async fn status(&self, id: ClaimId) -> ClaimStatus {
        self.app
            .claim(&self.reviewer, id)
            .await
            .unwrap()
            .claim
            .status
    }

    fn later(&self, days: u64) -> App {
        let at = self.app.now() + Duration::days(days as i64);
        self.app.clone().with_clock(Clock::fixed(at))
    }

    async fn postings(&self, reference: &str) -> i64 {
        let mut conn = self.app.db.acquire().await.unwrap();
        sqlx::query_scalar(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM ledger_postings WHERE reference = $1",
        )
        .bind(reference)
        .fetch_one(&mut *conn)
        .await
        .unwrap()
    }

    async fn finish(self) {
        self.app.db.close().await;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

async fn the_month(backend: Backend) {
    let w = world(backend).await;
    let approved = w.cards_for_approved().await;
    assert!(
        approved.len() >= 4,
        "demo approved claims: {}",
        approved.len()
    );
    let officer = w.officer.payout_officer().unwrap();
    let today = w.app.today();

    // The batch and its notice.
    let preview = w
        .app
        .batch_preview(&officer, w.year_id, today)
        .await
        .unwrap();
    assert_eq!(preview.lines, approved.len());
    assert!(preview.without_card.is_empty());
    let batch_id = w
        .app
        .create_batch(&officer, &w.officer, w.year_id, today)
        .await
        .unwrap();
    let view = w.app.batch(&w.officer, batch_id).await.unwrap();
    assert_eq!(view.batch.status, BatchStatus::Noticed);
    assert_eq!(view.count, approved.len());
    assert!(view.notice_running);
    assert!((view.batch.notice_end - view.batch.notice_start).num_days() >= 6);
    for (c, _) in &approved {
        assert_eq!(w.status(*c).await, ClaimStatus::InBatch);
    }
    // Nothing left for a second batch: a claim is in one batch at most.
    let again = w
        .app
        .create_batch(&officer, &w.second, w.year_id, today)
        .await;
    assert!(matches!(again, Err(AppError::Invalid(_))), "{again:?}");

    // The public notice masks names and hides the DRG by default.
    let notice = w
        .app
        .payout_notice(&view.batch.batch_no, app::payout::NoticeSelect::Page(1))
        .await
        .unwrap();
    assert_eq!(notice.count, approved.len());
    assert!(notice
        .lines
        .iter()
        .all(|l| l.drg_name.is_none() && l.name_masked.contains('*')));

    // Objections: the first line's is upheld, the second's dismissed.
    let (l1, l2) = (&view.lines[0], &view.lines[1]);
    let object = |line| ObjectionInput {
        line_id: line,
        phone: "13800138000".into(),
        text: "此人当时并未住院".into(),
        client_ip: "10.0.0.9".into(),
    };
    let bad = w
        .app
        .object(
            &view.batch.batch_no,
            &ObjectionInput {
                phone: "123".into(),
                ..object(l1.id)
            },
        )
        .await;
    assert!(matches!(bad, Err(AppError::Invalid(_))), "{bad:?}");
    let o1 = w
        .app
        .object(&view.batch.batch_no, &object(l1.id))
        .await
        .unwrap();
    let o2 = w
        .app
        .object(&view.batch.batch_no, &object(l2.id))
        .await
        .unwrap();
    let reviewer = w.reviewer.claim_reviewer().unwrap();
    let second = w.second.payout_officer().unwrap();
    let later = w.later(8);
    let blocked = later
        .approve_batch(&second, &w.second, batch_id, view.batch.revision)
        .await;
    assert!(
        matches!(blocked, Err(AppError::Conflict(ref m)) if m.contains("异议")),
        "{blocked:?}"
    );
    w.app
        .decide_objection(
            &reviewer,
            &w.reviewer,
            o1,
            true,
            "经核实住院材料存疑，退回复核",
        )
        .await
        .unwrap();
    w.app
        .decide_objection(&reviewer, &w.reviewer, o2, false, "经核实住院属实")
        .await
        .unwrap();
    assert_eq!(w.status(l1.claim_id).await, ClaimStatus::Proposed);
    let again = w
        .app
        .decide_objection(&reviewer, &w.reviewer, o2, true, "x")
        .await;
    assert!(matches!(again, Err(AppError::Conflict(_))));

    // Approval: not by the preparer, not during the notice, once.
    let view = w.app.batch(&w.officer, batch_id).await.unwrap();
    assert_eq!(view.count, approved.len() - 1);
    let rev = view.batch.revision;
    let own = later
        .approve_batch(&officer, &w.officer, batch_id, rev)
        .await;
    assert!(
        matches!(own, Err(AppError::Conflict(ref m)) if m.contains("双人")),
        "{own:?}"
    );
    let early = w.app.approve_batch(&second, &w.second, batch_id, rev).await;
    assert!(
        matches!(early, Err(AppError::Conflict(ref m)) if m.contains("公示期")),
        "{early:?}"
    );
    later
        .approve_batch(&second, &w.second, batch_id, rev)
        .await
        .unwrap();
    let twice = later.approve_batch(&second, &w.second, batch_id, rev).await;
    assert!(matches!(twice, Err(AppError::Conflict(_))), "{twice:?}");
    let view = later.batch(&w.officer, batch_id).await.unwrap();
    assert_eq!(view.batch.status, BatchStatus::Approved);
    let pending: Vec<_> = view
        .lines
        .iter()
        .filter(|l| l.state == LineState::Pending)
        .collect();
    for l in &pending {
        assert_eq!(
            w.postings(&format!("payout_line:{}", l.id)).await,
            4,
            "two entries of two lines"
        );
    }

    // The bank file, CSV and xlsx, the same hash as fixed at approval.
    let csv = later
        .bank_file(&second, &w.second, batch_id, "generic", FileKind::Csv)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&csv.bytes);
    assert!(text.contains("户名") && text.contains("卡号"));
    assert_eq!(text.lines().count(), pending.len() + 1);
    let xlsx = later
        .bank_file(&second, &w.second, batch_id, "rural_credit", FileKind::Xlsx)
        .await
        .unwrap();
    assert!(xlsx.bytes.starts_with(b"PK"));

    // Results: the first pending line failed, the rest paid; importing again changes nothing.
    let mut result = String::from("序号,状态,失败原因\n");
    for (i, l) in pending.iter().enumerate() {
        if i == 0 {
            result.push_str(&format!("{},失败,账户已销户\n", l.seq));
        } else {
            result.push_str(&format!("{},成功,\n", l.seq));
        }
    }
    let s = later
        .import_results(&second, &w.second, batch_id, result.as_bytes(), "回盘.csv")
        .await
        .unwrap();
    assert_eq!(
        (s.paid, s.failed, s.unchanged, s.closed),
        (pending.len() - 1, 1, 0, true)
    );
    let s = later
        .import_results(&second, &w.second, batch_id, result.as_bytes(), "回盘.csv")
        .await
        .unwrap();
    assert_eq!((s.paid, s.failed, s.unchanged), (0, 0, pending.len()));
    let failed = pending[0];
    assert_eq!(w.status(failed.claim_id).await, ClaimStatus::Approved);
    assert_eq!(
        w.postings(&format!("payout_line:{}", failed.id)).await,
        8,
        "reversed once"
    );
    let paid = pending[1];
    assert_eq!(w.status(paid.claim_id).await, ClaimStatus::Paid);
    let mut conn = w.app.db.acquire().await.unwrap();
    let templates: Vec<String> =
        sqlx::query_scalar("SELECT template FROM sms_outbox WHERE subject IN ($1, $2) ORDER BY id")
            .bind(format!("claim:{}", failed.claim_id))
            .bind(format!("claim:{}", paid.claim_id))
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    drop(conn);
    assert!(
        templates.contains(&"payment_failed".to_string()),
        "{templates:?}"
    );
    assert!(
        templates.contains(&"subsidy_paid".to_string()),
        "{templates:?}"
    );

    // A new card for the failed member waits for a reviewer (money was sent to that member),
    // then the claim is in next month's batch.
    let keeper = w.clerk.card_keeper().unwrap();
    let input = CardInput {
        bank_name: "中国农业银行".into(),
        card_number: card_number(900_000 + failed.member_id as u64),
        ..Default::default()
    };
    let wrong = CardInput {
        card_number: "6228480000000000001".into(),
        ..input.clone()
    };
    assert!(matches!(
        later
            .record_card(&keeper, &w.clerk, failed.member_id, &wrong)
            .await,
        Err(AppError::Invalid(_))
    ));
    let st = later
        .record_card(&keeper, &w.clerk, failed.member_id, &input)
        .await
        .unwrap();
    assert_eq!(st, CardStatus::Pending);
    let pending_cards = later.pending_cards(&reviewer).await.unwrap();
    let card = pending_cards
        .iter()
        .find(|c| c.member_id == failed.member_id)
        .unwrap();
    later
        .decide_card(&reviewer, &w.reviewer, card.id, true, "")
        .await
        .unwrap();
    let next_month = w.later(35);
    let next = next_month
        .create_batch(&officer, &w.officer, w.year_id, next_month.today())
        .await
        .unwrap();
    let next_view = next_month.batch(&w.officer, next).await.unwrap();
    assert!(next_view
        .lines
        .iter()
        .any(|l| l.claim_id == failed.claim_id));

    // Recovery of a paid subsidy: receivable, a receipt, no more than owed; flagged later.
    let rid = next_month
        .recover_claim(
            &reviewer,
            &w.reviewer,
            paid.claim_id,
            "伪造住院费用清单",
            "医院出具的核查函",
        )
        .await
        .unwrap();
    assert_eq!(w.status(paid.claim_id).await, ClaimStatus::Recovered);
    let r = next_month.recovery(&w.officer, rid).await.unwrap();
    assert_eq!(r.outstanding, paid.amount);
    let half = Fen(paid.amount.fen() / 2);
    next_month
        .record_recovery_receipt(&officer, &w.officer, rid, half, next_month.today())
        .await
        .unwrap();
    let over = next_month
        .record_recovery_receipt(&officer, &w.officer, rid, paid.amount, next_month.today())
        .await;
    assert!(matches!(over, Err(AppError::Invalid(_))), "{over:?}");
    let again = next_month
        .recover_claim(&reviewer, &w.reviewer, paid.claim_id, "x", "")
        .await;
    assert!(again.is_err());

    for v in w.app.verify_ledgers().await.unwrap() {
        v.expect("every pool's chain verifies");
    }
    // Whoever edits a paid line's amount in the database is found by `ledger verify`.
    let mut conn = w.app.db.acquire().await.unwrap();
    sqlx::query("UPDATE payout_lines SET amount_fen = amount_fen + 100 WHERE id = $1")
        .bind(pending[2].id.0)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let found = w.app.verify_ledgers().await.unwrap();
    assert!(
        found
            .iter()
            .any(|v| matches!(v, Err(b) if matches!(b.reason,
            ledger::BreakReason::RecordDisagrees { table: "payout_lines", .. }))),
        "{found:?}"
    );
    w.finish().await;
}

/// The demo's month: last month's batch closed with one failed line, whose claim (with a new
/// card) is in this month's batch on notice.
async fn the_demo_month(backend: Backend) {
    let w = world(backend).await;
    let batches = w.app.load_demo_payout(20, 45).await.unwrap();
    assert_eq!(batches, 4, "two batches in each of the two towns");
    let all = w.app.batches(&Actor::system()).await.unwrap();
    for town in ["370323104", "370323105"] {
        let mine: Vec<_> = all.iter().filter(|b| b.pool_code == town).collect();
        let (now, last) = (mine[0], mine[1]);
        assert_eq!(now.status, BatchStatus::Noticed);
        assert_eq!(last.status, BatchStatus::Closed);
        let last = w.app.batch(&Actor::system(), last.id).await.unwrap();
        let failed: Vec<_> = last
            .lines
            .iter()
            .filter(|l| l.state == LineState::Failed)
            .collect();
        assert_eq!(failed.len(), 1);
        let now = w.app.batch(&Actor::system(), now.id).await.unwrap();
        assert!(
            now.lines.iter().any(|l| l.claim_id == failed[0].claim_id),
            "carried over"
        );
    }
    for v in w.app.verify_ledgers().await.unwrap() {
        v.expect("every pool's chain verifies");
    }
    assert_eq!(w.app.load_demo_payout(20, 45).await.unwrap(), 0, "once");
    w.finish().await;
}

macro_rules! on_both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(store::Backend::Sqlite).await }) *
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(store::Backend::Postgres).await }) *
        }
    };
}

on_both!(the_month, the_demo_month);
