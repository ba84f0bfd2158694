//! The grouping algorithm, in the order of the official scheme: code checks, pre-MDC (MDCA),
//! the entry rules of the special MDCs (newborns, HIV, multiple trauma), MDC by principal
//! diagnosis with sex check, ADRG (surgical, non-OR, then QY, then medical) and the DRG
//! split. Generic over a tracer so the fast path does not even build the trace values.

use crate::model::{
    AdrgKind, Atom, Cmp, Expr, Hot, Model, NumField, DX_DICT, DX_INVALID_PDX, GREY,
};
use crate::model::{PROC_DICT, PROC_EXCLUDED, PROC_OR};
use crate::trace::{Evidence, Field, Step, Tracer};
use crate::Stay;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    Grouped,
    Qy,
    Ungroupable,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Grouped => "grouped",
            Status::Qy => "qy",
            Status::Ungroupable => "ungroupable",
        }
    }
}

/// A field of the settlement list (医保结算清单 / 病案首页) that grouping needs and that the
/// specification makes mandatory: a stay without it is not grouped (nothing is guessed), and
/// the reason names it so that the coder can fill it in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mandatory {
    /// 性别: 1 male or 2 female (GB/T 2261.1); absent, 0 (unknown) and 9 (unstated) are missing.
    Sex,
    /// 年龄: neither the age in years nor the age in days is given.
    Age,
    /// 年龄不足1周岁的年龄(天): the age in years is 0 and the age in days is not given.
    AgeDays,
    /// 新生儿出生体重: a newborn (age in days ≤ 28) without birth weight (or with 0 g).
    BirthWeight,
}

impl Mandatory {
    pub const ALL: [Mandatory; 4] = [
        Mandatory::Sex,
        Mandatory::Age,
        Mandatory::AgeDays,
        Mandatory::BirthWeight,
    ];

    /// The column of `drg group`'s input that gives the field.
    pub fn column(self) -> &'static str {
        match self {
            Mandatory::Sex => "sex",
            Mandatory::Age => "age_years",
            Mandatory::AgeDays => "age_days",
            Mandatory::BirthWeight => "birth_weight_g",
        }
    }

    /// The field's name on the settlement list.
    pub fn name_zh(self) -> &'static str {
        match self {
            Mandatory::Sex => "性别",
            Mandatory::Age => "年龄",
            Mandatory::AgeDays => "年龄不足1周岁的天数",
            Mandatory::BirthWeight => "新生儿出生体重",
        }
    }
}

/// The mandatory fields a stay lacks: a small set of [`Mandatory`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MissingFields(u8);

impl MissingFields {
    /// The mandatory fields `stay` lacks (empty when it can be grouped).
    #[inline]
    pub fn of(stay: &Stay) -> MissingFields {
        let mut bits = 0u8;
        if !matches!(stay.sex, Some(1 | 2)) {
            bits |= 1 << Mandatory::Sex as u8;
        }
        match (stay.age_years, stay.age_days) {
            (None, None) => bits |= 1 << Mandatory::Age as u8,
            (Some(0), None) => bits |= 1 << Mandatory::AgeDays as u8,
            _ => {}
        }
        if stay.age_days.is_some_and(|d| d <= 28) && matches!(stay.birth_weight_g, None | Some(0)) {
            bits |= 1 << Mandatory::BirthWeight as u8;
        }
        MissingFields(bits)
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn contains(self, f: Mandatory) -> bool {
        self.0 & (1 << f as u8) != 0
    }
    /// The missing fields, in the order of [`Mandatory::ALL`].
    pub fn iter(self) -> impl Iterator<Item = Mandatory> {
        Mandatory::ALL
            .into_iter()
            .filter(move |f| self.contains(*f))
    }
}

/// Why a stay did not reach a DRG. Ids point into the pack's catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    MissingPdx,
    /// Mandatory fields of the settlement list are missing (sex, age, age in days of an
    /// infant, birth weight of a newborn): the stay is not grouped until they are given.
    MissingFields {
        fields: MissingFields,
    },
    UnknownPdx,
    InvalidPdx,
    NoMdc,
    /// The principal diagnosis is listed only for an MDC entered by its own rule (newborns,
    /// multiple trauma…) and the stay does not meet that rule.
    EntryNotMet {
        mdc: u16,
    },
    SexConflict {
        mdc: u16,
    },
    /// OR procedure present but no surgical ADRG of the MDC accepts it.
    OrProcedureMismatch {
        mdc: u16,
    },
    NoAdrg {
        mdc: u16,
    },
    NoSplit {
        adrg: u16,
    },
}

