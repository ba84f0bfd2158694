//! What can be wrong with a year's rules. Messages are for the administrator filling in the
//! form, so they name the field in Chinese and show the numbers involved.

use chrono::{Datelike, NaiveDate, Weekday};
use domain::{Fen, SpecialStatus};

use crate::payer::Payer;
use crate::rules::{yuan_text, Balancing, Exclusion, SchemeRules, ServiceFee};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("项目名称不能为空")]
    EmptyName,
    #[error("互助期限的结束日期（{end}）早于开始日期（{start}）")]
    PeriodReversed { start: NaiveDate, end: NaiveDate },
    #[error("互助期限为{days}天，一个互助年度不能超过366天")]
    PeriodTooLong { days: i64 },
    #[error("开始补助日期（{benefits_start}）应在互助期限内")]
    BenefitsStartOutsidePeriod { benefits_start: NaiveDate },
    #[error("缴费期的结束日期（{end}）早于开始日期（{start}）")]
    WindowReversed { start: NaiveDate, end: NaiveDate },
    #[error("缴费期结束日期（{window_end}）晚于互助期限结束日期（{period_end}）")]
    WindowAfterPeriod {
        window_end: NaiveDate,
        period_end: NaiveDate,
    },
    #[error("缴费期开始日期（{window_start}）早于互助期限开始前一年")]
    WindowTooEarly { window_start: NaiveDate },
    #[error("{field}为{}元，超出允许范围（最多{}元）", yuan_text(*amount), yuan_text(*max))]
    AmountTooLarge {
        field: &'static str,
        amount: Fen,
        max: Fen,
    },
    #[error("{field}为{value}，超出允许范围（最多{max}）")]
    NumberTooLarge {
        field: &'static str,
        value: u32,
        max: u32,
    },
    #[error("互助费标准应大于0元")]
    FeeNotPositive,
    #[error("{field}不能为负数")]
    Negative { field: &'static str },
    #[error(
        "个人出资（{}元）+ 村集体（{}元）+ 乡镇（{}元）+ 县级（{}元）= {}元，不等于互助费标准{}元",
        yuan_text(*personal), yuan_text(*village), yuan_text(*town), yuan_text(*county),
        yuan_text(*personal + *village + *town + *county), yuan_text(*fee)
    )]
    SharesDoNotAddUp {
        personal: Fen,
        village: Fen,
        town: Fen,
        county: Fen,
        fee: Fen,
    },
    #[error("个人出资{}元，低于最低个人出资{}元", yuan_text(*personal), yuan_text(*minimum))]
    PersonalBelowMinimum { personal: Fen, minimum: Fen },
    #[error("最低个人出资比例{permille}‰超过100%")]
    MinPersonalShareOver1000 { permille: u32 },
    #[error("村代码“{code}”应为12位数字")]
    BadVillageCode { code: String },
    #[error("乡镇代码“{code}”应为9位数字")]
    BadTownCode { code: String },
    #[error("{place}按调整后的标准，个人出资为{}元，低于最低个人出资{}元", yuan_text(*personal), yuan_text(*minimum))]
    OverrideBelowMinimum {
        place: String,
        personal: Fen,
        minimum: Fen,
    },
    #[error("{place}按调整后的标准，{payer}需出资{}元，不能为负数", yuan_text(*amount))]
    OverrideLeavesNegative {
        place: String,
        payer: Payer,
        amount: Fen,
    },
    #[error("由乡镇兜底差额时，不能再按乡镇调整乡镇出资标准")]
    TownOverridesWithTownBalancing,
    #[error("全额资助的对象类别不能为空")]
    FullSubsidyWithoutStatuses,
    #[error("全额资助个人出资部分的出资方不能是个人")]
    FullSubsidyBorneByPersonal,
    #[error("“{}”同时出现在多条全额资助规则中", status.label_zh())]
    StatusInTwoFullSubsidies { status: SpecialStatus },
    #[error("“{}”既被全额资助，又被列为不得参加", status.label_zh())]
    StatusSubsidisedAndIneligible { status: SpecialStatus },
    #[error("虚拟村的名称不能为空")]
    SpecialVillageWithoutName,
    #[error("虚拟村的对象类别不能为空")]
    SpecialVillageWithoutStatuses,
    #[error("奖励档次应按参保率从低到高排列，且奖励标准不降低（第{index}档）")]
    TiersNotAscending { index: usize },
    #[error("{field}为{permille}‰，不能超过1000‰（100%）")]
    PermilleOver1000 { field: &'static str, permille: u32 },
    #[error("单次最高补助（{}元）低于最低补助（{}元）", yuan_text(*cap), yuan_text(*min))]
    CapBelowMinimum { cap: Fen, min: Fen },
    #[error("年度累计最高补助（{}元）低于单次最高补助（{}元）", yuan_text(*yearly), yuan_text(*per_stay))]
    YearlyCapBelowPerStayCap { yearly: Fen, per_stay: Fen },
    #[error("{field}应大于0元")]
    CapNotPositive { field: &'static str },
    #[error("连续参加的补助提高比例{percent}%不合理（应在0%到100%之间）")]
    LoyaltyBonusTooHigh { percent: u32 },
    #[error("服务费比例{basis_points}个基点超过100%")]
    ServiceFeeOver100 { basis_points: u32 },
    #[error("{date}不能既是节假日又是调休上班日")]
    HolidayAndWorkday { date: NaiveDate },
    #[error("调休上班日{date}不是周六或周日")]
    WorkdayNotWeekend { date: NaiveDate },
    #[error("审核时限应至少为1个工作日")]
    NoDecisionDays,
    #[error("病种分组版本不能为空")]
    EmptyDrgVersion,
    #[error("自定义的不予补助情形不能为空")]
    EmptyExclusion,
}

pub(crate) fn validate(r: &SchemeRules) -> Result<(), Vec<RuleError>> {
    // Sizes first: the arithmetic of the other checks (sums of shares, dues per member) must
    // never meet an amount that could overflow it.
    let mut e = bounds(r);
    if !e.is_empty() {
        return Err(e);
    }
    if r.programme_name.trim().is_empty() {
        e.push(RuleError::EmptyName);
    }
    dates(r, &mut e);
    money(r, &mut e);
    people(r, &mut e);
    claims(r, &mut e);
    deadlines(r, &mut e);
    if e.is_empty() {
        Ok(())
    } else {
        Err(e)
    }
}

/// The largest per-person amount (fee, a payer's share, a reward per person): far above any
/// programme's 50–100 yuan, far below what could overflow a county's sums.
pub const MAX_PER_PERSON: Fen = Fen::from_yuan(10_000);
/// The largest per-stay or per-year amount (thresholds, minimum subsidy, caps, a fixed fee).
pub const MAX_PER_CLAIM: Fen = Fen::from_yuan(10_000_000);

fn bounds(r: &SchemeRules) -> Vec<RuleError> {
    let per_person = [
        ("互助费标准", r.fee_per_person),
        ("个人出资", r.personal_part),
        ("最低个人出资", r.min_personal_part),
        ("村集体出资", r.village_collective_default),
        ("乡镇出资", r.town_per_person),
        ("县级出资", r.county_per_person),
    ]
    .into_iter()
    .chain(
        r.village_collective_overrides
            .values()
            .map(|v| ("村集体出资", *v)),
    )
    .chain(r.town_overrides.values().map(|v| ("乡镇出资", *v)))
    .chain(r.reward_tiers.iter().map(|t| ("奖补标准", t.per_person)));
    let fixed_fee = match r.service_fee {
        ServiceFee::Fixed(f) => Some(f),
        ServiceFee::Percent { .. } => None,
    };
    let per_claim = [
        ("城乡居民医保起付金额", Some(r.thresholds.resident.amount)),
        ("城镇职工医保起付金额", Some(r.thresholds.employee.amount)),
        ("未参保人员起付金额", Some(r.thresholds.uninsured.amount)),
        ("单次最低补助", Some(r.min_subsidy)),
        ("单次最高补助", r.per_stay_cap),
        ("年度累计最高补助", r.yearly_cap),
        ("服务费", fixed_fee),
        ("到账复核金额", Some(r.receipt_review_above)),
    ]
    .into_iter()
    .filter_map(|(f, v)| v.map(|v| (f, v)));
    let mut e: Vec<RuleError> = per_person
        .map(|(f, v)| (f, v, MAX_PER_PERSON))
        .chain(per_claim.map(|(f, v)| (f, v, MAX_PER_CLAIM)))
        .filter(|(_, v, max)| v.fen().unsigned_abs() > max.fen().unsigned_abs())
        .map(|(field, amount, max)| RuleError::AmountTooLarge { field, amount, max })
        .collect();
    for (field, value, max) in [
        ("连续参保上浮比例（%）", r.loyalty_bonus_percent, 100),
        ("审核期限（工作日）", r.decision_working_days, 60),
        ("公示天数", r.notice_days, 90),
        ("最低规模（人）", r.min_pool_size, 10_000_000),
    ] {
        if value > max {
            e.push(RuleError::NumberTooLarge { field, value, max });
        }
    }
    e
}

fn dates(r: &SchemeRules, e: &mut Vec<RuleError>) {
    if r.period_end < r.period_start {
        e.push(RuleError::PeriodReversed {
            start: r.period_start,
            end: r.period_end,
        });
    } else {
        let days = (r.period_end - r.period_start).num_days() + 1;
        if days > 366 {
            e.push(RuleError::PeriodTooLong { days });
        }
        if !r.in_period(r.benefits_start) {
            e.push(RuleError::BenefitsStartOutsidePeriod {
                benefits_start: r.benefits_start,
            });
        }
    }
    if r.payment_window_end < r.payment_window_start {
        e.push(RuleError::WindowReversed {
            start: r.payment_window_start,
            end: r.payment_window_end,
        });
    }
    if r.payment_window_end > r.period_end {
        e.push(RuleError::WindowAfterPeriod {
            window_end: r.payment_window_end,
            period_end: r.period_end,
        });
    }
    if r.payment_window_start < r.period_start - chrono::Days::new(366) {
        e.push(RuleError::WindowTooEarly {
            window_start: r.payment_window_start,
        });
    }
}

fn is_digits(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| b.is_ascii_digit())
}

