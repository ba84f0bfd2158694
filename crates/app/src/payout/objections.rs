//! The public notice (公示) and objections to it (我有异议). The notice is public: masked names,
//! villages, amounts and — only where the year's rules say so — the DRG's name. Anyone may
//! object to a line while the notice runs, with a phone number for the answer; objections are
//! throttled per phone and per address (counted in the database, so every app server shares
//! the count). Reviewers decide them: upheld takes the line out and sends the claim back to
//! review; either way the objector gets an SMS.

use crate::access::{Actor, ClaimReviewer};
use crate::crypto::HashKind;
use crate::sms::SmsMessage;
use crate::{App, AppError, AppResult};
use domain::{
    AuditAction, BatchStatus, ClaimEventKind, ClaimStatus, Fen, LineId, LineState, ObjectionId,
    ObjectionStatus,
};

/// Objections one phone may file in 24 hours.
pub const PER_PHONE_PER_DAY: i64 = 3;
/// Objections one client address may file in 24 hours.
pub const PER_ADDRESS_PER_DAY: i64 = 10;
const TEXT_MAX: usize = 500;

/// A batch's public notice (the whole pool, or one village's sheet).
#[derive(Debug, Clone)]
pub struct NoticeView {
    pub batch: store::payout::Batch,
    pub pool_name: String,
    pub year_label: String,
    pub lines: Vec<NoticeLine>,
    pub count: usize,
    pub total: Fen,
    /// Objections are accepted today.
    pub open_for_objections: bool,
    /// The village of a per-village sheet.
    pub village: Option<(String, String)>,
    /// The villages with lines (for the per-village sheets).
    pub villages: Vec<(String, String)>,
    /// The page of lines shown (from 1) and how many pages the notice has.
    pub page: u32,
    pub pages: u32,
}

/// Which lines of a notice to show.
#[derive(Debug, Clone, Copy)]
pub enum NoticeSelect<'a> {
    /// A page of the whole notice (from 1; clamped to the pages there are).
    Page(u32),
    /// Every line of one village (its A4 sheet).
    Village(&'a str),
    /// The line with this 序号 (the objection form); not found if it is not on the notice.
    Line(i64),
}

#[derive(Debug, Clone)]
pub struct NoticeLine {
    pub id: LineId,
    pub seq: i64,
    pub village_name: String,
    pub name_masked: String,
    pub amount: Fen,
    /// Only when the year's rules publish it.
    pub drg_name: Option<String>,
}

/// A pool's public front page: its notices and its years with a published table.
#[derive(Debug, Clone)]
pub struct PoolNotices {
    pub pool_code: String,
    pub pool_name: String,
    pub notices: Vec<store::payout::Batch>,
    /// (year id, label) of years whose subsidy table is published.
    pub tables: Vec<(i64, String)>,
}

/// An objection as the public form sends it.
#[derive(Debug, Clone)]
pub struct ObjectionInput {
    pub line_id: LineId,
    pub phone: String,
    pub text: String,
    pub client_ip: String,
}

