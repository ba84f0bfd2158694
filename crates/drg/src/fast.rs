//! The untraced grouping path used for throughput (`Grouper::group_fast`, `drg group`).
//!
//! Same algorithm and same outcome as the traced engine in `engine.rs` (which stays the
//! reference: tests compare the two on every case and on large random samples), organised
//! for speed:
//!
//! * every code of the stay is hashed first and its slot prefetched, so the cache misses of
//!   the ~10 code lookups of a stay overlap instead of queueing;
//! * a slot (one cache line) holds everything grouping reads about a code, its tables
//!   included;
//! * every fact a rule can test becomes one bit of a per-stay bitset: the tables of the
//!   principal diagnosis, of the secondary diagnoses, of any diagnosis, of the principal
//!   procedure and of any procedure, plus one bit per distinct non-table atom of the pack
//!   (age bands, MCC, OR procedure…). Rules are compiled at load into a flat list of bit
//!   numbers, so evaluating a rule is a short loop of bit tests with no dispatch (the traced
//!   engine scans code lists to find the evidence it reports);
//! * nothing is allocated and no trace value is built.

use crate::engine::{Outcome, Reason, Status};
use crate::model::{
    code_key, AdrgData, AdrgKind, Atom, Cmp, CodeSet, CodeTable, Expr, Model, NumField, Slot,
    DIRECT, DX_INVALID_PDX, PROC_EXCLUDED, PROC_OR,
};
use crate::Stay;

/// Codes per list whose slot is prefetched before any is read (the rest are looked up as
/// they come; realistic stays have at most 15 secondary diagnoses and 6 procedures).
const AHEAD_SDX: usize = 20;
const AHEAD_PROC: usize = 12;

/// Marks the last atom of an OR-clause in [`Program::code`].
const CLAUSE_END: u32 = 1 << 31;
/// Marks the last atom of a rule (of one OR-branch of an ADRG rule).
const RULE_END: u32 = 1 << 30;
const BIT: u32 = RULE_END - 1;

/// The pack's rules compiled to bit tests over the per-stay fact bitset, whose layout is:
/// tables of the principal diagnosis, of the secondary diagnoses, of any diagnosis (each
/// over the diagnosis tables), of the principal procedure, of any procedure (each over the
/// procedure tables), then the non-table atoms.
///
/// ADRGs are numbered by evaluation position (the pre-MDC list, then each MDC's surgical,
/// non-OR and medical lists). Most ADRG rules require the principal diagnosis, or the
/// principal procedure, to be in one table (a one-atom clause of every OR-branch); such an
/// ADRG is a candidate of the stay only when that code is in the table. The candidates are
/// collected per stay from the few tables of the two codes, so a list is searched by
/// visiting its candidates only, instead of testing every ADRG of the MDC.
pub(crate) struct Program {
    /// Words of the fact bitset and of the candidate bitset, whichever is larger.
    words: usize,
    sdx_base: u32,
    dx_base: u32,
    main_proc_base: u32,
    proc_base: u32,
    scalar_base: u32,
    /// Distinct non-table atoms; atom i is fact `scalar_base + i`.
    scalars: Vec<Atom>,
    /// Every rule: fact numbers with `CLAUSE_END` / `RULE_END` marks.
    code: Vec<u32>,
    /// ADRGs by evaluation position: (ADRG, its OR-branches in `code`).
    order: Vec<(u16, u32, u32)>,
    /// Per MDC and ADRG kind: its positions.
    ranges: Vec<[(u32, u32); 4]>,
    /// Positions that are always candidates (no gate).
    open: Vec<u64>,
    /// Per diagnosis table (numbered among diagnosis tables): the positions it makes
    /// candidates when it lists the principal diagnosis, as a range of `gate_pos`.
    dx_gate: Vec<(u32, u32)>,
    /// Same per procedure table, for the principal procedure.
    proc_gate: Vec<(u32, u32)>,
    gate_pos: Vec<u16>,
    /// Entry rules in order: (MDC, rule in `code`).
    entries: Vec<(u16, u32, u32)>,
    /// Per ADRG: its split rules, a range of `splits`.
    adrg_splits: Vec<(u32, u32)>,
    /// (DRG, rule in `code`).
    splits: Vec<(u16, u32, u32)>,
}

