//! One-click design: the largest subsidy table (amount per DRG) that the money available pays
//! with the target surplus in expectation and a shortfall no more likely than accepted.
//!
//! Amounts are `clamp(round(s · w_d), minimum, per-stay cap)` for a DRG weight `w_d` chosen by
//! the weighting rule and one scale `s` found by bisection: first on the Normal-Power
//! approximation (cheap: only class moments), then on the exact distribution around it. Both
//! constraints are monotone in `s`, so the result is the largest feasible scale on the grid of
//! rounded tables, and the same input always gives the same table.

use crate::aggregate::{
    payout_distribution_at, AggregateError, ClassRisk, PayoutDistribution, Resolution,
};
use crate::normal;
use crate::panjer::{compound, Frequency, Severity};
use crate::risk::{RiskModel, Thresholds};

/// How amounts differ between DRGs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Weighting {
    /// Proportional to the expected out-of-pocket above the threshold of an eligible stay.
    Need,
    /// Proportional to the DRG relative weight.
    DrgWeight,
    /// A few amounts: DRGs ranked by need and cut into `steps` groups of equal size.
    Ladder { steps: usize },
}

/// The scheme year's rules that shape the payout.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SchemeRules {
    pub thresholds: Thresholds,
    pub min_subsidy_fen: i64,
    pub per_stay_cap_fen: i64,
    pub yearly_cap_fen: Option<i64>,
    /// Extra for members in their second or later consecutive year, in per cent.
    pub loyalty_bonus_pct: i64,
    /// Excluded DRG codes or prefixes (an ADRG `OB1`, an MDC letter `O`...).
    pub excluded: Vec<String>,
    /// Amounts are multiples of this (1,000 = 10 yuan; 5,000 = 50 yuan).
    pub rounding_unit_fen: i64,
}

impl SchemeRules {
    pub fn is_excluded(&self, code: &str) -> bool {
        self.excluded
            .iter()
            .any(|p| !p.is_empty() && code.starts_with(p.as_str()))
    }
    /// The amount paid to a consecutive member: +bonus, rounded to the unit, within the
    /// per-stay cap.
    pub fn loyal_amount(&self, base_fen: i64) -> i64 {
        if base_fen == 0 {
            return 0;
        }
        let raw = base_fen * (100 + self.loyalty_bonus_pct);
        let u = self.rounding_unit_fen * 100;
        let rounded = (raw + u / 2) / u * self.rounding_unit_fen;
        rounded.min(self.per_stay_cap_fen.max(base_fen))
    }
}

/// Members per risk class: (new members, consecutive members).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Population {
    pub members: Vec<(u64, u64)>,
}

impl Population {
    pub fn total(&self) -> u64 {
        self.members.iter().map(|(a, b)| a + b).sum()
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DesignTargets {
    /// Income + reserve carried over − service fee (fen).
    pub money_available_fen: i64,
    /// Expected surplus as a share of the money available (0.05 = 5%).
    pub target_surplus: f64,
    /// Accepted probability that payouts exceed the money available.
    pub shortfall_probability: f64,
    pub weighting: Weighting,
}

/// What a table is expected to do in the year.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// The exact lattice of the payout (gcd of the amounts and the yearly cap).
    pub lattice_unit_fen: i64,
    /// The lattice the distribution was computed on: `lattice_unit_fen`, or a multiple of it for
    /// towns whose payout spreads over millions of exact lattice points (see `probability_error`).
    pub grid_unit_fen: i64,
    /// Bound on the error of the probabilities and quantile levels reported (coarser lattice:
    /// an estimate; window: a Chernoff bound). Of order 1e-16 on the exact lattice.
    pub probability_error: f64,
    pub expected_payout_fen: f64,
    pub sd_payout_fen: f64,
    /// 50/90/95/99% quantiles of the payout (fen).
    pub quantiles_fen: [i64; 4],
    /// The same by the Normal-Power approximation, and the largest gap to the exact ones.
    pub np_quantiles_fen: [i64; 4],
    pub np_max_gap_fen: i64,
    pub p_shortfall: f64,
    pub np_p_shortfall: f64,
    pub expected_subsidies: f64,
    pub expected_people_helped: f64,
    pub benefit_rate: f64,
    pub average_subsidy_fen: f64,
    pub burden_reduction: f64,
    pub members: u64,
}

/// The result of the one-click design.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Design {
    /// Amount per DRG of the catalogue (fen), in catalogue order; 0 for excluded DRGs.
    pub amounts_fen: Vec<i64>,
    /// The amount for consecutive members.
    pub loyal_amounts_fen: Vec<i64>,
    pub scale: f64,
    pub evaluation: Evaluation,
    /// Whether both targets are met; false when even the minimum amount everywhere breaks them.
    pub feasible: bool,
    pub budget_fen: i64,
    pub credibility: f64,
    pub parameter_cv: f64,
    pub level: f64,
}

