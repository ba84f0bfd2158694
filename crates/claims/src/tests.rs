//! The worked examples of the rule documents (`shared/rules/`), with the thresholds of
//! `scheme::templates`.

use super::*;
use scheme::template;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn rules(key: &str) -> SubsidyRules {
    SubsidyRules::from_scheme(&template(key, 2024).unwrap().rules)
}

fn table() -> BTreeMap<String, Fen> {
    [
        ("ES23", 120_000),
        ("GB15", 950_000),
        ("BR25", 20_000),
        ("RE11", 1_235),
        ("OB19", 0),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), Fen(v)))
    .collect()
}

/// A stay in 沂源's 2024 period, grouped in ES23 (1,200 yuan).
fn stay(insurance: InsuranceType, total_yuan: &str, oop_yuan: &str) -> Stay {
    Stay {
        insurance,
        consecutive_years: 1,
        admission: d(2024, 9, 3),
        discharge: d(2024, 9, 12),
        total_cost: Fen::parse_yuan(total_yuan).unwrap(),
        out_of_pocket: Fen::parse_yuan(oop_yuan).unwrap(),
        drg: DrgOutcome::Grouped("ES23".into()),
        exclusions: vec![],
    }
}

fn refused(reasons: &[Reason]) -> Decision {
    Decision::Refused {
        reasons: reasons.to_vec(),
    }
}

fn yuan(s: &str) -> Fen {
    Fen::parse_yuan(s).unwrap()
}

#[test]
fn yiyuan_insured_below_2500_out_of_pocket_is_refused() {
    let r = rules("yiyuan-dazhangzhuang");
    for ins in [InsuranceType::Resident, InsuranceType::Employee] {
        let s = stay(ins, "9000", "2499.99");
        assert_eq!(
            decide(&r, &table(), &s, Fen::ZERO),
            refused(&[Reason::BelowThreshold])
        );
        assert_eq!(
            Reason::BelowThreshold.explain_zh(&r, &s, Fen::ZERO),
            format!(
                "自付费用未达起付线（{} 自付 2,500 元，本次 2,499.99 元）",
                ins.label_zh()
            )
        );
        // "≥2500元": exactly the threshold qualifies.
        let s = stay(ins, "9000", "2500");
        assert_eq!(decide(&r, &table(), &s, Fen::ZERO).amount(), yuan("1200"));
    }
}

#[test]
fn yiyuan_uninsured_by_total_cost_5000() {
    let r = rules("yiyuan-dazhangzhuang");
    // The uninsured pay everything; the rule looks at the total cost.
    let s = stay(InsuranceType::Uninsured, "5000", "5000");
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO),
        Decision::Subsidy {
            amount: yuan("1200"),
            steps: vec![Step {
                rule: StepKind::TableAmount,
                amount_after: yuan("1200")
            }],
            applied: vec![],
        }
    );
    let s = stay(InsuranceType::Uninsured, "4999.99", "4999.99");
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO),
        refused(&[Reason::BelowThreshold])
    );
    assert_eq!(
        Reason::BelowThreshold.explain_zh(&r, &s, Fen::ZERO),
        "住院总费用未达起付线（未参保人员 总费用 5,000 元，本次 4,999.99 元）"
    );
}

fn anji_stay(insurance: InsuranceType, oop: &str, drg: &str, years: u32) -> Stay {
    Stay {
        insurance,
        consecutive_years: years,
        admission: d(2025, 3, 10),
        discharge: d(2025, 3, 20),
        total_cost: yuan("20000"),
        out_of_pocket: yuan(oop),
        drg: DrgOutcome::Grouped(drg.into()),
        exclusions: vec![],
    }
}

#[test]
fn anji_thresholds_by_insurance() {
    let r = rules("anji");
    let t = table();
    // 城镇职工 ≥2500: subsidised.
    let s = anji_stay(InsuranceType::Employee, "2600", "ES23", 1);
    assert_eq!(decide(&r, &t, &s, Fen::ZERO).amount(), yuan("1200"));
    // 城乡居民 ≥3500: 2,600 is refused.
    let s = anji_stay(InsuranceType::Resident, "2600", "ES23", 1);
    assert_eq!(
        decide(&r, &t, &s, Fen::ZERO),
        refused(&[Reason::BelowThreshold])
    );
    let s = anji_stay(InsuranceType::Resident, "3500", "ES23", 1);
    assert_eq!(decide(&r, &t, &s, Fen::ZERO).amount(), yuan("1200"));
    // 未参保 ≥7000 out of pocket.
    let s = anji_stay(InsuranceType::Uninsured, "7000", "ES23", 1);
    assert_eq!(decide(&r, &t, &s, Fen::ZERO).amount(), yuan("1200"));
    let s = anji_stay(InsuranceType::Uninsured, "6999.99", "ES23", 1);
    assert_eq!(
        decide(&r, &t, &s, Fen::ZERO),
        refused(&[Reason::BelowThreshold])
    );
}

