//! The trace: compact steps with ids into the pack, rendered to text only on demand, so that
//! recording it costs little and the fast path does not record it at all.

use crate::engine::{MissingFields, Outcome, Reason, NO_CODE};
use crate::model::{Atom, Cmp, Model, NumField};

/// Which list of the stay a code came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    Pdx,
    Sdx,
    Proc,
}

/// Which code satisfied one clause of a rule: the atom (test) and `(code id, position)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    pub atom: Atom,
    pub hit: (u32, u16),
}

/// One decision of the grouper. Code ids are diagnosis ids for diagnoses and procedure ids
/// for procedures; render with [`crate::Grouper::render_step`].
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    MissingPdx,
    /// Mandatory fields of the settlement list are missing; the stay is not grouped.
    MissingFields {
        fields: MissingFields,
    },
    Mapped {
        field: Field,
        pos: u16,
        from: String,
        to: u32,
    },
    Unknown {
        field: Field,
        pos: u16,
        code: String,
    },
    Grey {
        field: Field,
        pos: u16,
        code: u32,
    },
    InvalidPdx {
        code: u32,
    },
    ProcExcluded {
        pos: u16,
        code: u32,
    },
    Comorbidity {
        code: u32,
        pos: u16,
        is_mcc: bool,
        table: u16,
        pdx_table: u16,
        excluded: bool,
    },
    PreMdcNone,
    Entry {
        mdc: u16,
        rule: u16,
        evidence: Vec<Evidence>,
    },
    /// The stay met the entry rule of `mdc` on secondary diagnoses only (the MDC's table is
    /// read on any diagnosis) and no ADRG of `mdc` matches it (`qy`: an OR procedure fits none
    /// of its surgical ADRGs): the principal diagnosis decides the MDC instead.
    EntryLeft {
        mdc: u16,
        qy: bool,
    },
    MdcByPdx {
        mdc: u16,
        code: u32,
        candidates: u32,
    },
    NoMdc {
        code: u32,
    },
    EntryNotMet {
        mdc: u16,
        code: u32,
    },
    SexConflict {
        mdc: u16,
        code: u32,
        sex: u8,
    },
    Adrg {
        adrg: u16,
        branch: u16,
        branches: u16,
        evidence: Vec<Evidence>,
    },
    Qy {
        mdc: u16,
        code: u32,
        pos: u16,
    },
    NoAdrg {
        mdc: u16,
    },
    Split {
        adrg: u16,
        drg: u16,
        rule: u16,
        evidence: Vec<Evidence>,
    },
}

pub(crate) trait Tracer {
    const ON: bool;
    fn step(&mut self, s: Step);
}

pub(crate) struct NoTracer;
impl Tracer for NoTracer {
    const ON: bool = false;
    #[inline(always)]
    fn step(&mut self, _: Step) {}
}

pub(crate) struct VecTracer(pub Vec<Step>);
impl Tracer for VecTracer {
    const ON: bool = true;
    fn step(&mut self, s: Step) {
        self.0.push(s);
    }
}

fn code_and_name(t: &crate::model::CodeTable, id: u32) -> String {
    if id as usize >= t.info.len() {
        return "?".into();
    }
    match t.name(id) {
        "" => t.code(id).to_string(),
        name => format!("{} {}", t.code(id), name),
    }
}

fn dx(m: &Model, id: u32) -> String {
    code_and_name(&m.dx, id)
}

fn pr(m: &Model, id: u32) -> String {
    code_and_name(&m.proc, id)
}

fn field_name(f: Field, pos: u16) -> String {
    match f {
        Field::Pdx => "principal diagnosis".into(),
        Field::Sdx => format!("secondary diagnosis {pos}"),
        Field::Proc if pos == 1 => "procedure 1 (principal)".into(),
        Field::Proc => format!("procedure {pos}"),
    }
}

fn mdc(m: &Model, i: u16) -> String {
    let e = &m.catalog.mdcs[i as usize];
    format!("{} {}", e.code, e.name)
}

fn adrg(m: &Model, i: u16) -> String {
    let e = &m.catalog.adrgs[i as usize];
    format!("{} {}", e.code, e.name)
}

fn set_label(m: &Model, s: u32) -> String {
    let set = &m.sets[s as usize];
    format!("table {} \"{}\" ({} codes)", s, set.label, set.len)
}

