//! The generator at the size the issue asks for: 1,000,000 members with a year of stays.

use criterion::{criterion_group, criterion_main, Criterion};
use sim::{simulate_programme, ProgrammeSpec, StayModel};

fn benches(c: &mut Criterion) {
    let model = StayModel::new();
    let mut g = c.benchmark_group("sim");
    g.sample_size(10);
    g.bench_function("programme_1m_members_1_year", |b| {
        b.iter(|| {
            simulate_programme(&ProgrammeSpec::new(7, 1_000_000, 1), &model)
                .stays
                .len()
        })
    });
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
