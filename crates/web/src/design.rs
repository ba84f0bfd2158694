//! "一键设计" pages: run variants, compare them, submit one, approve it (another person), and
//! the published subsidy table, for staff and for residents.

use crate::error::WebResult;
use crate::forms::{parse_money, yuan};
use crate::pages::{parse_id, render, CsrfOnly, Nav};
use crate::session::Staff;
use crate::AppState;
use actuarial::design::Weighting;
use app::design::{DesignParams, DesignRun};
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::Fen;
use serde::Deserialize;

/// One variant's headline numbers, as the compare table shows them.
pub struct VariantLine {
    pub id: i64,
    pub status: &'static str,
    pub by: String,
    pub params: String,
    pub budget: String,
    pub expected: String,
    pub q95: String,
    pub p_shortfall: String,
    pub helped: String,
    pub benefit_rate: String,
    pub average: String,
    pub burden: String,
    pub range: String,
    pub feasible: bool,
}

fn status_label(s: &str) -> &'static str {
    match s {
        "draft" => "草稿",
        "submitted" => "待审批",
        "approved" => "已批准发布",
        "rejected" => "已退回",
        _ => "未知",
    }
}

fn weighting_label(w: Weighting) -> String {
    match w {
        Weighting::Need => "按自付负担".into(),
        Weighting::DrgWeight => "按DRG权重".into(),
        Weighting::Ladder { steps } => format!("{steps} 档阶梯"),
    }
}

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn fen_f(x: f64) -> String {
    Fen(x.round() as i64).to_string()
}

impl VariantLine {
    fn of(d: &DesignRun) -> VariantLine {
        let s = &d.summary;
        let p = &d.params;
        VariantLine {
            id: d.row.id,
            status: status_label(&d.row.status),
            by: d.row.created_by.clone(),
            params: format!(
                "结余 {}%，缺口概率 {}%，{}，取整 {} 元{}",
                p.target_surplus_permille as f64 / 10.0,
                p.shortfall_permille as f64 / 10.0,
                weighting_label(p.weighting),
                p.rounding_unit.fen() / 100,
                p.per_stay_cap
                    .map(|c| format!("，单次上限 {c}"))
                    .unwrap_or_default()
            ),
            budget: yuan(s.budget_fen),
            expected: fen_f(s.expected_payout_fen),
            q95: yuan(s.quantiles_fen[2]),
            p_shortfall: pct(s.p_shortfall),
            helped: format!("{:.0}", s.expected_people_helped),
            benefit_rate: pct(s.benefit_rate),
            average: fen_f(s.average_subsidy_fen),
            burden: pct(s.burden_reduction),
            range: format!("{} – {}", yuan(s.min_amount_fen), yuan(s.max_amount_fen)),
            feasible: s.feasible,
        }
    }
}

#[derive(Template)]
#[template(path = "design.html")]
struct DesignPage {
    nav: Option<Nav>,
    year: Year,
    variants: Vec<VariantLine>,
    can_run: bool,
    form: DesignForm,
    error: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(default)]
pub struct DesignForm {
    csrf: String,
    pub surplus: String,
    pub shortfall: String,
    pub weighting: String,
    pub steps: String,
    pub per_stay_cap: String,
    pub yearly_cap: String,
    pub rounding: String,
}

impl Default for DesignForm {
    fn default() -> Self {
        DesignForm {
            csrf: String::new(),
            surplus: "5".into(),
            shortfall: "2.5".into(),
            weighting: "need".into(),
            steps: "5".into(),
            per_stay_cap: String::new(),
            yearly_cap: String::new(),
            rounding: "10".into(),
        }
    }
}

fn permille(field: &str, s: &str) -> Result<u32, AppError> {
    let v: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| AppError::Invalid(format!("“{field}”应为百分比数字，例如 5 或 2.5")))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(AppError::Invalid(format!("“{field}”应在 0–100 之间")));
    }
    Ok((v * 10.0).round() as u32)
}

impl DesignForm {
    fn rounding_is(&self, r: &str) -> bool {
        self.rounding.trim() == r
    }

