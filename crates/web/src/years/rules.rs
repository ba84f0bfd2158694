//! A scheme year's rules: the form an administrator edits (the money fields, thresholds and
//! caps; the rest stays as the template has it) and the list of rule versions.

use crate::error::{WebError, WebResult};
use crate::forms::{
    parse_date, parse_money, parse_number, parse_opt_money, parse_percent, percent_text, yuan_plain,
};
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::Fen;
use serde::Deserialize;

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
    pub notice_days: String,
    /// A checkbox: "on" when ticked, absent (empty) when not.
    pub notice_shows_drg: String,
    pub shortfall_warning: String,
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
            notice_days: r.notice_days.to_string(),
            notice_shows_drg: if r.notice_shows_drg {
                "on".into()
            } else {
                String::new()
            },
            shortfall_warning: percent_text(r.shortfall_warning_permille),
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
        if !self.notice_days.trim().is_empty() {
            r.notice_days = parse_number("公示天数", &self.notice_days)?;
            if !(7..=60).contains(&r.notice_days) {
                return Err(AppError::Invalid(
                    "“公示天数”应在 7 至 60 天之间（公示时间不少于7天）".into(),
                )
                .into());
            }
        }
        r.notice_shows_drg = self.notice_shows_drg == "on";
        if !self.shortfall_warning.trim().is_empty() {
            r.shortfall_warning_permille = parse_percent("风险预警概率", &self.shortfall_warning)?;
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
