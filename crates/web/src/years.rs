//! Scheme-year pages: opening a year from a template, its rules and versions, live enrolment
//! figures, enrolling households, receipts and reversals.

use crate::error::{WebError, WebResult};
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::enrol::{EnrolHousehold, LeaveOut, PaymentMethod};
use app::year::Year;
use app::{format_permille, AppError};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use chrono::{Datelike, NaiveDate};
use domain::Fen;
use serde::Deserialize;
use std::collections::HashMap;

/// Money for display: "1,234.50".
pub(crate) fn yuan(f: i64) -> String {
    Fen(f).to_string()
}

/// Money a person typed: yuan with at most two decimals, never above `Fen::MAX_TYPED`.
pub(crate) fn parse_money(field: &str, s: &str) -> WebResult<Fen> {
    Fen::parse_typed_yuan(s).map_err(|e| {
        WebError::App(AppError::Invalid(match e {
            domain::money::MoneyError::Overflow => {
                format!("“{field}”超出允许范围（最多 {} 元）", Fen::MAX_TYPED)
            }
            domain::money::MoneyError::Format(_) => {
                format!("“{field}”应为金额（元），例如 50 或 12.50")
            }
        }))
    })
}

fn parse_opt_money(field: &str, s: &str) -> WebResult<Option<Fen>> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_money(field, s).map(Some)
    }
}

pub(crate) fn parse_date(field: &str, s: &str) -> WebResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        WebError::App(AppError::Invalid(format!(
            "“{field}”应为日期，格式如 2025-01-31"
        )))
    })
}

fn parse_number(field: &str, s: &str) -> WebResult<u32> {
    s.trim()
        .parse()
        .map_err(|_| WebError::App(AppError::Invalid(format!("“{field}”应为整数"))))
}

/// Per mille from a percentage typed by a person: "80" → 800, "2.5" → 25.
fn parse_percent(field: &str, s: &str) -> WebResult<u32> {
    let f = Fen::parse_typed_yuan(s)
        .ok()
        .filter(|f| f.fen() >= 0 && f.fen() % 10 == 0 && f.fen() <= 100_000)
        .ok_or_else(|| {
            WebError::App(AppError::Invalid(format!(
                "“{field}”应为百分比数字，最多一位小数，例如 80 或 2.5"
            )))
        })?;
    Ok((f.fen() / 10) as u32)
}

fn percent_text(permille: u32) -> String {
    if permille.is_multiple_of(10) {
        (permille / 10).to_string()
    } else {
        format!("{}.{}", permille / 10, permille % 10)
    }
}

/// Yuan as typed in a form: "50", "12.5".
fn yuan_plain(f: Fen) -> String {
    let s = format!("{}.{:02}", f.fen() / 100, (f.fen() % 100).abs());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

// ---------- list and open ----------

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

// ---------- overview ----------

pub struct VillageLine {
    pub code: String,
    pub name: String,
    pub registered: u64,
    pub enrolled: u64,
    pub rate: String,
    pub counted: bool,
    pub special: bool,
    pub dues: String,
}

pub struct PayerLine {
    pub label: &'static str,
    pub amount: String,
}

pub struct RuleFact {
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "year.html")]
struct YearPage {
    nav: Option<Nav>,
    year: Year,
    villages: Vec<VillageLine>,
    registered: u64,
    enrolled: u64,
    rate: String,
    meets_min_size: bool,
    reward_per_person: String,
    reward_total: String,
    payers: Vec<PayerLine>,
    total_due: String,
    facts: Vec<RuleFact>,
    in_window: bool,
    can_manage: bool,
    can_read_fund: bool,
    has_table: bool,
    missing_calendar_years: Vec<i32>,
}

