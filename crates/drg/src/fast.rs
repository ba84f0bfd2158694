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
//! * the tables of the principal diagnosis, of the secondary diagnoses, of the principal
//!   procedure and of all procedures become four bitsets, so every table test of a rule is
//!   one bit test (the traced engine scans code lists to find the evidence it reports);
//! * nothing is allocated and no trace value is built.

use crate::engine::{Outcome, Reason, Status};
use crate::model::{
    code_key, AdrgKind, Atom, Cmp, CodeTable, Model, NumField, Slot, DIRECT, DX_INVALID_PDX,
    PROC_EXCLUDED, PROC_OR,
};
use crate::Stay;

/// Codes per list whose slot is prefetched before any is read (the rest are looked up as
/// they come; realistic stays have at most 15 secondary diagnoses and 6 procedures).
const AHEAD_SDX: usize = 20;
const AHEAD_PROC: usize = 12;

/// Groups without a trace. Bitsets are sized at compile time from the pack's number of
/// tables; a pack with more than 4096 tables (the national packs have about 500) takes the
/// reference engine instead.
pub(crate) fn group(m: &Model, stay: &Stay) -> Outcome {
    match m.set_words {
        0..=8 => run::<8>(m, stay),
        9..=16 => run::<16>(m, stay),
        17..=64 => run::<64>(m, stay),
        _ => crate::engine::group(m, stay, &mut crate::trace::NoTracer),
    }
}

/// What rules test, for one stay.
struct Facts<const W: usize> {
    /// Bit s: the principal diagnosis is in table s.
    pdx: [u64; W],
    /// Bit s: some secondary diagnosis (other than the principal) is in table s.
    sdx: [u64; W],
    /// Bit s: the principal procedure is in table s.
    main_proc: [u64; W],
    /// Bit s: some procedure is in table s.
    proc: [u64; W],
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
        t.index.get(code).map(|&id| t.slot_by_id(id))
    };
    match direct {
        Some(s) if s.flags & DIRECT != 0 => Some(s),
        _ => resolve_indirect(t, code),
    }
}

#[inline(never)]
fn resolve_indirect<'a>(t: &'a CodeTable, code: &str) -> Option<&'a Slot> {
    if let Some(&id) = t.map.get(code) {
        return Some(t.slot_by_id(id));
    }
    let upper = code.to_ascii_uppercase();
    if upper != code {
        return t.find_slot(&upper);
    }
    None
}

#[inline(always)]
fn add_sets<const W: usize>(bits: &mut [u64; W], t: &CodeTable, s: &Slot) {
    s.for_each_set(&t.set_ids, |x| bits[(x >> 6) as usize] |= 1 << (x & 63));
}

