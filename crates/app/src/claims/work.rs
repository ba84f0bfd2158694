//! The coder's work (平台编码员): code diagnoses and procedures, see the DRG with its trace and the
//! subsidy line by line, ask for more documents (the clock stops), propose the decision.

use super::intake::event;
use super::{changed_meanwhile, evaluate_on, load, require_status, Loaded, Step};
use crate::access::{Actor, ClaimCoder};
use crate::sms::SmsMessage;
use crate::{App, AppError, AppResult};
use domain::{AuditAction, ClaimEventKind, ClaimId, ClaimStatus, Fen, Proposal};
use scheme::Exclusion;
use std::collections::HashMap;

/// The coder's form, parsed: ICD-10 医保版 diagnoses (principal first) and ICD-9-CM-3 医保版
/// procedures (principal first), the discharge mode (离院方式 1–9) and the exclusions ticked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CodingInput {
    pub principal_dx: String,
    pub secondary_dx: Vec<String>,
    pub procedures: Vec<String>,
    pub discharge_mode: u8,
    pub exclusions: Vec<Exclusion>,
}

/// The most codes of one kind on a claim (a settlement list has 16 diagnosis lines and 8
/// procedure lines at most).
const MAX_CODES: usize = 40;

impl CodingInput {
    /// Parses the form's fields: codes separated by spaces, commas or line breaks.
    pub fn parse(
        principal: &str,
        secondary: &str,
        procedures: &str,
        discharge_mode: &str,
        exclusions: &[String],
    ) -> AppResult<CodingInput> {
        let principal = code(principal).map_err(|c| bad_code("主要诊断编码", &c))?;
        let secondary = codes(secondary).map_err(|c| bad_code("其他诊断编码", &c))?;
        let procedures = codes(procedures).map_err(|c| bad_code("手术操作编码", &c))?;
        let mode = match discharge_mode.trim() {
            "" => 1,
            m => m
                .parse::<u8>()
                .ok()
                .filter(|m| (1..=9).contains(m))
                .ok_or_else(|| AppError::Invalid("离院方式应为 1–9".into()))?,
        };
        let exclusions = exclusions
            .iter()
            .map(|e| {
                Exclusion::from_code(e)
                    .ok_or_else(|| AppError::Invalid(format!("未知的不予补助情形：{e}")))
            })
            .collect::<AppResult<Vec<_>>>()?;
        Ok(CodingInput {
            principal_dx: principal,
            secondary_dx: secondary,
            procedures,
            discharge_mode: mode,
            exclusions,
        })
    }

    pub(crate) fn from_stored(c: &store::claims::Claim) -> CodingInput {
        CodingInput {
            principal_dx: c.coding.principal_dx.clone(),
            secondary_dx: c.coding.secondary_dx.clone(),
            procedures: c.coding.procedures.clone(),
            discharge_mode: c.coding.discharge_mode.max(1),
            exclusions: c
                .coding
                .exclusions
                .iter()
                .filter_map(|e| Exclusion::from_code(e))
                .collect(),
        }
    }
}

fn bad_code(field: &str, code: &str) -> AppError {
    AppError::Invalid(format!(
        "{field}“{code}”格式不正确（应为字母数字编码，如 I63.900）"
    ))
}

/// One code as the 医保版 dictionaries write it: the leading letter upper-case, the extension
/// marker a lower-case `x` ("i63.900X001" → "I63.900x001"); letters, digits and `. x + * / -`;
/// at most 24 characters.
fn code(s: &str) -> Result<String, String> {
    let t = s.trim();
    let c: String = t
        .chars()
        .enumerate()
        .map(|(i, ch)| match (i, ch) {
            (0, ch) => ch.to_ascii_uppercase(),
            (_, 'X') => 'x',
            (_, ch) => ch,
        })
        .collect();
    let ok = c.len() <= 24
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '+' | '*' | '/' | '-'));
    if ok {
        Ok(c)
    } else {
        Err(t.chars().take(24).collect())
    }
}

fn codes(s: &str) -> Result<Vec<String>, String> {
    let list: Vec<String> = s
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | '，' | ';' | '；' | '|'))
        .filter(|x| !x.is_empty())
        .map(code)
        .collect::<Result<_, _>>()?;
    if list.len() > MAX_CODES {
        return Err(format!("超过 {MAX_CODES} 个"));
    }
    Ok(list)
}

