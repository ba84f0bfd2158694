//! Enrolment and ledger benchmarks at county scale (issue targets: bulk enrolment of 100,000
//! members under 10 s; trial balance over 1,000,000 postings under 1 s; on SQLite and
//! PostgreSQL).
//!
//! `cargo bench -p app --bench enrolment` runs both databases (PostgreSQL from
//! SHOUWANG_TEST_PG_URL, default 127.0.0.1:5432 with trust auth); set SHOUWANG_BENCH_ONLY=sqlite
//! or SHOUWANG_BENCH_ONLY=postgres to run one.
//!
//! Bulk enrolment: the demo county with 100,000 registered residents and a county-pooled year
//! (the 沂源 rules) is built once per database and copied for every measured run (a file copy
//! on SQLite, `CREATE DATABASE … TEMPLATE` on PostgreSQL), so each run enrols every household
//! of the county from one .xlsx into an empty year: reading the file, checking every row,
//! posting one ledger entry per household and storing the enrolments, in one transaction.
//!
//! Trial balance: 1,000,000 postings (500,000 two-line entries over the year's dates and a mix
//! of accounts) appended through `store::ledger::append`, hash chain and all. The first trial
//! balance right after the load is printed; on PostgreSQL the measured runs follow a
//! `VACUUM ANALYZE`, the state autovacuum keeps a ledger in that grew over years.

use app::enrol::BulkOutcome;
use app::{Actor, App, PiiKeys};
use chrono::{Datelike, Days, NaiveDate};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use domain::Fen;
use ledger::{Account, Entry, EntryKind};
use scheme::{Payer, PoolLevel};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use store::sqlx_reexport::{self as sqlx, Connection};
use store::Backend;

const MEMBERS: usize = 100_000;
const POSTINGS: usize = 1_000_000;
/// Entries per `append` call (and per transaction) while building the big ledger.
const ENTRIES_PER_BATCH: usize = 50_000;
const COUNTY: &str = "370323";
const TOWN: &str = "370323104";

async fn connect(url: &str, keys: &PiiKeys) -> App {
    App::new(store::Db::connect(url).await.unwrap(), keys.clone())
}

/// Opens a 沂源-rules year on `pool_code` whose payment window is the whole period.
async fn open_year(app: &App, pool_code: &str, level: PoolLevel) -> (i64, NaiveDate, NaiveDate) {
    let actor = Actor::system();
    let mut t = scheme::template("yiyuan-dazhangzhuang", app.today().year()).unwrap();
    t.rules.pool_level = level;
    t.rules.payment_window_start = t.rules.period_start;
    t.rules.payment_window_end = t.rules.period_end;
    let (start, end) = (t.rules.period_start, t.rules.period_end);
    let id = app
        .open_year(
            &actor.scheme_manager().unwrap(),
            &actor,
            pool_code,
            "基准测试年度",
            t.key,
            t.rules,
            None,
        )
        .await
        .unwrap();
    (id, start, end)
}

/// Removes a database made for the benchmark.
async fn drop_database(backend: Backend, url: &str) {
    match backend {
        Backend::Sqlite => {
            if let Some(path) = url.strip_prefix("sqlite://") {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{path}{suffix}"));
                }
            }
        }
        Backend::Postgres => {
            let name = url.rsplit('/').next().unwrap();
            let mut admin = sqlx::PgConnection::connect(&store::testing::pg_admin_url())
                .await
                .unwrap();
            // FORCE: a closed pool's sessions may take a moment to leave the server.
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut admin)
                .await
                .unwrap();
        }
    }
}

static COPIES: AtomicUsize = AtomicUsize::new(0);