    fn params(&self) -> Result<DesignParams, AppError> {
        let opt = |field: &str, s: &str| -> Result<Option<Fen>, AppError> {
            if s.trim().is_empty() {
                Ok(None)
            } else {
                parse_money(field, s)
                    .map(Some)
                    .map_err(|_| AppError::Invalid(format!("“{field}”应为金额（元）")))
            }
        };
        let weighting = match self.weighting.as_str() {
            "need" => Weighting::Need,
            "drg" => Weighting::DrgWeight,
            "ladder" => Weighting::Ladder {
                steps: self
                    .steps
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (2..=20).contains(n))
                    .ok_or_else(|| AppError::Invalid("阶梯档数应为 2–20".into()))?,
            },
            _ => return Err(AppError::Invalid("请选择分配方式".into())),
        };
        let rounding = match self.rounding.trim() {
            "1" => 100,
            "10" => 1_000,
            "50" => 5_000,
            "100" => 10_000,
            _ => return Err(AppError::Invalid("取整单位应为 1、10、50 或 100 元".into())),
        };
        Ok(DesignParams {
            target_surplus_permille: permille("目标结余率", &self.surplus)?,
            shortfall_permille: permille("可接受缺口概率", &self.shortfall)?,
            weighting,
            per_stay_cap: opt("单次补助上限", &self.per_stay_cap)?,
            yearly_cap: opt("年度补助上限", &self.yearly_cap)?,
            rounding_unit: Fen(rounding),
        })
    }
}

async fn design_page(
    state: &AppState,
    staff: &Staff,
    id: i64,
    form: DesignForm,
    error: Option<String>,
) -> WebResult<Response> {
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let variants = state
        .app
        .designs(a, id)
        .await?
        .iter()
        .map(VariantLine::of)
        .collect();
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &DesignPage {
            nav: Nav::of(staff),
            can_run: a.scheme_manager().is_some() && a.scope().contains(&year.row.pool_code),
            year,
            variants,
            form,
            error,
        },
    ))
}

pub async fn design_home(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    design_page(&state, &staff, id, DesignForm::default(), None).await
}

pub async fn run(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<DesignForm>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    state.app.year(staff.actor(), id).await?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let outcome = match f.params() {
        Ok(p) => state.app.run_design(&mgr, staff.actor(), id, p).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(d) => Ok(Redirect::to(&format!("/years/{id}/designs/{d}")).into_response()),
        Err(AppError::Invalid(m)) => design_page(&state, &staff, id, f, Some(m)).await,
        Err(e) => Err(e.into()),
    }
}

/// Bars of the payout distribution and the fund line, in SVG user units (600 × 220).
pub struct Chart {
    pub bars: Vec<(f64, f64, f64, f64)>,
    pub fund_x: Option<f64>,
    pub ticks: Vec<(f64, String)>,
}

fn chart(summary: &app::design::DesignSummary) -> Chart {
    let h = &summary.histogram;
    let (w, ht, left, bottom) = (560.0, 180.0, 30.0, 200.0);
    if h.len() < 2 {
        return Chart {
            bars: Vec::new(),
            fund_x: None,
            ticks: Vec::new(),
        };
    }
    let lo = h[0].0 as f64;
    let width = (h[1].0 - h[0].0) as f64;
    let hi = lo
        .max(summary.budget_fen as f64 * 1.02)
        .max(lo + width * h.len() as f64);
    let span = (hi - lo).max(1.0);
    let x = |v: f64| left + (v - lo) / span * w;
    let peak = h.iter().map(|(_, p)| *p).fold(0.0f64, f64::max).max(1e-300);
    let bars = h
        .iter()
        .map(|(start, p)| {
            let bh = p / peak * ht;
            (
                x(*start as f64),
                bottom - bh,
                (width / span * w).max(1.0),
                bh,
            )
        })
        .collect();
    let fund = summary.budget_fen as f64;
    let ticks = (0..=4)
        .map(|i| {
            let v = lo + span * i as f64 / 4.0;
            (x(v), format!("{:.0}万", v / 1_000_000.0))
        })
        .collect();
    Chart {
        bars,
        fund_x: (fund >= lo).then(|| x(fund)),
        ticks,
    }
}

pub struct TableLineView {
    pub drg: String,
    pub name: String,
    pub amount: String,
    pub loyal: String,
}

#[derive(Template)]
#[template(path = "design_run.html")]
struct RunPage {
    nav: Option<Nav>,
    year: Year,
    v: VariantLine,
    run: DesignRun,
    chart: Chart,
    lines: Vec<TableLineView>,
    shown: usize,
    q: String,
    quantiles: Vec<(String, String, String)>,
    can_submit: bool,
    can_decide: bool,
}

