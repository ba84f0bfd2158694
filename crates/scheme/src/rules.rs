//! One scheme year's rules, and the per-member arithmetic that only needs the rules.

use std::collections::BTreeMap;

use chrono::{Days, Months, NaiveDate};
use domain::{Fen, InsuranceType, SpecialStatus};

use crate::calendar::{china_calendar, WorkCalendar};
use crate::error::RuleError;
use crate::payer::{Payer, PoolLevel};

/// The rules of one scheme year, as stored (JSON) with each version of the year.
///
/// Per-person shares: for a member of village `v` in town `t`, the village collective pays
/// `village_collective_overrides[v]` (or the default), the town `town_overrides[t]` (or
/// `town_per_person`), the county `county_per_person`; whoever [`balancing`](Self::balancing)
/// names takes up whatever an override changes, so the shares always add up to the fee.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SchemeRules {
    pub programme_name: String,
    pub pool_level: PoolLevel,
    /// First and last day (inclusive) on which an admission is covered.
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    /// First day on which subsidies are decided and paid. It can be later than `period_start`:
    /// 沂源 covers admissions from 1 January but starts paying on 1 July, once the money is in.
    pub benefits_start: NaiveDate,
    pub fee_per_person: Fen,
    /// What a member pays in a village without overrides (and in every village when the town
    /// balances).
    pub personal_part: Fen,
    /// The lowest personal part an override may leave: the larger of this amount and
    /// `min_personal_permille` of the fee (安吉: ≥30 yuan; 苏州: ≥50% of the fee).
    pub min_personal_part: Fen,
    pub min_personal_permille: u32,
    pub village_collective_default: Fen,
    /// 12-digit village code → the village collective's part per person.
    pub village_collective_overrides: BTreeMap<String, Fen>,
    pub town_per_person: Fen,
    /// 9-digit town code → the town's part per person, for county pools whose towns decide their
    /// own share (安吉). Only allowed when the personal part balances.
    pub town_overrides: BTreeMap<String, Fen>,
    pub county_per_person: Fen,
    pub balancing: Balancing,
    pub full_subsidies: Vec<FullSubsidy>,
    /// Statuses whose holders may not enrol (海安: the six groups of poor people covered by the
    /// city's supplementary insurance). They are left out of their household with that reason.
    pub ineligible_statuses: Vec<SpecialStatus>,
    /// A virtual village for members with these statuses instead of their own (沂源 "幸福社区").
    pub special_village: Option<SpecialVillage>,
    /// Ascending by rate; the highest tier reached applies.
    pub reward_tiers: Vec<RewardTier>,
    /// A village joins the pool only at this participation rate (‰, floor); 0 = no threshold.
    pub village_threshold_permille: u32,
    pub village_threshold_basis: ThresholdBasis,
    /// Whether a village below the threshold is left out of the pool (沂源 "不足80%的村，不予纳入")
    /// or stays in with the shortfall only reported (安吉, 海安: targets to be met, no exclusion).
    pub below_threshold_excluded: bool,
    /// Minimum share of the pool's villages that must take part (‰; 海安 50%); 0 = none.
    pub min_village_share_permille: u32,
    /// Minimum number of enrolled members in the pool; 0 = none.
    pub min_pool_size: u32,
    /// Days (inclusive) on which fees are accepted; none are accepted afterwards.
    pub payment_window_start: NaiveDate,
    pub payment_window_end: NaiveDate,
    pub thresholds: ClaimThresholds,
    pub min_subsidy: Fen,
    pub per_stay_cap: Option<Fen>,
    pub yearly_cap: Option<Fen>,
    /// Extra subsidy, in per cent, for members in their second or later consecutive year.
    pub loyalty_bonus_percent: u32,
    pub exclusions: Vec<Exclusion>,
    pub service_fee: ServiceFee,
    pub calendar: WorkCalendar,
    pub decision_working_days: u32,
    /// Calendar days a payout list stays on public notice before the money is sent.
    pub notice_days: u32,
    /// The DRG grouper version subsidies are designed and decided with (`chs-drg-2.0`, `chs-drg-1.1`).
    pub drg_version: String,
    /// A single receipt (donation, interest, transfer, opening balance) above this is posted
    /// only once a second manager confirms it: one person's slip of the finger must not reach
    /// the append-only ledger unseen.
    #[serde(default = "default_receipt_review_above")]
    pub receipt_review_above: Fen,
    /// Whether the monthly payout notice names each line's DRG. Showing a disease in public is
    /// a choice the programme must make on purpose (PIPL: health data is sensitive): off unless
    /// the rules say so.
    #[serde(default)]
    pub notice_shows_drg: bool,
    /// The probability of a shortfall (‰) from which town and county admins are warned
    /// (苏州 第十六条 风险预警).
    #[serde(default = "default_shortfall_warning_permille")]
    pub shortfall_warning_permille: u32,
}

