//! The Chinese explanation of a decision, for the coder's page, the village clerk and the SMS
//! to the resident.

use domain::{Fen, InsuranceType};
use scheme::CostBasis;

use crate::{DrgOutcome, Reason, Stay, Step, StepKind, SubsidyRules};

/// "2,500" for whole yuan, "2,499.99" otherwise: how the documents write amounts.
fn yuan(f: Fen) -> String {
    let s = f.to_string();
    s.strip_suffix(".00").map(str::to_string).unwrap_or(s)
}

impl Reason {
    /// A short explanation that needs no figures: for lists and filters.
    pub fn label_zh(&self) -> String {
        match self {
            Self::NotInPeriod => "入院日期不在本年度互助期限内".to_string(),
            Self::Excluded(e) => format!("属于不予补助的情形：{}", e.label_zh()),
            Self::BelowThreshold => "住院费用未达到补助起付标准".to_string(),
            Self::DrgNotInTable => "所属病组不在本年度病种补助标准表内".to_string(),
            Self::Ungroupable => "病案无法分入病组，请核对诊断和手术编码".to_string(),
            Self::LoyaltyBonus => "连续参加，补助金额提高".to_string(),
            Self::MinSubsidy => "按单次最低补助发放".to_string(),
            Self::PerStayCap => "按单次最高补助封顶".to_string(),
            Self::YearlyCap => "按年度累计最高补助的剩余额度发放".to_string(),
            Self::YearlyCapExhausted => "本年度累计补助已达年度最高补助，本次不再补助".to_string(),
        }
    }

    /// The explanation with this stay's figures, one sentence a clerk can read out to the
    /// resident, e.g. "自付费用未达起付线（城乡居民医保 自付 2,500 元，本次 2,499.99 元）".
    /// `approved_this_year` is what [`crate::decide`] was given.
    pub fn explain_zh(&self, rules: &SubsidyRules, stay: &Stay, approved_this_year: Fen) -> String {
        match self {
            Self::NotInPeriod => format!(
                "入院日期 {} 不在本年度互助期限（{} 至 {}）内",
                stay.admission, rules.period_start, rules.period_end
            ),
            Self::Excluded(e) => format!("属于不予补助的情形：{}", e.label_zh()),
            Self::BelowThreshold => {
                let t = rules.thresholds.get(stay.insurance);
                let (what, paid) = match t.basis {
                    CostBasis::OutOfPocket => ("自付费用未达起付线", stay.out_of_pocket),
                    CostBasis::TotalCost => ("住院总费用未达起付线", stay.total_cost),
                };
                let basis = match t.basis {
                    CostBasis::OutOfPocket => "自付",
                    CostBasis::TotalCost => "总费用",
                };
                let who = match stay.insurance {
                    InsuranceType::Uninsured => "未参保人员",
                    other => other.label_zh(),
                };
                format!(
                    "{what}（{who} {basis} {} 元，本次 {} 元）",
                    yuan(t.amount),
                    yuan(paid)
                )
            }
            Self::DrgNotInTable => match &stay.drg {
                DrgOutcome::Grouped(code) if !code.is_empty() => {
                    format!("病组 {code} 不在本年度病种补助标准表内")
                }
                _ => "未填写病组，无法按病种补助标准表补助".to_string(),
            },
            Self::Ungroupable => self.label_zh(),
            Self::LoyaltyBonus => format!(
                "连续参加第 {} 年，补助金额提高 {}%",
                stay.consecutive_years, rules.loyalty_bonus_percent
            ),
            Self::MinSubsidy => format!("单次住院最低补助 {} 元", yuan(rules.min_subsidy)),
            Self::PerStayCap => match rules.per_stay_cap {
                Some(cap) => format!("单次住院最高补助 {} 元", yuan(cap)),
                None => self.label_zh(),
            },
            Self::YearlyCap | Self::YearlyCapExhausted => match rules.yearly_cap {
                Some(cap) => {
                    let approved = approved_this_year.max(Fen::ZERO);
                    let rest = Fen(cap.fen().saturating_sub(approved.fen())).max(Fen::ZERO);
                    if *self == Self::YearlyCap {
                        format!(
                            "年度累计最高补助 {} 元，本年度已补助 {} 元，本次按剩余 {} 元补助",
                            yuan(cap),
                            yuan(approved),
                            yuan(rest)
                        )
                    } else {
                        format!(
                            "年度累计最高补助 {} 元，本年度已补助 {} 元，已无剩余额度，本次不再补助",
                            yuan(cap),
                            yuan(approved)
                        )
                    }
                }
                None => self.label_zh(),
            },
        }
    }
}

impl StepKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::TableAmount => "病组定额",
            Self::LoyaltyBonus => "连续参保",
            Self::MinSubsidy => "最低补助",
            Self::PerStayCap => "单次封顶",
            Self::YearlyCap => "年度封顶",
        }
    }
}

/// The computation on one line: "病组定额 1,200.00 → 连续参保 +10% 1,320.00 → 单次封顶
/// 1,000.00".
pub fn explain_steps_zh(steps: &[Step], rules: &SubsidyRules) -> String {
    steps
        .iter()
        .map(|s| match s.rule {
            StepKind::LoyaltyBonus => format!(
                "{} +{}% {}",
                s.rule.label_zh(),
                rules.loyalty_bonus_percent,
                s.amount_after
            ),
            _ => format!("{} {}", s.rule.label_zh(), s.amount_after),
        })
        .collect::<Vec<_>>()
        .join(" → ")
}
