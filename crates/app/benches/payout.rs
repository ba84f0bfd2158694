//! Payout benchmarks (issue aim): a monthly batch of 10,000 approved claims with cards — its
//! creation (lines frozen, claims moved, notice), its approval (20,000 ledger entries posted and
//! recorded on the lines) and the bank's file (CSV and xlsx, every card number and ID number
//! decrypted) — each under 5 s, on both databases.
//!
//! `cargo bench -p app --bench payout` runs both databases (PostgreSQL from
//! SHOUWANG_TEST_PG_URL, default 127.0.0.1:5432 with trust auth); SHOUWANG_BENCH_ONLY=sqlite|
//! postgres runs one.
//!
//! Set-up per database: the demo county (4,000 residents, two town years), a card recorded for
//! every member of the first town through `record_card`, then 10,000 approved claims of theirs
//! written by multi-row INSERTs. Each round puts the claims back (lines and batches deleted,
//! claims `approved` again — the ledger keeps its entries, it is append-only), then creates and
//! approves; the times of three rounds are printed, then criterion measures create + approve
//! and the two files.
//!
//! Measured (2-core machine shared with other builds): SQLite create 0.2–0.4 s, approve
//! 1.5–2.2 s, CSV 40–85 ms, xlsx 170–240 ms; PostgreSQL create 1.5–2.1 s, approve 2.6–3.2 s
//! (create + approve under criterion 4.3–5.7 s), CSV 70–87 ms, xlsx 170–230 ms. PostgreSQL's
//! approval was 12–22 s before `store::payout::move_batch_claims` wrote `c.status || '' = $n`:
//! with statistics from before the batch (no claim `in_batch`) the planner drove both
//! statements from `claims_queue` and probed the batch's lines once per claim (quadratic).

use app::{Actor, App, Clock, PiiKeys};
use chrono::Days;
use criterion::{criterion_group, criterion_main, Criterion};
use domain::{BatchId, RegionCode, Role};
use payout::layout::FileKind;
use std::time::{Duration, Instant};
use store::sqlx_reexport as sqlx;
use store::Backend;

const CLAIMS: usize = 10_000;
const COUNTY: &str = "370323";
const TOWN: &str = "370323104";

fn actor(username: &str, role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: username.into(),
        display_name: username.into(),
        role,
        region: RegionCode::parse(region).ok(),
        ip: "bench".into(),
    }
}

/// A 16-digit card number with a valid Luhn digit, different for every `n`.
fn card_number(n: u64) -> String {
    payout::card::with_check_digit(&format!("621462{n:09}"))
}

struct Bench {
    app: App,
    late: App,
    url: String,
    year_id: i64,
}

