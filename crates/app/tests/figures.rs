//! The programme's figures and the 风险预警, on SQLite and on PostgreSQL: known claims (paid,
//! recovered, approved, received; payout lines paid in two months) give known figures for the
//! year, a month, the pool and each village, and the same numbers in the workbook; the
//! re-forecast's warning crosses when a large subsidy is committed, shows for the county and
//! town admins of the pool (not another town's), sends one SMS per crossing, and re-arms when
//! the probability falls back.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::figures::AreaFigures;
use app::{Actor, App, PiiKeys};
use domain::{ClaimStatus, Fen, RegionCode, Role};
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

struct World {
    app: App,
    url: String,
    year_id: i64,
    months: Vec<String>,
    /// (member, household, village) of three enrolled members: two in one village, one in
    /// another.
    members: Vec<(i64, i64, String)>,
    hospital: i64,
    card_seq: i64,
    /// The year new claims are filed in (`year_id` unless a test says otherwise).
    claim_year: i64,
}

async fn world(backend: Backend) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(400, 5)
        .await
        .unwrap()
        .expect("empty database");
    app.load_demo_years().await.unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let (year_id, start, end): (i64, String, String) = sqlx::query_as(
        "SELECT id, period_start, period_end FROM scheme_years \
         WHERE pool_code = $1 AND status = 'open' AND previous_year_id IS NOT NULL",
    )
    .bind(TOWN)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let villages: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT village_code FROM enrolment_members WHERE year_id = $1 AND included = 1 \
         ORDER BY village_code",
    )
    .bind(year_id)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(villages.len() >= 2);
    let mut members = Vec::new();
    for (v, take) in [(&villages[0].0, 2i64), (&villages[1].0, 1)] {
        let rows: Vec<(i64, i64, String)> = sqlx::query_as(
            "SELECT m.id, m.household_id, m.village_code FROM enrolment_members e \
             JOIN members m ON m.id = e.member_id \
             WHERE e.year_id = $1 AND e.included = 1 AND e.village_code = $2 ORDER BY m.id LIMIT $3",
        )
        .bind(year_id)
        .bind(v)
        .bind(take)
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        members.extend(rows);
    }
    let (hospital,): (i64,) = sqlx::query_as("SELECT id FROM hospitals ORDER BY id LIMIT 1")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO payout_batches (id, batch_no, pool_code, year_id, cutoff_on, status, \
         notice_start, notice_end, chain_seq, chain_head, show_drg, prepared_by, prepared_at) \
         VALUES (9001, 'T-1', $1, $2, $3, 'closed', $3, $3, 0, '', 0, 'test', $4)",
    )
    .bind(TOWN)
    .bind(year_id)
    .bind(&start)
    .bind(format!("{start}T00:00:00Z"))
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    World {
        app,
        url,
        year_id,
        months: app::figures::months_of(&start, &end),
        members,
        hospital,
        card_seq: 0,
        claim_year: year_id,
    }
}

struct Stay<'a> {
    member: usize,
    status: ClaimStatus,
    amount_yuan: i64,
    oop_yuan: i64,
    drg: (&'a str, &'a str),
    /// The month the payout line was paid, for paid and recovered claims.
    paid_in: Option<usize>,
    received_in: usize,
}

