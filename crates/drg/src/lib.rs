//! # drg — the CHS-DRG grouper of Shouwang
//!
//! "Same disease, same subsidy" rests on this crate: every subsidy is looked up by the DRG of
//! the stay, so the grouping must be reproducible, versioned and explainable.
//!
//! The engine is table driven: a CHS-DRG version is a *data pack* (manifest + tables) embedded
//! at build time from `packs/<version>/`; adding a folder there adds a version, no code change.
//! Packs are generated from the NHSA tables by `shouwang drg build-pack` (see `docs/drg.md`).
//!
//! ## Stable API (used by other crates)
//!
//! ```
//! use drg::{Grouper, Stay, Version};
//! let version: Version = "chs-drg-2.0".parse().unwrap();   // or Version::default()
//! assert!(Version::available().iter().any(|v| v.as_str() == "chs-drg-1.1"));
//! let g = Grouper::load(&version).unwrap();
//! // Catalogue: DRG code, Chinese name, ADRG, MDC, suffix; ADRG code/name/MDC.
//! let drg = g.catalog().drg("FR35").unwrap();
//! assert_eq!((drg.adrg.as_str(), drg.mdc.as_str(), drg.suffix), ("FR3", "MDCF", 5));
//! assert_eq!(drg.name, "肺栓塞，不伴合并症或并发症");
//! assert_eq!(g.catalog().adrgs().len(), 409);
//! // Grouping: `group` records a trace, `group_fast` does not (for throughput).
//! let stay = Stay { principal_dx: "I63.900".into(), sex: Some(1), age_years: Some(70),
//!                   ..Stay::default() };
//! let res = g.group(&stay);
//! assert_eq!(g.drg_code(&res.outcome), "BR25");
//! for line in g.explain(&res) { println!("{line}"); }
//! assert_eq!(g.group_fast(&stay), res.outcome);
//! ```
//!
//! Pure: no I/O apart from decoding the embedded pack bytes.

mod engine;
mod fast;
mod model;
mod pack;
mod trace;

pub use engine::{Mandatory, MissingFields, Outcome, Reason, Status};
pub use model::{AdrgKind, Atom, Cmp, NumField};
pub use pack::{Manifest, PackError};
pub use trace::{Evidence, Field, Step};

use std::borrow::Cow;
use std::sync::Arc;

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// A CHS-DRG version, identified by the folder name of its data pack (e.g. `chs-drg-2.0`).
/// It is a string, not an enum, because versions are data: a city's refinement or CHS-DRG 3.0
/// arrives as a new pack.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Version(String);

