//! Recovery (追回) of a subsidy obtained by fraud: the reviewer's form on a paid claim, the list,
//! a recovery's page with the officers' receipt form, and the printable announcement (A4).

use super::recovery_id;
use crate::claims::claim_id;
use crate::error::{WebError, WebResult};
use crate::forms::{parse_date, parse_money};
use crate::pages::{render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::payout::RecoveryView;
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::RecoveryId;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct RecoverFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    evidence: String,
}

/// A reviewer marks a paid claim as obtained by fraud (认定违规，追回补助).
pub async fn recover(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Form(f): Form<RecoverFields>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    state.app.claim_revision(staff.actor(), id).await?;
    let reviewer = staff.actor().claim_reviewer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    match state
        .app
        .recover_claim(&reviewer, staff.actor(), id, &f.reason, &f.evidence)
        .await
    {
        Ok(rid) => {
            Ok(Redirect::to(&format!("/payout/recoveries/{rid}?notice=created")).into_response())
        }
        Err(AppError::Invalid(m)) => {
            crate::claims::page::page_with_error(&state, &staff, id, m).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct RecoveryRow {
    pub id: RecoveryId,
    pub application_no: String,
    pub claim: i64,
    pub name: String,
    pub village: String,
    pub amount: String,
    pub received: String,
    pub outstanding: String,
    pub decided: String,
}

fn row(v: &RecoveryView) -> RecoveryRow {
    let r = &v.recovery;
    RecoveryRow {
        id: r.id,
        application_no: v.application_no.clone(),
        claim: r.claim_id.0,
        name: v.name_masked.clone(),
        village: v.village_name.clone(),
        amount: r.amount.to_string(),
        received: r.received.to_string(),
        outstanding: v.outstanding.to_string(),
        decided: format!("{} {}", super::local_time(&r.decided_at), r.decided_by),
    }
}

#[derive(Template)]
#[template(path = "payout_recoveries.html")]
struct RecoveriesPage {
    nav: Option<Nav>,
    rows: Vec<RecoveryRow>,
}

pub async fn recoveries(State(state): State<AppState>, staff: Staff) -> WebResult<Response> {
    let rows = state
        .app
        .recoveries(staff.actor())
        .await?
        .iter()
        .map(row)
        .collect();
    Ok(render(
        StatusCode::OK,
        &RecoveriesPage {
            nav: Nav::of(&staff),
            rows,
        },
    ))
}

#[derive(Template)]
#[template(path = "payout_recovery.html")]
struct RecoveryPage {
    nav: Option<Nav>,
    csrf: String,
    r: RecoveryRow,
    reason: String,
    evidence: String,
    pool_name: String,
    can_receive: bool,
    today: String,
    notice: Option<String>,
    error: Option<String>,
    amount: String,
    received_on: String,
}

#[derive(Deserialize, Default)]
pub struct NoticeQuery {
    #[serde(default)]
    notice: String,
}

async fn page(
    state: &AppState,
    staff: &Staff,
    id: RecoveryId,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    typed: (String, String),
) -> WebResult<Response> {
    let v = state.app.recovery(staff.actor(), id).await?;
    let can_receive = staff
        .actor()
        .payout_officer()
        .is_some_and(|o| o.manages(&v.recovery.pool_code))
        && v.outstanding.fen() > 0;
    let today = state.app.today().to_string();
    Ok(render(
        status,
        &RecoveryPage {
            nav: Nav::of(staff),
            csrf: staff.csrf().to_string(),
            r: row(&v),
            reason: v.recovery.reason.clone(),
            evidence: v.recovery.evidence.clone(),
            pool_name: v.pool_name.clone(),
            can_receive,
            received_on: if typed.1.is_empty() {
                today.clone()
            } else {
                typed.1
            },
            today,
            notice,
            error,
            amount: typed.0,
        },
    ))
}

pub async fn recovery(
    State(state): State<AppState>,
    staff: Staff,
    Path(recovery): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> WebResult<Response> {
    let id = recovery_id(&recovery)?;
    let notice = match q.notice.as_str() {
        "created" => {
            Some("已认定违规，应追回金额已入账，该成员今后的补助申请将提示编码员。".into())
        }
        "received" => Some("追回款到账已入账。".into()),
        _ => None,
    };
    page(
        &state,
        &staff,
        id,
        StatusCode::OK,
        notice,
        None,
        Default::default(),
    )
    .await
}

#[derive(Deserialize)]
pub struct ReceiptFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    received_on: String,
}

/// An officer records recovered money (up to what is outstanding).
pub async fn receipt(
    State(state): State<AppState>,
    staff: Staff,
    Path(recovery): Path<String>,
    Form(f): Form<ReceiptFields>,
) -> WebResult<Response> {
    let id = recovery_id(&recovery)?;
    state.app.recovery(staff.actor(), id).await?;
    let officer = staff.actor().payout_officer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let r = async {
        let amount = parse_money("到账金额", &f.amount)?;
        let on = parse_date("到账日期", &f.received_on)?;
        state
            .app
            .record_recovery_receipt(&officer, staff.actor(), id, amount, on)
            .await
            .map_err(WebError::from)
    }
    .await;
    match r {
        Ok(()) => {
            Ok(Redirect::to(&format!("/payout/recoveries/{id}?notice=received")).into_response())
        }
        Err(WebError::App(AppError::Invalid(m))) => {
            let typed = (
                f.amount.chars().take(20).collect(),
                f.received_on.chars().take(20).collect(),
            );
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            page(&state, &staff, id, status, None, Some(m), typed).await
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "payout_announcement.html")]
struct AnnouncementPage {
    r: RecoveryRow,
    reason: String,
    pool_name: String,
    decided_on: String,
    today: String,
}

/// The printable 追回通报 (A4, its own sheet without the site's header): masked name, village,
/// amount, the finding.
pub async fn announcement(
    State(state): State<AppState>,
    staff: Staff,
    Path(recovery): Path<String>,
) -> WebResult<Response> {
    let id = recovery_id(&recovery)?;
    let v = state.app.recovery(staff.actor(), id).await?;
    Ok(render(
        StatusCode::OK,
        &AnnouncementPage {
            r: row(&v),
            reason: v.recovery.reason.clone(),
            pool_name: v.pool_name.clone(),
            decided_on: super::local_time(&v.recovery.decided_at)
                .chars()
                .take(10)
                .collect(),
            today: state.app.today().to_string(),
        },
    ))
}

/// The announcement's print stylesheet: an A4 page, the notice's typography.
pub async fn print_css() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        PRINT_CSS,
    )
        .into_response()
}

const PRINT_CSS: &str = "\
@page { size: A4 portrait; margin: 20mm 18mm; }
body.print-sheet { background: #fff; }
.announcement { max-width: 210mm; margin: 0 auto; padding: 12mm 14mm; background: #fff; font-size: 12pt; line-height: 1.9; }
.announcement h1 { text-align: center; font-size: 18pt; line-height: 1.5; margin-bottom: 1.2em; }
.announcement p { text-indent: 2em; margin: .6em 0; }
.announcement .signature { text-align: right; text-indent: 0; margin-top: 3em; }
@media print {
  .noprint { display: none; }
  body.print-sheet { margin: 0; padding: 0; }
  .announcement { padding: 0; max-width: none; }
}
";
