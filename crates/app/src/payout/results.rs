//! The bank's results (回盘): each sent line paid or failed. Paid lines tell the member by SMS;
//! failed lines reverse their two entries, take the card out of use, send the claim back to
//! `approved` (it joins the next batch once a new card is recorded) and ask the member for a
//! new card. One import is one transaction; importing the same file again changes nothing.

use super::batch::reversal_entries;
use super::FailPoint;
use crate::access::{Actor, PayoutOfficer};
use crate::sms::SmsMessage;
use crate::{App, AppError, AppResult};
use domain::{AuditAction, BatchId, BatchStatus, ClaimEventKind, ClaimStatus, LineId, LineState};
use std::collections::HashMap;

/// What the bank said about one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineOutcome {
    Paid,
    Failed(String),
}

/// What an import or a marking did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResultsSummary {
    pub paid: usize,
    pub failed: usize,
    /// Lines that already had this result (a repeated import).
    pub unchanged: usize,
    /// Every line has its result: the batch is closed.
    pub closed: bool,
}

impl App {
    /// Reads the bank's result file (CSV or xlsx) and records it: lines are matched by their
    /// sequence number and checked against the card's last four digits and the amount when the
    /// file gives them. Any bad row refuses the whole file.
    pub async fn import_results(
        &self,
        officer: &PayoutOfficer,
        actor: &Actor,
        id: BatchId,
        bytes: &[u8],
        file_name: &str,
    ) -> AppResult<ResultsSummary> {
        let rows = payout::results::parse_results(bytes, file_name)
            .map_err(|e| AppError::Invalid(e.to_string()))?;
        let mut conn = self.db.acquire().await?;
        let lines = store::payout::lines(&mut conn, officer.scope(), id).await?;
        let details = store::payout::pay_details(&mut conn, id, true).await?;
        drop(conn);
        let by_seq: HashMap<i64, &store::payout::Line> = lines.iter().map(|l| (l.seq, l)).collect();
        let cards: HashMap<i64, String> = details
            .iter()
            .map(|d| Ok((d.seq, self.keys.decrypt(&d.card_cipher)?)))
            .collect::<AppResult<_>>()?;
        let mut problems = Vec::new();
        let mut outcomes = Vec::with_capacity(rows.len());
        for r in &rows {
            let Some(line) = by_seq.get(&i64::from(r.seq)) else {
                problems.push(format!("第{}行：批次中没有序号 {}", r.row, r.seq));
                continue;
            };
            let card = cards.get(&line.seq).map(String::as_str).unwrap_or("");
            if r.card_last4
                .as_deref()
                .is_some_and(|l4| !card.ends_with(l4))
            {
                problems.push(format!("第{}行：卡号与第 {} 笔不符", r.row, r.seq));
            }
            if r.amount.is_some_and(|a| a != line.amount) {
                problems.push(format!(
                    "第{}行：金额与第 {} 笔（{} 元）不符",
                    r.row, r.seq, line.amount
                ));
            }
            outcomes.push((
                line.id,
                match &r.outcome {
                    payout::results::Outcome::Paid => LineOutcome::Paid,
                    payout::results::Outcome::Failed { reason } => {
                        LineOutcome::Failed(reason.clone())
                    }
                },
            ));
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid(format!(
                "结果文件未导入：{}",
                problems.join("；")
            )));
        }
        self.record_results(officer, actor, id, &outcomes).await
    }

    /// Records the bank's results for lines of an approved batch, all or nothing.
    pub async fn record_results(
        &self,
        officer: &PayoutOfficer,
        actor: &Actor,
        id: BatchId,
        outcomes: &[(LineId, LineOutcome)],
    ) -> AppResult<ResultsSummary> {
        let mut tx = self.db.begin_write().await?;
        let batch = store::payout::get_batch(&mut tx, officer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !officer.manages(&batch.pool_code) {
            return Err(AppError::Forbidden);
        }
        store::ledger::lock_pool(&mut tx, &batch.pool_code).await?;
        let batch = store::payout::get_batch(&mut tx, officer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if batch.status == BatchStatus::Noticed {
            return Err(AppError::Conflict(
                "批次尚未审批，没有发放结果可登记".into(),
            ));
        }
        let mut summary = ResultsSummary::default();
        for (line_id, outcome) in outcomes {
            self.fail_at(FailPoint::ResultLine)?;
            let line = store::payout::get_line(&mut tx, &store::Scope::all(), *line_id)
                .await?
                .filter(|l| l.batch_id == id && l.payout_entry.is_some())
                .ok_or(AppError::NotFound)?;
            match (line.state, outcome) {
                (LineState::Pending, LineOutcome::Paid) => {
                    self.line_paid(&mut tx, actor, &line).await?;
                    summary.paid += 1;
                }
                (LineState::Pending, LineOutcome::Failed(why)) => {
                    self.line_failed(&mut tx, actor, &batch, &line, why).await?;
                    summary.failed += 1;
                }
                (LineState::Paid, LineOutcome::Paid)
                | (LineState::Failed, LineOutcome::Failed(_)) => {
                    summary.unchanged += 1;
                }
                (state, _) => {
                    return Err(AppError::Conflict(format!(
                        "第 {} 笔已登记为“{}”，与本次结果不符；请核对银行回盘",
                        line.seq,
                        state.label_zh()
                    )))
                }
            }
        }
        summary.closed = self.close_if_done(&mut tx, &batch).await?;
        let detail = format!(
            "{}：成功 {} 笔，失败 {} 笔，重复 {} 笔",
            batch.batch_no, summary.paid, summary.failed, summary.unchanged
        );
        self.audit(
            &mut tx,
            actor,
            &batch.pool_code,
            AuditAction::PayoutResults,
            &format!("batch:{id}"),
            &detail,
        )
        .await?;
        self.fail_at(FailPoint::ResultsCommit)?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(summary)
    }

    async fn line_paid(
        &self,
        tx: &mut store::Conn,
        actor: &Actor,
        line: &store::payout::Line,
    ) -> AppResult<()> {
        let now = self.now_text();
        let result = store::payout::LineResult {
            to: LineState::Paid,
            note: "",
            by: &actor.username,
            at: &now,
            reversal_entry: None,
        };
        if !store::payout::set_line_state(tx, line.id, &result).await? {
            return Err(AppError::Conflict(
                "该笔发放结果已被他人登记，请刷新".into(),
            ));
        }
        let step = store::payout::BatchClaimStep {
            from: ClaimStatus::InBatch,
            to: ClaimStatus::Paid,
            kind: ClaimEventKind::PaymentSucceeded,
            by: &actor.username,
            at: &now,
            note: "",
        };
        store::payout::move_claim(tx, line.claim_id, &step).await?;
        let card = store::payout::get_card(tx, &store::Scope::all(), line.card_id).await?;
        let last4: String = card
            .map(|c| {
                c.card_masked
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect()
            })
            .unwrap_or_default();
        let claim = claim_row(tx, line.claim_id).await?;
        let msg = SmsMessage::SubsidyPaid {
            application_no: claim.application_no.clone(),
            amount: line.amount,
            last4,
        };
        self.notify_member(tx, claim.member_id, line.claim_id, &msg)
            .await
    }

    async fn line_failed(
        &self,
        tx: &mut store::Conn,
        actor: &Actor,
        batch: &store::payout::Batch,
        line: &store::payout::Line,
        why: &str,
    ) -> AppResult<()> {
        let why = crate::error::typed_text("失败原因", why, None)?;
        let why = if why.is_empty() {
            "银行退回".to_string()
        } else {
            why
        };
        let today = self.today();
        let entries = reversal_entries(line, &batch.batch_no, today, &why);
        let numbers = self
            .append_pool(tx, actor, &batch.pool_code, batch.year_id, &entries)
            .await?;
        let now = self.now_text();
        let result = store::payout::LineResult {
            to: LineState::Failed,
            note: &why,
            by: &actor.username,
            at: &now,
            reversal_entry: numbers.first().copied(),
        };
        if !store::payout::set_line_state(tx, line.id, &result).await? {
            return Err(AppError::Conflict(
                "该笔发放结果已被他人登记，请刷新".into(),
            ));
        }
        store::payout::retire_card(tx, line.card_id, &format!("银行退回：{why}")).await?;
        let step = store::payout::BatchClaimStep {
            from: ClaimStatus::InBatch,
            to: ClaimStatus::Approved,
            kind: ClaimEventKind::PaymentFailed,
            by: &actor.username,
            at: &now,
            note: &why,
        };
        store::payout::move_claim(tx, line.claim_id, &step).await?;
        let claim = claim_row(tx, line.claim_id).await?;
        let msg = SmsMessage::PaymentFailed {
            application_no: claim.application_no.clone(),
        };
        self.notify_member(tx, claim.member_id, line.claim_id, &msg)
            .await
    }

    /// Closes an approved batch whose lines all have their result.
    async fn close_if_done(
        &self,
        tx: &mut store::Conn,
        batch: &store::payout::Batch,
    ) -> AppResult<bool> {
        if batch.status == BatchStatus::Closed {
            return Ok(true);
        }
        if store::payout::pending_lines(tx, batch.id).await? > 0 {
            return Ok(false);
        }
        let now = self.now_text();
        let change = store::payout::BatchChange {
            closed_at: Some(&now),
            ..Default::default()
        };
        let done = store::payout::transition_batch(
            tx,
            batch.id,
            BatchStatus::Approved,
            batch.revision,
            BatchStatus::Closed,
            &change,
        )
        .await?;
        Ok(done)
    }

    /// An SMS to the claim's member, if they have a phone on file.
    pub(crate) async fn notify_member(
        &self,
        tx: &mut store::Conn,
        member_id: i64,
        claim: domain::ClaimId,
        msg: &SmsMessage,
    ) -> AppResult<()> {
        let member = store::roster::get_member(tx, &store::Scope::all(), member_id)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("member {member_id}")))?;
        self.notify(tx, &member, claim, msg).await
    }
}

pub(crate) async fn claim_row(
    conn: &mut store::Conn,
    id: domain::ClaimId,
) -> AppResult<store::claims::Claim> {
    store::claims::get(conn, &store::Scope::all(), id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("claim {id}")))
}