#[test]
fn anji_ten_per_cent_more_from_the_second_consecutive_year() {
    let r = rules("anji");
    let t = table();
    let first = anji_stay(InsuranceType::Employee, "2600", "ES23", 1);
    assert_eq!(decide(&r, &t, &first, Fen::ZERO).amount(), yuan("1200"));
    let second = anji_stay(InsuranceType::Employee, "2600", "ES23", 2);
    let decision = decide(&r, &t, &second, Fen::ZERO);
    assert_eq!(
        decision,
        Decision::Subsidy {
            amount: yuan("1320"),
            steps: vec![
                Step {
                    rule: StepKind::TableAmount,
                    amount_after: yuan("1200")
                },
                Step {
                    rule: StepKind::LoyaltyBonus,
                    amount_after: yuan("1320")
                },
            ],
            applied: vec![Reason::LoyaltyBonus],
        }
    );
    let Decision::Subsidy { steps, .. } = &decision else {
        unreachable!()
    };
    assert_eq!(
        explain_steps_zh(steps, &r),
        "病组定额 1,200.00 → 连续参保 +10% 1,320.00"
    );
    assert_eq!(
        Reason::LoyaltyBonus.explain_zh(&r, &second, Fen::ZERO),
        "连续参加第 2 年，补助金额提高 10%"
    );
    // 0 and 1 are the first year.
    let zero = anji_stay(InsuranceType::Employee, "2600", "ES23", 0);
    assert_eq!(decide(&r, &t, &zero, Fen::ZERO).amount(), yuan("1200"));
    // 沂源 gives no bonus.
    let yiyuan = rules("yiyuan-dazhangzhuang");
    let mut s = stay(InsuranceType::Resident, "9000", "3000");
    s.consecutive_years = 5;
    assert_eq!(
        decide(&yiyuan, &t, &s, Fen::ZERO).reasons(),
        &[] as &[Reason]
    );
}

#[test]
fn loyalty_rounds_half_up_to_the_fen() {
    assert_eq!(with_percent(Fen(1_235), 10), Fen(1_359)); // 1,358.5
    assert_eq!(with_percent(Fen(1_234), 10), Fen(1_357)); // 1,357.4
    assert_eq!(with_percent(Fen(1_005), 10), Fen(1_106)); // 1,105.5
    assert_eq!(with_percent(Fen(5), 10), Fen(6)); // 5.5
    assert_eq!(with_percent(Fen(i64::MAX), 100), Fen(i64::MAX));
    assert_eq!(with_percent(Fen(i64::MIN), 100), Fen(i64::MIN));
}

#[test]
fn minimum_300_after_the_bonus() {
    let r = rules("anji");
    let t = table();
    // BR25: 200 yuan, +10% = 220, raised to 300.
    let s = anji_stay(InsuranceType::Employee, "2600", "BR25", 3);
    let decision = decide(&r, &t, &s, Fen::ZERO);
    assert_eq!(decision.amount(), yuan("300"));
    assert_eq!(
        decision.reasons(),
        &[Reason::LoyaltyBonus, Reason::MinSubsidy]
    );
    let Decision::Subsidy { steps, .. } = &decision else {
        unreachable!()
    };
    assert_eq!(
        explain_steps_zh(steps, &r),
        "病组定额 200.00 → 连续参保 +10% 220.00 → 最低补助 300.00"
    );
    assert_eq!(
        Reason::MinSubsidy.explain_zh(&r, &s, Fen::ZERO),
        "单次住院最低补助 300 元"
    );
    // RE11: 12.35 yuan → 13.59 → 300.
    let s = anji_stay(InsuranceType::Employee, "2600", "RE11", 2);
    assert_eq!(
        decide(&r, &t, &s, Fen::ZERO),
        Decision::Subsidy {
            amount: yuan("300"),
            steps: vec![
                Step {
                    rule: StepKind::TableAmount,
                    amount_after: Fen(1_235)
                },
                Step {
                    rule: StepKind::LoyaltyBonus,
                    amount_after: Fen(1_359)
                },
                Step {
                    rule: StepKind::MinSubsidy,
                    amount_after: yuan("300")
                },
            ],
            applied: vec![Reason::LoyaltyBonus, Reason::MinSubsidy],
        }
    );
}