impl App {
    /// The public notice of a batch (no sign-in): one page of its lines, one village's lines
    /// (the village sheet) or one line (the objection form). What the page reads is bounded by
    /// the page, not by the batch; counts and money come from the village totals.
    pub async fn payout_notice(
        &self,
        batch_no: &str,
        select: NoticeSelect<'_>,
    ) -> AppResult<NoticeView> {
        let mut conn = self.db.acquire().await?;
        let batch = store::payout::batch_by_no(&mut conn, batch_no)
            .await?
            .ok_or(AppError::NotFound)?;
        let year = crate::year::load_year(&mut conn, &store::Scope::all(), batch.year_id).await?;
        let totals: Vec<_> =
            store::payout::village_totals(&mut conn, &store::Scope::all(), batch.id)
                .await?
                .into_iter()
                .filter(|t| t.state != LineState::Removed)
                .collect();
        let mut villages: Vec<(String, String)> = totals
            .iter()
            .map(|t| (t.village_code.clone(), t.village_name.clone()))
            .collect();
        villages.dedup();
        let chosen = match select {
            NoticeSelect::Village(v) => Some(
                villages
                    .iter()
                    .find(|(c, _)| c == v)
                    .cloned()
                    .ok_or(AppError::NotFound)?,
            ),
            _ => None,
        };
        let counted: Vec<_> = totals
            .iter()
            .filter(|t| chosen.as_ref().is_none_or(|(c, _)| *c == t.village_code))
            .collect();
        let count: i64 = counted.iter().map(|t| t.lines).sum();
        let total = super::batch::sum(counted.iter().map(|t| t.total))?;
        let per = super::LINES_PER_PAGE;
        let pages = u32::try_from((count + per - 1) / per).unwrap_or(1).max(1);
        let (scope, seq, page) = match (&select, &chosen) {
            (NoticeSelect::Village(_), Some((code, _))) => {
                let code = domain::RegionCode::parse(code).map_err(|_| AppError::NotFound)?;
                (store::Scope::region(&code), None, 1)
            }
            (NoticeSelect::Line(seq), _) => (store::Scope::all(), Some(*seq), 1),
            (NoticeSelect::Page(p), _) => (store::Scope::all(), None, (*p).clamp(1, pages)),
            _ => (store::Scope::all(), None, 1),
        };
        let limit = if chosen.is_some() { i64::MAX } else { per };
        let offset = i64::from(page - 1) * per;
        let lines: Vec<NoticeLine> =
            store::payout::notice_lines(&mut conn, &scope, batch.id, seq, offset, limit)
                .await?
                .into_iter()
                .map(|l| NoticeLine {
                    id: l.id,
                    seq: l.seq,
                    village_name: l.village_name,
                    name_masked: l.name_masked,
                    amount: l.amount,
                    drg_name: batch.show_drg.then_some(l.drg_name),
                })
                .collect();
        if matches!(select, NoticeSelect::Line(_)) && lines.is_empty() {
            return Err(AppError::NotFound);
        }
        Ok(NoticeView {
            open_for_objections: accepts_objections(&batch, self.today()),
            pool_name: year.row.pool_name,
            year_label: year.row.label,
            count: usize::try_from(count).unwrap_or(0),
            total,
            lines,
            page,
            pages,
            village: chosen,
            villages,
            batch,
        })
    }

    /// A pool's notices and published tables, for `/public/pools/{pool}`.
    pub async fn pool_notices(&self, pool_code: &str) -> AppResult<PoolNotices> {
        let code = domain::RegionCode::parse(pool_code).map_err(|_| AppError::NotFound)?;
        let mut conn = self.db.acquire().await?;
        let years: Vec<_> = store::years::list(&mut conn, &store::Scope::region(&code))
            .await?
            .into_iter()
            .filter(|y| y.pool_code == pool_code)
            .collect();
        let Some(first) = years.first() else {
            return Err(AppError::NotFound);
        };
        let pool_name = first.pool_name.clone();
        let mut tables = Vec::new();
        for y in &years {
            if store::designs::current_table(&mut conn, y.id)
                .await?
                .is_some()
            {
                tables.push((y.id, y.label.clone()));
            }
        }
        let notices = store::payout::pool_batches(&mut conn, pool_code, 36).await?;
        Ok(PoolNotices {
            pool_code: pool_code.to_string(),
            pool_name,
            notices,
            tables,
        })
    }

    /// Files an objection to a line of a notice that is running. Returns its number.
    pub async fn object(&self, batch_no: &str, input: &ObjectionInput) -> AppResult<ObjectionId> {
        let phone = domain::Phone::parse(&input.phone)
            .map_err(|e| AppError::Invalid(format!("手机号码：{e}")))?;
        let text = domain::Line::parse(&input.text, TEXT_MAX)
            .map_err(|e| AppError::Invalid(format!("异议内容{e}")))?
            .into_string();
        let mut tx = self.db.begin_write().await?;
        let batch = store::payout::batch_by_no(&mut tx, batch_no)
            .await?
            .ok_or(AppError::NotFound)?;
        if !accepts_objections(&batch, self.today()) {
            return Err(AppError::Conflict("公示期已结束，不再受理异议".into()));
        }
        // Count-then-insert: on PostgreSQL (READ COMMITTED) parallel submissions would each
        // count the same earlier ones and all pass; the pool's head row queues them.
        store::ledger::lock_pool(&mut tx, &batch.pool_code).await?;
        let line = store::payout::get_line(&mut tx, &store::Scope::all(), input.line_id)
            .await?
            .filter(|l| l.batch_id == batch.id && l.state == LineState::Pending)
            .ok_or(AppError::NotFound)?;
        let hash = self.keys.hash(HashKind::Phone, phone.as_str());
        let since = store::timestamp(self.now() - chrono::Duration::hours(24));
        let (by_phone, by_ip) =
            store::payout::recent_objections(&mut tx, &hash, &input.client_ip, &since).await?;
        if by_phone >= PER_PHONE_PER_DAY || by_ip >= PER_ADDRESS_PER_DAY {
            return Err(AppError::Conflict(
                "提交过于频繁，请明天再试，或直接到村委会、乡镇医保办反映".into(),
            ));
        }
        let id = store::payout::insert_objection(
            &mut tx,
            &store::payout::NewObjection {
                batch_id: batch.id,
                line_id: line.id,
                phone_cipher: &self.keys.encrypt(phone.as_str()),
                phone_hash: &hash,
                phone_masked: &phone.masked(),
                client_ip: &input.client_ip,
                text: &text,
                at: &self.now_text(),
            },
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Objections in the reviewer's area, open ones first.
    pub async fn objections(
        &self,
        reviewer: &ClaimReviewer,
    ) -> AppResult<Vec<store::payout::Objection>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::payout::objections(&mut conn, reviewer.scope(), None, 500).await?)
    }

