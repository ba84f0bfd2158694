//! The web app: server-rendered pages (forms work without JavaScript), a read-only JSON API,
//! embedded assets. Handlers call `app` only; this crate never sees SQL.

pub mod api;
pub mod design;
pub mod error;
pub mod fund;
pub mod pages;
pub mod reports;
pub mod session;
pub mod years;

use app::import::ImportProgress;
use app::App;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    pub progress: ImportProgress,
    /// Set `Secure` on cookies: on whenever the site is served over HTTPS.
    pub secure_cookies: bool,
}

/// Routes that name a region, household, member or job. Every one of them must answer 404 for
/// anything outside the caller's area; the integration tests walk this list, so a new route
/// that names an entity belongs here.
pub const ENTITY_ROUTES: &[(&str, &str)] = &[
    ("GET", "/regions/{code}"),
    ("GET", "/households/{id}"),
    ("GET", "/members/{id}"),
    ("POST", "/members/{id}/reveal"),
    ("POST", "/members/{id}/place"),
    ("GET", "/roster/import/{job}"),
    ("GET", "/years/{year}"),
    ("GET", "/years/{year}/rules"),
    ("POST", "/years/{year}/rules"),
    ("POST", "/years/{year}/next"),
    ("GET", "/years/{year}/villages/{code}"),
    ("GET", "/years/{year}/households/{id}/enrol"),
    ("POST", "/years/{year}/households/{id}/enrol"),
    ("POST", "/years/{year}/renew"),
    ("GET", "/years/{year}/enrol/import"),
    ("POST", "/years/{year}/enrol/import"),
    ("GET", "/enrolments/{enrolment}"),
    ("POST", "/enrolments/{enrolment}/reverse"),
    ("GET", "/years/{year}/fund"),
    ("POST", "/years/{year}/fund/receipts"),
    ("POST", "/years/{year}/fund/{action}"),
    ("POST", "/years/{year}/fund/pending/{pending}/decide"),
    ("GET", "/years/{year}/design"),
    ("POST", "/years/{year}/design"),
    ("GET", "/years/{year}/designs/{design}"),
    ("POST", "/years/{year}/designs/{design}/submit"),
    ("POST", "/years/{year}/designs/{design}/decide"),
    ("GET", "/years/{year}/table"),
    ("GET", "/years/{year}/reports"),
    ("GET", "/years/{year}/reports/enrolment.xlsx"),
    ("GET", "/years/{year}/reports/money.xlsx"),
    ("GET", "/years/{year}/reports/ledger.xlsx"),
    ("GET", "/years/{year}/reports/design-{design}.xlsx"),
    ("GET", "/years/{year}/notice"),
    ("GET", "/api/v1/regions/{code}"),
    ("GET", "/api/v1/households/{id}"),
    ("GET", "/api/v1/members/{id}"),
];

