//! File I/O of `shouwang drg …`. The `shouwang` binary dispatches its `drg` subcommand here;
//! the flags are fixed by issue 3 because other tools call them.

mod build_pack;
pub mod csvio;
pub mod synth;

pub use build_pack::build_pack;

use anyhow::{Context, Result};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum DrgCommand {
    /// Group every stay of a CSV file (streams; uses all cores).
    Group {
        /// Pack version, e.g. chs-drg-2.0 (default) or chs-drg-1.1.
        #[arg(long, default_value = "chs-drg-2.0")]
        version: String,
        /// cases.csv: case_id,sex,age_years,age_days,birth_weight_g,los_days,discharge_mode,principal_dx,secondary_dx,procedures
        #[arg(long)]
        input: PathBuf,
        /// grouped.csv: case_id,mdc,adrg,drg,drg_name,status,reason
        #[arg(long)]
        output: PathBuf,
    },
    /// Print the trace of one stay, given as one CSV row of cases.csv (without header).
    Explain {
        #[arg(long, default_value = "chs-drg-2.0")]
        version: String,
        #[arg(long)]
        case: String,
    },
    /// Find diagnosis/procedure codes, ADRGs and DRGs by Chinese name or code prefix.
    Search {
        #[arg(long, default_value = "chs-drg-2.0")]
        version: String,
        /// Maximum number of results.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        query: String,
    },
    /// Convert shared/data/drg/<version> into a data pack (crates/drg/packs/<version>).
    BuildPack {
        /// Folder with the version's CSVs, e.g. ../shared/data/drg/chs-drg-2.0
        #[arg(long)]
        source: PathBuf,
        /// Folder with the ICD dictionaries and maps, e.g. ../shared/data/drg/icd
        #[arg(long)]
        icd: PathBuf,
        /// Output folder of the pack.
        #[arg(long)]
        out: PathBuf,
        /// Version name; defaults to the source folder's name.
        #[arg(long)]
        version: Option<String>,
    },
}

fn load(version: &str) -> Result<drg::Grouper> {
    let v: drg::Version = version.parse()?;
    Ok(drg::Grouper::load(&v)?)
}

pub fn run(cmd: DrgCommand) -> Result<()> {
    match cmd {
        DrgCommand::Group {
            version,
            input,
            output,
        } => {
            let g = load(&version)?;
            let stats = csvio::group_file(&g, &input, &output, csvio::progress_enabled())?;
            eprintln!(
                "{} stays: {} grouped, {} qy, {} ungroupable",
                stats.rows, stats.grouped, stats.qy, stats.ungroupable
            );
            Ok(())
        }
        DrgCommand::Explain { version, case } => {
            let g = load(&version)?;
            for line in csvio::explain_row(&g, &case)? {
                println!("{line}");
            }
            Ok(())
        }
        DrgCommand::Search {
            version,
            limit,
            query,
        } => {
            let g = load(&version)?;
            for hit in g.search(&query, limit) {
                println!("{}", csvio::format_hit(&hit));
            }
            Ok(())
        }
        DrgCommand::BuildPack {
            source,
            icd,
            out,
            version,
        } => build_pack(&source, &icd, &out, version.as_deref())
            .with_context(|| format!("building pack from {}", source.display())),
    }
}
