//! The year's figures (统计, `/years/{year}/figures`, by month or for the year, with the workbook)
//! and the fund dashboard (基金看板, `/years/{year}/dashboard`: paid to date against the design's
//! path, and the re-forecast). For fund readers (admins, auditors); the figures themselves are
//! defined in `app::figures`.

use crate::error::WebResult;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::figures::{Dashboard, YearFigures};
use app::reports::{workbook, Cell, Sheet};
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::Fen;
use serde::Deserialize;

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MonthQuery {
    month: String,
}

/// A report table as `report_table.html` shows it.
pub struct FigTable {
    pub sheet: Sheet,
}

impl FigTable {
    fn cell(&self, row: &[Cell], c: &usize) -> String {
        row.get(*c).map(Cell::display).unwrap_or_default()
    }
    fn is_num(&self, c: &usize) -> bool {
        self.sheet
            .rows
            .iter()
            .any(|r| r.get(*c).is_some_and(Cell::is_number))
    }
}

#[derive(Template)]
#[template(path = "figures.html")]
struct FiguresPage {
    nav: Option<Nav>,
    f: YearFigures,
    month: String,
    tables: Vec<(&'static str, FigTable)>,
}

pub async fn figures(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<MonthQuery>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    // Outside the area: not found, before the role is asked.
    state.app.year(a, id).await?;
    let r = a.fund_reader().ok_or(AppError::Forbidden)?;
    let f = state.app.figures(&r, id, Some(&q.month)).await?;
    let tables = vec![
        (
            "申请状态（按受理月份）",
            FigTable {
                sheet: f.status_sheet(),
            },
        ),
        (
            "补助概况（按发放月份）",
            FigTable {
                sheet: f.paid_sheet(),
            },
        ),
        (
            "补助金额前十的病组",
            FigTable {
                sheet: f.drg_sheet(),
            },
        ),
    ];
    Ok(render(
        StatusCode::OK,
        &FiguresPage {
            nav: Nav::of(&staff),
            month: f.month.clone().unwrap_or_default(),
            f,
            tables,
        },
    ))
}

/// `figures.xlsx`: every table of the figures page (of `?month=` or the year).
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, name)): Path<(String, String)>,
    Query(q): Query<MonthQuery>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    state.app.year(a, id).await?;
    if name != "figures.xlsx" {
        return Err(AppError::NotFound.into());
    }
    let r = a.fund_reader().ok_or(AppError::Forbidden)?;
    let f = state.app.figures(&r, id, Some(&q.month)).await?;
    let file = match &f.month {
        Some(m) => format!("figures-{id}-{m}.xlsx"),
        None => format!("figures-{id}.xlsx"),
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        workbook(&f.sheets())?,
    )
        .into_response())
}

/// The dashboard's chart, in SVG units (800 × 320; plot from x 70 to 780, y 20 to 280).
pub struct PathChart {
    pub band: String,
    pub expected: String,
    pub paid: String,
    pub budget_y: Option<f64>,
    pub x_labels: Vec<(f64, String)>,
    pub y_labels: Vec<(f64, String)>,
}

const X0: f64 = 70.0;
const X1: f64 = 780.0;
const Y0: f64 = 280.0;
const Y1: f64 = 20.0;

fn wan(fen: f64) -> String {
    format!("{:.0}万", fen / 1_000_000.0)
}