impl World {
    async fn claim(&mut self, s: Stay<'_>) -> i64 {
        let (member, household, village) = self.members[s.member].clone();
        let received = format!("{}-10", self.months[s.received_in]);
        let mut conn = self.app.db.acquire().await.unwrap();
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO claims (application_no, year_id, pool_code, member_id, household_id, \
             village_code, channel, status, hospital_id, admission_date, discharge_date, insurance, \
             consecutive_years, total_fen, basic_fen, serious_fen, assistance_fen, oop_fen, \
             settlement_no, received_at, received_on, received_by, due_on, drg_code, drg_name, \
             amount_fen) VALUES ((SELECT 'T' || CAST(COUNT(*) + 1 AS TEXT) FROM claims), $1, $2, $3, \
             $4, $5, 'clerk', $6, $7, $8, $8, 'resident', 1, $9, 0, 0, 0, $9, 'S', $10, $8, 'test', \
             $8, $11, $12, $13) RETURNING id",
        )
        .bind(self.claim_year)
        .bind(TOWN)
        .bind(member)
        .bind(household)
        .bind(&village)
        .bind(s.status.code())
        .bind(self.hospital)
        .bind(&received)
        .bind(s.oop_yuan * 100)
        .bind(format!("{received}T02:00:00Z"))
        .bind(s.drg.0)
        .bind(s.drg.1)
        .bind(s.amount_yuan * 100)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        if let Some(m) = s.paid_in {
            self.card_seq += 1;
            let (card,): (i64,) = sqlx::query_as(
                "INSERT INTO bank_cards (member_id, village_code, holder_member_id, holder_reason, \
                 bank_name, card_cipher, card_masked, status, created_by, created_at) \
                 VALUES ($1, $2, $1, 'self', '银行', $3, '****', 'replaced', 'test', '2026-01-01T00:00:00Z') \
                 RETURNING id",
            )
            .bind(member)
            .bind(&village)
            .bind(vec![0u8; 4])
            .fetch_one(&mut *conn)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO payout_lines (batch_id, seq, claim_id, member_id, village_code, \
                 name_masked, drg_name, amount_fen, card_id, state, live, resulted_by, resulted_at) \
                 VALUES (9001, $1, $2, $3, $4, '张*', $5, $6, $7, 'paid', 1, 'test', $8)",
            )
            .bind(self.card_seq)
            .bind(id)
            .bind(member)
            .bind(&village)
            .bind(s.drg.1)
            .bind(s.amount_yuan * 100)
            .bind(card)
            .bind(format!("{}-15T03:00:00Z", self.months[m]))
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        id
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

fn status(a: &AreaFigures, s: ClaimStatus) -> i64 {
    a.by_status.iter().find(|(x, _)| *x == s).unwrap().1
}

async fn known_claims_give_known_figures(backend: Backend) {
    let mut w = world(backend).await;
    let es = ("ES21", "呼吸系统感染/炎症，伴并发症");
    let fm = ("FM19", "经皮冠状动脉支架植入");
    use ClaimStatus::*;
    for s in [
        Stay {
            member: 0,
            status: Paid,
            amount_yuan: 1_000,
            oop_yuan: 4_000,
            drg: es,
            paid_in: Some(0),
            received_in: 0,
        },
        Stay {
            member: 0,
            status: Paid,
            amount_yuan: 500,
            oop_yuan: 3_000,
            drg: es,
            paid_in: Some(1),
            received_in: 0,
        },
        Stay {
            member: 1,
            status: Paid,
            amount_yuan: 2_000,
            oop_yuan: 5_000,
            drg: fm,
            paid_in: Some(1),
            received_in: 1,
        },
        Stay {
            member: 2,
            status: Recovered,
            amount_yuan: 800,
            oop_yuan: 2_600,
            drg: es,
            paid_in: Some(0),
            received_in: 0,
        },
        Stay {
            member: 2,
            status: Approved,
            amount_yuan: 300,
            oop_yuan: 2_700,
            drg: es,
            paid_in: None,
            received_in: 1,
        },
        Stay {
            member: 1,
            status: Received,
            amount_yuan: 0,
            oop_yuan: 2_900,
            drg: ("", ""),
            paid_in: None,
            received_in: 1,
        },
    ] {
        w.claim(s).await;
    }
    let county = actor("county", Role::CountyAdmin, "370323");
    let r = county.fund_reader().unwrap();
    let f = w.app.figures(&r, w.year_id, None).await.unwrap();
    let (va, vb) = (&w.members[0].2, &w.members[2].2);

    // The year, the pool.
    let p = &f.pool;
    assert_eq!(p.received, 6);
    assert_eq!(
        (
            status(p, Paid),
            status(p, Recovered),
            status(p, Approved),
            status(p, Received)
        ),
        (3, 1, 1, 1)
    );
    assert_eq!(p.paid_stays, 3);
    assert_eq!(p.members_paid, 2);
    assert_eq!(p.paid, Fen::from_yuan(3_500));
    assert_eq!(p.oop, Fen::from_yuan(12_000));
    assert_eq!(p.average, Some(Fen(116_667)));
    assert_eq!(p.relief_permille, Some(292)); // 3,500 / 12,000
    assert_eq!((p.recovered_stays, p.recovered), (1, Fen::from_yuan(800)));
    let mut conn = w.app.db.acquire().await.unwrap();
    let (enrolled,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM enrolment_members WHERE year_id = $1 AND included = 1 AND active = 1",
    )
    .bind(w.year_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert_eq!(p.enrolled, enrolled);
    assert_eq!(p.benefit_rate_permille, app::figures::permille(2, enrolled));

    // The villages.
    let a = f.villages.iter().find(|v| &v.code == va).unwrap();
    assert_eq!(
        (a.paid_stays, a.members_paid, a.paid),
        (3, 2, Fen::from_yuan(3_500))
    );
    assert_eq!(a.received, 4);
    let b = f.villages.iter().find(|v| &v.code == vb).unwrap();
    assert_eq!(
        (b.paid_stays, b.members_paid, b.paid, b.average),
        (0, 0, Fen::ZERO, None)
    );
    assert_eq!(
        (b.recovered_stays, b.received, b.relief_permille),
        (1, 2, None)
    );

    // Top DRGs by money: FM19 2,000 before ES21 1,500 (the recovered one is not paid).
    let top: Vec<_> = f
        .top_drgs
        .iter()
        .map(|d| (d.rank, d.drg_code.as_str(), d.stays, d.paid_fen))
        .collect();
    assert_eq!(top, vec![(1, "FM19", 1, 200_000), (2, "ES21", 2, 150_000)]);
    assert!(f.village_top_drgs.iter().all(|d| &d.village_code == va));

    // The second month: the lines paid then, the claims received then.
    let m = w
        .app
        .figures(&r, w.year_id, Some(&w.months[1]))
        .await
        .unwrap();
    assert_eq!((m.pool.paid_stays, m.pool.members_paid), (2, 2));
    assert_eq!(m.pool.paid, Fen::from_yuan(2_500));
    assert_eq!(m.pool.relief_permille, Some(313)); // 2,500 / 8,000 = 312.5‰
    assert_eq!(m.pool.recovered_stays, 0);
    assert_eq!(m.pool.received, 3);
    assert!(w.app.figures(&r, w.year_id, Some("1999-01")).await.is_err());

    // The workbook carries the same numbers.
    let bytes = app::reports::workbook(&f.sheets()).unwrap();
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(wb.sheet_names(), vec!["申请状态", "补助概况", "前十病组"]);
    let paid = wb.worksheet_range("补助概况").unwrap();
    assert_eq!(paid.get_value((1, 2)).unwrap().to_string(), "3");
    assert_eq!(paid.get_value((1, 6)).unwrap().to_string(), "3500");
    assert_eq!(paid.get_value((1, 9)).unwrap().to_string(), "0.292");

    // A town admin of another town sees the county's totals only where they read a pool of
    // theirs: this town pool's year is not theirs.
    let other = actor("town2", Role::TownAdmin, "370323105");
    assert!(matches!(
        w.app
            .figures(&other.fund_reader().unwrap(), w.year_id, None)
            .await,
        Err(app::AppError::NotFound)
    ));
    w.finish().await;
}

async fn sms_count(app: &App) -> i64 {
    let mut conn = app.db.acquire().await.unwrap();
    let (n,): (i64,) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM sms_outbox WHERE template = 'fund_warning'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    n
}

async fn the_warning_crosses_once(backend: Backend) {
    let mut w = world(backend).await;
    let system = Actor::system();
    let county = actor("county", Role::CountyAdmin, "370323");
    let town = actor("town", Role::TownAdmin, TOWN);
    let town2 = actor("town2", Role::TownAdmin, "370323105");
    // Without a published design there is nothing to forecast from.
    assert!(w.app.refresh_forecast(w.year_id).await.unwrap().is_none());
    let design = w
        .app
        .run_design(
            &system.scheme_manager().unwrap(),
            &system,
            w.year_id,
            Default::default(),
        )
        .await
        .unwrap();
    w.app
        .submit_design(
            &system.scheme_manager().unwrap(),
            &system,
            w.year_id,
            design,
        )
        .await
        .unwrap();
    w.app
        .decide_design(
            &county.design_approver().unwrap(),
            &county,
            w.year_id,
            design,
            true,
            "",
        )
        .await
        .unwrap();
    w.app.set_own_phone(&county, "13800138000").await.unwrap();
    w.app.set_own_phone(&town, "13900139000").await.unwrap();
    w.app.set_own_phone(&town2, "13700137000").await.unwrap();

    // Nothing paid yet: the design's own risk, below the 10% warning level.
    let f = w.app.refresh_forecast(w.year_id).await.unwrap().unwrap();
    assert!(f.p_shortfall_ppm < 100_000, "{f:?}");
    assert!(!f.warning);
    assert!(w.app.fund_warnings(&county).await.unwrap().is_empty());
    assert_eq!(sms_count(&w.app).await, 0);

    // A subsidy as large as the whole budget is committed: the shortfall is certain.
    let big = w
        .claim(Stay {
            member: 0,
            status: ClaimStatus::Approved,
            amount_yuan: f.budget_fen / 100 + 1,
            oop_yuan: f.budget_fen / 100 + 10_000,
            drg: ("FM19", "经皮冠状动脉支架植入"),
            paid_in: None,
            received_in: 0,
        })
        .await;
    let f = w.app.refresh_forecast(w.year_id).await.unwrap().unwrap();
    assert!(f.p_shortfall_ppm > 990_000, "{f:?}");
    assert!(f.warning);
    // The county's and the town's admins see the banner; the other town's does not, nor a
    // clerk.
    let seen = w.app.fund_warnings(&county).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].year_id, w.year_id);
    assert_eq!(w.app.fund_warnings(&town).await.unwrap().len(), 1);
    assert!(w.app.fund_warnings(&town2).await.unwrap().is_empty());
    let clerk = actor("clerk", Role::VillageClerk, &w.members[0].2);
    assert!(w.app.fund_warnings(&clerk).await.unwrap().is_empty());
    // One SMS each to the county's and the town's admin, none to the other town's.
    assert_eq!(sms_count(&w.app).await, 2);
    let mut conn = w.app.db.acquire().await.unwrap();
    let (text,): (String,) = sqlx::query_as(
        "SELECT text FROM sms_outbox WHERE template = 'fund_warning' ORDER BY id LIMIT 1",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert!(
        text.contains("风险预警") && text.contains("100.0%"),
        "{text}"
    );

    // Still above: no second message.
    w.app.refresh_forecast(w.year_id).await.unwrap();
    assert_eq!(sms_count(&w.app).await, 2);

    // The claim is refused after all: the warning lifts, and a new crossing warns again.
    let mut conn = w.app.db.acquire().await.unwrap();
    sqlx::query("UPDATE claims SET status = 'refused' WHERE id = $1")
        .bind(big)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    let f = w.app.refresh_forecast(w.year_id).await.unwrap().unwrap();
    assert!(!f.warning);
    assert!(w.app.fund_warnings(&county).await.unwrap().is_empty());
    let mut conn = w.app.db.acquire().await.unwrap();
    sqlx::query("UPDATE claims SET status = 'approved' WHERE id = $1")
        .bind(big)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    assert!(
        w.app
            .refresh_forecast(w.year_id)
            .await
            .unwrap()
            .unwrap()
            .warning
    );
    assert_eq!(sms_count(&w.app).await, 4);

    // The dashboard shows the forecast and the design's path.
    let d = w
        .app
        .dashboard(&county.fund_reader().unwrap(), w.year_id)
        .await
        .unwrap();
    assert!(d.design.is_some());
    assert_eq!(d.path.len(), w.months.len());
    assert!(d.forecast.unwrap().row.warning);
    // The job finds nothing stale right after.
    assert_eq!(w.app.refresh_forecasts().await.unwrap(), 0);
    w.finish().await;
}

/// The one-click design weighs the pool's own past year (Bühlmann–Straub) and says how much.
async fn the_design_weighs_past_experience(backend: Backend) {
    let mut w = world(backend).await;
    let system = Actor::system();
    let mut conn = w.app.db.acquire().await.unwrap();
    let (prev, prev_end): (i64, String) = sqlx::query_as(
        "SELECT p.id, p.period_end FROM scheme_years y JOIN scheme_years p ON p.id = y.previous_year_id \
         WHERE y.id = $1",
    )
    .bind(w.year_id)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let rows: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT m.id, m.household_id, m.village_code FROM enrolment_members e \
         JOIN members m ON m.id = e.member_id \
         WHERE e.year_id = $1 AND e.included = 1 AND e.active = 1 ORDER BY m.id LIMIT 40",
    )
    .bind(prev)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    assert!(!rows.is_empty(), "members enrolled in the previous year");
    // Before the previous year has ended: no experience yet.
    let early = w
        .app
        .run_design(
            &system.scheme_manager().unwrap(),
            &system,
            w.year_id,
            Default::default(),
        )
        .await
        .unwrap();
    let early = w.app.design(&system, w.year_id, early).await.unwrap();
    let prev_over =
        chrono::NaiveDate::parse_from_str(&prev_end, "%Y-%m-%d").unwrap() < w.app.today();
    if !prev_over {
        assert_eq!(early.summary.experience_years, 0);
        assert_eq!(early.summary.credibility, 0.0);
    }
    // Many subsidised claims in the previous year.
    let first = w.members.len();
    w.members.extend(rows);
    w.claim_year = prev;
    for i in 0..120 {
        w.claim(Stay {
            member: first + i % (w.members.len() - first),
            status: ClaimStatus::Paid,
            amount_yuan: 1_000,
            oop_yuan: 4_000,
            drg: ("ES21", "呼吸系统感染/炎症，伴并发症"),
            paid_in: None,
            received_in: 0,
        })
        .await;
    }
    // Once that year is over, the design blends it in.
    let later =
        chrono::NaiveDate::parse_from_str(&prev_end, "%Y-%m-%d").unwrap() + chrono::Days::new(1);
    let later = later
        .and_hms_opt(4, 0, 0)
        .unwrap()
        .and_utc()
        .max(w.app.now());
    let app = w.app.clone().with_clock(app::Clock::fixed(later));
    let id = app
        .run_design(
            &system.scheme_manager().unwrap(),
            &system,
            w.year_id,
            Default::default(),
        )
        .await
        .unwrap();
    let run = app.design(&system, w.year_id, id).await.unwrap();
    assert_eq!(run.summary.experience_years, 1);
    assert!(
        run.summary.credibility > 0.0 && run.summary.credibility < 1.0,
        "{}",
        run.summary.credibility
    );
    // Far more claims than the model expects of so few members: the expected payout rises.
    assert!(run.summary.expected_payout_fen > early.summary.expected_payout_fen);
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

on_both!(
    known_claims_give_known_figures,
    the_warning_crosses_once,
    the_design_weighs_past_experience
);
