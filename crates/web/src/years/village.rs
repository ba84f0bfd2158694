//! The year-village page: a village's households with their enrolment in the year, reversed
//! enrolments, and the renewal form.

use crate::error::WebResult;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::enrol::PaymentMethod;
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::collections::HashMap;

pub struct HouseholdLine {
    pub id: i64,
    pub household_no: String,
    pub head: String,
    pub members: i64,
    pub enrolment: Option<(i64, String, String)>,
}

#[derive(Template)]
#[template(path = "year_village.html")]
struct VillagePage {
    nav: Option<Nav>,
    year: Year,
    village_code: String,
    village_name: String,
    households: Vec<HouseholdLine>,
    enrolled_households: usize,
    reversed: Vec<(i64, String, String, String)>,
    in_window: bool,
    can_enrol: bool,
    can_renew: bool,
    methods: Vec<(&'static str, &'static str)>,
    page: i64,
    pages: i64,
}

#[derive(Deserialize)]
pub struct VillageQuery {
    page: Option<i64>,
}

pub async fn village(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, code)): Path<(String, String)>,
    Query(q): Query<VillageQuery>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    if !code.starts_with(&year.row.pool_code) {
        return Err(AppError::NotFound.into());
    }
    let view = state.app.region_view(a, &code, q.page.unwrap_or(1)).await?;
    let ids: Vec<i64> = view.households.iter().map(|h| h.id).collect();
    let enrolments = state.app.village_enrolment_page(a, id, &code, &ids).await?;
    let active: HashMap<i64, &store::enrolment::EnrolmentRow> = enrolments
        .active
        .iter()
        .map(|e| (e.household_id, e))
        .collect();
    let households = view
        .households
        .iter()
        .map(|h| HouseholdLine {
            id: h.id,
            household_no: h.household_no.clone(),
            head: h.head_name.clone().unwrap_or_else(|| "（无户主）".into()),
            members: h.members,
            enrolment: active.get(&h.id).map(|e| {
                (
                    e.id,
                    e.receipt_no.clone(),
                    app::display_time(&e.enrolled_at),
                )
            }),
        })
        .collect();
    let reversed = enrolments
        .reversed
        .iter()
        .map(|e| {
            (
                e.id,
                e.household_no.clone(),
                e.receipt_no.clone(),
                e.reversal_reason.clone().unwrap_or_default(),
            )
        })
        .collect();
    let in_window = year.is_open() && year.rules.in_payment_window(state.app.today());
    Ok(render(
        StatusCode::OK,
        &VillagePage {
            nav: Nav::of(&staff),
            village_code: code,
            village_name: view.region.name.clone(),
            households,
            enrolled_households: enrolments.active_households as usize,
            reversed,
            in_window,
            can_enrol: a.enroller().is_some(),
            can_renew: a.enroller().is_some() && year.row.previous_year_id.is_some(),
            methods: PaymentMethod::ALL
                .iter()
                .filter(|m| **m != PaymentMethod::NoneDue)
                .map(|m| (m.code(), m.label_zh()))
                .collect(),
            page: view.page,
            pages: view.pages,
            year,
        },
    ))
}
