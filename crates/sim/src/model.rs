//! The calibration model of hospital stays, as explicit probability tables.
//!
//! The same tables drive the stay generator and the actuarial reference prior, so the prior is
//! "derived from the calibration model" exactly rather than estimated from a simulated sample.
//!
//! Construction: the intended ADRG mix of the calibration README (`data/stay_mix.csv`) is split by
//! severity (none / CC / MCC) into DRG cells. Which members produce which cells is fitted by
//! iterative proportional fitting so that (a) each age-sex class has the stay rate of
//! `frequency_by_age_sex.csv` and (b) the whole population reproduces the mix, while childbirth
//! stays only occur for women of child-bearing age, prostate surgery only for older men, etc.
//! A second fit ties hospital level to the DRG weight (a PCI is rarely done in a township health
//! centre) while keeping the level shares of `facility_levels.csv`.

use std::collections::HashMap;

use crate::calibration::{self, AgeBand, FacilityLevel};

const STAY_MIX: &str = include_str!("../data/stay_mix.csv");
const CATALOGUE_20: &str = include_str!("../data/drg_catalogue_2.0.csv");
const CATALOGUE_11: &str = include_str!("../data/drg_catalogue_1.1.csv");

/// One DRG of a CHS-DRG version with its relative weight (median of the city payment tables).
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogueDrg {
    pub code: String,
    pub adrg: String,
    pub mdc: String,
    pub name: String,
    pub weight: f64,
}

/// CHS-DRG versions whose catalogue is embedded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DrgVersion {
    V11,
    V20,
}

impl DrgVersion {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "1.1" | "chs-drg-1.1" => Some(Self::V11),
            "2.0" | "chs-drg-2.0" => Some(Self::V20),
            _ => None,
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Self::V11 => "1.1",
            Self::V20 => "2.0",
        }
    }
}

/// Every DRG of the version, in the catalogue's order.
pub fn drg_catalogue(version: DrgVersion) -> Vec<CatalogueDrg> {
    let text = match version {
        DrgVersion::V11 => CATALOGUE_11,
        DrgVersion::V20 => CATALOGUE_20,
    };
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            // Names may contain commas only in the middle; the weight and count are last.
            let n = f.len();
            CatalogueDrg {
                code: f[0].to_string(),
                adrg: f[1].to_string(),
                mdc: f[2].to_string(),
                name: f[3..n - 2].join(","),
                weight: f[n - 2].parse().expect("embedded weight"),
            }
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    None,
    Cc,
    Mcc,
}

/// One row of the intended mix: an ADRG with the codes a stay in it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct MixRow {
    pub adrg: String,
    pub group: String,
    pub share: f64,
    pub pdx: String,
    pub pdx_name: String,
    pub procedure: Option<(String, String)>,
    /// `Some(true)` men only, `Some(false)` women only.
    pub male_only: Option<bool>,
    pub age_from: u32,
    pub age_to: u32,
    pub cc: (String, String),
    pub mcc: (String, String),
}

impl MixRow {
    /// Respiratory groups have a winter peak.
    pub fn is_respiratory(&self) -> bool {
        matches!(self.adrg.as_str(), "ES3" | "ET2" | "DT1" | "EX2")
    }
}

/// A (mix row, severity) pair and the DRG it groups into.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub row: usize,
    pub severity: Severity,
    pub drg: String,
    pub weight: f64,
    /// Share of all stays.
    pub share: f64,
    /// Probability of each facility level for a stay of this cell.
    pub facility: Vec<f64>,
    /// Log-normal parameters of the total cost in yuan, by facility level.
    pub log_cost: Vec<(f64, f64)>,
}

/// Age band × sex, the unit of the frequency table.
#[derive(Debug, Clone, PartialEq)]
pub struct StayClass {
    pub band: AgeBand,
    pub male: bool,
    /// Stays per member-year.
    pub rate: f64,
    /// Probability of each cell for a stay of this class.
    pub cells: Vec<f64>,
}