fn money(r: &SchemeRules, e: &mut Vec<RuleError>) {
    if r.fee_per_person <= Fen::ZERO {
        e.push(RuleError::FeeNotPositive);
    }
    for (field, v) in [
        ("个人出资", r.personal_part),
        ("最低个人出资", r.min_personal_part),
        ("村集体出资", r.village_collective_default),
        ("乡镇出资", r.town_per_person),
        ("县级出资", r.county_per_person),
    ] {
        if v < Fen::ZERO {
            e.push(RuleError::Negative { field });
        }
    }
    if r.min_personal_permille > 1000 {
        e.push(RuleError::MinPersonalShareOver1000 {
            permille: r.min_personal_permille,
        });
    }
    let sum =
        r.personal_part + r.village_collective_default + r.town_per_person + r.county_per_person;
    if sum != r.fee_per_person {
        e.push(RuleError::SharesDoNotAddUp {
            personal: r.personal_part,
            village: r.village_collective_default,
            town: r.town_per_person,
            county: r.county_per_person,
            fee: r.fee_per_person,
        });
    }
    let minimum = min_personal(r);
    if r.personal_part < minimum {
        e.push(RuleError::PersonalBelowMinimum {
            personal: r.personal_part,
            minimum,
        });
    }
    if r.balancing == Balancing::Town && !r.town_overrides.is_empty() {
        e.push(RuleError::TownOverridesWithTownBalancing);
    }
    for (code, v) in &r.village_collective_overrides {
        if !is_digits(code, 12) {
            e.push(RuleError::BadVillageCode { code: code.clone() });
        }
        if *v < Fen::ZERO {
            e.push(RuleError::Negative {
                field: "村集体出资",
            });
        }
    }
    for (code, v) in &r.town_overrides {
        if !is_digits(code, 9) {
            e.push(RuleError::BadTownCode { code: code.clone() });
        }
        if *v < Fen::ZERO {
            e.push(RuleError::Negative {
                field: "乡镇出资"
            });
        }
    }
    // Every place an override reaches: each overridden village (with its town's part), and
    // each overridden town's villages that keep the default collective part.
    let places = r
        .village_collective_overrides
        .keys()
        .map(|v| (format!("村{v}"), r.split_for(v)))
        .chain(r.town_overrides.iter().map(|(t, town)| {
            (
                format!("乡镇{t}"),
                r.split_with(r.village_collective_default, *town),
            )
        }));
    for (place, p) in places {
        let (payer, amount) = match r.balancing {
            Balancing::Personal => (Payer::Personal, p.personal),
            Balancing::Town => (Payer::Town, p.town),
        };
        if amount < 0 {
            e.push(RuleError::OverrideLeavesNegative {
                place,
                payer,
                amount: Fen(amount),
            });
        } else if r.balancing == Balancing::Personal && Fen(amount) < minimum {
            e.push(RuleError::OverrideBelowMinimum {
                place,
                personal: Fen(amount),
                minimum,
            });
        }
    }
    for (i, s) in r.full_subsidies.iter().enumerate() {
        if s.statuses.is_empty() {
            e.push(RuleError::FullSubsidyWithoutStatuses);
        }
        if s.borne_by == Payer::Personal {
            e.push(RuleError::FullSubsidyBorneByPersonal);
        }
        for status in &s.statuses {
            if r.full_subsidies[..i]
                .iter()
                .any(|earlier| earlier.statuses.contains(status))
            {
                e.push(RuleError::StatusInTwoFullSubsidies { status: *status });
            }
            if r.ineligible_statuses.contains(status) {
                e.push(RuleError::StatusSubsidisedAndIneligible { status: *status });
            }
        }
    }
    for (index, t) in r.reward_tiers.iter().enumerate() {
        if t.min_rate_permille > 1000 {
            e.push(RuleError::PermilleOver1000 {
                field: "奖励档次参保率",
                permille: t.min_rate_permille,
            });
        }
        if t.per_person < Fen::ZERO {
            e.push(RuleError::Negative {
                field: "奖励补助标准",
            });
        }
        if index > 0 {
            let prev = r.reward_tiers[index - 1];
            if t.min_rate_permille <= prev.min_rate_permille || t.per_person < prev.per_person {
                e.push(RuleError::TiersNotAscending { index: index + 1 });
            }
        }
    }
    match r.service_fee {
        ServiceFee::Percent { basis_points } if basis_points > 10_000 => {
            e.push(RuleError::ServiceFeeOver100 { basis_points });
        }
        ServiceFee::Fixed(f) if f < Fen::ZERO => e.push(RuleError::Negative { field: "服务费" }),
        _ => {}
    }
}

