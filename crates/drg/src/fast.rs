//! The untraced grouping path used for throughput (`Grouper::group_fast`, `drg group`).
//!
//! Same algorithm and same outcome as the traced engine in `engine.rs` (which stays the
//! reference: tests compare the two on every case and on large random samples), organised
//! for speed:
//!
//! * every code of the stay is hashed first and its slot prefetched, so the cache misses of
//!   the ~10 code lookups of a stay overlap instead of queueing;
//! * a slot (one cache line) holds everything grouping reads about a code, including the
//!   tables it is in, restricted to those some rule tests in that role (as principal or
//!   secondary diagnosis, as principal or any procedure: most tables are only ever tested
//!   for the principal code);
//! * every fact a rule can test becomes one bit of a per-stay bitset: the tables of the
//!   principal diagnosis, of the secondary diagnoses, of the principal procedure and of any
//!   procedure, plus one bit per distinct non-table atom of the pack (age bands, MCC, OR
//!   procedure…). Rules are compiled at load into a flat list of bit numbers, so evaluating
//!   a rule is a short loop of bit tests with no dispatch (the traced engine scans code
//!   lists to find the evidence it reports);
//! * an ADRG whose rule requires the principal diagnosis (or procedure) to be in a given
//!   table is only looked at when it is (see [`Program`]);
//! * nothing is allocated and no trace value is built.

use crate::engine::{MissingFields, Outcome, Reason, Status};
use crate::model::{
    code_key, AdrgData, AdrgKind, Atom, Cmp, CodeSet, CodeTable, Expr, Model, NumField, Slot,
    DIRECT, DX_INVALID_PDX, PROC_EXCLUDED, PROC_OR,
};
use crate::Stay;

/// Roles in which a rule tests a code's tables: principal diagnosis, secondary diagnosis,
/// principal procedure, any procedure. A diagnosis slot lists its tables for the first two
/// roles, a procedure slot for the last two.
const PDX: usize = 0;
const SDX: usize = 1;
const MAIN_PROC: usize = 2;
const ANY_PROC: usize = 3;
/// No number in a role: no rule tests the table in that role.
pub(crate) const UNUSED: u16 = u16::MAX;

/// Codes per list whose slot is prefetched before any is read (the rest are looked up as
/// they come; realistic stays have at most 15 secondary diagnoses and 6 procedures).
const AHEAD_SDX: usize = 16;
const AHEAD_PROC: usize = 8;

/// Marks the last atom of an OR-clause in [`Program::code`].
const CLAUSE_END: u32 = 1 << 31;
/// Marks the last atom of a rule (of one OR-branch of an ADRG rule).
const RULE_END: u32 = 1 << 30;
const BIT: u32 = RULE_END - 1;

/// The pack's rules compiled to bit tests over the per-stay fact bitset, whose layout is:
/// the tables tested on the principal diagnosis, on the secondary diagnoses, on the
/// principal procedure, on any procedure (each role numbering only the tables some rule
/// tests in it), then the non-table atoms (one word).
///
/// ADRGs are numbered by evaluation position (the pre-MDC list, then each MDC's surgical,
/// non-OR and medical lists). Most ADRG rules require the principal diagnosis, or the
/// principal procedure, to be in one table (a one-atom clause of every OR-branch); such an
/// ADRG is a candidate of the stay only when that code is in the table. The candidates are
/// collected per stay from the few tables of the two codes, so a list is searched by
/// visiting its candidates only, instead of testing every ADRG of the MDC.
pub(crate) struct Program {
    /// Words of the fact bitset and of the candidate bitset, whichever is larger;
    /// `usize::MAX` when the pack does not fit the fast path (the reference engine groups).
    pub(crate) words: usize,
    /// Per table (global id): its numbers in the roles of its kind (principal, secondary)
    /// or [`UNUSED`].
    roles: Vec<[u16; 2]>,
    /// First fact of each role.
    base: [u32; 4],
    /// Word of the non-table facts, and their bits.
    scalar_word: usize,
    scalar_true: u64,
    scalar_mcc: u64,
    scalar_cc: u64,
    scalar_or: u64,
    scalar_no_or: u64,
    /// Indexed by sex (0 unknown, 1, 2).
    scalar_sex: [u64; 3],
    scalar_regions: Vec<(u32, u64)>,
    scalar_num: Vec<(NumField, Cmp, i64, u64)>,
    /// Every rule: fact numbers with `CLAUSE_END` / `RULE_END` marks.
    code: Vec<u32>,
    /// ADRGs by evaluation position: (ADRG, its OR-branches in `code`).
    order: Vec<(u16, u32, u32)>,
    /// Per MDC and ADRG kind: its positions.
    ranges: Vec<[(u32, u32); 4]>,
    /// Positions that are always candidates (no gate).
    open: Vec<u64>,
    /// Per principal-diagnosis table (role number): the positions it makes candidates, as
    /// a range of `gate_pos`.
    dx_gate: Vec<(u32, u32)>,
    /// Same per principal-procedure table.
    proc_gate: Vec<(u32, u32)>,
    gate_pos: Vec<u16>,
    /// Entry rules in order: (MDC, rule in `code`).
    entries: Vec<(u16, u32, u32)>,
    /// Per ADRG: its split rules, a range of `splits`.
    adrg_splits: Vec<(u32, u32)>,
    /// (DRG, rule in `code`).
    splits: Vec<(u16, u32, u32)>,
}

