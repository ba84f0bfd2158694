//! Worked examples from the five documents in `shared/rules/`, with the documents' numbers.

use chrono::NaiveDate;
use domain::{Fen, InsuranceType, SpecialStatus};
use scheme::*;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y)
}

fn village(code: &str, name: &str, registered: u64, enrolled: u64) -> VillageInput {
    VillageInput {
        code: code.to_string(),
        name: name.to_string(),
        registered,
        enrolled,
        ..Default::default()
    }
}

fn households(mut v: VillageInput, registered: u64, enrolled: u64) -> VillageInput {
    v.registered_households = registered;
    v.enrolled_households = enrolled;
    v
}

fn shares(dues: &MemberDues) -> Vec<(Payer, i64)> {
    dues.parts.iter().map(|(p, f)| (*p, f.0 / 100)).collect()
}

const VILLAGE: &str = "370323104201";

// ---------------------------------------------------------------- 沂源 大张庄

fn yiyuan() -> SchemeRules {
    template("yiyuan-dazhangzhuang", 2023).unwrap().rules
}

#[test]
fn yiyuan_village_at_79_9_percent_is_not_counted_at_80_it_is() {
    let r = yiyuan();
    let p = pool_figures(
        &r,
        &[
            village("370323104201", "张庄村", 1000, 799),
            village("370323104202", "明末村", 1000, 800),
        ],
    );
    assert_eq!(p.villages[0].rate_permille, 799);
    assert!(!p.villages[0].counted && !p.villages[0].meets_threshold);
    assert_eq!(p.villages[1].rate_permille, 800);
    assert!(p.villages[1].counted);
    // The 799 members of the village left out are not in the pool, but its residents still
    // count in the town's registered population.
    assert_eq!(p.enrolled, 800);
    assert_eq!(p.enrolled_not_counted, 799);
    assert_eq!(p.registered, 2000);
    assert_eq!(p.villages[0].dues_by_payer, Default::default());
}

#[test]
fn yiyuan_reward_tiers_by_town_participation() {
    let r = yiyuan();
    let reward = |registered, enrolled| {
        r.reward_per_person(participation_rate_permille(registered, enrolled))
    };
    assert_eq!(reward(10_000, 1_999), Fen::ZERO); // 19.99%: nothing
    assert_eq!(reward(10_000, 2_000), yuan(10)); // 20% (含20%)
    assert_eq!(reward(10_000, 2_999), yuan(10)); // 29.99%
    assert_eq!(reward(10_000, 3_000), yuan(20)); // 30%
    assert_eq!(reward(10_000, 3_999), yuan(20));
    assert_eq!(reward(10_000, 4_000), yuan(30)); // 40% and above
    assert_eq!(reward(10_000, 10_000), yuan(30));
}

#[test]
fn yiyuan_poor_members_paid_by_the_county_and_placed_in_xingfu_shequ() {
    let r = yiyuan();
    for status in [
        SpecialStatus::PovertyMonitored,
        SpecialStatus::PovertyAlleviated,
    ] {
        let dues = r.dues_for_member(VILLAGE, &[status]);
        assert_eq!(shares(&dues), vec![(Payer::County, 50)]);
        assert_eq!(dues.personal(), Fen::ZERO);
        assert_eq!(dues.personal_part_paid_by, Some(Payer::County));
        assert!(r.in_special_village(&[status]));
    }
    assert_eq!(r.special_village.as_ref().unwrap().name, "幸福社区");
    // 低保 alone is not named by the document: the member pays.
    let dues = r.dues_for_member(VILLAGE, &[SpecialStatus::MinimumLiving]);
    assert_eq!(shares(&dues), vec![(Payer::Personal, 50)]);
    assert!(!r.in_special_village(&[SpecialStatus::MinimumLiving]));
}

