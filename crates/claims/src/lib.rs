//! The subsidy of one hospital stay under one scheme year's rules: whether the stay qualifies,
//! and how much it gets (the DRG's amount in the year's published table, the loyalty bonus,
//! the minimum, the per-stay cap and what is left of the member's yearly cap). Every decision
//! carries the rules applied, so the coder's page and the SMS to the resident can explain it.
//!
//! Pure: the rules, the table, the stay and the member's approved total so far arrive as values.
//! Money is [`Fen`]; the only rounding (the loyalty percentage) is half up to the fen.
//!
//! # Arithmetic never panics
//! Every operation is on `i128` or saturating: with rules inside the scheme bounds
//! ([`SubsidyRules::check`], amounts ≤ [`scheme::error::MAX_PER_CLAIM`]) and table amounts
//! within the same bound nothing can overflow. Outside them a loyalty product that does not fit
//! saturates at `i64::MAX` fen before the caps apply, so [`decide`] is total.

mod explain;

use std::collections::{BTreeMap, HashMap};
use std::hash::BuildHasher;

use chrono::NaiveDate;
use domain::{Fen, InsuranceType};
use scheme::{ClaimThresholds, Exclusion, RuleError, SchemeRules};

pub use explain::explain_steps_zh;

/// The part of a year's rules that decides a stay's subsidy.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubsidyRules {
    /// First and last day (inclusive) on which an admission is covered.
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub thresholds: ClaimThresholds,
    pub min_subsidy: Fen,
    pub per_stay_cap: Option<Fen>,
    pub yearly_cap: Option<Fen>,
    /// Extra, in per cent, for members in their second or later consecutive year.
    pub loyalty_bonus_percent: u32,
    /// The exclusions this year's rules recognise; an exclusion a stay is marked with that is
    /// not listed here does not refuse it.
    pub exclusions: Vec<Exclusion>,
}

impl SubsidyRules {
    pub fn from_scheme(r: &SchemeRules) -> SubsidyRules {
        SubsidyRules {
            period_start: r.period_start,
            period_end: r.period_end,
            thresholds: r.thresholds,
            min_subsidy: r.min_subsidy,
            per_stay_cap: r.per_stay_cap,
            yearly_cap: r.yearly_cap,
            loyalty_bonus_percent: r.loyalty_bonus_percent,
            exclusions: r.exclusions.clone(),
        }
    }

    /// The problems of these fields, with the same checks and messages as
    /// [`SchemeRules::validate`]: amounts within [`scheme::error::MAX_PER_CLAIM`], nothing
    /// negative, caps positive, the per-stay cap not below the minimum, the yearly cap not below
    /// the per-stay cap, the loyalty bonus at most 100 %, the period not reversed. For rules
    /// edited outside the rules form (command-line overrides).
    pub fn check(&self) -> Vec<RuleError> {
        use scheme::error::MAX_PER_CLAIM;
        let mut e = Vec::new();
        if self.period_end < self.period_start {
            e.push(RuleError::PeriodReversed {
                start: self.period_start,
                end: self.period_end,
            });
        }
        let amounts = [
            (
                "城乡居民医保起付金额",
                Some(self.thresholds.resident.amount),
            ),
            (
                "城镇职工医保起付金额",
                Some(self.thresholds.employee.amount),
            ),
            ("未参保人员起付金额", Some(self.thresholds.uninsured.amount)),
            ("单次最低补助", Some(self.min_subsidy)),
            ("单次最高补助", self.per_stay_cap),
            ("年度累计最高补助", self.yearly_cap),
        ];
        for (field, amount) in amounts {
            let Some(amount) = amount else { continue };
            if amount.fen().unsigned_abs() > MAX_PER_CLAIM.fen().unsigned_abs() {
                e.push(RuleError::AmountTooLarge {
                    field,
                    amount,
                    max: MAX_PER_CLAIM,
                });
            } else if amount < Fen::ZERO {
                e.push(RuleError::Negative { field });
            }
        }
        if let Some(cap) = self.per_stay_cap {
            if cap <= Fen::ZERO {
                e.push(RuleError::CapNotPositive {
                    field: "单次最高补助",
                });
            } else if cap < self.min_subsidy {
                e.push(RuleError::CapBelowMinimum {
                    cap,
                    min: self.min_subsidy,
                });
            }
        }
        if let Some(yearly) = self.yearly_cap {
            if yearly <= Fen::ZERO {
                e.push(RuleError::CapNotPositive {
                    field: "年度累计最高补助",
                });
            } else if let Some(per_stay) = self.per_stay_cap {
                if yearly < per_stay {
                    e.push(RuleError::YearlyCapBelowPerStayCap { yearly, per_stay });
                }
            }
        }
        if self.loyalty_bonus_percent > 100 {
            e.push(RuleError::LoyaltyBonusTooHigh {
                percent: self.loyalty_bonus_percent,
            });
        }
        e
    }

