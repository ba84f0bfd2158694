//! The month's batch: gathered from the approved claims, put on public notice at once, approved
//! by a second officer after the notice, posted to the ledger exactly once.
//!
//! Exactly once, structurally: approval is one transaction that moves the batch from `noticed`
//! at the revision the officer saw, appends every line's two entries, and records their numbers
//! on the lines (`expense_entry IS NULL` is part of that update's condition). A failure anywhere
//! rolls all of it back; a second approval finds the batch no longer `noticed`. The partial
//! unique index on live lines keeps a claim in at most one batch whatever the code does.

use super::{BatchView, FailPoint};
use crate::access::{Actor, PayoutOfficer};
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::{AuditAction, BatchId, BatchStatus, ClaimEventKind, ClaimStatus, Fen, LineState};
use ledger::{Account, Entry, EntryKind};

/// What a new batch would take, before it is created.
#[derive(Debug, Clone)]
pub struct BatchPreview {
    pub year_id: i64,
    pub pool_code: String,
    pub cutoff: NaiveDate,
    pub lines: usize,
    pub total: Fen,
    /// Approved claims that wait for a bank card (application number, member, village).
    pub without_card: Vec<store::payout::Eligible>,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
}

impl App {
    /// What a batch cut off at `cutoff` would hold.
    pub async fn batch_preview(
        &self,
        officer: &PayoutOfficer,
        year_id: i64,
        cutoff: NaiveDate,
    ) -> AppResult<BatchPreview> {
        let mut conn = self.db.acquire().await?;
        let year = self.payout_year(&mut conn, officer, year_id).await?;
        let eligible = store::payout::eligible(&mut conn, year_id, cutoff).await?;
        let (ready, without_card): (Vec<_>, Vec<_>) =
            eligible.into_iter().partition(|e| e.card_id.is_some());
        let total = sum(ready.iter().map(|e| e.amount))?;
        let today = self.today();
        Ok(BatchPreview {
            year_id,
            pool_code: year.row.pool_code,
            cutoff,
            lines: ready.len(),
            total,
            without_card,
            notice_start: today,
            notice_end: notice_end(&year.rules, today),
        })
    }

