//! CSV and JSON files of the commands.

use std::collections::HashMap;
use std::path::Path;

use actuarial::design::{Design, DesignTargets, SchemeRules};
use actuarial::risk::RiskModel;
use anyhow::{bail, Context, Result};
use chrono::{Days, NaiveDate};
use domain::{Fen, InsuranceType, Sex};
use sim::programme::StayStats;
use sim::{Member, Programme, ProgrammeSpec, Stay, StayModel};

/// Plain yuan with two decimals, no separators: spreadsheets read it as a number.
fn yuan(f: Fen) -> String {
    let sign = if f.0 < 0 { "-" } else { "" };
    format!(
        "{sign}{}.{:02}",
        f.0.unsigned_abs() / 100,
        f.0.unsigned_abs() % 100
    )
}

fn parse_yuan(s: &str) -> Result<Fen> {
    Fen::parse_yuan(s).map_err(|e| anyhow::anyhow!("bad amount {s:?}: {e}"))
}

pub fn write_programme(dir: &Path, p: &Programme, model: &StayModel) -> Result<()> {
    // Household spells: the first member's years are the household's.
    let mut first_member = Vec::with_capacity(p.households.len());
    {
        let mut seen = vec![false; p.households.len()];
        for m in &p.members {
            if !seen[m.household] {
                seen[m.household] = true;
                first_member.push((m.first_year, m.last_year));
            }
        }
    }
    let mut w = csv::Writer::from_path(dir.join("households.csv"))?;
    w.write_record([
        "household_id",
        "village_code",
        "head_name",
        "head_id_number",
        "size",
        "first_year",
        "last_year",
    ])?;
    for (i, h) in p.households.iter().enumerate() {
        let (f, l) = first_member.get(i).copied().unwrap_or((0, 0));
        let head = &h.members[0];
        w.write_record([
            (i + 1).to_string(),
            h.village_code.clone(),
            head.name.to_string(),
            head.id_number.to_string(),
            h.members.len().to_string(),
            f.to_string(),
            l.to_string(),
        ])?;
    }
    w.flush()?;

    let mut w = csv::Writer::from_path(dir.join("members.csv"))?;
    w.write_record([
        "member_id",
        "household_id",
        "village_code",
        "name",
        "id_number",
        "sex",
        "birth_date",
        "relation",
        "phone",
        "insurance",
        "statuses",
        "first_year",
        "last_year",
    ])?;
    for (i, m) in p.members.iter().enumerate() {
        let h = &p.households[m.household];
        let person = &h.members[m.position];
        let statuses: Vec<String> = person
            .statuses
            .iter()
            .map(|(s, d)| format!("{}:{}", s.code(), d))
            .collect();
        w.write_record([
            (i + 1).to_string(),
            (m.household + 1).to_string(),
            h.village_code.clone(),
            person.name.to_string(),
            person.id_number.to_string(),
            if m.sex == Sex::Male {
                "M".into()
            } else {
                "F".into()
            },
            m.birth_date.to_string(),
            person.relation.code().to_string(),
            person
                .phone
                .as_ref()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default(),
            m.insurance.code().to_string(),
            statuses.join(";"),
            m.first_year.to_string(),
            m.last_year.to_string(),
        ])?;
    }
    w.flush()?;

    let mut w = csv::Writer::from_path(dir.join("stays.csv"))?;
    w.write_record([
        "stay_id",
        "member_id",
        "scheme_year",
        "admission_date",
        "discharge_date",
        "facility_level",
        "principal_dx",
        "principal_dx_name",
        "procedure",
        "procedure_name",
        "secondary_dx",
        "intended_drg",
        "adrg",
        "total_yuan",
        "reimbursement_yuan",
        "oop_yuan",
        "claim_delay_days",
        "claim_date",
    ])?;
    for (i, s) in p.stays.iter().enumerate() {
        let (pc, pn) = s.procedure.clone().unwrap_or_default();
        let sec: Vec<String> = s.secondary_dx.iter().map(|x| x.0.clone()).collect();
        w.write_record([
            (i + 1).to_string(),
            (s.member + 1).to_string(),
            s.scheme_year.to_string(),
            s.admission.to_string(),
            s.discharge.to_string(),
            model.facilities[s.facility].code.clone(),
            s.principal_dx.0.clone(),
            s.principal_dx.1.clone(),
            pc,
            pn,
            sec.join(";"),
            s.drg.clone(),
            s.adrg.clone(),
            yuan(s.total),
            yuan(s.reimbursement),
            yuan(s.out_of_pocket),
            s.claim_delay_days
                .map(|d| d.to_string())
                .unwrap_or_default(),
            s.claim_delay_days
                .map(|d| (s.discharge + Days::new(d.into())).to_string())
                .unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Reads back the members and stays written by [`write_programme`] (enough for the design:
/// classes, membership years, claims). Households are not needed and left empty.
pub fn read_programme(dir: &Path) -> Result<Programme> {
    let path = dir.join("members.csv");
    let mut r =
        csv::Reader::from_path(&path).with_context(|| format!("reading {}", path.display()))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (ci, ch, csx, cb, cins, cf, cl) = (
        col("member_id")?,
        col("household_id")?,
        col("sex")?,
        col("birth_date")?,
        col("insurance")?,
        col("first_year")?,
        col("last_year")?,
    );
    let mut members = Vec::new();
    let mut ids = HashMap::new();
    for (row, rec) in r.records().enumerate() {
        let rec = rec?;
        let ins =
            InsuranceType::from_code(&rec[cins]).or_else(|| InsuranceType::parse_zh(&rec[cins]));
        let Some(insurance) = ins else {
            bail!(
                "{} row {}: unknown insurance {:?}",
                path.display(),
                row + 2,
                &rec[cins]
            )
        };
        ids.insert(rec[ci].to_string(), members.len());
        members.push(Member {
            household: rec[ch].parse::<usize>().unwrap_or(1).saturating_sub(1),
            position: 0,
            sex: if &rec[csx] == "M" || &rec[csx] == "男" {
                Sex::Male
            } else {
                Sex::Female
            },
            birth_date: NaiveDate::parse_from_str(&rec[cb], "%Y-%m-%d")
                .with_context(|| format!("{} row {}: birth date", path.display(), row + 2))?,
            insurance,
            first_year: rec[cf]
                .parse()
                .with_context(|| format!("{} row {}: first_year", path.display(), row + 2))?,
            last_year: rec[cl]
                .parse()
                .with_context(|| format!("{} row {}: last_year", path.display(), row + 2))?,
        });
    }
    let path = dir.join("stays.csv");
    let mut stays = Vec::new();
    if path.exists() {
        let mut r = csv::Reader::from_path(&path)?;
        let headers = r.headers()?.clone();
        let col = |name: &str| {
            headers
                .iter()
                .position(|h| h == name)
                .with_context(|| format!("{}: no column {name}", path.display()))
        };
        let (cm, cy, ca, cd, cdx, cdrg, cadrg, ct, cr, co, cdel) = (
            col("member_id")?,
            col("scheme_year")?,
            col("admission_date")?,
            col("discharge_date")?,
            col("principal_dx")?,
            col("intended_drg")?,
            col("adrg")?,
            col("total_yuan")?,
            col("reimbursement_yuan")?,
            col("oop_yuan")?,
            col("claim_delay_days")?,
        );
        for (row, rec) in r.records().enumerate() {
            let rec = rec?;
            let Some(&member) = ids.get(&rec[cm]) else {
                bail!(
                    "{} row {}: unknown member {}",
                    path.display(),
                    row + 2,
                    &rec[cm]
                )
            };
            let date = |i: usize| {
                NaiveDate::parse_from_str(&rec[i], "%Y-%m-%d")
                    .with_context(|| format!("{} row {}: date", path.display(), row + 2))
            };
            stays.push(Stay {
                member,
                scheme_year: rec[cy].parse()?,
                admission: date(ca)?,
                discharge: date(cd)?,
                facility: 0,
                cell: 0,
                drg: rec[cdrg].to_string(),
                adrg: rec[cadrg].to_string(),
                principal_dx: (rec[cdx].to_string(), String::new()),
                procedure: None,
                secondary_dx: vec![],
                total: parse_yuan(&rec[ct])?,
                reimbursement: parse_yuan(&rec[cr])?,
                out_of_pocket: parse_yuan(&rec[co])?,
                claim_delay_days: if rec[cdel].is_empty() {
                    None
                } else {
                    Some(rec[cdel].parse()?)
                },
            });
        }
    }
    let first = members.iter().map(|m| m.first_year).min().unwrap_or(2026);
    let last = members.iter().map(|m| m.last_year).max().unwrap_or(first);
    let mut spec = ProgrammeSpec::new(0, members.len(), (last - first + 1) as u32);
    spec.first_year = first;
    Ok(Programme {
        spec,
        households: vec![],
        members,
        stays,
        frequency_shocks: vec![],
    })
}

pub fn stats_json(s: &StayStats, p: &Programme) -> serde_json::Value {
    serde_json::json!({
        "households": p.households.len(),
        "members": p.members.len(),
        "member_years": s.member_years,
        "stays": s.stays,
        "stays_per_member_year": s.stays_per_member_year,
        "cost_mean_yuan": s.cost_mean_yuan,
        "cost_median_yuan": s.cost_median_yuan,
        "oop_mean_yuan": s.oop_mean_yuan,
        "oop_median_yuan": s.oop_median_yuan,
        "oop_share_at_least": {
            "2500": s.oop_share_at_least[0], "3500": s.oop_share_at_least[1], "5000": s.oop_share_at_least[2],
            "7000": s.oop_share_at_least[3], "10000": s.oop_share_at_least[4],
        },
        "eligible_per_member_year": s.eligible_per_member_year,
        "members_with_eligible_stay": s.members_with_eligible_stay,
        "frequency_shocks": p.frequency_shocks,
    })
}

pub fn write_table(path: &Path, risk: &RiskModel, d: &Design) -> Result<()> {
    let mut w = csv::Writer::from_path(path)?;
    w.write_record([
        "drg_code",
        "adrg_code",
        "mdc_code",
        "drg_name",
        "relative_weight",
        "amount_yuan",
        "consecutive_member_amount_yuan",
    ])?;
    for (i, g) in risk.drgs.iter().enumerate() {
        w.write_record([
            g.code.clone(),
            g.adrg.clone(),
            g.mdc.clone(),
            g.name.clone(),
            format!("{}", g.weight),
            yuan(Fen(d.amounts_fen[i])),
            yuan(Fen(d.loyal_amounts_fen[i])),
        ])?;
    }
    w.flush()?;
    Ok(())
}

pub fn design_json(
    d: &Design,
    rules: &SchemeRules,
    t: &DesignTargets,
    source: &str,
    version: &str,
) -> serde_json::Value {
    let e = &d.evaluation;
    serde_json::json!({
        "source": source,
        "drg_version": version,
        "feasible": d.feasible,
        "money_available_yuan": d.budget_fen as f64 / 100.0,
        "targets": t,
        "rules": rules,
        "scale": d.scale,
        "credibility": d.credibility,
        "frequency_level": d.level,
        "parameter_cv": d.parameter_cv,
        "members": e.members,
        "lattice_unit_yuan": e.lattice_unit_fen as f64 / 100.0,
        "grid_unit_yuan": e.grid_unit_fen as f64 / 100.0,
        "probability_error": e.probability_error,
        "expected_payout_yuan": e.expected_payout_fen / 100.0,
        "sd_payout_yuan": e.sd_payout_fen / 100.0,
        "quantiles_yuan": {"50": e.quantiles_fen[0] as f64 / 100.0, "90": e.quantiles_fen[1] as f64 / 100.0, "95": e.quantiles_fen[2] as f64 / 100.0, "99": e.quantiles_fen[3] as f64 / 100.0},
        "normal_power_quantiles_yuan": {"50": e.np_quantiles_fen[0] as f64 / 100.0, "90": e.np_quantiles_fen[1] as f64 / 100.0, "95": e.np_quantiles_fen[2] as f64 / 100.0, "99": e.np_quantiles_fen[3] as f64 / 100.0},
        "normal_power_max_gap_yuan": e.np_max_gap_fen as f64 / 100.0,
        "p_shortfall": e.p_shortfall,
        "normal_power_p_shortfall": e.np_p_shortfall,
        "expected_subsidies": e.expected_subsidies,
        "expected_people_helped": e.expected_people_helped,
        "benefit_rate": e.benefit_rate,
        "average_subsidy_yuan": e.average_subsidy_fen / 100.0,
        "burden_reduction": e.burden_reduction,
    })
}

/// Amounts of a `table.csv` in the order of the risk model's catalogue.
pub fn read_table(path: &Path, risk: &RiskModel) -> Result<Vec<i64>> {
    let mut r =
        csv::Reader::from_path(path).with_context(|| format!("reading {}", path.display()))?;
    let headers = r.headers()?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .with_context(|| format!("{}: no column {name}", path.display()))
    };
    let (cc, ca) = (col("drg_code")?, col("amount_yuan")?);
    let mut by_code = HashMap::new();
    for rec in r.records() {
        let rec = rec?;
        by_code.insert(rec[cc].to_string(), parse_yuan(&rec[ca])?.0);
    }
    risk.drgs
        .iter()
        .map(|d| {
            by_code
                .get(&d.code)
                .copied()
                .with_context(|| format!("{}: no amount for {}", path.display(), d.code))
        })
        .collect()
}

/// Claims of the scheme year filed by `as_of` and what they were paid under the table.
pub fn decided_claims(
    p: &Programme,
    year: i32,
    as_of: NaiveDate,
    rules: &SchemeRules,
    risk: &RiskModel,
    amounts: &[i64],
) -> (usize, i64) {
    let index: HashMap<&str, usize> = risk
        .drgs
        .iter()
        .enumerate()
        .map(|(i, d)| (d.code.as_str(), i))
        .collect();
    let mut stays: Vec<&Stay> = p
        .stays
        .iter()
        .filter(|s| s.scheme_year == year)
        .filter(|s| {
            s.claim_delay_days
                .is_some_and(|d| s.discharge + Days::new(d.into()) <= as_of)
        })
        .collect();
    stays.sort_by_key(|s| s.discharge + Days::new(s.claim_delay_days.unwrap_or(0).into()));
    let mut per_member: HashMap<usize, i64> = HashMap::new();
    let mut n = 0;
    for s in stays {
        let m = &p.members[s.member];
        if s.out_of_pocket.0 < rules.thresholds.get(m.insurance) {
            continue;
        }
        let Some(&d) = index.get(s.drg.as_str()) else {
            continue;
        };
        if amounts[d] == 0 {
            continue;
        }
        let amount = if m.first_year < year {
            rules.loyal_amount(amounts[d])
        } else {
            amounts[d]
        };
        let e = per_member.entry(s.member).or_default();
        let room = rules.yearly_cap_fen.map_or(i64::MAX, |c| c - *e);
        *e += amount.min(room).max(0);
        n += 1;
    }
    (n, per_member.values().sum())
}
