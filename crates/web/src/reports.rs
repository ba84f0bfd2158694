//! Report pages: tables with charts drawn as SVG by the server (no JavaScript), .xlsx exports,
//! and the printable public notice.

use crate::error::WebResult;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::reports::{workbook, Cell, Notice, Sheet};
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

/// One horizontal bar of a chart, in SVG units.
pub struct Bar {
    pub label: String,
    pub y: f64,
    pub width: f64,
    pub value: String,
    pub ok: bool,
}

/// A horizontal bar chart (600 wide, 22 per bar) with an optional reference line.
pub struct BarChart {
    pub height: f64,
    pub bars: Vec<Bar>,
    pub line_x: Option<f64>,
    pub line_label: String,
}

const LABEL_W: f64 = 150.0;
const PLOT_W: f64 = 380.0;

fn bar_chart(
    items: &[(String, f64, String, bool)],
    max: f64,
    line: Option<(f64, String)>,
) -> BarChart {
    let max = max.max(1e-9);
    let bars = items
        .iter()
        .enumerate()
        .map(|(i, (label, v, text, ok))| Bar {
            label: label.clone(),
            y: 10.0 + i as f64 * 22.0,
            width: (v / max * PLOT_W).clamp(0.0, PLOT_W),
            value: text.clone(),
            ok: *ok,
        })
        .collect();
    BarChart {
        height: 20.0 + items.len() as f64 * 22.0,
        bars,
        line_x: line
            .as_ref()
            .map(|(v, _)| LABEL_W + (v / max * PLOT_W).clamp(0.0, PLOT_W)),
        line_label: line.map(|(_, l)| l).unwrap_or_default(),
    }
}

pub struct TableView {
    pub sheet: Sheet,
    pub numeric: Vec<bool>,
}

impl TableView {
    fn of(sheet: Sheet) -> TableView {
        let numeric = (0..sheet.headers.len())
            .map(|c| {
                sheet
                    .rows
                    .first()
                    .is_some_and(|r| r.get(c).is_some_and(Cell::is_number))
            })
            .collect();
        TableView { sheet, numeric }
    }
    fn cell(&self, row: &[Cell], c: &usize) -> String {
        row.get(*c).map(Cell::display).unwrap_or_default()
    }
    fn is_num(&self, c: &usize) -> bool {
        self.numeric.get(*c).copied().unwrap_or(false)
    }
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportsPage {
    nav: Option<Nav>,
    year: Year,
    enrolment: TableView,
    rate_chart: BarChart,
    money: Option<TableView>,
    money_chart: Option<BarChart>,
    cash: String,
    fund_balance: String,
}

pub async fn reports(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let enrolment = state.app.enrolment_sheet(a, id).await?;
    let threshold = year.rules.village_threshold_permille as f64 / 10.0;
    let items: Vec<(String, f64, String, bool)> = enrolment
        .rows
        .iter()
        .map(|r| {
            let rate = match r[6] {
                Cell::Permille(p) => p as f64 / 10.0,
                _ => 0.0,
            };
            (
                r[1].display(),
                rate,
                r[6].display(),
                r[7].display() == "计入",
            )
        })
        .collect();
    let rate_chart = bar_chart(
        &items,
        100.0,
        Some((threshold, format!("门槛 {threshold}%"))),
    );
    let (money, money_chart, cash, fund_balance) = match a.fund_reader() {
        Some(r) => {
            let sheet = state.app.money_sheet(&r, id).await?;
            let max = sheet
                .rows
                .iter()
                .filter_map(|row| match row[1] {
                    Cell::Money(f) => Some(f.fen() as f64),
                    _ => None,
                })
                .fold(0.0, f64::max);
            let items: Vec<(String, f64, String, bool)> = sheet
                .rows
                .iter()
                .map(|row| {
                    let received = match row[2] {
                        Cell::Money(f) => f.fen() as f64,
                        _ => 0.0,
                    };
                    (
                        row[0].display(),
                        received,
                        format!("已到账 {} / 应筹 {}", row[2].display(), row[1].display()),
                        true,
                    )
                })
                .collect();
            let tb = state
                .app
                .trial_balance(&r, id, state.app.today(), false)
                .await?;
            (
                Some(TableView::of(sheet)),
                Some(bar_chart(&items, max, None)),
                tb.cash().to_string(),
                tb.fund_balance().to_string(),
            )
        }
        None => (None, None, String::new(), String::new()),
    };
    Ok(render(
        StatusCode::OK,
        &ReportsPage {
            nav: Nav::of(&staff),
            year,
            enrolment: TableView::of(enrolment),
            rate_chart,
            money,
            money_chart,
            cash,
            fund_balance,
        },
    ))
}

fn xlsx(name: &str, bytes: Vec<u8>) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.xlsx\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// Every report table as a workbook: `enrolment`, `money`, `ledger`, `table` (the published
/// subsidy table) and `design-<id>` (a design variant's table).
pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, name)): Path<(String, String)>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    state.app.year(a, id).await?;
    let name = name.strip_suffix(".xlsx").ok_or(AppError::NotFound)?;
    let sheets = match name {
        "enrolment" => vec![state.app.enrolment_sheet(a, id).await?],
        "money" => {
            let r = a.fund_reader().ok_or(AppError::Forbidden)?;
            vec![state.app.money_sheet(&r, id).await?]
        }
        "ledger" => {
            let r = a.fund_reader().ok_or(AppError::Forbidden)?;
            state.app.ledger_sheets(&r, id).await?
        }
        "table" => {
            let (t, lines) = state
                .app
                .published_table(a, id, "")
                .await?
                .ok_or(AppError::NotFound)?;
            vec![subsidy_sheet(
                &format!("补助标准表第{}版", t.version),
                lines
                    .into_iter()
                    .map(|l| (l.drg, l.drg_name, l.amount_fen, l.loyal_amount_fen)),
            )]
        }
        other => {
            let design = other
                .strip_prefix("design-")
                .and_then(|d| d.parse::<i64>().ok())
                .ok_or(AppError::NotFound)?;
            let run = state.app.design(a, id, design).await?;
            vec![subsidy_sheet(
                &format!("设计方案{design}"),
                run.lines
                    .into_iter()
                    .map(|l| (l.drg, l.name, l.amount_fen, l.loyal_amount_fen)),
            )]
        }
    };
    Ok(xlsx(&format!("{name}-{id}"), workbook(&sheets)?))
}

