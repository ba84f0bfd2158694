//! Enrolment and ledger benchmarks at county scale (issue targets: bulk enrolment of 100,000
//! members under 10 s; trial balance over 1,000,000 postings under 1 s; on SQLite and
//! PostgreSQL).
//!
//! `cargo bench -p app --bench enrolment` runs both databases (PostgreSQL from
//! SHOUWANG_TEST_PG_URL, default 127.0.0.1:5432 with trust auth); set SHOUWANG_BENCH_ONLY=sqlite
//! or SHOUWANG_BENCH_ONLY=postgres to run one, SHOUWANG_BENCH_PAGES_ONLY=1 for the pages alone.
//!
//! Pages (issue 16, item 14; aim p95 < 20 ms at 1,000,000 members): the year overview's figures
//! and the year-village page's reads at 100,000 and 1,000,000 generated members (villages of
//! 2,500, a county pool, nine households in ten enrolled), each before (the GROUP BY over the
//! pool / every enrolment of the village, kept as the reference queries) and after (the kept
//! per-village rows / one page); the p95 is printed.
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

// ---------- pages whose cost grew with the pool (issue 16, item 14) ----------

/// Registered members per generated village (a large Shandong village).
const MEMBERS_PER_VILLAGE: usize = 2_500;
/// Members per generated household.
const HOUSEHOLD_SIZE: usize = 3;

