//! Ready-made rules for the five programmes in `shared/rules/`, for any start year.
//!
//! Each template follows its document; where the document is silent the choice is stated on
//! the template's function and listed, in Chinese, in [`Template::to_confirm_zh`] so the
//! administrator sees what to check before opening the year. Defaults shared by the silent
//! documents:
//! - claim thresholds 2,500 yuan out-of-pocket for the insured and 5,000 for the uninsured, and
//!   a minimum subsidy of 300 yuan: 沂源's figures, the only complete set from the same model of
//!   programme (安吉 has its own);
//! - per-stay and yearly caps left open: every document that mentions them has them set by the
//!   one-click design from the year's members and money;
//! - the exclusions all documents share ([`Exclusion::STANDARD`]);
//! - decisions within 5 working days (沂源, 安吉, 苏州 say so), 7 days' public notice (大丰);
//! - no service fee: it comes from the service agreement, which none of the documents quotes;
//! - CHS-DRG 2.0: 苏州 names CHS-DRG; 沂源 and 安吉 name CN-DRG, which Shouwang does not ship.

use chrono::NaiveDate;
use domain::{Fen, SpecialStatus};

use crate::calendar::WorkCalendar;
use crate::payer::{Payer, PoolLevel};
use crate::rules::{
    deadline_calendar, Balancing, ClaimThreshold, ClaimThresholds, Exclusion, FullSubsidy,
    RewardTier, SchemeRules, ServiceFee, SpecialVillage, ThresholdBasis,
};

#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub key: &'static str,
    pub name_zh: &'static str,
    pub region_hint: &'static str,
    /// The document in `shared/rules/` the template follows.
    pub source_file: &'static str,
    /// What the document leaves open and the template had to choose, for the administrator.
    pub to_confirm_zh: &'static [&'static str],
    pub rules: SchemeRules,
}

pub const TEMPLATE_KEYS: [&str; 5] = [
    "yiyuan-dazhangzhuang",
    "dafeng-caomiao",
    "anji",
    "haian",
    "suzhou",
];

/// All five, for the scheme year whose period starts in `year`.
pub fn templates(year: i32) -> Vec<Template> {
    vec![
        yiyuan_dazhangzhuang(year),
        dafeng_caomiao(year),
        anji(year),
        haian(year),
        suzhou(year),
    ]
}

pub fn template(key: &str, year: i32) -> Option<Template> {
    templates(year).into_iter().find(|t| t.key == key)
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).expect("valid template date")
}

const fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y)
}

const DEFAULT_THRESHOLDS: ClaimThresholds = ClaimThresholds {
    resident: ClaimThreshold::out_of_pocket(2500),
    employee: ClaimThreshold::out_of_pocket(2500),
    uninsured: ClaimThreshold::out_of_pocket(5000),
};

/// The parts every template shares; each template overrides what its document says.
fn common(name: &str, year: i32) -> SchemeRules {
    SchemeRules {
        programme_name: name.to_string(),
        pool_level: PoolLevel::Town,
        period_start: d(year, 1, 1),
        period_end: d(year, 12, 31),
        benefits_start: d(year, 1, 1),
        fee_per_person: Fen::ZERO,
        personal_part: Fen::ZERO,
        min_personal_part: Fen::ZERO,
        min_personal_permille: 0,
        village_collective_default: Fen::ZERO,
        village_collective_overrides: Default::default(),
        town_per_person: Fen::ZERO,
        town_overrides: Default::default(),
        county_per_person: Fen::ZERO,
        balancing: Balancing::Personal,
        full_subsidies: Vec::new(),
        ineligible_statuses: Vec::new(),
        special_village: None,
        reward_tiers: Vec::new(),
        village_threshold_permille: 0,
        village_threshold_basis: ThresholdBasis::Persons,
        below_threshold_excluded: false,
        min_village_share_permille: 0,
        min_pool_size: 0,
        payment_window_start: d(year, 1, 1),
        payment_window_end: d(year, 1, 1),
        thresholds: DEFAULT_THRESHOLDS,
        min_subsidy: yuan(300),
        per_stay_cap: None,
        yearly_cap: None,
        loyalty_bonus_percent: 0,
        exclusions: Exclusion::STANDARD.to_vec(),
        service_fee: ServiceFee::Percent { basis_points: 0 },
        calendar: WorkCalendar::default(),
        decision_working_days: 5,
        notice_days: 7,
        drg_version: "chs-drg-2.0".to_string(),
        receipt_review_above: crate::rules::default_receipt_review_above(),
        notice_shows_drg: false,
        shortfall_warning_permille: crate::rules::default_shortfall_warning_permille(),
    }
}

