//! Mid-year re-forecast (风险预警): from the claims decided so far and a run-off estimate of
//! stays discharged but not yet claimed, the distribution of the year-end payout, and a warning
//! when the probability of a shortfall exceeds the accepted level.
//!
//! Two updates. (1) Credibility: the count of claims reported so far against the count the design
//! expected to be reported by now (discharges so far × share already filed) moves the frequency
//! level, Bühlmann-style, with the design's parameter uncertainty as prior variance; what is
//! learnt narrows the parameter risk. (2) Run-off: the year's risk still to be paid is the rest of
//! the year plus the not-yet-filed part of the elapsed months, an "operational time"
//! `(1 - f) + f·(1 - R/R∞)`; the remaining payout is the exact distribution of that much risk.
//! Interpretation: the yearly cap of members already paid is not tracked here (it can only lower
//! the remaining payout, so the warning errs on the safe side).

use crate::aggregate::{payout_distribution_at, AggregateError, Resolution};
use crate::design::{class_risks, Population, SchemeRules, QUANTILES};
use crate::normal;
use crate::risk::RiskModel;

/// Claim filing delay after discharge: log-normal, truncated at `max_days`, with a share of
/// eligible stays that are never claimed.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DelayModel {
    pub median_days: f64,
    pub sigma: f64,
    pub max_days: f64,
    pub never_claimed: f64,
}

impl Default for DelayModel {
    /// The calibration: median about 25 days, at most 90, 3% never claimed.
    fn default() -> Self {
        DelayModel {
            median_days: 25.0,
            sigma: 0.75,
            max_days: 90.0,
            never_claimed: 0.03,
        }
    }
}