/// The full calibration model of stays.
#[derive(Debug, Clone)]
pub struct StayModel {
    pub rows: Vec<MixRow>,
    pub cells: Vec<Cell>,
    pub classes: Vec<StayClass>,
    pub facilities: Vec<FacilityLevel>,
    /// Negative binomial shape of stays per person-year (Poisson-gamma frailty).
    pub frailty_shape: f64,
    /// Added to the reimbursement share of employees' insurance, which pays more than residents'.
    pub employee_share_bonus: f64,
    /// Share of eligible stays never claimed.
    pub never_claimed: f64,
}

fn parse_mix() -> Vec<MixRow> {
    let mut lines = STAY_MIX.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect("mix column");
    let (ia, ig, is, ip, ipn, ipr, iprn, isex, iaf, iat, icc, iccn, imcc, imccn) = (
        col("adrg"),
        col("group"),
        col("share"),
        col("pdx"),
        col("pdx_name"),
        col("proc"),
        col("proc_name"),
        col("sex"),
        col("age_from"),
        col("age_to"),
        col("cc_dx"),
        col("cc_name"),
        col("mcc_dx"),
        col("mcc_name"),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            MixRow {
                adrg: f[ia].into(),
                group: f[ig].into(),
                share: f[is].parse().expect("share"),
                pdx: f[ip].into(),
                pdx_name: f[ipn].into(),
                procedure: (!f[ipr].is_empty()).then(|| (f[ipr].to_string(), f[iprn].to_string())),
                male_only: match f[isex] {
                    "M" => Some(true),
                    "F" => Some(false),
                    _ => None,
                },
                age_from: f[iaf].parse().expect("age"),
                age_to: f[iat].parse().expect("age"),
                cc: (f[icc].into(), f[iccn].into()),
                mcc: (f[imcc].into(), f[imccn].into()),
            }
        })
        .collect()
}

/// Severity probabilities: conditions of older people come with comorbidities more often.
fn severity_probs(row: &MixRow) -> [(Severity, f64); 3] {
    let (mcc, cc) = if row.age_from >= 40 {
        (0.12, 0.25)
    } else {
        (0.04, 0.12)
    };
    [
        (Severity::None, 1.0 - mcc - cc),
        (Severity::Cc, cc),
        (Severity::Mcc, mcc),
    ]
}

/// The DRG a stay of this ADRG and severity groups into under CHS-DRG 2.0's suffix rules:
/// 1 = with MCC, 3 = with CC (or MCC when no 1 exists), 5 = without, 9 = not split.
fn drg_for(adrg: &str, severity: Severity, by_code: &HashMap<String, f64>) -> (String, f64) {
    let order: &[char] = match severity {
        Severity::Mcc => &['1', '3', '5', '9'],
        Severity::Cc => &['3', '5', '9'],
        Severity::None => &['5', '9'],
    };
    for s in order {
        let code = format!("{adrg}{s}");
        if let Some(w) = by_code.get(&code) {
            return (code, *w);
        }
    }
    panic!("no DRG of ADRG {adrg} in the catalogue")
}

/// Scales a non-negative matrix to the given row and column sums.
fn ipf(m: &mut [Vec<f64>], rows: &[f64], cols: &[f64]) {
    for _ in 0..200 {
        for (r, target) in m.iter_mut().zip(rows) {
            let s: f64 = r.iter().sum();
            if s > 0.0 {
                r.iter_mut().for_each(|x| *x *= target / s);
            }
        }
        for (j, target) in cols.iter().enumerate() {
            let s: f64 = m.iter().map(|r| r[j]).sum();
            if s > 0.0 {
                m.iter_mut().for_each(|r| r[j] *= target / s);
            }
        }
    }
}