    /// Gathers every approved claim of the year decided up to `cutoff` (with a card on file)
    /// into a new batch and publishes its notice. Claims move to `in_batch` in the same
    /// transaction.
    pub async fn create_batch(
        &self,
        officer: &PayoutOfficer,
        actor: &Actor,
        year_id: i64,
        cutoff: NaiveDate,
    ) -> AppResult<BatchId> {
        let today = self.today();
        if cutoff > today {
            return Err(AppError::Invalid("截止日期不能晚于今天".into()));
        }
        let mut tx = self.db.begin_write().await?;
        let pool = self
            .payout_year(&mut tx, officer, year_id)
            .await?
            .row
            .pool_code;
        // Batches of a pool queue here: numbering and the claims they take are decided by one
        // officer at a time.
        store::ledger::lock_pool(&mut tx, &pool).await?;
        let year = self.payout_year(&mut tx, officer, year_id).await?;
        let ready: Vec<_> = store::payout::eligible(&mut tx, year_id, cutoff)
            .await?
            .into_iter()
            .filter(|e| e.card_id.is_some())
            .collect();
        if ready.is_empty() {
            return Err(AppError::Invalid(
                "截止日期前没有可发放的已核准补助（或均未登记银行卡）".into(),
            ));
        }
        self.fail_at(FailPoint::BatchCreate)?;
        let prefix = format!("{pool}-{}-", cutoff.format("%Y%m"));
        let n = store::payout::count_pool_batches(&mut tx, &pool, &prefix).await? + 1;
        let batch_no = format!("{prefix}{n}");
        let (chain_seq, head) = store::ledger::head(&mut tx, &pool)
            .await?
            .unwrap_or_else(|| (0, ledger::GENESIS.to_string()));
        let now = self.now_text();
        let id = store::payout::insert_batch(
            &mut tx,
            &store::payout::NewBatch {
                batch_no: &batch_no,
                pool_code: &pool,
                year_id,
                cutoff_on: cutoff,
                notice_start: today,
                notice_end: notice_end(&year.rules, today),
                chain_seq,
                chain_head: &head,
                show_drg: year.rules.notice_shows_drg,
                by: &actor.username,
                at: &now,
            },
        )
        .await?;
        let masked: Vec<String> = ready
            .iter()
            .map(|e| payout::card::mask_name(&e.name))
            .collect();
        let lines: Vec<_> = ready
            .iter()
            .zip(&masked)
            .zip(1..)
            .map(|((e, m), seq)| store::payout::NewLine {
                seq,
                claim_id: e.claim_id,
                member_id: e.member_id,
                village_code: &e.village_code,
                name_masked: m,
                drg_name: &e.drg_name,
                amount: e.amount,
                card_id: e.card_id.expect("filtered"),
            })
            .collect();
        store::payout::insert_lines(&mut tx, id, &lines).await?;
        self.fail_at(FailPoint::BatchLines)?;
        let step = store::payout::BatchClaimStep {
            from: ClaimStatus::Approved,
            to: ClaimStatus::InBatch,
            kind: ClaimEventKind::Batched,
            by: &actor.username,
            at: &now,
            note: &format!("批次 {batch_no}"),
        };
        let moved =
            store::payout::move_batch_claims(&mut tx, id, LineState::Pending, &step).await?;
        if moved != lines.len() as u64 {
            return Err(AppError::Conflict(
                "有补助申请的状态已被他人改变，请重试".into(),
            ));
        }
        let total = sum(ready.iter().map(|e| e.amount))?;
        let detail = format!("{batch_no}：{} 笔，{total} 元，截止 {cutoff}", lines.len());
        self.audit(
            &mut tx,
            actor,
            &pool,
            AuditAction::PayoutBatchCreate,
            &format!("batch:{id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Approves a batch after its notice, by an officer other than its preparer, and posts each
    /// line's subsidy (expense against payable) and payout (payable against the bank) — once.
    pub async fn approve_batch(
        &self,
        officer: &PayoutOfficer,
        actor: &Actor,
        id: BatchId,
        revision: i64,
    ) -> AppResult<()> {
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
        check_approvable(&batch, actor, revision, self.today())?;
        if store::payout::open_objections(&mut tx, id).await? > 0 {
            return Err(AppError::Conflict(
                "该批次还有未处理的异议，处理完毕后才能审批".into(),
            ));
        }
        let now = self.now_text();
        let pending: Vec<_> = store::payout::lines(&mut tx, &store::Scope::all(), id)
            .await?
            .into_iter()
            .filter(|l| l.state == LineState::Pending)
            .collect();
        let pay_lines = self.pay_lines(&mut tx, &batch, false).await?;
        let hash = payout::file::batch_hash(
            &self.bank_header(&mut tx, &batch, &actor.username).await?,
            &pay_lines,
        );
        let change = store::payout::BatchChange {
            approved: Some((&actor.username, &now)),
            file_hash: Some(&hash),
            closed_at: pending.is_empty().then_some(now.as_str()),
        };
        let to = if pending.is_empty() {
            BatchStatus::Closed
        } else {
            BatchStatus::Approved
        };
        if !store::payout::transition_batch(
            &mut tx,
            id,
            BatchStatus::Noticed,
            revision,
            to,
            &change,
        )
        .await?
        {
            return Err(AppError::Conflict(
                "该批次已被他人审批或修改，请刷新后重试".into(),
            ));
        }
        self.fail_at(FailPoint::ApproveTransition)?;
        self.post_lines(&mut tx, actor, &batch, &pending).await?;
        self.fail_at(FailPoint::ApprovePosted)?;
        let step = store::payout::BatchClaimStep {
            from: ClaimStatus::InBatch,
            to: ClaimStatus::InBatch,
            kind: ClaimEventKind::PaymentSent,
            by: &actor.username,
            at: &now,
            note: &format!("批次 {}", batch.batch_no),
        };
        store::payout::move_batch_claims(&mut tx, id, LineState::Pending, &step).await?;
        let total = sum(pending.iter().map(|l| l.amount))?;
        let detail = format!(
            "{}：{} 笔，{total} 元，校验码 {hash}",
            batch.batch_no,
            pending.len()
        );
        self.audit(
            &mut tx,
            actor,
            &batch.pool_code,
            AuditAction::PayoutBatchApprove,
            &format!("batch:{id}"),
            &detail,
        )
        .await?;
        self.fail_at(FailPoint::ApproveCommit)?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Appends the two entries of every line in sequence order and records their numbers on the
    /// lines with one statement (entries are numbered consecutively within one append).
    async fn post_lines(
        &self,
        tx: &mut store::Conn,
        actor: &Actor,
        batch: &store::payout::Batch,
        lines: &[store::payout::Line],
    ) -> AppResult<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let today = self.today();
        let mut entries = Vec::with_capacity(lines.len() * 2);
        for l in lines {
            entries.push(expense_entry(l, today));
            entries.push(payout_entry(l, &batch.batch_no, today));
        }
        let numbers = self
            .append_pool(tx, actor, &batch.pool_code, batch.year_id, &entries)
            .await?;
        let recorded = store::payout::record_line_entries(tx, batch.id, numbers[0]).await?;
        if recorded != lines.len() as u64 {
            return Err(AppError::Conflict(
                "批次明细已入账或已变更，请刷新后重试".into(),
            ));
        }
        Ok(())
    }

    /// Loads a year whose pool the officer runs.
    pub(crate) async fn payout_year(
        &self,
        conn: &mut store::Conn,
        officer: &PayoutOfficer,
        year_id: i64,
    ) -> AppResult<crate::year::Year> {
        let year = crate::year::load_year(conn, officer.scope(), year_id).await?;
        if !officer.manages(&year.row.pool_code) {
            return Err(AppError::Forbidden);
        }
        Ok(year)
    }

    /// Batches the actor can see, newest first.
    pub async fn batches(&self, actor: &Actor) -> AppResult<Vec<store::payout::Batch>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::payout::batches(&mut conn, &actor.scope(), 200).await?)
    }

    /// Batches the actor can see with their line count and money, newest first (one query).
    pub async fn batch_summaries(
        &self,
        actor: &Actor,
    ) -> AppResult<Vec<(store::payout::Batch, i64, domain::Fen)>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::payout::batch_summaries(&mut conn, &actor.scope(), 200).await?)
    }

    /// A batch with the first page of its lines in the actor's area, totals by village and its
    /// objections.
    pub async fn batch(&self, actor: &Actor, id: BatchId) -> AppResult<BatchView> {
        self.batch_page(actor, id, 0).await
    }

    /// A batch with page `page` (from 0) of its lines ([`super::LINES_PER_PAGE`] a page).
    pub async fn batch_page(&self, actor: &Actor, id: BatchId, page: u32) -> AppResult<BatchView> {
        let mut conn = self.db.acquire().await?;
        let scope = actor.scope();
        let batch = store::payout::get_batch(&mut conn, &scope, id)
            .await?
            .ok_or(AppError::NotFound)?;
        let per = super::LINES_PER_PAGE;
        let lines =
            store::payout::lines_page(&mut conn, &scope, id, i64::from(page) * per, per).await?;
        let villages = store::payout::village_totals(&mut conn, &scope, id).await?;
        let objections = store::payout::objections(&mut conn, &scope, Some(id), 500).await?;
        let year = crate::year::load_year(&mut conn, &store::Scope::all(), batch.year_id).await?;
        let today = self.today();
        Ok(BatchView::new(
            batch,
            lines,
            villages,
            objections,
            year.row.label,
            today,
        ))
    }
}