pub const QUANTILES: [f64; 4] = [0.5, 0.9, 0.95, 0.99];

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// DRG weights of the rule.
pub fn drg_weights(risk: &RiskModel, weighting: Weighting) -> Vec<f64> {
    match weighting {
        Weighting::Need => risk.need_fen.clone(),
        Weighting::DrgWeight => risk.drgs.iter().map(|d| d.weight).collect(),
        Weighting::Ladder { steps } => {
            let steps = steps.max(1);
            let mut idx: Vec<usize> = (0..risk.drgs.len()).collect();
            idx.sort_by(|a, b| {
                risk.need_fen[*a]
                    .total_cmp(&risk.need_fen[*b])
                    .then(a.cmp(b))
            });
            let mut w = vec![0.0; idx.len()];
            let per = idx.len().div_ceil(steps);
            for chunk in idx.chunks(per) {
                let g = (chunk.iter().map(|i| risk.need_fen[*i].ln()).sum::<f64>()
                    / chunk.len() as f64)
                    .exp();
                for i in chunk {
                    w[*i] = g;
                }
            }
            w
        }
    }
}

/// The table for scale `s`.
pub fn table_for(rules: &SchemeRules, risk: &RiskModel, weights: &[f64], s: f64) -> Vec<i64> {
    let u = rules.rounding_unit_fen.max(1);
    risk.drgs
        .iter()
        .zip(weights)
        .map(|(d, w)| {
            if rules.is_excluded(&d.code) {
                return 0;
            }
            let raw = (s * w / u as f64).round() as i64 * u;
            raw.clamp(
                rules.min_subsidy_fen,
                rules.per_stay_cap_fen.max(rules.min_subsidy_fen),
            )
        })
        .collect()
}

/// Per-member yearly benefit distributions of every (class, new/consecutive) group.
pub fn class_risks(
    risk: &RiskModel,
    rules: &SchemeRules,
    pop: &Population,
    amounts: &[i64],
    loyal: &[i64],
) -> (Vec<ClassRisk>, i64, Vec<(f64, u64)>) {
    let mut unit = 0;
    for (c, class) in risk.eligible.iter().enumerate() {
        let (n_new, n_loyal) = pop.members.get(c).copied().unwrap_or((0, 0));
        if n_new + n_loyal == 0 {
            continue;
        }
        for (d, _) in class {
            if n_new > 0 && amounts[*d] > 0 {
                unit = gcd(unit, amounts[*d]);
            }
            if n_loyal > 0 && loyal[*d] > 0 {
                unit = gcd(unit, loyal[*d]);
            }
        }
    }
    if let Some(cap) = rules.yearly_cap_fen {
        unit = gcd(unit, cap);
    }
    let unit = unit.max(1);
    let cap_units = rules.yearly_cap_fen.map(|c| (c / unit) as usize);
    let mut out = Vec::new();
    let mut freq_info = Vec::new();
    for (c, class) in risk.eligible.iter().enumerate() {
        let (n_new, n_loyal) = pop.members.get(c).copied().unwrap_or((0, 0));
        for (n, table) in [(n_new, amounts), (n_loyal, loyal)] {
            if n == 0 {
                continue;
            }
            let mut pts: Vec<(usize, f64)> = Vec::new();
            let mut lam = 0.0;
            for (d, l) in class {
                if table[*d] > 0 {
                    pts.push(((table[*d] / unit) as usize, *l));
                    lam += l;
                }
            }
            if lam <= 0.0 {
                continue;
            }
            pts.sort_by_key(|p| p.0);
            let mut merged: Vec<(usize, f64)> = Vec::new();
            for (k, l) in pts {
                match merged.last_mut() {
                    Some(last) if last.0 == k => last.1 += l / lam,
                    _ => merged.push((k, l / lam)),
                }
            }
            let mean = lam * risk.level;
            let freq = Frequency::NegativeBinomial {
                mean,
                shape: risk.frailty_shape,
            };
            let sev = Severity { points: merged };
            let max_len = cap_units.map_or(usize::MAX, |c| c + 1);
            let pmf = compound(freq, &sev, cap_units, 1e-16, max_len.min(1 << 22));
            out.push(ClassRisk { members: n, pmf });
            freq_info.push((mean, n));
        }
    }
    (out, unit, freq_info)
}

