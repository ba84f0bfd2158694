//! Converts the NHSA tables (as compiled in `shared/data/drg/<version>/`) into a Shouwang data
//! pack. Every reading of the rule text that is not mechanical happens here, in one place, and
//! is listed in `docs/drg.md`; the engine itself only evaluates what the pack says.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

type Row = HashMap<String, String>;

fn read_csv(path: &Path) -> Result<Vec<Row>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = r.headers()?.clone();
    let mut out = Vec::new();
    for rec in r.records() {
        let rec = rec?;
        out.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.trim().to_string()))
                .collect(),
        );
    }
    Ok(out)
}

fn col<'a>(r: &'a Row, k: &str) -> &'a str {
    r.get(k).map(|s| s.as_str()).unwrap_or("")
}

fn clean(s: &str) -> String {
    s.replace(['\t', '\n', '\r'], " ")
}

/// Code sets, deduplicated by content so that a list shared by several ADRGs is stored once.
#[derive(Default)]
struct Sets {
    lines: Vec<(bool, String, Vec<String>)>,
    by_content: HashMap<(bool, Vec<String>), usize>,
}

impl Sets {
    fn add(&mut self, is_proc: bool, label: &str, codes: &[String]) -> usize {
        let mut key: Vec<String> = codes.to_vec();
        key.sort();
        key.dedup();
        // Identical lists are stored once, but only under the same label: the label is what
        // the trace shows a coder ("table 386 \"PS2 …\""), so it must name the right rule.
        if let Some(&id) = self.by_content.get(&(is_proc, key.clone())) {
            if self.lines[id].1 == label {
                return id;
            }
        }
        let id = self.lines.len();
        self.lines.push((is_proc, label.to_string(), key.clone()));
        self.by_content.insert((is_proc, key), id);
        id
    }
}

struct Section {
    title: String,
    role: String,
    codes: Vec<String>,
}

/// Numeric conditions stated in an ADRG's name (newborn age and birth-weight bands).
fn name_conditions(name: &str) -> Vec<String> {
    let n: String = name.chars().filter(|c| !c.is_whitespace()).collect();
    let n = n.replace('（', "(").replace('）', ")");
    let mut out = Vec::new();
    if n.contains("29天≤出生年龄＜1周岁") || n.contains("29天≤出生年龄<1周岁") {
        out.push("age_days>=29".into());
        out.push("age_days<365".into());
    } else if n.contains("出生年龄＜29天") || n.contains("出生年龄<29天") {
        out.push("age_days<29".into());
    }
    if n.contains("出生体重＜1500g") {
        out.push("bw<1500".into());
    }
    if n.contains("出生体重1500-1999g") {
        out.push("bw>=1500".into());
        out.push("bw<=1999".into());
    }
    if n.contains("出生体重2000-2499g") {
        out.push("bw>=2000".into());
        out.push("bw<=2499".into());
    }
    if n.contains("出生体重＞2499g") {
        out.push("bw>2499".into());
    }
    out
}

/// Branch formulas written in the rule text rather than as separate files (CHS-DRG 1.1:
/// "包含以下主要诊断+手术表 1+手术表 2 / 或包含以下主要诊断+手术表 1+手术表 3+手术表 4").
fn raw_formulas(raw: &str, adrg: &str) -> Vec<Vec<String>> {
    let lines: Vec<&str> = raw.lines().collect();
    let mut out = Vec::new();
    let Some(start) = lines
        .iter()
        .position(|l| l.starts_with(&format!("{adrg} ")))
    else {
        return out;
    };
    for l in lines.iter().skip(start + 1).take(6) {
        let l = l.trim();
        if l.ends_with('：') || l.ends_with(':') {
            break;
        }
        if l.contains('+') {
            let l = l.trim_start_matches('或').trim_start_matches("包含以下");
            out.push(
                l.split('+')
                    .map(|p| p.chars().filter(|c| !c.is_whitespace()).collect())
                    .collect(),
            );
        }
    }
    out
}

fn norm_title(t: &str) -> String {
    t.chars().filter(|c| !c.is_whitespace()).collect()
}