/// 10%: a one-in-ten chance that the year's money does not cover its subsidies.
pub fn default_shortfall_warning_permille() -> u32 {
    100
}

/// 10万元: above a village's or a town's ordinary receipts, below a county's yearly transfer.
pub fn default_receipt_review_above() -> Fen {
    Fen::from_yuan(100_000)
}

/// Who absorbs the difference when an override changes a village's or town's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Balancing {
    /// The member pays the rest (沂源, 安吉, 苏州: the collective subsidises the personal part).
    Personal,
    /// The member's part is fixed and the town makes up the rest (大丰: "镇、村按照20元",
    /// 海安: "不足部分由镇村托底").
    Town,
}

/// The personal part paid in full for holders of any of `statuses`, by `borne_by`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FullSubsidy {
    pub statuses: Vec<SpecialStatus>,
    pub borne_by: Payer,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SpecialVillage {
    pub name: String,
    pub statuses: Vec<SpecialStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RewardTier {
    pub min_rate_permille: u32,
    pub per_person: Fen,
}

/// What the village participation rate counts: people (沂源 "整户参加人数…户籍人口数80%") or
/// households (海安 "试点村农户参与率不低于30%").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdBasis {
    Persons,
    Households,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimThresholds {
    pub resident: ClaimThreshold,
    pub employee: ClaimThreshold,
    pub uninsured: ClaimThreshold,
}

/// A stay qualifies when the amount on `basis` reaches `amount`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimThreshold {
    pub basis: CostBasis,
    pub amount: Fen,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostBasis {
    /// 个人支付金额: what the member paid after basic insurance.
    OutOfPocket,
    /// 住院总费用 (沂源's rule for the uninsured). For an uninsured member nothing is reimbursed,
    /// so total cost and out-of-pocket coincide and the actuarial design can treat it as an
    /// out-of-pocket threshold.
    TotalCost,
}

impl ClaimThreshold {
    pub const fn out_of_pocket(yuan: i64) -> Self {
        ClaimThreshold {
            basis: CostBasis::OutOfPocket,
            amount: Fen::from_yuan(yuan),
        }
    }
    pub const fn total_cost(yuan: i64) -> Self {
        ClaimThreshold {
            basis: CostBasis::TotalCost,
            amount: Fen::from_yuan(yuan),
        }
    }
    /// Inclusive, as every document writes "≥".
    pub fn is_met(self, total_cost: Fen, out_of_pocket: Fen) -> bool {
        let v = match self.basis {
            CostBasis::OutOfPocket => out_of_pocket,
            CostBasis::TotalCost => total_cost,
        };
        v >= self.amount
    }
    pub fn label_zh(self) -> String {
        let what = match self.basis {
            CostBasis::OutOfPocket => "单次住院个人支付金额",
            CostBasis::TotalCost => "单次住院总费用",
        };
        format!("{what}≥{}元", yuan_text(self.amount))
    }
}

impl ClaimThresholds {
    pub fn get(&self, insurance: InsuranceType) -> ClaimThreshold {
        match insurance {
            InsuranceType::Resident => self.resident,
            InsuranceType::Employee => self.employee,
            InsuranceType::Uninsured => self.uninsured,
        }
    }
}

/// Why a stay is not subsidised. The list in each document is the same in substance: what basic
/// insurance does not pay for, plus treatment abroad.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    NotInpatient,
    CheckupOrCosmetic,
    WorkInjury,
    Crime,
    ThirdParty,
    NonDesignatedHospital,
    Abroad,
    /// A local addition, in the words of the village assembly's decision.
    Other(String),
}

