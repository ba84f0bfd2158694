//! Synthetic but realistic stays for benchmarks: principal diagnoses from the MDC tables,
//! 0–15 secondary diagnoses (a share of them CC/MCC), 0–6 procedures with the principal one
//! taken from a surgical or non-OR ADRG of the stay's MDC, a few clinical-edition and unknown
//! codes. Built from the pack itself so it exercises every table.

use drg::{Stay, Version};
use std::collections::HashMap;

struct Tables {
    mdc_pdx: Vec<(String, Vec<String>)>,
    mdc_procs: HashMap<String, Vec<String>>,
    dx: Vec<String>,
    ccmcc: Vec<String>,
    procs: Vec<String>,
    mapped_dx: Vec<String>,
}

fn tables(version: &Version) -> anyhow::Result<Tables> {
    let text = version.pack_tables_text()?;
    let mut sets: Vec<Vec<String>> = Vec::new();
    let mut adrg_mdc: HashMap<String, String> = HashMap::new();
    let mut t = Tables {
        mdc_pdx: vec![],
        mdc_procs: HashMap::new(),
        dx: vec![],
        ccmcc: vec![],
        procs: vec![],
        mapped_dx: vec![],
    };
    let mut sec = "";
    for line in text.lines() {
        if let Some(s) = line.strip_prefix('@') {
            sec = s;
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        match sec {
            "adrg" => {
                adrg_mdc.insert(f[0].into(), f[1].into());
            }
            "dx" if f.get(2).is_some_and(|x| x.contains('D')) => t.dx.push(f[0].into()),
            "proc" if f.get(2).is_some_and(|x| x.contains('D')) => t.procs.push(f[0].into()),
            "set" => sets.push(f[3].split(' ').map(String::from).collect()),
            "mdcdx" => {
                let s: usize = f[1].parse()?;
                t.mdc_pdx.push((f[0].into(), sets[s].clone()));
            }
            "mcc" | "cc" => t.ccmcc.push(f[0].into()),
            "map_dx" if t.mapped_dx.len() < 5000 => t.mapped_dx.push(f[0].into()),
            "rule" => {
                let mdc = adrg_mdc.get(f[0]).cloned().unwrap_or_default();
                for atom in f[1].split(" & ").flat_map(|c| c.split(" | ")) {
                    if let Some(id) = atom.strip_prefix("pproc:").or(atom.strip_prefix("proc:")) {
                        let s: usize = id.parse()?;
                        t.mdc_procs
                            .entry(mdc.clone())
                            .or_default()
                            .extend(sets[s].iter().cloned());
                    }
                }
            }
            _ => {}
        }
    }
    // MDCA (transplants) is rare in real life; keep it out of the principal mix.
    t.mdc_procs.remove("MDCA");
    Ok(t)
}

/// xorshift: deterministic, dependency-free.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a>(&mut self, v: &'a [String]) -> &'a str {
        if v.is_empty() {
            ""
        } else {
            &v[self.below(v.len())]
        }
    }
    /// Skewed pick: code frequencies on real settlement lists are heavy-tailed (a few hundred
    /// diagnoses make most mentions), which matters for cache behaviour.
    fn pick_skewed<'a>(&mut self, v: &'a [String], skew: bool) -> &'a str {
        if !skew || v.is_empty() {
            return self.pick(v);
        }
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let rank = (v.len() as f64 * u * u * u) as usize;
        &v[rank.wrapping_mul(2_654_435_761) % v.len()]
    }
}

/// `n` stays, reproducible from `seed`, with heavy-tailed code frequencies.
pub fn realistic_stays(version: &Version, n: usize, seed: u64) -> anyhow::Result<Vec<Stay>> {
    stays(version, n, seed, true)
}

/// Like [`realistic_stays`] but every code equally likely: the cache-unfriendly worst case.
pub fn uniform_stays(version: &Version, n: usize, seed: u64) -> anyhow::Result<Vec<Stay>> {
    stays(version, n, seed, false)
}

fn stays(version: &Version, n: usize, seed: u64, skew: bool) -> anyhow::Result<Vec<Stay>> {
    let t = tables(version)?;
    let mut rng = Rng(seed | 1);
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let (mdc, pdx_pool) = &t.mdc_pdx[rng.below(t.mdc_pdx.len())];
        let newborn = mdc == "MDCP";
        let sex = Some(match mdc.as_str() {
            "MDCM" => 1,
            "MDCN" | "MDCO" => 2,
            _ => 1 + rng.below(2) as u8,
        });
        let age = if newborn { 0 } else { rng.below(96) as u32 };
        let mut s = Stay {
            sex,
            age_years: Some(age),
            // Age 0 needs the age in days (a mandatory field): an infant past 28 days.
            age_days: match (newborn, age) {
                (true, _) => Some(rng.below(28) as u32),
                (false, 0) => Some(29 + rng.below(336) as u32),
                _ => None,
            },
            birth_weight_g: newborn.then(|| 900 + rng.below(3500) as u32),
            los_days: Some(1 + rng.below(30) as u32),
            discharge_mode: Some(1),
            principal_dx: rng.pick_skewed(pdx_pool, skew).to_string(),
            ..Stay::default()
        };
        if rng.below(50) == 0 {
            s.principal_dx = rng.pick(&t.mapped_dx).to_string();
        }
        for _ in 0..rng.below(16) {
            let code = match rng.below(10) {
                0..=2 => rng.pick_skewed(&t.ccmcc, skew).to_string(),
                3 if rng.below(20) == 0 => "UNKNOWN.1".to_string(),
                _ => rng.pick_skewed(&t.dx, skew).to_string(),
            };
            s.secondary_dx.push(code);
        }
        let nproc = match rng.below(10) {
            0..=3 => 0,
            _ => 1 + rng.below(6),
        };
        for i in 0..nproc {
            let pool = match t.mdc_procs.get(mdc.as_str()) {
                Some(p) if i == 0 && rng.below(5) != 0 => p.as_slice(),
                _ => t.procs.as_slice(),
            };
            s.procedures.push(rng.pick_skewed(pool, skew).to_string());
        }
        out.push(s);
    }
    Ok(out)
}

/// The stay as a data row of cases.csv.
pub fn to_csv_row(id: usize, s: &Stay) -> String {
    let n = |v: Option<u32>| v.map(|x| x.to_string()).unwrap_or_default();
    format!(
        "c{id},{},{},{},{},{},{},{},{},{}",
        s.sex.map(|x| x.to_string()).unwrap_or_default(),
        n(s.age_years),
        n(s.age_days),
        n(s.birth_weight_g),
        n(s.los_days),
        s.discharge_mode.map(|x| x.to_string()).unwrap_or_default(),
        s.principal_dx,
        s.secondary_dx.join("|"),
        s.procedures.join("|")
    )
}
