//! The calibration tables of `shared/data/calibration`, embedded so that generation needs no
//! files at run time. Parsed once per call; they are tiny.

/// One age band with a value for men and women (or one value for both).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AgeBand {
    pub from: u32,
    pub to: u32,
    pub male: f64,
    pub female: f64,
}

/// Hospital level with its cost and reimbursement parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct FacilityLevel {
    pub code: String,
    pub share: f64,
    pub cost_median_yuan: f64,
    pub cost_sigma: f64,
    pub reimbursement_mean: f64,
    pub reimbursement_sd: f64,
    pub deductible_yuan: f64,
}

const AGE_STRUCTURE: &str = include_str!("../data/member_age_structure.csv");
const HOUSEHOLD_SIZE: &str = include_str!("../data/household_size.csv");
const FREQUENCY: &str = include_str!("../data/frequency_by_age_sex.csv");
const FACILITY: &str = include_str!("../data/facility_levels.csv");

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(str::trim).collect())
}

fn num(s: &str) -> f64 {
    s.parse()
        .unwrap_or_else(|_| panic!("embedded calibration value {s:?} is not a number"))
}

/// Share of members by age band (`male` and `female` both hold the band's share).
pub fn age_structure() -> Vec<AgeBand> {
    rows(AGE_STRUCTURE)
        .map(|r| AgeBand {
            from: num(r[0]) as u32,
            to: num(r[1]) as u32,
            male: num(r[2]),
            female: num(r[2]),
        })
        .collect()
}

/// `(size, share)` of households.
pub fn household_sizes() -> Vec<(usize, f64)> {
    rows(HOUSEHOLD_SIZE)
        .map(|r| (num(r[0]) as usize, num(r[1])))
        .collect()
}

/// Hospital stays per member-year by age band and sex.
pub fn stay_frequency() -> Vec<AgeBand> {
    rows(FREQUENCY)
        .map(|r| AgeBand {
            from: num(r[0]) as u32,
            to: num(r[1]) as u32,
            male: num(r[2]),
            female: num(r[3]),
        })
        .collect()
}

pub fn facility_levels() -> Vec<FacilityLevel> {
    rows(FACILITY)
        .map(|r| FacilityLevel {
            code: r[0].to_string(),
            share: num(r[1]),
            cost_median_yuan: num(r[2]),
            cost_sigma: num(r[3]),
            reimbursement_mean: num(r[4]),
            reimbursement_sd: num(r[5]),
            deductible_yuan: num(r[6]),
        })
        .collect()
}

/// Stays per member-year for a person of this age and sex.
pub fn frequency_for(bands: &[AgeBand], age: u32, male: bool) -> f64 {
    let b = bands
        .iter()
        .find(|b| age >= b.from && age <= b.to)
        .unwrap_or_else(|| bands.last().expect("frequency table is not empty"));
    if male {
        b.male
    } else {
        b.female
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_parse_and_shares_sum_to_one() {
        let a: f64 = age_structure().iter().map(|b| b.male).sum();
        assert!((a - 1.0).abs() < 1e-9, "{a}");
        let h: f64 = household_sizes().iter().map(|x| x.1).sum();
        assert!((h - 1.0).abs() < 1e-9, "{h}");
        let f: f64 = facility_levels().iter().map(|x| x.share).sum();
        assert!((f - 1.0).abs() < 1e-9, "{f}");
        assert_eq!(stay_frequency().len(), 7);
        assert_eq!(frequency_for(&stay_frequency(), 85, true), 0.52);
        assert_eq!(frequency_for(&stay_frequency(), 130, false), 0.45);
    }
}