fn capped_anji() -> SubsidyRules {
    SubsidyRules {
        per_stay_cap: Some(yuan("10000")),
        yearly_cap: Some(yuan("15000")),
        ..rules("anji")
    }
}

#[test]
fn per_stay_cap_after_the_bonus() {
    let r = capped_anji();
    assert!(r.check().is_empty());
    // GB15: 9,500, +10% = 10,450, capped at 10,000.
    let s = anji_stay(InsuranceType::Resident, "12000", "GB15", 2);
    let decision = decide(&r, &table(), &s, Fen::ZERO);
    assert_eq!(decision.amount(), yuan("10000"));
    assert_eq!(
        decision.reasons(),
        &[Reason::LoyaltyBonus, Reason::PerStayCap]
    );
    let Decision::Subsidy { steps, .. } = &decision else {
        unreachable!()
    };
    assert_eq!(
        explain_steps_zh(steps, &r),
        "病组定额 9,500.00 → 连续参保 +10% 10,450.00 → 单次封顶 10,000.00"
    );
    // First year: 9,500 is under the cap.
    let s = anji_stay(InsuranceType::Resident, "12000", "GB15", 1);
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO).reasons(),
        &[] as &[Reason]
    );
}

#[test]
fn yearly_cap_leaves_the_remainder_then_refuses() {
    let r = capped_anji();
    let t = table();
    let s = anji_stay(InsuranceType::Resident, "12000", "GB15", 1);
    // Two stays of 9,500 in a year with a 15,000 cap: 9,500, then 5,500, then nothing.
    let mut approved = Fen::ZERO;
    let mut amounts = vec![];
    for _ in 0..3 {
        let decision = decide(&r, &t, &s, approved);
        approved += decision.amount();
        amounts.push((decision.amount(), decision.reasons().to_vec()));
    }
    assert_eq!(
        amounts,
        vec![
            (yuan("9500"), vec![]),
            (yuan("5500"), vec![Reason::YearlyCap]),
            (Fen::ZERO, vec![Reason::YearlyCapExhausted]),
        ]
    );
    assert_eq!(
        decide(&r, &t, &s, yuan("15000")),
        refused(&[Reason::YearlyCapExhausted])
    );
    assert_eq!(
        Reason::YearlyCapExhausted.explain_zh(&r, &s, yuan("15000")),
        "年度累计最高补助 15,000 元，本年度已补助 15,000 元，已无剩余额度，本次不再补助"
    );
    assert_eq!(
        Reason::YearlyCap.explain_zh(&r, &s, yuan("9500")),
        "年度累计最高补助 15,000 元，本年度已补助 9,500 元，本次按剩余 5,500 元补助"
    );
    // A remainder below the minimum is paid as it is: the yearly cap is the last word.
    let small = anji_stay(InsuranceType::Resident, "12000", "BR25", 1);
    let decision = decide(&r, &t, &small, yuan("14900"));
    assert_eq!(decision.amount(), yuan("100"));
    assert_eq!(decision.reasons(), &[Reason::MinSubsidy, Reason::YearlyCap]);
    // Ineligible stays say why they are ineligible, not that the cap is used up.
    let below = anji_stay(InsuranceType::Resident, "100", "GB15", 1);
    assert_eq!(
        decide(&r, &t, &below, yuan("15000")),
        refused(&[Reason::BelowThreshold])
    );
}

#[test]
fn every_reason_is_reported_in_order() {
    let r = rules("anji");
    let mut s = anji_stay(InsuranceType::Resident, "100", "ZZ99", 1);
    s.admission = d(2025, 8, 1);
    // In the stay's order the other way round; reported in the rules' order.
    s.exclusions = vec![Exclusion::ThirdParty, Exclusion::WorkInjury];
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO),
        refused(&[
            Reason::NotInPeriod,
            Reason::Excluded(Exclusion::WorkInjury),
            Reason::Excluded(Exclusion::ThirdParty),
            Reason::BelowThreshold,
            Reason::DrgNotInTable,
        ])
    );
    s.drg = DrgOutcome::Ungroupable;
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO).reasons().last(),
        Some(&Reason::Ungroupable)
    );
    let decision = decide(&r, &table(), &s, Fen::ZERO);
    let codes: Vec<&str> = decision.reasons().iter().map(Reason::code).collect();
    assert_eq!(
        codes,
        [
            "not_in_period",
            "work_injury",
            "third_party",
            "below_threshold",
            "ungroupable"
        ]
    );
}