pub(crate) fn rule_facts(r: &scheme::SchemeRules) -> Vec<RuleFact> {
    let cap = |c: Option<Fen>| {
        c.map(|f| format!("{f} 元"))
            .unwrap_or_else(|| "不封顶".into())
    };
    let tiers = r
        .reward_tiers
        .iter()
        .map(|t| {
            format!(
                "≥{}%：{} 元/人",
                percent_text(t.min_rate_permille),
                yuan_plain(t.per_person)
            )
        })
        .collect::<Vec<_>>()
        .join("；");
    vec![
        RuleFact {
            label: "项目名称",
            value: r.programme_name.clone(),
        },
        RuleFact {
            label: "统筹层级",
            value: r.pool_level.label_zh().to_string(),
        },
        RuleFact {
            label: "互助期限",
            value: format!("{} 至 {}", r.period_start, r.period_end),
        },
        RuleFact {
            label: "缴费期",
            value: format!("{} 至 {}", r.payment_window_start, r.payment_window_end),
        },
        RuleFact {
            label: "互助费标准",
            value: format!(
                "{} 元/人（个人 {}，村集体 {}，乡镇 {}，县级 {}）",
                yuan_plain(r.fee_per_person),
                yuan_plain(r.personal_part),
                yuan_plain(r.village_collective_default),
                yuan_plain(r.town_per_person),
                yuan_plain(r.county_per_person)
            ),
        },
        RuleFact {
            label: "全额资助",
            value: if r.full_subsidies.is_empty() {
                "无".into()
            } else {
                r.full_subsidies
                    .iter()
                    .map(|s| {
                        format!(
                            "{}：个人部分由{}全额承担",
                            s.statuses
                                .iter()
                                .map(|x| x.label_zh())
                                .collect::<Vec<_>>()
                                .join("、"),
                            s.borne_by.label_zh()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("；")
            },
        },
        RuleFact {
            label: "奖励补助",
            value: if tiers.is_empty() {
                "无".into()
            } else {
                tiers
            },
        },
        RuleFact {
            label: "村参保门槛",
            value: format!(
                "{}%（户籍人口）",
                percent_text(r.village_threshold_permille)
            ),
        },
        RuleFact {
            label: "最低规模",
            value: format!("{} 人", r.min_pool_size),
        },
        RuleFact {
            label: "起付标准",
            value: format!(
                "居民医保 {}；职工医保 {}；未参保 {}",
                r.thresholds.resident.label_zh(),
                r.thresholds.employee.label_zh(),
                r.thresholds.uninsured.label_zh()
            ),
        },
        RuleFact {
            label: "最低补助",
            value: format!("{} 元/次", r.min_subsidy),
        },
        RuleFact {
            label: "单次上限",
            value: cap(r.per_stay_cap),
        },
        RuleFact {
            label: "年度上限",
            value: cap(r.yearly_cap),
        },
        RuleFact {
            label: "连续参保",
            value: if r.loyalty_bonus_percent == 0 {
                "无".into()
            } else {
                format!("第二年起补助上浮 {}%", r.loyalty_bonus_percent)
            },
        },
        RuleFact {
            label: "除外情形",
            value: r
                .exclusions
                .iter()
                .map(|e| e.label_zh().to_string())
                .collect::<Vec<_>>()
                .join("、"),
        },
        RuleFact {
            label: "服务费",
            value: match r.service_fee {
                scheme::ServiceFee::Percent { basis_points } => {
                    format!(
                        "筹资总额的 {}.{:02}%",
                        basis_points / 100,
                        basis_points % 100
                    )
                }
                scheme::ServiceFee::Fixed(f) => format!("每年 {f} 元"),
            },
        },
        RuleFact {
            label: "审核时限",
            value: format!("{} 个工作日", r.decision_working_days),
        },
        RuleFact {
            label: "公示期",
            value: format!("{} 天", r.notice_days),
        },
        RuleFact {
            label: "DRG版本",
            value: r.drg_version.clone(),
        },
    ]
}

pub async fn year(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let figures = state.app.year_figures(a, id).await?;
    let villages = figures
        .visible_villages()
        .map(|v| {
            let rec = figures.recorded.get(&v.code).cloned().unwrap_or_default();
            VillageLine {
                code: v.code.clone(),
                name: v.name.clone(),
                registered: v.registered,
                enrolled: v.enrolled,
                rate: format_permille(v.rate_permille),
                counted: v.counted,
                special: v.special,
                dues: yuan(rec.due_personal + rec.due_village + rec.due_town + rec.due_county),
            }
        })
        .collect();
    let p = &figures.pool;
    let payers = p
        .dues_by_payer
        .iter()
        .map(|(payer, f)| PayerLine {
            label: payer.label_zh(),
            amount: f.to_string(),
        })
        .collect();
    let has_table = state.app.current_table(a, id).await?.is_some();
    let in_window = year.is_open() && year.rules.in_payment_window(state.app.today());
    Ok(render(
        StatusCode::OK,
        &YearPage {
            nav: Nav::of(&staff),
            facts: rule_facts(&year.rules),
            villages,
            registered: p.registered,
            enrolled: p.enrolled,
            rate: format_permille(p.rate_permille),
            meets_min_size: p.meets_min_size,
            reward_per_person: p.reward_per_person.to_string(),
            reward_total: p.reward_total.to_string(),
            payers,
            total_due: p.total_due.to_string(),
            in_window,
            can_manage: a.scheme_manager().is_some() && a.scope().contains(&year.row.pool_code),
            can_read_fund: a.fund_reader().is_some(),
            has_table,
            missing_calendar_years: (year.rules.period_start.year()
                ..=year.rules.period_end.year() + 1)
                .filter(|y| !year.rules.calendar.has_year(*y))
                .collect(),
            year,
        },
    ))
}

// ---------- rules ----------

pub struct VersionLine {
    pub version: i64,
    pub by: String,
    pub at: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "year_rules.html")]
struct RulesPage {
    nav: Option<Nav>,
    year: Year,
    form: RulesForm,
    versions: Vec<VersionLine>,
    can_edit: bool,
    error: Option<String>,
}

/// The money fields an administrator edits most; everything else stays as the template has it.
#[derive(Deserialize, Clone, Default)]
#[serde(default)]
pub struct RulesForm {
    csrf: String,
    pub programme_name: String,
    pub fee: String,
    pub personal: String,
    pub village: String,
    pub town: String,
    pub county: String,
    pub window_start: String,
    pub window_end: String,
    pub village_threshold: String,
    pub min_pool_size: String,
    pub tiers: String,
    pub resident_threshold: String,
    pub employee_threshold: String,
    pub uninsured_threshold: String,
    pub min_subsidy: String,
    pub per_stay_cap: String,
    pub yearly_cap: String,
    pub loyalty: String,
    /// "3%" (of the money raised) or "20000" (yuan a year).
    pub service_fee: String,
    /// Receipts above this need a second manager.
    pub review_above: String,
    pub reason: String,
}

impl RulesForm {
    fn of(r: &scheme::SchemeRules) -> RulesForm {
        let cap = |c: Option<Fen>| c.map(yuan_plain).unwrap_or_default();
        RulesForm {
            csrf: String::new(),
            programme_name: r.programme_name.clone(),
            fee: yuan_plain(r.fee_per_person),
            personal: yuan_plain(r.personal_part),
            village: yuan_plain(r.village_collective_default),
            town: yuan_plain(r.town_per_person),
            county: yuan_plain(r.county_per_person),
            window_start: r.payment_window_start.to_string(),
            window_end: r.payment_window_end.to_string(),
            village_threshold: percent_text(r.village_threshold_permille),
            min_pool_size: r.min_pool_size.to_string(),
            tiers: r
                .reward_tiers
                .iter()
                .map(|t| {
                    format!(
                        "{}:{}",
                        percent_text(t.min_rate_permille),
                        yuan_plain(t.per_person)
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            resident_threshold: yuan_plain(r.thresholds.resident.amount),
            employee_threshold: yuan_plain(r.thresholds.employee.amount),
            uninsured_threshold: yuan_plain(r.thresholds.uninsured.amount),
            min_subsidy: yuan_plain(r.min_subsidy),
            per_stay_cap: cap(r.per_stay_cap),
            yearly_cap: cap(r.yearly_cap),
            loyalty: r.loyalty_bonus_percent.to_string(),
            service_fee: match r.service_fee {
                scheme::ServiceFee::Percent { basis_points } => {
                    format!("{}%", yuan_plain(Fen(basis_points as i64)))
                }
                scheme::ServiceFee::Fixed(f) => yuan_plain(f),
            },
            review_above: yuan_plain(r.receipt_review_above),
            reason: String::new(),
        }
    }

    /// The year's rules with this form's values.
    fn apply(&self, base: &scheme::SchemeRules) -> WebResult<scheme::SchemeRules> {
        let mut r = base.clone();
        r.programme_name = domain::Line::parse(&self.programme_name, 60)
            .map_err(|e| AppError::Invalid(format!("“项目名称”{e}")))?
            .into_string();
        if let Some(v) = parse_opt_money("大额到账复核金额", &self.review_above)? {
            r.receipt_review_above = v;
        }
        r.fee_per_person = parse_money("互助费标准", &self.fee)?;
        r.personal_part = parse_money("个人出资", &self.personal)?;
        r.village_collective_default = parse_money("村集体出资", &self.village)?;
        r.town_per_person = parse_money("乡镇出资", &self.town)?;
        r.county_per_person = parse_money("县级出资", &self.county)?;
        r.payment_window_start = parse_date("缴费开始日期", &self.window_start)?;
        r.payment_window_end = parse_date("缴费截止日期", &self.window_end)?;
        r.village_threshold_permille = parse_percent("村参保门槛", &self.village_threshold)?;
        r.min_pool_size = parse_number("最低规模", &self.min_pool_size)?;
        let mut tiers = Vec::new();
        for part in self
            .tiers
            .split([',', '，', ';', '；'])
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let (rate, amount) = part.split_once([':', '：']).ok_or_else(|| {
                AppError::Invalid(format!("奖励档次“{part}”应写成“参保率%:元/人”，例如 20:10"))
            })?;
            tiers.push(scheme::RewardTier {
                min_rate_permille: parse_percent("奖励档次参保率", rate)?,
                per_person: parse_money("奖励档次金额", amount)?,
            });
        }
        r.reward_tiers = tiers;
        r.thresholds.resident.amount = parse_money("居民医保起付标准", &self.resident_threshold)?;
        r.thresholds.employee.amount = parse_money("职工医保起付标准", &self.employee_threshold)?;
        r.thresholds.uninsured.amount = parse_money("未参保起付标准", &self.uninsured_threshold)?;
        r.min_subsidy = parse_money("最低补助", &self.min_subsidy)?;
        r.per_stay_cap = parse_opt_money("单次上限", &self.per_stay_cap)?;
        r.yearly_cap = parse_opt_money("年度上限", &self.yearly_cap)?;
        r.loyalty_bonus_percent = parse_number("连续参保上浮比例", &self.loyalty)?;
        let fee = self.service_fee.trim();
        r.service_fee = match fee.strip_suffix(['%', '％']) {
            // Basis points read like fen: "2.5%" is 250.
            Some(p) => scheme::ServiceFee::Percent {
                basis_points: parse_money("服务费比例", p)?
                    .fen()
                    .try_into()
                    .map_err(|_| AppError::Invalid("“服务费比例”不能为负数".into()))?,
            },
            None if fee.is_empty() => scheme::ServiceFee::Fixed(Fen(0)),
            None => scheme::ServiceFee::Fixed(parse_money("服务费（元/年）", fee)?),
        };
        Ok(r)
    }
}

async fn rules_page(
    state: &AppState,
    staff: &Staff,
    id: i64,
    form: Option<RulesForm>,
    status: StatusCode,
    error: Option<String>,
) -> WebResult<Response> {
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let versions = state
        .app
        .year_versions(a, id)
        .await?
        .into_iter()
        .map(|v| VersionLine {
            version: v.version,
            by: v.changed_by,
            at: app::display_time(&v.changed_at),
            reason: v.reason,
        })
        .collect();
    let form = form.unwrap_or_else(|| RulesForm::of(&year.rules));
    let can_edit =
        year.is_open() && a.scheme_manager().is_some() && a.scope().contains(&year.row.pool_code);
    Ok(render(
        status,
        &RulesPage {
            nav: Nav::of(staff),
            year,
            form,
            versions,
            can_edit,
            error,
        },
    ))
}

pub async fn rules(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    rules_page(&state, &staff, id, None, StatusCode::OK, None).await
}

pub async fn change_rules(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<RulesForm>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    let year = state.app.year(staff.actor(), id).await?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let outcome = match f.apply(&year.rules) {
        Ok(rules) => state
            .app
            .change_rules(&mgr, staff.actor(), id, rules, &f.reason)
            .await
            .map_err(WebError::App),
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/years/{id}/rules")).into_response()),
        Err(WebError::App(AppError::Invalid(m))) => {
            rules_page(
                &state,
                &staff,
                id,
                Some(f),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(m),
            )
            .await
        }
        Err(e) => Err(e),
    }
}

// ---------- enrolment ----------

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

// ---------- bulk enrolment from a spreadsheet ----------

#[derive(Template)]
#[template(path = "enrol_import.html")]
struct EnrolImportPage {
    nav: Option<Nav>,
    year: Year,
    error: Option<String>,
}

pub async fn enrol_import_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let year = state.app.year(staff.actor(), id).await?;
    staff.actor().enroller().ok_or(AppError::Forbidden)?;
    Ok(render(
        StatusCode::OK,
        &EnrolImportPage {
            nav: Nav::of(&staff),
            year,
            error: None,
        },
    ))
}

pub async fn enrol_template(staff: Staff) -> WebResult<Response> {
    staff.actor().enroller().ok_or(AppError::Forbidden)?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"enrolment-template.xlsx\"",
            ),
        ],
        app::enrol_import::enrolment_template_xlsx(),
    )
        .into_response())
}

/// The whole file is checked and enrolled in one transaction: all households or none, with
/// every problem listed by row.
pub async fn enrol_import(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    // The year first, the body after: outside the area the answer is 404 whatever was sent.
    let year = state.app.year(staff.actor(), id).await?;
    let w = staff.actor().enroller().ok_or(AppError::Forbidden)?;
    use axum::extract::FromRequest;
    let mut form = axum::extract::Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::Invalid("请通过页面上的表单上传 .xlsx 文件".into()))?;
    let mut csrf = String::new();
    let mut file: Option<Vec<u8>> = None;
    let broken = |_| WebError::BadRequest("上传中断或文件过大，请重试".into());
    while let Some(field) = form.next_field().await.map_err(broken)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(broken)?,
            Some("file") => file = Some(field.bytes().await.map_err(broken)?.to_vec()),
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let page = EnrolImportPage {
            nav: Nav::of(&staff),
            year,
            error: Some("请选择要上传的参保登记表（.xlsx）".into()),
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let outcome = state
        .app
        .enrol_from_xlsx(&w, staff.actor(), id, &bytes)
        .await?;
    Ok(bulk_result(&staff, id, "批量参保结果", outcome))
}