/// The lowest personal part allowed: the larger of the amount and the share of the fee, the
/// share rounded up so that "at least 50%" of an odd number of fen is really at least half.
pub(crate) fn min_personal(r: &SchemeRules) -> Fen {
    let fee = r.fee_per_person.0.max(0);
    let share = (i128::from(fee) * i128::from(r.min_personal_permille) + 999) / 1000;
    Fen(r
        .min_personal_part
        .0
        .max(i64::try_from(share).unwrap_or(i64::MAX)))
}

fn people(r: &SchemeRules, e: &mut Vec<RuleError>) {
    for (field, permille) in [
        ("村纳入参保率", r.village_threshold_permille),
        ("参与村占比", r.min_village_share_permille),
    ] {
        if permille > 1000 {
            e.push(RuleError::PermilleOver1000 { field, permille });
        }
    }
    if let Some(v) = &r.special_village {
        if v.name.trim().is_empty() {
            e.push(RuleError::SpecialVillageWithoutName);
        }
        if v.statuses.is_empty() {
            e.push(RuleError::SpecialVillageWithoutStatuses);
        }
    }
}

fn claims(r: &SchemeRules, e: &mut Vec<RuleError>) {
    for (field, t) in [
        ("城乡居民医保起付金额", r.thresholds.resident),
        ("城镇职工医保起付金额", r.thresholds.employee),
        ("未参保人员起付金额", r.thresholds.uninsured),
    ] {
        if t.amount < Fen::ZERO {
            e.push(RuleError::Negative { field });
        }
    }
    if r.min_subsidy < Fen::ZERO {
        e.push(RuleError::Negative {
            field: "单次最低补助",
        });
    }
    if let Some(cap) = r.per_stay_cap {
        if cap <= Fen::ZERO {
            e.push(RuleError::CapNotPositive {
                field: "单次最高补助",
            });
        } else if cap < r.min_subsidy {
            e.push(RuleError::CapBelowMinimum {
                cap,
                min: r.min_subsidy,
            });
        }
    }
    if let Some(yearly) = r.yearly_cap {
        if yearly <= Fen::ZERO {
            e.push(RuleError::CapNotPositive {
                field: "年度累计最高补助",
            });
        } else if let Some(per_stay) = r.per_stay_cap {
            if yearly < per_stay {
                e.push(RuleError::YearlyCapBelowPerStayCap { yearly, per_stay });
            }
        }
    }
    if r.loyalty_bonus_percent > 100 {
        e.push(RuleError::LoyaltyBonusTooHigh {
            percent: r.loyalty_bonus_percent,
        });
    }
    if r.exclusions
        .iter()
        .any(|x| matches!(x, Exclusion::Other(label) if label.trim().is_empty()))
    {
        e.push(RuleError::EmptyExclusion);
    }
    if r.drg_version.trim().is_empty() {
        e.push(RuleError::EmptyDrgVersion);
    }
}