#[test]
fn yiyuan_village_collective_takes_on_part_of_the_personal_fee() {
    // "村集体经济可…对群众个人出资部分给予补助": a village paying 20 leaves 30 for the member.
    let mut r = yiyuan();
    r.village_collective_overrides
        .insert(VILLAGE.to_string(), yuan(20));
    assert_eq!(r.validate(), Ok(()));
    let dues = r.dues_for_member(VILLAGE, &[]);
    assert_eq!(
        shares(&dues),
        vec![(Payer::Personal, 30), (Payer::VillageCollective, 20)]
    );
    // Other villages keep the standard.
    assert_eq!(r.dues_for_member("370323104299", &[]).personal(), yuan(50));
    // A village cannot pay more than the fee.
    r.village_collective_overrides
        .insert(VILLAGE.to_string(), yuan(60));
    let errors = r.validate().unwrap_err();
    assert!(matches!(
        errors[0],
        RuleError::OverrideLeavesNegative { .. }
    ));
}

#[test]
fn yiyuan_town_below_2000_members_fails_the_minimum() {
    let r = yiyuan();
    let small = pool_figures(&r, &[village(VILLAGE, "张庄村", 2_400, 1_999)]);
    assert!(!small.meets_min_size);
    let enough = pool_figures(&r, &[village(VILLAGE, "张庄村", 2_400, 2_000)]);
    assert!(enough.meets_min_size);
}

#[test]
fn yiyuan_whole_town_money() {
    let r = yiyuan();
    let mut xingfu = village("370323104900", "幸福社区", 300, 300);
    xingfu.special = true;
    xingfu.enrolled_by_statuses = vec![
        StatusCount {
            statuses: vec![SpecialStatus::PovertyAlleviated],
            count: 200,
        },
        StatusCount {
            statuses: vec![SpecialStatus::PovertyMonitored],
            count: 100,
        },
    ];
    let p = pool_figures(
        &r,
        &[
            village("370323104201", "张庄村", 1_200, 1_000), // 833‰
            village("370323104202", "明末村", 900, 719),     // 798‰: left out
            village("370323104203", "旋峰村", 1_500, 1_200), // 800‰
            xingfu,
            village("370323104204", "曹家庄村", 2_500, 100), // 40‰: left out
        ],
    );
    assert_eq!(p.registered, 6_400);
    assert_eq!(p.enrolled, 2_500);
    assert_eq!(p.enrolled_not_counted, 819);
    // 2,500 / 6,400 = 39.06%: the 30–40% tier.
    assert_eq!(p.rate_permille, 390);
    assert_eq!(p.reward_per_person, yuan(20));
    assert_eq!(p.reward_total, yuan(50_000));
    assert!(p.meets_min_size);
    assert_eq!(p.dues_by_payer[&Payer::Personal], yuan(50 * 2_200));
    assert_eq!(p.dues_by_payer[&Payer::County], yuan(50 * 300));
    assert_eq!(p.dues_by_payer[&Payer::Government], yuan(50_000));
    assert_eq!(p.total_due, yuan(50 * 2_500 + 50_000));
    let xingfu = &p.villages[3];
    assert!(xingfu.counted && xingfu.special);
    assert_eq!(p.villages_taking_part, 2);
    assert_eq!(p.towns.len(), 1);
    assert_eq!(p.towns[0].code, "370323104");
    assert_eq!(p.towns[0].registered, 6_100);
}

#[test]
fn yiyuan_claim_thresholds_and_dates() {
    let r = yiyuan();
    let resident = r.claim_threshold(InsuranceType::Resident);
    assert!(!resident.is_met(yuan(20_000), Fen(249_999)));
    assert!(resident.is_met(yuan(20_000), yuan(2_500)));
    assert_eq!(r.claim_threshold(InsuranceType::Employee), resident);
    let uninsured = r.claim_threshold(InsuranceType::Uninsured);
    assert_eq!(uninsured.basis, CostBasis::TotalCost);
    assert!(!uninsured.is_met(Fen(499_999), Fen(499_999)));
    assert!(uninsured.is_met(yuan(5_000), yuan(5_000)));
    assert_eq!(uninsured.label_zh(), "单次住院总费用≥5,000元");
    assert_eq!(r.min_subsidy, yuan(300));
    assert_eq!(
        (r.period_start, r.period_end),
        (d(2023, 1, 1), d(2023, 12, 31))
    );
    assert_eq!(r.benefits_start, d(2023, 7, 1));
    assert!(r.in_payment_window(d(2023, 5, 21)) && r.in_payment_window(d(2023, 6, 30)));
    assert!(!r.in_payment_window(d(2023, 5, 20)) && !r.in_payment_window(d(2023, 7, 1)));
    // Admissions from 1 January are covered even though payments start in July.
    assert!(r.in_period(d(2023, 1, 1)));
    assert_eq!(r.exclusions, Exclusion::STANDARD.to_vec());
    // 5 working days: claim received Friday 22 Sep 2023, before the 29 Sep – 6 Oct holiday with
    // 7 and 8 Oct worked: Mon 25, Tue 26, Wed 27, Thu 28 Sep, Sat 7 Oct.
    assert_eq!(r.decision_due(d(2023, 9, 22)), d(2023, 10, 7));
}

