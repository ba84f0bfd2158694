//! Rendering a 10,000-line batch (a large county's month) as CSV and as xlsx.

use chrono::NaiveDate;
use criterion::{criterion_group, criterion_main, Criterion};
use domain::Fen;
use payout::{render_csv, render_xlsx, BatchHeader, Layout, PayLine};

fn card(i: u32) -> String {
    let body = format!("621462{i:012}");
    (0..10)
        .map(|d| format!("{body}{d}"))
        .find(|s| payout::BankCardNumber::parse(s).is_ok())
        .expect("a check digit exists")
}

fn batch(n: u32) -> (BatchHeader, Vec<PayLine>) {
    let header = BatchHeader {
        batch_no: "DF-2026-11-001".into(),
        pool_name: "青山县乡村医疗互助金".into(),
        payer_account_name: "青山县医疗互助协会".into(),
        created_on: NaiveDate::from_ymd_opt(2026, 11, 30).expect("valid date"),
        prepared_by: "李会计".into(),
        approved_by: "王主任".into(),
    };
    let lines = (1..=n)
        .map(|i| PayLine {
            seq: i,
            line_ref: format!("CL-{i:06}"),
            holder_name: "欧阳娜娜".into(),
            card_number: card(i),
            bank_name: "青山农村商业银行城关支行".into(),
            id_number: "11010519491231002X".into(),
            amount: Fen(100_000 + i64::from(i)),
            memo: "2026年11月互助金".into(),
        })
        .collect();
    (header, lines)
}

fn bench(c: &mut Criterion) {
    let (header, lines) = batch(10_000);
    let generic = Layout::get("generic").expect("generic layout");
    let rural = Layout::get("rural_credit").expect("rural layout");
    let mut g = c.benchmark_group("bank_file_10k");
    g.sample_size(10);
    g.bench_function("csv_utf8_generic", |b| {
        b.iter(|| render_csv(&generic, &header, &lines).expect("csv"))
    });
    g.bench_function("csv_gbk_rural", |b| {
        b.iter(|| render_csv(&rural, &header, &lines).expect("csv"))
    });
    g.bench_function("xlsx_generic", |b| {
        b.iter(|| render_xlsx(&generic, &header, &lines).expect("xlsx"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