impl Program {
    pub(crate) fn compile(
        sets: &[CodeSet],
        set_local: &[u16],
        entries: &[(u16, Expr)],
        adrg: &[AdrgData],
        mdc_adrgs: &[[Vec<u16>; 4]],
    ) -> Program {
        let n_dx = sets.iter().filter(|s| !s.is_proc).count();
        let n_proc = sets.len() - n_dx;
        let (dxw, pw) = (n_dx.div_ceil(64) as u32, n_proc.div_ceil(64) as u32);
        let mut p = Program {
            words: 0,
            sdx_base: dxw * 64,
            dx_base: 2 * dxw * 64,
            main_proc_base: 3 * dxw * 64,
            proc_base: (3 * dxw + pw) * 64,
            scalar_base: (3 * dxw + 2 * pw) * 64,
            scalars: Vec::new(),
            code: Vec::new(),
            order: Vec::new(),
            ranges: Vec::new(),
            open: Vec::new(),
            dx_gate: Vec::new(),
            proc_gate: Vec::new(),
            gate_pos: Vec::new(),
            entries: Vec::new(),
            adrg_splits: Vec::new(),
            splits: Vec::new(),
        };
        for (mdc, e) in entries {
            let start = p.code.len() as u32;
            p.emit(e, set_local);
            p.entries.push((*mdc, start, p.code.len() as u32));
        }
        let mut rules = Vec::with_capacity(adrg.len());
        for a in adrg {
            let start = p.code.len() as u32;
            for b in &a.branches {
                p.emit(b, set_local);
            }
            rules.push((start, p.code.len() as u32));
            let first = p.splits.len() as u32;
            for (e, drg) in &a.splits {
                let start = p.code.len() as u32;
                p.emit(e, set_local);
                p.splits.push((*drg, start, p.code.len() as u32));
            }
            p.adrg_splits.push((first, p.splits.len() as u32));
        }

        // Evaluation positions, and the gate of each.
        let mut dx_gates: Vec<Vec<u16>> = vec![Vec::new(); n_dx];
        let mut proc_gates: Vec<Vec<u16>> = vec![Vec::new(); n_proc];
        let mut open = Vec::new();
        let mut place = |p: &mut Program, a: u16| {
            let pos = p.order.len();
            p.order.push((a, rules[a as usize].0, rules[a as usize].1));
            match gate(&adrg[a as usize]) {
                Some(Atom::Pdx(s)) => dx_gates[set_local[s as usize] as usize].push(pos as u16),
                Some(Atom::MainProc(s)) => {
                    proc_gates[set_local[s as usize] as usize].push(pos as u16)
                }
                _ => open.push(pos),
            }
        };
        for kinds in mdc_adrgs {
            let mut r = [(0, 0); 4];
            for (kind, list) in kinds.iter().enumerate() {
                let lo = p.order.len() as u32;
                for &a in list {
                    place(&mut p, a);
                }
                r[kind] = (lo, p.order.len() as u32);
            }
            p.ranges.push(r);
        }
        p.open = vec![0; p.order.len().div_ceil(64)];
        for pos in open {
            p.open[pos / 64] |= 1 << (pos % 64);
        }
        for (gates, out) in [(dx_gates, 0), (proc_gates, 1)] {
            for g in gates {
                let start = p.gate_pos.len() as u32;
                p.gate_pos.extend(g);
                let range = (start, p.gate_pos.len() as u32);
                if out == 0 {
                    p.dx_gate.push(range);
                } else {
                    p.proc_gate.push(range);
                }
            }
        }

        let bits = p.scalar_base as usize + p.scalars.len();
        p.words = if bits < BIT as usize && p.order.len() <= u16::MAX as usize {
            bits.div_ceil(64).max(p.open.len())
        } else {
            usize::MAX
        };
        p
    }

