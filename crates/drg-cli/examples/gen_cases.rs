//! Writes N realistic stays as cases.csv (for the end-to-end benchmark), drawn from the tables
//! of a version (default chs-drg-2.0):
//! `cargo run --release -p drg-cli --example gen_cases -- 1000000 cases.csv [chs-drg-1.1]`
use std::io::Write;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args
        .get(1)
        .map(|s| s.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let path = args.get(2).cloned().unwrap_or_else(|| "cases.csv".into());
    let v: drg::Version = match args.get(3) {
        Some(v) => v.parse()?,
        None => drg::Version::default(),
    };
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path)?);
    writeln!(f, "{}", drg_cli::csvio::INPUT_HEADER.join(","))?;
    let mut written = 0;
    let mut seed = 1u64;
    while written < n {
        let batch = (n - written).min(100_000);
        for s in drg_cli::synth::realistic_stays(&v, batch, seed)? {
            writeln!(f, "{}", drg_cli::synth::to_csv_row(written, &s))?;
            written += 1;
        }
        seed += 1;
    }
    Ok(())
}
