//! The scheme year's money end to end, on SQLite and on PostgreSQL: a town opens a year from
//! the 沂源 template, a village is enrolled from a spreadsheet, the figures and the books agree,
//! a bad spreadsheet writes nothing, parallel clerks never double-count, a changed byte in any
//! stored posting is found, and a clerical mistake is reversed and redone.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::enrol::{BulkOutcome, EnrolHousehold, LeaveOut, PaymentMethod, RowError};
use app::enrol_import::{enrolment_xlsx, COLUMNS};
use app::{Actor, App, AppError, PiiKeys};
use chrono::Datelike;
use domain::{Fen, RegionCode, Role};
use ledger::{Account, EntryKind, Verified};
use scheme::Payer;
use store::sqlx_reexport as sqlx;
use store::{Backend, Scope};

const TOWN: &str = "370323104";
const VILLAGE: &str = "370323104201";
const OTHER_TOWN_VILLAGE: &str = "370323105201";

struct World {
    app: App,
    url: String,
    year_id: i64,
    /// The town administrator of the demo town.
    town: Actor,
}

fn town_admin() -> Actor {
    Actor {
        user_id: None,
        username: "town".into(),
        display_name: "大张庄镇管理员".into(),
        role: Role::TownAdmin,
        region: Some(RegionCode::parse(TOWN).unwrap()),
        ip: "127.0.0.1".into(),
    }
}

/// A fresh database with a small demo county and an open 沂源 year for the demo town whose
/// payment window is the whole period (this calendar year), so today is always inside it.
async fn world(backend: Backend, members: usize) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(members, 5)
        .await
        .expect("demo load")
        .expect("empty database");
    let today = app.today();
    let mut t = scheme::template("yiyuan-dazhangzhuang", today.year()).unwrap();
    t.rules.payment_window_start = t.rules.period_start;
    t.rules.payment_window_end = t.rules.period_end;
    assert!(t.rules.in_payment_window(today));
    let town = town_admin();
    let year_id = app
        .open_year(
            &town.scheme_manager().unwrap(),
            &town,
            TOWN,
            &format!("{}年度", today.year()),
            t.key,
            t.rules,
            None,
        )
        .await
        .expect("open the year");
    World {
        app,
        url,
        year_id,
        town,
    }
}

impl World {
    async fn finish(self) {
        self.app.db.close().await;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }

    async fn verified(&self) -> Verified {
        let results = self.app.verify_ledgers().await.unwrap();
        assert_eq!(results.len(), 1, "{results:?}");
        results
            .into_iter()
            .next()
            .unwrap()
            .expect("the ledger verifies")
    }

    async fn trial_balance(&self) -> ledger::TrialBalance {
        let tb = self
            .app
            .trial_balance(
                &self.town.fund_reader().unwrap(),
                self.year_id,
                self.app.today(),
                true,
            )
            .await
            .unwrap();
        assert!(tb.is_balanced(), "{tb:?}");
        tb
    }

    async fn enrol(&self, household_id: i64) -> Result<i64, AppError> {
        enrol_one(&self.app, self.year_id, household_id).await
    }
}

async fn enrol_one(app: &App, year_id: i64, household_id: i64) -> Result<i64, AppError> {
    let town = town_admin();
    app.enrol_household(
        &town.enroller().unwrap(),
        &town,
        year_id,
        &EnrolHousehold {
            household_id,
            left_out: Vec::new(),
            method: PaymentMethod::Cash,
            payment_reference: format!("R{household_id}"),
        },
    )
    .await
}

#[derive(Debug, Clone)]
struct Household {
    id: i64,
    no: String,
    /// (member id, full ID number)
    members: Vec<(i64, String)>,
}

/// A village's households with their members' ID numbers, as the clerk's paper list has them.
async fn households_of(app: &App, village: &str) -> Vec<Household> {
    let mut conn = app.db.acquire().await.unwrap();
    let all = Scope::all();
    let list = store::roster::village_households(&mut conn, &all, village, 0, 1_000_000)
        .await
        .unwrap();
    let mut out = Vec::new();
    for h in list {
        let members = store::roster::household_members(&mut conn, &all, h.id)
            .await
            .unwrap()
            .into_iter()
            .map(|m| (m.id, app.keys.decrypt(&m.id_cipher).unwrap()))
            .collect();
        out.push(Household {
            id: h.id,
            no: h.household_no,
            members,
        });
    }
    assert!(!out.is_empty(), "the demo village {village} has households");
    out
}

