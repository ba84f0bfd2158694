//! The batches: the list (`/payout`), a new batch for a year (preview with its cut-off date, then
//! creation), the batch page (header, totals by village, lines, objections and the actions its
//! state allows) and the four-eyes approval.

use super::{batch_id, local_time, revision};
use crate::error::{WebError, WebResult};
use crate::forms::parse_date;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::payout::{BatchPreview, BatchView};
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate};
use domain::{BatchId, BatchStatus, LineState, ObjectionStatus};
use serde::Deserialize;

pub struct BatchRow {
    pub id: BatchId,
    pub batch_no: String,
    pub pool_code: String,
    pub status: &'static str,
    pub notice: String,
    pub count: usize,
    pub total: String,
}

pub struct NewLink {
    pub year: i64,
    pub label: String,
    pub pool_name: String,
}

#[derive(Template)]
#[template(path = "payout.html")]
struct BatchesPage {
    nav: Option<Nav>,
    rows: Vec<BatchRow>,
    new_links: Vec<NewLink>,
    is_reviewer: bool,
}

/// The batches the user can see, and a "new batch" link per open year the officer runs.
pub async fn batches(State(state): State<AppState>, staff: Staff) -> WebResult<Response> {
    let a = staff.actor();
    let list = state.app.batch_summaries(a).await?;
    let mut rows = Vec::with_capacity(list.len());
    for (b, count, total) in list {
        rows.push(BatchRow {
            id: b.id,
            batch_no: b.batch_no,
            pool_code: b.pool_code,
            status: b.status.label_zh(),
            notice: format!("{} 至 {}", b.notice_start, b.notice_end),
            count: usize::try_from(count).unwrap_or(0),
            total: total.to_string(),
        });
    }
    let new_links = match a.payout_officer() {
        Some(o) => state
            .app
            .years(a)
            .await?
            .into_iter()
            .filter(|y| y.status == "open" && o.manages(&y.pool_code))
            .map(|y| NewLink {
                year: y.id,
                label: y.label,
                pool_name: y.pool_name,
            })
            .collect(),
        None => Vec::new(),
    };
    Ok(render(
        StatusCode::OK,
        &BatchesPage {
            nav: Nav::of(&staff),
            rows,
            new_links,
            is_reviewer: a.claim_reviewer().is_some(),
        },
    ))
}

#[derive(Template)]
#[template(path = "payout_new.html")]
struct NewPage {
    nav: Option<Nav>,
    csrf: String,
    year: i64,
    year_label: String,
    cutoff: String,
    preview: Option<BatchPreview>,
    total: String,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct CutoffQuery {
    #[serde(default)]
    cutoff: String,
}

/// The last day of the month before `today`.
fn end_of_last_month(today: NaiveDate) -> NaiveDate {
    today
        .with_day(1)
        .and_then(|d| d.pred_opt())
        .unwrap_or(today)
}

async fn new_page(
    state: &AppState,
    staff: &Staff,
    year: i64,
    cutoff_text: &str,
    error: Option<String>,
) -> WebResult<Response> {
    let y = state.app.year(staff.actor(), year).await?;
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    let (cutoff, mut error) = if cutoff_text.trim().is_empty() {
        (end_of_last_month(state.app.today()), error)
    } else {
        match parse_date("截止日期", cutoff_text) {
            Ok(d) => (d, error),
            Err(WebError::App(AppError::Invalid(m))) => {
                (end_of_last_month(state.app.today()), Some(m))
            }
            Err(e) => return Err(e),
        }
    };
    let preview = match state.app.batch_preview(&officer, year, cutoff).await {
        Ok(p) => Some(p),
        Err(AppError::Invalid(m)) => {
            error = Some(m);
            None
        }
        Err(e) => return Err(e.into()),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &NewPage {
            nav: Nav::of(staff),
            csrf: staff.csrf().to_string(),
            year,
            year_label: format!("{} {}", y.row.pool_name, y.row.label),
            cutoff: cutoff.to_string(),
            total: preview
                .as_ref()
                .map(|p| p.total.to_string())
                .unwrap_or_default(),
            preview,
            error,
        },
    ))
}