/// Compact result: ids into the catalogue, `Copy`, no allocation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    pub status: Status,
    pub mdc: Option<u16>,
    pub adrg: Option<u16>,
    pub drg: Option<u16>,
    pub reason: Option<Reason>,
}

impl Outcome {
    fn fail(reason: Reason, mdc: Option<u16>) -> Outcome {
        Outcome {
            status: Status::Ungroupable,
            mdc,
            adrg: None,
            drg: None,
            reason: Some(reason),
        }
    }
}

const INLINE: usize = 16;

/// A code of the stay with its hot record copied in, so rules never go back to the tables.
#[derive(Clone, Copy, Default)]
pub(crate) struct Item {
    pub id: u32,
    pub pos: u16,
    pub hot: Hot,
}
pub(crate) const NO_CODE: u32 = u32::MAX;

/// Codes of a stay resolved to ids, kept on the stack for the common case.
pub(crate) struct Ctx {
    pub pdx: u32,
    pub pdx_hot: Hot,
    sdx_buf: [Item; INLINE],
    sdx_len: usize,
    sdx_more: Vec<Item>,
    proc_buf: [Item; INLINE],
    proc_len: usize,
    proc_more: Vec<Item>,
    pub has_or: bool,
    pub sex: Option<u8>,
    pub age_years: Option<i64>,
    pub age_days: Option<i64>,
    pub bw: Option<i64>,
    pub los: Option<i64>,
    pub mcc: bool,
    pub cc: bool,
    pub regions: u32,
}

impl Ctx {
    fn push_sdx(&mut self, v: Item) {
        if self.sdx_len < INLINE {
            self.sdx_buf[self.sdx_len] = v;
            self.sdx_len += 1;
        } else {
            self.sdx_more.push(v);
        }
    }
    fn push_proc(&mut self, v: Item) {
        if self.proc_len < INLINE {
            self.proc_buf[self.proc_len] = v;
            self.proc_len += 1;
        } else {
            self.proc_more.push(v);
        }
    }
    /// Secondary diagnoses kept for grouping; `pos` is the 1-based input position.
    #[inline]
    pub fn sdx(&self) -> impl Iterator<Item = &Item> + '_ {
        self.sdx_buf[..self.sdx_len]
            .iter()
            .chain(self.sdx_more.iter())
    }
    #[inline]
    pub fn procs(&self) -> impl Iterator<Item = &Item> + '_ {
        self.proc_buf[..self.proc_len]
            .iter()
            .chain(self.proc_more.iter())
    }
    #[inline]
    pub fn main_proc(&self) -> Option<&Item> {
        (self.proc_len > 0).then(|| &self.proc_buf[0])
    }
}

/// Resolves one code of the stay: 医保版 code, then the edition maps (and dagger part), then
/// upper case. Unknown codes are reported, never silently dropped.
fn lookup<T: Tracer>(
    table: &crate::model::CodeTable,
    raw: &str,
    field: Field,
    pos: u16,
    t: &mut T,
) -> Option<(u32, Hot)> {
    let code = raw.trim();
    if code.is_empty() {
        return None;
    }
    if let Some((id, h)) = table.find(code) {
        if h.flags & (DX_DICT | PROC_DICT) != 0 || h.sets.1 > h.sets.0 {
            return Some((id, h));
        }
    }
    if let Some(id) = table.map.get(code) {
        if T::ON {
            t.step(Step::Mapped {
                field,
                pos,
                from: code.to_string(),
                to: id,
            });
        }
        return Some((id, table.hot(id)));
    }
    let upper = code.to_ascii_uppercase();
    if upper != code {
        if let Some(found) = table.find(&upper) {
            return Some(found);
        }
    }
    if T::ON {
        t.step(Step::Unknown {
            field,
            pos,
            code: code.to_string(),
        });
    }
    None
}

