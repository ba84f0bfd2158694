//! Claims: a hospitalised member applies with three documents, a coder codes the stay and the
//! grouper assigns the DRG, the subsidy follows from the year's published table
//! (`claims::decide`, a pure function), and a reviewer — never the coder — decides, within five
//! working days. Every change is a conditional update on the claim's state and revision, written
//! with its history line, its audit entry and its SMS in one transaction.
//!
//! Files: `intake` (filing and added documents), `work` (the coder: coding, live evaluation,
//! proposals, asking for documents), `review` (the reviewer and re-opening), `list` (lists,
//! queues and the export).

mod intake;
mod list;
mod review;
mod work;

pub use intake::{StayInput, Upload};
pub use list::{ClaimList, ListQuery};
pub use review::ReviewDecision;
pub use work::{CodingInput, Evaluation};

use crate::access::Actor;
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::{ClaimId, ClaimStatus, Fen};
use std::collections::HashMap;
use store::claims::{Claim, Document, Event, Flag};

/// What a claim's page shows. Coders and reviewers see the member through this view only: name,
/// masked ID, age, sex and insurance — nothing else of the roster (least privilege).
#[derive(Debug, Clone)]
pub struct ClaimView {
    pub claim: Claim,
    pub member: MemberFacts,
    pub hospital: domain::Hospital,
    pub year_label: String,
    pub documents: Vec<Document>,
    pub flags: Vec<Flag>,
    pub events: Vec<Event>,
    /// The DRG, trace and subsidy as the claim is coded now (or as decided).
    pub evaluation: Evaluation,
    /// Working days left until the deadline (negative: overdue); `None` when the clock is
    /// stopped or the claim is decided.
    pub days_left: Option<i64>,
    /// The exclusions the year's rules recognise, for the coder's ticks.
    pub exclusion_choices: Vec<scheme::Exclusion>,
}

#[derive(Debug, Clone)]
pub struct MemberFacts {
    pub name: String,
    pub id_masked: String,
    pub age: u32,
    pub age_days: u32,
    pub sex: domain::Sex,
    pub village_name: String,
}

/// A claim with the year and the facts its arithmetic needs, loaded inside the actor's scope.
pub(crate) struct Loaded {
    pub claim: Claim,
    pub year: Year,
    pub member: MemberFacts,
    pub hospital: domain::Hospital,
}

impl App {
    /// A claim as its page shows it; not found outside the actor's area.
    pub async fn claim(&self, actor: &Actor, id: ClaimId) -> AppResult<ClaimView> {
        let mut conn = self.db.acquire().await?;
        let loaded = load(&mut conn, &actor.scope(), id).await?;
        let coding = work::CodingInput::from_stored(&loaded.claim);
        let evaluation = evaluate_on(&mut conn, &loaded, &coding).await?;
        let today = self.today();
        let days_left = (loaded.claim.status.clock_runs())
            .then(|| days_left(&loaded.year, today, loaded.claim.due_on));
        Ok(ClaimView {
            documents: store::claims::documents(&mut conn, id).await?,
            flags: store::claims::flags(&mut conn, id).await?,
            events: store::claims::events(&mut conn, id).await?,
            year_label: loaded.year.row.label.clone(),
            exclusion_choices: loaded.year.rules.exclusions.clone(),
            member: loaded.member,
            hospital: loaded.hospital,
            claim: loaded.claim,
            evaluation,
            days_left,
        })
    }

    /// The claim's current revision (what a form must carry to change it); not found outside the
    /// actor's area. One row: the handlers check a form before the use case loads the claim.
    pub async fn claim_revision(&self, actor: &Actor, id: ClaimId) -> AppResult<i64> {
        let mut conn = self.db.acquire().await?;
        let claim = store::claims::get(&mut conn, &actor.scope(), id).await?;
        Ok(claim.ok_or(AppError::NotFound)?.revision)
    }

    /// The bytes of a claim's document (or its thumbnail), decrypted, found only through a
    /// claim in the actor's area. Opening the full document is audited.
    pub async fn claim_document(
        &self,
        actor: &Actor,
        claim: ClaimId,
        document: i64,
        thumbnail: bool,
    ) -> AppResult<(Vec<u8>, &'static str)> {
        let mut conn = self.db.acquire().await?;
        let (doc, village) =
            store::claims::document_in_scope(&mut conn, &actor.scope(), claim, document)
                .await?
                .ok_or(AppError::NotFound)?;
        let (name, mime) = match (&doc.thumb_name, thumbnail) {
            (Some(t), true) => (t.clone(), "image/jpeg"),
            _ => (
                doc.object_name.clone(),
                documents::DocumentKind::parse(&doc.kind)
                    .map(|k| k.mime())
                    .unwrap_or("application/octet-stream"),
            ),
        };
        if !thumbnail {
            self.audit(
                &mut conn,
                actor,
                &village,
                domain::AuditAction::ClaimDocumentView,
                &format!("claim:{claim}"),
                &format!("{} #{}", doc.role.label_zh(), doc.id),
            )
            .await?;
        }
        let bytes = self
            .documents
            .get(&name)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("document {name}: {e}")))?;
        Ok((bytes, mime))
    }
}

