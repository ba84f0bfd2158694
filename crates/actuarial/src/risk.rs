//! The risk model: expected eligible stays per DRG and per risk class, from the reference prior
//! (the calibration model of `sim`, evaluated analytically) blended with the programme's own
//! history by Bühlmann–Straub credibility.
//!
//! Risk class = age band × sex (the rows of the frequency table) × insurance type (which sets the
//! claim threshold). Eligibility of a stay is `OOP >= threshold(insurance)`; its probability per
//! DRG comes from the cost model: hospital level, log-normal total cost, reimbursement share
//! (integrated numerically) and deductible.

use domain::{InsuranceType, Sex};
use sim::model::{Cell, StayModel};
use sim::CatalogueDrg;

use crate::normal;

pub const INSURANCE: [InsuranceType; 3] = [
    InsuranceType::Resident,
    InsuranceType::Employee,
    InsuranceType::Uninsured,
];

fn ins_index(t: InsuranceType) -> usize {
    match t {
        InsuranceType::Resident => 0,
        InsuranceType::Employee => 1,
        InsuranceType::Uninsured => 2,
    }
}

/// OOP threshold per insurance type (fen): a stay is eligible when OOP >= threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    pub resident_fen: i64,
    pub employee_fen: i64,
    pub uninsured_fen: i64,
}

impl Thresholds {
    /// One threshold for everyone insured and another for the uninsured.
    pub fn uniform(insured_fen: i64, uninsured_fen: i64) -> Self {
        Thresholds {
            resident_fen: insured_fen,
            employee_fen: insured_fen,
            uninsured_fen,
        }
    }
    pub fn get(&self, t: InsuranceType) -> i64 {
        match t {
            InsuranceType::Resident => self.resident_fen,
            InsuranceType::Employee => self.employee_fen,
            InsuranceType::Uninsured => self.uninsured_fen,
        }
    }
}

/// Index of a risk class: `stay_class * 3 + insurance`.
pub fn class_index(model: &StayModel, age: u32, sex: Sex, insurance: InsuranceType) -> usize {
    model.class_of(age, sex == Sex::Male) * 3 + ins_index(insurance)
}

pub fn class_count(model: &StayModel) -> usize {
    model.classes.len() * 3
}

/// Human-readable label of a class, e.g. `60-69 F resident`.
pub fn class_label(model: &StayModel, class: usize) -> String {
    let c = &model.classes[class / 3];
    format!(
        "{}-{} {} {}",
        c.band.from,
        c.band.to,
        if c.male { "M" } else { "F" },
        INSURANCE[class % 3].code()
    )
}

/// OOP of one stay: P(OOP >= t), E[OOP; OOP >= t] and E[OOP] (yuan), for a cell at a level.
fn oop_moments(
    model: &StayModel,
    cell: &Cell,
    level: usize,
    ins: InsuranceType,
    t_yuan: f64,
) -> (f64, f64, f64) {
    let f = &model.facilities[level];
    let (mu, sigma) = cell.log_cost[level];
    let tail = |c: f64| -> f64 {
        if c <= 0.0 {
            1.0
        } else {
            normal::cdf((mu - c.ln()) / sigma)
        }
    };
    let partial = |c: f64| -> f64 {
        // E[C; C >= c]
        let m = (mu + sigma * sigma / 2.0).exp();
        if c <= 0.0 {
            m
        } else {
            m * normal::cdf((mu + sigma * sigma - c.ln()) / sigma)
        }
    };
    if ins == InsuranceType::Uninsured {
        return (tail(t_yuan), partial(t_yuan), partial(0.0));
    }
    let bonus = if ins == InsuranceType::Employee {
        model.employee_share_bonus
    } else {
        0.0
    };
    let d = f.deductible_yuan;
    // Reimbursement share ~ Normal(mean, sd) clipped: midpoint rule over ±5 sd.
    let n = 41;
    let (mut p, mut e_tail, mut e_all, mut wsum) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        let z = -5.0 + 10.0 * (i as f64 + 0.5) / n as f64;
        let w = (-0.5 * z * z).exp();
        let s = (f.reimbursement_mean + bonus + f.reimbursement_sd * z).clamp(0.2, 0.95);
        // OOP = C below the deductible, (1-s)C + sD above it; increasing in C.
        let e_c_between = |a: f64, b: f64| partial(a) - partial(b); // E[C; a <= C < b]
        let all = e_c_between(0.0, d) + (1.0 - s) * partial(d) + s * d * tail(d);
        let (pt, et) = if t_yuan <= d {
            (
                tail(t_yuan),
                e_c_between(t_yuan, d) + (1.0 - s) * partial(d) + s * d * tail(d),
            )
        } else {
            let c = (t_yuan - s * d) / (1.0 - s);
            (tail(c), (1.0 - s) * partial(c) + s * d * tail(c))
        };
        p += w * pt;
        e_tail += w * et;
        e_all += w * all;
        wsum += w;
    }
    (p / wsum, e_tail / wsum, e_all / wsum)
}

