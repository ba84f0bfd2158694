//! Enrolling households: the single-household form, the receipt, reversal, renewal of a
//! village's households from the previous year, and the bulk-result page that renewal and the
//! spreadsheet upload share.

use crate::error::WebResult;
use crate::forms::yuan;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::enrol::{EnrolHousehold, LeaveOut, PaymentMethod};
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::Fen;
use serde::Deserialize;
use std::collections::HashMap;

pub struct EnrolMemberLine {
    pub id: i64,
    pub name: String,
    pub relation: String,
    pub id_masked: String,
    pub statuses: String,
    pub dues: String,
    pub left_out: String,
}

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    nav: Option<Nav>,
    year: Year,
    household_id: i64,
    household_no: String,
    village_code: String,
    members: Vec<EnrolMemberLine>,
    reasons: Vec<(&'static str, &'static str)>,
    methods: Vec<(&'static str, &'static str)>,
    method: String,
    reference: String,
    personal_total: String,
    error: Option<String>,
    history: Vec<(i64, String, bool)>,
}

async fn enrol_page(
    state: &AppState,
    staff: &Staff,
    year_id: i64,
    household_id: i64,
    submitted: Option<&HashMap<String, String>>,
    error: Option<(StatusCode, String)>,
) -> WebResult<Response> {
    let a = staff.actor();
    let p = state.app.enrol_preview(a, year_id, household_id).await?;
    let history = p
        .history
        .iter()
        .map(|e| (e.id, e.receipt_no.clone(), e.active))
        .collect();
    let mut personal = Fen(0);
    let members = p
        .members
        .iter()
        .map(|m| {
            let left_out = submitted
                .and_then(|s| s.get(&format!("leave_{}", m.line.member_id)))
                .cloned()
                .unwrap_or_default();
            if left_out.is_empty() {
                personal += m.dues.personal();
            }
            EnrolMemberLine {
                id: m.line.member_id,
                name: m.line.name.clone(),
                relation: domain::Relation::from_code(&m.line.relation)
                    .map(|r| r.label_zh().to_string())
                    .unwrap_or_else(|| m.line.relation.clone()),
                id_masked: m.line.id_masked.clone(),
                statuses: m
                    .statuses
                    .iter()
                    .map(|s| s.label_zh())
                    .collect::<Vec<_>>()
                    .join("、"),
                dues: format!(
                    "{}{}",
                    m.dues.personal(),
                    m.dues
                        .personal_part_paid_by
                        .map(|p| format!("（个人部分由{}全额承担）", p.label_zh()))
                        .unwrap_or_default()
                ),
                left_out,
            }
        })
        .collect();
    let page = EnrolPage {
        nav: Nav::of(staff),
        household_id,
        household_no: p.household.household_no.clone(),
        village_code: p.household.village_code.clone(),
        members,
        reasons: LeaveOut::ALL
            .iter()
            .map(|r| (r.code(), r.label_zh()))
            .collect(),
        methods: PaymentMethod::ALL
            .iter()
            .map(|m| (m.code(), m.label_zh()))
            .collect(),
        method: submitted
            .and_then(|s| s.get("method").cloned())
            .unwrap_or_else(|| "cash".into()),
        reference: submitted
            .and_then(|s| s.get("reference").cloned())
            .unwrap_or_default(),
        personal_total: personal.to_string(),
        error: error.as_ref().map(|(_, m)| m.clone()),
        history,
        year: p.year,
    };
    let status = error.map(|(s, _)| s).unwrap_or(StatusCode::OK);
    Ok(render(status, &page))
}

pub async fn enrol_form(
    State(state): State<AppState>,
    staff: Staff,
    Path((year, household)): Path<(String, String)>,
) -> WebResult<Response> {
    let (year, household) = (parse_id(&year)?, parse_id(&household)?);
    state
        .app
        .enrol_preview(staff.actor(), year, household)
        .await?;
    staff.actor().enroller().ok_or(AppError::Forbidden)?;
    enrol_page(&state, &staff, year, household, None, None).await
}