/// A county-pooled year over `members` generated residents in villages of 2,500 (spread over the
/// two demo towns), nine households in ten enrolled with their member lines (statuses and dues
/// set, a few enrolments reversed), written with set-based SQL and the summaries rebuilt from
/// them. Roster and enrolment rows are the shapes the pages read; identifiers are placeholders.
async fn pages_fixture(backend: Backend, keys: &PiiKeys, members: usize) -> (App, String, i64) {
    let url = store::testing::fresh_database(backend).await.unwrap();
    let app = connect(&url, keys).await;
    let t = Instant::now();
    app.load_demo(1_000, 42).await.unwrap().unwrap();
    let (year_id, _, _) = open_year(&app, COUNTY, PoolLevel::County).await;
    let now = app.now_text();
    let villages = members.div_ceil(MEMBERS_PER_VILLAGE);
    let per_village = MEMBERS_PER_VILLAGE / HOUSEHOLD_SIZE;
    let blob = match backend {
        Backend::Sqlite => "BLOB",
        Backend::Postgres => "BYTEA",
    };
    let mut tx = app.db.begin_write().await.unwrap();
    for v in 0..villages {
        let town = ["370323104", "370323105"][v % 2];
        let code = format!("{town}{:03}", 300 + v / 2);
        sqlx::query(
            "INSERT INTO regions (code, name, level, parent_code, is_virtual, created_at) \
             VALUES ($1, $2, 'village', $3, 0, $4)",
        )
        .bind(&code)
        .bind(format!("测试{v}村"))
        .bind(town)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .unwrap();
        sqlx::query(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2) \
             INSERT INTO households (village_code, household_no, address, created_at) \
             SELECT $1, 'B' || CAST(10000 + i AS TEXT), NULL, $3 FROM n",
        )
        .bind(&code)
        .bind(per_village as i64)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    let sql = format!(
        "INSERT INTO members (household_id, village_code, name, id_cipher, id_hash, id_masked, \
           birth_date, sex, phone_cipher, phone_hash, phone_masked, relation, insurance, \
           created_at, updated_at) \
         SELECT h.id, h.village_code, '测试' || CAST(k.k AS TEXT), CAST('x' AS {blob}), \
           CAST('h' || CAST(h.id AS TEXT) || '-' || CAST(k.k AS TEXT) AS {blob}), \
           '3703**********0000', '1970-01-01', k.k % 2, NULL, NULL, NULL, \
           CASE WHEN k.k = 0 THEN 'head' ELSE 'child' END, 'resident', $1, $1 \
         FROM households h CROSS JOIN \
           (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) k \
         WHERE h.household_no LIKE 'B%'"
    );
    sqlx::query(&sql)
        .bind(&now)
        .execute(&mut *tx)
        .await
        .unwrap();
    // Nine households in ten enrolled; one in 250 of those reversed and not redone.
    sqlx::query(
        "INSERT INTO enrolments (year_id, rules_version, household_id, village_code, \
           payment_method, payment_reference, receipt_no, members, personal_fen, total_fen, \
           entry_no, enrolled_by, enrolled_at, active) \
         SELECT $1, 1, h.id, h.village_code, 'cash', '', 'BR' || CAST(h.id AS TEXT), 3, 30000, \
           36000, 0, 'bench', $2, CASE WHEN h.id % 250 = 1 THEN 0 ELSE 1 END \
         FROM households h WHERE h.household_no LIKE 'B%' AND h.id % 10 <> 0",
    )
    .bind(year_id)
    .bind(&now)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "UPDATE enrolments SET reversed_by = 'bench', reversed_at = enrolled_at, \
         reversal_reason = '录入错误' WHERE year_id = $1 AND active = 0",
    )
    .bind(year_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO enrolment_members (enrolment_id, year_id, member_id, village_code, \
           included, exclusion_reason, consecutive_years, age, sex, insurance, statuses, \
           due_personal, due_village, due_town, due_county, due_charity, active) \
         SELECT e.id, e.year_id, m.id, m.village_code, CASE WHEN m.id % 41 = 0 THEN 0 ELSE 1 END, \
           CASE WHEN m.id % 41 = 0 THEN 'moved_away' ELSE '' END, 1 + m.id % 3, 20 + m.id % 60, \
           m.sex, m.insurance, \
           CASE WHEN m.id % 50 = 0 THEN 'poverty_monitored' \
                WHEN m.id % 70 = 0 THEN 'minimum_living,poverty_alleviated' ELSE '' END, \
           10000, 1000, 1000, 0, 0, e.active \
         FROM enrolments e JOIN members m ON m.household_id = e.household_id \
         WHERE e.year_id = $1 AND e.receipt_no LIKE 'BR%'",
    )
    .bind(year_id)
    .execute(&mut *tx)
    .await
    .unwrap();
    store::enrolment::rebuild_figures(&mut tx).await.unwrap();
    tx.commit().await.unwrap();
    if backend == Backend::Postgres {
        let mut conn = app.db.acquire().await.unwrap();
        sqlx::query("VACUUM ANALYZE")
            .execute(&mut *conn)
            .await
            .unwrap();
    }
    let mut conn = app.db.acquire().await.unwrap();
    let n = store::roster::count_members(&mut conn, &store::Scope::all())
        .await
        .unwrap();
    eprintln!(
        "{backend:?}: {n} members in {villages} generated villages (+ the demo's), year {year_id}, \
         written in {:.1?}",
        t.elapsed()
    );
    (app, url, year_id)
}

fn p95(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 95).div_ceil(100) - 1]
}

/// p95 of `n` runs of `f` (after two warm-up runs).
async fn p95_of<F, Fut>(n: usize, mut f: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for i in 0..2 {
        f(i).await;
    }
    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await;
        lat.push(t.elapsed());
    }
    p95(lat)
}