/// The preview of a new batch: what a cut-off date would take, and who still lacks a card.
pub async fn new_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(year): Path<String>,
    Query(q): Query<CutoffQuery>,
) -> WebResult<Response> {
    new_page(&state, &staff, parse_id(&year)?, &q.cutoff, None).await
}

#[derive(Deserialize)]
pub struct CreateFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    cutoff: String,
}

/// Creates the batch and puts it on notice; refusals come back on the preview.
pub async fn create(
    State(state): State<AppState>,
    staff: Staff,
    Path(year): Path<String>,
    Form(f): Form<CreateFields>,
) -> WebResult<Response> {
    let year = parse_id(&year)?;
    state.app.year(staff.actor(), year).await?;
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let result = match parse_date("截止日期", &f.cutoff) {
        Ok(cutoff) => {
            state
                .app
                .create_batch(&officer, staff.actor(), year, cutoff)
                .await
        }
        Err(WebError::App(e)) => Err(e),
        Err(e) => return Err(e),
    };
    match result {
        Ok(id) => Ok(Redirect::to(&format!("/payout/batches/{id}?notice=created")).into_response()),
        Err(AppError::Invalid(m)) => new_page(&state, &staff, year, &f.cutoff, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

pub struct LineRow {
    pub id: i64,
    pub seq: i64,
    pub village: String,
    pub name: String,
    pub amount: String,
    pub state: &'static str,
    pub pending: bool,
    pub claim: i64,
    pub note: String,
}

pub struct VillageRow {
    pub name: String,
    pub pending: String,
    pub paid: String,
    pub failed: String,
    pub removed: String,
}

pub struct ObjectionRow {
    pub id: i64,
    pub seq: i64,
    pub text: String,
    pub phone: String,
    pub status: &'static str,
    pub open: bool,
    pub at: String,
    pub decision: String,
}

pub struct FileLink {
    pub href: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "payout_batch.html")]
pub(crate) struct BatchPage {
    nav: Option<Nav>,
    csrf: String,
    v: BatchView,
    status: &'static str,
    total: String,
    villages: Vec<VillageRow>,
    lines: Vec<LineRow>,
    objections: Vec<ObjectionRow>,
    prepared_at: String,
    approved_at: String,
    notice: Option<String>,
    error: Option<String>,
    can_approve: bool,
    /// Why the viewer cannot approve now (four eyes, the notice, objections), if so.
    approve_hint: String,
    files: Vec<FileLink>,
    can_results: bool,
    is_reviewer: bool,
}

fn pair(p: (i64, domain::Fen)) -> String {
    if p.0 == 0 {
        String::new()
    } else {
        format!("{} 笔 {} 元", p.0, p.1)
    }
}

fn notice_text(code: &str) -> Option<String> {
    Some(
        match code {
            "created" => "批次已生成并开始公示。公示期满、异议处理完毕后，由另一位管理员审批发放。",
            "approved" => "批次已审批，发放已入账。请下载代发文件提交银行。",
            "line" => "该笔发放结果已登记。",
            "objection" => "异议已处理，已短信告知异议人。",
            _ => return None,
        }
        .to_string(),
    )
}

pub(crate) async fn build(
    state: &AppState,
    staff: &Staff,
    id: BatchId,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<BatchPage> {
    build_page(state, staff, id, 0, notice, error).await
}

/// The batch page showing page `lines_page` (from 0) of its lines.
pub(crate) async fn build_page(
    state: &AppState,
    staff: &Staff,
    id: BatchId,
    lines_page: u32,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<BatchPage> {
    let a = staff.actor();
    let v = state.app.batch_page(a, id, lines_page).await?;
    let officer = a
        .payout_officer()
        .is_some_and(|o| o.manages(&v.batch.pool_code));
    let b = &v.batch;
    let mut hints = Vec::new();
    if b.prepared_by == a.username {
        hints.push("您是本批次的生成人，须由另一位管理员审批（双人复核）。".to_string());
    }
    if v.notice_running {
        hints.push(format!(
            "公示期至 {} 结束，{} 起方可审批发放。",
            b.notice_end, v.approvable_from
        ));
    }
    if v.open_objections > 0 {
        hints.push(format!(
            "尚有 {} 条异议待处理，处理完毕后才能审批。",
            v.open_objections
        ));
    }
    let approved = b.status != BatchStatus::Noticed;
    let files = if officer && approved {
        payout::layout::Layout::all()
            .into_iter()
            .flat_map(|l| {
                [
                    (payout::layout::FileKind::Csv, "csv"),
                    (payout::layout::FileKind::Xlsx, "xlsx"),
                ]
                .into_iter()
                .filter(|(k, _)| l.supports(*k))
                .map(|(k, ext)| FileLink {
                    href: format!("/payout/batches/{id}/file/{}.{ext}", l.id),
                    label: format!("{}（{}）", l.name, k.label()),
                })
                .collect::<Vec<_>>()
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(BatchPage {
        nav: Nav::of(staff),
        csrf: staff.csrf().to_string(),
        status: b.status.label_zh(),
        total: v.total.to_string(),
        villages: v
            .villages
            .iter()
            .map(|t| VillageRow {
                name: t.village_name.clone(),
                pending: pair(t.pending),
                paid: pair(t.paid),
                failed: pair(t.failed),
                removed: pair(t.removed),
            })
            .collect(),
        lines: v
            .lines
            .iter()
            .map(|l| LineRow {
                id: l.id.0,
                seq: l.seq,
                village: l.village_name.clone(),
                name: l.name_masked.clone(),
                amount: l.amount.to_string(),
                state: l.state.label_zh(),
                pending: l.state == LineState::Pending,
                claim: l.claim_id.0,
                note: l.result_note.clone(),
            })
            .collect(),
        objections: v
            .objections
            .iter()
            .map(|o| ObjectionRow {
                id: o.id.0,
                seq: v
                    .lines
                    .iter()
                    .find(|l| l.id == o.line_id)
                    .map(|l| l.seq)
                    .unwrap_or_default(),
                text: o.text.clone(),
                phone: o.phone_masked.clone(),
                status: o.status.label_zh(),
                open: o.status == ObjectionStatus::Open,
                at: local_time(&o.created_at),
                decision: o.decision_note.clone(),
            })
            .collect(),
        prepared_at: local_time(&b.prepared_at),
        approved_at: b.approved_at.as_deref().map(local_time).unwrap_or_default(),
        notice,
        error,
        can_approve: officer && b.status == BatchStatus::Noticed,
        approve_hint: hints.join(""),
        can_results: officer && b.status == BatchStatus::Approved,
        files,
        is_reviewer: a.claim_reviewer().is_some(),
        v,
    })
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: String,
    /// The page of lines, from 1.
    #[serde(default)]
    page: Option<u32>,
}

pub async fn batch(
    State(state): State<AppState>,
    staff: Staff,
    Path(batch): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> WebResult<Response> {
    let id = batch_id(&batch)?;
    let lines_page = q.page.unwrap_or(1).max(1) - 1;
    let page = build_page(&state, &staff, id, lines_page, notice_text(&q.notice), None).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The batch page with a refusal of the app on it: 422 for bad input, 409 for a rule of the
/// state (four eyes, the notice, objections, someone else first).
pub(crate) async fn page_with_error(
    state: &AppState,
    staff: &Staff,
    id: BatchId,
    e: AppError,
) -> WebResult<Response> {
    let (status, m) = match e {
        AppError::Invalid(m) => (StatusCode::UNPROCESSABLE_ENTITY, m),
        AppError::Conflict(m) => (StatusCode::CONFLICT, m),
        e => return Err(e.into()),
    };
    let page = build(state, staff, id, None, Some(m)).await?;
    Ok(render(status, &page))
}

#[derive(Deserialize)]
pub struct ApproveFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
}

/// 审批发放: a second officer, after the notice, at the revision the page showed.
pub async fn approve(
    State(state): State<AppState>,
    staff: Staff,
    Path(batch): Path<String>,
    Form(f): Form<ApproveFields>,
) -> WebResult<Response> {
    let id = batch_id(&batch)?;
    state.app.batch(staff.actor(), id).await?;
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let revision = revision(&f.revision)?;
    match state
        .app
        .approve_batch(&officer, staff.actor(), id, revision)
        .await
    {
        Ok(()) => {
            Ok(Redirect::to(&format!("/payout/batches/{id}?notice=approved")).into_response())
        }
        Err(e) => page_with_error(&state, &staff, id, e).await,
    }
}
