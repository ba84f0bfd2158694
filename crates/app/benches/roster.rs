//! Roster benchmarks at county scale (issue targets: import of a 100,000-member .xlsx under 10 s
//! on SQLite; member search by ID number and by name at 100,000 members, p95 under 20 ms).
//!
//! `cargo bench -p app --bench roster` — set SHOUWANG_BENCH_PG=1 to run the PostgreSQL variants
//! too (server from SHOUWANG_TEST_PG_URL). Search p95 is measured over 2,000 queries and printed
//! next to criterion's mean.

use app::{Actor, App, PiiKeys};
use criterion::{criterion_group, criterion_main, Criterion};
use std::time::{Duration, Instant};

const MEMBERS: usize = 100_000;

fn population() -> Vec<sim::Household> {
    let spec = sim::PopulationSpec {
        seed: 42,
        villages: app::demo::demo_villages()
            .into_iter()
            .map(|(code, _, _)| sim::VillageSpec {
                code,
                members: MEMBERS / 20,
            })
            .collect(),
    };
    sim::generate_population(&spec)
}

async fn empty_county(backend: store::Backend) -> (App, String) {
    let url = store::testing::fresh_database(backend).await.unwrap();
    let app = App::new(
        store::Db::connect(&url).await.unwrap(),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(0, 1).await.unwrap().unwrap(); // regions and logins, no people
    (app, url)
}

/// Closes the pool and removes a SQLite file (PostgreSQL databases are dropped by the test script).
async fn discard(app: App, url: &str) {
    app.db.close().await;
    if let Some(path) = url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

async fn import(app: &App, bytes: Vec<u8>) -> usize {
    let actor = Actor::system();
    let writer = actor.roster_writer().unwrap();
    let out = app
        .import_roster(&writer, &actor, "bench.xlsx", bytes, &|_| {})
        .await
        .unwrap();
    assert!(
        out.errors.is_empty(),
        "{:?}",
        &out.errors[..out.errors.len().min(5)]
    );
    out.added_members
}

fn p95(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() * 95 / 100]
}

fn bench_backend(c: &mut Criterion, backend: store::Backend, label: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let households = population();
    let rows = app::import::population_rows(&households);
    let bytes = app::import::roster_xlsx(&rows).unwrap();
    eprintln!(
        "{label}: roster of {} members, {} households, {:.1} MB",
        rows.len(),
        households.len(),
        bytes.len() as f64 / 1e6
    );

    let mut g = c.benchmark_group(format!("roster_{label}"));
    g.sample_size(10)
        .measurement_time(Duration::from_secs(60))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("import_100k_xlsx", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let (app, url) = rt.block_on(empty_county(backend));
                let t = Instant::now();
                let n = rt.block_on(import(&app, bytes.clone()));
                total += t.elapsed();
                assert_eq!(n, rows.len());
                rt.block_on(discard(app, &url));
            }
            total
        })
    });
    g.finish();

    let (app, url) = rt.block_on(empty_county(backend));
    rt.block_on(import(&app, bytes.clone()));
    let town = Actor {
        region: Some(domain::RegionCode::parse("370323104").unwrap()),
        role: domain::Role::TownAdmin,
        ..Actor::system()
    };
    let ids: Vec<String> = households
        .iter()
        .flat_map(|h| h.members.iter().map(|p| p.id_number.to_string()))
        .collect();
    let names: Vec<String> = households
        .iter()
        .flat_map(|h| h.members.iter().map(|p| p.name.to_string()))
        .collect();
    for (kind, keys) in [("id_number", &ids), ("name", &names)] {
        let lat: Vec<Duration> = (0..2000)
            .map(|i| {
                let q = &keys[(i * 7919) % keys.len()];
                let t = Instant::now();
                rt.block_on(app.search_members(&town, q, 100)).unwrap();
                t.elapsed()
            })
            .collect();
        eprintln!(
            "{label}: search by {kind} at {MEMBERS} members: p95 {:?}",
            p95(lat)
        );
        let mut i = 0usize;
        c.bench_function(&format!("roster_{label}/search_{kind}_100k"), |b| {
            b.iter(|| {
                i += 1;
                rt.block_on(app.search_members(&town, &keys[(i * 7919) % keys.len()], 100))
                    .unwrap()
            })
        });
    }
    rt.block_on(discard(app, &url));
}

fn benches(c: &mut Criterion) {
    bench_backend(c, store::Backend::Sqlite, "sqlite");
    if std::env::var("SHOUWANG_BENCH_PG").is_ok() {
        bench_backend(c, store::Backend::Postgres, "postgres");
    }
}

criterion_group!(roster, benches);
criterion_main!(roster);
