//! The public side of the monthly payout (no sign-in): the front door `/public` listing the
//! pools, a pool's page with its notices (公示) and published subsidy tables, a notice with its
//! lines (paginated for phones on weak networks), the printable A4 sheet of one village for the
//! notice board, QR codes of those pages, and the objection form (我有异议).
//!
//! Addresses are stable and name only pool codes, batch numbers, village codes and a line's
//! number on its notice (序号), never internal ids. Pages are small, work without JavaScript and
//! may be cached briefly by browsers and proxies (`public, max-age`): they carry nothing but what
//! the notice prints. The objection's answer is never cached.

use crate::error::{WebError, WebResult};
use crate::pages::{render, Nav};
use crate::AppState;
use app::payout::{NoticeSelect, NoticeView, ObjectionInput};
use app::public::PublicPool;
use app::AppError;
use askama::Template;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::LineId;
use serde::Deserialize;
use std::net::SocketAddr;

/// Lines per page of a notice: a phone on a weak network gets at most this many rows at once.
pub const LINES_PER_PAGE: usize = app::payout::LINES_PER_PAGE as usize;
/// How long browsers and proxies may keep a public page.
const PAGE_CACHE: &str = "public, max-age=300";
/// QR codes and the sheet's stylesheet change only with the site's address.
const ASSET_CACHE: &str = "public, max-age=3600";

fn with_cache(mut r: Response, value: &'static str) -> Response {
    if r.status().is_success() {
        r.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    }
    r
}

/// The absolute address of `path` on this site, for the QR codes: the request's host (only if it
/// looks like a host name or address with a port), https when the site is served over HTTPS.
fn absolute(state: &AppState, headers: &HeaderMap, path: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let scheme = if state.secure_cookies {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{host}{path}")
}

fn qr_svg(url: &str) -> WebResult<Response> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::with_error_correction_level(url.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code of {url}: {e}")))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build();
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, ASSET_CACHE),
        ],
        image,
    )
        .into_response())
}

// ---------------------------------------------------------------- the front door and a pool

#[derive(Template)]
#[template(path = "public_pools.html")]
struct PoolsPage {
    nav: Option<Nav>,
    pools: Vec<PublicPool>,
}

/// `/public`: every pool, each linking to its page.
pub async fn pools(State(state): State<AppState>) -> WebResult<Response> {
    let pools = state.app.public_pools().await?;
    let page = render(StatusCode::OK, &PoolsPage { nav: None, pools });
    Ok(with_cache(page, PAGE_CACHE))
}

struct NoticeRow {
    batch_no: String,
    start: String,
    end: String,
    running: bool,
}

#[derive(Template)]
#[template(path = "public_pool.html")]
struct PoolPage {
    nav: Option<Nav>,
    code: String,
    name: String,
    notices: Vec<NoticeRow>,
    tables: Vec<(i64, String)>,
}

/// `/public/pools/{pool}`: a pool's notices, newest first, and its published tables.
pub async fn pool(State(state): State<AppState>, Path(pool): Path<String>) -> WebResult<Response> {
    let p = state.app.pool_notices(&pool).await?;
    let today = state.app.today();
    let notices = p
        .notices
        .into_iter()
        .map(|b| NoticeRow {
            running: running(&b, today),
            start: b.notice_start.to_string(),
            end: b.notice_end.to_string(),
            batch_no: b.batch_no,
        })
        .collect();
    let page = render(
        StatusCode::OK,
        &PoolPage {
            nav: None,
            code: p.pool_code,
            name: p.pool_name,
            notices,
            tables: p.tables,
        },
    );
    Ok(with_cache(page, PAGE_CACHE))
}

/// Whether a notice is running today (公示中), as the objection rule has it.
fn running(b: &store::payout::Batch, today: chrono::NaiveDate) -> bool {
    b.status == domain::BatchStatus::Noticed && b.notice_start <= today && today <= b.notice_end
}

/// `/public/pools/{pool}/qr.svg`: the pool page's address, for village notice boards.
pub async fn pool_qr(
    State(state): State<AppState>,
    Path(pool): Path<String>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let p = state.app.pool_notices(&pool).await?;
    qr_svg(&absolute(
        &state,
        &headers,
        &format!("/public/pools/{}", p.pool_code),
    ))
}

// ---------------------------------------------------------------- a notice

struct LineRow {
    seq: i64,
    village: String,
    name: String,
    amount: String,
    drg: Option<String>,
}