#[inline(always)]
fn bit<const W: usize>(bits: &[u64; W], s: u32) -> bool {
    bits[(s >> 6) as usize] >> (s & 63) & 1 != 0
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

fn run<const W: usize>(m: &Model, stay: &Stay) -> Outcome {
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

    let Some(p) = resolve(&m.dx, pdx_code, pkey) else {
        return fail(Reason::UnknownPdx, None);
    };
    if p.flags & DX_INVALID_PDX != 0 {
        return fail(Reason::InvalidPdx, None);
    }
    let age_days = match (stay.age_days, stay.age_years) {
        (Some(d), _) => Some(d as i64),
        (None, Some(y)) if y >= 1 => Some(y as i64 * 365),
        _ => None,
    };
    let age_years = match (stay.age_years, stay.age_days) {
        (Some(y), _) => Some(y as i64),
        (None, Some(d)) => Some(d as i64 / 365),
        _ => None,
    };
    let mut f = Facts::<W> {
        pdx: [0; W],
        sdx: [0; W],
        main_proc: [0; W],
        proc: [0; W],
        has_or: false,
        sex: stay.sex.filter(|s| *s == 1 || *s == 2),
        age_years,
        age_days,
        bw: stay.birth_weight_g.map(|x| x as i64),
        los: stay.los_days.map(|x| x as i64),
        mcc: false,
        cc: false,
        regions: p.region_mask as u32,
    };
    add_sets(&mut f.pdx, &m.dx, p);
    let (pdx_id, ptable) = (p.id, p.cce);

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
        f.regions |= s.region_mask as u32;
        f.mcc |= s.mcc != 0 && s.mcc != ptable;
        f.cc |= s.cc != 0 && s.cc != ptable;
        add_sets(&mut f.sdx, &m.dx, s);
    }
    f.cc |= f.mcc;

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
        f.has_or |= s.flags & PROC_OR != 0;
        if first {
            add_sets(&mut f.main_proc, &m.proc, s);
            first = false;
        }
        add_sets(&mut f.proc, &m.proc, s);
    }

    // 2. Pre-MDC.
    let mut chosen: Option<(u16, u16)> = None;
    if let Some(a_mdc) = m.pre_mdc {
        for &a in &m.mdc_adrgs[a_mdc as usize][AdrgKind::PreMdc as usize] {
            if match_adrg(m, &f, a) {
                chosen = Some((a_mdc, a));
                break;
            }
        }
    }

    // 3. MDC: entry rules, then by principal diagnosis.
    let mdc = match chosen {
        Some((mdc, _)) => mdc,
        None => match m.entries.iter().find(|(_, e)| holds(m, &f, e.span)) {
            Some((mdc, _)) => *mdc,
            None => match mdc_by_pdx(m, p.mdc_mask, f.sex) {
                Ok(mdc) => mdc,
                Err(r) => return fail(r, None),
            },
        },
    };

    // 4. ADRG inside the MDC: surgical, non-OR, then QY, then medical.
    let adrg = match chosen {
        Some((_, a)) => a,
        None => {
            let lists = &m.mdc_adrgs[mdc as usize];
            let first_match = |kind: AdrgKind| {
                lists[kind as usize]
                    .iter()
                    .copied()
                    .find(|&a| match_adrg(m, &f, a))
            };
            let found = first_match(AdrgKind::Surgical).or_else(|| first_match(AdrgKind::NonOr));
            if found.is_none() && f.has_or {
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
    match m.adrg[adrg as usize]
        .splits
        .iter()
        .find(|(e, _)| holds(m, &f, e.span))
    {
        Some((_, drg)) => Outcome {
            status: Status::Grouped,
            mdc: Some(mdc),
            adrg: Some(adrg),
            drg: Some(*drg),
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

#[inline(always)]
fn match_adrg<const W: usize>(m: &Model, f: &Facts<W>, a: u16) -> bool {
    let (first, end) = m.adrg_branches[a as usize];
    m.branch_spans[first as usize..end as usize]
        .iter()
        .any(|&span| holds(m, f, span))
}

/// A rule from the flat atom array: every clause must have a true atom.
#[inline(always)]
fn holds<const W: usize>(m: &Model, f: &Facts<W>, (start, end): (u32, u32)) -> bool {
    let mut clause_ok = false;
    for fa in &m.atoms[start as usize..end as usize] {
        if !clause_ok {
            clause_ok = atom(f, &fa.atom);
        }
        if fa.clause_end {
            if !clause_ok {
                return false;
            }
            clause_ok = false;
        }
    }
    true
}

#[inline(always)]
fn atom<const W: usize>(f: &Facts<W>, a: &Atom) -> bool {
    match *a {
        Atom::Pdx(s) => bit(&f.pdx, s),
        Atom::Sdx(s) => bit(&f.sdx, s),
        Atom::AnyDx(s) => bit(&f.pdx, s) || bit(&f.sdx, s),
        Atom::MainProc(s) => bit(&f.main_proc, s),
        Atom::AnyProc(s) => bit(&f.proc, s),
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
    }
}