/// What the grouper and the subsidy function make of a claim as coded.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub drg_version: String,
    pub drg_code: String,
    pub drg_name: String,
    pub grouped: bool,
    /// The grouping trace, numbered lines.
    pub trace: Vec<String>,
    /// Why the stay is ungroupable or ambiguous, in words; empty when grouped.
    pub group_reason: String,
    pub decision: claims::Decision,
    /// The computation on one line ("病组定额 1,200.00 → 连续参保 +10% 1,320.00 → …").
    pub steps_zh: String,
    /// Each rule applied or reason of refusal, with this stay's figures.
    pub reasons_zh: Vec<String>,
    /// False when the year has no published table yet (every DRG is "not in the table").
    pub table_published: bool,
}

impl Evaluation {
    pub fn amount(&self) -> Fen {
        self.decision.amount()
    }
    pub fn is_subsidy(&self) -> bool {
        matches!(self.decision, claims::Decision::Subsidy { .. })
    }
    /// The `|` list of reason codes stored with a decision.
    pub fn reason_codes(&self) -> String {
        self.decision
            .reasons()
            .iter()
            .map(|r| r.code().to_string())
            .collect::<Vec<_>>()
            .join("|")
    }
}

/// The DRG the stay groups into as coded (`None` when not coded or not grouped).
pub(crate) fn grouped_drg(loaded: &Loaded, coding: &CodingInput) -> AppResult<Option<String>> {
    if coding.principal_dx.is_empty() {
        return Ok(None);
    }
    let version = &loaded.year.rules.drg_version;
    let grouper = crate::design::grouper(version).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("DRG version {version} is not available"))
    })?;
    let o = grouper.group_fast(&drg_stay(loaded, coding));
    Ok((o.status == drg::Status::Grouped).then(|| grouper.drg_code(&o).into_owned()))
}

/// The stay as the grouper reads it: the member's sex and age on admission, the length of stay.
fn drg_stay(loaded: &Loaded, coding: &CodingInput) -> drg::Stay {
    let c = &loaded.claim;
    drg::Stay {
        sex: Some(match loaded.member.sex {
            domain::Sex::Male => 1,
            domain::Sex::Female => 2,
        }),
        age_years: Some(loaded.member.age),
        age_days: (loaded.member.age == 0).then_some(loaded.member.age_days),
        birth_weight_g: None,
        los_days: Some((c.discharge - c.admission).num_days().max(0) as u32),
        discharge_mode: Some(coding.discharge_mode.max(1)),
        principal_dx: coding.principal_dx.clone(),
        secondary_dx: coding.secondary_dx.clone(),
        procedures: coding.procedures.clone(),
    }
}

/// Groups the stay and computes its subsidy (pure apart from loading the grouper on first use).
pub(crate) fn evaluate(
    loaded: &Loaded,
    coding: &CodingInput,
    table: &HashMap<String, Fen>,
    table_published: bool,
    approved_this_year: Fen,
) -> AppResult<Evaluation> {
    let rules = &loaded.year.rules;
    let version = rules.drg_version.clone();
    let grouper = crate::design::grouper(&version).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("DRG version {version} is not available"))
    })?;
    let c = &loaded.claim;
    let stay = drg_stay(loaded, coding);
    let coded = !coding.principal_dx.is_empty();
    let g = grouper.group(&stay);
    let grouped = coded && g.outcome.status == drg::Status::Grouped;
    let drg_code = grouper.drg_code(&g.outcome).into_owned();
    let subsidy_stay = claims::Stay {
        insurance: c.insurance,
        consecutive_years: c.consecutive_years,
        admission: c.admission,
        discharge: c.discharge,
        total_cost: c.money.total,
        out_of_pocket: c.money.out_of_pocket,
        drg: if grouped {
            claims::DrgOutcome::Grouped(drg_code.clone())
        } else {
            claims::DrgOutcome::Ungroupable
        },
        exclusions: coding.exclusions.clone(),
    };
    let subsidy_rules = claims::SubsidyRules::from_scheme(rules);
    let decision = claims::decide(&subsidy_rules, table, &subsidy_stay, approved_this_year);
    let steps_zh = match &decision {
        claims::Decision::Subsidy { steps, .. } => claims::explain_steps_zh(steps, &subsidy_rules),
        claims::Decision::Refused { .. } => String::new(),
    };
    let reasons_zh = decision
        .reasons()
        .iter()
        .map(|r| r.explain_zh(&subsidy_rules, &subsidy_stay, approved_this_year))
        .collect();
    Ok(Evaluation {
        drg_version: version,
        drg_name: if coded {
            grouper.drg_name(&g.outcome).into_owned()
        } else {
            "尚未编码".into()
        },
        drg_code: if coded { drg_code } else { String::new() },
        grouped,
        trace: if coded {
            grouper.explain(&g)
        } else {
            Vec::new()
        },
        group_reason: if coded {
            grouper.reason_text(&g.outcome)
        } else {
            "请先录入主要诊断编码".into()
        },
        decision,
        steps_zh,
        reasons_zh,
        table_published,
    })
}