async fn setup(backend: Backend) -> Bench {
    let url = store::testing::fresh_database(backend).await.unwrap();
    let keys = PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap();
    let app = App::new(store::Db::connect(&url).await.unwrap(), keys);
    app.load_demo(4_000, 3).await.unwrap();
    app.load_demo_years().await.unwrap();
    let late = app
        .clone()
        .with_clock(Clock::fixed(app.now() + chrono::Duration::days(21)));
    let today = app.today();
    let mut conn = app.db.acquire().await.unwrap();
    let (year_id,): (i64,) = sqlx::query_as(
        "SELECT id FROM scheme_years WHERE pool_code = $1 AND period_start <= $2 AND period_end >= $2",
    )
    .bind(TOWN)
    .bind(today.to_string())
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let now = app.now_text();
    let (hospital_id,): (i64,) = sqlx::query_as(
        "INSERT INTO hospitals (county_code, name, level, designated, location, active, created_at, \
         updated_at) VALUES ($1, '测试县人民医院', 'secondary', 1, 'in_province', 1, $2, $2) \
         ON CONFLICT (county_code, name) DO UPDATE SET active = 1 RETURNING id",
    )
    .bind(COUNTY)
    .bind(&now)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    let members: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, household_id, village_code FROM members WHERE village_code LIKE $1 ORDER BY id",
    )
    .bind(format!("{TOWN}%"))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let clerk = actor("clerk", Role::CountyAdmin, COUNTY);
    let keeper = clerk.card_keeper().unwrap();
    let started = Instant::now();
    for (i, (m, _, _)) in members.iter().enumerate() {
        let input = app::payout::CardInput {
            bank_name: "农商银行".into(),
            card_number: card_number(i as u64),
            ..Default::default()
        };
        app.record_card(&keeper, &clerk, *m, &input).await.unwrap();
    }
    println!(
        "{} cards recorded in {:?}",
        members.len(),
        started.elapsed()
    );
    let admission = (today - Days::new(12)).to_string();
    let discharge = (today - Days::new(5)).to_string();
    for start in (0..CLAIMS).step_by(400) {
        let rows: Vec<String> = (start..(start + 400).min(CLAIMS))
            .map(|i| {
                let (m, h, v) = &members[i % members.len()];
                format!(
                    "('PB{i:07}', {year_id}, '{TOWN}', {m}, {h}, '{v}', 'staff', 'approved', \
                     {hospital_id}, '{admission}', '{discharge}', 'resident', 1, 1000000, 500000, \
                     0, 0, 500000, 'PB{i}', '{now}', '{discharge}', 'clerk', '{discharge}', \
                     '测试病组', {}, 'reviewer', '{now}')",
                    50_000 + (i as i64 * 37) % 300_000
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO claims (application_no, year_id, pool_code, member_id, household_id, \
             village_code, channel, status, hospital_id, admission_date, discharge_date, \
             insurance, consecutive_years, total_fen, basic_fen, serious_fen, assistance_fen, \
             oop_fen, settlement_no, received_at, received_on, received_by, due_on, drg_name, \
             amount_fen, decided_by, decided_at) VALUES {}",
            rows.join(", ")
        );
        let mut tx = app.db.begin_write().await.unwrap();
        sqlx::query(&sql).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut conn = app.db.acquire().await.unwrap();
    sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    drop(conn);
    Bench {
        app,
        late,
        url,
        year_id,
    }
}

/// Puts the claims back as they were before any batch (the ledger keeps its entries).
async fn reset(app: &App) {
    let mut tx = app.db.begin_write().await.unwrap();
    for sql in [
        "DELETE FROM payout_lines",
        "DELETE FROM payout_batches",
        "UPDATE claims SET status = 'approved' WHERE status = 'in_batch'",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

fn kind_name(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Csv => "csv",
        FileKind::Xlsx => "xlsx",
    }
}

/// Creates and approves a batch of all the claims; the two times.
async fn create_and_approve(b: &Bench) -> (BatchId, Duration, Duration) {
    let preparer = actor("preparer", Role::CountyAdmin, COUNTY);
    let approver = actor("approver", Role::CountyAdmin, COUNTY);
    let t = Instant::now();
    let id = b
        .app
        .create_batch(
            &preparer.payout_officer().unwrap(),
            &preparer,
            b.year_id,
            b.app.today(),
        )
        .await
        .unwrap();
    let created = t.elapsed();
    let view = b.app.batch(&preparer, id).await.unwrap();
    assert_eq!(view.count, CLAIMS);
    let t = Instant::now();
    b.late
        .approve_batch(
            &approver.payout_officer().unwrap(),
            &approver,
            id,
            view.batch.revision,
        )
        .await
        .unwrap();
    (id, created, t.elapsed())
}

async fn file(b: &Bench, id: BatchId, kind: FileKind) -> usize {
    let officer = actor("preparer", Role::CountyAdmin, COUNTY);
    b.late
        .bank_file(
            &officer.payout_officer().unwrap(),
            &officer,
            id,
            "generic",
            kind,
        )
        .await
        .unwrap()
        .bytes
        .len()
}

fn bench_backend(c: &mut Criterion, backend: Backend, name: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = Instant::now();
    let b = rt.block_on(setup(backend));
    println!("{name}: set-up in {:?}", t.elapsed());
    let mut id = None;
    for round in 1..=3 {
        rt.block_on(reset(&b.app));
        let (batch, created, approved) = rt.block_on(create_and_approve(&b));
        println!(
            "{name}: round {round}: batch of {CLAIMS}: created in {created:?}, approved (with \
             {} entries) in {approved:?}",
            2 * CLAIMS
        );
        id = Some(batch);
    }
    let id = id.unwrap();
    for kind in [FileKind::Csv, FileKind::Xlsx] {
        let t = Instant::now();
        let bytes = rt.block_on(file(&b, id, kind));
        println!(
            "{name}: bank file {} of {CLAIMS} lines ({bytes} bytes) in {:?}",
            kind_name(kind),
            t.elapsed()
        );
    }
    let mut group = c.benchmark_group(name);
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(5));
    group.bench_function(format!("create + approve {CLAIMS}"), |bn| {
        bn.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(reset(&b.app));
                let (_, created, approved) = rt.block_on(create_and_approve(&b));
                total += created + approved;
            }
            total
        })
    });
    rt.block_on(reset(&b.app));
    let (id, _, _) = rt.block_on(create_and_approve(&b));
    for kind in [FileKind::Csv, FileKind::Xlsx] {
        group.bench_function(format!("bank file {} {CLAIMS}", kind_name(kind)), |bn| {
            bn.iter(|| rt.block_on(file(&b, id, kind)))
        });
    }
    group.finish();
    rt.block_on(b.app.db.close());
    if let Some(path) = b.url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

fn payout_bench(c: &mut Criterion) {
    let only = std::env::var("SHOUWANG_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "sqlite" {
        bench_backend(c, Backend::Sqlite, "sqlite");
    }
    if only.is_empty() || only == "postgres" {
        bench_backend(c, Backend::Postgres, "postgres");
    }
}

criterion_group!(benches, payout_bench);
criterion_main!(benches);
