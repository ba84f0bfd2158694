//! Server-rendered pages: one template struct per page, handlers that only call `app`.

use crate::error::{WebError, WebResult};
use crate::session::{self, Staff};
use crate::AppState;
use app::auth::{Credentials, LoginError};
use app::import::RowError;
use app::roster::{HouseholdView, MemberRow, MemberView, RegionView, Revealed};
use app::AppError;
use askama::Template;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, CookieJar};
use serde::Deserialize;
use std::net::SocketAddr;

/// What the header bar needs.
pub struct Nav {
    pub display_name: String,
    pub role: &'static str,
    pub csrf: String,
    pub can_import: bool,
    pub can_audit: bool,
    /// 风险预警 in force for the viewer's area (read once per request by `Staff`).
    pub warnings: Vec<app::figures::ActiveWarning>,
    /// 发放: payout officers (batches) and reviewers (objections, card changes).
    pub can_payout: bool,
}

impl Nav {
    pub(crate) fn of(staff: &Staff) -> Option<Nav> {
        let a = staff.actor();
        Some(Nav {
            display_name: a.display_name.clone(),
            role: a.role.label_zh(),
            csrf: staff.csrf().to_string(),
            can_import: a.roster_writer().is_some(),
            can_audit: a.audit_reader().is_some(),
            warnings: staff.warnings.clone(),
            can_payout: a.payout_officer().is_some() || a.claim_reviewer().is_some(),
        })
    }
}

pub(crate) fn render<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!("template error: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "模板渲染错误").into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    nav: Option<Nav>,
    title: String,
    message: String,
}

impl ErrorPage {
    pub fn new(status: StatusCode, message: String) -> ErrorPage {
        let title = match status.as_u16() {
            404 => "未找到",
            403 => "无权操作",
            422 | 400 => "输入有误",
            429 => "请稍后再试",
            _ => "出错了",
        };
        ErrorPage {
            nav: None,
            title: title.into(),
            message,
        }
    }
}

impl IntoResponse for ErrorPage {
    fn into_response(self) -> Response {
        render(StatusCode::OK, &self)
    }
}

pub async fn not_found() -> WebError {
    WebError::App(AppError::NotFound)
}

/// Path ids that are not numbers are simply not found (not a 400 that hints at the schema).
pub(crate) fn parse_id(s: &str) -> WebResult<i64> {
    s.parse().map_err(|_| WebError::App(AppError::NotFound))
}

#[derive(Deserialize)]
pub struct CsrfOnly {
    pub(crate) csrf: String,
}

// ---------- sign-in ----------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    nav: Option<Nav>,
    csrf: String,
    username: String,
    error: Option<String>,
}

fn login_page(
    state: &AppState,
    jar: CookieJar,
    status: StatusCode,
    username: String,
    error: Option<String>,
) -> Response {
    let csrf = app::auth::new_csrf_token();
    let jar = jar.add(session::login_csrf_cookie(
        csrf.clone(),
        state.secure_cookies,
    ));
    (
        jar,
        render(
            status,
            &LoginPage {
                nav: None,
                csrf,
                username,
                error,
            },
        ),
    )
        .into_response()
}

pub async fn login_form(State(state): State<AppState>, jar: CookieJar) -> Response {
    login_page(&state, jar, StatusCode::OK, String::new(), None)
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    username: String,
    password: String,
}

pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> WebResult<Response> {
    let cookie_token = jar
        .get(session::LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_string())
        .unwrap_or_default();
    if cookie_token.is_empty()
        || !session::constant_time_eq(cookie_token.as_bytes(), form.csrf.as_bytes())
    {
        return Err(WebError::Csrf);
    }
    // Bounded at the edge: input past the bounds is neither looked up, stored nor echoed.
    let credentials = match Credentials::parse(&form.username, &form.password) {
        Ok(c) => c,
        Err(e) => {
            return Ok(login_page(
                &state,
                jar,
                StatusCode::UNPROCESSABLE_ENTITY,
                String::new(),
                Some(e.to_string()),
            ))
        }
    };
    match state.app.login(&credentials, &addr.ip().to_string()).await {
        Ok((s, _)) => {
            let jar = jar
                .remove(Cookie::build(session::LOGIN_CSRF_COOKIE).path("/login"))
                .add(session::session_cookie(s.token, state.secure_cookies));
            Ok((jar, Redirect::to("/")).into_response())
        }
        Err(e @ LoginError::Failed) => Ok(login_page(
            &state,
            jar,
            StatusCode::UNAUTHORIZED,
            credentials.username().to_string(),
            Some(e.to_string()),
        )),
        Err(e @ LoginError::Throttled { retry_after_secs }) => {
            let mut r = login_page(
                &state,
                jar,
                StatusCode::TOO_MANY_REQUESTS,
                credentials.username().to_string(),
                Some(e.to_string()),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            Ok(r)
        }
        Err(LoginError::App(e)) => Err(e.into()),
    }
}

pub async fn logout(
    State(state): State<AppState>,
    staff: Staff,
    jar: CookieJar,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    state.app.logout(&staff.token, staff.actor()).await?;
    let jar = jar.remove(Cookie::build(session::SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}

/// Ends every session of the signed-in user, this one included.
pub async fn logout_everywhere(
    State(state): State<AppState>,
    staff: Staff,
    jar: CookieJar,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    state.app.logout_everywhere(staff.actor()).await?;
    let jar = jar.remove(Cookie::build(session::SESSION_COOKIE).path("/"));
    Ok((jar, Redirect::to("/login")).into_response())
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct SessionsPage {
    nav: Option<Nav>,
    csrf: String,
    idle_minutes: i64,
    sessions: Vec<app::auth::SessionView>,
    /// The account's own phone, masked (for the 风险预警 SMS).
    phone: Option<String>,
    /// What the phone form said: saved, or why not.
    phone_notice: Option<String>,
    phone_error: Option<String>,
}

#[derive(Deserialize)]
pub struct PhoneForm {
    csrf: String,
    phone: String,
}

/// Puts the signed-in staff member's own phone on the account (风险预警 SMS go to it).
pub async fn set_phone(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<PhoneForm>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    match state.app.set_own_phone(staff.actor(), &f.phone).await {
        Ok(()) => Ok(Redirect::to("/account/sessions?phone=saved").into_response()),
        Err(AppError::Invalid(m)) => {
            sessions_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(m),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
pub struct SessionsQuery {
    #[serde(default)]
    phone: String,
}

async fn sessions_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    phone_notice: Option<String>,
    phone_error: Option<String>,
) -> WebResult<Response> {
    let sessions = state.app.sessions(&staff.signed_in).await?;
    Ok(render(
        status,
        &SessionsPage {
            nav: Nav::of(staff),
            csrf: staff.csrf().to_string(),
            idle_minutes: app::auth::SESSION_IDLE_MINUTES,
            sessions,
            phone: state.app.own_phone(staff.actor()).await?,
            phone_notice,
            phone_error,
        },
    ))
}

/// The signed-in user's own live sessions: when and from where each began, when it was last
/// used; each can be ended.
pub async fn sessions(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<SessionsQuery>,
) -> WebResult<Response> {
    let notice = (q.phone == "saved").then(|| "手机号已保存。".to_string());
    sessions_page(&state, &staff, StatusCode::OK, notice, None).await
}

/// Ends one of the signed-in user's sessions (another user's session is not found).
pub async fn end_session(
    State(state): State<AppState>,
    staff: Staff,
    jar: CookieJar,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    if state.app.end_session(&staff.signed_in, id).await? {
        let jar = jar.remove(Cookie::build(session::SESSION_COOKIE).path("/"));
        return Ok((jar, Redirect::to("/login")).into_response());
    }
    Ok(Redirect::to("/account/sessions").into_response())
}

// ---------- the roster ----------

pub async fn home(State(state): State<AppState>, staff: Staff) -> WebResult<Redirect> {
    let code = state.app.home_region(staff.actor()).await?;
    Ok(Redirect::to(&format!("/regions/{code}")))
}

#[derive(Template)]
#[template(path = "region.html")]
struct RegionPage {
    nav: Option<Nav>,
    view: RegionView,
    child_level: &'static str,
}

#[derive(Deserialize)]
pub struct PageQuery {
    page: Option<i64>,
}

pub async fn region(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
    Query(q): Query<PageQuery>,
) -> WebResult<Response> {
    let view = state
        .app
        .region_view(staff.actor(), &code, q.page.unwrap_or(1))
        .await?;
    let child_level = match view.region.level.as_str() {
        "county" => "乡镇（街道）",
        _ => "村（社区）",
    };
    Ok(render(
        StatusCode::OK,
        &RegionPage {
            nav: Nav::of(&staff),
            view,
            child_level,
        },
    ))
}

#[derive(Template)]
#[template(path = "household.html")]
struct HouseholdPage {
    nav: Option<Nav>,
    view: HouseholdView,
    /// The household's claims (补助申请), every state, newest first.
    claims: Vec<crate::claims::ClaimRow>,
    /// Whether the viewer may file a claim (申请补助) for the household's members.
    can_file_claim: bool,
}

pub async fn household(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let view = state.app.household_view(staff.actor(), id).await?;
    let claims = crate::claims::member_claims(&state, &staff, None, Some(id)).await?;
    Ok(render(
        StatusCode::OK,
        &HouseholdPage {
            nav: Nav::of(&staff),
            view,
            claims,
            can_file_claim: staff.actor().claim_intake().is_some(),
        },
    ))
}

#[derive(Template)]
#[template(path = "member.html")]
struct MemberPage {
    nav: Option<Nav>,
    view: MemberView,
    revealed: Option<Revealed>,
    csrf: String,
    /// Virtual villages the viewer may place this member in (county admins only).
    virtual_villages: Vec<store::regions::Region>,
    /// Whether the viewer's role may unmask identifiers at all.
    can_reveal: bool,
    /// The member's claims (补助申请), every state, newest first.
    claims: Vec<crate::claims::ClaimRow>,
    /// Whether the viewer may file a claim (申请补助) for the member.
    can_file_claim: bool,
    /// The member's bank cards and the card form (`crate::payout`).
    cards: crate::payout::CardSection,
}

impl MemberPage {
    async fn build(
        state: &AppState,
        staff: &Staff,
        id: i64,
        revealed: Option<Revealed>,
        card_notice: &str,
    ) -> WebResult<MemberPage> {
        let view = state.app.member_view(staff.actor(), id).await?;
        let cards = crate::payout::CardSection::load(state, staff, &view, card_notice).await?;
        let virtual_villages = match staff.actor().virtual_village_placer() {
            Some(p) if !view.village.is_virtual => state.app.virtual_villages(&p).await?,
            _ => Vec::new(),
        };
        Ok(MemberPage {
            nav: Nav::of(staff),
            view,
            revealed,
            csrf: staff.csrf().to_string(),
            virtual_villages,
            can_reveal: staff.actor().pii_revealer().is_some(),
            claims: crate::claims::member_claims(state, staff, Some(id), None).await?,
            can_file_claim: staff.actor().claim_intake().is_some(),
            cards,
        })
    }
}

#[derive(Deserialize, Default)]
pub struct MemberQuery {
    /// The bank card just recorded: "active" or "pending".
    #[serde(default)]
    card: String,
}

pub async fn member(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<MemberQuery>,
) -> WebResult<Response> {
    let page = MemberPage::build(&state, &staff, parse_id(&id)?, None, &q.card).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The member page with the bank-card form refused (422): the message next to the form and
/// what was typed (bank, holder, reason) kept.
pub(crate) async fn member_card_refused(
    state: &AppState,
    staff: &Staff,
    id: i64,
    error: String,
    typed: (String, String, String),
) -> WebResult<Response> {
    let mut page = MemberPage::build(state, staff, id, None, "").await?;
    page.cards.error = Some(error);
    (page.cards.bank_name, page.cards.holder, page.cards.reason) = typed;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// Shows the full identifiers in the response to this POST only (never in a URL, never cached).
pub async fn reveal(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    let revealed = state.app.reveal_member(staff.actor(), id).await?;
    let page = MemberPage::build(&state, &staff, id, Some(revealed), "").await?;
    Ok(render(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct PlaceForm {
    csrf: String,
    #[serde(default)]
    village: String,
}

/// A county admin places a poverty-monitored member in a virtual village (幸福社区).
pub async fn place(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<PlaceForm>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let id = parse_id(&id)?;
    // Outside the area the member does not exist (404) whatever the role; inside, the role decides.
    state.app.member_view(staff.actor(), id).await?;
    let placer = staff
        .actor()
        .virtual_village_placer()
        .ok_or(AppError::Forbidden)?;
    state
        .app
        .place_in_virtual_village(&placer, staff.actor(), id, &f.village)
        .await?;
    Ok(Redirect::to(&format!("/members/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    nav: Option<Nav>,
    q: String,
    members: Vec<MemberRow>,
    error: Option<String>,
    limit: usize,
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub const SEARCH_LIMIT: i64 = 100;

pub async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(sq): Query<SearchQuery>,
) -> WebResult<Response> {
    let (members, error, status) = match state
        .app
        .search_members(staff.actor(), &sq.q, SEARCH_LIMIT)
        .await
    {
        Ok(m) => (m, None, StatusCode::OK),
        Err(AppError::Invalid(msg)) => (Vec::new(), Some(msg), StatusCode::UNPROCESSABLE_ENTITY),
        Err(e) => return Err(e.into()),
    };
    let page = SearchPage {
        nav: Nav::of(&staff),
        q: sq.q.trim().to_string(),
        members,
        error,
        limit: SEARCH_LIMIT as usize,
    };
    Ok(render(status, &page))
}

// ---------- import ----------

pub async fn template(_staff: Staff) -> WebResult<Response> {
    let bytes = app::import::template_xlsx()?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"roster-template.xlsx\"; filename*=UTF-8''%E8%8A%B1%E5%90%8D%E5%86%8C%E6%A8%A1%E6%9D%BF.xlsx",
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    nav: Option<Nav>,
    csrf: String,
    error: Option<String>,
}

pub async fn import_form(staff: Staff) -> WebResult<Response> {
    staff.actor().roster_writer().ok_or(AppError::Forbidden)?;
    let csrf = staff.csrf().to_string();
    Ok(render(
        StatusCode::OK,
        &ImportPage {
            nav: Nav::of(&staff),
            csrf,
            error: None,
        },
    ))
}

pub async fn import_upload(
    State(state): State<AppState>,
    staff: Staff,
    mut form: Multipart,
) -> WebResult<Response> {
    let writer = staff.actor().roster_writer().ok_or(AppError::Forbidden)?;
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let broken = |_| WebError::BadRequest("上传中断或文件过大，请重试".into());
    while let Some(field) = form.next_field().await.map_err(broken)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(broken)?,
            Some("file") => {
                let name = field.file_name().unwrap_or("roster.xlsx").to_string();
                let bytes = field.bytes().await.map_err(broken)?;
                file = Some((name, bytes.to_vec()));
            }
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let csrf = staff.csrf().to_string();
        let page = ImportPage {
            nav: Nav::of(&staff),
            csrf,
            error: Some("请选择要上传的花名册文件（.xlsx）".into()),
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let job = state
        .app
        .start_import(writer, staff.actor().clone(), name, bytes)
        .await?;
    Ok(Redirect::to(&format!("/roster/import/{job}")).into_response())
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct ImportJobPage {
    job: store::imports::Job,
    errors: Vec<RowError>,
    /// All errors found (the list shows the first of each column).
    error_total: usize,
    omitted: Vec<app::import::Omitted>,
    shown_per_kind: usize,
    running: bool,
    /// No outcome and no sign of life within the lease: the server running it stopped.
    interrupted: bool,
    interrupted_message: &'static str,
    phase: &'static str,
    done: usize,
    total: usize,
    /// The step's size as stored (0: not known yet).
    phase_total: usize,
    percent: usize,
}

pub async fn import_job(
    State(state): State<AppState>,
    staff: Staff,
    Path(job): Path<String>,
) -> WebResult<Response> {
    let (job, errors, omitted) = state.app.import_job(staff.actor(), parse_id(&job)?).await?;
    // The stored outcome decides: it is written with the data (or alone, for a refused or failed
    // file), so a finished job never shows as running. Progress is stored with the job too, so
    // any server sharing the database shows it; a job whose lease has lapsed is interrupted.
    let job_state = app::import::JobState::of(&job, state.app.now());
    let running = matches!(job_state, app::import::JobState::Running(_));
    let interrupted = job_state == app::import::JobState::Interrupted;
    let p = match job_state {
        app::import::JobState::Running(p) => p,
        _ => Default::default(),
    };
    let percent = (p.done * 100).checked_div(p.total).unwrap_or(0);
    let error_total = (job.error_total.max(0) as usize).max(errors.len());
    let page = ImportJobPage {
        job,
        errors,
        error_total,
        omitted,
        shown_per_kind: app::import::MAX_SHOWN_PER_KIND,
        running,
        interrupted,
        interrupted_message: store::imports::INTERRUPTED,
        phase: p.phase.label_zh(),
        done: p.done,
        total: p.total.max(1),
        phase_total: p.total,
        percent,
    };
    Ok(render(StatusCode::OK, &page))
}

// ---------- audit ----------

pub struct AuditRow {
    at: String,
    username: String,
    action: String,
    subject: String,
    detail: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    nav: Option<Nav>,
    entries: Vec<AuditRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct AuditQuery {
    before: Option<i64>,
}

/// The Chinese label of a stored audit action; a code this build does not know (written by a
/// newer or older version) is shown as stored rather than hidden.
fn action_label(code: &str) -> String {
    match domain::AuditAction::from_code(code) {
        Some(action) => action.label_zh().to_string(),
        None => code.to_string(),
    }
}

pub async fn audit(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<AuditQuery>,
) -> WebResult<Response> {
    let reader = staff.actor().audit_reader().ok_or(AppError::Forbidden)?;
    let entries = state.app.audit_log(&reader, q.before).await?;
    let older = (entries.len() == 100)
        .then(|| entries.last().map(|e| e.id))
        .flatten();
    let entries = entries
        .into_iter()
        .map(|e| AuditRow {
            at: app::display_time(&e.at),
            username: e.username,
            action: action_label(&e.action),
            subject: e.subject,
            detail: e.detail,
            ip: e.ip,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &AuditPage {
            nav: Nav::of(&staff),
            entries,
            older,
        },
    ))
}

#[cfg(test)]
mod action_label_tests {
    use super::action_label;

    /// The labels the audit page showed before the actions became an enum, verbatim.
    #[test]
    fn labels_are_unchanged_and_unknown_codes_show_as_stored() {
        let before = [
            ("login", "登录"),
            ("login.failed", "登录失败"),
            ("logout", "退出"),
            ("logout.everywhere", "退出所有登录"),
            ("session.end", "结束登录会话"),
            ("member.reveal", "查看完整证件号"),
            ("member.place_virtual", "划入虚拟村"),
            ("roster.import", "导入花名册"),
            ("user.create", "创建账号"),
            ("demo.load", "载入演示数据"),
            ("year.open", "开启互助年度"),
            ("year.rules", "修改年度规则"),
            ("year.close", "年度结转关闭"),
            ("enrol.household", "登记参保"),
            ("enrol.bulk", "批量参保"),
            ("enrol.reverse", "冲正参保登记"),
            ("fund.receipt", "登记收款"),
            ("fund.receipt_held", "大额到账待复核"),
            ("fund.receipt_confirm", "复核入账"),
            ("fund.receipt_reject", "退回大额到账"),
            ("fund.reward", "计提政府奖补"),
            ("fund.service_fee", "支付服务费"),
            ("design.run", "一键设计"),
            ("design.submit", "提交设计方案"),
            ("design.approve", "批准发布补助标准"),
            ("design.reject", "退回设计方案"),
        ];
        for (code, label) in before {
            assert_eq!(action_label(code), label, "{code}");
        }
        // Actions added since keep their own labels (the enum's own tests check those).
        assert!(before.len() <= domain::AuditAction::ALL.len());
        assert_eq!(action_label("some.future_action"), "some.future_action");
    }
}