    fn emit(&mut self, e: &Expr, set_local: &[u16]) {
        for clause in &e.clauses {
            for (i, a) in clause.iter().enumerate() {
                let local = |s: u32| set_local[s as usize] as u32;
                let fact = match *a {
                    Atom::Pdx(s) => local(s),
                    Atom::Sdx(s) => self.sdx_base + local(s),
                    Atom::AnyDx(s) => self.dx_base + local(s),
                    Atom::MainProc(s) => self.main_proc_base + local(s),
                    Atom::AnyProc(s) => self.proc_base + local(s),
                    other => {
                        let i = match self.scalars.iter().position(|x| *x == other) {
                            Some(i) => i,
                            None => {
                                self.scalars.push(other);
                                self.scalars.len() - 1
                            }
                        };
                        self.scalar_base + i as u32
                    }
                };
                let end = if i + 1 == clause.len() { CLAUSE_END } else { 0 };
                self.code.push(fact.min(BIT) | end);
            }
        }
        if let Some(last) = self.code.last_mut() {
            *last |= RULE_END;
        }
    }

    /// The first candidate in `range` whose rule holds.
    #[inline(always)]
    fn first_match<const N: usize>(
        &self,
        (lo, hi): (u32, u32),
        cand: &Facts<N>,
        f: &Facts<N>,
    ) -> Option<u16> {
        let mut w = lo / 64;
        while w * 64 < hi {
            let mut bits = cand.0[w as usize & (N - 1)];
            if w == lo / 64 {
                bits &= u64::MAX << (lo % 64);
            }
            if (w + 1) * 64 > hi {
                bits &= u64::MAX >> (64 - hi % 64);
            }
            while bits != 0 {
                let pos = w * 64 + bits.trailing_zeros();
                bits &= bits - 1;
                let (a, start, end) = self.order[pos as usize];
                if f.holds(&self.code[start as usize..end as usize]) {
                    return Some(a);
                }
            }
            w += 1;
        }
        None
    }
}

/// The gate of an ADRG: a principal-diagnosis or principal-procedure table test that is a
/// whole clause of every OR-branch of its rule (the diagnosis preferred), if there is one.
fn gate(a: &AdrgData) -> Option<Atom> {
    let mut common: Option<Vec<Atom>> = None;
    for b in &a.branches {
        let units: Vec<Atom> = b
            .clauses
            .iter()
            .filter(|c| c.len() == 1)
            .map(|c| c[0])
            .filter(|a| matches!(a, Atom::Pdx(_) | Atom::MainProc(_)))
            .collect();
        common = Some(match common {
            None => units,
            Some(c) => c.into_iter().filter(|a| units.contains(a)).collect(),
        });
    }
    let common = common.unwrap_or_default();
    common
        .iter()
        .find(|a| matches!(a, Atom::Pdx(_)))
        .or(common.first())
        .copied()
}

/// Groups without a trace. The fact bitset is sized at compile time; a pack needing more
/// than 256 words (16,384 facts; the national packs need 24) takes the reference engine.
pub(crate) fn group(m: &Model, stay: &Stay) -> Outcome {
    match m.program.words {
        0..=32 => run::<32>(m, stay),
        33..=64 => run::<64>(m, stay),
        65..=256 => run::<256>(m, stay),
        _ => crate::engine::group(m, stay, &mut crate::trace::NoTracer),
    }
}

/// The facts of a stay that are not table memberships.
struct Scalars {
    has_or: bool,
    sex: Option<u8>,
    age_years: Option<i64>,
    age_days: Option<i64>,
    bw: Option<i64>,
    los: Option<i64>,
    mcc: bool,
    cc: bool,
    regions: u32,
}

/// Fact bitset; `N` is a power of two at least [`Program::words`], so masking the word index
/// with `N - 1` changes nothing and spares the bounds check.
struct Facts<const N: usize>([u64; N]);

