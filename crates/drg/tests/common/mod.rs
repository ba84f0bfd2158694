//! Test-side reader of a pack's tables. It parses the text independently of the engine so
//! that the coverage tests build their cases from the rule tables, not from engine internals.
#![allow(dead_code)]

use drg::{Grouper, Stay, Version};
use std::collections::HashMap;
use std::sync::OnceLock;

pub struct PackText {
    pub sets: Vec<(bool, String, Vec<String>)>,
    /// (ADRG, clauses of atoms) in pack order; one entry per OR-branch.
    pub rules: Vec<(String, Vec<Vec<String>>)>,
    pub adrgs: Vec<(String, String, String)>,
    pub drgs: Vec<(String, String, u8)>,
    pub mdc_sex: HashMap<String, Option<u8>>,
    pub mdc_set: HashMap<String, usize>,
    /// `pdx` or `dx`: whether the MDC's table is read on the principal or on any diagnosis.
    pub mdc_role: HashMap<String, String>,
    pub entries: Vec<(String, String)>,
    pub regions: Vec<(String, usize)>,
    pub mcc: Vec<(String, u16)>,
    pub cc: Vec<(String, u16)>,
    pub cce: HashMap<String, u16>,
    pub or_procs: Vec<String>,
    pub dx_flags: HashMap<String, String>,
    pub proc_flags: HashMap<String, String>,
}

impl PackText {
    pub fn parse(text: &str) -> PackText {
        let mut p = PackText {
            sets: vec![],
            rules: vec![],
            adrgs: vec![],
            drgs: vec![],
            mdc_sex: HashMap::new(),
            mdc_set: HashMap::new(),
            mdc_role: HashMap::new(),
            entries: vec![],
            regions: vec![],
            mcc: vec![],
            cc: vec![],
            cce: HashMap::new(),
            or_procs: vec![],
            dx_flags: HashMap::new(),
            proc_flags: HashMap::new(),
        };
        let mut sec = String::new();
        for line in text.lines() {
            if let Some(s) = line.strip_prefix('@') {
                sec = s.to_string();
                continue;
            }
            let f: Vec<&str> = line.split('\t').collect();
            match sec.as_str() {
                "mdc" => {
                    p.mdc_sex
                        .insert(f[0].into(), f.get(2).and_then(|s| s.parse().ok()));
                }
                "adrg" => p.adrgs.push((f[0].into(), f[1].into(), f[2].into())),
                "drg" => p
                    .drgs
                    .push((f[0].into(), f[1].into(), f[2].parse().unwrap())),
                "dx" => {
                    p.dx_flags
                        .insert(f[0].into(), f.get(2).unwrap_or(&"").to_string());
                }
                "proc" => {
                    let flags = f.get(2).unwrap_or(&"").to_string();
                    if flags.contains('O') {
                        p.or_procs.push(f[0].into());
                    }
                    p.proc_flags.insert(f[0].into(), flags);
                }
                "set" => p.sets.push((
                    f[1] == "proc",
                    f[2].into(),
                    f[3].split(' ')
                        .filter(|c| !c.is_empty())
                        .map(String::from)
                        .collect(),
                )),
                "mdcdx" => {
                    p.mdc_set.insert(f[0].into(), f[1].parse().unwrap());
                    p.mdc_role
                        .insert(f[0].into(), f.get(2).unwrap_or(&"pdx").to_string());
                }
                "region" => p.regions.push((f[0].into(), f[1].parse().unwrap())),
                "mcc" => p.mcc.push((f[0].into(), f[1].parse().unwrap())),
                "cc" => p.cc.push((f[0].into(), f[1].parse().unwrap())),
                "cce" => {
                    let t: u16 = f[0].parse().unwrap();
                    for c in f[1].split(' ') {
                        p.cce.insert(c.into(), t);
                    }
                }
                "entry" => p.entries.push((f[0].into(), f[1].into())),
                "rule" => p.rules.push((
                    f[0].into(),
                    f[1].split(" & ")
                        .map(|c| c.split(" | ").map(String::from).collect())
                        .collect(),
                )),
                _ => {}
            }
        }
        p
    }

    pub fn adrg_mdc(&self, adrg: &str) -> &str {
        &self.adrgs.iter().find(|a| a.0 == adrg).unwrap().1
    }

    pub fn set(&self, atom: &str) -> &[String] {
        let id: usize = atom.split(':').nth(1).unwrap().parse().unwrap();
        &self.sets[id].2
    }

    pub fn in_set(&self, set: usize, code: &str) -> bool {
        self.sets[set].2.iter().any(|c| c == code)
    }

    pub fn newborn_mdc(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, e)| e.contains("age_days"))
            .map(|(m, _)| m.as_str())
    }
    pub fn trauma_mdc(&self) -> Option<&str> {
        self.entries
            .iter()
            .find(|(_, e)| e.contains("regions"))
            .map(|(m, _)| m.as_str())
    }
}

pub struct Loaded {
    pub grouper: Grouper,
    pub pack: PackText,
}

pub fn v20() -> &'static Loaded {
    static L: OnceLock<Loaded> = OnceLock::new();
    L.get_or_init(|| load(Version::chs_drg_2_0()))
}