/// The year overview's figures and the year-village page's reads, before (the GROUP BY over
/// every enrolment line and member of the pool, the village's every enrolment) and after (the
/// kept per-village rows, one page of enrolments); p95 printed.
async fn pages_bench(backend: Backend, keys: &PiiKeys, members: usize) {
    let (app, url, year_id) = pages_fixture(backend, keys, members).await;
    let actor = Actor::system();
    let all = store::Scope::all();
    let county = store::Scope::region(&domain::RegionCode::parse(COUNTY).unwrap());
    let diff = app.verify_village_figures().await.unwrap();
    assert!(diff.is_empty(), "{diff:?}");
    let mut conn = app.db.acquire().await.unwrap();
    let villages: Vec<String> = store::regions::villages(&mut conn, &all)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.code)
        .filter(|c| c[9..].starts_with('3') || c[9..].starts_with('4'))
        .collect();
    drop(conn);
    let pages = (MEMBERS_PER_VILLAGE / HOUSEHOLD_SIZE).div_ceil(50) as i64;
    let (few, many) = if members >= 1_000_000 {
        (20, 300)
    } else {
        (60, 500)
    };

    let before_overview = p95_of(few, |_| async {
        let mut conn = app.db.acquire().await.unwrap();
        store::regions::villages(&mut conn, &county).await.unwrap();
        store::roster::recount_registered(&mut conn, &county)
            .await
            .unwrap();
        store::enrolment::recount_village_figures(&mut conn, year_id, &county)
            .await
            .unwrap();
        store::enrolment::recount_status_counts(&mut conn, year_id)
            .await
            .unwrap();
    })
    .await;
    let after_overview = p95_of(many, |_| async {
        let f = app.year_figures(&actor, year_id).await.unwrap();
        assert!(f.pool.villages.len() > 1);
    })
    .await;
    // Where the overview's time goes (p95 of each read alone).
    let mut parts = Vec::new();
    for part in 0..4 {
        let d = p95_of(many / 3, |_| async {
            let mut conn = app.db.acquire().await.unwrap();
            match part {
                0 => drop(store::regions::villages(&mut conn, &county).await.unwrap()),
                1 => drop(
                    store::roster::counts_by_village(&mut conn, &county)
                        .await
                        .unwrap(),
                ),
                2 => drop(
                    store::enrolment::village_figures(&mut conn, year_id, &county)
                        .await
                        .unwrap(),
                ),
                _ => drop(
                    store::enrolment::status_counts(&mut conn, year_id)
                        .await
                        .unwrap(),
                ),
            }
        })
        .await;
        parts.push(format!("{d:.2?}"));
    }
    eprintln!(
        "{backend:?} at {members} members: overview reads alone p95 (villages, registered, \
         enrolled, statuses): {}",
        parts.join(", ")
    );
    let village_of = |i: usize| villages[(i * 7919) % villages.len()].clone();
    let page_of = |i: usize| 1 + (i as i64 * 31) % pages;
    let before_village = p95_of(few, |i| {
        let (code, page) = (village_of(i), page_of(i));
        let (app, all) = (&app, &all);
        async move {
            let mut conn = app.db.acquire().await.unwrap();
            let scope = store::Scope::region(&domain::RegionCode::parse(&code).unwrap());
            store::roster::recount_registered(&mut conn, &scope)
                .await
                .unwrap();
            store::roster::village_households(&mut conn, all, &code, (page - 1) * 50, 50)
                .await
                .unwrap();
            store::enrolment::for_village(&mut conn, year_id, &code)
                .await
                .unwrap();
        }
    })
    .await;
    let after_village = p95_of(many, |i| {
        let (code, page) = (village_of(i), page_of(i));
        let (app, actor) = (&app, &actor);
        async move {
            let view = app.region_view(actor, &code, page).await.unwrap();
            let ids: Vec<i64> = view.households.iter().map(|h| h.id).collect();
            let e = app
                .village_enrolment_page(actor, year_id, &code, &ids)
                .await
                .unwrap();
            assert!(e.active_households > 0);
        }
    })
    .await;
    eprintln!(
        "{backend:?} at {members} members: year overview figures p95 {before_overview:.2?} \
         (GROUP BY, {few} runs) -> {after_overview:.2?} (kept rows, {many} runs); year-village \
         page reads p95 {before_village:.2?} (every enrolment of the village) -> \
         {after_village:.2?} (one page)"
    );
    app.db.close().await;
    drop_database(backend, &url).await;
}

fn bench_backend(c: &mut Criterion, backend: Backend, label: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let keys = PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap();

    for members in [100_000, 1_000_000] {
        rt.block_on(pages_bench(backend, &keys, members));
    }
    if std::env::var("SHOUWANG_BENCH_PAGES_ONLY").is_ok() {
        return;
    }

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
