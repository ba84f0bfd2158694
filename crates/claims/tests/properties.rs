//! Properties of `decide` over random rules, tables, stays and sequences of stays.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use claims::{decide, Decision, DrgOutcome, Reason, Stay, StepKind, SubsidyRules};
use domain::{Fen, InsuranceType};
use proptest::prelude::*;
use scheme::{ClaimThreshold, ClaimThresholds, CostBasis, Exclusion};

fn day(n: i64) -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(n as u64)
}

fn threshold() -> impl Strategy<Value = ClaimThreshold> {
    (any::<bool>(), 0i64..1_000_000).prop_map(|(total, amount)| ClaimThreshold {
        basis: if total {
            CostBasis::TotalCost
        } else {
            CostBasis::OutOfPocket
        },
        amount: Fen(amount),
    })
}

/// Rules that pass `SubsidyRules::check`.
fn rules() -> impl Strategy<Value = SubsidyRules> {
    (
        (threshold(), threshold(), threshold()),
        0i64..100_000,
        proptest::option::of(0i64..2_000_000),
        proptest::option::of(0i64..5_000_000),
        0u32..=100,
        proptest::sample::subsequence(Exclusion::STANDARD.to_vec(), 0..=7),
    )
        .prop_map(|((r, e, u), min, cap, yearly, p, exclusions)| {
            let per_stay_cap = cap.map(|c| Fen(min.max(1) + c));
            let yearly_cap = yearly.map(|y| Fen(per_stay_cap.map_or(1, |c| c.fen()) + y));
            SubsidyRules {
                period_start: day(0),
                period_end: day(364),
                thresholds: ClaimThresholds {
                    resident: r,
                    employee: e,
                    uninsured: u,
                },
                min_subsidy: Fen(min),
                per_stay_cap,
                yearly_cap,
                loyalty_bonus_percent: p,
                exclusions,
            }
        })
}

fn table() -> BTreeMap<String, Fen> {
    (0..50)
        .map(|i| (format!("D{i:02}"), Fen(i * i * 997 % 3_000_000)))
        .collect()
}

fn stay() -> impl Strategy<Value = Stay> {
    (
        0usize..3,
        0u32..6,
        -30i64..400,
        0i64..2_000_000,
        0i64..2_000_000,
        proptest::option::of(0usize..55),
        proptest::sample::subsequence(Exclusion::STANDARD.to_vec(), 0..=2),
    )
        .prop_map(|(ins, years, adm, total, oop, drg, exclusions)| Stay {
            insurance: InsuranceType::ALL[ins],
            consecutive_years: years,
            admission: day(adm.max(0)) - chrono::Days::new((-adm).max(0) as u64),
            discharge: day(adm.max(0) + 5),
            total_cost: Fen(total),
            out_of_pocket: Fen(oop.min(total)),
            drg: drg.map_or(DrgOutcome::Ungroupable, |i| {
                DrgOutcome::Grouped(format!("D{i:02}"))
            }),
            exclusions,
        })
}

