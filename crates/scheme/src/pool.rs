//! Participation and money for a whole pool, from per-village counts.
//!
//! Reading of the documents used here (沂源 is the one that spells it out):
//! - a village is counted when its own rate reaches the threshold (or always, when the rules only
//!   report the shortfall); members of villages left out are not in the pool;
//! - the pool's rate is enrolled members of counted villages over *all* registered residents of
//!   the villages passed in ("参保率达到户籍人口20%"): the denominator is the town's (or county's)
//!   registered population, not just that of the villages that made it;
//! - the minimum pool size counts enrolled members of counted villages ("整户参与的人数");
//! - the reward is paid per enrolled member of the pool.

use std::collections::BTreeMap;

use domain::{Fen, SpecialStatus};

use crate::payer::Payer;
use crate::rules::{SchemeRules, ThresholdBasis};

/// `enrolled / registered` in ‰, rounded down, so 79.9% is 799 and does not reach an 800‰
/// threshold. Zero registered gives 0. Not capped at 1000: a rate above 100% means the counts are
/// wrong and should be visible as such.
pub fn participation_rate_permille(registered: u64, enrolled: u64) -> u32 {
    if registered == 0 {
        return 0;
    }
    let r = u128::from(enrolled) * 1000 / u128::from(registered);
    u32::try_from(r).unwrap_or(u32::MAX)
}