impl StayModel {
    pub fn new() -> Self {
        let rows = parse_mix();
        let total_share: f64 = rows.iter().map(|r| r.share).sum();
        let catalogue: HashMap<String, f64> = drg_catalogue(DrgVersion::V20)
            .into_iter()
            .map(|d| (d.code, d.weight))
            .collect();
        let facilities = calibration::facility_levels();
        let mut cells: Vec<Cell> = Vec::new();
        for (ri, row) in rows.iter().enumerate() {
            for (sev, p) in severity_probs(row) {
                let (drg, weight) = drg_for(&row.adrg, sev, &catalogue);
                cells.push(Cell {
                    row: ri,
                    severity: sev,
                    drg,
                    weight,
                    share: row.share / total_share * p,
                    facility: vec![],
                    log_cost: vec![],
                });
            }
        }

        // Classes and their share of all stays.
        let ages = calibration::age_structure();
        let freq = calibration::stay_frequency();
        let mut classes: Vec<StayClass> = Vec::new();
        for band in &freq {
            let pop: f64 = ages
                .iter()
                .filter(|a| a.from >= band.from && a.to <= band.to)
                .map(|a| a.male)
                .sum();
            for male in [true, false] {
                let rate = if male { band.male } else { band.female };
                classes.push(StayClass {
                    band: *band,
                    male,
                    rate,
                    cells: vec![pop * 0.5 * rate],
                });
            }
        }
        let class_stays: Vec<f64> = classes.iter().map(|c| c.cells[0]).collect();
        let total_stays: f64 = class_stays.iter().sum();
        let mut m: Vec<Vec<f64>> = classes
            .iter()
            .map(|c| {
                cells
                    .iter()
                    .map(|cell| {
                        let r = &rows[cell.row];
                        let sex_ok = r.male_only.is_none_or(|m| m == c.male);
                        let age_ok = c.band.to >= r.age_from && c.band.from <= r.age_to;
                        if sex_ok && age_ok {
                            cell.share
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let col_targets: Vec<f64> = cells.iter().map(|c| c.share * total_stays).collect();
        ipf(&mut m, &class_stays, &col_targets);
        for (c, row) in classes.iter_mut().zip(&m) {
            let s: f64 = row.iter().sum();
            c.cells = row.iter().map(|x| x / s).collect();
        }

        // Facility level given the cell, tilted by the DRG weight.
        let mean_lw: f64 = cells.iter().map(|c| c.share * c.weight.ln()).sum();
        let tilt = [-1.2, 0.0, 1.0];
        let mut fm: Vec<Vec<f64>> = cells
            .iter()
            .map(|c| {
                facilities
                    .iter()
                    .enumerate()
                    .map(|(k, f)| {
                        c.share * f.share * (tilt[k.min(2)] * (c.weight.ln() - mean_lw)).exp()
                    })
                    .collect()
            })
            .collect();
        let shares: Vec<f64> = cells.iter().map(|c| c.share).collect();
        let fshares: Vec<f64> = facilities.iter().map(|f| f.share).collect();
        ipf(&mut fm, &shares, &fshares);
        // Within each level the DRG weight explains part of the log-cost variance; the residual
        // keeps the level's total spread of the calibration table.
        let mut level_stats = Vec::new();
        for (k, f) in facilities.iter().enumerate() {
            let tot: f64 = fm.iter().map(|r| r[k]).sum();
            let mean: f64 = fm
                .iter()
                .zip(&cells)
                .map(|(r, c)| r[k] * c.weight.ln())
                .sum::<f64>()
                / tot;
            let var: f64 = fm
                .iter()
                .zip(&cells)
                .map(|(r, c)| r[k] * (c.weight.ln() - mean).powi(2))
                .sum::<f64>()
                / tot;
            let resid = (f.cost_sigma.powi(2) - var).max(0.35f64.powi(2)).sqrt();
            level_stats.push((mean, resid));
        }
        for (c, r) in cells.iter_mut().zip(&fm) {
            let s: f64 = r.iter().sum();
            c.facility = r.iter().map(|x| x / s).collect();
            c.log_cost = facilities
                .iter()
                .zip(&level_stats)
                .map(|(f, (mean, resid))| (f.cost_median_yuan.ln() + c.weight.ln() - mean, *resid))
                .collect();
        }
        // The mixture over DRG weights inflates each level's mean cost; shift the level so that
        // its mean stays that of the calibration table's log-normal.
        for (k, f) in facilities.iter().enumerate() {
            let tot: f64 = cells.iter().map(|c| c.share * c.facility[k]).sum();
            let mean: f64 = cells
                .iter()
                .map(|c| {
                    c.share
                        * c.facility[k]
                        * (c.log_cost[k].0 + c.log_cost[k].1.powi(2) / 2.0).exp()
                })
                .sum::<f64>()
                / tot;
            let target = f.cost_median_yuan * (f.cost_sigma.powi(2) / 2.0).exp();
            let shift = (target / mean).ln();
            for c in cells.iter_mut() {
                c.log_cost[k].0 += shift;
            }
        }
        StayModel {
            rows,
            cells,
            classes,
            facilities,
            frailty_shape: 0.5,
            employee_share_bonus: 0.10,
            never_claimed: 0.03,
        }
    }

    /// The class of a member of this age and sex.
    pub fn class_of(&self, age: u32, male: bool) -> usize {
        self.classes
            .iter()
            .position(|c| c.male == male && age >= c.band.from && age <= c.band.to)
            .unwrap_or_else(|| self.classes.len() - if male { 2 } else { 1 })
    }
}

impl Default for StayModel {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_have_every_drg_with_a_positive_weight() {
        let v20 = drg_catalogue(DrgVersion::V20);
        assert_eq!(v20.len(), 634);
        assert!(v20
            .iter()
            .all(|d| d.weight > 0.0 && d.code.starts_with(&d.adrg)));
        assert_eq!(drg_catalogue(DrgVersion::V11).len(), 628);
        assert_eq!(DrgVersion::parse("2.0"), Some(DrgVersion::V20));
    }

    #[test]
    fn fitted_tables_reproduce_rates_mix_and_facility_shares() {
        let m = StayModel::new();
        assert_eq!(m.rows.len(), 45);
        let total: f64 = m.rows.iter().map(|r| r.share).sum();
        assert!((total - 100.0).abs() < 1e-9);
        // Population-wide mix of each row is the intended share.
        let ages = calibration::age_structure();
        let mut row_stays = vec![0.0; m.rows.len()];
        let mut all = 0.0;
        for c in &m.classes {
            let pop: f64 = ages
                .iter()
                .filter(|a| a.from >= c.band.from && a.to <= c.band.to)
                .map(|a| a.male)
                .sum();
            let stays = pop * 0.5 * c.rate;
            all += stays;
            for (p, cell) in c.cells.iter().zip(&m.cells) {
                row_stays[cell.row] += stays * p;
            }
        }
        assert!((all - 0.175).abs() < 0.002, "{all}");
        for (r, s) in m.rows.iter().zip(&row_stays) {
            assert!(
                (s / all - r.share / 100.0).abs() < 1e-6,
                "{} {}",
                r.adrg,
                s / all
            );
        }
        // Childbirth only for women 15-44.
        let ob = m.cells.iter().position(|c| c.drg == "OB19").unwrap();
        for c in &m.classes {
            if c.male || c.band.from >= 45 || c.band.to < 15 {
                assert_eq!(c.cells[ob], 0.0);
            }
        }
        // Facility shares are kept, and heavy groups go to higher levels.
        for (k, f) in m.facilities.iter().enumerate() {
            let s: f64 = m.cells.iter().map(|c| c.share * c.facility[k]).sum();
            assert!((s - f.share).abs() < 1e-6, "{} {s}", f.code);
        }
        let ic2 = m.cells.iter().find(|c| c.drg == "IC29").unwrap();
        let dt1 = m.cells.iter().find(|c| c.drg == "DT19").unwrap();
        assert!(
            ic2.facility[0] < 0.1 && dt1.facility[0] > 0.3,
            "{:?} {:?}",
            ic2.facility,
            dt1.facility
        );
    }
}