fn row(
    village: &str,
    no: &str,
    method: &str,
    reference: &str,
    ids: &str,
    why: &str,
) -> [String; 6] {
    [village, no, method, reference, ids, why].map(str::to_string)
}

fn rows_of(errors: &[RowError]) -> Vec<usize> {
    let mut r: Vec<usize> = errors.iter().map(|e| e.row).collect();
    r.dedup();
    r
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(store::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(store::Backend::Postgres).await
            }
        }
    )*};
}

on_both_databases!(
    bulk_enrolment_of_a_village_from_xlsx,
    a_file_with_errors_writes_nothing_and_names_every_bad_row,
    parallel_enrolments_never_double_count,
    any_changed_byte_of_a_stored_posting_is_found,
    a_reversed_enrolment_can_be_redone,
);

async fn bulk_enrolment_of_a_village_from_xlsx(backend: Backend) {
    let w = world(backend, 2000).await;
    let app = &w.app;
    let households = households_of(app, VILLAGE).await;
    let registered: usize = households.iter().map(|h| h.members.len()).sum();
    // One member of the first household of two or more has moved away.
    let leaver = households
        .iter()
        .find(|h| h.members.len() >= 2)
        .expect("a household of two or more");
    let methods = ["现金", "银行转账", "线上缴费"];
    let rows: Vec<[String; 6]> = households
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (ids, why) = if h.id == leaver.id {
                (h.members.last().unwrap().1.clone(), "户籍迁出".to_string())
            } else {
                (String::new(), String::new())
            };
            row(
                VILLAGE,
                &h.no,
                methods[i % 3],
                &format!("SJ-{i:04}"),
                &ids,
                &why,
            )
        })
        .collect();
    let bytes = enrolment_xlsx(&rows);
    let out = app
        .enrol_from_xlsx(&w.town.enroller().unwrap(), &w.town, w.year_id, &bytes)
        .await
        .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Enrolled {
            households: households.len(),
            members: registered - 1
        }
    );

    // Enrolments as recorded, with the left-out member kept on record with the reason.
    let enrolments = app
        .village_enrolments(&w.town, w.year_id, VILLAGE)
        .await
        .unwrap();
    assert_eq!(enrolments.len(), households.len());
    assert!(enrolments.iter().all(|e| e.active));
    let personal: i64 = enrolments.iter().map(|e| e.personal_fen).sum();
    let total: i64 = enrolments.iter().map(|e| e.total_fen).sum();
    // 沂源: 50 yuan per member, paid by the member or, for the poor, by the county.
    assert_eq!(total, 5_000 * (registered as i64 - 1));
    let left = enrolments
        .iter()
        .find(|e| e.household_id == leaver.id)
        .unwrap();
    let lines = app.enrolment(&w.town, left.id).await.unwrap().lines;
    let out_line = lines.iter().find(|l| !l.included).expect("left-out line");
    assert_eq!(out_line.member_id, leaver.members.last().unwrap().0);
    assert_eq!(out_line.exclusion_reason, LeaveOut::MovedAway.code());
    assert_eq!(out_line.due_personal + out_line.due_county, 0);

    // Live figures.
    let f = app.year_figures(&w.town, w.year_id).await.unwrap();
    let v = f.pool.villages.iter().find(|v| v.code == VILLAGE).unwrap();
    assert_eq!(v.registered, registered as u64);
    assert_eq!(v.enrolled, registered as u64 - 1);
    assert_eq!(v.enrolled_households, households.len() as u64);
    assert!(v.meets_threshold && v.counted, "{v:?}");
    let recorded = &f.recorded[VILLAGE];
    assert_eq!(recorded.members, registered as i64 - 1);
    assert_eq!(recorded.households, households.len() as i64);
    assert_eq!(recorded.due_personal, personal);
    assert_eq!(recorded.due_personal + recorded.due_county, total);
    assert_eq!(recorded.due_village + recorded.due_town, 0);
    assert_eq!(f.pool.enrolled, registered as u64 - 1);
    assert_eq!(
        f.pool.rate_permille,
        scheme::pool::participation_rate_permille(f.pool.registered, f.pool.enrolled)
    );
    // The pure arithmetic over the counts agrees with the dues frozen at enrolment.
    let due = |p: Payer| f.pool.dues_by_payer.get(&p).copied().unwrap_or(Fen(0));
    assert_eq!(due(Payer::Personal), Fen(recorded.due_personal));
    assert_eq!(due(Payer::County), Fen(recorded.due_county));

    // The books: contributions by payer are the enrolled dues, the member's part is in the
    // bank, the county's is receivable.
    let tb = w.trial_balance().await;
    assert_eq!(
        tb.balance_of(Account::Contributions(Payer::Personal)),
        Fen(personal)
    );
    assert_eq!(
        tb.balance_of(Account::Contributions(Payer::County)),
        Fen(recorded.due_county)
    );
    assert_eq!(tb.cash(), Fen(personal));
    assert_eq!(
        tb.balance_of(Account::Receivable(Payer::County)),
        Fen(recorded.due_county)
    );
    assert_eq!(tb.total_of(ledger::AccountKind::Income), Fen(total));
    let ok = w.verified().await;
    assert_eq!(ok.pool_code, TOWN);
    assert_eq!(ok.entries, households.len() as i64);
    assert_eq!(
        Some((ok.postings, ok.head.clone())),
        app.chain_head(&w.town, w.year_id).await.unwrap()
    );

    // The same file again: every row is refused, nothing changes.
    let again = app
        .enrol_from_xlsx(&w.town.enroller().unwrap(), &w.town, w.year_id, &bytes)
        .await
        .unwrap();
    let BulkOutcome::Refused(errors) = again else {
        panic!("a second upload must be refused")
    };
    assert_eq!(errors.len(), households.len());
    assert!(errors[0].message.contains("已参加本年度"), "{errors:?}");
    assert_eq!(w.verified().await, ok);
    w.finish().await;
}