// ---------------------------------------------------------------- 大丰 草庙

fn dafeng() -> SchemeRules {
    template("dafeng-caomiao", 2024).unwrap().rules
}

#[test]
fn dafeng_60_is_40_personal_and_20_town_and_village() {
    let mut r = dafeng();
    let v = "320982106201";
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![(Payer::Personal, 40), (Payer::Town, 20)]
    );
    // A village that pays 8 of the 20: the town pays the other 12, the member still 40.
    r.village_collective_overrides
        .insert(v.to_string(), yuan(8));
    assert_eq!(r.validate(), Ok(()));
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![
            (Payer::Personal, 40),
            (Payer::VillageCollective, 8),
            (Payer::Town, 12)
        ]
    );
    // No status changes the member's 40 in this document.
    assert_eq!(
        r.dues_for_member(v, &[SpecialStatus::MinimumLiving])
            .personal(),
        yuan(40)
    );
}

#[test]
fn dafeng_window_payouts_and_notice() {
    let r = dafeng();
    assert!(r.in_payment_window(d(2024, 6, 1)) && r.in_payment_window(d(2024, 6, 30)));
    assert!(!r.in_payment_window(d(2024, 7, 1)));
    assert_eq!(r.benefits_start, d(2024, 7, 1));
    // "公示时间不少于7天": a list posted on 1 August may be paid from 8 August.
    assert_eq!(r.notice_days, 7);
    assert_eq!(r.payout_allowed_from(d(2024, 8, 1)), d(2024, 8, 8));
    // All 16 villages take part; no threshold leaves any out.
    let p = pool_figures(&r, &[village("320982106201", "草庙村", 1_000, 100)]);
    assert!(p.villages[0].counted);
    assert!(p.meets_min_size);
    assert_eq!(p.reward_per_person, Fen::ZERO);
    assert_eq!(p.dues_by_payer[&Payer::Personal], yuan(4_000));
    assert_eq!(p.dues_by_payer[&Payer::Town], yuan(2_000));
}

// ---------------------------------------------------------------- 安吉

fn anji() -> SchemeRules {
    template("anji", 2024).unwrap().rules
}

#[test]
fn anji_year_runs_august_to_july() {
    let r = anji();
    assert_eq!(r.pool_level, PoolLevel::County);
    assert_eq!(
        (r.period_start, r.period_end),
        (d(2024, 8, 1), d(2025, 7, 31))
    );
    assert!(r.in_period(d(2025, 7, 31)) && !r.in_period(d(2025, 8, 1)));
    assert!(r.in_payment_window(d(2024, 5, 20)) && r.in_payment_window(d(2024, 7, 20)));
    assert!(!r.in_payment_window(d(2024, 7, 21)));
    // The calendar reaches into 2025 and 2026 for deadlines.
    assert!(r.calendar.has_year(2024) && r.calendar.has_year(2025) && r.calendar.has_year(2026));
}

#[test]
fn anji_thresholds_3500_2500_7000() {
    let r = anji();
    let cases = [
        (InsuranceType::Resident, 3_500),
        (InsuranceType::Employee, 2_500),
        (InsuranceType::Uninsured, 7_000),
    ];
    for (ins, y) in cases {
        let t = r.claim_threshold(ins);
        assert_eq!(t.basis, CostBasis::OutOfPocket, "{ins:?}");
        assert!(t.is_met(yuan(50_000), yuan(y)));
        assert!(!t.is_met(yuan(50_000), yuan(y) - Fen(1)));
    }
    assert_eq!(r.loyalty_bonus_percent, 10);
    assert_eq!(r.min_subsidy, yuan(300));
}