pub fn v11() -> &'static Loaded {
    static L: OnceLock<Loaded> = OnceLock::new();
    L.get_or_init(|| load(Version::chs_drg_1_1()))
}

fn load(v: Version) -> Loaded {
    Loaded {
        grouper: Grouper::load(&v).unwrap(),
        pack: PackText::parse(&v.pack_tables_text().unwrap()),
    }
}

/// Small deterministic generator so that failures reproduce.
pub struct Rng(pub u64);
impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn pick<'a>(&mut self, v: &'a [String]) -> &'a str {
        &v[self.below(v.len())]
    }
}

/// Builds a stay that satisfies one OR-branch of an ADRG rule, choosing codes from the rule's
/// own tables; `rng` varies the choices between attempts.
pub fn case_for_branch(p: &PackText, adrg: &str, clauses: &[Vec<String>], rng: &mut Rng) -> Stay {
    let mdc = p.adrg_mdc(adrg).to_string();
    let mdc_table = p.mdc_set.get(&mdc).copied();
    let mut stay = Stay {
        sex: p
            .mdc_sex
            .get(&mdc)
            .copied()
            .flatten()
            .or(Some(1 + rng.below(2) as u8)),
        age_years: Some(20 + rng.below(60) as u32),
        ..Stay::default()
    };
    if p.newborn_mdc() == Some(mdc.as_str()) {
        stay.age_years = Some(0);
        stay.age_days = Some(rng.below(28) as u32);
        stay.birth_weight_g = Some(2600 + rng.below(1400) as u32);
    }
    let mut pdx: Option<String> = None;
    let mut main_proc: Option<String> = None;
    for clause in clauses {
        let atom = &clause[rng.below(clause.len())];
        let (kind, _) = atom.split_once(':').unwrap_or((atom.as_str(), ""));
        match kind {
            "pdx" | "dx" => {
                let set = p.set(atom);
                let inside: Vec<String> = match mdc_table {
                    Some(t) => set.iter().filter(|c| p.in_set(t, c)).cloned().collect(),
                    None => vec![],
                };
                if kind == "pdx" || (!inside.is_empty() && rng.below(2) == 0) {
                    let from = if inside.is_empty() {
                        set.to_vec()
                    } else {
                        inside
                    };
                    pdx = Some(rng.pick(&from).to_string());
                } else {
                    stay.secondary_dx.push(rng.pick(set).to_string());
                }
            }
            "sdx" => stay.secondary_dx.push(rng.pick(p.set(atom)).to_string()),
            "pproc" => main_proc = Some(rng.pick(p.set(atom)).to_string()),
            "proc" => stay.procedures.push(rng.pick(p.set(atom)).to_string()),
            "orproc" => stay.procedures.push(rng.pick(&p.or_procs).to_string()),
            _ => {
                if let Some(v) = atom.strip_prefix("age_days<") {
                    let v: u32 = v.parse().unwrap();
                    stay.age_days = Some(rng.below(v as usize) as u32);
                    stay.age_years = Some(0);
                } else if atom.starts_with("age_days>=29") {
                    stay.age_days = Some(29 + rng.below(300) as u32);
                    stay.age_years = Some(0);
                } else if let Some(v) = atom.strip_prefix("bw<=") {
                    stay.birth_weight_g = Some(v.parse::<u32>().unwrap() - rng.below(400) as u32);
                } else if let Some(v) = atom.strip_prefix("bw<") {
                    stay.birth_weight_g =
                        Some(v.parse::<u32>().unwrap() - 1 - rng.below(500) as u32);
                }
            }
        }
    }
    // Lower bounds last so that they win over the band's upper bound.
    for clause in clauses {
        for atom in clause {
            if let Some(v) = atom.strip_prefix("bw>=") {
                let lo: u32 = v.parse().unwrap();
                if stay.birth_weight_g.is_none_or(|w| w < lo) {
                    stay.birth_weight_g = Some(lo + rng.below(400) as u32);
                }
            } else if let Some(v) = atom.strip_prefix("bw>") {
                let lo: u32 = v.parse().unwrap();
                if stay.birth_weight_g.is_none_or(|w| w <= lo) {
                    stay.birth_weight_g = Some(lo + 1 + rng.below(1000) as u32);
                }
            }
        }
    }
    let pdx = pdx.unwrap_or_else(|| match mdc_table {
        Some(t) => rng.pick(&p.sets[t].2).to_string(),
        None => {
            let t = p.mdc_set.values().copied().min().unwrap();
            rng.pick(&p.sets[t].2).to_string()
        }
    });
    if p.trauma_mdc() == Some(mdc.as_str()) {
        // A second body region, as the multiple-trauma entry requires.
        let other: Vec<&(String, usize)> = p
            .regions
            .iter()
            .filter(|(_, s)| !p.in_set(*s, &pdx))
            .collect();
        let (_, s) = other[rng.below(other.len())];
        stay.secondary_dx.push(rng.pick(&p.sets[*s].2).to_string());
    }
    stay.principal_dx = pdx;
    if let Some(m) = main_proc {
        stay.procedures.insert(0, m);
    }
    stay
}
