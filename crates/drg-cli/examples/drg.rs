//! Stand-alone front end for `drg_cli` (the `shouwang` binary is owned elsewhere): used to
//! regenerate the packs and to run the end-to-end benchmark.
use clap::Parser;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: drg_cli::DrgCommand,
}

fn main() -> anyhow::Result<()> {
    drg_cli::run(Cli::parse().cmd)
}