/// Codes that are not in the grouper's dictionaries, each with the field it came from.
fn unknown_codes(version: &str, coding: &CodingInput) -> AppResult<Vec<String>> {
    let grouper = crate::design::grouper(version).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!("DRG version {version} is not available"))
    })?;
    let known = |code: &str, dx: bool| {
        if dx {
            grouper.diagnosis_name(code).is_some()
        } else {
            grouper.procedure_name(code).is_some()
        }
    };
    let mut out = Vec::new();
    let dx = std::iter::once(&coding.principal_dx)
        .filter(|c| !c.is_empty())
        .chain(&coding.secondary_dx);
    for c in dx.filter(|c| !known(c, true)) {
        out.push(format!("诊断编码 {c} 不在 ICD-10 医保版字典中"));
    }
    for c in coding.procedures.iter().filter(|c| !known(c, false)) {
        out.push(format!("手术操作编码 {c} 不在 ICD-9-CM-3 医保版字典中"));
    }
    Ok(out)
}

impl App {
    /// The DRG and subsidy of a claim as the coder's form stands, without saving (the live
    /// figures beside the form).
    pub async fn preview_claim(
        &self,
        coder: &ClaimCoder,
        id: ClaimId,
        coding: &CodingInput,
    ) -> AppResult<Evaluation> {
        let mut conn = self.db.acquire().await?;
        let loaded = load(&mut conn, coder.scope(), id).await?;
        evaluate_on(&mut conn, &loaded, coding).await
    }