fn subsidy_sheet(name: &str, lines: impl Iterator<Item = (String, String, i64, i64)>) -> Sheet {
    Sheet {
        name: name.to_string(),
        headers: ["DRG编码", "病组名称", "补助（元）", "连续参保补助（元）"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        rows: lines
            .map(|(d, n, a, l)| {
                vec![
                    Cell::Text(d),
                    Cell::Text(n),
                    Cell::Money(domain::Fen(a)),
                    Cell::Money(domain::Fen(l)),
                ]
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticePage {
    nav: Option<Nav>,
    n: Notice,
    today: String,
}

pub async fn notice(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    state.app.year(a, id).await?;
    let r = a.fund_reader().ok_or(AppError::Forbidden)?;
    let n = state.app.public_notice(&r, a, id).await?;
    Ok(render(
        StatusCode::OK,
        &NoticePage {
            nav: Nav::of(&staff),
            n,
            today: state.app.today().format("%Y年%m月%d日").to_string(),
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct VerifyQuery {
    pool: String,
    seq: String,
    hash: String,
}

pub struct VerifyResult {
    ok: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "public_verify.html")]
struct VerifyPage {
    nav: Option<Nav>,
    pool: String,
    seq: String,
    hash: String,
    result: Option<VerifyResult>,
}

/// The public check of a printed chain head (no sign-in): anyone holding a notice can see
/// whether the books still contain, unchanged, the postings it summarised.
pub async fn public_verify(
    State(state): State<AppState>,
    Query(q): Query<VerifyQuery>,
) -> WebResult<Response> {
    let result = if q.pool.is_empty() && q.seq.is_empty() && q.hash.is_empty() {
        None
    } else {
        Some(check_head(&state, &q).await?)
    };
    let keep = |s: &str, n: usize| s.chars().take(n).collect::<String>();
    Ok(render(
        StatusCode::OK,
        &VerifyPage {
            nav: None,
            pool: keep(&q.pool, 12),
            seq: keep(&q.seq, 12),
            hash: keep(&q.hash, 64),
            result,
        },
    ))
}

async fn check_head(state: &AppState, q: &VerifyQuery) -> WebResult<VerifyResult> {
    let bad = |m: &str| VerifyResult {
        ok: false,
        message: m.to_string(),
    };
    let Ok(pool) = domain::RegionCode::parse(q.pool.trim()) else {
        return Ok(bad("基金代码应为公示上印的 6 位或 9 位数字"));
    };
    let seq = match q.seq.trim().parse::<i64>() {
        Ok(n) if n >= 1 => n,
        _ => return Ok(bad("“第几笔分录”应为正整数")),
    };
    let hash = q.hash.trim();
    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(bad("校验码应为 64 位，由数字 0–9 和字母 a–f 组成"));
    }
    use app::fund::HeadCheck;
    Ok(
        match state.app.check_printed_head(pool.as_str(), seq, hash).await? {
            HeadCheck::Matches { later_postings } => VerifyResult {
                ok: true,
                message: format!(
                    "相符：第 {seq} 笔分录与公示时完全一致，此前的账目均未被改动。此后又记账 {later_postings} 笔。"
                ),
            },
            HeadCheck::Differs => bad("不相符：该笔分录的校验码与公示不同。请核对抄写是否有误；如无误，请向县医疗互助管理部门或审计部门反映。"),
            HeadCheck::NoSuchPosting { last_seq } => bad(&format!(
                "不相符：该基金目前只有 {last_seq} 笔分录，没有第 {seq} 笔。请核对抄写是否有误；如无误，请向县医疗互助管理部门或审计部门反映。"
            )),
            HeadCheck::UnknownPool => bad("没有这个基金代码的账目，请核对公示上的基金代码"),
        },
    )
}
