//! File side of `shouwang subsidy`: the year's rules (a template or a stored `SchemeRules`
//! JSON, with command-line overrides), the published table (CSV), and the stays (CSV, streamed
//! in file order) to decisions (CSV). The arithmetic is `claims::decide`. The flags and the
//! three file layouts are fixed: other tools call this command.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use chrono::NaiveDate;
use claims::{decide, Decision, DrgOutcome, Stay, SubsidyRules};
use domain::{Fen, InsuranceType};
use scheme::{Exclusion, SchemeRules};

/// `shouwang subsidy`: decide the subsidy of every stay of a CSV file.
#[derive(Debug, Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).args(["template", "rules"])))]
pub struct SubsidyArgs {
    /// Template key: yiyuan-dazhangzhuang, dafeng-caomiao, anji, haian, suzhou.
    #[arg(long, requires = "year", conflicts_with = "rules")]
    pub template: Option<String>,
    /// The year the template's scheme year starts in.
    #[arg(long, value_parser = clap::value_parser!(i32).range(1900..=2200))]
    pub year: Option<i32>,
    /// A year's rules as stored by the app (`SchemeRules` as JSON).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// table.csv: drg,amount_yuan
    #[arg(long)]
    pub table: PathBuf,
    /// stays.csv: claim_id,member,consecutive_years,insurance,admission_date,discharge_date,total_yuan,oop_yuan,drg,exclusions
    #[arg(long)]
    pub input: PathBuf,
    /// decisions.csv: claim_id,decision,amount_yuan,reasons
    #[arg(long)]
    pub output: PathBuf,
    /// Overrides the rules' per-stay cap (yuan).
    #[arg(long, value_parser = parse_yuan)]
    pub per_stay_cap: Option<Fen>,
    /// Overrides the rules' yearly cap per member (yuan).
    #[arg(long, value_parser = parse_yuan)]
    pub yearly_cap: Option<Fen>,
    /// Overrides the rules' minimum subsidy (yuan).
    #[arg(long, value_parser = parse_yuan)]
    pub min_subsidy: Option<Fen>,
    /// Overrides the rules' loyalty bonus (per cent, from the 2nd consecutive year).
    #[arg(long)]
    pub loyalty_percent: Option<u32>,
}

fn parse_yuan(s: &str) -> Result<Fen, String> {
    Fen::parse_typed_yuan(s).map_err(|e| e.to_string())
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubsidyStats {
    pub rows: u64,
    pub subsidised: u64,
    pub refused: u64,
    pub invalid: u64,
    /// File line numbers (the header is line 1) of the first invalid rows.
    pub first_invalid_lines: Vec<u64>,
    pub total_subsidy: Fen,
}

/// How many invalid rows are named on stderr.
const INVALID_LINES_SHOWN: usize = 10;

pub const STAYS_HEADER: [&str; 10] = [
    "claim_id",
    "member",
    "consecutive_years",
    "insurance",
    "admission_date",
    "discharge_date",
    "total_yuan",
    "oop_yuan",
    "drg",
    "exclusions",
];
pub const TABLE_HEADER: [&str; 2] = ["drg", "amount_yuan"];
pub const DECISIONS_HEADER: [&str; 4] = ["claim_id", "decision", "amount_yuan", "reasons"];

/// Runs the command and prints a summary to stderr.
pub fn run(args: SubsidyArgs) -> Result<SubsidyStats> {
    let rules = load_rules(&args)?;
    let table = load_table(&args.table)?;
    let stats = decide_file(&rules, &table, &args.input, &args.output)?;
    eprintln!(
        "{} stays: {} subsidised ({} yuan), {} refused, {} invalid rows",
        stats.rows, stats.subsidised, stats.total_subsidy, stats.refused, stats.invalid
    );
    if stats.invalid > 0 {
        let lines: Vec<String> = stats
            .first_invalid_lines
            .iter()
            .map(u64::to_string)
            .collect();
        eprintln!(
            "invalid rows (refused with invalid_row) at lines {}{}",
            lines.join(", "),
            if stats.invalid > lines.len() as u64 {
                ", …"
            } else {
                ""
            }
        );
    }
    Ok(stats)
}

/// The rules of `--template`/`--year` or `--rules`, with the flags' overrides, checked.
pub fn load_rules(args: &SubsidyArgs) -> Result<SubsidyRules> {
    let scheme = match (&args.template, &args.rules) {
        (Some(key), None) => {
            let year = args.year.context("--template needs --year")?;
            if !(1900..=2200).contains(&year) {
                bail!("--year {year}: expected a year between 1900 and 2200");
            }
            scheme::template(key, year)
                .with_context(|| {
                    format!(
                        "unknown template {key:?}: one of {}",
                        scheme::TEMPLATE_KEYS.join(", ")
                    )
                })?
                .rules
        }
        (None, Some(path)) => {
            let file =
                File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_reader::<_, SchemeRules>(BufReader::new(file))
                .with_context(|| format!("{}: not a scheme year's rules (JSON)", path.display()))?
        }
        _ => bail!("give either --template KEY --year YYYY or --rules rules.json"),
    };
    let mut rules = SubsidyRules::from_scheme(&scheme);
    if let Some(cap) = args.per_stay_cap {
        rules.per_stay_cap = Some(cap);
    }
    if let Some(cap) = args.yearly_cap {
        rules.yearly_cap = Some(cap);
    }
    if let Some(min) = args.min_subsidy {
        rules.min_subsidy = min;
    }
    if let Some(p) = args.loyalty_percent {
        rules.loyalty_bonus_percent = p;
    }
    let problems = rules.check();
    if !problems.is_empty() {
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!("the rules cannot be used: {}", text.join("; "));
    }
    Ok(rules)
}

fn open_csv(path: &Path) -> Result<csv::Reader<BufReader<File>>> {
    let file = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(BufReader::with_capacity(1 << 16, file)))
}