/// The eligibility reasons, computed independently of `decide`.
fn expected_reasons(r: &SubsidyRules, t: &BTreeMap<String, Fen>, s: &Stay) -> Vec<Reason> {
    let mut out = vec![];
    if s.admission < r.period_start || s.admission > r.period_end {
        out.push(Reason::NotInPeriod);
    }
    out.extend(
        r.exclusions
            .iter()
            .filter(|e| s.exclusions.contains(e))
            .cloned()
            .map(Reason::Excluded),
    );
    let th = r.thresholds.get(s.insurance);
    let v = match th.basis {
        CostBasis::OutOfPocket => s.out_of_pocket,
        CostBasis::TotalCost => s.total_cost,
    };
    if v < th.amount {
        out.push(Reason::BelowThreshold);
    }
    match &s.drg {
        DrgOutcome::Grouped(c) if t.get(c).is_none_or(|a| *a <= Fen::ZERO) => {
            out.push(Reason::DrgNotInTable)
        }
        DrgOutcome::Grouped(_) => {}
        DrgOutcome::Ungroupable => out.push(Reason::Ungroupable),
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Eligibility as the rules say, every reason reported; eligible stays are paid unless the
    /// yearly cap is used up; the amount is the reference computation; the steps add up.
    #[test]
    fn decision_follows_the_rules(r in rules(), s in stay(), approved in 0i64..6_000_000) {
        prop_assert!(r.check().is_empty());
        let t = table();
        let approved = Fen(approved);
        let decision = decide(&r, &t, &s, approved);
        let expected = expected_reasons(&r, &t, &s);
        let rest = r.yearly_cap.map(|c| c.fen() - approved.fen());
        match &decision {
            Decision::Refused { reasons } if !expected.is_empty() => {
                prop_assert_eq!(reasons, &expected);
            }
            Decision::Refused { reasons } => {
                prop_assert_eq!(reasons, &vec![Reason::YearlyCapExhausted]);
                prop_assert!(rest.is_some_and(|r| r <= 0));
            }
            Decision::Subsidy { amount, steps, applied } => {
                prop_assert!(expected.is_empty());
                let Some(DrgOutcome::Grouped(code)) = Some(&s.drg) else { unreachable!() };
                let base = t[code].fen();
                let loyal = if s.consecutive_years >= 2 && r.loyalty_bonus_percent > 0 {
                    (base * (100 + i64::from(r.loyalty_bonus_percent)) + 50) / 100
                } else {
                    base
                };
                let mut want = loyal.max(r.min_subsidy.fen());
                if let Some(c) = r.per_stay_cap { want = want.min(c.fen()); }
                if let Some(rest) = rest { want = want.min(rest); }
                prop_assert_eq!(amount.fen(), want);
                prop_assert!(*amount > Fen::ZERO);
                // Never below the minimum, except when the yearly remainder is smaller.
                prop_assert!(*amount >= r.min_subsidy || rest == Some(amount.fen()));
                prop_assert!(r.per_stay_cap.is_none_or(|c| *amount <= c));
                prop_assert!(rest.is_none_or(|rest| amount.fen() <= rest));
                prop_assert_eq!(steps.len(), applied.len() + 1);
                prop_assert_eq!(steps[0].rule, StepKind::TableAmount);
                prop_assert_eq!(steps[0].amount_after.fen(), base);
                prop_assert_eq!(steps.last().unwrap().amount_after, *amount);
                for (step, reason) in steps[1..].iter().zip(applied) {
                    let kind = match reason {
                        Reason::LoyaltyBonus => StepKind::LoyaltyBonus,
                        Reason::MinSubsidy => StepKind::MinSubsidy,
                        Reason::PerStayCap => StepKind::PerStayCap,
                        Reason::YearlyCap => StepKind::YearlyCap,
                        other => return Err(TestCaseError::fail(format!("{other:?} applied"))),
                    };
                    prop_assert_eq!(step.rule, kind);
                }
            }
        }
    }

    /// The bonus is exactly p % of the table amount, rounded half up, before minimum and caps:
    /// 100 × after − base × (100 + p) lies in (−50, 50].
    #[test]
    fn loyalty_is_exactly_p_per_cent_half_up(r in rules(), s in stay()) {
        let t = table();
        let s = Stay { consecutive_years: s.consecutive_years.max(2), ..s };
        if let Decision::Subsidy { steps, applied, .. } = decide(&r, &t, &s, Fen::ZERO) {
            if r.loyalty_bonus_percent == 0 {
                prop_assert!(!applied.contains(&Reason::LoyaltyBonus));
            } else {
                prop_assert_eq!(&applied[0], &Reason::LoyaltyBonus);
                let base = i128::from(steps[0].amount_after.fen());
                let after = i128::from(steps[1].amount_after.fen());
                let diff = 100 * after - base * (100 + i128::from(r.loyalty_bonus_percent));
                prop_assert!(-50 < diff && diff <= 50, "diff {}", diff);
            }
        }
    }

    /// Over any sequence of stays of one member, the approved total never passes the yearly cap
    /// and no single subsidy passes the per-stay cap.
    #[test]
    fn the_yearly_cap_holds_over_any_sequence(
        r in rules(),
        stays in proptest::collection::vec(stay(), 1..40),
    ) {
        let t = table();
        let mut approved = Fen::ZERO;
        for s in &stays {
            let d = decide(&r, &t, s, approved);
            prop_assert!(r.per_stay_cap.is_none_or(|c| d.amount() <= c));
            approved = approved.checked_add(d.amount()).unwrap();
            prop_assert!(r.yearly_cap.is_none_or(|c| approved <= c));
        }
    }

    /// `decide` is total: absurd rules, tables and totals never make it panic, and a subsidy
    /// still respects the caps.
    #[test]
    fn never_panics(
        min in any::<i64>(),
        cap in proptest::option::of(any::<i64>()),
        yearly in proptest::option::of(any::<i64>()),
        p in any::<u32>(),
        amount in any::<i64>(),
        approved in any::<i64>(),
        years in any::<u32>(),
        total in any::<i64>(),
        oop in any::<i64>(),
    ) {
        let r = SubsidyRules {
            period_start: day(0),
            period_end: day(364),
            thresholds: ClaimThresholds {
                resident: ClaimThreshold::out_of_pocket(0),
                employee: ClaimThreshold::out_of_pocket(0),
                uninsured: ClaimThreshold::total_cost(0),
            },
            min_subsidy: Fen(min),
            per_stay_cap: cap.map(Fen),
            yearly_cap: yearly.map(Fen),
            loyalty_bonus_percent: p,
            exclusions: vec![],
        };
        let t: BTreeMap<String, Fen> = [("X".to_string(), Fen(amount))].into();
        let s = Stay {
            insurance: InsuranceType::Resident,
            consecutive_years: years,
            admission: day(10),
            discharge: day(12),
            total_cost: Fen(total),
            out_of_pocket: Fen(oop),
            drg: DrgOutcome::Grouped("X".into()),
            exclusions: vec![],
        };
        let d = decide(&r, &t, &s, Fen(approved));
        if let Decision::Subsidy { amount, .. } = d {
            prop_assert!(amount > Fen::ZERO);
            prop_assert!(cap.is_none_or(|c| amount.fen() <= c));
            let approved = approved.max(0);
            prop_assert!(yearly.is_none_or(|y| i128::from(amount.fen()) <= i128::from(y) - i128::from(approved)));
        }
    }
}