    /// Saves the coding of a claim still with the coder at `revision`; returns the evaluation.
    pub async fn code_claim(
        &self,
        coder: &ClaimCoder,
        actor: &Actor,
        id: ClaimId,
        revision: i64,
        coding: &CodingInput,
    ) -> AppResult<Evaluation> {
        let mut tx = self.db.begin_write().await?;
        let loaded = load(&mut tx, coder.scope(), id).await?;
        require_status(&loaded.claim, ClaimStatus::Received)?;
        let unknown = unknown_codes(&loaded.year.rules.drg_version, coding)?;
        if !unknown.is_empty() {
            return Err(AppError::Invalid(unknown.join("；")));
        }
        let eval = evaluate_on(&mut tx, &loaded, coding).await?;
        let stored = store::claims::Coding {
            principal_dx: coding.principal_dx.clone(),
            secondary_dx: coding.secondary_dx.clone(),
            procedures: coding.procedures.clone(),
            discharge_mode: coding.discharge_mode,
            exclusions: coding
                .exclusions
                .iter()
                .map(|e| e.code().to_string())
                .collect(),
            drg_version: eval.drg_version.clone(),
            drg_code: eval.drg_code.clone(),
            drg_name: eval.drg_name.clone(),
        };
        let now = self.now_text();
        if !store::claims::save_coding(&mut tx, id, revision, &stored, &actor.username, &now)
            .await?
        {
            return Err(changed_meanwhile());
        }
        let note = format!("{} {}", eval.drg_code, eval.drg_name);
        let s = ClaimStatus::Received;
        event(&mut tx, id, &now, actor, ClaimEventKind::Coded, s, s, &note).await?;
        self.audit(
            &mut tx,
            actor,
            &loaded.claim.village_code,
            AuditAction::ClaimCode,
            &format!("claim:{id}"),
            &note,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(eval)
    }

    /// The coder proposes the decision: the subsidy as computed, or a refusal with its reason.
    pub async fn propose_claim(
        &self,
        coder: &ClaimCoder,
        actor: &Actor,
        id: ClaimId,
        revision: i64,
        proposal: Proposal,
        note: &str,
    ) -> AppResult<()> {
        let note = crate::error::typed_text("说明", note, None)?;
        let mut tx = self.db.begin_write().await?;
        let loaded = load(&mut tx, coder.scope(), id).await?;
        require_status(&loaded.claim, ClaimStatus::Received)?;
        let coding = CodingInput::from_stored(&loaded.claim);
        let eval = evaluate_on(&mut tx, &loaded, &coding).await?;
        let note = match proposal {
            Proposal::Subsidy if loaded.claim.coding.principal_dx.is_empty() => {
                return Err(AppError::Invalid("请先保存编码，再提交审核".into()));
            }
            Proposal::Subsidy if !eval.is_subsidy() => {
                return Err(AppError::Invalid(format!(
                    "按当前编码不符合补助条件：{}。如确认不予补助，请选择“不予补助”并说明原因",
                    eval.reasons_zh.join("；")
                )));
            }
            Proposal::Refusal if note.is_empty() && eval.is_subsidy() => {
                return Err(AppError::Invalid("建议不予补助时请填写原因".into()));
            }
            Proposal::Refusal if note.is_empty() => eval.reasons_zh.join("；"),
            _ => note,
        };
        let t = store::claims::Transition {
            proposal: Some((proposal, &note)),
            ..Default::default()
        };
        let line = format!(
            "{}：{}",
            proposal.label_zh(),
            if note.is_empty() {
                eval.amount().to_string()
            } else {
                note.clone()
            }
        );
        let step = Step {
            id,
            village: &loaded.claim.village_code,
            from: ClaimStatus::Received,
            revision,
            to: ClaimStatus::Proposed,
            kind: ClaimEventKind::Proposed,
            action: AuditAction::ClaimPropose,
            note: &line,
        };
        self.record_step(&mut tx, actor, &step, &t).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Asks the member for more documents (待补件): the clock stops with the working days it has
    /// left, and the member gets an SMS with the reason.
    pub async fn request_claim_documents(
        &self,
        coder: &ClaimCoder,
        actor: &Actor,
        id: ClaimId,
        revision: i64,
        reason: &str,
    ) -> AppResult<()> {
        let reason = crate::error::typed_text("补件原因", reason, Some("请填写需要补交的材料"))?;
        let mut tx = self.db.begin_write().await?;
        let loaded = load(&mut tx, coder.scope(), id).await?;
        require_status(&loaded.claim, ClaimStatus::Received)?;
        let left = super::days_left(&loaded.year, self.today(), loaded.claim.due_on).max(0) as u32;
        let t = store::claims::Transition {
            paused: Some(Some(left)),
            ..Default::default()
        };
        let step = Step {
            id,
            village: &loaded.claim.village_code,
            from: ClaimStatus::Received,
            revision,
            to: ClaimStatus::AwaitingDocuments,
            kind: ClaimEventKind::DocumentsRequested,
            action: AuditAction::ClaimRequestDocuments,
            note: &reason,
        };
        self.record_step(&mut tx, actor, &step, &t).await?;
        let member = member_row(&mut tx, loaded.claim.member_id).await?;
        let message = SmsMessage::DocumentsRequested {
            application_no: loaded.claim.application_no.clone(),
            reason: super::sms_line(&reason, "请补交申请材料"),
        };
        self.notify(&mut tx, &member, id, &message).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }
}

pub(crate) async fn member_row(
    conn: &mut store::Conn,
    member_id: i64,
) -> AppResult<store::roster::Member> {
    store::roster::get_member(conn, &store::Scope::all(), member_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One hit of the coder's code search: "诊断" or "手术操作", the code and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeHit {
    pub kind: &'static str,
    pub code: String,
    pub name: String,
}

impl App {
    /// Diagnosis and procedure codes of the DRG version `drg_version` whose code starts with, or
    /// whose Chinese name contains, `query` (at most `limit`); nothing for a blank query.
    pub fn search_codes(&self, drg_version: &str, query: &str, limit: usize) -> Vec<CodeHit> {
        let query = query.trim();
        if query.is_empty() || query.chars().count() > 40 {
            return Vec::new();
        }
        let Some(grouper) = crate::design::grouper(drg_version) else {
            return Vec::new();
        };
        grouper
            .search(query, limit)
            .into_iter()
            .filter_map(|h| match h {
                drg::SearchHit::Diagnosis { code, name } => Some(CodeHit {
                    kind: "诊断",
                    code,
                    name,
                }),
                drg::SearchHit::Procedure { code, name } => Some(CodeHit {
                    kind: "手术操作",
                    code,
                    name,
                }),
                _ => None,
            })
            .collect()
    }
}