    /// Upholds (the line leaves the batch, the claim goes back to review) or dismisses an
    /// objection, with the reason the objector is sent.
    pub async fn decide_objection(
        &self,
        reviewer: &ClaimReviewer,
        actor: &Actor,
        id: ObjectionId,
        upheld: bool,
        note: &str,
    ) -> AppResult<()> {
        let note = crate::error::typed_text("处理意见", note, Some("请填写处理意见"))?;
        let mut tx = self.db.begin_write().await?;
        let o = store::payout::get_objection(&mut tx, reviewer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let line = store::payout::get_line(&mut tx, reviewer.scope(), o.line_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let batch = store::payout::get_batch(&mut tx, &store::Scope::all(), o.batch_id)
            .await?
            .ok_or(AppError::NotFound)?;
        store::ledger::lock_pool(&mut tx, &batch.pool_code).await?;
        let to = if upheld {
            ObjectionStatus::Upheld
        } else {
            ObjectionStatus::Dismissed
        };
        let now = self.now_text();
        if !store::payout::decide_objection(&mut tx, id, to, &actor.username, &now, &note).await? {
            return Err(AppError::Conflict("该异议已处理".into()));
        }
        if upheld {
            self.take_out(&mut tx, actor, &batch, &line, &note).await?;
        }
        let outcome = if upheld {
            format!("异议成立，{note}")
        } else {
            format!("异议不成立，{note}")
        };
        let phone = domain::Phone::parse(&self.keys.decrypt(&o.phone_cipher)?)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored phone: {e}")))?;
        let msg = SmsMessage::ObjectionDecided {
            batch_no: batch.batch_no.clone(),
            outcome: crate::claims::sms_line(
                &outcome,
                if upheld {
                    "异议成立"
                } else {
                    "异议不成立"
                },
            ),
        };
        crate::sms::enqueue(
            &mut tx,
            &self.keys,
            &phone,
            &line.village_code,
            &format!("objection:{id}"),
            &msg,
            self.now(),
        )
        .await?;
        let detail = format!(
            "{} 第 {} 笔：{}（{}）",
            batch.batch_no,
            line.seq,
            to.label_zh(),
            note
        );
        self.audit(
            &mut tx,
            actor,
            &line.village_code,
            AuditAction::ObjectionDecide,
            &format!("objection:{id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Takes an upheld line out of its batch (still on notice) and sends the claim back to the
    /// reviewers.
    async fn take_out(
        &self,
        tx: &mut store::Conn,
        actor: &Actor,
        batch: &store::payout::Batch,
        line: &store::payout::Line,
        note: &str,
    ) -> AppResult<()> {
        if batch.status != BatchStatus::Noticed {
            return Err(AppError::Conflict(
                "批次已审批发放，不能再撤出；如属违规请走追回程序".into(),
            ));
        }
        let now = self.now_text();
        let result = store::payout::LineResult {
            to: LineState::Removed,
            note,
            by: &actor.username,
            at: &now,
            reversal_entry: None,
        };
        if !store::payout::set_line_state(tx, line.id, &result).await? {
            return Err(AppError::Conflict("该笔已撤出或已处理".into()));
        }
        let step = store::payout::BatchClaimStep {
            from: ClaimStatus::InBatch,
            to: ClaimStatus::Proposed,
            kind: ClaimEventKind::ObjectionUpheld,
            by: &actor.username,
            at: &now,
            note,
        };
        store::payout::move_claim(tx, line.claim_id, &step).await?;
        store::payout::touch_batch(tx, batch.id).await?;
        Ok(())
    }
}

/// Objections are accepted while the notice runs (its first to its last day).
fn accepts_objections(b: &store::payout::Batch, today: chrono::NaiveDate) -> bool {
    b.status == BatchStatus::Noticed && b.notice_start <= today && today <= b.notice_end
}
