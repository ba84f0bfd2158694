//! The generated codes group where they are meant to, by the project's own CHS-DRG grouper, and
//! the embedded catalogues are the grouper's.

use sim::model::Severity;
use sim::{drg_catalogue, DrgVersion, StayModel};

#[test]
fn every_cell_groups_into_its_intended_adrg_and_nearly_always_its_drg() {
    let grouper = drg::Grouper::load(&drg::Version::chs_drg_2_0()).expect("pack");
    let model = StayModel::new();
    let mut adrg_miss = Vec::new();
    let mut drg_miss = Vec::new();
    for cell in &model.cells {
        let row = &model.rows[cell.row];
        let secondary = match cell.severity {
            Severity::None => vec![],
            Severity::Cc => vec![row.cc.0.clone()],
            Severity::Mcc => vec![row.mcc.0.clone()],
        };
        let male = row
            .male_only
            .unwrap_or(!matches!(row.adrg.as_str(), "OB1" | "OZ1" | "NC1"));
        let stay = drg::Stay {
            sex: Some(if male { 1 } else { 2 }),
            age_years: Some(row.age_from.max(20) + 10),
            los_days: Some(6),
            discharge_mode: Some(1),
            principal_dx: row.pdx.clone(),
            secondary_dx: secondary,
            procedures: row.procedure.iter().map(|p| p.0.clone()).collect(),
            ..Default::default()
        };
        let g = grouper.group(&stay);
        let adrg = grouper.adrg_code(&g.outcome).to_string();
        let code = grouper.drg_code(&g.outcome).to_string();
        if adrg != row.adrg {
            adrg_miss.push(format!(
                "{} {:?} -> {adrg} ({})",
                row.adrg,
                cell.severity,
                grouper.reason_text(&g.outcome)
            ));
        }
        if code != cell.drg {
            drg_miss.push(format!("{} -> {code}", cell.drg));
        }
    }
    assert!(adrg_miss.is_empty(), "{adrg_miss:#?}");
    assert!(drg_miss.len() * 10 <= model.cells.len(), "{drg_miss:#?}");
}

#[test]
fn embedded_catalogues_match_the_grouper() {
    for (v, ours) in [
        (drg::Version::chs_drg_2_0(), DrgVersion::V20),
        (drg::Version::chs_drg_1_1(), DrgVersion::V11),
    ] {
        let g = drg::Grouper::load(&v).expect("pack");
        let theirs: Vec<&str> = g.catalog().drgs().iter().map(|d| d.code.as_str()).collect();
        let mine: Vec<String> = drg_catalogue(ours).into_iter().map(|d| d.code).collect();
        let mut a: Vec<&str> = mine.iter().map(String::as_str).collect();
        let mut b = theirs.clone();
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "{}", v.as_str());
    }
}
