//! Writes a synthetic roster .xlsx for the demo county's villages (load tests, training, trying
//! out the import): `cargo run --release -p app --example roster_sample -- 100000 roster.xlsx`.
fn main() {
    let mut args = std::env::args().skip(1);
    let members: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .expect("number of members");
    let out = args.next().expect("output path");
    let villages = app::demo::demo_villages();
    let spec = sim::PopulationSpec {
        seed: 42,
        villages: villages
            .into_iter()
            .map(|(code, _, _)| sim::VillageSpec {
                code,
                members: members / 20,
            })
            .collect(),
    };
    let rows = app::import::population_rows(&sim::generate_population(&spec));
    std::fs::write(&out, app::import::roster_xlsx(&rows).expect("xlsx")).expect("write");
    eprintln!("{} rows written to {out}", rows.len());
}