/// The enrolment form arrives as free-form fields (`leave_<member id>` = reason code).
pub async fn enrol(
    State(state): State<AppState>,
    staff: Staff,
    Path((year, household)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> WebResult<Response> {
    let (year_id, household_id) = (parse_id(&year)?, parse_id(&household)?);
    staff.check_csrf(f.get("csrf").map(String::as_str).unwrap_or(""))?;
    state
        .app
        .enrol_preview(staff.actor(), year_id, household_id)
        .await?;
    let w = staff.actor().enroller().ok_or(AppError::Forbidden)?;
    let mut left_out = Vec::new();
    let mut problem = None;
    for (k, v) in &f {
        if let Some(id) = k.strip_prefix("leave_") {
            if v.is_empty() {
                continue;
            }
            match (id.parse::<i64>(), LeaveOut::parse(v)) {
                (Ok(id), Some(r)) => left_out.push((id, r)),
                _ => problem = Some("不参加原因无效".to_string()),
            }
        }
    }
    let method = f.get("method").and_then(|m| PaymentMethod::parse(m));
    let outcome = match (problem, method) {
        (Some(p), _) => Err(AppError::Invalid(p)),
        (None, None) => Err(AppError::Invalid("请选择缴费方式".into())),
        (None, Some(method)) => {
            state
                .app
                .enrol_household(
                    &w,
                    staff.actor(),
                    year_id,
                    &EnrolHousehold {
                        household_id,
                        left_out,
                        method,
                        payment_reference: f.get("reference").cloned().unwrap_or_default(),
                    },
                )
                .await
        }
    };
    match outcome {
        Ok(id) => Ok(Redirect::to(&format!("/enrolments/{id}")).into_response()),
        Err(AppError::Invalid(m)) => {
            let e = (StatusCode::UNPROCESSABLE_ENTITY, m);
            enrol_page(&state, &staff, year_id, household_id, Some(&f), Some(e)).await
        }
        Err(AppError::Conflict(m)) => {
            let e = (StatusCode::CONFLICT, m);
            enrol_page(&state, &staff, year_id, household_id, Some(&f), Some(e)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct ReceiptLine {
    pub name: String,
    pub relation: String,
    pub id_masked: String,
    pub included: bool,
    pub reason: String,
    pub consecutive: i64,
    pub personal: String,
    pub others: String,
}

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    nav: Option<Nav>,
    e: store::enrolment::EnrolmentRow,
    year: Year,
    lines: Vec<ReceiptLine>,
    method: &'static str,
    enrolled_at: String,
    personal: String,
    total: String,
    reversed_at: String,
    can_reverse: bool,
}

pub async fn receipt(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    let en = state.app.enrolment(a, id).await?;
    let lines = en
        .lines
        .iter()
        .map(|l| ReceiptLine {
            name: l.name.clone(),
            relation: domain::Relation::from_code(&l.relation)
                .map(|r| r.label_zh().to_string())
                .unwrap_or_else(|| l.relation.clone()),
            id_masked: l.id_masked.clone(),
            included: l.included,
            reason: LeaveOut::ALL
                .iter()
                .chain(&[LeaveOut::Ineligible])
                .find(|r| r.code() == l.exclusion_reason)
                .map(|r| r.label_zh().to_string())
                .unwrap_or_default(),
            consecutive: l.consecutive_years,
            personal: yuan(l.due_personal),
            others: yuan(l.due_village + l.due_town + l.due_county),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &ReceiptPage {
            nav: Nav::of(&staff),
            method: PaymentMethod::parse(&en.row.payment_method)
                .map(|m| m.label_zh())
                .unwrap_or("—"),
            enrolled_at: app::display_time(&en.row.enrolled_at),
            personal: yuan(en.row.personal_fen),
            total: yuan(en.row.total_fen),
            reversed_at: en
                .row
                .reversed_at
                .as_deref()
                .map(app::display_time)
                .unwrap_or_default(),
            can_reverse: en.row.active && a.enroller().is_some() && en.year.is_open(),
            lines,
            e: en.row,
            year: en.year,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReverseForm {
    csrf: String,
    reason: String,
}

pub async fn reverse(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ReverseForm>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    state.app.enrolment(staff.actor(), id).await?;
    let w = staff.actor().enroller().ok_or(AppError::Forbidden)?;
    state
        .app
        .reverse_enrolment(&w, staff.actor(), id, &f.reason)
        .await?;
    Ok(Redirect::to(&format!("/enrolments/{id}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct RenewForm {
    csrf: String,
    method: String,
    reference: String,
    village: String,
}

#[derive(Template)]
#[template(path = "bulk_result.html")]
pub(crate) struct BulkResultPage {
    pub nav: Option<Nav>,
    pub year_id: i64,
    pub title: String,
    pub enrolled: Option<(usize, usize)>,
    pub errors: Vec<app::enrol::RowError>,
}

pub(crate) fn bulk_result(
    staff: &Staff,
    year_id: i64,
    title: &str,
    outcome: app::enrol::BulkOutcome,
) -> Response {
    let (enrolled, errors) = match outcome {
        app::enrol::BulkOutcome::Enrolled {
            households,
            members,
        } => (Some((households, members)), Vec::new()),
        app::enrol::BulkOutcome::Refused(errors) => (None, errors),
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render(
        status,
        &BulkResultPage {
            nav: Nav::of(staff),
            year_id,
            title: title.to_string(),
            enrolled,
            errors,
        },
    )
}

pub async fn renew(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<RenewForm>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    state.app.year(staff.actor(), id).await?;
    let w = staff.actor().enroller().ok_or(AppError::Forbidden)?;
    if f.village.trim().is_empty() {
        return Err(AppError::Invalid("请选择要续保的村".into()).into());
    }
    if !staff.actor().scope().contains(&f.village) {
        return Err(AppError::NotFound.into());
    }
    let method = PaymentMethod::parse(&f.method)
        .ok_or_else(|| AppError::Invalid("请选择缴费方式".into()))?;
    let outcome = state
        .app
        .renew_households(&w, staff.actor(), id, &f.village, method, &f.reference)
        .await?;
    Ok(bulk_result(&staff, id, "续保结果", outcome))
}