async fn a_file_with_errors_writes_nothing_and_names_every_bad_row(backend: Backend) {
    let w = world(backend, 2000).await;
    let app = &w.app;
    let hs = households_of(app, VILLAGE).await;
    let pair = hs.iter().find(|h| h.members.len() >= 2).unwrap();
    let other = hs.iter().find(|h| h.id != pair.id).unwrap();
    let third = hs
        .iter()
        .find(|h| h.id != pair.id && h.id != other.id)
        .unwrap();
    let all_ids = pair
        .members
        .iter()
        .map(|m| m.1.as_str())
        .collect::<Vec<_>>()
        .join("；");
    let all_reasons = vec!["已故"; pair.members.len()].join("；");
    let mut bad_id = other.members[0].1.clone();
    let last = bad_id.pop().unwrap();
    bad_id.push(if last == '0' { '1' } else { '0' });
    let rows = vec![
        // 2: good
        row(VILLAGE, &other.no, "现金", "", "", ""),
        // 3: unknown payment method (a cell problem)
        row(VILLAGE, &pair.no, "刷卡", "", "", ""),
        // 4: no such household (a database problem)
        row(VILLAGE, "9999", "现金", "", "", ""),
        // 5: the same household as row 2
        row(VILLAGE, &other.no, "现金", "", "", ""),
        // 6: an ID number of another household
        row(VILLAGE, &third.no, "现金", "", &other.members[0].1, "已故"),
        // 7: an ID number with a wrong check digit
        row(VILLAGE, &pair.no, "现金", "", &bad_id, "已故"),
        // 8: everyone left out: not a household enrolment
        row(VILLAGE, &pair.no, "现金", "", &all_ids, &all_reasons),
        // 9: outside the town administrator's area
        row(OTHER_TOWN_VILLAGE, "0001", "现金", "", "", ""),
        // 10: two members listed, one reason
        row(VILLAGE, &pair.no, "现金", "", &all_ids, "已故"),
    ];
    let out = app
        .enrol_from_xlsx(
            &w.town.enroller().unwrap(),
            &w.town,
            w.year_id,
            &enrolment_xlsx(&rows),
        )
        .await
        .unwrap();
    let BulkOutcome::Refused(errors) = out else {
        panic!("a file with errors must be refused: {out:?}")
    };
    assert_eq!(
        rows_of(&errors),
        vec![3, 4, 5, 6, 7, 8, 9, 10],
        "{errors:#?}"
    );
    let msg = |r: usize| {
        errors
            .iter()
            .filter(|e| e.row == r)
            .map(|e| e.message.as_str())
            .collect::<Vec<_>>()
            .join(" / ")
    };
    assert!(msg(3).contains("缴费方式"), "{}", msg(3));
    assert!(msg(4).contains("没有户编号为 9999"), "{}", msg(4));
    assert!(msg(5).contains("与第 2 行是同一户"), "{}", msg(5));
    assert!(msg(6).contains("不在该户登记成员中"), "{}", msg(6));
    assert!(msg(7).contains("校验位"), "{}", msg(7));
    assert!(msg(8).contains("整户参加"), "{}", msg(8));
    assert!(msg(9).contains("管辖范围"), "{}", msg(9));
    assert!(msg(10).contains("不参加原因"), "{}", msg(10));

    // Nothing was written: no enrolment, no posting, no chain.
    assert!(app
        .village_enrolments(&w.town, w.year_id, VILLAGE)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(app.chain_head(&w.town, w.year_id).await.unwrap(), None);
    assert!(app.verify_ledgers().await.unwrap().is_empty());
    let f = app.year_figures(&w.town, w.year_id).await.unwrap();
    assert_eq!(f.pool.enrolled, 0);

    // Only the good row: enrolled.
    let out = app
        .enrol_from_xlsx(
            &w.town.enroller().unwrap(),
            &w.town,
            w.year_id,
            &enrolment_xlsx(&rows[..1]),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        BulkOutcome::Enrolled {
            households: 1,
            members: other.members.len()
        }
    );
    w.verified().await;
    w.finish().await;
}

async fn parallel_enrolments_never_double_count(backend: Backend) {
    let w = world(backend, 2000).await;
    let hs = households_of(&w.app, VILLAGE).await;
    assert!(hs.len() >= 17, "enough households for the test");

    // Eight clerks press "enrol" for the same household at the same moment.
    let target = hs[0].id;
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let app = w.app.clone();
            let year = w.year_id;
            tokio::spawn(async move { enrol_one(&app, year, target).await })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(AppError::Conflict(m)) => assert!(m.contains("不能重复参加"), "{m}"),
            Err(e) => panic!("expected a conflict, got {e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one of the parallel enrolments succeeds");
    let history = w
        .app
        .household_enrolments(&w.town, w.year_id, target)
        .await
        .unwrap();
    assert_eq!(history.len(), 1);
    let journal = w
        .app
        .journal(&w.town.fund_reader().unwrap(), w.year_id, None, 1000)
        .await
        .unwrap();
    let mut entries: Vec<i64> = journal
        .iter()
        .filter(|p| p.kind == EntryKind::Enrolment.code())
        .map(|p| p.entry_no)
        .collect();
    entries.dedup();
    assert_eq!(entries, vec![history[0].entry_no]);
    let v = w.verified().await;
    assert_eq!(v.entries, 1);
    let once = w.trial_balance().await;
    assert_eq!(
        once.total_of(ledger::AccountKind::Income),
        Fen(history[0].total_fen)
    );

    // Sixteen different households at once: all enrolled, one unbroken chain.
    let tasks: Vec<_> = hs[1..17]
        .iter()
        .map(|h| {
            let app = w.app.clone();
            let (year, id) = (w.year_id, h.id);
            tokio::spawn(async move { enrol_one(&app, year, id).await })
        })
        .collect();
    for t in tasks {
        t.await
            .unwrap()
            .expect("different households do not conflict");
    }
    let v = w.verified().await;
    assert_eq!(v.entries, 17);
    let expected: i64 = {
        let enrolled = w
            .app
            .village_enrolments(&w.town, w.year_id, VILLAGE)
            .await
            .unwrap();
        assert_eq!(enrolled.len(), 17);
        enrolled.iter().map(|e| e.total_fen).sum()
    };
    let tb = w.trial_balance().await;
    assert_eq!(tb.total_of(ledger::AccountKind::Income), Fen(expected));
    w.finish().await;
}

/// How a column is changed: by one byte, keeping it valid for its type.
fn tamper_text(s: &str) -> String {
    let mut b = s.as_bytes().to_vec();
    let i = b
        .iter()
        .position(|c| c.is_ascii_alphanumeric())
        .expect("an ASCII character to change");
    b[i] = match b[i] {
        b'9' => b'0',
        b'z' => b'a',
        b'Z' => b'A',
        c => c + 1,
    };
    String::from_utf8(b).unwrap()
}

async fn any_changed_byte_of_a_stored_posting_is_found(backend: Backend) {
    let w = world(backend, 2000).await;
    let hs = households_of(&w.app, VILLAGE).await;
    for h in &hs[..5] {
        w.enrol(h.id).await.unwrap();
    }
    let intact = w.verified().await;
    assert!(intact.postings >= 10);
    let target = intact.postings / 2 + 1;

    let pool = w.app.db.pool();
    match w.app.db.backend() {
        Backend::Sqlite => {
            // The append-only trigger holds until someone with database access removes it.
            let refused = sqlx::query("UPDATE ledger_postings SET memo = 'x' WHERE seq = 1")
                .execute(pool)
                .await;
            assert!(refused.is_err(), "postings are append-only");
            sqlx::query("DROP TRIGGER ledger_postings_no_update")
                .execute(pool)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let refused = sqlx::query("UPDATE ledger_postings SET memo = 'x' WHERE seq = 1")
                .execute(pool)
                .await;
            assert!(refused.is_err(), "postings are append-only");
            sqlx::query("DROP TRIGGER ledger_postings_no_update ON ledger_postings")
                .execute(pool)
                .await
                .unwrap();
        }
    }

    const TEXT: [&str; 10] = [
        "pool_code",
        "kind",
        "effective_date",
        "recorded_at",
        "recorded_by",
        "account",
        "memo",
        "reference",
        "prev_hash",
        "hash",
    ];
    const INTEGER: [&str; 6] = [
        "seq",
        "entry_no",
        "line_no",
        "year_id",
        "amount_fen",
        "reverses_entry",
    ];
    for column in TEXT.iter().chain(&INTEGER) {
        let select =
            format!("SELECT {column} FROM ledger_postings WHERE pool_code = $1 AND seq = $2");
        let update =
            format!("UPDATE ledger_postings SET {column} = $1 WHERE pool_code = $2 AND seq = $3");
        // Change one byte; the row's key may be what changed, so note where it now is.
        let (moved_pool, moved_seq, original) = if TEXT.contains(column) {
            let old: String = sqlx::query_scalar(&select)
                .bind(TOWN)
                .bind(target)
                .fetch_one(pool)
                .await
                .unwrap();
            let new = tamper_text(&old);
            sqlx::query(&update)
                .bind(&new)
                .bind(TOWN)
                .bind(target)
                .execute(pool)
                .await
                .unwrap();
            let at = if *column == "pool_code" {
                new
            } else {
                TOWN.to_string()
            };
            (at, target, Original::Text(old))
        } else {
            let old: i64 = sqlx::query_scalar(&select)
                .bind(TOWN)
                .bind(target)
                .fetch_one(pool)
                .await
                .unwrap();
            // One bit of one byte; for seq a high one, so the row collides with no other.
            let new = old ^ if *column == "seq" { 1 << 40 } else { 1 };
            sqlx::query(&update)
                .bind(new)
                .bind(TOWN)
                .bind(target)
                .execute(pool)
                .await
                .unwrap();
            let at = if *column == "seq" { new } else { target };
            (TOWN.to_string(), at, Original::Integer(old))
        };

        let results = w.app.verify_ledgers().await.unwrap();
        let town = results
            .iter()
            .find(|r| match r {
                Ok(v) => v.pool_code == TOWN,
                Err(b) => b.pool_code == TOWN,
            })
            .expect("the town's chain is checked");
        match town {
            Err(b) => assert_eq!(b.seq, target, "{column}: {b}"),
            Ok(v) => panic!("changing {column} of posting {target} went unnoticed: {v:?}"),
        }

        // Put it back exactly: the chain verifies again.
        let q = sqlx::query(&update);
        let q = match original {
            Original::Text(t) => q.bind(t),
            Original::Integer(i) => q.bind(i),
        };
        q.bind(&moved_pool)
            .bind(moved_seq)
            .execute(pool)
            .await
            .unwrap();
        assert_eq!(w.verified().await, intact, "{column} restored");
    }
    w.finish().await;
}

enum Original {
    Text(String),
    Integer(i64),
}

async fn a_reversed_enrolment_can_be_redone(backend: Backend) {
    let w = world(backend, 2000).await;
    let app = &w.app;
    let hs = households_of(app, VILLAGE).await;
    let h = &hs[0];
    let first = w.enrol(h.id).await.unwrap();
    let original = app.enrolment(&w.town, first).await.unwrap().row;
    let before = w.trial_balance().await;
    assert_eq!(
        before.total_of(ledger::AccountKind::Income),
        Fen(original.total_fen)
    );
    let enroller = w.town.enroller().unwrap();

    // A reason is required; reversing posts the exact negation.
    assert!(matches!(
        app.reverse_enrolment(&enroller, &w.town, first, "  ").await,
        Err(AppError::Invalid(_))
    ));
    app.reverse_enrolment(&enroller, &w.town, first, "户编号录错")
        .await
        .unwrap();
    assert!(matches!(
        app.reverse_enrolment(&enroller, &w.town, first, "再次冲正")
            .await,
        Err(AppError::Conflict(_))
    ));
    let reversed = app.enrolment(&w.town, first).await.unwrap().row;
    assert!(!reversed.active);
    assert_eq!(reversed.reversal_reason.as_deref(), Some("户编号录错"));
    let journal = app
        .journal(&w.town.fund_reader().unwrap(), w.year_id, None, 100)
        .await
        .unwrap();
    let reversal: Vec<_> = journal
        .iter()
        .filter(|p| p.kind == EntryKind::Reversal.code())
        .collect();
    assert!(!reversal.is_empty());
    assert!(reversal
        .iter()
        .all(|p| p.reverses_entry == original.entry_no));
    let after = w.trial_balance().await;
    assert!(
        after.rows.iter().all(|r| r.balance() == Fen(0)),
        "{after:?}"
    );
    assert_eq!(village_enrolled(&w).await, 0);

    // The household enrols again, under a new receipt number.
    let second = w.enrol(h.id).await.unwrap();
    let again = app.enrolment(&w.town, second).await.unwrap().row;
    assert!(again.active);
    assert_ne!(again.receipt_no, original.receipt_no);
    assert!(again.receipt_no.ends_with("-2"), "{}", again.receipt_no);
    let history = app
        .household_enrolments(&w.town, w.year_id, h.id)
        .await
        .unwrap();
    assert_eq!(history.len(), 2);
    let balances = |tb: &ledger::TrialBalance| -> Vec<(Account, Fen)> {
        tb.rows.iter().map(|r| (r.account, r.balance())).collect()
    };
    assert_eq!(balances(&w.trial_balance().await), balances(&before));
    assert_eq!(village_enrolled(&w).await, h.members.len() as u64);
    let v = w.verified().await;
    assert_eq!(v.entries, 3);
    w.finish().await;
}

/// Enrolled members of the test village in the live figures (counted or not).
async fn village_enrolled(w: &World) -> u64 {
    let f = w.app.year_figures(&w.town, w.year_id).await.unwrap();
    f.pool
        .villages
        .iter()
        .find(|v| v.code == VILLAGE)
        .unwrap()
        .enrolled
}

#[test]
fn the_template_columns_are_the_ones_this_test_writes() {
    assert_eq!(COLUMNS[0], "村（社区）代码");
    assert_eq!(COLUMNS.len(), 6);
}
