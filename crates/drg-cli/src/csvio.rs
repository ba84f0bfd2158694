//! CSV side of `drg group` / `drg explain`: row parsing that never aborts a run, and ordered
//! parallel grouping in bounded chunks so memory stays constant whatever the file size.

use anyhow::{bail, Context, Result};
use drg::{Grouper, SearchHit, Status, Stay};
use rayon::prelude::*;
use std::io::{IsTerminal, Write};
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

/// Rows read per chunk (two chunks are in memory: one being grouped, the next being read):
/// large enough to amortise scheduling, small enough that memory does not grow with the
/// file.
const CHUNK: usize = 16 * 1024;

fn num<T: std::str::FromStr>(s: &str, name: &str) -> Result<Option<T>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    s.parse()
        .map(Some)
        .map_err(|_| format!("{name} `{s}` is not a non-negative integer"))
}

/// `str::trim`, skipping its Unicode scan when both ends are visible ASCII.
#[inline]
fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(&a), Some(&b)) if (0x21..0x7f).contains(&a) && (0x21..0x7f).contains(&b) => s,
        _ => s.trim(),
    }
}

/// Refills `dst` with the non-empty items of a `|` list, reusing its strings' buffers.
fn fill_list(dst: &mut Vec<String>, s: &str) {
    let mut n = 0;
    for x in s.split('|').map(trim).filter(|x| !x.is_empty()) {
        match dst.get_mut(n) {
            Some(d) => {
                d.clear();
                d.push_str(x);
            }
            None => dst.push(x.to_string()),
        }
        n += 1;
    }
    dst.truncate(n);
}

/// Parses the 10 input fields; the error is the reason written for a malformed row.
pub fn parse_stay(rec: &csv::StringRecord) -> Result<Stay, String> {
    let mut stay = Stay::default();
    parse_stay_into(rec, &mut stay)?;
    Ok(stay)
}

