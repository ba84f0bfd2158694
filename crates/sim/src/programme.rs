//! Simulated programme years: who is a member in which year, and their hospital stays.
//!
//! Per person-year the number of stays is negative binomial (Poisson with a gamma frailty of
//! shape 0.5), scaled by a town-wide shock per year; each stay draws a DRG cell for the member's
//! age and sex, a hospital level, a log-normal total cost, a reimbursement share and a claim
//! filing delay, as the calibration README prescribes.

use chrono::{Datelike, Days, NaiveDate};
use domain::{Fen, InsuranceType, Sex};
use rand::distributions::WeightedIndex;
use rand::prelude::*;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Gamma, LogNormal, Normal, Poisson};

use crate::model::{Severity, StayModel};
use crate::population::{generate_population_on, Household, PopulationSpec};

#[derive(Debug, Clone, PartialEq)]
pub struct ProgrammeSpec {
    pub seed: u64,
    /// Members in each scheme year (approximately: whole households).
    pub members: usize,
    pub years: u32,
    pub first_year: i32,
    /// 6-digit county code used in ID numbers and village codes.
    pub county: String,
    /// 3-digit town code within the county.
    pub town: String,
    /// Coefficient of variation of the town-wide frequency shock of each year.
    pub frequency_shock_cv: f64,
    /// Share of member households that do not renew each year (replaced by new households).
    pub household_leave_rate: f64,
    /// The town's own frequency level relative to the calibration (towns differ).
    pub frequency_level: f64,
}

impl ProgrammeSpec {
    /// The calibration defaults: 7.5% frequency shock, 7% of households leaving each year.
    pub fn new(seed: u64, members: usize, years: u32) -> Self {
        ProgrammeSpec {
            seed,
            members,
            years: years.max(1),
            first_year: 2026,
            county: "321023".into(),
            town: "101".into(),
            frequency_shock_cv: 0.075,
            household_leave_rate: 0.07,
            frequency_level: 1.0,
        }
    }
}

/// A person who was a member in at least one simulated year.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub household: usize,
    /// Index in `households[household].members`.
    pub position: usize,
    pub sex: Sex,
    pub birth_date: NaiveDate,
    pub insurance: InsuranceType,
    /// First and last scheme year of membership (consecutive years in between).
    pub first_year: i32,
    pub last_year: i32,
}

