//! The scheme-year page: the year's rules in plain words, live enrolment figures per village
//! and for the pool, dues by payer.

use crate::error::WebResult;
use crate::forms::{percent_text, yuan, yuan_plain};
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::format_permille;
use app::year::Year;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Datelike;
use domain::Fen;

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