/// Parameter risk of the payout: the frequency level's CV combined with the estimation error of
/// the DRG relativities, weighted by each DRG's share of the expected payout.
pub fn effective_cv(risk: &RiskModel, pop: &Population, amounts: &[i64], loyal: &[i64]) -> f64 {
    let mut share = vec![0.0; risk.drgs.len()];
    for (c, class) in risk.eligible.iter().enumerate() {
        let (n_new, n_loyal) = pop.members.get(c).copied().unwrap_or((0, 0));
        for (d, lam) in class {
            share[*d] +=
                lam * (n_new as f64 * amounts[*d] as f64 + n_loyal as f64 * loyal[*d] as f64);
        }
    }
    let total: f64 = share.iter().sum();
    let mix: f64 = if total > 0.0 {
        share
            .iter()
            .zip(&risk.relativity_var)
            .map(|(s, v)| (s / total).powi(2) * v)
            .sum()
    } else {
        0.0
    };
    (risk.parameter_cv.powi(2) + mix).sqrt()
}

fn cumulants(classes: &[ClassRisk], cv: f64) -> [f64; 3] {
    let mut k = [0.0; 3];
    for c in classes {
        let m1: f64 = c.pmf.iter().enumerate().map(|(i, p)| i as f64 * p).sum();
        let (mut c2, mut c3) = (0.0, 0.0);
        for (i, p) in c.pmf.iter().enumerate() {
            let d = i as f64 - m1;
            c2 += d * d * p;
            c3 += d * d * d * p;
        }
        let n = c.members as f64;
        k[0] += n * m1;
        k[1] += n * c2;
        k[2] += n * c3;
    }
    if cv > 0.0 {
        let a = 1.0 / (cv * cv);
        [
            k[0],
            k[1] + k[0] * k[0] / a,
            k[2] + 3.0 * k[0] * k[1] / a + 2.0 * k[0].powi(3) / (a * a),
        ]
    } else {
        k
    }
}

/// Exact evaluation of a table.
pub fn evaluate(
    risk: &RiskModel,
    rules: &SchemeRules,
    pop: &Population,
    amounts: &[i64],
    budget_fen: i64,
) -> Result<(Evaluation, PayoutDistribution), AggregateError> {
    let loyal: Vec<i64> = amounts.iter().map(|a| rules.loyal_amount(*a)).collect();
    let (classes, unit, freq) = class_risks(risk, rules, pop, amounts, &loyal);
    let dist = payout_distribution_at(
        &classes,
        unit,
        effective_cv(risk, pop, amounts, &loyal),
        1.0,
        &Resolution::default(),
    )?;
    let mean = dist.mean_fen();
    let sd = dist.sd_fen();
    let skew = dist.skewness();
    let mut q = [0i64; 4];
    let mut npq = [0i64; 4];
    let mut gap = 0;
    for (i, p) in QUANTILES.iter().enumerate() {
        q[i] = dist.quantile_fen(*p);
        npq[i] = normal::np_quantile(mean, sd, skew, *p).round() as i64;
        gap = gap.max((q[i] - npq[i]).abs());
    }
    let expected_subsidies: f64 = freq.iter().map(|(m, n)| m * *n as f64).sum();
    let r = risk.frailty_shape;
    let helped: f64 = freq
        .iter()
        .map(|(m, n)| *n as f64 * (1.0 - (1.0 + m / r).powf(-r)))
        .sum();
    let members = pop.total();
    let oop: f64 = pop
        .members
        .iter()
        .enumerate()
        .map(|(c, (a, b))| {
            (a + b) as f64 * risk.oop_per_member_fen.get(c).copied().unwrap_or(0.0) * risk.level
        })
        .sum();
    let eval = Evaluation {
        lattice_unit_fen: unit,
        grid_unit_fen: dist.unit_fen,
        probability_error: dist.rounding_error + dist.tail_bound,
        expected_payout_fen: mean,
        sd_payout_fen: sd,
        quantiles_fen: q,
        np_quantiles_fen: npq,
        np_max_gap_fen: gap,
        p_shortfall: dist.prob_exceeds(budget_fen),
        np_p_shortfall: normal::np_exceed(mean, sd, skew, budget_fen as f64),
        expected_subsidies,
        expected_people_helped: helped,
        benefit_rate: if members > 0 {
            helped / members as f64
        } else {
            0.0
        },
        average_subsidy_fen: if expected_subsidies > 0.0 {
            mean / expected_subsidies
        } else {
            0.0
        },
        burden_reduction: if oop > 0.0 { mean / oop } else { 0.0 },
        members,
    };
    Ok((eval, dist))
}