impl Member {
    pub fn is_member_in(&self, year: i32) -> bool {
        (self.first_year..=self.last_year).contains(&year)
    }
    /// Age on 1 January of the scheme year: the age the risk classes use.
    pub fn age_in(&self, year: i32) -> u32 {
        let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
        jan1.years_since(self.birth_date).unwrap_or(0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Stay {
    pub member: usize,
    pub scheme_year: i32,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    /// Index into `StayModel::facilities`.
    pub facility: usize,
    /// Index into `StayModel::cells`.
    pub cell: usize,
    /// The DRG the stay is meant to group into (CHS-DRG 2.0).
    pub drg: String,
    pub adrg: String,
    pub principal_dx: (String, String),
    pub procedure: Option<(String, String)>,
    pub secondary_dx: Vec<(String, String)>,
    pub total: Fen,
    pub reimbursement: Fen,
    pub out_of_pocket: Fen,
    /// Days from discharge to claim; `None` for the stays that are never claimed.
    pub claim_delay_days: Option<u32>,
}

#[derive(Debug, Clone)]
pub struct Programme {
    pub spec: ProgrammeSpec,
    pub households: Vec<Household>,
    pub members: Vec<Member>,
    pub stays: Vec<Stay>,
    /// The realised town-wide frequency multiplier of each year.
    pub frequency_shocks: Vec<f64>,
}

impl Programme {
    pub fn members_in(&self, year: i32) -> usize {
        self.members.iter().filter(|m| m.is_member_in(year)).count()
    }
}

/// Simulates `spec.years` scheme years of one town.
pub fn simulate_programme(spec: &ProgrammeSpec, model: &StayModel) -> Programme {
    let reserve = 1.0 + spec.household_leave_rate * f64::from(spec.years - 1) * 1.3 + 0.02;
    let pool_members = (spec.members as f64 * reserve).ceil() as usize + 10;
    let villages = (pool_members / 1500).max(1);
    let pop_spec =
        PopulationSpec::town(spec.seed, &spec.county, &spec.town, pool_members, villages);
    let start = NaiveDate::from_ymd_opt(spec.first_year, 1, 1).expect("valid first year");
    let mut pool = generate_population_on(&pop_spec, start);
    // Villages are generated one after another; shuffle so that joiners come from everywhere.
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    rng.set_stream(0xA11CE);
    pool.shuffle(&mut rng);

    // Membership spells by household.
    let last = spec.first_year + spec.years as i32 - 1;
    let mut spells: Vec<(i32, i32)> = Vec::new();
    let mut next = 0usize;
    let mut active: Vec<usize> = Vec::new();
    for year in spec.first_year..=last {
        if year > spec.first_year {
            active.retain(|&h| {
                if rng.gen_bool(spec.household_leave_rate) {
                    spells[h].1 = year - 1;
                    false
                } else {
                    true
                }
            });
        }
        let mut n: usize = active.iter().map(|&h| pool[h].members.len()).sum();
        while n < spec.members && next < pool.len() {
            spells.push((year, last));
            active.push(next);
            n += pool[next].members.len();
            next += 1;
        }
    }
    pool.truncate(next);
    let households = pool;
    let mut members = Vec::new();
    for (hi, h) in households.iter().enumerate() {
        for (pi, p) in h.members.iter().enumerate() {
            members.push(Member {
                household: hi,
                position: pi,
                sex: p.id_number.sex(),
                birth_date: p.id_number.birth_date(),
                insurance: p.insurance,
                first_year: spells[hi].0,
                last_year: spells[hi].1,
            });
        }
    }

    let class_dists: Vec<WeightedIndex<f64>> = model
        .classes
        .iter()
        .map(|c| WeightedIndex::new(&c.cells).expect("class has cells"))
        .collect();
    let facility_dists: Vec<WeightedIndex<f64>> = model
        .cells
        .iter()
        .map(|c| WeightedIndex::new(&c.facility).expect("cell has levels"))
        .collect();
    let frailty = Gamma::new(model.frailty_shape, 1.0 / model.frailty_shape).expect("shape > 0");
    let mut stays = Vec::new();
    let mut shocks = Vec::new();
    for (yi, year) in (spec.first_year..=last).enumerate() {
        let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
        rng.set_stream(1_000 + yi as u64);
        let shock = if spec.frequency_shock_cv > 0.0 {
            let k = 1.0 / spec.frequency_shock_cv.powi(2);
            Gamma::new(k, 1.0 / k).expect("shock").sample(&mut rng)
        } else {
            1.0
        };
        shocks.push(shock);
        let shock = shock * spec.frequency_level;
        for (mi, m) in members.iter().enumerate() {
            if !m.is_member_in(year) {
                continue;
            }
            let class = model.class_of(m.age_in(year), m.sex == Sex::Male);
            let lambda = model.classes[class].rate * shock * frailty.sample(&mut rng);
            if lambda <= 0.0 {
                continue;
            }
            let n = Poisson::new(lambda)
                .expect("positive rate")
                .sample(&mut rng) as u32;
            for _ in 0..n {
                let cell = class_dists[class].sample(&mut rng);
                let facility = facility_dists[cell].sample(&mut rng);
                stays.push(make_stay(model, mi, m, year, cell, facility, &mut rng));
            }
        }
    }
    Programme {
        spec: spec.clone(),
        households,
        members,
        stays,
        frequency_shocks: shocks,
    }
}

fn make_stay(
    model: &StayModel,
    member: usize,
    m: &Member,
    year: i32,
    cell_index: usize,
    facility: usize,
    rng: &mut ChaCha8Rng,
) -> Stay {
    let cell = &model.cells[cell_index];
    let row = &model.rows[cell.row];
    let level = &model.facilities[facility];
    let (mu, sigma) = cell.log_cost[facility];
    let total_yuan = LogNormal::new(mu, sigma)
        .expect("sigma > 0")
        .sample(rng)
        .max(100.0);
    let total = (total_yuan * 100.0).round() as i64;
    let reimbursement = match m.insurance {
        InsuranceType::Uninsured => 0,
        t => {
            let bonus = if t == InsuranceType::Employee {
                model.employee_share_bonus
            } else {
                0.0
            };
            let share = Normal::new(level.reimbursement_mean + bonus, level.reimbursement_sd)
                .expect("sd >= 0")
                .sample(rng)
                .clamp(0.2, 0.95);
            let base = (total - (level.deductible_yuan * 100.0).round() as i64).max(0);
            (share * base as f64).round() as i64
        }
    };
    // Benefits belong to the scheme year of discharge (the rules pay "after discharge").
    let discharge = discharge_date(year, row.is_respiratory(), rng);
    let los =
        (3.5 + 3.0 * cell.weight) * (0.45 * rng.sample::<f64, _>(rand_distr::StandardNormal)).exp();
    let admission = discharge - Days::new(los.round().clamp(1.0, 90.0) as u64);
    let claim_delay_days = if rng.gen_bool(model.never_claimed) {
        None
    } else {
        let d = LogNormal::new(25f64.ln(), 0.75).expect("sigma");
        Some(loop {
            let x = d.sample(rng);
            if x <= 90.0 {
                break x.round() as u32;
            }
        })
    };
    let mut secondary_dx = Vec::new();
    match cell.severity {
        Severity::Mcc => secondary_dx.push(row.mcc.clone()),
        Severity::Cc => secondary_dx.push(row.cc.clone()),
        Severity::None => {}
    }
    Stay {
        member,
        scheme_year: year,
        admission,
        discharge,
        facility,
        cell: cell_index,
        drg: cell.drg.clone(),
        adrg: row.adrg.clone(),
        principal_dx: (row.pdx.clone(), row.pdx_name.clone()),
        procedure: row.procedure.clone(),
        secondary_dx,
        total: Fen(total),
        reimbursement: Fen(reimbursement),
        out_of_pocket: Fen(total - reimbursement),
        claim_delay_days,
    }
}

/// Discharge day within the scheme year; respiratory stays are 40% more frequent from December
/// to February.
fn discharge_date(year: i32, respiratory: bool, rng: &mut ChaCha8Rng) -> NaiveDate {
    let jan1 = NaiveDate::from_ymd_opt(year, 1, 1).expect("date");
    let days = if NaiveDate::from_ymd_opt(year, 12, 31)
        .expect("date")
        .ordinal()
        == 366
    {
        366
    } else {
        365
    };
    loop {
        let d = jan1 + Days::new(rng.gen_range(0..days));
        let winter = matches!(d.month(), 12 | 1 | 2);
        if !respiratory || winter || rng.gen_bool(1.0 / 1.4) {
            return d;
        }
    }
}

/// Summary statistics of stays, compared with the calibration targets in the tests and shown by
/// the `simulate` command.
#[derive(Debug, Clone, PartialEq)]
pub struct StayStats {
    pub member_years: usize,
    pub stays: usize,
    pub stays_per_member_year: f64,
    pub cost_mean_yuan: f64,
    pub cost_median_yuan: f64,
    pub oop_mean_yuan: f64,
    pub oop_median_yuan: f64,
    /// Share of stays with OOP at or above 2,500 / 3,500 / 5,000 / 7,000 / 10,000 yuan.
    pub oop_share_at_least: [f64; 5],
    /// Stays with OOP >= 2,500 yuan per member-year.
    pub eligible_per_member_year: f64,
    /// Share of member-years with at least one stay with OOP >= 2,500 yuan.
    pub members_with_eligible_stay: f64,
    pub stays_per_hospitalised_member_year: f64,
}

pub const OOP_THRESHOLDS_YUAN: [i64; 5] = [2_500, 3_500, 5_000, 7_000, 10_000];

impl Programme {
    pub fn stay_stats(&self) -> StayStats {
        let member_years: usize = (self.spec.first_year
            ..self.spec.first_year + self.spec.years as i32)
            .map(|y| self.members_in(y))
            .sum();
        let n = self.stays.len();
        let mut cost: Vec<i64> = self.stays.iter().map(|s| s.total.0).collect();
        let mut oop: Vec<i64> = self.stays.iter().map(|s| s.out_of_pocket.0).collect();
        cost.sort_unstable();
        oop.sort_unstable();
        let mean =
            |v: &[i64]| v.iter().map(|x| *x as f64).sum::<f64>() / v.len().max(1) as f64 / 100.0;
        let median = |v: &[i64]| {
            if v.is_empty() {
                0.0
            } else {
                v[v.len() / 2] as f64 / 100.0
            }
        };
        let mut shares = [0.0; 5];
        for (s, t) in shares.iter_mut().zip(OOP_THRESHOLDS_YUAN) {
            *s = oop.iter().filter(|x| **x >= t * 100).count() as f64 / n.max(1) as f64;
        }
        let mut eligible_people = std::collections::HashSet::new();
        let mut hospitalised = std::collections::HashSet::new();
        let mut eligible = 0usize;
        for s in &self.stays {
            hospitalised.insert((s.member, s.scheme_year));
            if s.out_of_pocket.0 >= 250_000 {
                eligible += 1;
                eligible_people.insert((s.member, s.scheme_year));
            }
        }
        let my = member_years.max(1) as f64;
        StayStats {
            member_years,
            stays: n,
            stays_per_member_year: n as f64 / my,
            cost_mean_yuan: mean(&cost),
            cost_median_yuan: median(&cost),
            oop_mean_yuan: mean(&oop),
            oop_median_yuan: median(&oop),
            oop_share_at_least: shares,
            eligible_per_member_year: eligible as f64 / my,
            members_with_eligible_stay: eligible_people.len() as f64 / my,
            stays_per_hospitalised_member_year: n as f64 / hospitalised.len().max(1) as f64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn big() -> Programme {
        let mut spec = ProgrammeSpec::new(2024, 100_000, 2);
        spec.frequency_shock_cv = 0.0;
        simulate_programme(&spec, &StayModel::new())
    }

    fn close(got: f64, want: f64, rel: f64, what: &str) {
        assert!(
            (got / want - 1.0).abs() <= rel,
            "{what}: {got:.4} vs target {want} (±{:.0}%)",
            rel * 100.0
        );
    }

    #[test]
    fn calibration_targets_are_met() {
        let p = big();
        let s = p.stay_stats();
        eprintln!("{s:#?}");
        // 200,000 member-years give ~35,000 stays: sampling error of a share ~0.3 points.
        close(
            s.stays_per_member_year,
            0.175,
            0.04,
            "stays per member-year",
        );
        close(s.cost_mean_yuan, 7_900.0, 0.06, "mean cost");
        close(s.cost_median_yuan, 3_550.0, 0.06, "median cost");
        close(s.oop_mean_yuan, 3_800.0, 0.06, "mean OOP");
        close(s.oop_median_yuan, 1_700.0, 0.06, "median OOP");
        let targets = [0.368, 0.267, 0.182, 0.121, 0.076];
        for ((got, want), t) in s
            .oop_share_at_least
            .iter()
            .zip(targets)
            .zip(OOP_THRESHOLDS_YUAN)
        {
            assert!(
                (got - want).abs() < 0.015,
                "share OOP >= {t}: {got:.3} vs {want}"
            );
        }
        close(
            s.eligible_per_member_year,
            0.065,
            0.06,
            "eligible stays per member-year",
        );
        assert!(
            (0.05..=0.06).contains(&s.members_with_eligible_stay),
            "{}",
            s.members_with_eligible_stay
        );
        // Average subsidy at 100 yuan per member with 90% paid out, one subsidy per eligible stay.
        close(
            90.0 / s.eligible_per_member_year,
            1_380.0,
            0.06,
            "average subsidy",
        );
    }

    #[test]
    fn stays_are_consistent_and_reproducible() {
        let model = StayModel::new();
        let spec = ProgrammeSpec::new(5, 20_000, 3);
        let p = simulate_programme(&spec, &model);
        let q = simulate_programme(&spec, &model);
        assert_eq!(p.stays, q.stays);
        assert_eq!(p.frequency_shocks.len(), 3);
        for y in 2026..2029 {
            let n = p.members_in(y);
            assert!((20_000..20_010).contains(&n), "{y}: {n}");
        }
        // Households leave and join: some members are not there every year.
        assert!(p.members.iter().any(|m| m.first_year > 2026));
        assert!(p.members.iter().any(|m| m.last_year < 2028));
        let mut delays = Vec::new();
        let (mut winter_resp, mut resp) = (0, 0);
        for s in &p.stays {
            let m = &p.members[s.member];
            assert!(m.is_member_in(s.scheme_year));
            assert_eq!(s.discharge.year(), s.scheme_year);
            assert!(s.discharge > s.admission);
            assert_eq!(s.total.0, s.reimbursement.0 + s.out_of_pocket.0);
            assert!(s.reimbursement.0 >= 0 && s.out_of_pocket.0 > 0);
            if m.insurance == InsuranceType::Uninsured {
                assert_eq!(s.reimbursement.0, 0);
            }
            assert!(s.drg.starts_with(&s.adrg));
            if s.adrg == "OB1" || s.adrg == "OZ1" {
                assert_eq!(m.sex, Sex::Female);
            }
            if let Some(d) = s.claim_delay_days {
                assert!(d <= 90);
                delays.push(d);
            }
            if model.rows[model.cells[s.cell].row].is_respiratory() {
                resp += 1;
                if matches!(s.discharge.month(), 12 | 1 | 2) {
                    winter_resp += 1;
                }
            }
        }
        delays.sort_unstable();
        let median = delays[delays.len() / 2];
        assert!((20..=30).contains(&median), "median delay {median}");
        let unclaimed = 1.0 - delays.len() as f64 / p.stays.len() as f64;
        assert!((0.015..0.045).contains(&unclaimed), "{unclaimed}");
        // Three winter months carry 1.4 x 3 / (1.4 x 3 + 9) = 32% of respiratory stays.
        let w = f64::from(winter_resp) / f64::from(resp);
        assert!((0.28..0.36).contains(&w), "winter share {w}");
    }
}