fn deadlines(r: &SchemeRules, e: &mut Vec<RuleError>) {
    for date in &r.calendar.adjusted_workdays {
        if r.calendar.holidays.contains(date) {
            e.push(RuleError::HolidayAndWorkday { date: *date });
        }
        if !matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            e.push(RuleError::WorkdayNotWeekend { date: *date });
        }
    }
    if r.decision_working_days == 0 {
        e.push(RuleError::NoDecisionDays);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fee of 92,233,720,368,547,758 yuan used to overflow the sum of shares inside the
    /// check itself; now it is refused by size before any arithmetic.
    #[test]
    fn absurd_amounts_are_refused_before_any_arithmetic() {
        let mut r = crate::template("yiyuan-dazhangzhuang", 2026).unwrap().rules;
        r.fee_per_person = Fen(i64::MAX / 100 * 100);
        r.personal_part = Fen(i64::MAX / 100 * 100);
        r.min_subsidy = Fen(i64::MAX);
        let errors = r.validate().unwrap_err();
        assert!(errors.len() >= 3, "{errors:?}");
        assert!(errors
            .iter()
            .all(|e| matches!(e, RuleError::AmountTooLarge { .. })));
        assert!(errors[0].to_string().contains("超出允许范围"));
    }

    #[test]
    fn every_template_is_within_bounds() {
        for key in crate::TEMPLATE_KEYS {
            let r = crate::template(key, 2026).unwrap().rules;
            assert!(bounds(&r).is_empty(), "{key}");
        }
    }
}