/// A copy of a closed database, for one measured run.
async fn copy_database(backend: Backend, url: &str) -> String {
    let n = COPIES.fetch_add(1, Ordering::Relaxed);
    let name = format!("sw_bench_{}_{n}", std::process::id());
    match backend {
        Backend::Sqlite => {
            let from = url.strip_prefix("sqlite://").unwrap();
            let to = std::env::temp_dir().join(format!("{name}.db"));
            std::fs::copy(from, &to).unwrap();
            for suffix in ["-wal", "-shm"] {
                if std::path::Path::new(&format!("{from}{suffix}")).exists() {
                    std::fs::copy(
                        format!("{from}{suffix}"),
                        format!("{}{suffix}", to.display()),
                    )
                    .unwrap();
                }
            }
            format!("sqlite://{}", to.display())
        }
        Backend::Postgres => {
            let template = url.rsplit('/').next().unwrap();
            let admin_url = store::testing::pg_admin_url();
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
            // The template must have no sessions: the fixture's closed pool may take a moment
            // to leave the server.
            let mut attempts = 0;
            while let Err(e) = sqlx::query(&format!("CREATE DATABASE {name} TEMPLATE {template}"))
                .execute(&mut admin)
                .await
            {
                attempts += 1;
                assert!(attempts < 50, "cannot copy {template}: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let base = admin_url.rsplit_once('/').unwrap().0;
            format!("{base}/{name}")
        }
    }
}

/// The county with 100,000 residents and an open county-pooled year, closed and ready to copy;
/// with the enrolment file of every household.
struct EnrolmentFixture {
    url: String,
    year_id: i64,
    xlsx: Vec<u8>,
    households: usize,
    members: usize,
}

async fn enrolment_fixture(backend: Backend, keys: &PiiKeys) -> EnrolmentFixture {
    let url = store::testing::fresh_database(backend).await.unwrap();
    let app = connect(&url, keys).await;
    let t = Instant::now();
    app.load_demo(MEMBERS, 42).await.unwrap().unwrap();
    let loaded = t.elapsed();
    let (year_id, _, _) = open_year(&app, COUNTY, PoolLevel::County).await;
    let mut conn = app.db.acquire().await.unwrap();
    let all = store::Scope::all();
    let mut villages: Vec<String> = app::demo::demo_villages()
        .into_iter()
        .map(|(code, _, _)| code)
        .collect();
    villages.push(app::demo::VIRTUAL_VILLAGE.0.to_string());
    let methods = ["现金", "银行转账", "线上缴费"];
    let mut rows = Vec::new();
    for v in &villages {
        for h in store::roster::village_households(&mut conn, &all, v, 0, 1_000_000)
            .await
            .unwrap()
        {
            let i = rows.len();
            rows.push(
                [
                    v.as_str(),
                    h.household_no.as_str(),
                    methods[i % 3],
                    &format!("SJ{i:06}"),
                    "",
                    "",
                ]
                .map(str::to_string),
            );
        }
    }
    let members = store::roster::count_members(&mut conn, &all).await.unwrap() as usize;
    drop(conn);
    app.db.close().await;
    let xlsx = app::enrol_import::enrolment_xlsx(&rows);
    eprintln!(
        "{backend:?}: demo county of {members} members, {} households loaded in {loaded:.1?}; \
         enrolment file {:.1} MB",
        rows.len(),
        xlsx.len() as f64 / 1e6
    );
    EnrolmentFixture {
        url,
        year_id,
        xlsx,
        households: rows.len(),
        members,
    }
}

/// One measured bulk enrolment on a fresh copy of the fixture; returns the time of the call.
async fn enrol_once(backend: Backend, f: &EnrolmentFixture, keys: &PiiKeys) -> Duration {
    let url = copy_database(backend, &f.url).await;
    let app = connect(&url, keys).await;
    let actor = Actor::system();
    let w = actor.enroller().unwrap();
    let t = Instant::now();
    let out = app
        .enrol_from_xlsx(&w, &actor, f.year_id, &f.xlsx)
        .await
        .unwrap();
    let took = t.elapsed();
    assert_eq!(
        out,
        BulkOutcome::Enrolled {
            households: f.households,
            members: f.members
        }
    );
    app.db.close().await;
    drop_database(backend, &url).await;
    took
}

/// Where the time of one bulk enrolment goes: reading the file vs. checking and writing.
async fn enrolment_breakdown(backend: Backend, f: &EnrolmentFixture, keys: &PiiKeys) {
    let url = copy_database(backend, &f.url).await;
    let app = connect(&url, keys).await;
    let actor = Actor::system();
    let w = actor.enroller().unwrap();
    let t = Instant::now();
    let parsed = app::enrol_import::parse_enrolment_xlsx(&f.xlsx, keys);
    let read = t.elapsed();
    assert!(parsed.errors.is_empty());
    let t = Instant::now();
    app.enrol_bulk(&w, &actor, f.year_id, &parsed.households)
        .await
        .unwrap();
    let write = t.elapsed();
    let t = Instant::now();
    let verified = app.verify_ledgers().await.unwrap();
    let verify = t.elapsed();
    assert!(verified.iter().all(Result::is_ok));
    eprintln!(
        "{backend:?}: bulk enrolment of {} members: read .xlsx {read:.2?}, enrol_bulk {write:.2?}; \
         ledger verify afterwards {verify:.2?}",
        f.members
    );
    app.db.close().await;
    drop_database(backend, &url).await;
}

/// Entry `i` of the synthetic ledger: two lines, a rotating mix of accounts and kinds, dated
/// across the period.
fn synthetic_entry(i: usize, start: NaiveDate, end: NaiveDate) -> Entry {
    let day = (start + Days::new((i % 366) as u64)).min(end);
    let amount = Fen(1_000 + (i as i64 * 37) % 50_000);
    let e = |kind, memo: &str| Entry::new(kind, day, format!("{memo} {i}"), format!("bench:{i}"));
    match i % 5 {
        0 => e(EntryKind::Enrolment, "参保缴费")
            .debit(Account::FundBank, amount)
            .credit(Account::Contributions(Payer::Personal), amount),
        1 => e(EntryKind::Enrolment, "参保缴费")
            .debit(Account::Receivable(Payer::County), amount)
            .credit(Account::Contributions(Payer::County), amount),
        2 => e(EntryKind::Donation, "捐赠")
            .debit(Account::FundBank, amount)
            .credit(Account::Contributions(Payer::Charity), amount),
        3 => e(EntryKind::Subsidy, "互助金核定")
            .debit(Account::Subsidies, amount)
            .credit(Account::SubsidyPayable, amount),
        _ => e(EntryKind::Payout, "互助金发放")
            .debit(Account::SubsidyPayable, amount)
            .credit(Account::FundBank, amount),
    }
}

struct LedgerFixture {
    app: App,
    url: String,
    year_id: i64,
    period_end: NaiveDate,
}

async fn ledger_fixture(backend: Backend, keys: &PiiKeys) -> LedgerFixture {
    let url = store::testing::fresh_database(backend).await.unwrap();
    let app = connect(&url, keys).await;
    app.load_demo(0, 1).await.unwrap().unwrap(); // regions and logins only
    let (year_id, start, end) = open_year(&app, TOWN, PoolLevel::Town).await;
    let t = Instant::now();
    let entries = POSTINGS / 2;
    let now = app.now_text();
    for batch in 0..entries.div_ceil(ENTRIES_PER_BATCH) {
        let from = batch * ENTRIES_PER_BATCH;
        let list: Vec<Entry> = (from..(from + ENTRIES_PER_BATCH).min(entries))
            .map(|i| synthetic_entry(i, start, end))
            .collect();
        let mut tx = app.db.begin_write().await.unwrap();
        store::ledger::append(
            &mut tx,
            &store::ledger::Recording {
                key: app.keys.chain_key(),
                pool_code: TOWN,
                year_id,
                recorded_by: "bench",
                recorded_at: &now,
            },
            &list,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let built = t.elapsed();
    let t = Instant::now();
    let verified = app.verify_ledgers().await.unwrap();
    let verify = t.elapsed();
    let v = verified[0].as_ref().expect("the synthetic ledger verifies");
    assert_eq!(v.postings, POSTINGS as i64);
    eprintln!(
        "{backend:?}: ledger of {POSTINGS} postings appended in {built:.1?}; verify {verify:.2?}"
    );
    let reader = Actor::system().fund_reader().unwrap();
    for this_year_only in [false, true] {
        let t = Instant::now();
        app.trial_balance(&reader, year_id, end, this_year_only)
            .await
            .unwrap();
        eprintln!(
            "{backend:?}: first trial balance right after the load (year only: {this_year_only}): \
             {:.2?}",
            t.elapsed()
        );
    }
    if backend == Backend::Postgres {
        // A million postings accumulate over years, during which autovacuum keeps the table's
        // statistics and visibility map current; without them the planner guesses a handful of
        // rows and picks bitmap scans and on-disk sorts. Measure the settled ledger.
        sqlx::query("VACUUM ANALYZE ledger_postings")
            .execute(app.db.pool())
            .await
            .unwrap();
    }
    LedgerFixture {
        app,
        url,
        year_id,
        period_end: end,
    }
}

fn bench_backend(c: &mut Criterion, backend: Backend, label: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let keys = PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap();

    let f = rt.block_on(enrolment_fixture(backend, &keys));
    rt.block_on(enrolment_breakdown(backend, &f, &keys));
    let mut g = c.benchmark_group(format!("enrolment_{label}"));
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(20));
    g.bench_function("bulk_enrol_100k_members_xlsx", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(enrol_once(backend, &f, &keys)))
                .sum()
        })
    });
    g.finish();
    rt.block_on(drop_database(backend, &f.url));

    let l = rt.block_on(ledger_fixture(backend, &keys));
    let reader = Actor::system().fund_reader().unwrap();
    let mut g = c.benchmark_group(format!("ledger_{label}"));
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (name, this_year_only) in [
        ("trial_balance_1m_postings", false),
        ("trial_balance_1m_postings_year_only", true),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let tb = rt
                    .block_on(
                        l.app
                            .trial_balance(&reader, l.year_id, l.period_end, this_year_only),
                    )
                    .unwrap();
                assert!(tb.is_balanced());
                tb
            })
        });
    }
    g.finish();
    rt.block_on(l.app.db.close());
    rt.block_on(drop_database(backend, &l.url));
}

fn benches(c: &mut Criterion) {
    let only = std::env::var("SHOUWANG_BENCH_ONLY").unwrap_or_default();
    for (backend, label) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
        if only.is_empty() || only == label {
            bench_backend(c, backend, label);
        }
    }
}

criterion_group!(enrolment, benches);
criterion_main!(enrolment);