pub(crate) fn group<T: Tracer>(m: &Model, stay: &Stay, t: &mut T) -> Outcome {
    // 1. Codes.
    if stay.principal_dx.trim().is_empty() {
        if T::ON {
            t.step(Step::MissingPdx);
        }
        return Outcome::fail(Reason::MissingPdx, None);
    }
    let missing = MissingFields::of(stay);
    if !missing.is_empty() {
        if T::ON {
            t.step(Step::MissingFields { fields: missing });
        }
        return Outcome::fail(Reason::MissingFields { fields: missing }, None);
    }
    let Some((pdx, pinfo)) = lookup(&m.dx, &stay.principal_dx, Field::Pdx, 1, t) else {
        return Outcome::fail(Reason::UnknownPdx, None);
    };
    if pinfo.flags & DX_INVALID_PDX != 0 {
        if T::ON {
            t.step(Step::InvalidPdx { code: pdx });
        }
        return Outcome::fail(Reason::InvalidPdx, None);
    }
    if T::ON && pinfo.flags & GREY != 0 {
        t.step(Step::Grey {
            field: Field::Pdx,
            pos: 1,
            code: pdx,
        });
    }
    let num = |v: Option<u32>| v.map(|x| x as i64);
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
    let mut c = Ctx {
        pdx,
        pdx_hot: pinfo,
        sdx_buf: [Item::default(); INLINE],
        sdx_len: 0,
        sdx_more: Vec::new(),
        proc_buf: [Item::default(); INLINE],
        proc_len: 0,
        proc_more: Vec::new(),
        has_or: false,
        sex: stay.sex.filter(|s| *s == 1 || *s == 2),
        age_years,
        age_days,
        bw: num(stay.birth_weight_g),
        los: num(stay.los_days),
        mcc: false,
        cc: false,
        regions: pinfo.region_mask as u32,
    };
    for (i, raw) in stay.secondary_dx.iter().enumerate() {
        let pos = (i + 1).min(u16::MAX as usize) as u16;
        if let Some((id, info)) = lookup(&m.dx, raw, Field::Sdx, pos, t) {
            if T::ON && info.flags & GREY != 0 {
                t.step(Step::Grey {
                    field: Field::Sdx,
                    pos,
                    code: id,
                });
            }
            if id == pdx || c.sdx().any(|s| s.id == id) {
                continue;
            }
            c.regions |= info.region_mask as u32;
            c.push_sdx(Item { id, pos, hot: info });
        }
    }
    for (i, raw) in stay.procedures.iter().enumerate() {
        let pos = (i + 1).min(u16::MAX as usize) as u16;
        if let Some((id, info)) = lookup(&m.proc, raw, Field::Proc, pos, t) {
            if T::ON && info.flags & GREY != 0 {
                t.step(Step::Grey {
                    field: Field::Proc,
                    pos,
                    code: id,
                });
            }
            if info.flags & PROC_EXCLUDED != 0 {
                if T::ON {
                    t.step(Step::ProcExcluded { pos, code: id });
                }
                continue;
            }
            c.has_or |= info.flags & PROC_OR != 0;
            c.push_proc(Item { id, pos, hot: info });
        }
    }
    comorbidity(&mut c, t);

    // 2. Pre-MDC.
    let mut chosen: Option<(u16, u16)> = None; // (mdc, adrg)
    if let Some(a_mdc) = m.pre_mdc {
        for &a in &m.mdc_adrgs[a_mdc as usize][AdrgKind::PreMdc as usize] {
            if match_adrg(m, &c, a, t).is_some() {
                chosen = Some((a_mdc, a));
                break;
            }
        }
        if chosen.is_none() && T::ON {
            t.step(Step::PreMdcNone);
        }
    }

    // 3. MDC and 4. ADRG inside it. Entry rules first, in order; then the MDC of the principal
    // diagnosis. An entry MDC whose table is read on any diagnosis can be entered on
    // secondary diagnoses alone; if none of its ADRGs matches such a stay (QY or no ADRG), the
    // stay is not kept there when its principal diagnosis places it elsewhere.
    let (mdc, adrg) = match chosen {
        Some(x) => x,
        None => {
            let mut found = None;
            let mut tentative: Option<Outcome> = None;
            let mut left = 0u32;
            for (i, (mdc, expr)) in m.entries.iter().enumerate() {
                let bit = 1u32 << *mdc;
                if left & bit != 0
                    || !eval(m, &c, expr, t, |ev| Step::Entry {
                        mdc: *mdc,
                        rule: i as u16,
                        evidence: ev,
                    })
                {
                    continue;
                }
                match adrg_in_mdc(m, &c, *mdc, t) {
                    Ok(a) => {
                        found = Some((*mdc, a));
                        break;
                    }
                    Err(o) if m.mdc_any_dx & bit != 0 && c.pdx_hot.mdc_mask & bit == 0 => {
                        if T::ON {
                            t.step(Step::EntryLeft {
                                mdc: *mdc,
                                qy: o.status == Status::Qy,
                            });
                        }
                        left |= bit;
                        tentative.get_or_insert(o);
                    }
                    Err(o) => return failure(&c, o, t),
                }
            }
            match found {
                Some(x) => x,
                None => match mdc_by_pdx(m, &c, t) {
                    Ok(mdc) => match adrg_in_mdc(m, &c, mdc, t) {
                        Ok(a) => (mdc, a),
                        Err(o) => return failure(&c, o, t),
                    },
                    // The principal diagnosis places the stay nowhere: the entry MDC's result
                    // stands. Otherwise the MDC named in the reason was not entered: no MDC in
                    // the outcome.
                    Err(r) => match tentative {
                        Some(o) => return failure(&c, o, t),
                        None => return Outcome::fail(r, None),
                    },
                },
            }
        }
    };

    // 5. DRG split.
    for (i, (expr, drg)) in m.adrg[adrg as usize].splits.iter().enumerate() {
        if eval(m, &c, expr, t, |ev| Step::Split {
            adrg,
            drg: *drg,
            rule: i as u16,
            evidence: ev,
        }) {
            return Outcome {
                status: Status::Grouped,
                mdc: Some(mdc),
                adrg: Some(adrg),
                drg: Some(*drg),
                reason: None,
            };
        }
    }
    Outcome {
        status: Status::Ungroupable,
        mdc: Some(mdc),
        adrg: Some(adrg),
        drg: None,
        reason: Some(Reason::NoSplit { adrg }),
    }
}

