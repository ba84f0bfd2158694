//! The web app: server-rendered pages (forms work without JavaScript), a read-only JSON API,
//! embedded assets. Handlers call `app` only; this crate never sees SQL.

pub mod api;
pub mod claims;
pub mod design;
pub mod error;
pub mod figures;
pub mod forms;
pub mod fund;
pub mod hospitals;
pub mod pages;
pub mod payout;
pub mod public;
pub mod reports;
pub mod session;
pub mod sms;
pub mod years;

use app::App;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::handler::Handler;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tower_http::set_header::SetResponseHeaderLayer;

#[derive(Clone)]
pub struct AppState {
    pub app: App,
    /// Set `Secure` on cookies: on whenever the site is served over HTTPS.
    pub secure_cookies: bool,
}

/// What a route's path names, declared with the route itself (see `route_table`): the area walk
/// of the integration tests visits every route declared `Entity` or `EntityAt`, so a route cannot
/// be served without saying whether it names something of an area.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Nothing of anyone's area: home, sign-in, lists, forms, search, templates, assets.
    Nothing,
    /// Something of the signed-in user's own (a session): another user's is not found, whatever
    /// the area, so the area walk has nothing to prove.
    Own,
    /// Published for everyone without signing in (the public subsidy table, verification).
    Public,
    /// A region, household, member, import job, scheme year, enrolment, design or pending
    /// receipt: it answers 404 for anything outside the caller's area.
    Entity,
    /// As `Entity`, for a path whose last parameter picks a document by name: the area walk
    /// visits each of these paths, which are instances of the route's pattern.
    EntityAt(&'static [&'static str]),
}

/// One declared route: a method on a path, and what the path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub method: Method,
    pub path: &'static str,
    pub names: Names,
}

/// The router being built and the list of what it serves, filled by the same calls so that the
/// two cannot disagree.
struct RouteTable {
    router: Router<AppState>,
    routes: Vec<RouteSpec>,
}

impl RouteTable {
    fn new() -> RouteTable {
        RouteTable {
            router: Router::new(),
            routes: Vec::new(),
        }
    }

    fn get<H, T>(self, path: &'static str, names: Names, handler: H) -> RouteTable
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::GET, path, names, get(handler))
    }

    fn post<H, T>(self, path: &'static str, names: Names, handler: H) -> RouteTable
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        self.add(Method::POST, path, names, post(handler))
    }

    /// axum merges a second method on a path already routed into the same method router.
    fn add(
        mut self,
        method: Method,
        path: &'static str,
        names: Names,
        handler: MethodRouter<AppState>,
    ) -> RouteTable {
        self.routes.push(RouteSpec {
            method,
            path,
            names,
        });
        self.router = self.router.route(path, handler);
        self
    }
}

