//! The reviewer (平台审核员), never the coder of the same claim: approves the proposal, returns the
//! claim to the coder, or refuses it, each with an SMS; and re-opening a decided claim, recorded
//! with who, when and why.

use super::work::{member_row, CodingInput};
use super::{evaluate_on, load, require_status, Step};
use crate::access::{Actor, ClaimReopener, ClaimReviewer};
use crate::sms::SmsMessage;
use crate::{App, AppError, AppResult};
use domain::{AuditAction, ClaimEventKind, ClaimId, ClaimStatus, Fen, Proposal};

/// What the reviewer decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewDecision {
    /// As proposed: the subsidy (recomputed now, against the yearly cap as it stands) or the
    /// proposed refusal.
    Approve,
    /// Back to the coder, with what to change.
    Return(String),
    /// Not subsidised, with the reason the member is told.
    Refuse(String),
}

impl App {
    pub async fn review_claim(
        &self,
        reviewer: &ClaimReviewer,
        actor: &Actor,
        id: ClaimId,
        revision: i64,
        decision: ReviewDecision,
    ) -> AppResult<ClaimStatus> {
        let mut tx = self.db.begin_write().await?;
        let claim = store::claims::get(&mut tx, reviewer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        // The yearly cap counts the member's approved claims: approvals of one pool queue on
        // its ledger head row, so two reviewers cannot both spend the same remainder.
        store::ledger::lock_pool(&mut tx, &claim.pool_code).await?;
        let loaded = load(&mut tx, reviewer.scope(), id).await?;
        let claim = &loaded.claim;
        require_status(claim, ClaimStatus::Proposed)?;
        if claim.coded_by.as_deref() == Some(actor.username.as_str()) {
            return Err(AppError::Forbidden);
        }
        let now = self.now_text();
        let (to, amount, reasons, note, kind, sms) = match decision {
            ReviewDecision::Approve => {
                let eval = evaluate_on(&mut tx, &loaded, &CodingInput::from_stored(claim)).await?;
                match (claim.proposal, eval.is_subsidy()) {
                    (Some(Proposal::Subsidy), true) => (
                        ClaimStatus::Approved,
                        eval.amount(),
                        eval.reason_codes(),
                        eval.steps_zh.clone(),
                        ClaimEventKind::Approved,
                        SmsMessage::ClaimApproved {
                            application_no: claim.application_no.clone(),
                            amount: eval.amount(),
                        },
                    ),
                    (Some(Proposal::Subsidy), false) => {
                        let why = eval.reasons_zh.join("；");
                        refusal(claim, eval.reason_codes(), why, rule_labels(&eval))
                    }
                    _ => {
                        let why = claim.proposal_note.clone();
                        refusal(claim, eval.reason_codes(), why.clone(), why)
                    }
                }
            }
            ReviewDecision::Refuse(reason) => {
                let reason =
                    crate::error::typed_text("原因", &reason, Some("请填写不予补助的原因"))?;
                refusal(claim, "reviewer".into(), reason.clone(), reason)
            }
            ReviewDecision::Return(reason) => {
                let reason = crate::error::typed_text("原因", &reason, Some("请填写退回的原因"))?;
                let t = store::claims::Transition {
                    clear_decision: true,
                    ..Default::default()
                };
                let step = Step {
                    id,
                    village: &claim.village_code,
                    from: ClaimStatus::Proposed,
                    revision,
                    to: ClaimStatus::Received,
                    kind: ClaimEventKind::Returned,
                    action: AuditAction::ClaimReturn,
                    note: &reason,
                };
                self.record_step(&mut tx, actor, &step, &t).await?;
                tx.commit().await.map_err(store::StoreError::from)?;
                return Ok(ClaimStatus::Received);
            }
        };
        let t = store::claims::Transition {
            decision: Some(store::claims::Decided {
                amount,
                reasons: &reasons,
                by: &actor.username,
                at: &now,
                note: &note,
            }),
            ..Default::default()
        };
        let line = if to == ClaimStatus::Approved {
            format!("补助 {amount} 元：{note}")
        } else {
            note.clone()
        };
        let step = Step {
            id,
            village: &claim.village_code,
            from: ClaimStatus::Proposed,
            revision,
            to,
            kind,
            action: if to == ClaimStatus::Approved {
                AuditAction::ClaimApprove
            } else {
                AuditAction::ClaimRefuse
            },
            note: &line,
        };
        self.record_step(&mut tx, actor, &step, &t).await?;
        let member = member_row(&mut tx, claim.member_id).await?;
        self.notify(&mut tx, &member, id, &sms).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(to)
    }

    /// Re-opens a decided claim (back to the coder), with the reason recorded in its history and
    /// the audit log. The decision's amount is cleared: a re-decided claim counts anew.
    pub async fn reopen_claim(
        &self,
        reopener: &ClaimReopener,
        actor: &Actor,
        id: ClaimId,
        revision: i64,
        reason: &str,
    ) -> AppResult<()> {
        let reason = crate::error::typed_text("原因", reason, Some("请填写重新打开的原因"))?;
        let mut tx = self.db.begin_write().await?;
        let claim = store::claims::get(&mut tx, reopener.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !claim.status.is_decided() {
            return Err(AppError::Conflict(
                "只有已作出决定的申请才能重新打开".into(),
            ));
        }
        let t = store::claims::Transition {
            clear_decision: true,
            ..Default::default()
        };
        let step = Step {
            id,
            village: &claim.village_code,
            from: claim.status,
            revision,
            to: ClaimStatus::Received,
            kind: ClaimEventKind::Reopened,
            action: AuditAction::ClaimReopen,
            note: &reason,
        };
        self.record_step(&mut tx, actor, &step, &t).await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }
}

/// A refusal: the reasons stored, the note the member reads.
/// `why` is kept with the decision; `told` is what the SMS says (rule labels without figures,
/// or the words the coder or reviewer wrote for the member — the form warns them that these are
/// sent and must not name an illness).
fn refusal(
    claim: &store::claims::Claim,
    reasons: String,
    why: String,
    told: String,
) -> (ClaimStatus, Fen, String, String, ClaimEventKind, SmsMessage) {
    let sms = SmsMessage::ClaimRefused {
        application_no: claim.application_no.clone(),
        reason: super::sms_line(&told, "不符合本年度补助条件"),
    };
    (
        ClaimStatus::Refused,
        Fen::ZERO,
        reasons,
        why,
        ClaimEventKind::Refused,
        sms,
    )
}

/// The rules that refused a stay, by their labels (no figures, no diagnosis).
fn rule_labels(eval: &super::Evaluation) -> String {
    eval.decision
        .reasons()
        .iter()
        .map(|r| r.label_zh())
        .collect::<Vec<_>>()
        .join("；")
}