#[test]
fn anji_personal_at_least_30_and_low_income_covered_by_charity() {
    let mut r = anji();
    let v = "330523101201";
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![(Payer::Personal, 30), (Payer::Town, 50)]
    );
    let dues = r.dues_for_member(v, &[SpecialStatus::MinimumLiving]);
    assert_eq!(shares(&dues), vec![(Payer::Town, 50), (Payer::Charity, 30)]);
    // A town paying 30 and its village 10: the member pays 40.
    r.town_overrides.insert("330523101".to_string(), yuan(30));
    r.village_collective_overrides
        .insert(v.to_string(), yuan(10));
    assert_eq!(r.validate(), Ok(()));
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![
            (Payer::Personal, 40),
            (Payer::VillageCollective, 10),
            (Payer::Town, 30)
        ]
    );
    // Not below 30: a village adding 20 to the town's 50 would leave the member 10.
    r.village_collective_overrides
        .insert("330523102201".to_string(), yuan(20));
    let errors = r.validate().unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(
        errors[0].to_string(),
        "村330523102201按调整后的标准，个人出资为10元，低于最低个人出资30元"
    );
}

#[test]
fn anji_participation_of_70_percent_is_reported() {
    let r = anji();
    let p = pool_figures(
        &r,
        &[
            village("330523101201", "大溪村", 1_000, 699),
            village("330523101202", "横路村", 1_000, 700),
            village("330523102201", "山川村", 500, 450),
        ],
    );
    assert!(!p.villages[0].meets_threshold && p.villages[0].counted);
    assert!(p.villages[1].meets_threshold);
    assert_eq!(p.enrolled, 1_849);
    // Per town, for the county pool: 1,399 / 2,000 = 699‰ and 450 / 500 = 900‰.
    assert_eq!(p.towns.len(), 2);
    assert_eq!(
        (p.towns[0].rate_permille, p.towns[0].meets_threshold),
        (699, false)
    );
    assert_eq!(
        (p.towns[1].rate_permille, p.towns[1].meets_threshold),
        (900, true)
    );
    assert!(p.meets_village_share);
}

// ---------------------------------------------------------------- 海安

fn haian() -> SchemeRules {
    template("haian", 2022).unwrap().rules
}

#[test]
fn haian_100_is_50_personal_and_the_rest_from_town_and_village() {
    let mut r = haian();
    let v = "320621104201";
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![(Payer::Personal, 50), (Payer::Town, 50)]
    );
    r.village_collective_overrides
        .insert(v.to_string(), yuan(20));
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![
            (Payer::Personal, 50),
            (Payer::VillageCollective, 20),
            (Payer::Town, 30)
        ]
    );
}

#[test]
fn haian_six_groups_of_poor_people_do_not_take_part() {
    let r = haian();
    for s in SpecialStatus::ALL {
        assert_eq!(r.ineligible_status(&[s]), Some(s));
    }
    assert_eq!(r.ineligible_status(&[]), None);
}

#[test]
fn haian_household_participation_and_share_of_villages() {
    let r = haian();
    let p = pool_figures(
        &r,
        &[
            households(village("320621104201", "甲村", 400, 100), 100, 30), // 30% of households
            households(village("320621104202", "乙村", 400, 90), 100, 29),  // 29%
            households(village("320621104203", "丙村", 400, 0), 100, 0),
            households(village("320621104204", "丁村", 400, 0), 100, 0),
        ],
    );
    assert_eq!(p.villages[0].rate_permille, 300);
    assert!(p.villages[0].meets_threshold);
    assert!(!p.villages[1].meets_threshold && p.villages[1].counted);
    // 2 of 4 villages take part: the 50% target is met exactly.
    assert_eq!(p.village_share_permille, 500);
    assert!(p.meets_village_share);
    let fewer = pool_figures(&r, &p_inputs_with_one_taking_part());
    assert!(!fewer.meets_village_share);
}

fn p_inputs_with_one_taking_part() -> Vec<VillageInput> {
    vec![
        households(village("320621104201", "甲村", 400, 100), 100, 30),
        households(village("320621104202", "乙村", 400, 0), 100, 0),
        households(village("320621104203", "丙村", 400, 0), 100, 0),
    ]
}

// ---------------------------------------------------------------- 苏州

fn suzhou() -> SchemeRules {
    template("suzhou", 2025).unwrap().rules
}