/// Every route, declared once with what it names. Form routes take `FORM_BODY_LIMIT` (the layer
/// in `router`); the two spreadsheet uploads take `upload_limit()`.
fn route_table() -> RouteTable {
    use Names::{Entity, EntityAt, Nothing, Own, Public};
    RouteTable::new()
        .get("/", Nothing, pages::home)
        .get("/login", Nothing, pages::login_form)
        .post("/login", Nothing, pages::login)
        .post("/logout", Nothing, pages::logout)
        .post("/logout/everywhere", Nothing, pages::logout_everywhere)
        .get("/account/sessions", Nothing, pages::sessions)
        .post("/account/sessions/{id}/end", Own, pages::end_session)
        .post("/account/phone", Nothing, pages::set_phone)
        .get("/regions/{code}", Entity, pages::region)
        .get("/households/{id}", Entity, pages::household)
        .get("/members/{id}", Entity, pages::member)
        .post("/members/{id}/reveal", Entity, pages::reveal)
        .post("/members/{id}/place", Entity, pages::place)
        .get("/search", Nothing, pages::search)
        .get("/roster/template.xlsx", Nothing, pages::template)
        .get("/roster/import", Nothing, pages::import_form)
        .post(
            "/roster/import",
            Nothing,
            pages::import_upload.layer(upload_limit()),
        )
        .get("/roster/import/{job}", Entity, pages::import_job)
        .get("/audit", Nothing, pages::audit)
        .get("/sms", Nothing, sms::outbox)
        .get("/hospitals", Nothing, hospitals::hospitals)
        .post("/hospitals", Nothing, hospitals::add)
        .get("/hospitals/{hospital}", Entity, hospitals::hospital)
        .post("/hospitals/{hospital}", Entity, hospitals::update)
        .get("/claims", Nothing, claims::list)
        .get("/claims/export.xlsx", Nothing, claims::export)
        .get("/members/{member}/claims/new", Entity, claims::new_form)
        .post(
            "/members/{member}/claims",
            Entity,
            claims::file.layer(claim_upload_limit()),
        )
        .get("/claims/{claim}", Entity, claims::show)
        .get("/claims/{claim}/codes", Entity, claims::codes)
        .get(
            "/claims/{claim}/documents/{document}",
            Entity,
            claims::document,
        )
        .post(
            "/claims/{claim}/documents",
            Entity,
            claims::add_documents.layer(claim_upload_limit()),
        )
        .post("/claims/{claim}/coding", Entity, claims::coding)
        .post("/claims/{claim}/propose", Entity, claims::propose)
        .post(
            "/claims/{claim}/request-documents",
            Entity,
            claims::request_documents,
        )
        .post("/claims/{claim}/review", Entity, claims::review)
        .post("/claims/{claim}/reopen", Entity, claims::reopen)
        .get("/assets/claims.js", Nothing, claims::script)
        // The monthly payout (每月发放): batches, the bank, reviewers' queues, cards, recovery.
        .get("/payout", Nothing, payout::batches)
        .get("/years/{year}/payout/new", Entity, payout::new_form)
        .post("/years/{year}/payout/new", Entity, payout::create)
        .get("/payout/batches/{batch}", Entity, payout::batch)
        .post("/payout/batches/{batch}/approve", Entity, payout::approve)
        .get(
            "/payout/batches/{batch}/file/{name}",
            EntityAt(&[
                "/payout/batches/{batch}/file/generic.csv",
                "/payout/batches/{batch}/file/generic.xlsx",
                "/payout/batches/{batch}/file/rural_credit.csv",
                "/payout/batches/{batch}/file/rural_credit.xlsx",
            ]),
            payout::file,
        )
        .post(
            "/payout/batches/{batch}/results",
            Entity,
            payout::results.layer(payout::results_limit()),
        )
        .post(
            "/payout/batches/{batch}/lines/{line}/result",
            Entity,
            payout::line_result,
        )
        .get("/payout/objections", Nothing, payout::objections)
        .post(
            "/payout/batches/{batch}/objections/{objection}/decide",
            Entity,
            payout::decide_objection,
        )
        .get("/payout/cards", Nothing, payout::cards)
        .post("/members/{member}/cards", Entity, payout::record_card)
        .post(
            "/members/{member}/cards/{card}/decide",
            Entity,
            payout::decide_card,
        )
        .post("/claims/{claim}/recover", Entity, payout::recover)
        .get("/payout/recoveries", Nothing, payout::recoveries)
        .get("/payout/recoveries/{recovery}", Entity, payout::recovery)
        .post(
            "/payout/recoveries/{recovery}/receipts",
            Entity,
            payout::receipt,
        )
        .get(
            "/payout/recoveries/{recovery}/announcement",
            Entity,
            payout::announcement,
        )
        .get("/payout/print.css", Nothing, payout::print_css)
        .get("/years", Nothing, years::years)
        .get("/years/new", Nothing, years::new_year_form)
        .post("/years/new", Nothing, years::new_year)
        .get("/years/{year}", Entity, years::year)
        .get("/years/{year}/rules", Entity, years::rules)
        .post("/years/{year}/rules", Entity, years::change_rules)
        .post("/years/{year}/next", Entity, years::next_year)
        .get("/years/{year}/villages/{code}", Entity, years::village)
        .get(
            "/years/{year}/households/{id}/enrol",
            Entity,
            years::enrol_form,
        )
        .post("/years/{year}/households/{id}/enrol", Entity, years::enrol)
        .post("/years/{year}/renew", Entity, years::renew)
        .get(
            "/years/{year}/enrol/import",
            Entity,
            years::enrol_import_form,
        )
        .post(
            "/years/{year}/enrol/import",
            Entity,
            years::enrol_import.layer(upload_limit()),
        )
        .get("/enrolments/template.xlsx", Nothing, years::enrol_template)
        .get("/enrolments/{enrolment}", Entity, years::receipt)
        .post("/enrolments/{enrolment}/reverse", Entity, years::reverse)
        .get("/years/{year}/fund", Entity, fund::fund)
        .post("/years/{year}/fund/receipts", Entity, fund::record)
        .post("/years/{year}/fund/{action}", Entity, fund::action)
        .post(
            "/years/{year}/fund/pending/{pending}/decide",
            Entity,
            fund::decide_pending,
        )
        .get("/years/{year}/design", Entity, design::design_home)
        .post("/years/{year}/design", Entity, design::run)
        .get("/years/{year}/designs/{design}", Entity, design::show)
        .post(
            "/years/{year}/designs/{design}/submit",
            Entity,
            design::submit,
        )
        .post(
            "/years/{year}/designs/{design}/decide",
            Entity,
            design::decide,
        )
        .get("/years/{year}/table", Entity, design::table)
        .get("/public/years/{year}/table", Public, design::public_table)
        .get("/public/verify", Public, reports::public_verify)
        // The payout's public notices (公示) and objections: pool codes, batch numbers, village
        // codes and a line's number on its notice, never internal ids.
        .get("/public", Public, public::pools)
        .get("/public/sheet.css", Public, public::sheet_css)
        .get("/public/pools/{pool}", Public, public::pool)
        .get("/public/pools/{pool}/qr.svg", Public, public::pool_qr)
        .get("/public/notices/{batch_no}", Public, public::notice)
        .get(
            "/public/notices/{batch_no}/qr.svg",
            Public,
            public::notice_qr,
        )
        .get(
            "/public/notices/{batch_no}/villages/{village}",
            Public,
            public::village_sheet,
        )
        .get(
            "/public/notices/{batch_no}/lines/{line}/object",
            Public,
            public::object_form,
        )
        .post(
            "/public/notices/{batch_no}/lines/{line}/object",
            Public,
            public::object,
        )
        .get("/years/{year}/reports", Entity, reports::reports)
        .get(
            "/years/{year}/reports/{name}",
            EntityAt(&[
                "/years/{year}/reports/enrolment.xlsx",
                "/years/{year}/reports/money.xlsx",
                "/years/{year}/reports/ledger.xlsx",
                "/years/{year}/reports/design-{design}.xlsx",
            ]),
            reports::export,
        )
        .get("/years/{year}/notice", Entity, reports::notice)
        // The year's figures (统计, with their workbook) and the fund dashboard (基金看板).
        .get("/years/{year}/figures", Entity, figures::figures)
        .get(
            "/years/{year}/figures/{name}",
            EntityAt(&["/years/{year}/figures/figures.xlsx"]),
            figures::export,
        )
        .get("/years/{year}/dashboard", Entity, figures::dashboard)
        .get("/api/v1/regions/{code}", Entity, api::region)
        .get("/api/v1/households/{id}", Entity, api::household)
        .get("/api/v1/members/{id}", Entity, api::member)
        .get("/api/v1/search", Nothing, api::search)
        .get("/healthz", Nothing, || async { "ok" })
        .get("/assets/style.css", Nothing, style)
}