/// Fills in the national holiday arrangement for the years the deadlines can reach.
fn with_calendar(mut r: SchemeRules) -> SchemeRules {
    r.calendar = deadline_calendar(&WorkCalendar::default(), &r);
    r
}

/// 沂源县大张庄镇 "沂源红" (2023). Everything money-related is in the document: 50 yuan paid by
/// the member (a village collective may take on part of it: set that village's collective
/// part and the member pays the rest), county pays the personal part of 脱贫享受政策 and
/// 防返贫监测 members in full and they sit in the virtual village 幸福社区, ≥80% of registered
/// residents per village or the village is left out, ≥2,000 members, rewards 10/20/30 yuan at
/// 20/30/40%, 2,500 out-of-pocket or 5,000 total cost when uninsured, minimum 300 yuan, decisions
/// in 5 working days, monthly payout. Calendar year, admissions from 1 January, payments from
/// 1 July; fees collected in the "全面发动阶段" 21 May – 30 June.
///
/// Chosen where silent: notice period 7 days; no service fee entered; CHS-DRG 2.0 for the
/// document's "CN-DRG 1539个病种"; caps open ("根据各镇参保人数和资金量核算").
pub fn yiyuan_dazhangzhuang(year: i32) -> Template {
    let poor = vec![
        SpecialStatus::PovertyAlleviated,
        SpecialStatus::PovertyMonitored,
    ];
    let rules = SchemeRules {
        benefits_start: d(year, 7, 1),
        fee_per_person: yuan(50),
        personal_part: yuan(50),
        full_subsidies: vec![FullSubsidy {
            statuses: poor.clone(),
            borne_by: Payer::County,
        }],
        special_village: Some(SpecialVillage {
            name: "幸福社区".to_string(),
            statuses: poor,
        }),
        reward_tiers: vec![
            RewardTier {
                min_rate_permille: 200,
                per_person: yuan(10),
            },
            RewardTier {
                min_rate_permille: 300,
                per_person: yuan(20),
            },
            RewardTier {
                min_rate_permille: 400,
                per_person: yuan(30),
            },
        ],
        village_threshold_permille: 800,
        below_threshold_excluded: true,
        min_pool_size: 2000,
        payment_window_start: d(year, 5, 21),
        payment_window_end: d(year, 6, 30),
        thresholds: ClaimThresholds {
            resident: ClaimThreshold::out_of_pocket(2500),
            employee: ClaimThreshold::out_of_pocket(2500),
            uninsured: ClaimThreshold::total_cost(5000),
        },
        ..common("沂源红乡村公益医疗互助", year)
    };
    Template {
        key: "yiyuan-dazhangzhuang",
        name_zh: "沂源县大张庄镇“沂源红”乡村公益医疗互助",
        region_hint: "山东省淄博市沂源县大张庄镇",
        source_file: "000_fd35749c2dc5eab2.txt",
        to_confirm_zh: &[
            "单次最高补助和年度累计最高补助：文件规定“根据各镇参保人数和资金量核算”，由一键设计确定",
            "村集体对个人出资的补助：文件规定各村“因地制宜、量力而行”，请按村设置",
            "公示天数：文件未规定，默认7天",
            "第三方服务费：文件未规定金额，请按服务协议填写",
            "病种分组：文件为CN-DRG（1539个病种），本系统使用CHS-DRG 2.0",
        ],
        rules: with_calendar(rules),
    }
}

/// 大丰区草庙镇 (2024). From the document: 60 yuan = 40 personal + 20 from town and villages
/// together, for every enrolled member; payouts from 1 July, monthly, after at least 7 days'
/// notice; fees collected 1–30 June; surplus carried over; service fee paid from the fund.
///
/// Chosen where silent: the period is the calendar year ("2024年度") with payouts from 1 July,
/// as in 沂源's model; the 20 yuan is booked to the town with the town making up whatever a
/// village contributes less or more (the document does not split it); claim thresholds,
/// minimum subsidy and exclusions are the shared defaults (the document says only "个人支付费用
/// 达到一定额度"); no participation threshold or minimum size (all 16 villages take part).
pub fn dafeng_caomiao(year: i32) -> Template {
    let rules = SchemeRules {
        benefits_start: d(year, 7, 1),
        fee_per_person: yuan(60),
        personal_part: yuan(40),
        town_per_person: yuan(20),
        balancing: Balancing::Town,
        payment_window_start: d(year, 6, 1),
        payment_window_end: d(year, 6, 30),
        ..common("草庙镇乡村医疗互助", year)
    };
    Template {
        key: "dafeng-caomiao",
        name_zh: "盐城市大丰区草庙镇乡村医疗互助",
        region_hint: "江苏省盐城市大丰区草庙镇",
        source_file: "001_2109df2bb7ec8ac7.txt",
        to_confirm_zh: &[
            "互助期限：文件只写“2024年度”、7月1日起启动补助，默认为1月1日至12月31日",
            "镇、村20元的分担：文件未分开，默认由镇出资，村出资的请按村设置，镇补足差额",
            "补助起付标准：文件只写“达到一定额度”，默认参保人员个人支付2500元、未参保人员5000元",
            "单次最低补助：文件未规定，默认300元",
            "不予补助情形：文件未列出，默认采用各地通行的情形",
            "第三方服务费：文件未规定金额，请按服务协议填写",
        ],
        rules: with_calendar(rules),
    }
}