impl Exclusion {
    /// The exclusions common to all five documents, in their order.
    pub const STANDARD: [Exclusion; 7] = [
        Exclusion::NotInpatient,
        Exclusion::CheckupOrCosmetic,
        Exclusion::WorkInjury,
        Exclusion::Crime,
        Exclusion::ThirdParty,
        Exclusion::NonDesignatedHospital,
        Exclusion::Abroad,
    ];

    pub fn code(&self) -> &str {
        match self {
            Self::NotInpatient => "not_inpatient",
            Self::CheckupOrCosmetic => "checkup_or_cosmetic",
            Self::WorkInjury => "work_injury",
            Self::Crime => "crime",
            Self::ThirdParty => "third_party",
            Self::NonDesignatedHospital => "non_designated_hospital",
            Self::Abroad => "abroad",
            Self::Other(_) => "other",
        }
    }

    pub fn label_zh(&self) -> &str {
        match self {
            Self::NotInpatient => "非住院治疗",
            Self::CheckupOrCosmetic => "健康体检、美容、整形等非疾病住院",
            Self::WorkInjury => "工伤导致的住院",
            Self::Crime => "违法犯罪导致的伤害住院",
            Self::ThirdParty => "第三方全责导致的意外伤害住院",
            Self::NonDesignatedHospital => "在未列入医保定点的医院住院",
            Self::Abroad => "在国外和港澳台地区医院住院",
            Self::Other(label) => label,
        }
    }

    /// The code of a standard exclusion; `Other` has no code of its own.
    pub fn from_code(s: &str) -> Option<Self> {
        Self::STANDARD.into_iter().find(|e| e.code() == s)
    }
}

/// The service provider's fee, paid from the fund (every document allows this; none names the
/// amount, which comes from the service agreement).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceFee {
    /// A share of the year's income, in basis points (500 = 5%).
    Percent { basis_points: u32 },
    /// A fixed amount for the year.
    Fixed(Fen),
}

/// Who pays what for one enrolled member. Parts are non-zero, one per payer, in [`Payer`]
/// order, and add up to the fee.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemberDues {
    pub parts: Vec<(Payer, Fen)>,
    /// Set when a full subsidy moved the personal part to another payer.
    pub personal_part_paid_by: Option<Payer>,
}

impl MemberDues {
    pub fn total(&self) -> Fen {
        self.parts.iter().map(|(_, f)| *f).sum()
    }
    pub fn of(&self, payer: Payer) -> Fen {
        self.parts
            .iter()
            .find(|(p, _)| *p == payer)
            .map_or(Fen::ZERO, |(_, f)| *f)
    }
    /// What the member hands over at enrolment (and what the receipt shows).
    pub fn personal(&self) -> Fen {
        self.of(Payer::Personal)
    }
}

/// The per-person split of the fee before any full subsidy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Split {
    pub personal: i64,
    pub village: i64,
    pub town: i64,
    pub county: i64,
}

impl SchemeRules {
    /// Every problem at once, so an administrator can fix a form in one pass.
    pub fn validate(&self) -> Result<(), Vec<RuleError>> {
        crate::error::validate(self)
    }

    /// True if the two versions could lead to a different sum of money anywhere: dues, rewards,
    /// who is in the pool, which stays qualify, how much they get, the fee window, the service
    /// fee. Only the programme's name and the deadline rules (working-day calendar, decision
    /// days, notice days) are free to change without a new version, because they move dates,
    /// never amounts. New fields count as money until listed here, which errs on the safe side.
    pub fn money_fields_differ(&self, other: &SchemeRules) -> bool {
        fn strip(r: &SchemeRules) -> SchemeRules {
            SchemeRules {
                programme_name: String::new(),
                calendar: WorkCalendar::default(),
                decision_working_days: 0,
                notice_days: 0,
                ..r.clone()
            }
        }
        strip(self) != strip(other)
    }

    fn village_part(&self, village: &str) -> Fen {
        self.village_collective_overrides
            .get(village)
            .copied()
            .unwrap_or(self.village_collective_default)
    }

