//! The bank side of an approved batch: the batch file per layout (CSV or xlsx, audited by the
//! app), the bank's result file (CSV or xlsx, all rows or none), and one line marked by hand.

use super::batches::{build, page_with_error};
use super::{batch_id, line_id};
use crate::error::{WebError, WebResult};
use crate::pages::render;
use crate::session::Staff;
use crate::AppState;
use app::payout::{LineOutcome, ResultsSummary};
use app::AppError;
use axum::extract::{FromRequest, Multipart, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use payout::layout::FileKind;
use serde::Deserialize;

/// `generic.csv` → ("generic", Csv); anything else is not found.
fn file_name(name: &str) -> WebResult<(&str, FileKind)> {
    let (layout, ext) = name.rsplit_once('.').ok_or(AppError::NotFound)?;
    let kind = match ext {
        "csv" => FileKind::Csv,
        "xlsx" => FileKind::Xlsx,
        _ => return Err(AppError::NotFound.into()),
    };
    Ok((layout, kind))
}

/// RFC 5987 encoding of a file name for `Content-Disposition` (the names are Chinese).
fn disposition(name: &str) -> String {
    let mut out = String::from("attachment; filename=\"payout-file\"; filename*=UTF-8''");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The bank's batch file (代发文件) in one layout; every download is in the audit log.
pub async fn file(
    State(state): State<AppState>,
    staff: Staff,
    Path((batch, name)): Path<(String, String)>,
) -> WebResult<Response> {
    let id = batch_id(&batch)?;
    state.app.batch(staff.actor(), id).await?;
    let (layout, kind) = file_name(&name)?;
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    let f = match state
        .app
        .bank_file(&officer, staff.actor(), id, layout, kind)
        .await
    {
        Ok(f) => f,
        Err(e @ (AppError::Invalid(_) | AppError::Conflict(_))) => {
            return page_with_error(&state, &staff, id, e).await
        }
        Err(e) => return Err(e.into()),
    };
    let disposition = HeaderValue::from_str(&disposition(&f.file_name))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("file name header: {e}")))?;
    Ok((
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(f.content_type),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        f.bytes,
    )
        .into_response())
}

fn summary_text(s: &ResultsSummary) -> String {
    let mut t = format!("发放结果已登记：成功 {} 笔，失败 {} 笔", s.paid, s.failed);
    if s.unchanged > 0 {
        t.push_str(&format!("，{} 笔此前已登记", s.unchanged));
    }
    t.push_str(if s.closed {
        "。全部明细已有结果，批次已完成。"
    } else {
        "。"
    });
    if s.failed > 0 {
        t.push_str("失败的补助已退回待发放，请为相关人员登记新的银行卡，下月随批次发放。");
    }
    t
}

/// The bank's result file (回盘): CSV or xlsx; any bad row refuses the whole file.
pub async fn results(
    State(state): State<AppState>,
    staff: Staff,
    Path(batch): Path<String>,
    request: Request,
) -> WebResult<Response> {
    let id = batch_id(&batch)?;
    // The batch first, the body after: outside the area the answer is 404 whatever was sent.
    state.app.batch(staff.actor(), id).await?;
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    let mut form = Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::Invalid("请通过页面上的表单上传银行回盘文件".into()))?;
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let broken = |_| WebError::BadRequest("上传中断或文件过大，请重试".into());
    while let Some(field) = form.next_field().await.map_err(broken)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(broken)?,
            Some("file") => {
                let name = field.file_name().unwrap_or("").to_string();
                file = Some((name, field.bytes().await.map_err(broken)?.to_vec()));
            }
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let e = AppError::Invalid("请选择银行返回的结果文件（CSV 或 xlsx）".into());
        return page_with_error(&state, &staff, id, e).await;
    };
    match state
        .app
        .import_results(&officer, staff.actor(), id, &bytes, &name)
        .await
    {
        Ok(s) => {
            let page = build(&state, &staff, id, Some(summary_text(&s)), None).await?;
            Ok(render(StatusCode::OK, &page))
        }
        Err(e) => page_with_error(&state, &staff, id, e).await,
    }
}

#[derive(Deserialize)]
pub struct LineFields {
    #[serde(default)]
    csrf: String,
    /// "paid" or "failed".
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    reason: String,
}

/// One pending line marked 成功 or 失败 with the bank's reason.
pub async fn line_result(
    State(state): State<AppState>,
    staff: Staff,
    Path((batch, line)): Path<(String, String)>,
    Form(f): Form<LineFields>,
) -> WebResult<Response> {
    let id = batch_id(&batch)?;
    let line = line_id(&line)?;
    let v = state.app.batch(staff.actor(), id).await?;
    if !v.lines.iter().any(|l| l.id == line) {
        return Err(AppError::NotFound.into());
    }
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let outcome = match f.outcome.trim() {
        "paid" => LineOutcome::Paid,
        "failed" if f.reason.trim().is_empty() => {
            let e = AppError::Invalid("请填写银行退回的原因".into());
            return page_with_error(&state, &staff, id, e).await;
        }
        "failed" => LineOutcome::Failed(f.reason.clone()),
        _ => {
            let e = AppError::Invalid("请选择发放结果（成功或失败）".into());
            return page_with_error(&state, &staff, id, e).await;
        }
    };
    match state
        .app
        .record_results(&officer, staff.actor(), id, &[(line, outcome)])
        .await
    {
        Ok(_) => Ok(Redirect::to(&format!("/payout/batches/{id}?notice=line")).into_response()),
        Err(e) => page_with_error(&state, &staff, id, e).await,
    }
}