/// Expected eligible stays per member-year, per class and DRG, and what goes with them.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskModel {
    /// The DRG catalogue the amounts are set on.
    pub drgs: Vec<CatalogueDrg>,
    pub thresholds: Thresholds,
    /// Per class: (DRG index, expected eligible stays per member-year).
    pub eligible: Vec<Vec<(usize, f64)>>,
    /// Per class: expected OOP (fen) of all stays per member-year, eligible or not.
    pub oop_per_member_fen: Vec<f64>,
    /// Per class: expected stays of any kind per member-year.
    pub stays_per_member: Vec<f64>,
    /// Per DRG: expected OOP above the resident threshold of an eligible stay (fen): the
    /// "need" weighting of the design.
    pub need_fen: Vec<f64>,
    /// Negative binomial shape of a member's stays in a year.
    pub frailty_shape: f64,
    /// Credibility-weighted level of frequency relative to the prior (1 = prior).
    pub level: f64,
    /// Coefficient of variation of the common factor for the coming year (parameter risk plus
    /// the town-wide shock of one year).
    pub parameter_cv: f64,
    /// Bühlmann–Straub credibility of the programme's own history (0 = prior only).
    pub credibility: f64,
    /// Per DRG: variance of the estimated relativity of its frequency (prior τ_d² without
    /// history, τ_d²(1 − Z_d) after). It moves the expected payout as a whole, so the design adds
    /// it to the parameter risk, weighted by payout shares.
    pub relativity_var: Vec<f64>,
}

/// Prior uncertainty and year-to-year variation used by the credibility blend.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CredibilityParams {
    /// Standard deviation of a town's true frequency level around the reference prior.
    pub between_towns_sd: f64,
    /// Coefficient of variation of the town-wide shock of one year.
    pub year_shock_cv: f64,
    /// Standard deviation of a DRG's relative frequency around the prior mix.
    pub drg_relativity_sd: f64,
}

impl Default for CredibilityParams {
    fn default() -> Self {
        CredibilityParams {
            between_towns_sd: 0.15,
            year_shock_cv: 0.075,
            drg_relativity_sd: 0.25,
        }
    }
}

/// One past scheme year of the programme: exposure by class and decided eligible claims.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct YearExperience {
    /// Member-years per class.
    pub exposure: Vec<f64>,
    pub thresholds: Option<Thresholds>,
    /// Eligible (paid) claims: (class, DRG code).
    pub claims: Vec<(usize, String)>,
}

/// Maps a CHS-DRG 2.0 code of the calibration model to the chosen catalogue: the same code,
/// else a DRG of the same ADRG with the same suffix, else the first DRG of the ADRG.
fn map_drg(code: &str, drgs: &[CatalogueDrg]) -> Option<usize> {
    if let Some(i) = drgs.iter().position(|d| d.code == code) {
        return Some(i);
    }
    let adrg = &code[..3];
    let suffix = &code[3..];
    drgs.iter()
        .position(|d| d.adrg == adrg && d.code.ends_with(suffix))
        .or_else(|| drgs.iter().position(|d| d.adrg == adrg))
}

