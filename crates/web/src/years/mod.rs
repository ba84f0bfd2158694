//! Scheme-year pages, a submodule per feature: this file holds the year list and opening a
//! year (from a template, or the next one after a year); `overview` the year page with its live
//! enrolment figures; `rules` the rules form and versions; `village` the year-village page;
//! `enrol` enrolling one household, receipts, reversals and renewal; `enrol_import` bulk
//! enrolment from a spreadsheet. The handlers are re-exported here for the route table.

pub mod enrol;
pub mod enrol_import;
pub mod overview;
pub mod rules;
pub mod village;

pub use enrol::{enrol, enrol_form, receipt, renew, reverse};
pub use enrol_import::{enrol_import, enrol_import_form, enrol_template};
pub use overview::year;
pub use rules::{change_rules, rules};
pub use village::village;

use crate::error::WebResult;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::AppError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::Datelike;
use serde::Deserialize;

pub struct YearLine {
    pub id: i64,
    pub label: String,
    pub pool_name: String,
    pub period: String,
    pub status: &'static str,
}

#[derive(Template)]
#[template(path = "years.html")]
struct YearsPage {
    nav: Option<Nav>,
    years: Vec<YearLine>,
    can_open: bool,
}

fn status_label(s: &str) -> &'static str {
    if s == "open" {
        "进行中"
    } else {
        "已结转关闭"
    }
}

pub async fn years(State(state): State<AppState>, staff: Staff) -> WebResult<Response> {
    let rows = state.app.years(staff.actor()).await?;
    let years = rows
        .into_iter()
        .map(|y| YearLine {
            id: y.id,
            period: format!("{} 至 {}", y.period_start, y.period_end),
            status: status_label(&y.status),
            label: y.label,
            pool_name: y.pool_name,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &YearsPage {
            nav: Nav::of(&staff),
            years,
            can_open: staff.actor().scheme_manager().is_some(),
        },
    ))
}

pub struct TemplateChoice {
    pub key: &'static str,
    pub name: &'static str,
    pub hint: &'static str,
}

pub struct PoolChoice {
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "year_new.html")]
struct NewYearPage {
    nav: Option<Nav>,
    templates: Vec<TemplateChoice>,
    pools: Vec<PoolChoice>,
    start_year: i32,
}

pub async fn new_year_form(State(state): State<AppState>, staff: Staff) -> WebResult<Response> {
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let next = state.app.today().year() + 1;
    let pools = state
        .app
        .pool_choices(&mgr)
        .await?
        .into_iter()
        .map(|r| PoolChoice {
            name: format!(
                "{}（{}）",
                r.name,
                if r.level == "county" {
                    "县级统筹"
                } else {
                    "镇级统筹"
                }
            ),
            code: r.code,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &NewYearPage {
            nav: Nav::of(&staff),
            templates: scheme::templates(next)
                .into_iter()
                .map(|t| TemplateChoice {
                    key: t.key,
                    name: t.name_zh,
                    hint: t.region_hint,
                })
                .collect(),
            pools,
            start_year: next,
        },
    ))
}

#[derive(Deserialize)]
pub struct NewYearForm {
    csrf: String,
    pool: String,
    template: String,
    start_year: String,
    label: String,
}

pub async fn new_year(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<NewYearForm>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let year: i32 = f
        .start_year
        .trim()
        .parse()
        .ok()
        .filter(|y| (2000..=2100).contains(y))
        .ok_or_else(|| AppError::Invalid("起始年份应为 2000–2100 之间的四位数字".into()))?;
    let t = scheme::template(&f.template, year)
        .ok_or_else(|| AppError::Invalid("请选择一个规则模板".into()))?;
    let label = if f.label.trim().is_empty() {
        format!("{}年度", t.rules.period_start.year())
    } else {
        f.label.clone()
    };
    let id = state
        .app
        .open_year(
            &mgr,
            staff.actor(),
            f.pool.trim(),
            &label,
            t.key,
            t.rules,
            None,
        )
        .await?;
    Ok(Redirect::to(&format!("/years/{id}")).into_response())
}

pub async fn next_year(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<crate::pages::CsrfOnly>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    state.app.year(staff.actor(), id).await?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let next = state.app.open_next_year(&mgr, staff.actor(), id).await?;
    Ok(Redirect::to(&format!("/years/{next}")).into_response())
}