    fn town_part(&self, village: &str) -> Fen {
        village
            .get(..9)
            .and_then(|t| self.town_overrides.get(t))
            .copied()
            .unwrap_or(self.town_per_person)
    }

    pub(crate) fn split_for(&self, village: &str) -> Split {
        self.split_with(self.village_part(village), self.town_part(village))
    }

    /// The parts once the village's and town's shares are known: the balancing payer's share is
    /// whatever is left of the fee.
    pub(crate) fn split_with(&self, village: Fen, town: Fen) -> Split {
        let (fee, county) = (self.fee_per_person.0, self.county_per_person.0);
        match self.balancing {
            Balancing::Personal => Split {
                personal: fee - village.0 - town.0 - county,
                village: village.0,
                town: town.0,
                county,
            },
            Balancing::Town => {
                let personal = self.personal_part.0;
                Split {
                    personal,
                    village: village.0,
                    town: fee - personal - village.0 - county,
                    county,
                }
            }
        }
    }

    /// The full subsidy that applies to a member with these statuses: the first in the list that
    /// names any of them.
    pub fn full_subsidy_for(&self, statuses: &[SpecialStatus]) -> Option<&FullSubsidy> {
        self.full_subsidies
            .iter()
            .find(|s| s.statuses.iter().any(|x| statuses.contains(x)))
    }

    /// The status that keeps a member out of the scheme, if any.
    pub fn ineligible_status(&self, statuses: &[SpecialStatus]) -> Option<SpecialStatus> {
        statuses
            .iter()
            .copied()
            .find(|s| self.ineligible_statuses.contains(s))
    }

    /// Whether a member belongs in the special village (沂源 幸福社区) rather than their own.
    pub fn in_special_village(&self, statuses: &[SpecialStatus]) -> bool {
        self.special_village
            .as_ref()
            .is_some_and(|v| v.statuses.iter().any(|s| statuses.contains(s)))
    }

    /// `village` is the member's 12-digit village code (its first 9 digits name the town). For a
    /// member of the special village pass that village's code; it has no overrides of its own
    /// unless the administrator gave it some. Eligibility is not checked here
    /// ([`ineligible_status`](Self::ineligible_status) is).
    pub fn dues_for_member(&self, village: &str, statuses: &[SpecialStatus]) -> MemberDues {
        let p = self.split_for(village);
        let subsidy = self.full_subsidy_for(statuses);
        let personal_payer = subsidy.map_or(Payer::Personal, |s| s.borne_by);
        let mut by_payer: BTreeMap<Payer, i64> = BTreeMap::new();
        for (payer, amount) in [
            (personal_payer, p.personal),
            (Payer::VillageCollective, p.village),
            (Payer::Town, p.town),
            (Payer::County, p.county),
        ] {
            *by_payer.entry(payer).or_default() += amount;
        }
        MemberDues {
            parts: by_payer
                .into_iter()
                .filter(|(_, f)| *f != 0)
                .map(|(p, f)| (p, Fen(f)))
                .collect(),
            personal_part_paid_by: subsidy.map(|s| s.borne_by),
        }
    }

    /// The reward per enrolled person for the pool's final participation rate: the highest tier
    /// reached, nothing below the first.
    pub fn reward_per_person(&self, rate_permille: u32) -> Fen {
        self.reward_tiers
            .iter()
            .filter(|t| rate_permille >= t.min_rate_permille)
            .map(|t| t.per_person)
            .max()
            .unwrap_or(Fen::ZERO)
    }

    pub fn claim_threshold(&self, insurance: InsuranceType) -> ClaimThreshold {
        self.thresholds.get(insurance)
    }

    /// Percentages round half away from zero to the fen.
    pub fn service_fee_on(&self, income: Fen) -> Fen {
        match self.service_fee {
            ServiceFee::Percent { basis_points } => {
                income.mul_ratio(i64::from(basis_points), 10_000)
            }
            ServiceFee::Fixed(f) => f,
        }
    }

    pub fn in_payment_window(&self, d: NaiveDate) -> bool {
        self.payment_window_start <= d && d <= self.payment_window_end
    }

    pub fn in_period(&self, admission: NaiveDate) -> bool {
        self.period_start <= admission && admission <= self.period_end
    }

