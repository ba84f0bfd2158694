//! Stand-alone driver of the three commands, for development and for regenerating
//! `docs/backtest.md` without the server binary:
//! `cargo run --release -p actuarial-cli --example actuarial -- backtest --years 200 --seed 1`.

use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Simulate(actuarial_cli::SimulateArgs),
    Design(actuarial_cli::DesignArgs),
    Backtest(actuarial_cli::BacktestArgs),
    Reforecast(actuarial_cli::ReforecastArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Simulate(a) => actuarial_cli::run_simulate(a),
        Command::Design(a) => actuarial_cli::run_design(a),
        Command::Backtest(a) => actuarial_cli::run_backtest(a),
        Command::Reforecast(a) => actuarial_cli::run_reforecast(a),
    }
}