/// The notice runs `notice_days` calendar days from the day it is posted (that day counted).
fn notice_end(rules: &scheme::SchemeRules, start: NaiveDate) -> NaiveDate {
    rules
        .payout_allowed_from(start)
        .pred_opt()
        .unwrap_or(start)
        .max(start)
}

/// Why a batch may not be approved now, if it may not.
fn check_approvable(
    b: &store::payout::Batch,
    actor: &Actor,
    revision: i64,
    today: NaiveDate,
) -> AppResult<()> {
    if b.status != BatchStatus::Noticed {
        return Err(AppError::Conflict(format!(
            "该批次{}，不能再次审批",
            b.status.label_zh()
        )));
    }
    if b.revision != revision {
        return Err(AppError::Conflict(
            "该批次已有变动（如异议撤出），请刷新后重新核对".into(),
        ));
    }
    if b.prepared_by == actor.username {
        return Err(AppError::Conflict(
            "批次须由生成人以外的另一位管理员审批（双人复核）".into(),
        ));
    }
    if today <= b.notice_end {
        return Err(AppError::Conflict(format!(
            "公示期至 {} 结束，{} 起方可审批发放",
            b.notice_end,
            b.notice_end.succ_opt().unwrap_or(b.notice_end)
        )));
    }
    Ok(())
}

fn expense_entry(l: &store::payout::Line, today: NaiveDate) -> Entry {
    Entry::new(
        EntryKind::Subsidy,
        today,
        format!("互助金核定：第 {} 笔", l.seq),
        format!("payout_line:{}", l.id),
    )
    .debit(Account::Subsidies, l.amount)
    .credit(Account::SubsidyPayable, l.amount)
}

fn payout_entry(l: &store::payout::Line, batch_no: &str, today: NaiveDate) -> Entry {
    Entry::new(
        EntryKind::Payout,
        today,
        format!("互助金发放：批次 {batch_no} 第 {} 笔", l.seq),
        format!("payout_line:{}", l.id),
    )
    .debit(Account::SubsidyPayable, l.amount)
    .credit(Account::FundBank, l.amount)
}

/// The entries that undo a failed line's two entries (numbers `expense`, `expense + 1`).
pub(crate) fn reversal_entries(
    l: &store::payout::Line,
    batch_no: &str,
    today: NaiveDate,
    why: &str,
) -> Vec<Entry> {
    let expense = expense_entry(l, today);
    let payout = payout_entry(l, batch_no, today);
    let (e, p) = (l.expense_entry.unwrap_or(0), l.payout_entry.unwrap_or(0));
    let mut out = vec![
        Entry::reversal_of(&payout.lines, p, today, why),
        Entry::reversal_of(&expense.lines, e, today, why),
    ];
    for x in &mut out {
        x.reference = format!("payout_line:{}", l.id);
    }
    out
}

pub(crate) fn sum(amounts: impl Iterator<Item = Fen>) -> AppResult<Fen> {
    Fen::checked_sum(amounts).ok_or_else(|| AppError::Invalid("金额合计超出范围".into()))
}