    /// The day a claim received on `received` must be decided by.
    pub fn decision_due(&self, received: NaiveDate) -> NaiveDate {
        self.calendar
            .add_working_days(received, self.decision_working_days)
    }

    /// The first day money may be sent for a payout list put on notice on `posted` (the notice
    /// runs for `notice_days` whole calendar days, the posting day included).
    pub fn payout_allowed_from(&self, posted: NaiveDate) -> NaiveDate {
        posted + Days::new(u64::from(self.notice_days))
    }

    /// The same rules one year later: every date moves by twelve months (29 February becomes
    /// 28 February). Holidays do not repeat on the same dates, so the calendar keeps only the
    /// years still relevant to the new year (from the payment window's year on) and gains the
    /// national arrangement for years it lacks, where this crate knows it; a year still missing
    /// afterwards ([`WorkCalendar::has_year`]) must be entered by hand.
    pub fn next_year(&self) -> SchemeRules {
        let shift = |d: NaiveDate| {
            d.checked_add_months(Months::new(12))
                .expect("date within chrono's range")
        };
        let mut next = SchemeRules {
            period_start: shift(self.period_start),
            period_end: shift(self.period_end),
            benefits_start: shift(self.benefits_start),
            payment_window_start: shift(self.payment_window_start),
            payment_window_end: shift(self.payment_window_end),
            ..self.clone()
        };
        next.calendar = deadline_calendar(&self.calendar, &next);
        next
    }
}

/// The calendar entries a year needs: from the payment window's year to the year after the
/// period ends (decisions and notices of December claims run into January). National
/// arrangements fill in whichever of those years `base` lacks.
pub(crate) fn deadline_calendar(base: &WorkCalendar, rules: &SchemeRules) -> WorkCalendar {
    use chrono::Datelike;
    let years = rules
        .payment_window_start
        .year()
        .min(rules.period_start.year())..=rules.period_end.year() + 1;
    let mut cal = base.restricted_to(years.clone());
    cal.fill_missing_years(&china_calendar().restricted_to(years));
    cal
}