#[test]
fn suzhou_fee_100_with_at_least_half_from_the_member() {
    let mut r = suzhou();
    let v = "320506101201";
    assert_eq!(
        shares(&r.dues_for_member(v, &[])),
        vec![(Payer::Personal, 50), (Payer::VillageCollective, 50)]
    );
    r.village_collective_overrides
        .insert(v.to_string(), yuan(30));
    assert_eq!(r.dues_for_member(v, &[]).personal(), yuan(70));
    r.village_collective_overrides
        .insert(v.to_string(), yuan(60));
    let errors = r.validate().unwrap_err();
    assert!(matches!(
        errors[..],
        [RuleError::OverrideBelowMinimum { personal, minimum, .. }] if personal == yuan(40) && minimum == yuan(50)
    ));
    // The town pays the personal part of 低保 members, as encouraged.
    r.village_collective_overrides.clear();
    assert_eq!(
        shares(&r.dues_for_member(v, &[SpecialStatus::MinimumLiving])),
        vec![(Payer::VillageCollective, 50), (Payer::Town, 50)]
    );
}

#[test]
fn suzhou_fees_only_in_the_45_days_before_subsidies_start() {
    let r = suzhou();
    let days: Vec<_> = r
        .payment_window_start
        .iter_days()
        .take_while(|x| *x < r.benefits_start)
        .collect();
    assert_eq!(days.len(), 45);
    assert!(days.iter().all(|x| r.in_payment_window(*x)));
    assert!(!r.in_payment_window(r.benefits_start));
    assert!(!r.in_payment_window(d(2024, 11, 16)));
    assert_eq!(r.drg_version, "chs-drg-2.0");
    assert_eq!(r.decision_working_days, 5);
}

// ---------------------------------------------------------------- all templates

#[test]
fn every_template_validates_for_every_year_and_round_trips_as_json() {
    for year in 2022..=2030 {
        let all = templates(year);
        assert_eq!(
            all.iter().map(|t| t.key).collect::<Vec<_>>(),
            TEMPLATE_KEYS.to_vec()
        );
        for t in all {
            assert_eq!(t.rules.validate(), Ok(()), "{} {year}", t.key);
            assert!(!t.to_confirm_zh.is_empty());
            let json = serde_json::to_string(&t.rules).unwrap();
            let back: SchemeRules = serde_json::from_str(&json).unwrap();
            assert_eq!(back, t.rules, "{}", t.key);
            let next = t.rules.next_year();
            assert_eq!(next.validate(), Ok(()), "{} after {year}", t.key);
            assert!(next.money_fields_differ(&t.rules));
        }
    }
    assert!(template("nowhere", 2024).is_none());
}

#[test]
fn templates_carry_the_national_holidays_they_need() {
    let r = template("yiyuan-dazhangzhuang", 2025).unwrap().rules;
    assert!(r.calendar.has_year(2025) && r.calendar.has_year(2026));
    assert!(!r.calendar.has_year(2024));
    assert!(!r.calendar.is_working_day(d(2025, 10, 8)));
    // Years this crate does not know stay empty, for the administrator to enter.
    let later = template("yiyuan-dazhangzhuang", 2027).unwrap().rules;
    assert!(!later.calendar.has_year(2027));
    let haian_2022 = template("haian", 2022).unwrap().rules;
    assert!(!haian_2022.calendar.has_year(2022) && haian_2022.calendar.has_year(2023));
}

#[test]
fn stored_json_reads_as_the_database_will_see_it() {
    let r = template("dafeng-caomiao", 2024).unwrap().rules;
    let v: serde_json::Value = serde_json::to_value(&r).unwrap();
    assert_eq!(v["fee_per_person"], 6000);
    assert_eq!(v["period_start"], "2024-01-01");
    assert_eq!(v["balancing"], "town");
    assert_eq!(v["pool_level"], "town");
    assert_eq!(
        v["service_fee"],
        serde_json::json!({"percent": {"basis_points": 0}})
    );
    assert_eq!(
        v["thresholds"]["uninsured"],
        serde_json::json!({"basis": "out_of_pocket", "amount": 500000})
    );
    assert_eq!(v["calendar"]["adjusted_workdays"][0], "2024-02-04");
}