    pub fn in_period(&self, admission: NaiveDate) -> bool {
        self.period_start <= admission && admission <= self.period_end
    }
}

/// One hospital stay as the coder has established it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stay {
    pub insurance: InsuranceType,
    /// Consecutive scheme years of membership including this one: 1 in the first year (0 is
    /// taken as 1). The loyalty bonus applies from 2.
    pub consecutive_years: u32,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    /// 住院总费用.
    pub total_cost: Fen,
    /// 个人支付金额: what the member paid after basic insurance.
    pub out_of_pocket: Fen,
    pub drg: DrgOutcome,
    /// What the coder found that excludes the stay (only those the year's rules list count).
    pub exclusions: Vec<Exclusion>,
}

/// What the grouper made of the stay.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DrgOutcome {
    /// The DRG code, e.g. `ES23`.
    Grouped(String),
    /// The grouper could not place it (歧义组 / 0000): no DRG, no table amount.
    Ungroupable,
}

/// The year's published amounts per DRG. An amount of zero or less means the table does not
/// subsidise that DRG (the design leaves excluded DRGs at zero): [`decide`] treats it like a
/// DRG missing from the table, so the minimum subsidy never lifts a DRG the design left out.
pub trait SubsidyTable {
    fn amount(&self, drg: &str) -> Option<Fen>;
}

impl SubsidyTable for BTreeMap<String, Fen> {
    fn amount(&self, drg: &str) -> Option<Fen> {
        self.get(drg).copied()
    }
}

impl<S: BuildHasher> SubsidyTable for HashMap<String, Fen, S> {
    fn amount(&self, drg: &str) -> Option<Fen> {
        self.get(drg).copied()
    }
}

impl<T: SubsidyTable + ?Sized> SubsidyTable for &T {
    fn amount(&self, drg: &str) -> Option<Fen> {
        (**self).amount(drg)
    }
}

/// Why a stay is refused, or what changed its amount.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// Admission outside the scheme period.
    NotInPeriod,
    /// An exclusion of the year's rules applies.
    Excluded(Exclusion),
    /// The stay's cost does not reach the threshold of the member's insurance.
    BelowThreshold,
    /// Grouped, but the DRG has no (positive) amount in the table.
    DrgNotInTable,
    /// The grouper could not place the stay.
    Ungroupable,
    /// Raised by the loyalty bonus (2nd or later consecutive year).
    LoyaltyBonus,
    /// Raised to the minimum subsidy.
    MinSubsidy,
    /// Lowered to the per-stay cap.
    PerStayCap,
    /// Lowered to what is left of the yearly cap.
    YearlyCap,
    /// Nothing is left of the yearly cap: refused.
    YearlyCapExhausted,
}

impl Reason {
    /// The code written by `shouwang subsidy` (an exclusion writes its own code).
    pub fn code(&self) -> &str {
        match self {
            Self::NotInPeriod => "not_in_period",
            Self::Excluded(e) => e.code(),
            Self::BelowThreshold => "below_threshold",
            Self::DrgNotInTable => "drg_not_in_table",
            Self::Ungroupable => "ungroupable",
            Self::LoyaltyBonus => "loyalty_bonus",
            Self::MinSubsidy => "min_subsidy",
            Self::PerStayCap => "per_stay_cap",
            Self::YearlyCap => "yearly_cap",
            Self::YearlyCapExhausted => "yearly_cap_exhausted",
        }
    }
}

/// One line of the computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepKind {
    TableAmount,
    LoyaltyBonus,
    MinSubsidy,
    PerStayCap,
    YearlyCap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Step {
    pub rule: StepKind,
    pub amount_after: Fen,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// `steps` starts with the table amount and has one more line per rule in `applied`, in
    /// the same order; the last line's amount is `amount`.
    Subsidy {
        amount: Fen,
        steps: Vec<Step>,
        applied: Vec<Reason>,
    },
    /// Every eligibility reason that applies, in the order of [`decide`]; or only
    /// [`Reason::YearlyCapExhausted`].
    Refused { reasons: Vec<Reason> },
}

impl Decision {
    /// The subsidy, zero when refused.
    pub fn amount(&self) -> Fen {
        match self {
            Decision::Subsidy { amount, .. } => *amount,
            Decision::Refused { .. } => Fen::ZERO,
        }
    }

    /// `applied` of a subsidy, `reasons` of a refusal.
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Decision::Subsidy { applied, .. } => applied,
            Decision::Refused { reasons } => reasons,
        }
    }
}