impl Version {
    /// CHS-DRG 2.0 (NHSA 2024), the platform default.
    pub fn chs_drg_2_0() -> Version {
        Version("chs-drg-2.0".into())
    }
    /// CHS-DRG 1.1 (NHSA 2021), still used by programmes that have not migrated.
    pub fn chs_drg_1_1() -> Version {
        Version("chs-drg-1.1".into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
    /// The decompressed tables of the embedded pack, for tooling and tests that need to read
    /// the rule tables themselves (e.g. to build cases from them); grouping never needs this.
    pub fn pack_tables_text(&self) -> Result<String, PackError> {
        let (_, _, tables) = EMBEDDED
            .iter()
            .find(|(n, _, _)| *n == self.as_str())
            .ok_or_else(|| unknown_version(self.as_str()))?;
        pack::decompress(tables)
    }
    /// Every version for which a pack is embedded in this binary.
    pub fn available() -> Vec<Version> {
        EMBEDDED
            .iter()
            .map(|(name, _, _)| Version(name.to_string()))
            .collect()
    }
}

impl Default for Version {
    fn default() -> Self {
        Version::chs_drg_2_0()
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for Version {
    type Err = PackError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if EMBEDDED.iter().any(|(name, _, _)| *name == s) {
            Ok(Version(s.to_string()))
        } else {
            Err(unknown_version(s))
        }
    }
}

fn unknown_version(s: &str) -> PackError {
    let names: Vec<&str> = EMBEDDED.iter().map(|(n, _, _)| *n).collect();
    PackError::UnknownVersion(s.to_string(), names.join(", "))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MdcEntry {
    pub code: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdrgEntry {
    pub code: String,
    pub mdc: String,
    pub name: String,
    pub kind: AdrgKind,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrgEntry {
    pub code: String,
    pub name: String,
    pub adrg: String,
    pub mdc: String,
    /// 1 with MCC, 3 with CC (or CC/MCC), 5 without, 9 not split.
    pub suffix: u8,
}

/// The groups of one version, in pack order; what the actuarial side prices.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    version: String,
    mdcs: Vec<MdcEntry>,
    adrgs: Vec<AdrgEntry>,
    drgs: Vec<DrgEntry>,
}

impl Catalog {
    pub fn version(&self) -> &str {
        &self.version
    }
    pub fn mdcs(&self) -> &[MdcEntry] {
        &self.mdcs
    }
    pub fn adrgs(&self) -> &[AdrgEntry] {
        &self.adrgs
    }
    pub fn drgs(&self) -> &[DrgEntry] {
        &self.drgs
    }
    pub fn drg(&self, code: &str) -> Option<&DrgEntry> {
        self.drgs.iter().find(|d| d.code == code)
    }
    pub fn adrg(&self, code: &str) -> Option<&AdrgEntry> {
        self.adrgs.iter().find(|d| d.code == code)
    }
}

/// One hospital stay as the settlement list (结算清单) records it. Unknown numbers are `None`.
///
/// Sex, age (in years, or in days), the age in days when the age in years is 0, and the
/// birth weight of a newborn (age in days ≤ 28) are mandatory: a stay lacking one is
/// ungroupable with [`Reason::MissingFields`] naming it (see [`MissingFields::of`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Stay {
    /// GB/T 2261.1: 1 male, 2 female; anything else (0 unknown, 9 unstated) is missing.
    pub sex: Option<u8>,
    pub age_years: Option<u32>,
    pub age_days: Option<u32>,
    pub birth_weight_g: Option<u32>,
    pub los_days: Option<u32>,
    pub discharge_mode: Option<u8>,
    pub principal_dx: String,
    pub secondary_dx: Vec<String>,
    /// Principal procedure first.
    pub procedures: Vec<String>,
}

/// Result of [`Grouper::group`]: the outcome plus the ordered steps that decided it.
#[derive(Clone, Debug, PartialEq)]
pub struct Grouping {
    pub outcome: Outcome,
    pub trace: Vec<Step>,
}

/// A loaded pack, ready to group. Cheap to clone (shared tables).
#[derive(Clone)]
pub struct Grouper {
    m: Arc<model::Model>,
}

/// A match of [`Grouper::search`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchHit {
    Diagnosis { code: String, name: String },
    Procedure { code: String, name: String },
    Drg(DrgEntry),
    Adrg(AdrgEntry),
}

impl Grouper {
    /// Loads the embedded pack of `version`.
    pub fn load(version: &Version) -> Result<Grouper, PackError> {
        let (_, manifest, tables) = EMBEDDED
            .iter()
            .find(|(n, _, _)| *n == version.as_str())
            .ok_or_else(|| unknown_version(version.as_str()))?;
        Grouper::from_pack(manifest, tables)
    }

    /// Loads a pack given as bytes (manifest text, gzip'd tables), e.g. a pack under test.
    pub fn from_pack(manifest: &[u8], tables_gz: &[u8]) -> Result<Grouper, PackError> {
        let manifest = Manifest::parse(manifest)?;
        let text = pack::decompress(tables_gz)?;
        let raw = pack::RawTables::parse_text(&text)?;
        Ok(Grouper {
            m: Arc::new(model::Model::load(manifest, &raw)?),
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.m.manifest
    }

    pub fn catalog(&self) -> &Catalog {
        &self.m.catalog
    }

    /// Groups with a full trace (for `explain` and for coders answering residents).
    pub fn group(&self, stay: &Stay) -> Grouping {
        let mut t = trace::VecTracer(Vec::new());
        let outcome = engine::group(&self.m, stay, &mut t);
        Grouping {
            outcome,
            trace: t.0,
        }
    }

    /// Groups without recording a trace; same outcome as [`Grouper::group`].
    pub fn group_fast(&self, stay: &Stay) -> Outcome {
        fast::group(&self.m, stay)
    }

    /// Groups many stays, appending one outcome per stay to `out` (each what
    /// [`Grouper::group_fast`] gives). Faster than calling `group_fast` in a loop: the table
    /// and input memory of the next stays is fetched while a stay is grouped.
    pub fn group_many_into(&self, stays: &[Stay], out: &mut Vec<Outcome>) {
        fast::group_many(&self.m, stays, out)
    }

    /// [`Grouper::group_many_into`] into a new vector.
    pub fn group_many(&self, stays: &[Stay]) -> Vec<Outcome> {
        let mut out = Vec::with_capacity(stays.len());
        self.group_many_into(stays, &mut out);
        out
    }

    pub fn mdc_code(&self, o: &Outcome) -> &str {
        o.mdc
            .map(|m| self.m.catalog.mdcs[m as usize].code.as_str())
            .unwrap_or("")
    }
    pub fn adrg_code(&self, o: &Outcome) -> &str {
        o.adrg
            .map(|a| self.m.catalog.adrgs[a as usize].code.as_str())
            .unwrap_or("")
    }
    /// DRG code; `<MDC letter>QY` for the ambiguous group, `0000` when ungroupable.
    pub fn drg_code(&self, o: &Outcome) -> Cow<'_, str> {
        match (o.status, o.drg, o.mdc) {
            (Status::Grouped, Some(d), _) => Cow::Borrowed(&self.m.catalog.drgs[d as usize].code),
            (Status::Qy, _, Some(m)) => {
                let code = &self.m.catalog.mdcs[m as usize].code;
                Cow::Owned(format!("{}QY", code.chars().last().unwrap_or('?')))
            }
            _ => Cow::Borrowed("0000"),
        }
    }
    pub fn drg_name(&self, o: &Outcome) -> Cow<'_, str> {
        match (o.status, o.drg) {
            (Status::Grouped, Some(d)) => Cow::Borrowed(&self.m.catalog.drgs[d as usize].name),
            (Status::Qy, _) => Cow::Borrowed("歧义组"),
            _ => Cow::Borrowed("未入组"),
        }
    }
    /// Why a stay is QY or ungroupable, in words; empty when grouped.
    pub fn reason_text(&self, o: &Outcome) -> String {
        trace::reason_text(&self.m, o)
    }
    /// The trace rendered as numbered lines.
    pub fn explain(&self, g: &Grouping) -> Vec<String> {
        let mut out: Vec<String> = g
            .trace
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{:>2}. {}", i + 1, trace::render(&self.m, s)))
            .collect();
        out.push(format!(
            "=> {} {} {} ({})",
            self.mdc_code(&g.outcome),
            self.drg_code(&g.outcome),
            self.drg_name(&g.outcome),
            g.outcome.status.as_str()
        ));
        out
    }
    /// Renders one step of a trace.
    pub fn render_step(&self, s: &Step) -> String {
        trace::render(&self.m, s)
    }

    /// The name of a diagnosis code of the pack's ICD-10 dictionary (exact code).
    pub fn diagnosis_name(&self, code: &str) -> Option<&str> {
        self.m.dx.find(code).map(|(id, _)| self.m.dx.name(id))
    }

    /// The name of a procedure code of the pack's ICD-9-CM-3 dictionary (exact code).
    pub fn procedure_name(&self, code: &str) -> Option<&str> {
        self.m.proc.find(code).map(|(id, _)| self.m.proc.name(id))
    }

    /// Finds diagnosis and procedure codes, ADRGs and DRGs by code prefix or name substring.
    pub fn search(&self, query: &str, limit: usize) -> Vec<SearchHit> {
        let q = query.trim();
        let mut hits = Vec::new();
        if q.is_empty() {
            return hits;
        }
        // Codes are matched by prefix regardless of case: the 医保版 dictionaries write the
        // extension marker in lower case ("I63.900x001"), people type either.
        let matches = |code: &str, name: &str| {
            let head = code.get(..q.len());
            head.is_some_and(|h| h.eq_ignore_ascii_case(q)) || name.contains(q)
        };
        for d in &self.m.catalog.drgs {
            if matches(&d.code, &d.name) {
                hits.push(SearchHit::Drg(d.clone()));
            }
        }
        for a in &self.m.catalog.adrgs {
            if matches(&a.code, &a.name) {
                hits.push(SearchHit::Adrg(a.clone()));
            }
        }
        for (table, is_proc) in [(&self.m.dx, false), (&self.m.proc, true)] {
            for id in 0..table.info.len() as u32 {
                let (code, name) = (table.code(id), table.name(id));
                if !name.is_empty() && matches(code, name) {
                    let (code, name) = (code.to_string(), name.to_string());
                    hits.push(if is_proc {
                        SearchHit::Procedure { code, name }
                    } else {
                        SearchHit::Diagnosis { code, name }
                    });
                }
            }
        }
        hits.truncate(limit);
        hits
    }
}

#[cfg(test)]
mod hash_quality {
    /// The code hash must spread the real code sets: no two codes of a pack share a 64-bit
    /// hash, probe runs stay short, and every code is found with its own record.
    #[test]
    fn code_hash_spreads_the_real_codes() {
        for v in crate::Version::available() {
            let g = crate::Grouper::load(&v).unwrap();
            for t in [&g.m.dx, &g.m.proc] {
                let mut full = std::collections::HashSet::new();
                let (mut longest, mut total, mut keyed) = (0usize, 0usize, 0usize);
                for (id, info) in t.info.iter().enumerate() {
                    let code = t.code(id as u32);
                    let slot = t.find_slot(code).unwrap();
                    assert_eq!(slot.id, id as u32, "{v}: {code}");
                    assert_eq!(t.hot(id as u32).sets, info.sets);
                    // The slot's role lists: the code's tables some rule tests in each role.
                    let global = &t.set_ids[info.sets.0 as usize..info.sets.1 as usize];
                    let role = |k: usize| -> Vec<u16> {
                        global
                            .iter()
                            .map(|&s| g.m.program.roles(s)[k])
                            .filter(|&r| r != crate::fast::UNUSED)
                            .collect()
                    };
                    let (first, second) = slot.roles(t);
                    assert_eq!((first.to_vec(), second.to_vec()), (role(0), role(1)));
                    let Some(k) = crate::model::code_key(code) else {
                        continue;
                    };
                    assert!(
                        full.insert(crate::model::slot_hash(k)),
                        "{v}: 64-bit hash collision"
                    );
                    // Linear probing: the run from the home slot to the code's slot stays short.
                    let mut i = crate::model::slot_hash(k) & t.slot_mask;
                    let mut run = 0;
                    while t.slots[i].key != k {
                        i = (i + 1) & t.slot_mask;
                        run += 1;
                    }
                    longest = longest.max(run);
                    total += run;
                    keyed += 1;
                }
                assert!(longest < 32, "{v}: probe run of {longest}");
                assert!(total < keyed, "{v}: mean probe run {total}/{keyed}");
                // Codes without a packed key are looked up by string: in the national packs
                // only two malformed 2.0 codes with a name glued on.
                let unkeyed = (0..t.info.len() as u32)
                    .filter(|&id| crate::model::code_key(t.code(id)).is_none())
                    .count();
                assert!(unkeyed <= 2, "{v}: {unkeyed} codes without key");
            }
        }
    }

    #[test]
    fn code_keys_are_injective_on_edge_cases() {
        use crate::model::code_key;
        assert_eq!(code_key(""), None);
        assert_eq!(code_key(&"A".repeat(19)), None);
        assert_eq!(code_key("A01.002+G01.0* X"), None);
        let mut seen = std::collections::HashMap::new();
        let mut codes: Vec<String> = ["A", "A\0", "\0", "A B", "é", "A01", "A01.002+G01*"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for n in 1..=18 {
            codes.push("9".repeat(n));
            codes.push(format!("{}\0", "~".repeat(n - 1)));
            codes.push(format!("{}A", "\0".repeat(n - 1)));
            codes.push(format!("A{}", "\0".repeat(n - 1)));
        }
        for c in codes {
            if let Some(k) = code_key(&c) {
                assert_ne!(k, 0);
                if let Some(other) = seen.insert(k, c.clone()) {
                    assert_eq!(other, c, "same key");
                }
            }
        }
        assert!(seen.len() > 60);
    }
}
