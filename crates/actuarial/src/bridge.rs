//! From a simulated (or real) programme to the inputs of the design, and the payout a table
//! would have made: the glue of the back-test and of the CLI.

use domain::InsuranceType;
use sim::{Programme, StayModel};

use crate::design::{Population, SchemeRules};
use crate::risk::{class_count, class_index, RiskModel, Thresholds, YearExperience};

/// Members of the scheme year by class, split into new and consecutive members.
pub fn population_of(model: &StayModel, p: &Programme, year: i32) -> Population {
    let mut members = vec![(0u64, 0u64); class_count(model)];
    for m in &p.members {
        if !m.is_member_in(year) {
            continue;
        }
        let c = class_index(model, m.age_in(year), m.sex, m.insurance);
        if m.first_year < year {
            members[c].1 += 1;
        } else {
            members[c].0 += 1;
        }
    }
    Population { members }
}

fn eligible(rules_t: &Thresholds, ins: InsuranceType, oop_fen: i64) -> bool {
    oop_fen >= rules_t.get(ins)
}

/// Exposure and claims of a past year: claims are the stays that were eligible under that
/// year's thresholds and were claimed by `cutoff_days` after the year end.
pub fn experience_of(
    model: &StayModel,
    p: &Programme,
    year: i32,
    thresholds: Thresholds,
    rules: &SchemeRules,
) -> YearExperience {
    let mut exposure = vec![0.0; class_count(model)];
    for m in &p.members {
        if m.is_member_in(year) {
            exposure[class_index(model, m.age_in(year), m.sex, m.insurance)] += 1.0;
        }
    }
    let mut claims = Vec::new();
    for s in &p.stays {
        if s.scheme_year != year || s.claim_delay_days.is_none() {
            continue;
        }
        let m = &p.members[s.member];
        if eligible(&thresholds, m.insurance, s.out_of_pocket.0) && !rules.is_excluded(&s.drg) {
            claims.push((
                class_index(model, m.age_in(year), m.sex, m.insurance),
                s.drg.clone(),
            ));
        }
    }
    YearExperience {
        exposure,
        thresholds: Some(thresholds),
        claims,
    }
}

/// What the table pays in the year: every claimed eligible stay gets its DRG's amount (the
/// consecutive-member amount from the second year), within the yearly cap per member.
pub fn realised_payout(
    p: &Programme,
    year: i32,
    rules: &SchemeRules,
    risk: &RiskModel,
    amounts: &[i64],
) -> RealisedYear {
    let index: std::collections::HashMap<&str, usize> = risk
        .drgs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.code.as_str(), i))
        .collect();
    let mut per_member: std::collections::HashMap<usize, i64> = std::collections::HashMap::new();
    let mut subsidies = 0usize;
    let mut oop_total = 0i64;
    for s in &p.stays {
        if s.scheme_year != year {
            continue;
        }
        oop_total += s.out_of_pocket.0;
        let m = &p.members[s.member];
        if s.claim_delay_days.is_none()
            || !eligible(&rules.thresholds, m.insurance, s.out_of_pocket.0)
        {
            continue;
        }
        let Some(&d) = index.get(s.drg.as_str()) else {
            continue;
        };
        let base = amounts[d];
        if base == 0 {
            continue;
        }
        let amount = if m.first_year < year {
            rules.loyal_amount(base)
        } else {
            base
        };
        let e = per_member.entry(s.member).or_default();
        let room = rules.yearly_cap_fen.map_or(i64::MAX, |c| c - *e);
        let paid = amount.min(room).max(0);
        *e += paid;
        subsidies += 1;
    }
    RealisedYear {
        payout_fen: per_member.values().sum(),
        subsidies,
        people_helped: per_member.values().filter(|v| **v > 0).count(),
        oop_total_fen: oop_total,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealisedYear {
    pub payout_fen: i64,
    pub subsidies: usize,
    pub people_helped: usize,
    pub oop_total_fen: i64,
}