/// The ADRG of the stay inside `mdc`: surgical ADRGs, then non-OR procedure ADRGs; if none
/// matched and the stay has an OR procedure, QY; else medical ADRGs. `Err` is the outcome when
/// no ADRG matches (QY or ungroupable), not yet traced (see [`failure`]).
fn adrg_in_mdc<T: Tracer>(m: &Model, c: &Ctx, mdc: u16, t: &mut T) -> Result<u16, Outcome> {
    let lists = &m.mdc_adrgs[mdc as usize];
    for kind in [AdrgKind::Surgical, AdrgKind::NonOr] {
        for &a in &lists[kind as usize] {
            if match_adrg(m, c, a, t).is_some() {
                return Ok(a);
            }
        }
    }
    if c.has_or {
        return Err(Outcome {
            status: Status::Qy,
            mdc: Some(mdc),
            adrg: None,
            drg: None,
            reason: Some(Reason::OrProcedureMismatch { mdc }),
        });
    }
    for &a in &lists[AdrgKind::Medical as usize] {
        if match_adrg(m, c, a, t).is_some() {
            return Ok(a);
        }
    }
    Err(Outcome::fail(Reason::NoAdrg { mdc }, Some(mdc)))
}

/// Records why no ADRG of the MDC matched (QY: the OR procedure; else no ADRG) and returns
/// the outcome.
fn failure<T: Tracer>(c: &Ctx, o: Outcome, t: &mut T) -> Outcome {
    if T::ON {
        match o.reason {
            Some(Reason::OrProcedureMismatch { mdc }) => {
                let (code, pos) = c
                    .procs()
                    .find(|p| p.hot.flags & PROC_OR != 0)
                    .map(|p| (p.id, p.pos))
                    .unwrap_or((0, 0));
                t.step(Step::Qy { mdc, code, pos });
            }
            Some(Reason::NoAdrg { mdc }) => t.step(Step::NoAdrg { mdc }),
            _ => {}
        }
    }
    o
}