/// Working days from `today` to `due` by the year's calendar; negative when overdue.
pub(crate) fn days_left(year: &Year, today: NaiveDate, due: NaiveDate) -> i64 {
    let cal = &year.rules.calendar;
    if due >= today {
        i64::from(cal.working_days_between(today, due))
    } else {
        -i64::from(cal.working_days_between(due, today))
    }
}

pub(crate) async fn load(
    conn: &mut store::Conn,
    scope: &store::Scope,
    id: ClaimId,
) -> AppResult<Loaded> {
    let claim = store::claims::get(conn, scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let year = load_year(conn, &store::Scope::all(), claim.year_id).await?;
    let member = member_facts(conn, claim.member_id, claim.admission).await?;
    let hospital = store::hospitals::get(
        conn,
        &store::Scope::all(),
        domain::HospitalId(claim.hospital_id),
    )
    .await?
    .ok_or_else(|| AppError::Internal(anyhow::anyhow!("claim {id} cites no hospital")))?;
    Ok(Loaded {
        claim,
        year,
        member,
        hospital,
    })
}

/// The member as a claim needs them: age on the day of admission, sex, masked ID.
pub(crate) async fn member_facts(
    conn: &mut store::Conn,
    member_id: i64,
    on: NaiveDate,
) -> AppResult<MemberFacts> {
    let m = store::roster::get_member(conn, &store::Scope::all(), member_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let birth: NaiveDate = m
        .birth_date
        .parse()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("member {member_id} birth date")))?;
    let village_name = store::regions::get(conn, &store::Scope::all(), &m.village_code)
        .await?
        .map(|r| r.name)
        .unwrap_or_default();
    Ok(MemberFacts {
        name: m.name,
        id_masked: m.id_masked,
        age: on.years_since(birth).unwrap_or(0),
        age_days: (on - birth).num_days().max(0) as u32,
        sex: if m.sex == 2 {
            domain::Sex::Female
        } else {
            domain::Sex::Male
        },
        village_name,
    })
}

/// The claim's evaluation as coded in `coding`: grouped first, then only that DRG's amount is
/// read from the year's current published table, with what the member already had approved
/// this year (other claims), so a page reads a few rows whatever the table's size.
pub(crate) async fn evaluate_on(
    conn: &mut store::Conn,
    loaded: &Loaded,
    coding: &work::CodingInput,
) -> AppResult<work::Evaluation> {
    let c = &loaded.claim;
    let approved = store::claims::approved_total(conn, c.year_id, c.member_id, c.id).await?;
    let table = store::designs::current_table(conn, c.year_id).await?;
    let mut amounts = HashMap::new();
    if let (Some(t), Some(drg)) = (&table, work::grouped_drg(loaded, coding)?) {
        if let Some(a) = store::designs::table_amount(conn, t.id, &drg).await? {
            amounts.insert(drg, Fen(a));
        }
    }
    work::evaluate(loaded, coding, &amounts, table.is_some(), approved)
}

/// Refuses a change unless the claim is in `expected` (someone else moved it first).
pub(crate) fn require_status(claim: &Claim, expected: ClaimStatus) -> AppResult<()> {
    if claim.status == expected {
        Ok(())
    } else {
        Err(AppError::Conflict(format!(
            "该申请当前状态为“{}”，无法执行此操作（可能已被他人处理，请刷新后重试）",
            claim.status.label_zh()
        )))
    }
}

/// One step in a claim's life: from which state (at which revision) to which, what the
/// history calls it, what the audit log calls it, and why.
pub(crate) struct Step<'a> {
    pub id: ClaimId,
    pub village: &'a str,
    pub from: ClaimStatus,
    pub revision: i64,
    pub to: ClaimStatus,
    pub kind: domain::ClaimEventKind,
    pub action: domain::AuditAction,
    pub note: &'a str,
}

impl App {
    /// Writes a step in the caller's transaction: the conditional change of state (refused as
    /// "changed meanwhile" when someone moved the claim first), its history line and its audit
    /// entry.
    pub(crate) async fn record_step(
        &self,
        tx: &mut store::Conn,
        actor: &Actor,
        step: &Step<'_>,
        change: &store::claims::Transition<'_>,
    ) -> AppResult<()> {
        let s = step;
        if !store::claims::transition(tx, s.id, s.from, s.revision, s.to, change).await? {
            return Err(changed_meanwhile());
        }
        let now = self.now_text();
        intake::event(tx, s.id, &now, actor, s.kind, s.from, s.to, s.note).await?;
        let subject = format!("claim:{}", s.id);
        self.audit(tx, actor, s.village, s.action, &subject, s.note)
            .await
    }
}

/// The answer when a conditional update found the claim changed meanwhile.
pub(crate) fn changed_meanwhile() -> AppError {
    AppError::Conflict("该申请已被他人修改或处理，请刷新页面后重试".into())
}

/// Free text as an SMS variable may carry it: one line of at most `sms::VAR_MAX_CHARS`
/// characters (cut with "…"), or `fallback` when nothing is left.
pub(crate) fn sms_line(text: &str, fallback: &str) -> String {
    let one_line: String = text.chars().filter(|c| !c.is_control()).collect();
    let one_line = one_line.trim();
    let max = crate::sms::VAR_MAX_CHARS;
    if one_line.is_empty() {
        fallback.to_string()
    } else if one_line.chars().count() <= max {
        one_line.to_string()
    } else {
        let mut cut: String = one_line.chars().take(max - 1).collect();
        cut.push('…');
        cut
    }
}
