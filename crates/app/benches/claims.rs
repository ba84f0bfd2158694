//! Claims benchmarks (issue 11 aims): the coder's queue page with 100,000 claims in the pool,
//! p95 < 50 ms on both databases; the live grouping and subsidy of one claim (what the coder's
//! page computes on every save or preview) < 5 ms.
//!
//! `cargo bench -p app --bench claims` runs both databases (PostgreSQL from SHOUWANG_TEST_PG_URL,
//! default 127.0.0.1:5432 with trust auth); SHOUWANG_BENCH_ONLY=sqlite|postgres runs one.
//!
//! Set-up per database: the demo county (4,000 residents, two town years), a published table,
//! one claim filed through the real intake (documents and all), then 100,000 claims of the
//! first town's pool written by multi-row INSERTs: 4% waiting for coding, 2% for review, 1%
//! for documents, the rest decided — the shape of a pool after some years. The p95 of 300
//! page reads is printed, then criterion measures the same calls.

use app::claims::{CodingInput, ListQuery};
use app::{Actor, App, PiiKeys};
use chrono::Days;
use criterion::{criterion_group, criterion_main, Criterion};
use domain::{ClaimId, RegionCode, Role};
use std::time::{Duration, Instant};
use store::sqlx_reexport as sqlx;
use store::Backend;

const CLAIMS: usize = 100_000;
const COUNTY: &str = "370323";
const TOWN: &str = "370323104";

fn actor(role: Role, region: &str) -> Actor {
    Actor {
        user_id: None,
        username: role.code().into(),
        display_name: role.label_zh().into(),
        role,
        region: RegionCode::parse(region).ok(),
        ip: "bench".into(),
    }
}

struct Bench {
    app: App,
    url: String,
    claim: ClaimId,
    coding: CodingInput,
}

async fn setup(backend: Backend) -> Bench {
    let url = store::testing::fresh_database(backend).await.unwrap();
    let keys = PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap();
    let app = App::new(store::Db::connect(&url).await.unwrap(), keys);
    app.load_demo(4_000, 3).await.unwrap();
    app.load_demo_years().await.unwrap();
    app.load_demo_claims(20).await.unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let (id, principal): (i64, String) = sqlx::query_as(
        "SELECT id, principal_dx FROM claims WHERE principal_dx <> '' AND pool_code = $1 LIMIT 1",
    )
    .bind(TOWN)
    .fetch_one(&mut *conn)
    .await
    .expect("a coded demo claim");
    drop(conn);
    fill(&app, id).await;
    Bench {
        app,
        url,
        claim: ClaimId(id),
        coding: CodingInput::parse(&principal, "", "", "1", &[]).unwrap(),
    }
}

/// Copies claim `template` 100,000 times with other members, states and deadlines.
async fn fill(app: &App, template: i64) {
    let mut conn = app.db.acquire().await.unwrap();
    let members: Vec<(i64, i64, String)> = sqlx::query_as(
        "SELECT id, household_id, village_code FROM members WHERE village_code LIKE $1 ORDER BY id",
    )
    .bind(format!("{TOWN}%"))
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let today = app.today();
    let batch = 400;
    for start in (0..CLAIMS).step_by(batch) {
        let mut tx = app.db.begin_write().await.unwrap();
        let rows: Vec<String> = (start..(start + batch).min(CLAIMS))
            .map(|i| {
                let (m, h, v) = &members[i % members.len()];
                let status = match i % 100 {
                    0..=3 => "received",
                    4..=5 => "proposed",
                    6 => "awaiting_documents",
                    7..=15 => "refused",
                    _ => "approved",
                };
                let due = today + Days::new((i % 9) as u64) - Days::new(2);
                let received = today - Days::new((i % 700) as u64);
                format!(
                    "('B{i:013}', t.year_id, t.pool_code, {m}, {h}, '{v}', 'staff', '{status}', \
                     t.hospital_id, t.admission_date, t.discharge_date, t.insurance, 1, \
                     t.total_fen, t.basic_fen, 0, 0, t.oop_fen, 'B{i}', t.received_at, '{received}', \
                     'bench', '{due}', {})",
                    if status == "approved" { 80_000 } else { 0 }
                )
            })
            .collect();
        let insert = format!(
            "INSERT INTO claims (application_no, year_id, pool_code, member_id, household_id, \
             village_code, channel, status, hospital_id, admission_date, discharge_date, insurance, \
             consecutive_years, total_fen, basic_fen, serious_fen, assistance_fen, oop_fen, \
             settlement_no, received_at, received_on, received_by, due_on, amount_fen) {}",
            rows.iter()
                .map(|r| format!("SELECT {} FROM claims t WHERE t.id = {template}", &r[1..r.len() - 1]))
                .collect::<Vec<_>>()
                .join(" UNION ALL ")
        );
        sqlx::query(&insert).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut conn = app.db.acquire().await.unwrap();
    if app.db.backend() == Backend::Postgres {
        sqlx::query("ANALYZE claims")
            .execute(&mut *conn)
            .await
            .unwrap();
    } else {
        sqlx::query("ANALYZE").execute(&mut *conn).await.unwrap();
    }
}

fn p95(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() * 95 / 100]
}

fn bench_backend(c: &mut Criterion, backend: Backend, name: &str) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let b = rt.block_on(setup(backend));
    let coder = actor(Role::Coder, COUNTY);
    let clerk_town = actor(Role::TownAdmin, TOWN);
    let queries = [
        ("coder queue", coder.clone(), ListQuery::default()),
        (
            "town list, newest first",
            clerk_town.clone(),
            ListQuery::default(),
        ),
        (
            "town list, page 20",
            clerk_town,
            ListQuery {
                page: 20,
                ..Default::default()
            },
        ),
    ];
    for (what, actor, q) in &queries {
        let times: Vec<Duration> = (0..300)
            .map(|_| {
                let t = Instant::now();
                let list = rt.block_on(b.app.claims_list(actor, q)).unwrap();
                assert!(!list.lines.is_empty());
                t.elapsed()
            })
            .collect();
        println!("{name}: {what} with {CLAIMS} claims: p95 {:?}", p95(times));
        c.bench_function(&format!("{name}/{what}"), |bn| {
            bn.iter(|| rt.block_on(b.app.claims_list(actor, q)).unwrap())
        });
    }
    let coder_cap = coder.claim_coder().unwrap();
    let times: Vec<Duration> = (0..300)
        .map(|_| {
            let t = Instant::now();
            rt.block_on(b.app.preview_claim(&coder_cap, b.claim, &b.coding))
                .unwrap();
            t.elapsed()
        })
        .collect();
    println!(
        "{name}: live grouping + subsidy (preview of one claim): p95 {:?}",
        p95(times)
    );
    c.bench_function(&format!("{name}/preview claim"), |bn| {
        bn.iter(|| {
            rt.block_on(b.app.preview_claim(&coder_cap, b.claim, &b.coding))
                .unwrap()
        })
    });
    rt.block_on(b.app.db.close());
    if let Some(path) = b.url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{path}{suffix}"));
        }
    }
}

fn claims(c: &mut Criterion) {
    let only = std::env::var("SHOUWANG_BENCH_ONLY").unwrap_or_default();
    if only.is_empty() || only == "sqlite" {
        bench_backend(c, Backend::Sqlite, "sqlite");
    }
    if only.is_empty() || only == "postgres" {
        bench_backend(c, Backend::Postgres, "postgres");
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(3));
    targets = claims
}
criterion_main!(benches);
