//! The bank's batch-payment file (代发文件) of an approved batch, in a layout chosen from the
//! data files of the `payout` crate. The file is rendered from the frozen lines and the card
//! records they name (which are never edited), so it is the same every time; its hash must
//! equal the one fixed at approval, or the download is refused — the signed cover sheet and the
//! uploaded file cannot drift apart.

use super::FailPoint;
use crate::access::{Actor, PayoutOfficer};
use crate::{App, AppError, AppResult};
use domain::{AuditAction, BatchId, BatchStatus};
use payout::layout::{FileKind, Layout};

/// A rendered file ready to download.
#[derive(Debug, Clone)]
pub struct BankFile {
    pub bytes: Vec<u8>,
    pub file_name: String,
    pub content_type: &'static str,
}

impl App {
    /// The batch's file in `layout` as CSV or xlsx; audited, for the officers who run the pool.
    pub async fn bank_file(
        &self,
        officer: &PayoutOfficer,
        actor: &Actor,
        id: BatchId,
        layout: &str,
        kind: FileKind,
    ) -> AppResult<BankFile> {
        let layout = Layout::get(layout).ok_or(AppError::NotFound)?;
        if !layout.supports(kind) {
            return Err(AppError::Invalid(format!(
                "{}不提供{}格式",
                layout.name,
                kind.label()
            )));
        }
        let mut tx = self.db.begin_write().await?;
        let batch = store::payout::get_batch(&mut tx, officer.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !officer.manages(&batch.pool_code) {
            return Err(AppError::Forbidden);
        }
        if batch.status == BatchStatus::Noticed {
            return Err(AppError::Conflict("批次审批后才能生成代发文件".into()));
        }
        let approver = batch.approved_by.clone().unwrap_or_default();
        let header = self.bank_header(&mut tx, &batch, &approver).await?;
        let lines = self.pay_lines(&mut tx, &batch, true).await?;
        if Some(payout::file::batch_hash(&header, &lines)) != batch.file_hash {
            return Err(AppError::Internal(anyhow::anyhow!(
                "batch {id}: the lines no longer match the hash fixed at approval"
            )));
        }
        self.fail_at(FailPoint::FileRender)?;
        let (bytes, ext, content_type) = match kind {
            FileKind::Csv => (
                payout::file::render_csv(&layout, &header, &lines),
                "csv",
                "text/csv",
            ),
            FileKind::Xlsx => (
                payout::file::render_xlsx(&layout, &header, &lines),
                "xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
        };
        let bytes = bytes.map_err(|e| AppError::Invalid(e.to_string()))?;
        let detail = format!("{} {}（{} 笔）", batch.batch_no, layout.name, lines.len());
        self.audit(
            &mut tx,
            actor,
            &batch.pool_code,
            AuditAction::PayoutFileDownload,
            &format!("batch:{id}"),
            &detail,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(BankFile {
            bytes,
            file_name: format!("代发-{}-{}.{ext}", batch.batch_no, layout.id),
            content_type,
        })
    }

    pub(crate) async fn bank_header(
        &self,
        conn: &mut store::Conn,
        batch: &store::payout::Batch,
        approved_by: &str,
    ) -> AppResult<payout::file::BatchHeader> {
        let year = crate::year::load_year(conn, &store::Scope::all(), batch.year_id).await?;
        Ok(payout::file::BatchHeader {
            batch_no: batch.batch_no.clone(),
            pool_name: year.row.pool_name.clone(),
            payer_account_name: format!("{}医疗互助基金专户", year.row.pool_name),
            created_on: batch.notice_start,
            prepared_by: batch.prepared_by.clone(),
            approved_by: approved_by.to_string(),
        })
    }

    /// The lines as the bank needs them: holder's name and ID number, the card, the amount;
    /// the pending ones (`posted` false, at approval) or the posted ones (the download).
    pub(crate) async fn pay_lines(
        &self,
        conn: &mut store::Conn,
        batch: &store::payout::Batch,
        posted: bool,
    ) -> AppResult<Vec<payout::file::PayLine>> {
        let details = store::payout::pay_details(conn, batch.id, posted).await?;
        let memo = format!("医疗互助金{}", batch.batch_no);
        details
            .into_iter()
            .map(|d| {
                Ok(payout::file::PayLine {
                    seq: u32::try_from(d.seq).unwrap_or(u32::MAX),
                    line_ref: d.line_id.to_string(),
                    holder_name: d.holder_name,
                    card_number: self.keys.decrypt(&d.card_cipher)?,
                    bank_name: d.bank_name,
                    id_number: self.keys.decrypt(&d.holder_id_cipher)?,
                    amount: d.amount,
                    memo: memo.clone(),
                })
            })
            .collect()
    }
}