fn evidence(m: &Model, ev: &[Evidence]) -> String {
    let parts: Vec<String> = ev
        .iter()
        .map(|e| {
            let (code, pos) = e.hit;
            match &e.atom {
                Atom::Pdx(s) => format!(
                    "principal diagnosis {} in {}",
                    dx(m, code),
                    set_label(m, *s)
                ),
                Atom::Sdx(s) | Atom::AnyDx(s) if code != NO_CODE => {
                    let who = if pos == 0 {
                        "principal diagnosis".to_string()
                    } else {
                        format!("secondary diagnosis {pos}")
                    };
                    format!("{who} {} in {}", dx(m, code), set_label(m, *s))
                }
                Atom::MainProc(s) | Atom::AnyProc(s) => format!(
                    "{} {} in {}",
                    field_name(Field::Proc, pos),
                    pr(m, code),
                    set_label(m, *s)
                ),
                Atom::OrProc => format!("OR procedure {} at position {pos}", pr(m, code)),
                Atom::NoOrProc => "no OR procedure".into(),
                Atom::Num(f, c, v) => {
                    let f = match f {
                        NumField::AgeYears => "age in years",
                        NumField::AgeDays => "age in days",
                        NumField::BirthWeight => "birth weight (g)",
                        NumField::Los => "length of stay",
                    };
                    let c = match c {
                        Cmp::Lt => "<",
                        Cmp::Le => "<=",
                        Cmp::Gt => ">",
                        Cmp::Ge => ">=",
                        Cmp::Eq => "=",
                    };
                    format!("{f} {c} {v}")
                }
                Atom::Sex(s) => format!("sex = {s}"),
                Atom::Regions(n) => format!(
                    "diagnoses in at least {n} body regions ({} listed in the pack)",
                    m.regions.len()
                ),
                Atom::Mcc => "has an MCC".into(),
                Atom::Cc => "has a CC or MCC".into(),
                Atom::True => "otherwise".into(),
                other => format!("{other:?}"),
            }
        })
        .collect();
    parts.join("; ")
}

pub(crate) fn render(m: &Model, s: &Step) -> String {
    match s {
        Step::MissingPdx => "no principal diagnosis given".into(),
        Step::MissingFields { fields } => format!(
            "not grouped: {}; the settlement list must give {}",
            missing_text(*fields),
            if fields.iter().count() > 1 { "them" } else { "it" }
        ),
        Step::Mapped {
            field,
            pos,
            from,
            to,
        } => {
            let target = match field {
                Field::Proc => pr(m, *to),
                _ => dx(m, *to),
            };
            format!(
                "{}: code {from} (clinical edition, 医保版 1.0 or dagger part) mapped to 医保版 {target}",
                field_name(*field, *pos)
            )
        }
        Step::Unknown { field, pos, code } => format!(
            "{}: code `{code}` is not in the 医保版 or clinical code tables; ignored",
            field_name(*field, *pos)
        ),
        Step::Grey { field, pos, code } => {
            let c = match field {
                Field::Proc => pr(m, *code),
                _ => dx(m, *code),
            };
            format!(
                "{}: {c} is a 灰码 (not to be used on the settlement list); used for grouping, please recode",
                field_name(*field, *pos)
            )
        }
        Step::InvalidPdx { code } => format!(
            "principal diagnosis {} is not allowed as a principal diagnosis (invalid principal diagnosis table)",
            dx(m, *code)
        ),
        Step::ProcExcluded { pos, code } => format!(
            "procedure {pos} {} is in the table of procedures excluded from grouping; ignored",
            pr(m, *code)
        ),
        Step::Comorbidity {
            code,
            pos,
            is_mcc,
            table,
            pdx_table,
            excluded,
        } => {
            let kind = if *is_mcc { "MCC" } else { "CC" };
            let ptab = if *pdx_table == 0 {
                "principal diagnosis in no exclusion table".to_string()
            } else {
                format!("principal diagnosis in exclusion table {pdx_table}")
            };
            if *excluded {
                format!(
                    "{kind} {} from secondary diagnosis {pos} excluded: {ptab}, {kind} in {table}",
                    dx(m, *code)
                )
            } else {
                format!(
                    "{kind} {} from secondary diagnosis {pos}, not excluded: {ptab}, {kind} in {table}",
                    dx(m, *code)
                )
            }
        }
        Step::PreMdcNone => "pre-MDC (MDCA): no rule matched".into(),
        Step::Entry { mdc: i, evidence: ev, .. } => {
            format!("MDC {} by its entry rule: {}", mdc(m, *i), evidence(m, ev))
        }
        Step::EntryLeft { mdc: i, qy } => format!(
            "no ADRG of {} matches{}; the stay entered it on other diagnoses only (its table \
             is read on any diagnosis), so the principal diagnosis decides the MDC",
            mdc(m, *i),
            if *qy {
                " (an OR procedure fits none of its surgical ADRGs)"
            } else {
                ""
            }
        ),
        Step::MdcByPdx {
            mdc: i,
            code,
            candidates,
        } => {
            let n = candidates.count_ones();
            let extra = if n > 1 {
                format!(" (first of {n} MDCs listing it that fits the sex)")
            } else {
                String::new()
            };
            format!(
                "MDC {} by principal diagnosis {}{extra}",
                mdc(m, *i),
                dx(m, *code)
            )
        }
        Step::NoMdc { code } => format!(
            "principal diagnosis {} is in no MDC principal-diagnosis table",
            dx(m, *code)
        ),
        Step::EntryNotMet { mdc: i, code } => {
            let rules: Vec<&str> = m
                .entries
                .iter()
                .filter(|(e, _)| e == i)
                .map(|(_, x)| x.text.as_str())
                .collect();
            format!(
                "principal diagnosis {} is listed only for {}, whose entry rule the stay does not meet ({})",
                dx(m, *code),
                mdc(m, *i),
                rules.join(" or ")
            )
        }
        Step::SexConflict { mdc: i, code, sex } => format!(
            "sex conflict: principal diagnosis {} belongs to {} which requires the other sex (sex given: {sex})",
            dx(m, *code),
            mdc(m, *i)
        ),
        Step::Adrg {
            adrg: a,
            branch,
            branches,
            evidence: ev,
        } => {
            let b = if *branches > 1 {
                format!(" (condition {} of {branches})", branch + 1)
            } else {
                String::new()
            };
            format!("ADRG {}{b}: {}", adrg(m, *a), evidence(m, ev))
        }
        Step::Qy { mdc: i, code, pos } => format!(
            "QY: OR procedure {} (procedure {pos}) fits no surgical ADRG of {}",
            pr(m, *code),
            mdc(m, *i)
        ),
        Step::NoAdrg { mdc: i } => format!("no ADRG of {} matches the stay", mdc(m, *i)),
        Step::Split {
            adrg,
            drg,
            rule,
            evidence: ev,
        } => {
            let d = &m.catalog.drgs[*drg as usize];
            let rule = &m.adrg[*adrg as usize].splits[*rule as usize].0.text;
            format!("DRG {} {}: {} [split rule `{rule}`]", d.code, d.name, evidence(m, ev))
        }
    }
}