#[derive(Deserialize)]
pub struct TableQuery {
    q: Option<String>,
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, design)): Path<(String, String)>,
    Query(tq): Query<TableQuery>,
) -> WebResult<Response> {
    let (id, design) = (parse_id(&id)?, parse_id(&design)?);
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let run = state.app.design(a, id, design).await?;
    let q = tq.q.unwrap_or_default();
    let search = app::design::table_search(&run.summary.drg_version, &q).await;
    let matching: Vec<TableLineView> = run
        .lines
        .iter()
        .filter(|l| search.matches(&l.drg, &l.name))
        .map(|l| TableLineView {
            drg: l.drg.clone(),
            name: l.name.clone(),
            amount: yuan(l.amount_fen),
            loyal: yuan(l.loyal_amount_fen),
        })
        .collect();
    let shown = matching.len();
    let quantiles = ["50%", "90%", "95%", "99%"]
        .iter()
        .enumerate()
        .map(|(i, p)| {
            (
                p.to_string(),
                yuan(run.summary.quantiles_fen[i]),
                yuan(run.summary.np_quantiles_fen[i]),
            )
        })
        .collect();
    let mine = run.row.created_by == a.username
        || run.row.submitted_by.as_deref() == Some(a.username.as_str());
    Ok(render(
        StatusCode::OK,
        &RunPage {
            nav: Nav::of(&staff),
            v: VariantLine::of(&run),
            chart: chart(&run.summary),
            can_submit: run.row.status == "draft"
                && a.scheme_manager().is_some()
                && a.scope().contains(&year.row.pool_code),
            can_decide: run.row.status == "submitted" && a.design_approver().is_some() && !mine,
            lines: matching,
            shown,
            q,
            quantiles,
            run,
            year,
        },
    ))
}

pub async fn submit(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, design)): Path<(String, String)>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    let (id, design) = (parse_id(&id)?, parse_id(&design)?);
    staff.check_csrf(&f.csrf)?;
    state.app.design(staff.actor(), id, design).await?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    state
        .app
        .submit_design(&mgr, staff.actor(), id, design)
        .await?;
    Ok(Redirect::to(&format!("/years/{id}/designs/{design}")).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideForm {
    csrf: String,
    decision: String,
    note: String,
}

pub async fn decide(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, design)): Path<(String, String)>,
    Form(f): Form<DecideForm>,
) -> WebResult<Response> {
    let (id, design) = (parse_id(&id)?, parse_id(&design)?);
    staff.check_csrf(&f.csrf)?;
    state.app.design(staff.actor(), id, design).await?;
    let approver = staff.actor().design_approver().ok_or(AppError::Forbidden)?;
    let approve = f.decision == "approve";
    let published = state
        .app
        .decide_design(&approver, staff.actor(), id, design, approve, &f.note)
        .await?;
    Ok(match published {
        Some(_) => Redirect::to(&format!("/years/{id}/table")),
        None => Redirect::to(&format!("/years/{id}/designs/{design}")),
    }
    .into_response())
}

#[derive(Template)]
#[template(path = "subsidy_table.html")]
struct TablePage {
    nav: Option<Nav>,
    year: Year,
    version: i64,
    published_at: String,
    published_by: String,
    lines: Vec<TableLineView>,
    q: String,
    public: bool,
}

fn table_page(
    nav: Option<Nav>,
    year: Year,
    t: store::designs::TableRow,
    lines: Vec<store::designs::TableLine>,
    q: String,
    public: bool,
) -> Response {
    render(
        StatusCode::OK,
        &TablePage {
            nav,
            version: t.version,
            published_at: app::display_time(&t.published_at),
            published_by: if public {
                String::new()
            } else {
                t.published_by
            },
            lines: lines
                .into_iter()
                .map(|l| TableLineView {
                    drg: l.drg,
                    name: l.drg_name,
                    amount: yuan(l.amount_fen),
                    loyal: yuan(l.loyal_amount_fen),
                })
                .collect(),
            q,
            public,
            year,
        },
    )
}

pub async fn table(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(tq): Query<TableQuery>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let q = tq.q.unwrap_or_default();
    let (t, lines) = state
        .app
        .published_table(a, id, &q)
        .await?
        .ok_or_else(|| AppError::Invalid("本年度尚未发布补助标准表".into()))?;
    Ok(table_page(Nav::of(&staff), year, t, lines, q, false))
}

/// Residents look up "how much for my illness" without signing in: the table is a public
/// notice. Only the table and the year's name are shown.
pub async fn public_table(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(tq): Query<TableQuery>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let q = tq.q.unwrap_or_default();
    let (year, t, lines) = state
        .app
        .public_table(id, &q)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(table_page(None, year, t, lines, q, true))
}
