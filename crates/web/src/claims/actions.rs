//! The POSTs of whoever may act on a claim now: the coder saves coding (or previews it), proposes
//! or asks for documents; the reviewer approves, returns or refuses; a re-opener re-opens. Each
//! form carries the claim's revision, so that a form left open while someone else acted gets the
//! conflict message instead of acting on what it no longer shows.

use super::claim_id;
use super::page::{build, page_with_error, CodingForm, Extra};
use crate::error::{WebError, WebResult};
use crate::pages::render;
use crate::session::Staff;
use crate::AppState;
use app::claims::{CodingInput, ReviewDecision};
use app::AppError;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::{ClaimId, Proposal};
use serde::Deserialize;

/// The revision the form was rendered with, compared with the claim's now.
pub(crate) fn check_revision(current: i64, submitted: Option<&String>) -> WebResult<i64> {
    match submitted.and_then(|s| s.trim().parse::<i64>().ok()) {
        Some(r) if r == current => Ok(r),
        Some(_) => {
            Err(AppError::Conflict("该申请已被他人修改或处理，请刷新页面后重试".into()).into())
        }
        None => Err(AppError::Invalid("表单缺少版本信息，请刷新页面后重试".into()).into()),
    }
}

fn done(id: ClaimId, notice: &str) -> Response {
    Redirect::to(&format!("/claims/{id}?notice={notice}")).into_response()
}

/// A refusal of the app (422) shown on the claim page; anything else goes to the error page.
async fn or_page(
    state: &AppState,
    staff: &Staff,
    id: ClaimId,
    r: Result<(), AppError>,
    notice: &str,
) -> WebResult<Response> {
    match r {
        Ok(()) => Ok(done(id, notice)),
        Err(AppError::Invalid(m)) => page_with_error(state, staff, id, m).await,
        Err(e) => Err(e.into()),
    }
}

/// The coder's form. Read as pairs: the exclusion ticks repeat one name.
#[derive(Default)]
struct CodingFields {
    csrf: String,
    revision: String,
    principal: String,
    secondary: String,
    procedures: String,
    mode: String,
    exclusion: Vec<String>,
    /// "preview": compute without saving.
    action: String,
}

impl CodingFields {
    fn from_pairs(pairs: Vec<(String, String)>) -> CodingFields {
        let mut f = CodingFields::default();
        for (k, v) in pairs {
            match k.as_str() {
                "csrf" => f.csrf = v,
                "revision" => f.revision = v,
                "principal" => f.principal = v,
                "secondary" => f.secondary = v,
                "procedures" => f.procedures = v,
                "mode" => f.mode = v,
                "exclusion" if f.exclusion.len() < 20 => f.exclusion.push(v),
                "action" => f.action = v,
                _ => {}
            }
        }
        f
    }
}

pub async fn coding(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let f = CodingFields::from_pairs(pairs);
    let id = claim_id(&claim)?;
    let current = state.app.claim_revision(staff.actor(), id).await?;
    let coder = staff.actor().claim_coder().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let revision = check_revision(current, Some(&f.revision))?;
    let typed = CodingForm {
        principal: f.principal.chars().take(200).collect(),
        secondary: f.secondary.chars().take(1000).collect(),
        procedures: f.procedures.chars().take(1000).collect(),
        mode: f.mode.chars().take(4).collect(),
        exclusions: f.exclusion,
    };
    let parsed = CodingInput::parse(
        &typed.principal,
        &typed.secondary,
        &typed.procedures,
        &typed.mode,
        &typed.exclusions,
    );
    let result = match &parsed {
        Ok(input) if f.action == "preview" => {
            state.app.preview_claim(&coder, id, input).await.map(Some)
        }
        Ok(input) => state
            .app
            .code_claim(&coder, staff.actor(), id, revision, input)
            .await
            .map(|_| None),
        Err(e) => Err(AppError::Invalid(e.to_string())),
    };
    match result {
        Ok(None) => Ok(done(id, "coded")),
        Ok(Some(eval)) => {
            let extra = Extra {
                notice: Some("以下为按所填编码计算的结果，尚未保存。".into()),
                coding: Some(typed),
                preview: Some(eval),
                ..Default::default()
            };
            Ok(render(
                StatusCode::OK,
                &build(&state, &staff, id, extra).await?,
            ))
        }
        Err(AppError::Invalid(m)) => {
            let extra = Extra {
                error: Some(m),
                coding: Some(typed),
                ..Default::default()
            };
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &build(&state, &staff, id, extra).await?,
            ))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct ProposeFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    proposal: String,
    #[serde(default)]
    note: String,
}

pub async fn propose(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Form(f): Form<ProposeFields>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let current = state.app.claim_revision(staff.actor(), id).await?;
    let coder = staff.actor().claim_coder().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let revision = check_revision(current, Some(&f.revision))?;
    let proposal = Proposal::from_code(f.proposal.trim())
        .ok_or_else(|| AppError::Invalid("请选择审核建议".into()))?;
    let r = state
        .app
        .propose_claim(&coder, staff.actor(), id, revision, proposal, &f.note)
        .await;
    or_page(&state, &staff, id, r, "proposed").await
}

#[derive(Deserialize)]
pub struct ReasonFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    revision: String,
    #[serde(default)]
    reason: String,
    /// The reviewer's choice: approve, return or refuse.
    #[serde(default)]
    decision: String,
}

pub async fn request_documents(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Form(f): Form<ReasonFields>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let current = state.app.claim_revision(staff.actor(), id).await?;
    let coder = staff.actor().claim_coder().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let revision = check_revision(current, Some(&f.revision))?;
    let r = state
        .app
        .request_claim_documents(&coder, staff.actor(), id, revision, &f.reason)
        .await;
    or_page(&state, &staff, id, r, "requested").await
}

pub async fn review(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Form(f): Form<ReasonFields>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let current = state.app.claim_revision(staff.actor(), id).await?;
    let reviewer = staff.actor().claim_reviewer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let revision = check_revision(current, Some(&f.revision))?;
    let decision = match f.decision.trim() {
        "approve" => ReviewDecision::Approve,
        "return" => ReviewDecision::Return(f.reason.clone()),
        "refuse" => ReviewDecision::Refuse(f.reason.clone()),
        _ => return Err(WebError::App(AppError::Invalid("请选择审核结论".into()))),
    };
    let r = state
        .app
        .review_claim(&reviewer, staff.actor(), id, revision, decision)
        .await
        .map(|_| ());
    match r {
        Err(AppError::Forbidden) => Err(AppError::Invalid(
            "您为该申请保存过编码，不能审核自己编码的申请，请由其他审核员处理".into(),
        )
        .into()),
        r => or_page(&state, &staff, id, r, "reviewed").await,
    }
}

pub async fn reopen(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Form(f): Form<ReasonFields>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let current = state.app.claim_revision(staff.actor(), id).await?;
    let reopener = staff.actor().claim_reopener().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let revision = check_revision(current, Some(&f.revision))?;
    let r = state
        .app
        .reopen_claim(&reopener, staff.actor(), id, revision, &f.reason)
        .await;
    or_page(&state, &staff, id, r, "reopened").await
}