/// Column positions of `expected` in the header: every column present once, others ignored.
fn columns<const N: usize>(
    rdr: &mut csv::Reader<BufReader<File>>,
    expected: [&str; N],
    path: &Path,
) -> Result<[usize; N]> {
    let header = rdr
        .byte_headers()
        .with_context(|| format!("{}: cannot read the header", path.display()))?
        .clone();
    let names: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let s = String::from_utf8_lossy(f);
            let s = if i == 0 {
                s.trim_start_matches('\u{feff}')
            } else {
                &s
            };
            s.trim().to_string()
        })
        .collect();
    let mut out = [0; N];
    let mut missing = vec![];
    for (slot, want) in out.iter_mut().zip(expected) {
        let at: Vec<usize> = (0..names.len()).filter(|i| names[*i] == want).collect();
        match at[..] {
            [i] => *slot = i,
            [] => missing.push(want),
            _ => bail!("{}: column {want} appears twice", path.display()),
        }
    }
    if !missing.is_empty() {
        bail!(
            "{}: bad header {:?}: missing {}; expected {}",
            path.display(),
            names.join(","),
            missing.join(", "),
            expected.join(",")
        );
    }
    Ok(out)
}

/// The published table: `drg,amount_yuan`, each DRG once, amounts from 0 to 10,000,000 yuan
/// (0: the table does not subsidise that DRG).
pub fn load_table(path: &Path) -> Result<HashMap<String, Fen>> {
    let mut rdr = open_csv(path)?;
    let [c_drg, c_amount] = columns(&mut rdr, TABLE_HEADER, path)?;
    let mut table = HashMap::new();
    let mut rec = csv::StringRecord::new();
    while rdr
        .read_record(&mut rec)
        .with_context(|| format!("{}: cannot read", path.display()))?
    {
        let line = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        let drg = rec.get(c_drg).unwrap_or("").trim();
        let amount = rec.get(c_amount).unwrap_or("").trim();
        if drg.is_empty() {
            bail!("{} line {line}: empty drg", path.display());
        }
        let amount = Fen::parse_yuan(amount)
            .ok()
            .filter(|a| *a >= Fen::ZERO && *a <= scheme::error::MAX_PER_CLAIM)
            .with_context(|| {
                format!(
                    "{} line {line}: amount {amount:?} is not a yuan amount from 0 to 10,000,000",
                    path.display()
                )
            })?;
        if let Some(before) = table.insert(drg.to_string(), amount) {
            if before != amount {
                bail!(
                    "{} line {line}: {drg} appears twice with different amounts",
                    path.display()
                );
            }
        }
    }
    Ok(table)
}