/// What the notice and the village sheet both print.
struct NoticeHead {
    title: String,
    batch_no: String,
    pool_code: String,
    pool_name: String,
    year_label: String,
    start: String,
    end: String,
    /// The posting the chain head is the hash of (0: the pool had no postings yet).
    chain_seq: i64,
    chain_head: String,
    /// The chain head in groups of eight, for a line break between them on a phone.
    chain_groups: Vec<String>,
    count: usize,
    total: String,
    show_drg: bool,
    open: bool,
}

impl NoticeHead {
    fn of(n: &NoticeView) -> NoticeHead {
        NoticeHead {
            title: format!(
                "{}医疗互助金发放公示（批次 {}）",
                n.pool_name, n.batch.batch_no
            ),
            batch_no: n.batch.batch_no.clone(),
            pool_code: n.batch.pool_code.clone(),
            pool_name: n.pool_name.clone(),
            year_label: n.year_label.clone(),
            start: n.batch.notice_start.to_string(),
            end: n.batch.notice_end.to_string(),
            chain_seq: n.batch.chain_seq,
            chain_head: n.batch.chain_head.clone(),
            chain_groups: n
                .batch
                .chain_head
                .as_bytes()
                .chunks(8)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect(),
            count: n.count,
            total: n.total.to_string(),
            show_drg: n.batch.show_drg,
            open: n.open_for_objections,
        }
    }
}

/// The notice's lines as printed (`payout::NoticeLine` is not re-exported, so by index).
fn line_rows(n: &NoticeView) -> impl Iterator<Item = LineRow> + '_ {
    n.lines.iter().map(|l| LineRow {
        seq: l.seq,
        village: l.village_name.clone(),
        name: l.name_masked.clone(),
        amount: l.amount.to_string(),
        drg: l.drg_name.clone(),
    })
}

#[derive(Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    page: String,
}

#[derive(Template)]
#[template(path = "public_notice.html")]
struct NoticePage {
    nav: Option<Nav>,
    n: NoticeHead,
    lines: Vec<LineRow>,
    villages: Vec<(String, String)>,
    page: usize,
    pages: usize,
}

/// `/public/notices/{batch_no}`: the notice, `LINES_PER_PAGE` lines a page (`?page=2`).
pub async fn notice(
    State(state): State<AppState>,
    Path(batch_no): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let asked = q.page.trim().parse::<u32>().unwrap_or(1);
    let n = state
        .app
        .payout_notice(&batch_no, NoticeSelect::Page(asked))
        .await?;
    let (page, pages) = (n.page as usize, n.pages as usize);
    let lines = line_rows(&n).collect();
    let html = render(
        StatusCode::OK,
        &NoticePage {
            nav: None,
            n: NoticeHead::of(&n),
            lines,
            villages: n.villages.clone(),
            page,
            pages,
        },
    );
    Ok(with_cache(html, PAGE_CACHE))
}

/// `/public/notices/{batch_no}/qr.svg`: the notice page's address (printed on the village sheet).
pub async fn notice_qr(
    State(state): State<AppState>,
    Path(batch_no): Path<String>,
    headers: HeaderMap,
) -> WebResult<Response> {
    let n = state
        .app
        .payout_notice(&batch_no, NoticeSelect::Page(1))
        .await?;
    qr_svg(&absolute(
        &state,
        &headers,
        &format!("/public/notices/{}", n.batch.batch_no),
    ))
}

#[derive(Template)]
#[template(path = "public_sheet.html")]
struct SheetPage {
    n: NoticeHead,
    village: String,
    lines: Vec<LineRow>,
}

/// `/public/notices/{batch_no}/villages/{village}`: one village's A4 sheet for the notice board.
pub async fn village_sheet(
    State(state): State<AppState>,
    Path((batch_no, village)): Path<(String, String)>,
) -> WebResult<Response> {
    let n = state
        .app
        .payout_notice(&batch_no, NoticeSelect::Village(&village))
        .await?;
    let (_, village) = n.village.clone().ok_or(AppError::NotFound)?;
    let html = render(
        StatusCode::OK,
        &SheetPage {
            n: NoticeHead::of(&n),
            village,
            lines: line_rows(&n).collect(),
        },
    );
    Ok(with_cache(html, PAGE_CACHE))
}

/// The village sheet's own stylesheet (A4, no navigation, the table across the page): a file
/// of its own because the CSP allows no inline style.
pub async fn sheet_css() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, ASSET_CACHE),
        ],
        SHEET_CSS,
    )
        .into_response()
}