/// The one-click design.
pub fn design(
    risk: &RiskModel,
    rules: &SchemeRules,
    pop: &Population,
    targets: &DesignTargets,
) -> Result<Design, AggregateError> {
    let budget = targets.money_available_fen;
    let weights = drg_weights(risk, targets.weighting);
    let mean_cap = budget as f64 * (1.0 - targets.target_surplus);
    let np_ok = |s: f64| -> bool {
        let amounts = table_for(rules, risk, &weights, s);
        let loyal: Vec<i64> = amounts.iter().map(|a| rules.loyal_amount(*a)).collect();
        let (classes, unit, _) = class_risks(risk, rules, pop, &amounts, &loyal);
        let k = cumulants(&classes, effective_cv(risk, pop, &amounts, &loyal));
        let u = unit as f64;
        let (mean, sd) = (k[0] * u, k[1].max(0.0).sqrt() * u);
        let skew = if k[1] > 0.0 {
            k[2] / k[1].powf(1.5)
        } else {
            0.0
        };
        mean <= mean_cap
            && normal::np_exceed(mean, sd, skew, budget as f64) <= targets.shortfall_probability
    };
    // Scale at which every amount reaches the per-stay cap: beyond it nothing changes.
    let wmin = weights
        .iter()
        .cloned()
        .filter(|w| *w > 0.0)
        .fold(f64::INFINITY, f64::min);
    let s_max = rules.per_stay_cap_fen as f64 / wmin * 1.01;
    // Start from the scale that meets the mean target if payouts were linear in the scale,
    // bracket, then bisect on the NP conditions.
    let np_mean = |s: f64| -> f64 {
        let amounts = table_for(rules, risk, &weights, s);
        let loyal: Vec<i64> = amounts.iter().map(|a| rules.loyal_amount(*a)).collect();
        let (classes, unit, _) = class_risks(risk, rules, pop, &amounts, &loyal);
        cumulants(&classes, 0.0)[0] * unit as f64
    };
    let probe = s_max * 1e-3;
    let m_probe = np_mean(probe).max(1.0);
    let guess = (probe * mean_cap / m_probe).min(s_max);
    let (mut lo, mut hi) = (0.0, s_max);
    let mut g = guess;
    for _ in 0..12 {
        if np_ok(g) {
            lo = g;
            if g >= s_max {
                break;
            }
            g = (g * 1.25).min(s_max);
        } else {
            hi = g;
            break;
        }
    }
    if lo == 0.0 {
        let mut g = guess * 0.8;
        for _ in 0..40 {
            if np_ok(g) {
                lo = g;
                break;
            }
            hi = g;
            g *= 0.8;
        }
    }
    if lo < s_max {
        for _ in 0..40 {
            let mid = 0.5 * (lo + hi);
            if np_ok(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi - lo < 2e-3 * hi {
                break;
            }
        }
    }
    // Exact refinement. The NP answer is usually within a fraction of a per cent, so step
    // from it in 0.5% moves (the rounding of amounts makes finer steps pointless), keeping the
    // evaluation of the best feasible table so it is not computed twice.
    let step = 1.005;
    let mut best: Option<(f64, Vec<i64>, Evaluation)> = None;
    let check = |s: f64| -> Result<(bool, Vec<i64>, Evaluation), AggregateError> {
        let amounts = table_for(rules, risk, &weights, s);
        let (e, _) = evaluate(risk, rules, pop, &amounts, budget)?;
        let ok =
            e.expected_payout_fen <= mean_cap && e.p_shortfall <= targets.shortfall_probability;
        Ok((ok, amounts, e))
    };
    let (ok0, t0, e0) = check(lo)?;
    if ok0 {
        best = Some((lo, t0, e0));
        let mut s = lo;
        while s < s_max {
            s = (s * step).min(s_max);
            let (ok, t, e) = check(s)?;
            if !ok {
                break;
            }
            best = Some((s, t, e));
        }
    } else {
        let mut s = lo;
        while s > 1e-6 * s_max {
            s /= step;
            let (ok, t, e) = check(s)?;
            if ok {
                best = Some((s, t, e));
                break;
            }
        }
        if best.is_none() {
            let (ok, t, e) = check(0.0)?;
            if ok {
                best = Some((0.0, t, e));
            }
        }
    }
    let feasible = best.is_some();
    let (scale, amounts, evaluation) = match best {
        Some(b) => b,
        None => {
            let t = table_for(rules, risk, &weights, 0.0);
            let (e, _) = evaluate(risk, rules, pop, &t, budget)?;
            (0.0, t, e)
        }
    };
    let loyal_amounts_fen = amounts.iter().map(|a| rules.loyal_amount(*a)).collect();
    Ok(Design {
        amounts_fen: amounts,
        loyal_amounts_fen,
        scale,
        evaluation,
        feasible,
        budget_fen: budget,
        credibility: risk.credibility,
        parameter_cv: risk.parameter_cv,
        level: risk.level,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use sim::{drg_catalogue, DrgVersion, StayModel};

    pub(crate) fn town(n: f64, loyal_share: f64) -> (StayModel, Population) {
        let m = StayModel::new();
        let ages = sim::calibration::age_structure();
        let mut members = vec![(0, 0); crate::risk::class_count(&m)];
        for (sc, c) in m.classes.iter().enumerate() {
            let share: f64 = ages
                .iter()
                .filter(|a| a.from >= c.band.from && a.to <= c.band.to)
                .map(|a| a.male)
                .sum::<f64>()
                * 0.5;
            for (ii, ins_share) in [0.95, 0.02, 0.03].iter().enumerate() {
                let k = (n * share * ins_share).round();
                let loyal = (k * loyal_share).round();
                members[sc * 3 + ii] = ((k - loyal) as u64, loyal as u64);
            }
        }
        (m, Population { members })
    }

    pub(crate) fn rules() -> SchemeRules {
        SchemeRules {
            thresholds: Thresholds {
                resident_fen: 250_000,
                employee_fen: 250_000,
                uninsured_fen: 700_000,
            },
            min_subsidy_fen: 30_000,
            per_stay_cap_fen: 1_000_000,
            yearly_cap_fen: Some(1_500_000),
            loyalty_bonus_pct: 10,
            excluded: vec![],
            // 50 yuan keeps the debug-build tests fast; the benches use 10.
            rounding_unit_fen: 5_000,
        }
    }

    fn risk(m: &StayModel, r: &SchemeRules) -> RiskModel {
        RiskModel::prior(m, drg_catalogue(DrgVersion::V20), r.thresholds)
    }

    #[test]
    fn design_meets_both_targets_and_is_deterministic() {
        let (m, pop) = town(20_000.0, 0.6);
        let r = rules();
        let risk = risk(&m, &r);
        let targets = DesignTargets {
            money_available_fen: 20_000 * 9_000,
            target_surplus: 0.05,
            shortfall_probability: 0.025,
            weighting: Weighting::Need,
        };
        let d = design(&risk, &r, &pop, &targets).unwrap();
        assert!(d.feasible);
        let e = &d.evaluation;
        assert!(e.p_shortfall <= 0.025 + 1e-12, "{}", e.p_shortfall);
        assert!(e.expected_payout_fen <= 0.95 * targets.money_available_fen as f64);
        // Binding: one of the two constraints is nearly tight (amounts move in 10-yuan steps).
        let tight_mean = e.expected_payout_fen > 0.90 * targets.money_available_fen as f64;
        let tight_p = e.p_shortfall > 0.015;
        assert!(tight_mean || tight_p, "{e:?}");
        assert_eq!(d.amounts_fen.len(), 634);
        assert!(d
            .amounts_fen
            .iter()
            .all(|a| *a >= 30_000 && *a <= 1_000_000 && a % 1_000 == 0));
        assert!(d
            .loyal_amounts_fen
            .iter()
            .zip(&d.amounts_fen)
            .all(|(l, a)| l >= a));
        assert!(e.quantiles_fen.windows(2).all(|w| w[0] <= w[1]));
        assert!((0.03..0.08).contains(&e.benefit_rate), "{}", e.benefit_rate);
        assert!(e.np_max_gap_fen >= 0);
        let again = design(&risk, &r, &pop, &targets).unwrap();
        assert_eq!(again, d);
    }

    #[test]
    fn cap_loyalty_and_thresholds_change_the_payout_as_they_should() {
        let (m, pop) = town(10_000.0, 0.5);
        let r = rules();
        let rk = risk(&m, &r);
        let w = drg_weights(&rk, Weighting::Need);
        let table = table_for(&r, &rk, &w, 1.0);
        let base = evaluate(&rk, &r, &pop, &table, 100_000_000).unwrap().0;
        // A lower yearly cap lowers the expected payout; no cap raises it.
        let mut low_cap = r.clone();
        low_cap.yearly_cap_fen = Some(500_000);
        let lc = evaluate(&rk, &low_cap, &pop, &table, 100_000_000)
            .unwrap()
            .0;
        assert!(lc.expected_payout_fen < base.expected_payout_fen);
        let mut no_cap = r.clone();
        no_cap.yearly_cap_fen = None;
        let nc = evaluate(&rk, &no_cap, &pop, &table, 100_000_000).unwrap().0;
        assert!(nc.expected_payout_fen >= base.expected_payout_fen);
        // Loyalty: with nobody consecutive the payout drops by about bonus × share.
        let (_, pop_new) = town(10_000.0, 0.0);
        let nl = evaluate(&rk, &r, &pop_new, &table, 100_000_000).unwrap().0;
        let ratio = base.expected_payout_fen / nl.expected_payout_fen;
        assert!((1.03..1.06).contains(&ratio), "{ratio}");
        // Higher resident threshold: fewer subsidies, less paid.
        let mut hi = r.clone();
        hi.thresholds.resident_fen = 350_000;
        let rk_hi = risk(&m, &hi);
        let th = evaluate(&rk_hi, &hi, &pop, &table, 100_000_000).unwrap().0;
        assert!(th.expected_subsidies < 0.85 * base.expected_subsidies);
        assert!(th.expected_payout_fen < base.expected_payout_fen);
        // Excluding childbirth removes its subsidies.
        let mut ex = r.clone();
        ex.excluded = vec!["OB".into(), "OZ".into()];
        let t_ex = table_for(&ex, &rk, &w, 1.0);
        let e_ex = evaluate(&rk, &ex, &pop, &t_ex, 100_000_000).unwrap().0;
        assert!(e_ex.expected_subsidies < base.expected_subsidies);
        assert!(t_ex
            .iter()
            .zip(&rk.drgs)
            .all(|(a, d)| (*a == 0) == (d.code.starts_with("OB") || d.code.starts_with("OZ"))));
    }

    #[test]
    fn drg_mix_uncertainty_adds_to_parameter_risk_and_shrinks_with_history() {
        let (m, pop) = town(10_000.0, 0.5);
        let r = rules();
        let prior = risk(&m, &r);
        let w = drg_weights(&prior, Weighting::Need);
        let table = table_for(&r, &prior, &w, 1.0);
        let loyal: Vec<i64> = table.iter().map(|a| r.loyal_amount(*a)).collect();
        let cv_prior = effective_cv(&prior, &pop, &table, &loyal);
        assert!(cv_prior > prior.parameter_cv);
        let mut learnt = prior.clone();
        learnt.relativity_var.iter_mut().for_each(|v| *v *= 0.1);
        let cv_learnt = effective_cv(&learnt, &pop, &table, &loyal);
        assert!(cv_learnt < cv_prior && cv_learnt > prior.parameter_cv);
    }

    #[test]
    fn weightings_and_ladder() {
        let (m, _) = town(1_000.0, 0.0);
        let rk = risk(&m, &rules());
        let need = drg_weights(&rk, Weighting::Need);
        let lad = drg_weights(&rk, Weighting::Ladder { steps: 4 });
        let mut distinct: Vec<i64> = lad.iter().map(|x| (x * 1000.0) as i64).collect();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), 4);
        // The ladder keeps the order of need.
        let ic2 = rk.drgs.iter().position(|d| d.code == "IC29").unwrap();
        let dt1 = rk.drgs.iter().position(|d| d.code == "DT19").unwrap();
        assert!(need[ic2] > need[dt1] && lad[ic2] > lad[dt1]);
        let w = drg_weights(&rk, Weighting::DrgWeight);
        assert!(w[ic2] > 4.0);
    }
}