/// One village's counts, as a `GROUP BY village` query gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VillageInput {
    /// 12-digit village code (the special village may use any code the caller gives it).
    pub code: String,
    pub name: String,
    /// Registered residents (户籍在册人员) placed in this village. In 沂源 members of the special
    /// village are not in their home village's count.
    pub registered: u64,
    /// Enrolled members, whatever their statuses.
    pub enrolled: u64,
    /// Needed only when the threshold counts households.
    pub registered_households: u64,
    pub enrolled_households: u64,
    /// Enrolled members with special statuses, one row per exact combination of statuses (as a
    /// `GROUP BY village, statuses` gives them). Members with no status are the rest of
    /// `enrolled` and need no row.
    pub enrolled_by_statuses: Vec<StatusCount>,
    /// The special village (沂源 幸福社区): exempt from the threshold, always counted.
    pub special: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusCount {
    pub statuses: Vec<SpecialStatus>,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct VillageFigures {
    pub code: String,
    pub name: String,
    pub registered: u64,
    pub enrolled: u64,
    pub registered_households: u64,
    pub enrolled_households: u64,
    /// On the rules' threshold basis (people or households).
    pub rate_permille: u32,
    pub meets_threshold: bool,
    /// Whether the village's members are in the pool.
    pub counted: bool,
    pub special: bool,
    /// Members' dues in this village by payer (zero for a village not counted).
    pub dues_by_payer: BTreeMap<Payer, Fen>,
}

/// Per town, for county pools (安吉 sets its 70% for towns as well as villages). Special
/// villages are left out.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TownFigures {
    /// The first 9 digits of its villages' codes.
    pub code: String,
    pub registered: u64,
    /// Members of its counted villages.
    pub enrolled: u64,
    /// On the rules' threshold basis.
    pub rate_permille: u32,
    pub meets_threshold: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PoolFigures {
    pub villages: Vec<VillageFigures>,
    pub towns: Vec<TownFigures>,
    /// Registered residents of every village passed in.
    pub registered: u64,
    /// Enrolled members of counted villages: the pool.
    pub enrolled: u64,
    /// Enrolled members of villages left out for missing the threshold.
    pub enrolled_not_counted: u64,
    /// `enrolled / registered`, the rate the reward tiers look at.
    pub rate_permille: u32,
    /// Ordinary villages counted and with at least one member.
    pub villages_taking_part: u64,
    /// `villages_taking_part` over the ordinary villages passed in.
    pub village_share_permille: u32,
    pub meets_village_share: bool,
    pub meets_min_size: bool,
    pub reward_per_person: Fen,
    pub reward_total: Fen,
    /// Members' dues of counted villages, plus the reward under [`Payer::Government`].
    pub dues_by_payer: BTreeMap<Payer, Fen>,
    pub total_due: Fen,
}

fn times(f: Fen, n: u64) -> Fen {
    Fen(i64::try_from(i128::from(f.0) * i128::from(n)).expect("money overflow"))
}

fn basis_rate(rules: &SchemeRules, persons: (u64, u64), households: (u64, u64)) -> u32 {
    let (registered, enrolled) = match rules.village_threshold_basis {
        ThresholdBasis::Persons => persons,
        ThresholdBasis::Households => households,
    };
    participation_rate_permille(registered, enrolled)
}

fn village_dues(rules: &SchemeRules, v: &VillageInput) -> BTreeMap<Payer, Fen> {
    let mut out: BTreeMap<Payer, Fen> = BTreeMap::new();
    let mut with_status = 0u64;
    let mut add = |statuses: &[SpecialStatus], n: u64| {
        if n == 0 {
            return;
        }
        for (payer, f) in rules.dues_for_member(&v.code, statuses).parts {
            *out.entry(payer).or_default() += times(f, n);
        }
    };
    for row in &v.enrolled_by_statuses {
        add(&row.statuses, row.count);
        with_status += row.count;
    }
    add(&[], v.enrolled.saturating_sub(with_status));
    out
}

pub fn pool_figures(rules: &SchemeRules, villages: &[VillageInput]) -> PoolFigures {
    let threshold = rules.village_threshold_permille;
    let mut figures = Vec::with_capacity(villages.len());
    let mut towns: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    let (mut registered, mut enrolled, mut enrolled_not_counted) = (0u64, 0u64, 0u64);
    let (mut ordinary, mut taking_part) = (0u64, 0u64);
    let mut dues_by_payer: BTreeMap<Payer, Fen> = BTreeMap::new();

    for v in villages {
        let rate = basis_rate(
            rules,
            (v.registered, v.enrolled),
            (v.registered_households, v.enrolled_households),
        );
        let meets_threshold = v.special || rate >= threshold;
        let counted = meets_threshold || !rules.below_threshold_excluded;
        registered += v.registered;
        if counted {
            enrolled += v.enrolled;
        } else {
            enrolled_not_counted += v.enrolled;
        }
        if !v.special {
            ordinary += 1;
            if counted && v.enrolled > 0 {
                taking_part += 1;
            }
            let town_code = v.code.get(..9).unwrap_or(&v.code).to_string();
            let t = towns.entry(town_code).or_default();
            t.0 += v.registered;
            t.2 += v.registered_households;
            if counted {
                t.1 += v.enrolled;
                t.3 += v.enrolled_households;
            }
        }
        let dues = if counted {
            village_dues(rules, v)
        } else {
            BTreeMap::new()
        };
        for (payer, f) in &dues {
            *dues_by_payer.entry(*payer).or_default() += *f;
        }
        figures.push(VillageFigures {
            code: v.code.clone(),
            name: v.name.clone(),
            registered: v.registered,
            enrolled: v.enrolled,
            registered_households: v.registered_households,
            enrolled_households: v.enrolled_households,
            rate_permille: rate,
            meets_threshold,
            counted,
            special: v.special,
            dues_by_payer: dues,
        });
    }

    let rate_permille = participation_rate_permille(registered, enrolled);
    let reward_per_person = rules.reward_per_person(rate_permille);
    let reward_total = times(reward_per_person, enrolled);
    if reward_total != Fen::ZERO {
        *dues_by_payer.entry(Payer::Government).or_default() += reward_total;
    }
    let village_share_permille = participation_rate_permille(ordinary, taking_part);
    PoolFigures {
        villages: figures,
        towns: towns
            .into_iter()
            .map(|(code, (reg, enr, reg_h, enr_h))| {
                let rate = basis_rate(rules, (reg, enr), (reg_h, enr_h));
                TownFigures {
                    code,
                    registered: reg,
                    enrolled: enr,
                    rate_permille: rate,
                    meets_threshold: rate >= threshold,
                }
            })
            .collect(),
        registered,
        enrolled,
        enrolled_not_counted,
        rate_permille,
        villages_taking_part: taking_part,
        village_share_permille,
        meets_village_share: village_share_permille >= rules.min_village_share_permille,
        meets_min_size: enrolled >= u64::from(rules.min_pool_size),
        reward_per_person,
        reward_total,
        total_due: dues_by_payer.values().copied().sum(),
        dues_by_payer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::template;
    use proptest::prelude::*;

    #[test]
    fn rate_is_floored_per_mille() {
        assert_eq!(participation_rate_permille(1000, 799), 799);
        assert_eq!(participation_rate_permille(10_000, 7_999), 799);
        assert_eq!(participation_rate_permille(3, 2), 666);
        assert_eq!(participation_rate_permille(0, 0), 0);
        assert_eq!(participation_rate_permille(5, 5), 1000);
        assert_eq!(participation_rate_permille(u64::MAX, u64::MAX), 1000);
    }

    proptest! {
        #[test]
        fn rate_rises_with_enrolment_and_falls_with_population(
            registered in 1u64..1_000_000, a in 0u64..1_000_000, b in 0u64..1_000_000, extra in 0u64..1_000,
        ) {
            let (lo, hi) = (a.min(b).min(registered), a.max(b).min(registered));
            prop_assert!(participation_rate_permille(registered, lo) <= participation_rate_permille(registered, hi));
            prop_assert!(participation_rate_permille(registered + extra, hi) <= participation_rate_permille(registered, hi));
            prop_assert!(participation_rate_permille(registered, hi) <= 1000);
        }

        #[test]
        fn pool_money_is_the_fee_per_member_plus_the_reward(
            villages in proptest::collection::vec((1u64..3_000, 0u64..3_000, 0u64..500, 0u64..500), 1..12),
        ) {
            let rules = template("yiyuan-dazhangzhuang", 2024).unwrap().rules;
            let inputs: Vec<VillageInput> = villages
                .iter()
                .enumerate()
                .map(|(i, &(registered, enrolled, poor, monitored))| {
                    let enrolled = enrolled.min(registered);
                    let poor = poor.min(enrolled);
                    let monitored = monitored.min(enrolled - poor);
                    VillageInput {
                        code: format!("370323104{:03}", 200 + i),
                        name: format!("村{i}"),
                        registered,
                        enrolled,
                        enrolled_by_statuses: vec![
                            StatusCount { statuses: vec![SpecialStatus::PovertyAlleviated], count: poor },
                            StatusCount {
                                statuses: vec![SpecialStatus::PovertyMonitored, SpecialStatus::MinimumLiving],
                                count: monitored,
                            },
                        ],
                        ..Default::default()
                    }
                })
                .collect();
            let p = pool_figures(&rules, &inputs);
            let members = i64::try_from(p.enrolled).unwrap();
            prop_assert_eq!(p.total_due, Fen(rules.fee_per_person.0 * members) + p.reward_total);
            prop_assert_eq!(p.enrolled + p.enrolled_not_counted, inputs.iter().map(|v| v.enrolled).sum::<u64>());
            let county: i64 = p.villages.iter().filter(|v| v.counted).map(|v| {
                let i = &inputs[p.villages.iter().position(|x| x.code == v.code).unwrap()];
                (i.enrolled_by_statuses[0].count + i.enrolled_by_statuses[1].count) as i64
            }).sum();
            prop_assert_eq!(p.dues_by_payer.get(&Payer::County).copied().unwrap_or_default(), Fen(5_000 * county));
            for v in &p.villages {
                prop_assert_eq!(v.counted, v.rate_permille >= 800);
            }
        }
    }
}