/// How an MDC diagnosis table's title says it is matched: `pdx` on the principal diagnosis
/// ("包含以下主要诊断"), `dx` on the principal or any other diagnosis ("包含以下诊断",
/// "主要诊断或其他诊断"). `None` for lines that are no table title (body-region names, codes
/// commented out with `#` that the source compilation took for a title).
fn table_role(title: &str) -> Option<&'static str> {
    let t = norm_title(title);
    if t.starts_with('#') || !t.contains("诊断") {
        None
    } else if t.contains("其他诊断") || !t.contains("主要诊断") {
        Some("dx")
    } else {
        Some("pdx")
    }
}

pub fn build_pack(source: &Path, icd: &Path, out: &Path, version: Option<&str>) -> Result<()> {
    let version = match version {
        Some(v) => v.to_string(),
        None => source
            .file_name()
            .context("source folder has no name")?
            .to_string_lossy()
            .into_owned(),
    };
    let mut t = String::new();
    let mdcs = read_csv(&source.join("mdc.csv"))?;
    let adrgs = read_csv(&source.join("adrg.csv"))?;
    let drgs = read_csv(&source.join("drg.csv"))?;
    let rules = read_csv(&source.join("adrg_rules.csv"))?;

    // MDCs; a sex is required where the MDC's name says so.
    t.push_str("@mdc\n");
    let mut newborn_mdc = None;
    let mut hiv_mdc = None;
    let mut trauma_mdc = None;
    for r in &mdcs {
        let (code, name) = (col(r, "mdc_code"), col(r, "mdc_name"));
        let sex = if name.contains("男性") {
            "1"
        } else if name.contains("女性") || name.contains("妊娠") {
            "2"
        } else {
            ""
        };
        if name.contains("新生儿") {
            newborn_mdc = Some(code.to_string());
        }
        if name.contains("HIV") {
            hiv_mdc = Some(code.to_string());
        }
        if name.contains("多发") && name.contains("创伤") {
            trauma_mdc = Some(code.to_string());
        }
        writeln!(t, "{code}\t{}\t{sex}", clean(name))?;
    }
    t.push_str("@adrg\n");
    let mut adrg_kind: BTreeMap<String, String> = BTreeMap::new();
    let mut adrg_mdc: BTreeMap<String, String> = BTreeMap::new();
    for r in &adrgs {
        let kind = match col(r, "kind_by_code_letter") {
            "pre_mdc" => "pre",
            "surgical" => "surgical",
            "non_or_procedure" => "nonor",
            "medical" => "medical",
            k => bail!("unknown ADRG kind {k}"),
        };
        let code = col(r, "adrg_code");
        adrg_kind.insert(code.into(), kind.into());
        adrg_mdc.insert(code.into(), col(r, "mdc_code").into());
        writeln!(
            t,
            "{code}\t{}\t{kind}\t{}",
            col(r, "mdc_code"),
            clean(col(r, "adrg_name"))
        )?;
    }
    t.push_str("@drg\n");
    let mut suffixes: BTreeMap<String, Vec<(u8, String)>> = BTreeMap::new();
    for r in &drgs {
        let suffix: u8 = col(r, "suffix").parse().context("DRG suffix")?;
        suffixes
            .entry(col(r, "adrg_code").into())
            .or_default()
            .push((suffix, col(r, "drg_code").into()));
        writeln!(
            t,
            "{}\t{}\t{suffix}\t{}",
            col(r, "drg_code"),
            col(r, "adrg_code"),
            clean(col(r, "drg_name"))
        )?;
    }

    // Code dictionaries and flags.
    let mut dx: BTreeMap<String, (String, BTreeSet<char>)> = BTreeMap::new();
    let mut pr: BTreeMap<String, (String, BTreeSet<char>)> = BTreeMap::new();
    for r in read_csv(&icd.join("icd10_chs_2.0.csv"))? {
        let e = dx.entry(col(&r, "dx_code").into()).or_default();
        e.0 = col(&r, "dx_name").into();
        e.1.insert('D');
    }
    for r in read_csv(&icd.join("icd9cm3_chs_2.0.csv"))? {
        let e = pr.entry(col(&r, "proc_code").into()).or_default();
        e.0 = col(&r, "proc_name").into();
        e.1.insert('D');
    }
    for r in read_csv(&icd.join("icd10_chs_2.0_grey.csv"))? {
        dx.entry(col(&r, "dx_code").into())
            .or_default()
            .1
            .insert('G');
    }
    for r in read_csv(&icd.join("icd9cm3_chs_2.0_grey.csv"))? {
        pr.entry(col(&r, "proc_code").into())
            .or_default()
            .1
            .insert('G');
    }
    if source.join("invalid_pdx.csv").exists() {
        for r in read_csv(&source.join("invalid_pdx.csv"))? {
            let e = dx.entry(col(&r, "dx_code").into()).or_default();
            if e.0.is_empty() {
                e.0 = col(&r, "dx_name").into();
            }
            e.1.insert('I');
        }
    }
    if source.join("invalid_proc.csv").exists() {
        for r in read_csv(&source.join("invalid_proc.csv"))? {
            let e = pr.entry(col(&r, "proc_code").into()).or_default();
            if e.0.is_empty() {
                e.0 = col(&r, "proc_name").into();
            }
            e.1.insert('X');
        }
    }
    // Names of rule codes missing from the dictionary (later 医保版 additions).
    for r in &rules {
        let code = col(r, "code");
        if code.is_empty() {
            continue;
        }
        let is_proc = matches!(col(r, "section_role"), "main_proc" | "any_proc");
        let e = if is_proc {
            pr.entry(code.into())
        } else {
            dx.entry(code.into())
        }
        .or_default();
        if e.0.is_empty() {
            e.0 = col(r, "name").into();
        }
    }

    // OR procedures: the pack's own list when the version has one (1.1), else every procedure
    // that opens a surgical ADRG of some MDC (2.0 publishes no such list).
    let or_list = source.join("or_procedures.csv");
    if or_list.exists() {
        for r in read_csv(&or_list)? {
            pr.entry(col(&r, "proc_code").into())
                .or_default()
                .1
                .insert('O');
        }
    } else {
        for r in &rules {
            let kind = adrg_kind.get(col(r, "adrg_code")).map(|s| s.as_str());
            if kind == Some("surgical")
                && matches!(col(r, "section_role"), "main_proc" | "any_proc")
                && !col(r, "code").is_empty()
            {
                pr.entry(col(r, "code").into()).or_default().1.insert('O');
            }
        }
    }
    if dx.contains_key("") || pr.contains_key("") {
        bail!("an input table has an empty code (wrong column name?)");
    }
    for (sec, map) in [("dx", &dx), ("proc", &pr)] {
        writeln!(t, "@{sec}")?;
        for (code, (name, flags)) in map.iter() {
            let mut flags: String = flags.iter().collect();
            if sec == "proc" && flags.contains('X') {
                flags = flags.replace('O', "");
            }
            writeln!(t, "{code}\t{}\t{flags}", clean(name))?;
        }
    }

    // Sets: MDC principal-diagnosis tables, MDCZ regions, rule sections.
    let mut sets = Sets::default();
    let mdc_dx = read_csv(&source.join("mdc_dx.csv"))?;
    let mut by_mdc: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut by_region: Vec<(String, Vec<String>)> = Vec::new();
    // The role of each MDC's table, from the wording of its title(s).
    let mut mdc_role: BTreeMap<String, BTreeSet<&str>> = BTreeMap::new();
    for r in &mdc_dx {
        by_mdc
            .entry(col(r, "mdc_code").into())
            .or_default()
            .push(col(r, "dx_code").into());
        if let Some(role) = table_role(col(r, "section")) {
            mdc_role
                .entry(col(r, "mdc_code").into())
                .or_default()
                .insert(role);
        }
        let region = col(r, "mdcz_body_region");
        if !region.is_empty() {
            match by_region.iter_mut().find(|(n, _)| n == region) {
                Some((_, v)) => v.push(col(r, "dx_code").into()),
                None => by_region.push((region.into(), vec![col(r, "dx_code").into()])),
            }
        }
    }
    let mut mdc_set = BTreeMap::new();
    let mut mdcdx_lines = String::new();
    let mut mdc_table_role: BTreeMap<String, &str> = BTreeMap::new();
    for (mdc, codes) in &by_mdc {
        let role = match mdc_role
            .get(mdc)
            .map(|r| r.iter().copied().collect::<Vec<_>>())
        {
            Some(r) if r.len() == 1 => r[0],
            r => bail!("{mdc}: the diagnosis table titles give no single reading ({r:?})"),
        };
        let label = if role == "pdx" {
            "主要诊断表"
        } else {
            "诊断表"
        };
        let id = sets.add(false, &format!("{mdc} {label}"), codes);
        mdc_set.insert(mdc.clone(), id);
        mdc_table_role.insert(mdc.clone(), role);
        writeln!(mdcdx_lines, "{mdc}\t{id}\t{role}")?;
    }
    let mut region_lines = String::new();
    for (name, codes) in &by_region {
        let id = sets.add(false, &format!("MDCZ {name}"), codes);
        writeln!(region_lines, "{name}\t{id}")?;
    }

    // Rules.
    let raw_detail =
        std::fs::read_to_string(source.join("raw/4_ADRG_DETAIL.txt")).unwrap_or_default();
    let mut grouped: BTreeMap<(String, String), (String, Vec<Section>)> = BTreeMap::new();
    for r in &rules {
        let key = (
            col(r, "adrg_code").to_string(),
            col(r, "variant").to_string(),
        );
        let entry = grouped
            .entry(key)
            .or_insert_with(|| (String::new(), Vec::new()));
        if entry.0.is_empty() {
            entry.0 = col(r, "condition_text").into();
        }
        let sec_no = col(r, "section_no");
        let title = format!("{sec_no}\u{1}{}", col(r, "section_title"));
        match entry.1.iter_mut().find(|s| s.title == title) {
            Some(s) => {
                if !col(r, "code").is_empty() {
                    s.codes.push(col(r, "code").into())
                }
            }
            None => entry.1.push(Section {
                title,
                role: col(r, "section_role").into(),
                codes: if col(r, "code").is_empty() {
                    vec![]
                } else {
                    vec![col(r, "code").into()]
                },
            }),
        }
    }
    let mut main_proc_sets: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for ((adrg, _), (_, secs)) in &grouped {
        for s in secs {
            if s.role == "main_proc" {
                main_proc_sets
                    .entry(adrg.clone())
                    .or_default()
                    .extend(s.codes.iter().cloned());
            }
        }
    }
    let mut rule_lines = String::new();
    let mut infant_pdx_atom: BTreeMap<String, String> = BTreeMap::new();
    for r in &adrgs {
        let adrg = col(r, "adrg_code");
        let name = col(r, "adrg_name");
        let kind = adrg_kind[adrg].as_str();
        let variants: Vec<&String> = grouped
            .keys()
            .filter(|(a, v)| a == adrg && !v.is_empty())
            .map(|(_, v)| v)
            .collect();
        let Some((cond, secs)) = grouped.get(&(adrg.to_string(), String::new())) else {
            bail!("ADRG {adrg} has no rule");
        };
        let atom_of = |s: &Section, sets: &mut Sets| -> Result<String> {
            let title = s.title.split('\u{1}').nth(1).unwrap_or("");
            let label = format!("{adrg} {title}");
            Ok(match s.role.as_str() {
                "pdx" => format!("pdx:{}", sets.add(false, &label, &s.codes)),
                "sdx" => format!("sdx:{}", sets.add(false, &label, &s.codes)),
                "any_dx" => format!("dx:{}", sets.add(false, &label, &s.codes)),
                "main_proc" => format!("pproc:{}", sets.add(true, &label, &s.codes)),
                "any_proc" => format!("proc:{}", sets.add(true, &label, &s.codes)),
                "statement" | "empty" => {
                    let tt = norm_title(title);
                    if tt.contains("无手术") {
                        "noorproc".into()
                    } else if tt.contains("WB1") && tt.contains("主要手术") {
                        let mut codes = Vec::new();
                        for w in ["WB1", "WB2", "WB3"] {
                            codes.extend(main_proc_sets.get(w).cloned().unwrap_or_default());
                        }
                        format!("pproc:{}", sets.add(true, &label, &codes))
                    } else {
                        "orproc".into()
                    }
                }
                other => bail!("ADRG {adrg}: unknown section role {other}"),
            })
        };
        let mut branches: Vec<Vec<String>> = Vec::new();
        let formulas = raw_formulas(&raw_detail, adrg);
        if !variants.is_empty() {
            for v in variants {
                let (_, vsecs) = &grouped[&(adrg.to_string(), v.clone())];
                let mut clauses = Vec::new();
                for s in vsecs {
                    clauses.push(atom_of(s, &mut sets)?);
                }
                branches.push(clauses);
            }
        } else if !formulas.is_empty()
            && secs
                .iter()
                .any(|s| norm_title(&s.title).contains("手术表") || s.title.contains("手术 "))
        {
            for f in formulas {
                let mut clauses = Vec::new();
                for part in f {
                    let part = part.replace("包含以下", "").replace('表', "");
                    let s = secs
                        .iter()
                        .find(|s| {
                            norm_title(s.title.split('\u{1}').nth(1).unwrap_or(""))
                                .replace('表', "")
                                == part
                        })
                        .with_context(|| {
                            format!("ADRG {adrg}: formula part {part} has no table")
                        })?;
                    clauses.push(atom_of(s, &mut sets)?);
                }
                branches.push(clauses);
            }
        } else {
            let mut clauses: Vec<String> = Vec::new();
            for s in secs {
                clauses.push(atom_of(s, &mut sets)?);
            }
            // "（主要诊断或其他诊断）+主要手术或操作": the first two tables are alternatives.
            let c = norm_title(cond);
            if (c.contains("（主要诊断或其他诊断）") || c.contains("(主要诊断或其他诊断)"))
                && clauses.len() >= 2
            {
                let first = clauses.remove(0);
                clauses[0] = format!("{first} | {}", clauses[0]);
            }
            branches.push(clauses);
        }
        let extra = {
            let mut e = name_conditions(name);
            let in_newborn = newborn_mdc.as_deref() == Some(adrg_mdc[adrg].as_str());
            if in_newborn && !e.iter().any(|c| c.starts_with("age_days")) {
                e.push("age_days<29".into());
            }
            e
        };
        if extra.iter().any(|c| c == "age_days>=29") {
            if let Some(a) = branches
                .first()
                .and_then(|b| b.iter().find(|c| c.starts_with("pdx:")))
            {
                infant_pdx_atom.insert(adrg.to_string(), a.clone());
            }
        }
        for mut b in branches {
            if kind == "surgical" && !b.iter().any(|c| c.contains("proc")) {
                b.push("orproc".into());
            }
            b.extend(extra.iter().cloned());
            writeln!(rule_lines, "{adrg}\t{}", b.join(" & "))?;
        }
    }

    // Entry rules of the MDCs that are not chosen by principal diagnosis alone. Each tests the
    // MDC's own table in the role its title gives (`pdx:` or `dx:`), so the reading follows
    // the version's wording (CHS-DRG 1.1 MDCY/MDCZ: 主要诊断; 2.0: 诊断).
    let mut entry_lines = String::new();
    let table = |mdc: &String| format!("{}:{}", mdc_table_role[mdc], mdc_set[mdc]);
    if let Some(p) = &newborn_mdc {
        writeln!(entry_lines, "{p}\tage_days<29 & {}", table(p))?;
        // Infants: only the diagnoses of the infant ADRG ("源于新生儿…诊断的婴儿疾病").
        if let Some((adrg, _)) = infant_pdx_atom.iter().next() {
            let atom = &infant_pdx_atom[adrg];
            writeln!(entry_lines, "{p}\tage_days>=29 & age_days<365 & {atom}")?;
        }
    }
    if let Some(y) = &hiv_mdc {
        writeln!(entry_lines, "{y}\t{}", table(y))?;
    }
    if let Some(z) = &trauma_mdc {
        writeln!(entry_lines, "{z}\t{} & regions>=2", table(z))?;
    }

    // Splits, from the suffixes present.
    let mut split_lines = String::new();
    for r in &adrgs {
        let adrg = col(r, "adrg_code");
        let mut v = suffixes.get(adrg).cloned().unwrap_or_default();
        v.sort();
        for (i, (suffix, drg)) in v.iter().enumerate() {
            let last = i + 1 == v.len();
            let cond = match suffix {
                _ if last => "true",
                1 => "mcc",
                3 => "cc",
                s => bail!("ADRG {adrg}: suffix {s} needs a split rule"),
            };
            writeln!(split_lines, "{adrg}\t{drg}\t{cond}")?;
        }
    }

    t.push_str("@set\n");
    for (i, (is_proc, label, codes)) in sets.lines.iter().enumerate() {
        writeln!(
            t,
            "{i}\t{}\t{}\t{}",
            if *is_proc { "proc" } else { "dx" },
            clean(label),
            codes.join(" ")
        )?;
    }
    t.push_str("@mdcdx\n");
    t.push_str(&mdcdx_lines);
    t.push_str("@region\n");
    t.push_str(&region_lines);
    for (sec, file) in [("mcc", "mcc.csv"), ("cc", "cc.csv")] {
        writeln!(t, "@{sec}")?;
        for r in read_csv(&source.join(file))? {
            writeln!(t, "{}\t{}", col(&r, "dx_code"), col(&r, "exclusion_table"))?;
        }
    }
    t.push_str("@cce\n");
    let mut cce: BTreeMap<u32, Vec<String>> = BTreeMap::new();
    for r in read_csv(&source.join("cc_exclusion.csv"))? {
        cce.entry(col(&r, "exclusion_table").parse()?)
            .or_default()
            .push(col(&r, "pdx_code").into());
    }
    for (k, v) in cce {
        writeln!(t, "{k}\t{}", v.join(" "))?;
    }
    // Maps of other editions, used only for codes that are not 医保版 2.0 codes.
    for (sec, files, known) in [
        (
            "map_dx",
            [
                "map_icd10_clinical_2.0_to_chs_2.0.csv",
                "map_icd10_chs_1.0_to_chs_2.0.csv",
            ],
            &dx,
        ),
        (
            "map_proc",
            [
                "map_icd9cm3_clinical_3.0_to_chs_2.0.csv",
                "map_icd9cm3_chs_1.0_to_chs_2.0.csv",
            ],
            &pr,
        ),
    ] {
        writeln!(t, "@{sec}")?;
        let mut seen = BTreeSet::new();
        for f in files {
            let mut rd = csv::Reader::from_path(icd.join(f))?;
            for rec in rd.records() {
                let rec = rec?;
                let (from, to) = (rec[0].trim(), rec[1].trim());
                if from.is_empty() || to.is_empty() || from == to {
                    continue;
                }
                if known.get(from).is_some_and(|(_, fl)| fl.contains(&'D')) {
                    continue;
                }
                if seen.insert(from.to_string()) {
                    writeln!(t, "{from}\t{to}")?;
                }
            }
        }
    }
    t.push_str("@entry\n");
    t.push_str(&entry_lines);
    t.push_str("@rule\n");
    t.push_str(&rule_lines);
    t.push_str("@split\n");
    t.push_str(&split_lines);

    std::fs::create_dir_all(out)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(t.as_bytes())?;
    let bytes = gz.finish()?;
    std::fs::write(out.join("tables.txt.gz"), bytes)?;
    let title = match version.as_str() {
        "chs-drg-2.0" => "CHS-DRG 2.0 (NHSA 2024: 26 MDC, 409 ADRG, 634 DRG)".to_string(),
        "chs-drg-1.1" => "CHS-DRG 1.1 (NHSA 2021: 26 MDC, 376 ADRG, 628 DRG)".to_string(),
        v => v.to_string(),
    };
    let manifest = format!(
        "# Shouwang DRG data pack. Generated by `shouwang drg build-pack`; do not edit by hand.\n\
         format = shouwang-drg-pack/2\n\
         version = {version}\n\
         title = {title}\n\
         default = {}\n\
         tables = tables.txt.gz\n\
         mdcs = {}\n\
         adrgs = {}\n\
         drgs = {}\n\
         source = NHSA {title}; tables compiled by the OpenDRG project (Apache-2.0), see NOTICE.md\n",
        version == "chs-drg-2.0",
        mdcs.len(),
        adrgs.len(),
        drgs.len()
    );
    std::fs::write(out.join("manifest.txt"), manifest)?;
    Ok(())
}