/// [`parse_stay`] into an existing stay, reusing its strings (no allocation per row once
/// warmed up). On error the stay is left partly filled.
pub fn parse_stay_into(rec: &csv::StringRecord, stay: &mut Stay) -> Result<(), String> {
    if rec.len() != INPUT_HEADER.len() {
        return Err(format!(
            "malformed row: {} fields, expected {}",
            rec.len(),
            INPUT_HEADER.len()
        ));
    }
    let sex: Option<u8> = num(&rec[1], "sex")?;
    stay.sex = sex.filter(|s| *s == 1 || *s == 2);
    stay.age_years = num(&rec[2], "age_years")?;
    stay.age_days = num(&rec[3], "age_days")?;
    stay.birth_weight_g = num(&rec[4], "birth_weight_g")?;
    stay.los_days = num(&rec[5], "los_days")?;
    stay.discharge_mode = num(&rec[6], "discharge_mode")?;
    stay.principal_dx.clear();
    stay.principal_dx.push_str(trim(&rec[7]));
    fill_list(&mut stay.secondary_dx, &rec[8]);
    fill_list(&mut stay.procedures, &rec[9]);
    Ok(())
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GroupStats {
    pub rows: u64,
    pub grouped: u64,
    pub qy: u64,
    pub ungroupable: u64,
}

impl GroupStats {
    fn add(&mut self, o: &GroupStats) {
        self.rows += o.rows;
        self.grouped += o.grouped;
        self.qy += o.qy;
        self.ungroupable += o.ungroupable;
    }
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
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut header = csv::Writer::from_writer(Vec::new());
    header.write_record(OUTPUT_HEADER)?;
    out.write_all(&header.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?)?;
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
    // Records are reused from chunk to chunk: no allocation per row once warmed up. While
    // the pool groups one chunk and formats its output rows, the next chunk is read.
    let mut chunk: Vec<csv::StringRecord> = vec![csv::StringRecord::new(); CHUNK];
    let mut next: Vec<csv::StringRecord> = vec![csv::StringRecord::new(); CHUNK];
    let mut len = read_chunk(&mut rd, &mut chunk);
    while len > 0 {
        let last = len < CHUNK;
        let (parts, next_len) = rayon::join(
            || group_chunk(g, &chunk[..len]),
            || {
                if last {
                    0
                } else {
                    read_chunk(&mut rd, &mut next)
                }
            },
        );
        for (bytes, part) in parts {
            out.write_all(&bytes)?;
            stats.add(&part);
        }
        if let Some(b) = &bar {
            b.set_position(rd.position().byte());
            b.set_message(format!("{} rows", stats.rows));
        }
        std::mem::swap(&mut chunk, &mut next);
        len = next_len;
    }
    out.flush()?;
    if let Some(b) = bar {
        b.finish();
    }
    Ok(stats)
}

/// Reads up to `CHUNK` records into `chunk`; an unreadable record (invalid UTF-8 or
/// similar) is kept as a row of two fields, the second giving the reason.
fn read_chunk<R: std::io::Read>(rd: &mut csv::Reader<R>, chunk: &mut [csv::StringRecord]) -> usize {
    let mut len = 0;
    while len < chunk.len() {
        match rd.read_record(&mut chunk[len]) {
            Ok(true) => len += 1,
            Ok(false) => break,
            Err(e) => {
                let bad = &mut chunk[len];
                bad.clear();
                bad.push_field("");
                bad.push_field(&format!("unreadable row: {e}"));
                len += 1;
            }
        }
    }
    len
}

/// Rows grouped and formatted per task of the pool.
const TASK: usize = 2048;

/// Per-thread buffers of [`group_chunk`], reused from task to task (and chunk to chunk) by
/// the pool's threads.
#[derive(Default)]
struct Scratch {
    stays: Vec<Stay>,
    errors: Vec<Option<String>>,
    outcomes: Vec<drg::Outcome>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// Groups rows in parallel and formats their output rows; parts come back in input order.
/// Each task parses its rows into reused stays and groups them as a batch
/// ([`Grouper::group_many_into`]).
fn group_chunk(g: &Grouper, recs: &[csv::StringRecord]) -> Vec<(Vec<u8>, GroupStats)> {
    recs.par_chunks(TASK)
        .map(|recs| SCRATCH.with(|sc| group_task(g, recs, &mut sc.borrow_mut())))
        .collect()
}

fn group_task(g: &Grouper, recs: &[csv::StringRecord], sc: &mut Scratch) -> (Vec<u8>, GroupStats) {
    if sc.stays.len() < recs.len() {
        sc.stays.resize_with(recs.len(), Stay::default);
    }
    sc.errors.clear();
    for (rec, stay) in recs.iter().zip(sc.stays.iter_mut()) {
        let err = parse_stay_into(rec, stay).err();
        if err.is_some() {
            // Not grouped; a missing principal diagnosis makes that quick.
            stay.principal_dx.clear();
        }
        sc.errors.push(err);
    }
    sc.outcomes.clear();
    g.group_many_into(&sc.stays[..recs.len()], &mut sc.outcomes);
    let mut stats = GroupStats::default();
    let mut wr = csv::Writer::from_writer(Vec::with_capacity(recs.len() * 80));
    for ((rec, err), o) in recs.iter().zip(&sc.errors).zip(&sc.outcomes) {
        let res = match err {
            Some(e) => Err(e),
            None => Ok(o),
        };
        write_row(g, &mut wr, rec.get(0).unwrap_or(""), res, &mut stats)
            .expect("writing to memory");
    }
    let bytes = wr
        .into_inner()
        .map_err(|e| e.to_string())
        .expect("writing to memory");
    (bytes, stats)
}

fn write_row(
    g: &Grouper,
    wr: &mut csv::Writer<Vec<u8>>,
    case_id: &str,
    res: Result<&drg::Outcome, &String>,
    stats: &mut GroupStats,
) -> csv::Result<()> {
    stats.rows += 1;
    match res {
        Ok(o) => {
            match o.status {
                Status::Grouped => stats.grouped += 1,
                Status::Qy => stats.qy += 1,
                Status::Ungroupable => stats.ungroupable += 1,
            }
            let reason = match o.status {
                Status::Grouped => String::new(),
                _ => g.reason_text(o),
            };
            wr.write_record([
                case_id,
                g.mdc_code(o),
                g.adrg_code(o),
                &g.drg_code(o),
                &g.drg_name(o),
                o.status.as_str(),
                &reason,
            ])
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
            ])
        }
    }
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
