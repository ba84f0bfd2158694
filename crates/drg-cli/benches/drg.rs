//! Grouper benchmarks: single-thread throughput on a realistic mix, traced grouping, pack
//! load time, and `drg group` end to end on a file.
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use drg::{Grouper, Version};
use std::hint::black_box;
use std::io::Write;

fn throughput(c: &mut Criterion) {
    let v = Version::default();
    let g = Grouper::load(&v).unwrap();
    let stays = drg_cli::synth::realistic_stays(&v, 100_000, 7).unwrap();
    let mut group = c.benchmark_group("group");
    group.throughput(Throughput::Elements(stays.len() as u64));
    group.bench_function("fast_single_thread_100k_chs-drg-2.0", |b| {
        b.iter(|| {
            for s in &stays {
                black_box(g.group_fast(black_box(s)));
            }
        })
    });
    // The same stays as one batch: `group_many_into` fetches the next stays' memory while
    // grouping one (what `drg group` does per task).
    let mut out = Vec::with_capacity(stays.len());
    group.bench_function("many_single_thread_100k_chs-drg-2.0", |b| {
        b.iter(|| {
            out.clear();
            g.group_many_into(black_box(&stays), &mut out);
            black_box(&out);
        })
    });
    let uniform = drg_cli::synth::uniform_stays(&v, 100_000, 7).unwrap();
    group.bench_function("fast_single_thread_100k_uniform_codes_chs-drg-2.0", |b| {
        b.iter(|| {
            for s in &uniform {
                black_box(g.group_fast(black_box(s)));
            }
        })
    });
    // The same 1,000 stays 100 times: tables in cache, i.e. the compute-bound rate.
    let hot = &stays[..1_000];
    group.bench_function(
        "fast_single_thread_1k_stays_x100_in_cache_chs-drg-2.0",
        |b| {
            b.iter(|| {
                for _ in 0..100 {
                    for s in hot {
                        black_box(g.group_fast(black_box(s)));
                    }
                }
            })
        },
    );
    let few = &stays[..10_000];
    group.throughput(Throughput::Elements(few.len() as u64));
    group.bench_function("traced_single_thread_10k_chs-drg-2.0", |b| {
        b.iter(|| {
            for s in few {
                black_box(g.group(black_box(s)));
            }
        })
    });
    let v11 = Version::chs_drg_1_1();
    let g11 = Grouper::load(&v11).unwrap();
    let stays11 = drg_cli::synth::realistic_stays(&v11, 100_000, 7).unwrap();
    group.throughput(Throughput::Elements(stays11.len() as u64));
    group.bench_function("fast_single_thread_100k_chs-drg-1.1", |b| {
        b.iter(|| {
            for s in &stays11 {
                black_box(g11.group_fast(black_box(s)));
            }
        })
    });
    group.bench_function("many_single_thread_100k_chs-drg-1.1", |b| {
        b.iter(|| {
            out.clear();
            g11.group_many_into(black_box(&stays11), &mut out);
            black_box(&out);
        })
    });
    group.finish();
}

fn load(c: &mut Criterion) {
    let mut group = c.benchmark_group("pack_load");
    group.sample_size(10);
    for v in Version::available() {
        group.bench_function(v.as_str(), |b| {
            b.iter(|| black_box(Grouper::load(&v).unwrap()))
        });
    }
    group.finish();
}

fn end_to_end(c: &mut Criterion) {
    let v = Version::default();
    let g = Grouper::load(&v).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cases.csv");
    let n = 200_000;
    let mut f = std::io::BufWriter::new(std::fs::File::create(&input).unwrap());
    writeln!(f, "{}", drg_cli::csvio::INPUT_HEADER.join(",")).unwrap();
    for (i, s) in drg_cli::synth::realistic_stays(&v, n, 11)
        .unwrap()
        .iter()
        .enumerate()
    {
        writeln!(f, "{}", drg_cli::synth::to_csv_row(i, s)).unwrap();
    }
    drop(f);
    let mut group = c.benchmark_group("group_file");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("200k_rows_all_cores", |b| {
        b.iter_batched(
            || dir.path().join("grouped.csv"),
            |out| drg_cli::csvio::group_file(&g, &input, &out, false).unwrap(),
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, throughput, load, end_to_end);
criterion_main!(benches);