impl RiskModel {
    /// The reference prior: the calibration model under these thresholds.
    pub fn prior(model: &StayModel, drgs: Vec<CatalogueDrg>, thresholds: Thresholds) -> Self {
        let ncls = class_count(model);
        let cell_drg: Vec<Option<usize>> =
            model.cells.iter().map(|c| map_drg(&c.drg, &drgs)).collect();
        let mut eligible = vec![Vec::new(); ncls];
        let mut oop = vec![0.0; ncls];
        let mut stays = vec![0.0; ncls];
        // Per cell and insurance: (P(eligible), E[OOP; eligible], E[OOP]) averaged over levels.
        let mut cell_stats: Vec<[(f64, f64, f64); 3]> = Vec::with_capacity(model.cells.len());
        for cell in &model.cells {
            let mut per_ins = [(0.0, 0.0, 0.0); 3];
            for (ii, ins) in INSURANCE.iter().enumerate() {
                let t = thresholds.get(*ins) as f64 / 100.0;
                let mut acc = (0.0, 0.0, 0.0);
                for (level, pl) in cell.facility.iter().enumerate() {
                    let (p, et, ea) = oop_moments(model, cell, level, *ins, t);
                    acc.0 += pl * p;
                    acc.1 += pl * et;
                    acc.2 += pl * ea;
                }
                per_ins[ii] = acc;
            }
            cell_stats.push(per_ins);
        }
        for (sc, class) in model.classes.iter().enumerate() {
            for ii in 0..3 {
                let ci = sc * 3 + ii;
                let mut lam = vec![0.0; drgs.len()];
                for ((p_cell, stats), d) in class.cells.iter().zip(&cell_stats).zip(&cell_drg) {
                    let rate = class.rate * p_cell;
                    stays[ci] += rate;
                    oop[ci] += rate * stats[ii].2 * 100.0;
                    if let Some(d) = d {
                        // Only claimed stays are paid: a few eligible ones never are.
                        lam[*d] += rate * stats[ii].0 * (1.0 - model.never_claimed);
                    }
                }
                eligible[ci] = lam
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(i, v)| (i, *v))
                    .collect();
            }
        }
        // Need per DRG under the resident threshold; DRGs outside the calibration mix get the
        // log-log fit of need on relative weight.
        let t_res = thresholds.resident_fen as f64 / 100.0;
        let mut need = vec![f64::NAN; drgs.len()];
        let mut acc = vec![(0.0, 0.0); drgs.len()];
        for ((cell, stats), d) in model.cells.iter().zip(&cell_stats).zip(&cell_drg) {
            if let Some(d) = d {
                let (p, et, _) = stats[0];
                acc[*d].0 += cell.share * (et - t_res * p);
                acc[*d].1 += cell.share * p;
            }
        }
        let mut pts = Vec::new();
        for (i, (e, p)) in acc.iter().enumerate() {
            if *p > 0.0 {
                need[i] = e / p * 100.0;
                pts.push((drgs[i].weight.ln(), need[i].ln()));
            }
        }
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
        for (i, v) in need.iter_mut().enumerate() {
            if v.is_nan() {
                *v = (my + slope * (drgs[i].weight.ln() - mx)).exp();
            }
        }
        let ndrg = drgs.len();
        RiskModel {
            drgs,
            thresholds,
            eligible,
            oop_per_member_fen: oop,
            stays_per_member: stays,
            need_fen: need,
            frailty_shape: model.frailty_shape,
            level: 1.0,
            parameter_cv: (CredibilityParams::default().between_towns_sd.powi(2)
                + CredibilityParams::default().year_shock_cv.powi(2))
            .sqrt(),
            credibility: 0.0,
            relativity_var: vec![CredibilityParams::default().drg_relativity_sd.powi(2); ndrg],
        }
    }

    /// Expected eligible stays per member-year of a class.
    pub fn class_rate(&self, class: usize) -> f64 {
        self.eligible[class].iter().map(|x| x.1).sum::<f64>() * self.level
    }

    /// Blends the prior with the programme's history (Bühlmann–Straub). Each past year is
    /// compared with the prior under that year's thresholds; `prior_for` gives the prior of a
    /// year with other thresholds (the current model is used when they are the same).
    pub fn with_experience(
        mut self,
        history: &[YearExperience],
        params: CredibilityParams,
        prior_for: &dyn Fn(Thresholds) -> RiskModel,
    ) -> Self {
        let tau2 = params.between_towns_sd.powi(2);
        let v = params.year_shock_cv.powi(2);
        let mut w_sum = 0.0;
        let mut wx = 0.0;
        // DRG-level observed and expected counts (expected under the prior level).
        let mut obs_d = vec![0.0; self.drgs.len()];
        let mut exp_d = vec![0.0; self.drgs.len()];
        let mut exposure_total = 0.0;
        for y in history {
            let other;
            let base: &RiskModel = match y.thresholds {
                Some(t) if t != self.thresholds => {
                    other = prior_for(t);
                    &other
                }
                _ => &self,
            };
            let mut expected = 0.0;
            for (c, e) in y.exposure.iter().enumerate() {
                exposure_total += e;
                for (d, lam) in &base.eligible[c] {
                    expected += e * lam;
                    exp_d[*d] += e * lam;
                }
            }
            if expected <= 0.0 {
                continue;
            }
            let observed = y.claims.len() as f64;
            for (_, code) in &y.claims {
                if let Some(d) = self.drgs.iter().position(|x| &x.code == code) {
                    obs_d[d] += 1.0;
                }
            }
            // Process variance per unit of expected count: negative binomial over-dispersion.
            let lam_bar: f64 = expected / y.exposure.iter().sum::<f64>().max(1.0);
            let s2 = 1.0 + lam_bar / self.frailty_shape;
            let w = 1.0 / (s2 / expected + v);
            w_sum += w;
            wx += w * observed / expected;
        }
        if w_sum == 0.0 {
            return self;
        }
        let xbar = wx / w_sum;
        let z = tau2 * w_sum / (1.0 + tau2 * w_sum);
        let level = z * xbar + (1.0 - z);
        // DRG relativities, with the level taken out, then renormalised to keep the level.
        let td2 = params.drg_relativity_sd.powi(2);
        let mut rel = vec![1.0; self.drgs.len()];
        let (mut num, mut den) = (0.0, 0.0);
        for d in 0..self.drgs.len() {
            if exp_d[d] > 0.0 {
                let e = exp_d[d] * level;
                let zd = e * td2 / (1.0 + e * td2);
                rel[d] = zd * obs_d[d] / e + (1.0 - zd);
                self.relativity_var[d] = td2 * (1.0 - zd);
                num += exp_d[d] * rel[d];
                den += exp_d[d];
            }
        }
        let norm = if num > 0.0 { den / num } else { 1.0 };
        for class in self.eligible.iter_mut() {
            for (d, lam) in class.iter_mut() {
                *lam *= rel[*d] * norm;
            }
        }
        // DRGs seen in the history but absent from the prior: experience rate, spread over the
        // classes like the overall eligible rate.
        let total_rate: Vec<f64> = self
            .eligible
            .iter()
            .map(|c| c.iter().map(|x| x.1).sum())
            .collect();
        let mean_rate = {
            let e: Vec<f64> = history
                .iter()
                .fold(vec![0.0; self.eligible.len()], |mut acc, y| {
                    for (a, b) in acc.iter_mut().zip(&y.exposure) {
                        *a += b;
                    }
                    acc
                });
            let tot: f64 = e.iter().sum();
            e.iter().zip(&total_rate).map(|(x, r)| x * r).sum::<f64>() / tot.max(1.0)
        };
        for d in 0..self.drgs.len() {
            if exp_d[d] == 0.0 && obs_d[d] > 0.0 && exposure_total > 0.0 && mean_rate > 0.0 {
                let rate = obs_d[d] / exposure_total / level;
                for (c, class) in self.eligible.iter_mut().enumerate() {
                    class.push((d, rate * total_rate[c] / mean_rate));
                }
            }
        }
        self.level = level;
        self.credibility = z;
        self.parameter_cv = (tau2 * (1.0 - z) + v).sqrt();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sim::{drg_catalogue, DrgVersion};

    fn prior(t: Thresholds) -> RiskModel {
        RiskModel::prior(&StayModel::new(), drg_catalogue(DrgVersion::V20), t)
    }

    #[test]
    fn prior_reproduces_the_calibration_eligible_rate() {
        let m = StayModel::new();
        let r = prior(Thresholds::uniform(250_000, 250_000));
        // Population-average eligible rate with everyone insured at 2,500: the README's
        // "eligible stays ≈ 0.065 per member-year" (which mixes in 3–5% uninsured), less the 3%
        // never claimed.
        let ages = sim::calibration::age_structure();
        let mut tot = 0.0;
        let mut pop = 0.0;
        for (sc, c) in m.classes.iter().enumerate() {
            let share: f64 = ages
                .iter()
                .filter(|a| a.from >= c.band.from && a.to <= c.band.to)
                .map(|a| a.male)
                .sum::<f64>()
                * 0.5;
            tot += share * (0.96 * r.class_rate(sc * 3) + 0.04 * r.class_rate(sc * 3 + 2));
            pop += share;
        }
        let rate = tot / pop;
        assert!((rate / (0.065 * 0.97) - 1.0).abs() < 0.06, "{rate}");
    }

    #[test]
    fn thresholds_by_insurance_change_eligibility_as_they_should() {
        let low = prior(Thresholds {
            resident_fen: 250_000,
            employee_fen: 250_000,
            uninsured_fen: 700_000,
        });
        let high = prior(Thresholds {
            resident_fen: 350_000,
            employee_fen: 250_000,
            uninsured_fen: 700_000,
        });
        let c = 4 * 3; // 60-69 male
        assert!(high.class_rate(c) < low.class_rate(c) * 0.85);
        assert!((high.class_rate(c + 1) - low.class_rate(c + 1)).abs() < 1e-15);
        // Employees get more reimbursed: fewer of their stays reach the same threshold.
        assert!(low.class_rate(c + 1) < low.class_rate(c));
        // The uninsured pay everything: at 7,000 total they qualify about as often as
        // residents at ~3,500 OOP, far more than at 7,000 OOP.
        assert!(low.class_rate(c + 2) > 0.5 * high.class_rate(c));
        assert!(low.need_fen.iter().all(|n| n.is_finite() && *n > 0.0));
    }

    #[test]
    fn credibility_moves_towards_experience_with_volume() {
        let base = prior(Thresholds::uniform(250_000, 700_000));
        let n = class_count(&StayModel::new());
        let mut small = YearExperience {
            exposure: vec![0.0; n],
            thresholds: None,
            claims: vec![],
        };
        small.exposure[12] = 1_000.0;
        let expected_small = base.class_rate(12) * 1_000.0;
        // Observe 30% more claims than the prior expects.
        let k = (expected_small * 1.3).round() as usize;
        small.claims = (0..k).map(|_| (12, "BR25".to_string())).collect();
        let mut big = small.clone();
        big.exposure[12] = 100_000.0;
        let kb = (base.class_rate(12) * 100_000.0 * 1.3).round() as usize;
        big.claims = (0..kb).map(|_| (12, "BR25".to_string())).collect();
        let f = |t| prior(t);
        let a = base
            .clone()
            .with_experience(&[small], CredibilityParams::default(), &f);
        let b = base
            .clone()
            .with_experience(&[big.clone(), big], CredibilityParams::default(), &f);
        assert!(a.credibility < b.credibility && b.credibility < 1.0);
        assert!(a.level > 1.0 && a.level < b.level && b.level < 1.3);
        // Low credibility widens the parameter-risk margin.
        assert!(a.parameter_cv > b.parameter_cv && b.parameter_cv >= 0.075);
        // BR25 was over-represented: its relativity rises.
        let d = b.drgs.iter().position(|x| x.code == "BR25").unwrap();
        let lam = |m: &RiskModel| m.eligible[12].iter().find(|x| x.0 == d).unwrap().1;
        assert!(lam(&b) > lam(&base));
    }
}