/// Sets `c.mcc` / `c.cc`. A CC or MCC whose exclusion table lists the principal diagnosis
/// does not count; the trace keeps every candidate so the coder sees what was excluded.
fn comorbidity<T: Tracer>(c: &mut Ctx, t: &mut T) {
    let ptable = c.pdx_hot.cce;
    let (mut mcc, mut cc) = (false, false);
    for s in c.sdx() {
        let (id, pos, info) = (s.id, s.pos, &s.hot);
        for (table, is_mcc) in [(info.mcc, true), (info.cc, false)] {
            if table == 0 {
                continue;
            }
            let excluded = ptable == table;
            if !excluded {
                if is_mcc {
                    mcc = true;
                } else {
                    cc = true;
                }
            }
            if T::ON {
                t.step(Step::Comorbidity {
                    code: id,
                    pos,
                    is_mcc,
                    table,
                    pdx_table: ptable,
                    excluded,
                });
            }
        }
    }
    c.mcc = mcc;
    c.cc = cc || mcc;
}

fn mdc_by_pdx<T: Tracer>(m: &Model, c: &Ctx, t: &mut T) -> Result<u16, Reason> {
    let all = c.pdx_hot.mdc_mask;
    let mask = all & !m.entry_mdc_mask;
    if mask == 0 {
        if all != 0 {
            let mdc = all.trailing_zeros() as u16;
            if T::ON {
                t.step(Step::EntryNotMet { mdc, code: c.pdx });
            }
            return Err(Reason::EntryNotMet { mdc });
        }
        if T::ON {
            t.step(Step::NoMdc { code: c.pdx });
        }
        return Err(Reason::NoMdc);
    }
    let mut conflict = None;
    for i in 0..32u16 {
        if mask & (1 << i) == 0 {
            continue;
        }
        match (m.mdc_sex[i as usize], c.sex) {
            (Some(need), Some(have)) if need != have => {
                conflict.get_or_insert(i);
                continue;
            }
            _ => {}
        }
        if T::ON {
            t.step(Step::MdcByPdx {
                mdc: i,
                code: c.pdx,
                candidates: mask,
            });
        }
        return Ok(i);
    }
    let mdc = conflict.unwrap_or(0);
    if T::ON {
        t.step(Step::SexConflict {
            mdc,
            code: c.pdx,
            sex: c.sex.unwrap_or(0),
        });
    }
    Err(Reason::SexConflict { mdc })
}

/// Index of the first matching OR-branch of the ADRG's rule, if any.
fn match_adrg<T: Tracer>(m: &Model, c: &Ctx, a: u16, t: &mut T) -> Option<u16> {
    let (first, end) = m.adrg_branches[a as usize];
    for (i, &span) in m.branch_spans[first as usize..end as usize]
        .iter()
        .enumerate()
    {
        if holds(m, c, span) {
            if T::ON {
                let e = &m.adrg[a as usize].branches[i];
                t.step(Step::Adrg {
                    adrg: a,
                    branch: i as u16,
                    branches: end as u16 - first as u16,
                    evidence: evidence(m, c, e),
                });
            }
            return Some(i as u16);
        }
    }
    None
}