pub fn router(state: AppState) -> Router {
    let pages = Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/logout/everywhere", post(pages::logout_everywhere))
        .route("/account/sessions", get(pages::sessions))
        .route("/account/sessions/{id}/end", post(pages::end_session))
        .route("/regions/{code}", get(pages::region))
        .route("/households/{id}", get(pages::household))
        .route("/members/{id}", get(pages::member))
        .route("/members/{id}/reveal", post(pages::reveal))
        .route("/members/{id}/place", post(pages::place))
        .route("/search", get(pages::search))
        .route("/roster/template.xlsx", get(pages::template))
        .route(
            "/roster/import",
            get(pages::import_form).post(pages::import_upload.layer(upload_limit())),
        )
        .route("/roster/import/{job}", get(pages::import_job))
        .route("/audit", get(pages::audit))
        .route("/years", get(years::years))
        .route(
            "/years/new",
            get(years::new_year_form).post(years::new_year),
        )
        .route("/years/{year}", get(years::year))
        .route(
            "/years/{year}/rules",
            get(years::rules).post(years::change_rules),
        )
        .route("/years/{year}/next", post(years::next_year))
        .route("/years/{year}/villages/{code}", get(years::village))
        .route(
            "/years/{year}/households/{id}/enrol",
            get(years::enrol_form).post(years::enrol),
        )
        .route("/years/{year}/renew", post(years::renew))
        .route(
            "/years/{year}/enrol/import",
            get(years::enrol_import_form).post(years::enrol_import.layer(upload_limit())),
        )
        .route("/enrolments/template.xlsx", get(years::enrol_template))
        .route("/enrolments/{enrolment}", get(years::receipt))
        .route("/enrolments/{enrolment}/reverse", post(years::reverse))
        .route("/years/{year}/fund", get(fund::fund))
        .route("/years/{year}/fund/receipts", post(fund::record))
        .route("/years/{year}/fund/{action}", post(fund::action))
        .route(
            "/years/{year}/fund/pending/{pending}/decide",
            post(fund::decide_pending),
        )
        .route(
            "/years/{year}/design",
            get(design::design_home).post(design::run),
        )
        .route("/years/{year}/designs/{design}", get(design::show))
        .route(
            "/years/{year}/designs/{design}/submit",
            post(design::submit),
        )
        .route(
            "/years/{year}/designs/{design}/decide",
            post(design::decide),
        )
        .route("/years/{year}/table", get(design::table))
        .route("/public/years/{year}/table", get(design::public_table))
        .route("/public/verify", get(reports::public_verify))
        .route("/years/{year}/reports", get(reports::reports))
        .route("/years/{year}/reports/{name}", get(reports::export))
        .route("/years/{year}/notice", get(reports::notice))
        .route("/api/v1/regions/{code}", get(api::region))
        .route("/api/v1/households/{id}", get(api::household))
        .route("/api/v1/members/{id}", get(api::member))
        .route("/api/v1/search", get(api::search))
        .route("/healthz", get(|| async { "ok" }))
        .route("/assets/style.css", get(style))
        .fallback(pages::not_found)
        .layer(middleware::from_fn(same_origin_posts))
        .layer(DefaultBodyLimit::max(FORM_BODY_LIMIT));
    security_headers(pages).with_state(state)
}

/// The most a form POST may carry. The largest form (the rules, with per-village overrides of a
/// county) is a few kilobytes; only the two upload routes take files (see `upload_limit`).
pub const FORM_BODY_LIMIT: usize = 64 * 1024;

/// The body limit of the routes that take a spreadsheet: the file plus the form around it.
fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(app::import::MAX_FILE_BYTES + FORM_BODY_LIMIT)
}

/// Security headers on every response (等保: clickjacking, MIME sniffing, referrer leaks, and a
/// strict CSP since the pages need no inline script).
fn security_headers(r: Router<AppState>) -> Router<AppState> {
    let set = |name: header::HeaderName, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    r.layer(set(
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ))
    .layer(set(header::X_FRAME_OPTIONS, "DENY"))
    .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
    .layer(set(header::REFERRER_POLICY, "same-origin"))
    .layer(set(header::HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=()"))
    // Pages carry personal data: not cached unless a handler says otherwise (the stylesheet).
    .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
}

/// Refuses state-changing requests from anywhere but this site: a second line of defence behind
/// the per-form CSRF token and SameSite=Strict cookies. A POST must not say it comes from another
/// site (`Sec-Fetch-Site`), and an `Origin`, when sent, must be this host: `Origin: null` (a
/// sandboxed frame, a `data:` page, a cross-site redirect) is refused too. Browsers send the real
/// origin on same-origin form posts because the referrer policy is `same-origin`, not
/// `no-referrer` (under which they would send `null`). Requests without either header (non-browser
/// clients) still need the CSRF token.
async fn same_origin_posts(req: Request, next: Next) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let headers = req.headers();
        let fetch_site = headers
            .get("sec-fetch-site")
            .map(|v| v.to_str().unwrap_or(""));
        if fetch_site.is_some_and(|s| s != "same-origin" && s != "none") {
            return error::WebError::Csrf.into_response();
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .or_else(|| req.uri().authority().map(|a| a.as_str()));
            let origin_host = origin.to_str().ok().and_then(|o| {
                o.strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"))
            });
            match (origin_host, host) {
                (Some(o), Some(h)) if !o.is_empty() && o.eq_ignore_ascii_case(h) => {}
                _ => return error::WebError::Csrf.into_response(),
            }
        }
    }
    next.run(req).await
}

async fn style(State(_): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/style.css"),
    )
}
