//! `shouwang subsidy` on 1,000,000 generated stays (the CSV is written to a temporary folder
//! once), and a single `decide` call.
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::hint::black_box;

use chrono::NaiveDate;
use claims::{decide, DrgOutcome, Stay, SubsidyRules};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use domain::{Fen, InsuranceType};

const STAYS: u64 = 1_000_000;

fn rules() -> SubsidyRules {
    SubsidyRules {
        per_stay_cap: Some(Fen::from_yuan(10_000)),
        yearly_cap: Some(Fen::from_yuan(15_000)),
        ..SubsidyRules::from_scheme(&scheme::template("anji", 2024).unwrap().rules)
    }
}

/// 1,000 DRGs, 300 to 19,980 yuan; 1M stays of 400,000 members, a mix of insurances,
/// thresholds met and missed, loyal members, exclusions and a few unknown DRGs.
fn write_files(dir: &std::path::Path) {
    let mut table = String::from("drg,amount_yuan\n");
    for i in 0..1_000u64 {
        writeln!(table, "D{i:03},{}.{:02}", 300 + i * 197 % 19_680, i % 100).unwrap();
    }
    std::fs::write(dir.join("table.csv"), table).unwrap();
    let mut out = std::io::BufWriter::new(std::fs::File::create(dir.join("stays.csv")).unwrap());
    use std::io::Write;
    writeln!(out, "claim_id,member,consecutive_years,insurance,admission_date,discharge_date,total_yuan,oop_yuan,drg,exclusions").unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..STAYS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let ins = ["resident", "employee", "uninsured"][(x % 3) as usize];
        let month = 1 + (x >> 8) % 12;
        let year = if month >= 8 { 2024 } else { 2025 };
        let oop = 1_000 + (x >> 16) % 9_000;
        let drg = (x >> 32) % 1_010; // 1% not in the table
        let excl = if (x >> 48).is_multiple_of(50) {
            "third_party"
        } else {
            ""
        };
        writeln!(
            out,
            "C{i},M{},{},{ins},{year}-{month:02}-10,{year}-{month:02}-18,{}.50,{oop}.25,D{drg:03},{excl}",
            (x >> 20) % 400_000,
            1 + (x >> 40) % 4,
            oop * 3,
        )
        .unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    write_files(dir.path());
    let args = claims_cli::SubsidyArgs {
        template: Some("anji".into()),
        year: Some(2024),
        rules: None,
        table: dir.path().join("table.csv"),
        input: dir.path().join("stays.csv"),
        output: dir.path().join("decisions.csv"),
        per_stay_cap: Some(Fen::from_yuan(10_000)),
        yearly_cap: Some(Fen::from_yuan(15_000)),
        min_subsidy: None,
        loyalty_percent: None,
    };
    let mut g = c.benchmark_group("subsidy_cli");
    g.sample_size(10);
    g.throughput(Throughput::Elements(STAYS));
    g.bench_function("run_1m_stays", |b| {
        b.iter(|| black_box(claims_cli::run(args.clone()).unwrap()))
    });
    g.finish();

    let r = rules();
    let table: HashMap<String, Fen> = (0..1_000)
        .map(|i| (format!("D{i:03}"), Fen(30_000 + i * 1_997)))
        .collect();
    let btree: BTreeMap<String, Fen> = table.clone().into_iter().collect();
    let stay = Stay {
        insurance: InsuranceType::Resident,
        consecutive_years: 3,
        admission: NaiveDate::from_ymd_opt(2025, 3, 1).unwrap(),
        discharge: NaiveDate::from_ymd_opt(2025, 3, 9).unwrap(),
        total_cost: Fen::from_yuan(30_000),
        out_of_pocket: Fen::from_yuan(9_000),
        drg: DrgOutcome::Grouped("D517".into()),
        exclusions: vec![],
    };
    let mut g = c.benchmark_group("decide");
    g.bench_function("single_hashmap_table", |b| {
        b.iter(|| {
            black_box(decide(
                &r,
                black_box(&table),
                black_box(&stay),
                Fen::from_yuan(5_000),
            ))
        })
    });
    g.bench_function("single_btreemap_table", |b| {
        b.iter(|| {
            black_box(decide(
                &r,
                black_box(&btree),
                black_box(&stay),
                Fen::from_yuan(5_000),
            ))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