/// Evaluates a rule from the flat atom array: every clause must have a true atom.
#[inline]
fn holds(m: &Model, c: &Ctx, (start, end): (u32, u32)) -> bool {
    let mut clause_ok = false;
    for fa in &m.atoms[start as usize..end as usize] {
        if !clause_ok {
            clause_ok = atom(m, c, &fa.atom).is_some();
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

fn evidence(m: &Model, c: &Ctx, e: &Expr) -> Vec<Evidence> {
    e.clauses
        .iter()
        .filter_map(|cl| {
            cl.iter()
                .find_map(|a| atom(m, c, a).map(|hit| Evidence { atom: *a, hit }))
        })
        .collect()
}

/// Evaluates an expression; when tracing and it holds, records `mk(evidence)`.
#[inline]
fn eval<T: Tracer>(
    m: &Model,
    c: &Ctx,
    e: &Expr,
    t: &mut T,
    mk: impl FnOnce(Vec<Evidence>) -> Step,
) -> bool {
    if !holds(m, c, e.span) {
        return false;
    }
    if T::ON {
        t.step(mk(evidence(m, c, e)));
    }
    true
}

/// `Some(code, position)` when the atom holds: position 0 is the principal diagnosis,
/// code `NO_CODE` marks atoms that are not about a code.
#[inline]
fn atom(m: &Model, c: &Ctx, a: &Atom) -> Option<(u32, u16)> {
    match *a {
        Atom::Pdx(s) => m.dx.in_range(c.pdx_hot.sets, s).then_some((c.pdx, 0)),
        Atom::Sdx(s) => c
            .sdx()
            .find(|d| m.dx.in_range(d.hot.sets, s))
            .map(|d| (d.id, d.pos)),
        Atom::AnyDx(s) => {
            if m.dx.in_range(c.pdx_hot.sets, s) {
                Some((c.pdx, 0))
            } else {
                c.sdx()
                    .find(|d| m.dx.in_range(d.hot.sets, s))
                    .map(|d| (d.id, d.pos))
            }
        }
        Atom::MainProc(s) => c
            .main_proc()
            .filter(|p| m.proc.in_range(p.hot.sets, s))
            .map(|p| (p.id, p.pos)),
        Atom::AnyProc(s) => c
            .procs()
            .find(|p| m.proc.in_range(p.hot.sets, s))
            .map(|p| (p.id, p.pos)),
        Atom::OrProc => c
            .procs()
            .find(|p| p.hot.flags & PROC_OR != 0)
            .map(|p| (p.id, p.pos)),
        Atom::NoOrProc => (!c.has_or).then_some((NO_CODE, 0)),
        Atom::Num(f, cmp, v) => {
            let x = match f {
                NumField::AgeYears => c.age_years,
                NumField::AgeDays => c.age_days,
                NumField::BirthWeight => c.bw,
                NumField::Los => c.los,
            }?;
            let ok = match cmp {
                Cmp::Lt => x < v,
                Cmp::Le => x <= v,
                Cmp::Gt => x > v,
                Cmp::Ge => x >= v,
                Cmp::Eq => x == v,
            };
            ok.then_some((NO_CODE, 0))
        }
        Atom::Sex(s) => (c.sex == Some(s)).then_some((NO_CODE, 0)),
        Atom::Regions(n) => (c.regions.count_ones() >= n as u32).then_some((NO_CODE, 0)),
        Atom::Mcc => c.mcc.then_some((NO_CODE, 0)),
        Atom::Cc => c.cc.then_some((NO_CODE, 0)),
        Atom::True => Some((NO_CODE, 0)),
    }
}