impl<const N: usize> Facts<N> {
    #[inline(always)]
    fn set(&mut self, i: u32) {
        self.0[(i >> 6) as usize & (N - 1)] |= 1 << (i & 63);
    }
    #[inline(always)]
    fn get(&self, i: u32) -> bool {
        self.0[(i >> 6) as usize & (N - 1)] >> (i & 63) & 1 != 0
    }
    /// Whether some OR-branch of a compiled rule holds: every clause has a true atom.
    #[inline(always)]
    fn holds(&self, code: &[u32]) -> bool {
        let (mut clause, mut branch) = (false, true);
        for &a in code {
            clause |= self.get(a & BIT);
            if a & CLAUSE_END != 0 {
                branch &= clause;
                clause = false;
                if a & RULE_END != 0 {
                    if branch {
                        return true;
                    }
                    branch = true;
                }
            }
        }
        false
    }
}

#[inline(always)]
fn prefetch(s: &Slot) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address; SSE, which
    // provides it, is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(s as *const Slot as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

/// `str::trim` without its Unicode scan in the usual case (a code starting and ending with
/// a visible ASCII character).
#[inline(always)]
fn trim(s: &str) -> &str {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(&f), Some(&l)) if (0x21..0x7f).contains(&f) && (0x21..0x7f).contains(&l) => s,
        _ => s.trim(),
    }
}

#[inline(always)]
fn key_of(code: &str) -> u128 {
    code_key(code).unwrap_or(0)
}

/// The engine's `lookup` without the trace: the 医保版 code itself, then the edition maps
/// (and dagger part), then upper case. `code` is trimmed and not empty; `key` is its packed
/// key or 0.
#[inline(always)]
fn resolve<'a>(t: &'a CodeTable, code: &str, key: u128) -> Option<&'a Slot> {
    let direct = if key != 0 {
        t.find_key(key)
    } else {
        t.index.get(code).map(|id| t.slot_by_id(id))
    };
    match direct {
        Some(s) if s.flags & DIRECT != 0 => Some(s),
        _ => resolve_indirect(t, code),
    }
}

#[inline(never)]
fn resolve_indirect<'a>(t: &'a CodeTable, code: &str) -> Option<&'a Slot> {
    if let Some(id) = t.map.get(code) {
        return Some(t.slot_by_id(id));
    }
    let upper = code.to_ascii_uppercase();
    if upper != code {
        return t.find_slot(&upper);
    }
    None
}

fn fail(reason: Reason, mdc: Option<u16>) -> Outcome {
    Outcome {
        status: Status::Ungroupable,
        mdc,
        adrg: None,
        drg: None,
        reason: Some(reason),
    }
}

