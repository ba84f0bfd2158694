//! Recovery (追回): a reviewer finds that a paid subsidy was obtained by fraud. The amount becomes
//! a receivable (income "违规追回" against "应收追回款"), receipts of recovered money are posted
//! against it, a printable announcement is produced (沂源: "追回补助，全镇通报"), and every later
//! claim of the member is flagged to the coder.

use crate::access::{Actor, ClaimReviewer, PayoutOfficer};
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::{AuditAction, ClaimEventKind, ClaimId, ClaimStatus, Fen, RecoveryId};
use ledger::{Account, Entry, EntryKind};

/// A recovery as its page and announcement show it.
#[derive(Debug, Clone)]
pub struct RecoveryView {
    pub recovery: store::payout::Recovery,
    pub application_no: String,
    pub name_masked: String,
    pub village_name: String,
    pub pool_name: String,
    pub outstanding: Fen,
}

const EVIDENCE_MAX: usize = 500;

impl App {
    /// Marks a paid claim as obtained by fraud and books what is to be recovered.
    pub async fn recover_claim(
        &self,
        reviewer: &ClaimReviewer,
        actor: &Actor,
        id: ClaimId,
        reason: &str,
        evidence: &str,
    ) -> AppResult<RecoveryId> {
        let reason = crate::error::typed_text("认定理由", reason, Some("请填写认定违规的理由"))?;
        let evidence = domain::Line::parse(evidence, EVIDENCE_MAX)
            .map_err(|e| AppError::Invalid(format!("证据材料{e}")))?
            .into_string();
        let mut tx = self.db.begin_write().await?;
        let claim = store::claims::get(&mut tx, reviewer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        store::ledger::lock_pool(&mut tx, &claim.pool_code).await?;
        if claim.status != ClaimStatus::Paid {
            return Err(AppError::Conflict(
                "只有已发放的补助才能认定违规追回".into(),
            ));
        }
        let today = self.today();
        let entry = Entry::new(
            EntryKind::Recovery,
            today,
            format!("认定违规，应追回申请 {} 的补助", claim.application_no),
            format!("claim:{id}"),
        )
        .debit(Account::RecoveryReceivable, claim.amount)
        .credit(Account::Recoveries, claim.amount);
        let entry_no = self
            .append_pool(&mut tx, actor, &claim.pool_code, claim.year_id, &[entry])
            .await?[0];
        let now = self.now_text();
        let rid = store::payout::insert_recovery(
            &mut tx,
            &store::payout::NewRecovery {
                claim_id: id,
                pool_code: &claim.pool_code,
                year_id: claim.year_id,
                member_id: claim.member_id,
                village_code: &claim.village_code,
                amount: claim.amount,
                reason: &reason,
                evidence: &evidence,
                by: &actor.username,
                at: &now,
                entry_no,
            },
        )
        .await?;
        let step = store::payout::BatchClaimStep {
            from: ClaimStatus::Paid,
            to: ClaimStatus::Recovered,
            kind: ClaimEventKind::Recovered,
            by: &actor.username,
            at: &now,
            note: &reason,
        };
        if !store::payout::move_claim(&mut tx, id, &step).await? {
            return Err(crate::claims::changed_meanwhile());
        }
        let detail = format!(
            "{}：追回 {} 元，{reason}",
            claim.application_no, claim.amount
        );
        self.audit(
            &mut tx,
            actor,
            &claim.village_code,
            AuditAction::RecoveryCreate,
            &format!("recovery:{rid}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(rid)
    }

    /// Records money recovered (up to what is outstanding).
    pub async fn record_recovery_receipt(
        &self,
        officer: &PayoutOfficer,
        actor: &Actor,
        id: RecoveryId,
        amount: Fen,
        received_on: NaiveDate,
    ) -> AppResult<()> {
        if amount.fen() <= 0 {
            return Err(AppError::Invalid("追回金额应大于0".into()));
        }
        if received_on > self.today() {
            return Err(AppError::Invalid("到账日期不能晚于今天".into()));
        }
        let mut tx = self.db.begin_write().await?;
        let r = store::payout::get_recovery(&mut tx, officer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !officer.manages(&r.pool_code) {
            return Err(AppError::Forbidden);
        }
        store::ledger::lock_pool(&mut tx, &r.pool_code).await?;
        let r = store::payout::get_recovery(&mut tx, officer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let outstanding = r.amount.checked_sub(r.received).unwrap_or(Fen(0));
        if amount > outstanding {
            return Err(AppError::Invalid(format!(
                "到账金额超过尚未追回的 {outstanding} 元"
            )));
        }
        let entry = Entry::new(
            EntryKind::Recovery,
            received_on,
            "追回款到账",
            format!("recovery:{id}"),
        )
        .debit(Account::FundBank, amount)
        .credit(Account::RecoveryReceivable, amount);
        let entry_no = self
            .append_pool(&mut tx, actor, &r.pool_code, r.year_id, &[entry])
            .await?[0];
        store::payout::insert_recovery_receipt(
            &mut tx,
            &store::payout::NewRecoveryReceipt {
                recovery_id: id,
                amount,
                received_on,
                entry_no,
                by: &actor.username,
                at: &self.now_text(),
            },
        )
        .await?;
        let detail = format!("追回款到账 {amount} 元（{received_on}）");
        self.audit(
            &mut tx,
            actor,
            &r.village_code,
            AuditAction::RecoveryReceipt,
            &format!("recovery:{id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Recoveries in the actor's area, newest first.
    pub async fn recoveries(&self, actor: &Actor) -> AppResult<Vec<RecoveryView>> {
        let mut conn = self.db.acquire().await?;
        let rows = store::payout::recoveries(&mut conn, &actor.scope(), 200).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(recovery_view(&mut conn, r).await?);
        }
        Ok(out)
    }

    /// One recovery (its page and its printable announcement).
    pub async fn recovery(&self, actor: &Actor, id: RecoveryId) -> AppResult<RecoveryView> {
        let mut conn = self.db.acquire().await?;
        let r = store::payout::get_recovery(&mut conn, &actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        recovery_view(&mut conn, r).await
    }

    /// Appends entries to a pool's chain (the caller holds the pool's head row).
    pub(crate) async fn append_pool(
        &self,
        conn: &mut store::Conn,
        actor: &Actor,
        pool_code: &str,
        year_id: i64,
        entries: &[Entry],
    ) -> AppResult<Vec<i64>> {
        for e in entries {
            e.check().map_err(|e| AppError::Invalid(e.to_string()))?;
        }
        Ok(store::ledger::append(
            conn,
            &store::ledger::Recording {
                key: self.keys.chain_key(),
                pool_code,
                year_id,
                recorded_by: &actor.username,
                recorded_at: &self.now_text(),
            },
            entries,
        )
        .await?)
    }
}

async fn recovery_view(
    conn: &mut store::Conn,
    r: store::payout::Recovery,
) -> AppResult<RecoveryView> {
    let claim = super::results::claim_row(conn, r.claim_id).await?;
    let name = super::cards::member_name(conn, r.member_id).await?;
    let village_name = store::regions::get(conn, &store::Scope::all(), &r.village_code)
        .await?
        .map(|v| v.name)
        .unwrap_or_default();
    let year = crate::year::load_year(conn, &store::Scope::all(), r.year_id).await?;
    Ok(RecoveryView {
        application_no: claim.application_no,
        name_masked: payout::card::mask_name(&name),
        village_name,
        pool_name: year.row.pool_name,
        outstanding: r.amount.checked_sub(r.received).unwrap_or(Fen(0)),
        recovery: r,
    })
}