/// One row of stays.csv, parsed; None if any field is malformed.
fn parse_row(
    rec: &csv::ByteRecord,
    cols: &[usize; 10],
    rules: &SubsidyRules,
) -> Option<(String, Stay)> {
    let field =
        |i: usize| -> Option<&str> { std::str::from_utf8(rec.get(cols[i])?).ok().map(str::trim) };
    let member = field(1).filter(|m| !m.is_empty())?;
    let consecutive_years: u32 = field(2)?.parse().ok()?;
    let insurance = InsuranceType::from_code(field(3)?)?;
    let date = |i| parse_date(field(i)?);
    let (admission, discharge) = (date(4)?, date(5)?);
    if discharge < admission {
        return None;
    }
    let money = |i| parse_money(field(i)?);
    let (total_cost, out_of_pocket) = (money(6)?, money(7)?);
    if out_of_pocket > total_cost {
        return None;
    }
    // Empty: no DRG, which no table lists (drg_not_in_table).
    let drg = DrgOutcome::Grouped(field(8)?.to_string());
    let mut exclusions = Vec::new();
    for code in field(9)?
        .split('|')
        .map(str::trim)
        .filter(|c| !c.is_empty())
    {
        let e = match Exclusion::from_code(code) {
            Some(e) => e,
            // `other`: the rules' local exclusion (the CSV cannot say which when there are
            // several, so the first); ignored, like any exclusion the rules do not list, when
            // there is none.
            None if code == "other" => rules
                .exclusions
                .iter()
                .find(|e| matches!(e, Exclusion::Other(_)))
                .cloned()
                .unwrap_or(Exclusion::Other(String::new())),
            None => return None,
        };
        if !exclusions.contains(&e) {
            exclusions.push(e);
        }
    }
    Some((
        member.to_string(),
        Stay {
            insurance,
            consecutive_years,
            admission,
            discharge,
            total_cost,
            out_of_pocket,
            drg,
            exclusions,
        },
    ))
}

/// `YYYY-MM-DD` exactly (what `%Y-%m-%d` would take from ten characters), without chrono's
/// format interpreter: it is a third of the time of a row.
fn parse_date(s: &str) -> Option<NaiveDate> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let year = i32::try_from(num(0..4)?).ok()?;
    NaiveDate::from_ymd_opt(year, num(5..7)?, num(8..10)?)
}

/// A non-negative amount in yuan, at most 1亿元: plain digits with up to two decimals are read
/// directly; anything else (thousands separators) goes through `Fen::parse_typed_yuan`.
fn parse_money(s: &str) -> Option<Fen> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    let plain = !int.is_empty()
        && int.len() <= 9
        && frac.len() <= 2
        && int.bytes().chain(frac.bytes()).all(|c| c.is_ascii_digit());
    let f = if plain {
        let digits = |t: &str| t.bytes().fold(0i64, |a, c| a * 10 + i64::from(c - b'0'));
        let frac_fen = match frac.len() {
            0 => 0,
            1 => digits(frac) * 10,
            _ => digits(frac),
        };
        let f = Fen(digits(int) * 100 + frac_fen);
        (f <= Fen::MAX_TYPED).then_some(f)?
    } else {
        Fen::parse_typed_yuan(s).ok()?
    };
    (f >= Fen::ZERO).then_some(f)
}

/// "1234.50": yuan with two decimals, no separators.
fn write_yuan(buf: &mut String, f: Fen) {
    use std::fmt::Write as _;
    let v = f.fen();
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let _ = write!(buf, "{sign}{}.{:02}", a / 100, a % 100);
}