fn run<const N: usize>(m: &Model, stay: &Stay) -> Outcome {
    let p = &m.program;
    // 1. Codes: hash all and prefetch their slots, then read them.
    let pdx_code = trim(&stay.principal_dx);
    if pdx_code.is_empty() {
        return fail(Reason::MissingPdx, None);
    }
    let pkey = key_of(pdx_code);
    if pkey != 0 {
        prefetch(m.dx.home(pkey));
    }
    let mut sdx_keys = [0u128; AHEAD_SDX];
    for (k, raw) in sdx_keys.iter_mut().zip(&stay.secondary_dx) {
        *k = key_of(trim(raw));
        if *k != 0 {
            prefetch(m.dx.home(*k));
        }
    }
    let mut proc_keys = [0u128; AHEAD_PROC];
    for (k, raw) in proc_keys.iter_mut().zip(&stay.procedures) {
        *k = key_of(trim(raw));
        if *k != 0 {
            prefetch(m.proc.home(*k));
        }
    }

    let Some(pdx) = resolve(&m.dx, pdx_code, pkey) else {
        return fail(Reason::UnknownPdx, None);
    };
    if pdx.flags & DX_INVALID_PDX != 0 {
        return fail(Reason::InvalidPdx, None);
    }
    let mut f = Facts::<N>([0; N]);
    let mut sc = Scalars {
        has_or: false,
        sex: stay.sex.filter(|s| *s == 1 || *s == 2),
        age_years: match (stay.age_years, stay.age_days) {
            (Some(y), _) => Some(y as i64),
            (None, Some(d)) => Some(d as i64 / 365),
            _ => None,
        },
        age_days: match (stay.age_days, stay.age_years) {
            (Some(d), _) => Some(d as i64),
            (None, Some(y)) if y >= 1 => Some(y as i64 * 365),
            _ => None,
        },
        bw: stay.birth_weight_g.map(|x| x as i64),
        los: stay.los_days.map(|x| x as i64),
        mcc: false,
        cc: false,
        regions: pdx.region_mask as u32,
    };
    let mut cand = Facts::<N>([0; N]);
    for (w, &x) in p.open.iter().enumerate() {
        cand.0[w & (N - 1)] = x;
    }
    pdx.for_each_local_set(&m.dx, |s| {
        f.set(s);
        f.set(p.dx_base + s);
        let (a, b) = p.dx_gate[s as usize];
        for &pos in &p.gate_pos[a as usize..b as usize] {
            cand.set(pos as u32);
        }
    });
    let (pdx_id, ptable) = (pdx.id, pdx.cce);

    // Secondary diagnoses. A duplicate changes no fact, so only the principal is skipped;
    // a CC/MCC whose exclusion table lists the principal diagnosis does not count.
    for (i, raw) in stay.secondary_dx.iter().enumerate() {
        let code = trim(raw);
        if code.is_empty() {
            continue;
        }
        let key = match sdx_keys.get(i) {
            Some(&k) => k,
            None => key_of(code),
        };
        let Some(s) = resolve(&m.dx, code, key) else {
            continue;
        };
        if s.id == pdx_id {
            continue;
        }
        sc.regions |= s.region_mask as u32;
        sc.mcc |= s.mcc != 0 && s.mcc != ptable;
        sc.cc |= s.cc != 0 && s.cc != ptable;
        s.for_each_local_set(&m.dx, |x| {
            f.set(p.sdx_base + x);
            f.set(p.dx_base + x);
        });
    }
    sc.cc |= sc.mcc;

    // Procedures: excluded ones are dropped, so the first kept one is the principal.
    let mut first = true;
    for (i, raw) in stay.procedures.iter().enumerate() {
        let code = trim(raw);
        if code.is_empty() {
            continue;
        }
        let key = match proc_keys.get(i) {
            Some(&k) => k,
            None => key_of(code),
        };
        let Some(s) = resolve(&m.proc, code, key) else {
            continue;
        };
        if s.flags & PROC_EXCLUDED != 0 {
            continue;
        }
        sc.has_or |= s.flags & PROC_OR != 0;
        let main = first;
        first = false;
        s.for_each_local_set(&m.proc, |x| {
            if main {
                f.set(p.main_proc_base + x);
                let (a, b) = p.proc_gate[x as usize];
                for &pos in &p.gate_pos[a as usize..b as usize] {
                    cand.set(pos as u32);
                }
            }
            f.set(p.proc_base + x);
        });
    }
    for (i, a) in p.scalars.iter().enumerate() {
        if scalar(a, &sc) {
            f.set(p.scalar_base + i as u32);
        }
    }
    let rule = |&(_, start, end): &(u16, u32, u32)| f.holds(&p.code[start as usize..end as usize]);

    // 2. Pre-MDC.
    let mut chosen: Option<(u16, u16)> = None;
    if let Some(a_mdc) = m.pre_mdc {
        let range = p.ranges[a_mdc as usize][AdrgKind::PreMdc as usize];
        if let Some(a) = p.first_match(range, &cand, &f) {
            chosen = Some((a_mdc, a));
        }
    }

    // 3. MDC: entry rules, then by principal diagnosis.
    let mdc = match chosen {
        Some((mdc, _)) => mdc,
        None => match p.entries.iter().find(|r| rule(r)) {
            Some(&(mdc, _, _)) => mdc,
            None => match mdc_by_pdx(m, pdx.mdc_mask, sc.sex) {
                Ok(mdc) => mdc,
                Err(r) => return fail(r, None),
            },
        },
    };

    // 4. ADRG inside the MDC: surgical, non-OR, then QY, then medical.
    let adrg = match chosen {
        Some((_, a)) => a,
        None => {
            let ranges = &p.ranges[mdc as usize];
            let first_match = |kind: AdrgKind| p.first_match(ranges[kind as usize], &cand, &f);
            let found = first_match(AdrgKind::Surgical).or_else(|| first_match(AdrgKind::NonOr));
            if found.is_none() && sc.has_or {
                return Outcome {
                    status: Status::Qy,
                    mdc: Some(mdc),
                    adrg: None,
                    drg: None,
                    reason: Some(Reason::OrProcedureMismatch { mdc }),
                };
            }
            match found.or_else(|| first_match(AdrgKind::Medical)) {
                Some(a) => a,
                None => return fail(Reason::NoAdrg { mdc }, Some(mdc)),
            }
        }
    };

    // 5. DRG split.
    let (a, b) = p.adrg_splits[adrg as usize];
    match p.splits[a as usize..b as usize].iter().find(|r| rule(r)) {
        Some(&(drg, _, _)) => Outcome {
            status: Status::Grouped,
            mdc: Some(mdc),
            adrg: Some(adrg),
            drg: Some(drg),
            reason: None,
        },
        None => Outcome {
            status: Status::Ungroupable,
            mdc: Some(mdc),
            adrg: Some(adrg),
            drg: None,
            reason: Some(Reason::NoSplit { adrg }),
        },
    }
}

