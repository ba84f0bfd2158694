//! Single-thread throughput measured in CPU time as well as wall time, because the
//! development machine is shared: `cargo run --release -p drg-cli --example probe`.
use std::hint::black_box;

/// CPU seconds used by this thread (Linux, clock ticks of 10 ms).
fn cpu_secs() -> f64 {
    let s = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let after = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0);
    (t(11) + t(12)) / 100.0
}

fn main() {
    for v in [drg::Version::chs_drg_2_0(), drg::Version::chs_drg_1_1()] {
        let g = drg::Grouper::load(&v).unwrap();
        for (mix, stays) in [
            (
                "realistic",
                drg_cli::synth::realistic_stays(&v, 200_000, 7).unwrap(),
            ),
            (
                "uniform codes",
                drg_cli::synth::uniform_stays(&v, 200_000, 7).unwrap(),
            ),
        ] {
            let (w0, c0) = (std::time::Instant::now(), cpu_secs());
            let rounds = 10;
            for _ in 0..rounds {
                for s in &stays {
                    black_box(g.group_fast(black_box(s)));
                }
            }
            let n = (rounds * stays.len()) as f64;
            let (wall, cpu) = (w0.elapsed().as_secs_f64(), cpu_secs() - c0);
            println!(
                "{v} {mix}: {:.0} stays/s per CPU-second, {:.0} stays/s wall ({:.0} ns CPU/stay)",
                n / cpu,
                n / wall,
                cpu * 1e9 / n
            );
            let mut out = Vec::with_capacity(stays.len());
            let (w0, c0) = (std::time::Instant::now(), cpu_secs());
            for _ in 0..rounds {
                out.clear();
                g.group_many_into(black_box(&stays), &mut out);
                black_box(&out);
            }
            let (wall, cpu) = (w0.elapsed().as_secs_f64(), cpu_secs() - c0);
            println!(
                "{v} {mix}, group_many: {:.0} stays/s per CPU-second, {:.0} stays/s wall ({:.0} ns CPU/stay)",
                n / cpu,
                n / wall,
                cpu * 1e9 / n
            );
        }
    }
}