#[test]
fn period_is_inclusive_at_both_ends() {
    let r = rules("anji");
    for (day, ok) in [
        (d(2024, 7, 31), false),
        (d(2024, 8, 1), true),
        (d(2025, 7, 31), true),
        (d(2025, 8, 1), false),
    ] {
        let mut s = anji_stay(InsuranceType::Employee, "2600", "ES23", 1);
        s.admission = day;
        let decision = decide(&r, &table(), &s, Fen::ZERO);
        assert_eq!(decision.amount() > Fen::ZERO, ok, "{day}");
    }
    let mut s = anji_stay(InsuranceType::Employee, "2600", "ES23", 1);
    s.admission = d(2025, 8, 1);
    assert_eq!(
        Reason::NotInPeriod.explain_zh(&r, &s, Fen::ZERO),
        "入院日期 2025-08-01 不在本年度互助期限（2024-08-01 至 2025-07-31）内"
    );
}

#[test]
fn exclusions_count_only_when_the_rules_list_them() {
    let mut r = rules("anji");
    let mut s = anji_stay(InsuranceType::Employee, "2600", "ES23", 1);
    s.exclusions = vec![Exclusion::Abroad];
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO),
        refused(&[Reason::Excluded(Exclusion::Abroad)])
    );
    assert_eq!(
        Reason::Excluded(Exclusion::Abroad).explain_zh(&r, &s, Fen::ZERO),
        "属于不予补助的情形：在国外和港澳台地区医院住院"
    );
    r.exclusions.retain(|e| *e != Exclusion::Abroad);
    assert_eq!(decide(&r, &table(), &s, Fen::ZERO).amount(), yuan("1200"));
    // A local exclusion matches by its words.
    let local = Exclusion::Other("酒后驾驶导致的伤害".into());
    r.exclusions.push(local.clone());
    s.exclusions = vec![local.clone()];
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO),
        refused(&[Reason::Excluded(local)])
    );
}

#[test]
fn a_drg_at_zero_in_the_table_is_not_lifted_to_the_minimum() {
    let r = rules("anji");
    let s = anji_stay(InsuranceType::Employee, "2600", "OB19", 1);
    assert_eq!(
        decide(&r, &table(), &s, Fen::ZERO),
        refused(&[Reason::DrgNotInTable])
    );
    assert_eq!(
        Reason::DrgNotInTable.explain_zh(&r, &s, Fen::ZERO),
        "病组 OB19 不在本年度病种补助标准表内"
    );
}

#[test]
fn hash_map_tables_and_references_work_too() {
    let r = rules("anji");
    let t: HashMap<String, Fen> = table().into_iter().collect();
    let s = anji_stay(InsuranceType::Employee, "2600", "ES23", 1);
    assert_eq!(decide(&r, &t, &s, Fen::ZERO).amount(), yuan("1200"));
    assert_eq!(decide(&r, &&t, &s, Fen::ZERO).amount(), yuan("1200"));
}

#[test]
fn check_reports_bad_overrides() {
    let mut r = capped_anji();
    r.per_stay_cap = Some(yuan("200"));
    r.yearly_cap = Some(yuan("100"));
    r.loyalty_bonus_percent = 150;
    r.min_subsidy = Fen(-1);
    let text: Vec<String> = r.check().iter().map(ToString::to_string).collect();
    assert_eq!(
        text,
        [
            "单次最低补助不能为负数",
            "年度累计最高补助（100元）低于单次最高补助（200元）",
            "连续参加的补助提高比例150%不合理（应在0%到100%之间）",
        ]
    );
    r.min_subsidy = yuan("300");
    assert!(r.check().contains(&RuleError::CapBelowMinimum {
        cap: yuan("200"),
        min: yuan("300")
    }));
    for key in scheme::TEMPLATE_KEYS {
        assert!(rules(key).check().is_empty(), "{key}");
    }
}

#[test]
fn decisions_round_trip_as_json() {
    let r = capped_anji();
    let s = anji_stay(InsuranceType::Resident, "12000", "GB15", 2);
    let decision = decide(&r, &table(), &s, Fen::ZERO);
    let json = serde_json::to_string(&decision).unwrap();
    assert_eq!(serde_json::from_str::<Decision>(&json).unwrap(), decision);
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<Stay>(&json).unwrap(), s);
}