/// Decides every row of `input` in file order into `output`; the yearly cap accumulates per
/// `member`. Streams: memory holds one row and the per-member totals.
pub fn decide_file(
    rules: &SubsidyRules,
    table: &HashMap<String, Fen>,
    input: &Path,
    output: &Path,
) -> Result<SubsidyStats> {
    let mut rdr = open_csv(input)?;
    let cols = columns(&mut rdr, STAYS_HEADER, input)?;
    let out = File::create(output).with_context(|| format!("cannot write {}", output.display()))?;
    let mut wtr = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, out));
    wtr.write_record(DECISIONS_HEADER)?;
    let mut approved: HashMap<String, Fen> = HashMap::new();
    let mut stats = SubsidyStats::default();
    let mut rec = csv::ByteRecord::new();
    let mut amount = String::new();
    let mut reasons = String::new();
    loop {
        let mut line = None;
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            // A row the CSV reader cannot take is an invalid row too; an I/O error ends the run.
            Err(e) if !matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                line = e.position().map(csv::Position::line);
                rec.clear();
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", input.display())),
        }
        let line = line
            .or(rec.position().map(csv::Position::line))
            .unwrap_or(0);
        if rec.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) && !rec.is_empty() {
            continue;
        }
        stats.rows += 1;
        let claim_id = rec.get(cols[0]).unwrap_or(b"");
        amount.clear();
        reasons.clear();
        let parsed = if claim_id.iter().all(u8::is_ascii_whitespace) {
            None
        } else {
            parse_row(&rec, &cols, rules)
        };
        let decision = match parsed {
            None => {
                stats.invalid += 1;
                if stats.first_invalid_lines.len() < INVALID_LINES_SHOWN {
                    stats.first_invalid_lines.push(line);
                }
                amount.push_str("0.00");
                reasons.push_str("invalid_row");
                "refused"
            }
            Some((member, stay)) => {
                let so_far = approved.get(member.as_str()).copied().unwrap_or(Fen::ZERO);
                let d = decide(rules, table, &stay, so_far);
                for (i, r) in d.reasons().iter().enumerate() {
                    if i > 0 {
                        reasons.push('|');
                    }
                    reasons.push_str(r.code());
                }
                write_yuan(&mut amount, d.amount());
                match d {
                    Decision::Subsidy { amount: paid, .. } => {
                        stats.subsidised += 1;
                        stats.total_subsidy = stats.total_subsidy.saturating_add(paid);
                        // Bounded by the yearly cap when there is one; saturating otherwise.
                        let total = so_far.saturating_add(paid);
                        match approved.get_mut(member.as_str()) {
                            Some(t) => *t = total,
                            None => {
                                approved.insert(member, total);
                            }
                        }
                        "subsidy"
                    }
                    Decision::Refused { .. } => {
                        stats.refused += 1;
                        "refused"
                    }
                }
            }
        };
        wtr.write_record([
            claim_id,
            decision.as_bytes(),
            amount.as_bytes(),
            reasons.as_bytes(),
        ])
        .with_context(|| format!("writing {}", output.display()))?;
    }
    wtr.flush()
        .with_context(|| format!("writing {}", output.display()))?;
    Ok(stats)
}

trait Saturating {
    fn saturating_add(self, o: Fen) -> Fen;
}
impl Saturating for Fen {
    fn saturating_add(self, o: Fen) -> Fen {
        Fen(self.fen().saturating_add(o.fen()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_money_read_like_chrono_and_fen() {
        for s in [
            "2024-02-29",
            "2025-02-29",
            "2025-13-01",
            "2025-1-01",
            "2025/01/01",
            "20250101",
            "2025-01-0a",
            "0000-01-01",
            "",
        ] {
            assert_eq!(
                parse_date(s),
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .ok()
                    .filter(|_| s.len() == 10),
                "{s}"
            );
        }
        // chrono would take a sign in place of the first digit; the file layout does not.
        assert_eq!(parse_date("+025-01-01"), None);
        for s in [
            "0",
            "12",
            "12.5",
            "12.34",
            "12.345",
            "-1",
            "1,234.50",
            "1,0,0",
            "",
            ".5",
            "5.",
            "100000000",
            "100000000.01",
            "999999999",
            "1e3",
            " 12",
        ] {
            let want = Fen::parse_typed_yuan(s).ok().filter(|f| *f >= Fen::ZERO);
            assert_eq!(parse_money(s), want, "{s}");
        }
    }
}