/// 安吉县 "小助大爱" (2024), pooled at county level. From the document: 80 yuan with at least
/// 30 from the member; 70% participation in participating towns and villages; year 1 August –
/// 31 July; thresholds 3,500 (residents' insurance), 2,500 (employees'), 7,000 (uninsured or
/// employees' insurance interrupted: record those members as uninsured); minimum 300 yuan;
/// +10% from the second consecutive year; the shared exclusions; decisions in 5 working days;
/// monthly payout; fees collected 20 May – 20 July; villages of a participating town all take
/// part "in principle".
///
/// Chosen where silent or open: the 50 yuan beyond the member's 30 is put on the town (named
/// first among the possible payers; "具体比例由…自主决定", so set each town's part and villages'
/// parts; the member pays the rest but never less than 30); the personal part of 低保, 特困 and
/// 防返贫监测 members ("在册困难群众等低收入群体") is borne by charity, one of the two sources
/// named (the other is village cooperatives and social work stations); the 70% is reported, not
/// enforced by leaving a village out, since the document does not say it would be; the caps are
/// blanked in the document ("**万元") and left open.
pub fn anji(year: i32) -> Template {
    let rules = SchemeRules {
        pool_level: PoolLevel::County,
        period_start: d(year, 8, 1),
        period_end: d(year + 1, 7, 31),
        benefits_start: d(year, 8, 1),
        fee_per_person: yuan(80),
        personal_part: yuan(30),
        min_personal_part: yuan(30),
        town_per_person: yuan(50),
        full_subsidies: vec![FullSubsidy {
            statuses: vec![
                SpecialStatus::MinimumLiving,
                SpecialStatus::ExtremeHardship,
                SpecialStatus::PovertyMonitored,
            ],
            borne_by: Payer::Charity,
        }],
        village_threshold_permille: 700,
        below_threshold_excluded: false,
        min_village_share_permille: 1000,
        payment_window_start: d(year, 5, 20),
        payment_window_end: d(year, 7, 20),
        thresholds: ClaimThresholds {
            resident: ClaimThreshold::out_of_pocket(3500),
            employee: ClaimThreshold::out_of_pocket(2500),
            uninsured: ClaimThreshold::out_of_pocket(7000),
        },
        loyalty_bonus_percent: 10,
        ..common("“小助大爱”医疗互助", year)
    };
    Template {
        key: "anji",
        name_zh: "安吉县“小助大爱”医疗互助",
        region_hint: "浙江省湖州市安吉县",
        source_file: "002_4ae2034677630d89.txt",
        to_confirm_zh: &[
            "个人出资以外的50元：文件规定“具体比例由各乡镇（街道）、村（社区）自主决定”，默认由乡镇出资，请按乡镇、村设置（个人出资不低于30元）",
            "困难群众个人出资部分：文件规定由村级合作社及社工站资金或慈善资金全额保障，默认由慈善资金承担",
            "全额保障的对象：文件写“在册困难群众等低收入群体”，默认为低保、特困、防返贫监测对象",
            "单次最高补助和年度累计最高补助：文件中为“**万元”，请填写或由一键设计确定",
            "参与率70%：文件未规定不足70%的村是否不予纳入，默认只提示不剔除",
            "中断职工医保的人员按未参保人员（7000元）处理，请在名册中登记为未参保",
            "公示天数：文件未规定，默认7天",
            "第三方服务费：文件未规定金额，请按服务协议填写",
            "病种分组：文件为CN-DRGs，本系统使用CHS-DRG 2.0",
        ],
        rules: with_calendar(rules),
    }
}