const SHEET_CSS: &str = "\
@page { size: A4 portrait; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: \"Noto Sans CJK SC\", \"Source Han Sans SC\", \"PingFang SC\", \"Microsoft YaHei\", sans-serif; color: #000; background: #fff; margin: 0 auto; padding: 8px; max-width: 210mm; font-size: 11pt; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 4mm; }
p { margin: 2mm 0; line-height: 1.5; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 3mm 0; }
th, td { border: 1px solid #000; padding: 1.2mm 1.5mm; text-align: left; overflow-wrap: anywhere; }
th.num, td.num { text-align: right; }
col.seq { width: 12%; } col.name { width: 28%; } col.amount { width: 24%; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; break-inside: avoid; }
.mono { font-family: ui-monospace, monospace; font-size: 8pt; overflow-wrap: anywhere; }
.foot { display: flex; justify-content: space-between; align-items: flex-end; gap: 6mm; margin-top: 8mm; break-inside: avoid; }
.foot img { width: 32mm; height: 32mm; }
.stamp { text-align: right; line-height: 2.2; }
.small { font-size: 9pt; }
.noprint { margin-bottom: 4mm; }
@media print { .noprint { display: none; } body { padding: 0; } }
";

// ---------------------------------------------------------------- objections

#[derive(Template)]
#[template(path = "public_object.html")]
struct ObjectPage {
    nav: Option<Nav>,
    n: NoticeHead,
    line: LineRow,
    phone: String,
    text: String,
    phone_error: Option<String>,
    text_error: Option<String>,
    error: Option<String>,
    /// The objection's number once filed.
    filed: Option<String>,
}

#[derive(Deserialize)]
pub struct ObjectForm {
    #[serde(default)]
    phone: String,
    #[serde(default)]
    text: String,
}

/// The notice, the id of its line `seq` (the line's 序号) and the form page for it.
async fn notice_line(
    state: &AppState,
    batch_no: &str,
    seq: &str,
) -> WebResult<(NoticeView, LineId, ObjectPage)> {
    let seq: i64 = seq.parse().map_err(|_| AppError::NotFound)?;
    let n = state
        .app
        .payout_notice(batch_no, NoticeSelect::Line(seq))
        .await?;
    let i = n
        .lines
        .iter()
        .position(|l| l.seq == seq)
        .ok_or(AppError::NotFound)?;
    let line = line_rows(&n).nth(i).ok_or(AppError::NotFound)?;
    let page = object_page(&n, line);
    let id = n.lines[i].id;
    Ok((n, id, page))
}

fn object_page(n: &NoticeView, line: LineRow) -> ObjectPage {
    ObjectPage {
        nav: None,
        n: NoticeHead::of(n),
        line,
        phone: String::new(),
        text: String::new(),
        phone_error: None,
        text_error: None,
        error: None,
        filed: None,
    }
}

/// `GET /public/notices/{batch_no}/lines/{line}/object`: the form (or why it is closed).
pub async fn object_form(
    State(state): State<AppState>,
    Path((batch_no, seq)): Path<(String, String)>,
) -> WebResult<Response> {
    let (n, _, mut page) = notice_line(&state, &batch_no, &seq).await?;
    if !n.open_for_objections {
        page.error = Some("公示期已结束，不再受理异议".into());
    }
    // The form changes only when the notice ends; the answer to a POST is never cached.
    Ok(render(StatusCode::OK, &page))
}

/// `POST …/object`: files the objection, or shows the form again with the error beside its
/// field and what was typed.
pub async fn object(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((batch_no, seq)): Path<(String, String)>,
    Form(f): Form<ObjectForm>,
) -> WebResult<Response> {
    let (n, line_id, mut page) = notice_line(&state, &batch_no, &seq).await?;
    page.phone = f.phone.chars().take(20).collect();
    page.text = f.text.chars().take(600).collect();
    if f.phone.trim().is_empty() {
        page.phone_error = Some("请填写手机号码，处理结果将以短信告知".into());
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    if let Err(e) = domain::Phone::parse(&f.phone) {
        page.phone_error = Some(format!("手机号码：{e}"));
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let input = ObjectionInput {
        line_id,
        phone: f.phone.clone(),
        text: f.text.clone(),
        client_ip: addr.ip().to_string(),
    };
    match state.app.object(&n.batch.batch_no, &input).await {
        Ok(id) => {
            page.filed = Some(id.to_string());
            page.phone = String::new();
            page.text = String::new();
            Ok(render(StatusCode::OK, &page))
        }
        Err(AppError::Invalid(m)) => {
            if m.starts_with("手机号码") {
                page.phone_error = Some(m);
            } else {
                page.text_error = Some(m);
            }
            Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Err(AppError::Conflict(m)) => {
            page.error = Some(m);
            Ok(render(StatusCode::CONFLICT, &page))
        }
        Err(e) => Err(WebError::from(e)),
    }
}