fn path_chart(d: &Dashboard) -> PathChart {
    let n = d.path.len().max(1);
    let budget = d.design.map(|(b, _, _)| b as f64);
    let max = d
        .path
        .iter()
        .map(|p| {
            p.high
                .max(p.paid_to_date.map(|f| f.fen() as f64).unwrap_or(0.0))
        })
        .chain(budget)
        .fold(1.0, f64::max)
        * 1.05;
    let x = |i: usize| X0 + (X1 - X0) * (i as f64 + 1.0) / n as f64;
    let y = |v: f64| Y0 - (Y0 - Y1) * (v / max).clamp(0.0, 1.0);
    let pts = |it: &mut dyn Iterator<Item = (usize, f64)>| {
        std::iter::once(format!("{X0:.1},{Y0:.1}"))
            .chain(it.map(|(i, v)| format!("{:.1},{:.1}", x(i), y(v))))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let has_design = d.design.is_some();
    let band = if has_design {
        let upper: Vec<String> = d
            .path
            .iter()
            .enumerate()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.high)))
            .collect();
        let lower: Vec<String> = d
            .path
            .iter()
            .enumerate()
            .rev()
            .map(|(i, p)| format!("{:.1},{:.1}", x(i), y(p.low)))
            .collect();
        format!("{X0:.1},{Y0:.1} {} {}", upper.join(" "), lower.join(" "))
    } else {
        String::new()
    };
    let expected = if has_design {
        pts(&mut d.path.iter().enumerate().map(|(i, p)| (i, p.expected)))
    } else {
        String::new()
    };
    let paid = pts(&mut d
        .path
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.paid_to_date.map(|f| (i, f.fen() as f64))));
    PathChart {
        band,
        expected,
        paid,
        budget_y: budget.map(y),
        x_labels: d
            .path
            .iter()
            .enumerate()
            .map(|(i, p)| (x(i), p.month.get(5..).unwrap_or("").to_string() + "月"))
            .collect(),
        y_labels: (0..=4)
            .map(|k| {
                let v = max / 1.05 * k as f64 / 4.0;
                (y(v), wan(v))
            })
            .collect(),
    }
}

/// One row of the dashboard's table.
pub struct PathRow {
    pub month: String,
    pub paid: String,
    pub paid_to_date: String,
    pub expected: String,
    pub band: String,
}

fn yuan_f(fen: f64) -> String {
    Fen(fen.round() as i64).to_string()
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    nav: Option<Nav>,
    d: Dashboard,
    chart: PathChart,
    rows: Vec<PathRow>,
    /// (label, value) of the latest forecast.
    forecast: Vec<(&'static str, String)>,
    warning: bool,
}

pub async fn dashboard(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    state.app.year(a, id).await?;
    let r = a.fund_reader().ok_or(AppError::Forbidden)?;
    let d = state.app.dashboard(&r, id).await?;
    let rows = d
        .path
        .iter()
        .map(|p| PathRow {
            month: p.month.clone(),
            paid: p.paid.to_string(),
            paid_to_date: p.paid_to_date.map(|f| f.to_string()).unwrap_or_default(),
            expected: if d.design.is_some() {
                yuan_f(p.expected)
            } else {
                String::new()
            },
            band: if d.design.is_some() {
                format!("{} – {}", yuan_f(p.low), yuan_f(p.high))
            } else {
                String::new()
            },
        })
        .collect();
    let (forecast, warning) = match &d.forecast {
        Some(f) => {
            let q = f.row.quantiles_fen;
            (
                vec![
                    ("测算时间", app::display_time(&f.row.computed_at)),
                    (
                        "年度已过",
                        app::format_permille(f.row.elapsed_permille.clamp(0, 1000) as u32),
                    ),
                    ("已核准补助（件）", f.row.claims_decided.to_string()),
                    ("已核准补助金额（元）", Fen(f.row.committed_fen).to_string()),
                    ("可用于补助（元）", Fen(f.row.budget_fen).to_string()),
                    ("预计全年补助（元）", Fen(f.row.expected_fen).to_string()),
                    (
                        "全年补助 50% / 90% / 95% / 99% 分位（元）",
                        format!(
                            "{} / {} / {} / {}",
                            Fen(q[0]),
                            Fen(q[1]),
                            Fen(q[2]),
                            Fen(q[3])
                        ),
                    ),
                    (
                        "发生频率相对设计",
                        format!("{:.2}", f.row.level_ppm as f64 / 1e6),
                    ),
                    ("资金不足的概率", format!("{:.1}%", f.p_shortfall * 100.0)),
                    ("预警线", format!("{:.1}%", f.warning_level * 100.0)),
                ],
                f.row.warning,
            )
        }
        None => (Vec::new(), false),
    };
    Ok(render(
        StatusCode::OK,
        &DashboardPage {
            nav: Nav::of(&staff),
            chart: path_chart(&d),
            rows,
            forecast,
            warning,
            d,
        },
    ))
}
