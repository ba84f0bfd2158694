//! The proof that the design works: on many simulated programme-years, each town with its own
//! frequency level and yearly shock, design the table from the town's previous years and pay the
//! next year; compare the stated probability of a shortfall with the realised frequency.

use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::Gamma;
use sim::{drg_catalogue, simulate_programme, DrgVersion, ProgrammeSpec, StayModel};

use crate::aggregate::AggregateError;
use crate::bridge::{experience_of, population_of, realised_payout};
use crate::design::{design, evaluate, table_for, DesignTargets, SchemeRules, Weighting};
use crate::risk::{CredibilityParams, RiskModel};

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestConfig {
    pub years: usize,
    pub seed: u64,
    pub members: usize,
    /// Years of history each design sees.
    pub history_years: u32,
    pub fee_per_member_fen: i64,
    /// Service fee as a share of income, paid before subsidies.
    pub service_fee_share: f64,
    pub rules: SchemeRules,
    pub target_surplus: f64,
    pub shortfall_probability: f64,
    pub weighting: Weighting,
    /// What the model assumes about towns and years.
    pub assumed: CredibilityParams,
    /// The truth of the simulation: spread of town levels and of yearly shocks.
    pub true_town_sd: f64,
    pub true_year_cv: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestYear {
    pub town_level: f64,
    pub year_shock: f64,
    pub budget_fen: i64,
    pub stated_p_shortfall: f64,
    pub expected_payout_fen: f64,
    pub realised_payout_fen: i64,
    pub shortfall: bool,
    /// P(payout < realised) + ½ P(payout = realised) under the design: uniform if calibrated.
    pub pit: f64,
    pub credibility: f64,
    pub parameter_cv: f64,
    pub realised_benefit_rate: f64,
    pub expected_benefit_rate: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BacktestReport {
    pub config: BacktestConfig,
    pub years: Vec<BacktestYear>,
}

/// Runs the back-test, the programme-years in parallel (rayon); `progress` is told how many
/// years are finished each time one finishes. The report is the same as
/// [`run_backtest_sequential`]'s: each year's random draws depend only on the seed and its index.
pub fn run_backtest(
    cfg: &BacktestConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BacktestReport, AggregateError> {
    run_backtest_with(cfg, true, progress)
}

/// As [`run_backtest`], one year after the other on the calling thread.
pub fn run_backtest_sequential(
    cfg: &BacktestConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BacktestReport, AggregateError> {
    run_backtest_with(cfg, false, progress)
}

fn run_backtest_with(
    cfg: &BacktestConfig,
    parallel: bool,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BacktestReport, AggregateError> {
    use rayon::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let model = StayModel::new();
    let catalogue = drg_catalogue(DrgVersion::V20);
    let base_prior = RiskModel::prior(&model, catalogue.clone(), cfg.rules.thresholds);
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    let k = 1.0 / cfg.true_town_sd.powi(2);
    let town_dist = Gamma::new(k, 1.0 / k).expect("positive shape");
    // The one sequential draw: every town's level, in order, from the seed's stream. Everything
    // else a year needs is seeded by its index.
    let levels: Vec<f64> = (0..cfg.years)
        .map(|_| {
            if cfg.true_town_sd > 0.0 {
                town_dist.sample(&mut rng)
            } else {
                1.0
            }
        })
        .collect();
    let done = AtomicUsize::new(0);
    let one_year = |(i, &town_level): (usize, &f64)| -> Result<BacktestYear, AggregateError> {
        let mut spec = ProgrammeSpec::new(
            cfg.seed.wrapping_mul(1_000_003).wrapping_add(i as u64),
            cfg.members,
            cfg.history_years + 1,
        );
        spec.frequency_level = town_level;
        spec.frequency_shock_cv = cfg.true_year_cv;
        let p = simulate_programme(&spec, &model);
        let target_year = spec.first_year + cfg.history_years as i32;
        let history: Vec<_> = (spec.first_year..target_year)
            .map(|y| experience_of(&model, &p, y, cfg.rules.thresholds, &cfg.rules))
            .collect();
        let prior_for = |t| RiskModel::prior(&model, catalogue.clone(), t);
        let risk = base_prior
            .clone()
            .with_experience(&history, cfg.assumed, &prior_for);
        let pop = population_of(&model, &p, target_year);
        let income = pop.total() as i64 * cfg.fee_per_member_fen;
        let budget = income - (income as f64 * cfg.service_fee_share).round() as i64;
        let targets = DesignTargets {
            money_available_fen: budget,
            target_surplus: cfg.target_surplus,
            shortfall_probability: cfg.shortfall_probability,
            weighting: cfg.weighting,
        };
        let d = design(&risk, &cfg.rules, &pop, &targets)?;
        let realised = realised_payout(&p, target_year, &cfg.rules, &risk, &d.amounts_fen);
        let weights = crate::design::drg_weights(&risk, cfg.weighting);
        let table = table_for(&cfg.rules, &risk, &weights, d.scale);
        let (_, dist) = evaluate(&risk, &cfg.rules, &pop, &table, budget)?;
        let above = dist.prob_exceeds(realised.payout_fen);
        let at_or_above = dist.prob_exceeds(realised.payout_fen - 1);
        let pit = 1.0 - above - 0.5 * (at_or_above - above);
        let year = BacktestYear {
            town_level,
            year_shock: *p.frequency_shocks.last().unwrap_or(&1.0),
            budget_fen: budget,
            stated_p_shortfall: d.evaluation.p_shortfall,
            expected_payout_fen: d.evaluation.expected_payout_fen,
            realised_payout_fen: realised.payout_fen,
            shortfall: realised.payout_fen > budget,
            pit,
            credibility: d.credibility,
            parameter_cv: d.parameter_cv,
            realised_benefit_rate: realised.people_helped as f64 / pop.total().max(1) as f64,
            expected_benefit_rate: d.evaluation.benefit_rate,
        };
        progress(done.fetch_add(1, Ordering::Relaxed) + 1);
        Ok(year)
    };
    let years: Vec<BacktestYear> = if parallel {
        levels
            .par_iter()
            .enumerate()
            .map(one_year)
            .collect::<Result<_, _>>()?
    } else {
        levels
            .iter()
            .enumerate()
            .map(one_year)
            .collect::<Result<_, _>>()?
    };
    Ok(BacktestReport {
        config: cfg.clone(),
        years,
    })
}

fn pct(x: f64) -> String {
    format!("{:.2}%", 100.0 * x)
}

fn quantile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i]
}

impl BacktestReport {
    pub fn shortfall_frequency(&self) -> f64 {
        self.years.iter().filter(|y| y.shortfall).count() as f64 / self.years.len().max(1) as f64
    }
    pub fn mean_stated(&self) -> f64 {
        self.years.iter().map(|y| y.stated_p_shortfall).sum::<f64>()
            / self.years.len().max(1) as f64
    }
    /// Whether the realised shortfall frequency is within ±1.5 points of the stated level.
    pub fn within_tolerance(&self) -> bool {
        (self.shortfall_frequency() - self.config.shortfall_probability).abs() <= 0.015
    }

    /// The report committed as `docs/backtest.md`.
    pub fn markdown(&self, command: &str) -> String {
        let c = &self.config;
        let n = self.years.len();
        let sf = self.shortfall_frequency();
        let se =
            (c.shortfall_probability * (1.0 - c.shortfall_probability) / n.max(1) as f64).sqrt();
        let mut ratios: Vec<f64> = self
            .years
            .iter()
            .map(|y| y.realised_payout_fen as f64 / y.budget_fen as f64)
            .collect();
        let pits: Vec<f64> = self.years.iter().map(|y| y.pit).collect();
        let mean_pit = pits.iter().sum::<f64>() / n.max(1) as f64;
        let mut bins = [0usize; 10];
        for p in &pits {
            bins[((p * 10.0).floor() as usize).min(9)] += 1;
        }
        let mut out = String::new();
        out.push_str("# Back-test of the one-click design\n\n");
        out.push_str(&format!(
            "Generated by `{command}`; do not edit by hand.\n\n"
        ));
        out.push_str("Each programme-year is a town of its own: a frequency level drawn around the calibration prior, ");
        out.push_str(&format!(
            "{} years of simulated history, then a design for the next year from that history (Bühlmann–Straub credibility on the prior), paid on the simulated next year.\n\n",
            c.history_years
        ));
        out.push_str("## Set-up\n\n");
        out.push_str(&format!(
            "- programme-years: {n}; members per town: {}; seed {}\n",
            c.members, c.seed
        ));
        out.push_str(&format!(
            "- money available: {} yuan per member less a {} service fee; target surplus {}; accepted P(shortfall) {}\n",
            c.fee_per_member_fen / 100,
            pct(c.service_fee_share),
            pct(c.target_surplus),
            pct(c.shortfall_probability)
        ));
        out.push_str(&format!(
            "- thresholds (yuan): residents {}, employees {}, uninsured {}; minimum {}; per-stay cap {}; yearly cap {}; loyalty +{}%; rounding {} yuan; weighting {:?}\n",
            c.rules.thresholds.resident_fen / 100,
            c.rules.thresholds.employee_fen / 100,
            c.rules.thresholds.uninsured_fen / 100,
            c.rules.min_subsidy_fen / 100,
            c.rules.per_stay_cap_fen / 100,
            c.rules.yearly_cap_fen.map_or("none".to_string(), |v| (v / 100).to_string()),
            c.rules.loyalty_bonus_pct,
            c.rules.rounding_unit_fen / 100,
            c.weighting
        ));
        out.push_str(&format!(
            "- truth of the simulation: town level sd {}, yearly shock CV {}; the model assumes sd {} and CV {}\n\n",
            c.true_town_sd, c.true_year_cv, c.assumed.between_towns_sd, c.assumed.year_shock_cv
        ));
        out.push_str("## Shortfall: stated vs realised\n\n");
        out.push_str("| | value |\n|---|---|\n");
        out.push_str(&format!(
            "| accepted P(shortfall) | {} |\n",
            pct(c.shortfall_probability)
        ));
        out.push_str(&format!(
            "| mean stated P(shortfall) of the designs | {} |\n",
            pct(self.mean_stated())
        ));
        out.push_str(&format!(
            "| realised shortfall frequency | {} ({} of {n}) |\n",
            pct(sf),
            self.years.iter().filter(|y| y.shortfall).count()
        ));
        out.push_str(&format!(
            "| binomial standard error at the accepted level | {} |\n",
            pct(se)
        ));
        out.push_str(&format!(
            "| within ±1.5 points | **{}** |\n\n",
            if self.within_tolerance() { "yes" } else { "no" }
        ));
        out.push_str("Calibration of the whole distribution (probability integral transform of the realised payout; uniform if the model is right):\n\n");
        out.push_str(&format!(
            "mean PIT {mean_pit:.3} (ideal 0.5); deciles: {}\n\n",
            bins.iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(" / ")
        ));
        out.push_str("## Payout ratio (realised payout / money available)\n\n");
        out.push_str("| 5% | 25% | 50% | 75% | 95% | max |\n|---|---|---|---|---|---|\n");
        let q: Vec<String> = [0.05, 0.25, 0.5, 0.75, 0.95, 1.0]
            .iter()
            .map(|p| pct(quantile(&mut ratios, *p)))
            .collect();
        out.push_str(&format!("| {} |\n\n", q.join(" | ")));
        let exp_ratio = self
            .years
            .iter()
            .map(|y| y.expected_payout_fen / y.budget_fen as f64)
            .sum::<f64>()
            / n.max(1) as f64;
        out.push_str(&format!(
            "Mean expected payout ratio of the designs: {}. ",
            pct(exp_ratio)
        ));
        let realised_rate = self
            .years
            .iter()
            .map(|y| y.realised_benefit_rate)
            .sum::<f64>()
            / n.max(1) as f64;
        let expected_rate = self
            .years
            .iter()
            .map(|y| y.expected_benefit_rate)
            .sum::<f64>()
            / n.max(1) as f64;
        out.push_str(&format!(
            "Members helped (受益率): expected {}, realised {}.\n\n",
            pct(expected_rate),
            pct(realised_rate)
        ));
        let mut creds: Vec<f64> = self.years.iter().map(|y| y.credibility).collect();
        let mut cvs: Vec<f64> = self.years.iter().map(|y| y.parameter_cv).collect();
        out.push_str(&format!(
            "Credibility of the history: median {:.2}; parameter-risk CV used: median {:.3}.\n\n",
            quantile(&mut creds, 0.5),
            quantile(&mut cvs, 0.5)
        ));
        out.push_str("## Surplus path\n\n");
        out.push_str("Cumulative balance if one fund had run these years back to back, carrying every surplus and deficit over (yuan, at every tenth year):\n\n");
        out.push_str("| year | payout ratio | balance |\n|---|---|---|\n");
        let mut balance = 0i64;
        let mut min_balance = i64::MAX;
        for (i, y) in self.years.iter().enumerate() {
            balance += y.budget_fen - y.realised_payout_fen;
            min_balance = min_balance.min(balance);
            if (i + 1) % 10 == 0 || i + 1 == n {
                out.push_str(&format!(
                    "| {} | {} | {} |\n",
                    i + 1,
                    pct(y.realised_payout_fen as f64 / y.budget_fen as f64),
                    balance / 100
                ));
            }
        }
        out.push_str(&format!("\nLowest balance: {} yuan.\n", min_balance / 100));
        out
    }
}
