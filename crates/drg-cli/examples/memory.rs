//! Resident memory and load time of each embedded pack (Linux: reads /proc/self/statm).
//! Pass a version to measure it alone in a fresh process.
fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = s
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    pages * 4
}

fn main() {
    let only = std::env::args().nth(1);
    for v in drg::Version::available() {
        if only.as_deref().is_some_and(|o| o != v.as_str()) {
            continue;
        }
        let before = rss_kib();
        let t = std::time::Instant::now();
        let g = drg::Grouper::load(&v).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1e3;
        let after = rss_kib();
        println!(
            "{v}: load {ms:.1} ms, resident +{:.1} MiB ({} DRGs)",
            (after.saturating_sub(before)) as f64 / 1024.0,
            g.catalog().drgs().len()
        );
        std::mem::forget(g);
    }
}