/// Every route the router serves, with what its path names.
pub fn routes() -> Vec<RouteSpec> {
    route_table().routes
}

/// The routes that name a region, household, member, job, year, enrolment, design or pending
/// receipt, as (method, path template): every one must answer 404 for anything outside the
/// caller's area, and the integration tests walk this list. Derived from the route table, so a
/// new route is on it exactly when it is declared `Names::Entity`; a route named by a document
/// (`Names::EntityAt`) appears once per document.
pub fn entity_routes() -> Vec<(Method, &'static str)> {
    routes()
        .into_iter()
        .flat_map(|r| match r.names {
            Names::Entity => vec![(r.method, r.path)],
            Names::EntityAt(paths) => paths.iter().map(|p| (r.method.clone(), *p)).collect(),
            Names::Nothing | Names::Own | Names::Public => vec![],
        })
        .collect()
}

pub fn router(state: AppState) -> Router {
    let pages = route_table()
        .router
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

/// The body limit of the routes that take a claim's documents (photos and PDFs of several
/// pages): the most a claim may carry plus the form around it.
fn claim_upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(documents::MAX_CLAIM_BYTES + 4 * FORM_BODY_LIMIT)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn segments(path: &str) -> Vec<&str> {
        path.split('/').collect()
    }

    fn is_parameter(segment: &str) -> bool {
        segment.starts_with('{') && segment.ends_with('}')
    }

    /// A route whose path takes a parameter names something; it must say what (or why the area
    /// walk has nothing to prove), so a new `/things/{id}` cannot slip past the walk as `Nothing`.
    #[test]
    fn every_parameterised_route_says_what_it_names() {
        for r in routes() {
            if r.path.contains('{') {
                assert_ne!(
                    r.names,
                    Names::Nothing,
                    "{} {} takes a parameter: declare it Entity (or Own/Public)",
                    r.method,
                    r.path
                );
            }
        }
    }

    /// The documents of an `EntityAt` route are instances of its pattern: same number of
    /// segments, equal fixed segments, and something in place of each parameter.
    #[test]
    fn documents_are_instances_of_their_route() {
        let mut seen = 0;
        for r in routes() {
            let Names::EntityAt(paths) = r.names else {
                continue;
            };
            assert!(!paths.is_empty(), "{}", r.path);
            for p in paths {
                let (pattern, path) = (segments(r.path), segments(p));
                assert_eq!(pattern.len(), path.len(), "{p} under {}", r.path);
                for (a, b) in pattern.iter().zip(&path) {
                    assert!(
                        a == b || (is_parameter(a) && !b.is_empty()),
                        "{p} is not an instance of {}",
                        r.path
                    );
                }
                seen += 1;
            }
        }
        assert!(seen > 0);
    }

    #[test]
    fn no_route_is_declared_twice() {
        let all = routes();
        let mut keys: Vec<_> = all.iter().map(|r| (r.method.as_str(), r.path)).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), all.len());
    }

    /// The entity list is the declared entity routes and nothing else: no public, own or plain
    /// route on it, every entity route on it.
    #[test]
    fn entity_routes_come_from_the_table() {
        let entities = entity_routes();
        for r in routes() {
            let listed = entities
                .iter()
                .filter(|(m, p)| {
                    *m == r.method
                        && (*p == r.path
                            || matches!(r.names, Names::EntityAt(ps) if ps.contains(p)))
                })
                .count();
            let expected = match r.names {
                Names::Entity => 1,
                Names::EntityAt(paths) => paths.len(),
                Names::Nothing | Names::Own | Names::Public => 0,
            };
            assert_eq!(listed, expected, "{} {}", r.method, r.path);
        }
        for (_, path) in &entities {
            assert!(!path.starts_with("/public/"), "{path}");
        }
        // The ones the area rules are about, page and API.
        for path in [
            "/regions/{code}",
            "/households/{id}",
            "/members/{id}",
            "/api/v1/regions/{code}",
            "/api/v1/households/{id}",
            "/api/v1/members/{id}",
            "/roster/import/{job}",
            "/years/{year}",
        ] {
            assert!(
                entities.contains(&(Method::GET, path)),
                "GET {path} must be an entity route"
            );
        }
    }
}