/// "2,500" for whole yuan, "2,500.50" otherwise: how the documents write amounts.
pub(crate) fn yuan_text(f: Fen) -> String {
    let s = f.to_string();
    s.strip_suffix(".00").map(str::to_string).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::{template, templates};
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn yiyuan() -> SchemeRules {
        template("yiyuan-dazhangzhuang", 2024).unwrap().rules
    }

    #[test]
    fn validation_reports_every_problem_in_chinese() {
        let mut r = yiyuan();
        r.programme_name = " ".into();
        r.town_per_person = Fen::from_yuan(5);
        r.payment_window_end = d(2025, 1, 10);
        r.reward_tiers.swap(0, 1);
        r.village_threshold_permille = 1200;
        r.full_subsidies[0].borne_by = Payer::Personal;
        r.calendar.adjusted_workdays.insert(d(2024, 3, 6));
        let errors = r.validate().unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            [
                "项目名称不能为空",
                "缴费期结束日期（2025-01-10）晚于互助期限结束日期（2024-12-31）",
                "个人出资（50元）+ 村集体（0元）+ 乡镇（5元）+ 县级（0元）= 55元，不等于互助费标准50元",
                "全额资助个人出资部分的出资方不能是个人",
                "奖励档次应按参保率从低到高排列，且奖励标准不降低（第2档）",
                "村纳入参保率为1200‰，不能超过1000‰（100%）",
                "调休上班日2024-03-06不是周六或周日",
            ]
        );
    }

    #[test]
    fn validation_catches_dates_caps_and_contradictions() {
        let mut r = yiyuan();
        r.period_end = d(2025, 1, 31);
        r.benefits_start = d(2023, 12, 1);
        r.per_stay_cap = Some(Fen::from_yuan(200));
        r.yearly_cap = Some(Fen::from_yuan(100));
        r.ineligible_statuses = vec![SpecialStatus::PovertyMonitored];
        r.village_collective_overrides
            .insert("3703231042".into(), Fen::ZERO);
        let errors = r.validate().unwrap_err();
        assert!(errors.contains(&RuleError::PeriodTooLong { days: 397 }));
        assert!(errors.contains(&RuleError::BenefitsStartOutsidePeriod {
            benefits_start: d(2023, 12, 1)
        }));
        assert!(errors.contains(&RuleError::CapBelowMinimum {
            cap: Fen::from_yuan(200),
            min: Fen::from_yuan(300)
        }));
        assert!(errors.contains(&RuleError::YearlyCapBelowPerStayCap {
            yearly: Fen::from_yuan(100),
            per_stay: Fen::from_yuan(200)
        }));
        assert!(errors.contains(&RuleError::StatusSubsidisedAndIneligible {
            status: SpecialStatus::PovertyMonitored
        }));
        assert!(errors.contains(&RuleError::BadVillageCode {
            code: "3703231042".into()
        }));

        let mut r = yiyuan();
        r.payment_window_start = d(2024, 7, 1);
        r.payment_window_end = d(2024, 6, 30);
        r.balancing = Balancing::Town;
        r.town_overrides.insert("370323104".into(), Fen::ZERO);
        let errors = r.validate().unwrap_err();
        assert!(errors.contains(&RuleError::WindowReversed {
            start: d(2024, 7, 1),
            end: d(2024, 6, 30)
        }));
        assert!(errors.contains(&RuleError::TownOverridesWithTownBalancing));
    }

    #[test]
    fn minimum_personal_share_rounds_up() {
        let mut r = yiyuan();
        r.fee_per_person = Fen(10_001);
        r.min_personal_permille = 500;
        assert_eq!(crate::error::min_personal(&r), Fen(5_001));
        r.min_personal_part = Fen(6_000);
        assert_eq!(crate::error::min_personal(&r), Fen(6_000));
    }

    #[test]
    fn only_name_and_deadline_rules_change_without_affecting_money() {
        let r = yiyuan();
        let mut same_money = r.clone();
        same_money.programme_name = "沂源红（修订）".into();
        same_money.calendar = WorkCalendar::default();
        same_money.decision_working_days = 3;
        same_money.notice_days = 10;
        assert!(!r.money_fields_differ(&same_money));

        let changes: Vec<fn(&mut SchemeRules)> = vec![
            |r| r.fee_per_person = Fen::from_yuan(60),
            |r| {
                r.village_collective_overrides
                    .insert("370323104201".into(), Fen::from_yuan(5));
            },
            |r| r.reward_tiers.pop().map(drop).unwrap_or(()),
            |r| r.village_threshold_permille = 700,
            |r| r.thresholds.resident.amount = Fen::from_yuan(3000),
            |r| r.per_stay_cap = Some(Fen::from_yuan(50_000)),
            |r| r.loyalty_bonus_percent = 10,
            |r| r.exclusions.pop().map(drop).unwrap_or(()),
            |r| r.service_fee = ServiceFee::Fixed(Fen::from_yuan(1000)),
            |r| r.payment_window_end = d(2024, 7, 15),
            |r| r.drg_version = "chs-drg-1.1".into(),
            |r| r.full_subsidies.clear(),
        ];
        for (i, change) in changes.into_iter().enumerate() {
            let mut other = r.clone();
            change(&mut other);
            assert!(r.money_fields_differ(&other), "change {i}");
        }
    }

    #[test]
    fn next_year_shifts_dates_and_refreshes_the_calendar() {
        let r = template("anji", 2024).unwrap().rules;
        let n = r.next_year();
        assert_eq!(
            (n.period_start, n.period_end),
            (d(2025, 8, 1), d(2026, 7, 31))
        );
        assert_eq!(
            (n.payment_window_start, n.payment_window_end),
            (d(2025, 5, 20), d(2025, 7, 20))
        );
        assert_eq!(n.benefits_start, d(2025, 8, 1));
        assert!(!n.calendar.has_year(2024));
        assert!(n.calendar.has_year(2025) && n.calendar.has_year(2026));
        assert_eq!(
            SchemeRules {
                period_start: r.period_start,
                period_end: r.period_end,
                benefits_start: r.benefits_start,
                payment_window_start: r.payment_window_start,
                payment_window_end: r.payment_window_end,
                calendar: r.calendar.clone(),
                ..n.clone()
            },
            r
        );
        // A local day off entered for 2025 survives the rollover.
        let mut local = r.clone();
        local.calendar.holidays.insert(d(2025, 3, 3));
        assert!(local.next_year().calendar.holidays.contains(&d(2025, 3, 3)));
        // 29 February moves to 28 February.
        let mut leap = yiyuan();
        leap.payment_window_end = d(2024, 2, 29);
        leap.payment_window_start = d(2024, 2, 1);
        assert_eq!(leap.next_year().payment_window_end, d(2025, 2, 28));
    }

    #[test]
    fn service_fee_as_share_or_fixed() {
        let mut r = yiyuan();
        r.service_fee = ServiceFee::Percent { basis_points: 800 };
        assert_eq!(
            r.service_fee_on(Fen::from_yuan(100_000)),
            Fen::from_yuan(8_000)
        );
        assert_eq!(r.service_fee_on(Fen(1_0006)), Fen(800)); // 800.48 fen rounds down
        r.service_fee = ServiceFee::Fixed(Fen::from_yuan(20_000));
        assert_eq!(r.service_fee_on(Fen::from_yuan(1)), Fen::from_yuan(20_000));
    }

    #[test]
    fn exclusions_have_labels_and_codes() {
        for e in Exclusion::STANDARD {
            assert_eq!(Exclusion::from_code(e.code()), Some(e.clone()));
            assert!(!e.label_zh().is_empty());
        }
        let other = Exclusion::Other("酒后驾驶导致的伤害".into());
        assert_eq!(other.label_zh(), "酒后驾驶导致的伤害");
        let json = serde_json::to_string(&other).unwrap();
        assert_eq!(serde_json::from_str::<Exclusion>(&json).unwrap(), other);
    }

    fn statuses() -> impl Strategy<Value = Vec<SpecialStatus>> {
        proptest::sample::subsequence(SpecialStatus::ALL.to_vec(), 0..=4)
    }

    proptest! {
        #[test]
        fn dues_always_add_up_to_the_fee(
            which in 0usize..5,
            village_part in 0i64..3_000,
            town_part in 0i64..3_000,
            override_village in any::<bool>(),
            override_town in any::<bool>(),
            statuses in statuses(),
        ) {
            let mut r = templates(2025).swap_remove(which).rules;
            let village = "320506101201";
            if override_village {
                r.village_collective_overrides.insert(village.into(), Fen(village_part));
            }
            if override_town && r.balancing == Balancing::Personal {
                r.town_overrides.insert("320506101".into(), Fen(town_part));
            }
            let dues = r.dues_for_member(village, &statuses);
            prop_assert_eq!(dues.total(), r.fee_per_person);
            prop_assert!(dues.parts.iter().all(|(_, f)| *f != Fen::ZERO));
            prop_assert!(dues.parts.windows(2).all(|w| w[0].0 < w[1].0));
            let subsidised = r.full_subsidy_for(&statuses).is_some();
            if subsidised {
                prop_assert_eq!(dues.personal(), Fen::ZERO);
            }
            // Whenever the rules validate, nobody owes a negative amount.
            if r.validate().is_ok() {
                prop_assert!(dues.parts.iter().all(|(_, f)| *f > Fen::ZERO));
                if !subsidised {
                    prop_assert!(dues.personal() >= crate::error::min_personal(&r));
                }
            }
        }

        #[test]
        fn reward_never_falls_as_participation_rises(a in 0u32..1100, b in 0u32..1100) {
            let r = yiyuan();
            let (lo, hi) = (a.min(b), a.max(b));
            prop_assert!(r.reward_per_person(lo) <= r.reward_per_person(hi));
        }

        #[test]
        fn rules_round_trip_as_json(which in 0usize..5, year in 2000i32..2100, v in 0i64..5_000) {
            let mut r = templates(year).swap_remove(which).rules;
            r.village_collective_overrides.insert("320506101201".into(), Fen(v));
            r.exclusions.push(Exclusion::Other("测试".into()));
            r.service_fee = ServiceFee::Fixed(Fen(v));
            let back: SchemeRules = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
            prop_assert_eq!(back, r);
        }
    }
}