pub(crate) fn reason_text(m: &Model, o: &Outcome) -> String {
    let Some(r) = o.reason else {
        return String::new();
    };
    match r {
        Reason::MissingPdx => "missing principal diagnosis".into(),
        Reason::MissingFields { fields } => missing_text(fields),
        Reason::UnknownPdx => "unknown principal diagnosis code".into(),
        Reason::InvalidPdx => "code not allowed as principal diagnosis".into(),
        Reason::NoMdc => "principal diagnosis in no MDC table".into(),
        Reason::EntryNotMet { mdc: i } => format!(
            "principal diagnosis only in {}, entry conditions not met (age in days, birth weight or body regions)",
            m.catalog.mdcs[i as usize].code
        ),
        Reason::SexConflict { mdc: i } => {
            format!("sex conflicts with {}", m.catalog.mdcs[i as usize].code)
        }
        Reason::OrProcedureMismatch { mdc: i } => format!(
            "OR procedure fits no surgical ADRG of {}",
            m.catalog.mdcs[i as usize].code
        ),
        Reason::NoAdrg { mdc: i } => {
            format!("no ADRG of {} matches", m.catalog.mdcs[i as usize].code)
        }
        Reason::NoSplit { adrg: a } => {
            format!(
                "no DRG split of {} matches",
                m.catalog.adrgs[a as usize].code
            )
        }
    }
}

/// "missing mandatory field: sex (性别)", naming the input column and the settlement-list
/// field of each missing one.
fn missing_text(fields: MissingFields) -> String {
    let names: Vec<String> = fields
        .iter()
        .map(|f| {
            let why = match f {
                crate::Mandatory::AgeDays => ", required when age_years is 0",
                crate::Mandatory::BirthWeight => ", required for a newborn: age_days <= 28",
                crate::Mandatory::Sex => ", 1 or 2",
                crate::Mandatory::Age => "",
            };
            format!("{} ({}{why})", f.column(), f.name_zh())
        })
        .collect();
    let s = if names.len() > 1 { "s" } else { "" };
    format!("missing mandatory field{s}: {}", names.join(", "))
}