/// Every atom of every rule of the pack.
fn all_atoms<'a>(
    entries: &'a [(u16, Expr)],
    adrg: &'a [AdrgData],
) -> impl Iterator<Item = &'a Atom> + 'a {
    let exprs = entries.iter().map(|(_, e)| e).chain(
        adrg.iter()
            .flat_map(|a| a.branches.iter().chain(a.splits.iter().map(|(e, _)| e))),
    );
    exprs.flat_map(|e| e.clauses.iter().flatten())
}

impl Program {
    pub(crate) fn compile(
        sets: &[CodeSet],
        entries: &[(u16, Expr)],
        adrg: &[AdrgData],
        mdc_adrgs: &[[Vec<u16>; 4]],
    ) -> Program {
        // Tables tested per role, numbered in table order.
        let mut used = vec![[false; 2]; sets.len()];
        let mut scalars: Vec<Atom> = vec![Atom::True];
        for a in all_atoms(entries, adrg) {
            match *a {
                Atom::Pdx(s) | Atom::MainProc(s) => used[s as usize][0] = true,
                Atom::Sdx(s) | Atom::AnyProc(s) => used[s as usize][1] = true,
                Atom::AnyDx(s) => used[s as usize] = [true, true],
                other => {
                    if !scalars.contains(&other) {
                        scalars.push(other);
                    }
                }
            }
        }
        let mut counts = [0u32; 4];
        let roles: Vec<[u16; 2]> = sets
            .iter()
            .zip(&used)
            .map(|(set, used)| {
                let first = if set.is_proc { MAIN_PROC } else { PDX };
                let mut r = [UNUSED; 2];
                for k in 0..2 {
                    if used[k] {
                        r[k] = counts[first + k].min(UNUSED as u32 - 1) as u16;
                        counts[first + k] += 1;
                    }
                }
                r
            })
            .collect();
        let mut base = [0u32; 4];
        let mut at = 0;
        for (b, n) in base.iter_mut().zip(counts) {
            *b = at;
            at += n.div_ceil(64) * 64;
        }
        let scalar_word = (at / 64) as usize;
        let bit = |a: Atom| 1u64 << (scalars.iter().position(|x| *x == a).unwrap_or(0) % 64);
        let has = |a: Atom| scalars.contains(&a);
        let mask = |a: Atom| if has(a) { bit(a) } else { 0 };
        let mut p = Program {
            words: 0,
            roles,
            base,
            scalar_word,
            scalar_true: mask(Atom::True),
            scalar_mcc: mask(Atom::Mcc),
            scalar_cc: mask(Atom::Cc),
            scalar_or: mask(Atom::OrProc),
            scalar_no_or: mask(Atom::NoOrProc),
            scalar_sex: [0, mask(Atom::Sex(1)), mask(Atom::Sex(2))],
            scalar_regions: Vec::new(),
            scalar_num: Vec::new(),
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
        let mut supported = scalars.len() <= 64 && counts.iter().all(|&n| n < UNUSED as u32);
        // The other kinds have their fixed masks above (`sex=N` for N other than 1 or 2 is
        // never true: a stay's sex is 1, 2 or unknown).
        for &a in &scalars {
            match a {
                Atom::Regions(n) => p.scalar_regions.push((n as u32, bit(a))),
                Atom::Num(f, c, v) => p.scalar_num.push((f, c, v, bit(a))),
                _ => {}
            }
        }
        for (mdc, e) in entries {
            let start = p.code.len() as u32;
            p.emit(e, &scalars);
            p.entries.push((*mdc, start, p.code.len() as u32));
        }
        let mut rules = Vec::with_capacity(adrg.len());
        for a in adrg {
            let start = p.code.len() as u32;
            for b in &a.branches {
                p.emit(b, &scalars);
            }
            rules.push((start, p.code.len() as u32));
            let first = p.splits.len() as u32;
            for (e, drg) in &a.splits {
                let start = p.code.len() as u32;
                p.emit(e, &scalars);
                p.splits.push((*drg, start, p.code.len() as u32));
            }
            p.adrg_splits.push((first, p.splits.len() as u32));
        }

        // Evaluation positions, and the gate of each.
        let mut dx_gates: Vec<Vec<u16>> = vec![Vec::new(); counts[PDX] as usize];
        let mut proc_gates: Vec<Vec<u16>> = vec![Vec::new(); counts[MAIN_PROC] as usize];
        let mut open = Vec::new();
        let mut place = |p: &mut Program, a: u16| {
            let pos = p.order.len();
            p.order.push((a, rules[a as usize].0, rules[a as usize].1));
            match gate(&adrg[a as usize]) {
                Some(Atom::Pdx(s)) => dx_gates[p.roles[s as usize][0] as usize].push(pos as u16),
                Some(Atom::MainProc(s)) => {
                    proc_gates[p.roles[s as usize][0] as usize].push(pos as u16)
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
        supported &= p.order.len() <= u16::MAX as usize && at < BIT;
        p.words = if supported {
            (scalar_word + 1).max(p.open.len())
        } else {
            usize::MAX
        };
        p
    }

    /// The numbers of a table in the two roles of its kind ([`UNUSED`] where no rule tests
    /// it in that role).
    pub(crate) fn roles(&self, set: u32) -> [u16; 2] {
        self.roles[set as usize]
    }

    fn emit(&mut self, e: &Expr, scalars: &[Atom]) {
        for clause in &e.clauses {
            // `dx:S` is `pdx:S | sdx:S`: one more atom in the OR-clause, one bitset less.
            let mut facts = Vec::with_capacity(clause.len() + 1);
            for a in clause {
                let role = |s: u32, k: usize| self.roles[s as usize][k % 2] as u32;
                match *a {
                    Atom::Pdx(s) => facts.push(self.base[PDX] + role(s, PDX)),
                    Atom::Sdx(s) => facts.push(self.base[SDX] + role(s, SDX)),
                    Atom::AnyDx(s) => {
                        facts.push(self.base[PDX] + role(s, PDX));
                        facts.push(self.base[SDX] + role(s, SDX));
                    }
                    Atom::MainProc(s) => facts.push(self.base[MAIN_PROC] + role(s, MAIN_PROC)),
                    Atom::AnyProc(s) => facts.push(self.base[ANY_PROC] + role(s, ANY_PROC)),
                    other => {
                        let i = scalars.iter().position(|x| *x == other).unwrap_or(0);
                        facts.push(self.scalar_word as u32 * 64 + (i % 64) as u32);
                    }
                }
            }
            let n = facts.len();
            for (i, fact) in facts.into_iter().enumerate() {
                let end = if i + 1 == n { CLAUSE_END } else { 0 };
                self.code.push(fact.min(BIT) | end);
            }
        }
        if let Some(last) = self.code.last_mut() {
            *last |= RULE_END;
        }
    }

    /// The ADRG of the stay inside `mdc`: surgical, non-OR, then QY (an OR procedure left
    /// unmatched), then medical; `Err` is the outcome when none matches.
    #[inline(always)]
    fn adrg_in<const N: usize>(
        &self,
        mdc: u16,
        cand: &Facts<N>,
        f: &Facts<N>,
        has_or: bool,
    ) -> Result<u16, Outcome> {
        let ranges = &self.ranges[mdc as usize];
        let first = |kind: AdrgKind| self.first_match(ranges[kind as usize], cand, f);
        if let Some(a) = first(AdrgKind::Surgical) {
            return Ok(a);
        }
        if let Some(a) = first(AdrgKind::NonOr) {
            return Ok(a);
        }
        if has_or {
            return Err(Outcome {
                status: Status::Qy,
                mdc: Some(mdc),
                adrg: None,
                drg: None,
                reason: Some(Reason::OrProcedureMismatch { mdc }),
            });
        }
        match first(AdrgKind::Medical) {
            Some(a) => Ok(a),
            None => Err(fail(Reason::NoAdrg { mdc }, Some(mdc))),
        }
    }

    /// [`Program::adrg_in`] not inlined, for the rare paths.
    #[inline(never)]
    fn adrg_in_cold<const N: usize>(
        &self,
        mdc: u16,
        cand: &Facts<N>,
        f: &Facts<N>,
        has_or: bool,
    ) -> Result<u16, Outcome> {
        self.adrg_in(mdc, cand, f, has_or)
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
/// than 256 words (16,384 facts; the national packs need 11) takes the reference engine.
pub(crate) fn group(m: &Model, stay: &Stay) -> Outcome {
    match m.program.words {
        0..=16 => run::<16>(m, stay),
        17..=64 => run::<64>(m, stay),
        65..=256 => run::<256>(m, stay),
        _ => crate::engine::group(m, stay, &mut crate::trace::NoTracer),
    }
}

/// The facts of a stay that are not table memberships.
struct Scalars {
    has_or: bool,
    sex: Option<u8>,
    /// Indexed by `NumField`: age in years, age in days, birth weight, length of stay.
    num: [Option<i64>; 4],
    mcc: bool,
    cc: bool,
    regions: u32,
}

impl Scalars {
    /// The word of non-table facts.
    #[inline(always)]
    fn word(&self, p: &Program) -> u64 {
        let mut w = p.scalar_true;
        if self.mcc {
            w |= p.scalar_mcc;
        }
        if self.cc {
            w |= p.scalar_cc;
        }
        w |= if self.has_or {
            p.scalar_or
        } else {
            p.scalar_no_or
        };
        w |= p.scalar_sex[self.sex.unwrap_or(0) as usize % 3];
        let regions = self.regions.count_ones();
        for &(n, bit) in &p.scalar_regions {
            if regions >= n {
                w |= bit;
            }
        }
        for &(field, cmp, v, bit) in &p.scalar_num {
            if let Some(x) = self.num[field as usize] {
                let ok = match cmp {
                    Cmp::Lt => x < v,
                    Cmp::Le => x <= v,
                    Cmp::Gt => x > v,
                    Cmp::Ge => x >= v,
                    Cmp::Eq => x == v,
                };
                if ok {
                    w |= bit;
                }
            }
        }
        w
    }
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
    prefetch_bytes(s as *const Slot as *const u8);
}

/// Asks for the cache line of `p` ahead of its use; any address is allowed (a prefetch
/// never faults, and nothing is read through the pointer).
#[inline(always)]
fn prefetch_bytes(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint that never faults, whatever the address; SSE, which
    // provides it, is part of the x86_64 baseline.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
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
/// key and home slot, or 0.
#[inline(always)]
fn resolve<'a>(t: &'a CodeTable, code: &str, (key, home): (u128, u32)) -> Option<&'a Slot> {
    let direct = if key != 0 {
        t.find_from(key, home as usize)
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

/// Packed keys of a stay's codes (0: no key) and their home slots, computed and the slots
/// prefetched before the stay is grouped.
struct Keys {
    pdx: (u128, u32),
    sdx: [(u128, u32); AHEAD_SDX],
    proc: [(u128, u32); AHEAD_PROC],
}

impl Keys {
    fn new() -> Keys {
        Keys {
            pdx: (0, 0),
            sdx: [(0, 0); AHEAD_SDX],
            proc: [(0, 0); AHEAD_PROC],
        }
    }

    /// Computes the keys of the stay's codes and prefetches their slots. Entries past the
    /// stay's lists keep older values and are never read.
    #[inline(always)]
    fn prepare(&mut self, m: &Model, stay: &Stay) {
        self.pdx = ahead(&m.dx, &stay.principal_dx);
        for (k, raw) in self.sdx.iter_mut().zip(&stay.secondary_dx) {
            *k = ahead(&m.dx, raw);
        }
        for (k, raw) in self.proc.iter_mut().zip(&stay.procedures) {
            *k = ahead(&m.proc, raw);
        }
    }
}

/// Key and home slot of a code past the prefetch window.
#[inline]
fn late_key(t: &CodeTable, code: &str) -> (u128, u32) {
    match key_of(code) {
        0 => (0, 0),
        k => (k, t.home_index(k) as u32),
    }
}

/// Key and home slot of a code, the slot prefetched.
#[inline(always)]
fn ahead(t: &CodeTable, raw: &str) -> (u128, u32) {
    let key = key_of(trim(raw));
    if key == 0 {
        return (0, 0);
    }
    let home = t.home_index(key);
    prefetch(&t.slots[home]);
    (key, home as u32)
}

fn run<const N: usize>(m: &Model, stay: &Stay) -> Outcome {
    let mut keys = Keys::new();
    keys.prepare(m, stay);
    finish::<N>(m, stay, &keys)
}

/// Groups `stays` into `out` as [`run`] would, software-pipelined: while stay i is grouped,
/// the slots of stay i+1 are being fetched, the code strings of stay i+2 and the lists of
/// stay i+3 too, so the memory latency of one stay overlaps the work of the previous ones.
pub(crate) fn group_many(m: &Model, stays: &[Stay], out: &mut Vec<Outcome>) {
    match m.program.words {
        0..=16 => many::<16>(m, stays, out),
        17..=64 => many::<64>(m, stays, out),
        65..=256 => many::<256>(m, stays, out),
        _ => out.extend(
            stays
                .iter()
                .map(|s| crate::engine::group(m, s, &mut crate::trace::NoTracer)),
        ),
    }
}

fn many<const N: usize>(m: &Model, stays: &[Stay], out: &mut Vec<Outcome>) {
    out.reserve(stays.len());
    let mut keys = [Keys::new(), Keys::new()];
    if let Some(s) = stays.first() {
        keys[0].prepare(m, s);
    }
    for (i, stay) in stays.iter().enumerate() {
        if let Some(s) = stays.get(i + 3) {
            prefetch_lists(s);
        }
        if let Some(s) = stays.get(i + 2) {
            prefetch_codes(s);
        }
        if let Some(s) = stays.get(i + 1) {
            keys[(i + 1) & 1].prepare(m, s);
        }
        out.push(finish::<N>(m, stay, &keys[i & 1]));
    }
}

/// Prefetches the list buffers of a stay (its code strings' headers).
#[inline(always)]
fn prefetch_lists(s: &Stay) {
    prefetch_bytes(s.principal_dx.as_ptr());
    for list in [&s.secondary_dx, &s.procedures] {
        let bytes = std::mem::size_of_val(list.as_slice()).min(8 * 64);
        let base = list.as_ptr() as *const u8;
        for off in (0..bytes).step_by(64) {
            prefetch_bytes(base.wrapping_add(off));
        }
    }
}

/// Prefetches the code strings of a stay.
#[inline(always)]
fn prefetch_codes(s: &Stay) {
    for c in s.secondary_dx.iter().take(AHEAD_SDX) {
        prefetch_bytes(c.as_ptr());
    }
    for c in s.procedures.iter().take(AHEAD_PROC) {
        prefetch_bytes(c.as_ptr());
    }
}

fn finish<const N: usize>(m: &Model, stay: &Stay, keys: &Keys) -> Outcome {
    let p = &m.program;
    let pdx_code = trim(&stay.principal_dx);
    if pdx_code.is_empty() {
        return fail(Reason::MissingPdx, None);
    }
    let missing = MissingFields::of(stay);
    if !missing.is_empty() {
        return fail(Reason::MissingFields { fields: missing }, None);
    }
    let (pkey, sdx_keys, proc_keys) = (keys.pdx, &keys.sdx, &keys.proc);
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
        num: [
            match (stay.age_years, stay.age_days) {
                (Some(y), _) => Some(y as i64),
                (None, Some(d)) => Some(d as i64 / 365),
                _ => None,
            },
            match (stay.age_days, stay.age_years) {
                (Some(d), _) => Some(d as i64),
                (None, Some(y)) if y >= 1 => Some(y as i64 * 365),
                _ => None,
            },
            stay.birth_weight_g.map(|x| x as i64),
            stay.los_days.map(|x| x as i64),
        ],
        mcc: false,
        cc: false,
        regions: pdx.region_mask as u32,
    };
    let mut cand = Facts::<N>([0; N]);
    for (w, &x) in p.open.iter().enumerate() {
        cand.0[w & (N - 1)] = x;
    }
    let (as_pdx, _) = pdx.roles(&m.dx);
    for &r in as_pdx {
        f.set(p.base[PDX] + r as u32);
        let (a, b) = p.dx_gate[r as usize];
        for &pos in &p.gate_pos[a as usize..b as usize] {
            cand.set(pos as u32);
        }
    }
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
            None => late_key(&m.dx, code),
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
        for &r in s.roles(&m.dx).1 {
            f.set(p.base[SDX] + r as u32);
        }
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
            None => late_key(&m.proc, code),
        };
        let Some(s) = resolve(&m.proc, code, key) else {
            continue;
        };
        if s.flags & PROC_EXCLUDED != 0 {
            continue;
        }
        sc.has_or |= s.flags & PROC_OR != 0;
        let (as_main, as_any) = s.roles(&m.proc);
        if first {
            first = false;
            for &r in as_main {
                f.set(p.base[MAIN_PROC] + r as u32);
                let (a, b) = p.proc_gate[r as usize];
                for &pos in &p.gate_pos[a as usize..b as usize] {
                    cand.set(pos as u32);
                }
            }
        }
        for &r in as_any {
            f.set(p.base[ANY_PROC] + r as u32);
        }
    }
    f.0[p.scalar_word & (N - 1)] = sc.word(p);
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
    let (mdc, adrg) = match chosen {
        Some(x) => x,
        None => {
            let mdc = match p.entries.iter().find(|r| rule(r)) {
                Some(&(mdc, _, _)) => mdc,
                None => match mdc_by_pdx(m, pdx.mdc_mask, sc.sex) {
                    Ok(mdc) => mdc,
                    Err(r) => return fail(r, None),
                },
            };
            // 4. ADRG inside the MDC.
            match p.adrg_in(mdc, &cand, &f, sc.has_or) {
                Ok(a) => (mdc, a),
                // Entered on secondary diagnoses only, and no ADRG matches: rare.
                Err(o) if m.entry_mdc_mask & m.mdc_any_dx & !pdx.mdc_mask & 1 << mdc != 0 => {
                    match leave_entry(m, &cand, &f, &sc, pdx.mdc_mask, mdc, o) {
                        Ok(x) => x,
                        Err(o) => return o,
                    }
                }
                Err(o) => return o,
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

/// The stay met the entry rule of `mdc` (the first that holds) on secondary diagnoses only,
/// and `failed` is what `mdc` gives (QY or no ADRG). As the engine does: the later entry rules
/// of other MDCs, then the MDC of the principal diagnosis; if that places the stay nowhere,
/// `failed` stands.
#[cold]
#[inline(never)]
fn leave_entry<const N: usize>(
    m: &Model,
    cand: &Facts<N>,
    f: &Facts<N>,
    sc: &Scalars,
    pdx_mdcs: u32,
    mdc: u16,
    failed: Outcome,
) -> Result<(u16, u16), Outcome> {
    let p = &m.program;
    let mut left = 1u32 << mdc;
    for &(mdc, start, end) in &p.entries {
        let bit = 1u32 << mdc;
        if left & bit != 0 || !f.holds(&p.code[start as usize..end as usize]) {
            continue;
        }
        match p.adrg_in_cold(mdc, cand, f, sc.has_or) {
            Ok(a) => return Ok((mdc, a)),
            Err(_) if m.mdc_any_dx & bit != 0 && pdx_mdcs & bit == 0 => left |= bit,
            Err(o) => return Err(o),
        }
    }
    match mdc_by_pdx(m, pdx_mdcs, sc.sex) {
        Ok(mdc) => p.adrg_in_cold(mdc, cand, f, sc.has_or).map(|a| (mdc, a)),
        Err(_) => Err(failed),
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