/// 海安市 (2022), pilot towns 大公镇 and 雅周镇, pooled per town at the city charity foundation.
/// From the document: 100 yuan, 50 from the member and the rest guaranteed by town and
/// villages ("不足部分由镇村托底"); the six groups of poor people covered by the city's
/// supplementary insurance do not take part "in principle"; at least 50% of a town's villages
/// and 30% of a pilot village's households; monthly public notice; money raised by the end of
/// June.
///
/// Chosen where silent: calendar year with payouts from 1 July and fees accepted from 16 May
/// (after the mid-May publicity) to 30 June; the town makes up the 50 yuan (a village's share
/// is set per village); the six groups are represented by all four special statuses; the
/// participation targets are reported, not enforced by leaving villages out (they are the
/// evaluation's targets); shared claim defaults. The city's lump-sum grants (市老促会 40,000
/// and 市农业农村局 250,000 yuan per pilot town in 2022) are not per-person rules: post them to
/// the ledger as contributions.
pub fn haian(year: i32) -> Template {
    let rules = SchemeRules {
        benefits_start: d(year, 7, 1),
        fee_per_person: yuan(100),
        personal_part: yuan(50),
        town_per_person: yuan(50),
        balancing: Balancing::Town,
        ineligible_statuses: SpecialStatus::ALL.to_vec(),
        village_threshold_permille: 300,
        village_threshold_basis: ThresholdBasis::Households,
        below_threshold_excluded: false,
        min_village_share_permille: 500,
        payment_window_start: d(year, 5, 16),
        payment_window_end: d(year, 6, 30),
        ..common("海安市乡村公益医疗互助", year)
    };
    Template {
        key: "haian",
        name_zh: "海安市乡村公益医疗互助",
        region_hint: "江苏省南通市海安市（大公镇、雅周镇试点）",
        source_file: "003_38ad144f53bab74d.txt",
        to_confirm_zh: &[
            "互助期限：文件未规定，默认为1月1日至12月31日，7月1日起补助",
            "缴费期：文件要求6月底前完成资金筹集，默认5月16日至6月30日",
            "镇村托底的50元：默认由镇出资，村出资的请按村设置，镇补足差额",
            "不参与的六类困难对象：默认为全部四类特殊身份（脱贫、防返贫监测、低保、特困）",
            "村参与率30%（按户）和行政村占比50%：为评估目标，默认只提示不剔除",
            "补助起付标准：文件未规定，默认参保人员个人支付2500元、未参保人员5000元",
            "单次最低补助：文件未规定，默认300元",
            "市老促会、市农业农村局的定额补助请作为捐赠或财政资金记入账目",
            "第三方服务费：文件未规定金额，请按服务协议填写",
        ],
        rules: with_calendar(rules),
    }
}

/// 苏州市 暂行管理办法: a framework for all towns ("一镇一策"). From the document: at least
/// 100 yuan with the member paying at least half; fees accepted only in the 45 days before
/// subsidies start; CHS-DRG; decisions in 5 working days; towns encouraged to pay the personal
/// part of low-income members.
///
/// Chosen where silent: calendar year with subsidies from 1 January, so fees are accepted
/// 17 November – 31 December of the year before; 50 personal + 50 village collective ("集体补一
/// 点"), a village giving less makes the member pay more, never less than half; the encouraged
/// town payment for 低保 and 特困 members is included (remove it if the town declines); shared
/// claim defaults. Not expressible yet: collective money only for members of the collective
/// economic organisation (第二十条).
pub fn suzhou(year: i32) -> Template {
    let rules = SchemeRules {
        benefits_start: d(year, 1, 1),
        fee_per_person: yuan(100),
        personal_part: yuan(50),
        min_personal_permille: 500,
        village_collective_default: yuan(50),
        full_subsidies: vec![FullSubsidy {
            statuses: vec![SpecialStatus::MinimumLiving, SpecialStatus::ExtremeHardship],
            borne_by: Payer::Town,
        }],
        payment_window_start: d(year - 1, 11, 17),
        payment_window_end: d(year - 1, 12, 31),
        ..common("苏州市乡村医疗互助", year)
    };
    Template {
        key: "suzhou",
        name_zh: "苏州市乡村医疗互助（暂行管理办法）",
        region_hint: "江苏省苏州市",
        source_file: "004_58cd486df1c7457d.txt",
        to_confirm_zh: &[
            "互助期限：文件未规定，默认为1月1日至12月31日，缴费期为启动补助前45天（上年11月17日至12月31日）",
            "村集体出资：默认50元，个人出资不低于互助费的50%",
            "乡镇财政资助低保、特困人员个人出资部分：文件为“鼓励”，默认已设置，不资助的请删除",
            "非集体经济组织成员参加的，村集体不得提供补充资金：请为这些人员单独处理",
            "补助起付标准：文件未规定，默认参保人员个人支付2500元、未参保人员5000元",
            "单次最低补助：文件未规定，默认300元",
            "公示天数：文件未规定，默认7天",
            "第三方服务费：文件未规定金额，请按服务协议填写",
        ],
        rules: with_calendar(rules),
    }
}
