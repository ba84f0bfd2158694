//! CSV side of `drg group` / `drg explain`: row parsing that never aborts a run, and ordered
//! parallel grouping in bounded chunks so memory stays constant whatever the file size.

use anyhow::{bail, Context, Result};
use drg::{Grouper, SearchHit, Status, Stay};
use rayon::prelude::*;
use std::io::IsTerminal;
use std::path::Path;

pub const INPUT_HEADER: [&str; 10] = [
    "case_id",
    "sex",
    "age_years",
    "age_days",
    "birth_weight_g",
    "los_days",
    "discharge_mode",
    "principal_dx",
    "secondary_dx",
    "procedures",
];
pub const OUTPUT_HEADER: [&str; 7] = [
    "case_id", "mdc", "adrg", "drg", "drg_name", "status", "reason",
];

/// Rows grouped per parallel chunk: large enough to amortise scheduling, small enough that
/// memory does not grow with the file.
const CHUNK: usize = 32 * 1024;

fn num<T: std::str::FromStr>(s: &str, name: &str) -> Result<Option<T>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{name} `{s}` is not a non-negative integer"))
}

fn list(s: &str) -> Vec<String> {
    s.split('|')
        .map(|x| x.trim())
        .filter(|x| !x.is_empty())
        .map(|x| x.to_string())
        .collect()
}

/// Parses the 10 input fields; the error is the reason written for a malformed row.
pub fn parse_stay(rec: &csv::StringRecord) -> Result<Stay, String> {
    if rec.len() != INPUT_HEADER.len() {
        return Err(format!(
            "malformed row: {} fields, expected {}",
            rec.len(),
            INPUT_HEADER.len()
        ));
    }
    let sex: Option<u8> = num(&rec[1], "sex")?;
    Ok(Stay {
        sex: sex.filter(|s| *s == 1 || *s == 2),
        age_years: num(&rec[2], "age_years")?,
        age_days: num(&rec[3], "age_days")?,
        birth_weight_g: num(&rec[4], "birth_weight_g")?,
        los_days: num(&rec[5], "los_days")?,
        discharge_mode: num(&rec[6], "discharge_mode")?,
        principal_dx: rec[7].trim().to_string(),
        secondary_dx: list(&rec[8]),
        procedures: list(&rec[9]),
    })
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GroupStats {
    pub rows: u64,
    pub grouped: u64,
    pub qy: u64,
    pub ungroupable: u64,
}

pub fn progress_enabled() -> bool {
    std::io::stderr().is_terminal()
}

/// Streams `input` to `output`, one output row per input row in the same order.
pub fn group_file(g: &Grouper, input: &Path, output: &Path, progress: bool) -> Result<GroupStats> {
    let file =
        std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut rd = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(std::io::BufReader::with_capacity(1 << 20, file));
    let headers = rd.headers()?.clone();
    let got: Vec<&str> = headers
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}'))
        .collect();
    if got != INPUT_HEADER {
        bail!(
            "{}: header must be `{}`, found `{}`",
            input.display(),
            INPUT_HEADER.join(","),
            got.join(",")
        );
    }
    let out =
        std::fs::File::create(output).with_context(|| format!("creating {}", output.display()))?;
    let mut wr = csv::Writer::from_writer(std::io::BufWriter::with_capacity(1 << 20, out));
    wr.write_record(OUTPUT_HEADER)?;
    let bar = if progress {
        let b = indicatif::ProgressBar::new(size);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {per_sec} eta {eta} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let mut stats = GroupStats::default();
    // Records are reused from chunk to chunk: no allocation per row once warmed up.
    let mut chunk: Vec<csv::StringRecord> = vec![csv::StringRecord::new(); CHUNK];
    loop {
        let mut len = 0;
        while len < CHUNK {
            match rd.read_record(&mut chunk[len]) {
                Ok(true) => len += 1,
                Ok(false) => break,
                Err(e) => {
                    // Invalid UTF-8 or similar: keep the row count, report the row.
                    let bad = &mut chunk[len];
                    bad.clear();
                    bad.push_field("");
                    bad.push_field(&format!("unreadable row: {e}"));
                    len += 1;
                }
            }
        }
        if len == 0 {
            break;
        }
        let results: Vec<Result<drg::Outcome, String>> = chunk[..len]
            .par_iter()
            .map(|r| parse_stay(r).map(|stay| g.group_fast(&stay)))
            .collect();
        for (rec, res) in chunk[..len].iter().zip(&results) {
            let case_id = rec.get(0).unwrap_or("");
            stats.rows += 1;
            match res {
                Ok(o) => {
                    match o.status {
                        Status::Grouped => stats.grouped += 1,
                        Status::Qy => stats.qy += 1,
                        Status::Ungroupable => stats.ungroupable += 1,
                    }
                    let reason = g.reason_text(o);
                    wr.write_record([
                        case_id,
                        g.mdc_code(o),
                        g.adrg_code(o),
                        &g.drg_code(o),
                        &g.drg_name(o),
                        o.status.as_str(),
                        &reason,
                    ])?;
                }
                Err(reason) => {
                    stats.ungroupable += 1;
                    wr.write_record([
                        case_id,
                        "",
                        "",
                        "0000",
                        "未入组",
                        Status::Ungroupable.as_str(),
                        reason,
                    ])?;
                }
            }
        }
        if let Some(b) = &bar {
            b.set_position(rd.position().byte());
            b.set_message(format!("{} rows", stats.rows));
        }
        if len < CHUNK {
            break;
        }
    }
    wr.flush()?;
    if let Some(b) = bar {
        b.finish();
    }
    Ok(stats)
}

/// Trace of one stay given as a data row of cases.csv.
pub fn explain_row(g: &Grouper, row: &str) -> Result<Vec<String>> {
    let mut rd = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(row.as_bytes());
    let rec = rd
        .records()
        .next()
        .context("empty --case")?
        .context("--case is not a CSV row")?;
    let stay = parse_stay(&rec).map_err(anyhow::Error::msg)?;
    let res = g.group(&stay);
    let mut out = vec![format!(
        "case {} ({}): principal {} | secondary {} | procedures {}",
        &rec[0],
        g.manifest().version,
        stay.principal_dx,
        stay.secondary_dx.join(" "),
        stay.procedures.join(" ")
    )];
    out.extend(g.explain(&res));
    let reason = g.reason_text(&res.outcome);
    if !reason.is_empty() {
        out.push(format!("reason: {reason}"));
    }
    Ok(out)
}

pub fn format_hit(h: &SearchHit) -> String {
    match h {
        SearchHit::Drg(d) => format!("DRG\t{}\t{}\t(ADRG {}, {})", d.code, d.name, d.adrg, d.mdc),
        SearchHit::Adrg(a) => format!("ADRG\t{}\t{}\t({})", a.code, a.name, a.mdc),
        SearchHit::Diagnosis { code, name } => format!("诊断\t{code}\t{name}"),
        SearchHit::Procedure { code, name } => format!("手术操作\t{code}\t{name}"),
    }
}