/// The subsidy of `stay`, for a member whose approved subsidies in this scheme year add up to
/// `approved_this_year` (a negative total is taken as zero).
///
/// Eligibility first; every reason that applies is reported, in this order: admission outside
/// the period, each of the stay's exclusions that the rules list (in the rules' order), the
/// threshold of the member's insurance not met (inclusive), then the DRG: not in the table (or
/// at zero) when grouped, ungroupable when not.
///
/// For an eligible stay: the table amount; ×(100 + p)/100 rounded half up when the member is in
/// their 2nd or later consecutive year and the bonus p is above zero; then at least
/// `min_subsidy`; then at most `per_stay_cap`; then at most what is left of `yearly_cap`. When
/// nothing is left the stay is refused with [`Reason::YearlyCapExhausted`]; so the amount of a
/// subsidy is always positive, never above the per-stay cap nor the yearly remainder, and is
/// below `min_subsidy` only when the per-stay cap or the yearly remainder is.
pub fn decide(
    rules: &SubsidyRules,
    table: &impl SubsidyTable,
    stay: &Stay,
    approved_this_year: Fen,
) -> Decision {
    let mut reasons = Vec::new();
    if !rules.in_period(stay.admission) {
        reasons.push(Reason::NotInPeriod);
    }
    for e in &rules.exclusions {
        if stay.exclusions.contains(e) {
            reasons.push(Reason::Excluded(e.clone()));
        }
    }
    if !rules
        .thresholds
        .get(stay.insurance)
        .is_met(stay.total_cost, stay.out_of_pocket)
    {
        reasons.push(Reason::BelowThreshold);
    }
    let base = match &stay.drg {
        DrgOutcome::Grouped(code) => {
            let amount = table.amount(code).filter(|a| *a > Fen::ZERO);
            if amount.is_none() {
                reasons.push(Reason::DrgNotInTable);
            }
            amount
        }
        DrgOutcome::Ungroupable => {
            reasons.push(Reason::Ungroupable);
            None
        }
    };
    let Some(base) = base.filter(|_| reasons.is_empty()) else {
        return Decision::Refused { reasons };
    };

    let remaining = rules.yearly_cap.map(|cap| {
        let approved = approved_this_year.max(Fen::ZERO);
        Fen(cap.fen().saturating_sub(approved.fen()))
    });
    if remaining.is_some_and(|r| r <= Fen::ZERO) {
        return Decision::Refused {
            reasons: vec![Reason::YearlyCapExhausted],
        };
    }

    let mut amount = base;
    let mut steps = vec![Step {
        rule: StepKind::TableAmount,
        amount_after: amount,
    }];
    let mut applied = Vec::new();
    let mut apply = |amount: &mut Fen, new: Fen, kind: StepKind, reason: Reason| {
        *amount = new;
        steps.push(Step {
            rule: kind,
            amount_after: new,
        });
        applied.push(reason);
    };
    if stay.consecutive_years >= 2 && rules.loyalty_bonus_percent > 0 {
        let new = with_percent(amount, rules.loyalty_bonus_percent);
        apply(
            &mut amount,
            new,
            StepKind::LoyaltyBonus,
            Reason::LoyaltyBonus,
        );
    }
    if amount < rules.min_subsidy {
        let min = rules.min_subsidy;
        apply(&mut amount, min, StepKind::MinSubsidy, Reason::MinSubsidy);
    }
    if let Some(cap) = rules.per_stay_cap.filter(|cap| amount > *cap) {
        apply(&mut amount, cap, StepKind::PerStayCap, Reason::PerStayCap);
    }
    if let Some(rest) = remaining.filter(|rest| amount > *rest) {
        apply(&mut amount, rest, StepKind::YearlyCap, Reason::YearlyCap);
    }
    if amount <= Fen::ZERO {
        // Only reachable with a per-stay cap of zero or less, which `check` refuses: such a
        // cap refuses every stay, naming the cap.
        return Decision::Refused {
            reasons: vec![Reason::PerStayCap],
        };
    }
    Decision::Subsidy {
        amount,
        steps,
        applied,
    }
}

/// `amount × (100 + percent) / 100`, rounded half up to the fen (half away from zero for a
/// negative amount); saturates at the ends of `i64` instead of overflowing.
pub fn with_percent(amount: Fen, percent: u32) -> Fen {
    let p = i128::from(amount.fen()) * (100 + i128::from(percent));
    let q = if p >= 0 {
        (p + 50) / 100
    } else {
        (p - 50) / 100
    };
    Fen(i64::try_from(q).unwrap_or(if q > 0 { i64::MAX } else { i64::MIN }))
}

#[cfg(test)]
mod tests;