impl DelayModel {
    /// Share of eventually filed claims filed within `days` of discharge.
    pub fn filed_within(&self, days: f64) -> f64 {
        if days <= 0.0 {
            return 0.0;
        }
        if days >= self.max_days {
            return 1.0;
        }
        let z = |d: f64| (d.ln() - self.median_days.ln()) / self.sigma;
        normal::cdf(z(days)) / normal::cdf(z(self.max_days))
    }
    /// Of the claims from discharges spread evenly over the first `elapsed` days of the year,
    /// the share already filed.
    pub fn filed_share_of_elapsed(&self, elapsed_days: f64) -> f64 {
        if elapsed_days <= 0.0 {
            return 0.0;
        }
        let n = 400;
        (0..n)
            .map(|i| self.filed_within(elapsed_days * (i as f64 + 0.5) / n as f64))
            .sum::<f64>()
            / n as f64
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReforecastInput<'a> {
    pub risk: &'a RiskModel,
    pub rules: &'a SchemeRules,
    pub population: &'a Population,
    pub amounts_fen: &'a [i64],
    pub budget_fen: i64,
    pub accepted_shortfall: f64,
    /// Share of the scheme year elapsed, 0..=1.
    pub elapsed: f64,
    /// Decided (filed) claims so far and what they were paid.
    pub claims_decided: usize,
    pub paid_fen: i64,
    pub delay: DelayModel,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Reforecast {
    pub expected_year_end_fen: f64,
    /// 50/90/95/99% quantiles of the year-end payout (fen).
    pub quantiles_fen: [i64; 4],
    pub p_shortfall: f64,
    /// 风险预警: P(shortfall) above the accepted level.
    pub warning: bool,
    /// Claims expected to be filed by now under the design.
    pub expected_claims_by_now: f64,
    /// Claims incurred but not yet filed, expected.
    pub expected_unfiled_claims: f64,
    /// Updated frequency level relative to the design (1 = as designed).
    pub level_update: f64,
    pub parameter_cv: f64,
}

pub fn reforecast(input: &ReforecastInput) -> Result<Reforecast, AggregateError> {
    let f = input.elapsed.clamp(0.0, 1.0);
    let risk = input.risk;
    let loyal: Vec<i64> = input
        .amounts_fen
        .iter()
        .map(|a| input.rules.loyal_amount(*a))
        .collect();
    let (_, _, freq) = class_risks(
        risk,
        input.rules,
        input.population,
        input.amounts_fen,
        &loyal,
    );
    let yearly_claims: f64 = freq.iter().map(|(m, n)| m * *n as f64).sum();
    let filed = input.delay.filed_share_of_elapsed(f * 365.0);
    let expected_by_now = yearly_claims * f * filed;
    // Credibility update of the level with the design's parameter variance as prior.
    let tau2 = risk.parameter_cv.powi(2);
    let (level, cv) = if expected_by_now > 0.0 {
        let lam_bar = yearly_claims / input.population.total().max(1) as f64;
        let s2 = 1.0 + lam_bar / risk.frailty_shape;
        let w = expected_by_now / s2;
        let z = tau2 * w / (1.0 + tau2 * w);
        let x = input.claims_decided as f64 / expected_by_now;
        (1.0 + z * (x - 1.0), (tau2 * (1.0 - z)).sqrt())
    } else {
        (1.0, risk.parameter_cv)
    };
    let mut updated = risk.clone();
    updated.level *= level.max(0.0);
    let (classes, unit, _) = class_risks(
        &updated,
        input.rules,
        input.population,
        input.amounts_fen,
        &loyal,
    );
    let time = (1.0 - f) + f * (1.0 - filed);
    let remaining = payout_distribution_at(&classes, unit, cv, time, &Resolution::default())?;
    let paid = input.paid_fen;
    let mut q = [0i64; 4];
    for (i, p) in QUANTILES.iter().enumerate() {
        q[i] = paid + remaining.quantile_fen(*p);
    }
    let p_shortfall = remaining.prob_exceeds(input.budget_fen - paid);
    Ok(Reforecast {
        expected_year_end_fen: paid as f64 + remaining.mean_fen(),
        quantiles_fen: q,
        p_shortfall,
        warning: p_shortfall > input.accepted_shortfall,
        expected_claims_by_now: expected_by_now,
        expected_unfiled_claims: yearly_claims * level * f * (1.0 - filed),
        level_update: level,
        parameter_cv: cv,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::design::{drg_weights, evaluate, table_for, Weighting};
    use crate::risk::class_count;
    use sim::{drg_catalogue, DrgVersion, StayModel};

    fn setup() -> (RiskModel, SchemeRules, Population, Vec<i64>) {
        let m = StayModel::new();
        let rules = crate::design::tests::rules();
        let risk = RiskModel::prior(&m, drg_catalogue(DrgVersion::V20), rules.thresholds);
        let mut members = vec![(0, 0); class_count(&m)];
        let ages = sim::calibration::age_structure();
        for (sc, c) in m.classes.iter().enumerate() {
            let share: f64 = ages
                .iter()
                .filter(|a| a.from >= c.band.from && a.to <= c.band.to)
                .map(|a| a.male)
                .sum::<f64>()
                * 0.5;
            members[sc * 3] = ((8_000.0 * share) as u64, 0);
        }
        let w = drg_weights(&risk, Weighting::Need);
        let table = table_for(&rules, &risk, &w, 0.5);
        (risk, rules, Population { members }, table)
    }

    #[test]
    fn delay_shares() {
        let d = DelayModel::default();
        // Half of all delays are within the median; truncation at 90 days lifts that a little.
        assert!((0.5..0.55).contains(&d.filed_within(25.0)));
        assert_eq!(d.filed_within(90.0), 1.0);
        let half_year = d.filed_share_of_elapsed(182.5);
        assert!(half_year > 0.8 && half_year < 0.95, "{half_year}");
    }

    #[test]
    fn at_the_start_it_is_the_design_and_bad_news_raises_the_alarm() {
        let (risk, rules, pop, table) = setup();
        let (e, _) = evaluate(&risk, &rules, &pop, &table, 70_000_000).unwrap();
        let budget = e.quantiles_fen[2]; // the design's 95% quantile
        let base = ReforecastInput {
            risk: &risk,
            rules: &rules,
            population: &pop,
            amounts_fen: &table,
            budget_fen: budget,
            accepted_shortfall: 0.025,
            elapsed: 0.0,
            claims_decided: 0,
            paid_fen: 0,
            delay: DelayModel::default(),
        };
        let r0 = reforecast(&base).unwrap();
        assert!((r0.p_shortfall - 0.05).abs() < 0.01, "{}", r0.p_shortfall);
        assert!((r0.expected_year_end_fen / e.expected_payout_fen - 1.0).abs() < 1e-9);
        assert!(r0.warning);
        // Half-way, claims and payments exactly as expected: lower uncertainty, no alarm at a
        // budget with some room.
        let mid_expected = reforecast(&ReforecastInput {
            elapsed: 0.5,
            ..base.clone()
        })
        .unwrap();
        let k = mid_expected.expected_claims_by_now.round() as usize;
        let avg = e.average_subsidy_fen;
        let on_track = ReforecastInput {
            elapsed: 0.5,
            claims_decided: k,
            paid_fen: (k as f64 * avg) as i64,
            budget_fen: e.quantiles_fen[2],
            ..base.clone()
        };
        let r1 = reforecast(&on_track).unwrap();
        assert!((r1.level_update - 1.0).abs() < 0.02);
        assert!(r1.parameter_cv < risk.parameter_cv);
        assert!(!r1.warning, "{r1:?}");
        assert!(r1.expected_unfiled_claims > 0.0);
        // 30% more claims than expected: the level rises and the alarm goes off.
        let k_bad = (k as f64 * 1.3) as usize;
        let bad = ReforecastInput {
            claims_decided: k_bad,
            paid_fen: (k_bad as f64 * avg) as i64,
            ..on_track
        };
        let r2 = reforecast(&bad).unwrap();
        assert!(r2.level_update > 1.1);
        assert!(r2.p_shortfall > r1.p_shortfall);
        assert!(r2.warning, "{r2:?}");
    }
}