/// The engine's `mdc_by_pdx` without the trace.
#[inline]
fn mdc_by_pdx(m: &Model, all: u32, sex: Option<u8>) -> Result<u16, Reason> {
    let mask = all & !m.entry_mdc_mask;
    if mask == 0 {
        return Err(if all != 0 {
            Reason::EntryNotMet {
                mdc: all.trailing_zeros() as u16,
            }
        } else {
            Reason::NoMdc
        });
    }
    let mut conflict = None;
    let mut rest = mask;
    while rest != 0 {
        let i = rest.trailing_zeros() as u16;
        rest &= rest - 1;
        match (m.mdc_sex[i as usize], sex) {
            (Some(need), Some(have)) if need != have => {
                conflict.get_or_insert(i);
            }
            _ => return Ok(i),
        }
    }
    Err(Reason::SexConflict {
        mdc: conflict.unwrap_or(0),
    })
}

/// A non-table atom (table atoms never reach here).
#[inline]
fn scalar(a: &Atom, f: &Scalars) -> bool {
    match *a {
        Atom::OrProc => f.has_or,
        Atom::NoOrProc => !f.has_or,
        Atom::Num(field, cmp, v) => {
            let x = match field {
                NumField::AgeYears => f.age_years,
                NumField::AgeDays => f.age_days,
                NumField::BirthWeight => f.bw,
                NumField::Los => f.los,
            };
            match x {
                None => false,
                Some(x) => match cmp {
                    Cmp::Lt => x < v,
                    Cmp::Le => x <= v,
                    Cmp::Gt => x > v,
                    Cmp::Ge => x >= v,
                    Cmp::Eq => x == v,
                },
            }
        }
        Atom::Sex(s) => f.sex == Some(s),
        Atom::Regions(n) => f.regions.count_ones() >= n as u32,
        Atom::Mcc => f.mcc,
        Atom::Cc => f.cc,
        Atom::True => true,
        Atom::Pdx(_) | Atom::Sdx(_) | Atom::AnyDx(_) | Atom::MainProc(_) | Atom::AnyProc(_) => {
            false
        }
    }
}
