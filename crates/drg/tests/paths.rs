//! The special paths of the scheme, with stays written by hand from the NHSA tables.
mod common;
use drg::{Reason, Status, Stay, Step};

fn stay(sex: u8, age: u32, pdx: &str, sdx: &[&str], procs: &[&str]) -> Stay {
    Stay {
        sex: Some(sex),
        age_years: Some(age),
        principal_dx: pdx.into(),
        secondary_dx: sdx.iter().map(|s| s.to_string()).collect(),
        procedures: procs.iter().map(|s| s.to_string()).collect(),
        ..Stay::default()
    }
}

fn newborn(days: u32, bw: Option<u32>, pdx: &str) -> Stay {
    Stay {
        sex: Some(2),
        age_years: Some(0),
        age_days: Some(days),
        birth_weight_g: bw,
        principal_dx: pdx.into(),
        ..Stay::default()
    }
}

/// (MDC, ADRG, DRG, status) of a stay under CHS-DRG 2.0.
fn g20(s: &Stay) -> (String, String, String, Status) {
    let g = &common::v20().grouper;
    let o = g.group_fast(s);
    let r = g.group(s);
    assert_eq!(r.outcome, o, "traced and fast paths disagree");
    (
        g.mdc_code(&o).into(),
        g.adrg_code(&o).into(),
        g.drg_code(&o).into(),
        o.status,
    )
}

fn trace20(s: &Stay) -> Vec<String> {
    let g = &common::v20().grouper;
    g.explain(&g.group(s))
}

#[test]
fn pre_mdc_transplant_wins_over_the_principal_diagnosis() {
    let r = g20(&stay(1, 55, "I50.900", &[], &["37.5100"]));
    assert_eq!(
        r,
        ("MDCA".into(), "AA2".into(), "AA29".into(), Status::Grouped)
    );
    // Liver transplant, any principal diagnosis.
    assert_eq!(g20(&stay(1, 50, "K74.600", &[], &["50.5901"])).2, "AB19");
}

#[test]
fn pre_mdc_ecmo_and_long_ventilation_branches() {
    assert_eq!(g20(&stay(1, 60, "J96.000", &[], &["39.6500"])).2, "AH19");
    // AH2 condition 1: tracheostomy status (secondary diagnosis) + ventilation >= 96 h.
    assert_eq!(
        g20(&stay(1, 60, "J18.900", &["Z93.000"], &["96.7201"])).2,
        "AH29"
    );
    // AH2 condition 2: intubation + ventilation >= 96 h, in any position.
    assert_eq!(
        g20(&stay(
            1,
            60,
            "J18.900",
            &[],
            &["34.0400", "96.0400", "96.7201"]
        ))
        .2,
        "AH29"
    );
    // Ventilation alone satisfies neither branch: not pre-MDC.
    assert_ne!(g20(&stay(1, 60, "J18.900", &[], &["96.7201"])).0, "MDCA");
    let t = trace20(&stay(1, 60, "J18.900", &["Z93.000"], &["96.7201"]));
    assert!(
        t.iter().any(|l| l.contains("AH2") && l.contains("Z93.000")),
        "{t:?}"
    );
}

#[test]
fn newborn_birth_weight_bands() {
    let cases = [
        (Some(1200), "PS1"),
        (Some(1499), "PS1"),
        (Some(1500), "PS2"),
        (Some(1999), "PS2"),
        (Some(2000), "PS3"),
        (Some(2499), "PS3"),
        (Some(2500), "PS4"),
        (Some(3400), "PS4"),
    ];
    for (bw, adrg) in cases {
        let r = g20(&newborn(3, bw, "P07.300x001"));
        assert_eq!((r.0.as_str(), r.1.as_str()), ("MDCP", adrg), "bw {bw:?}");
    }
    // Without a birth weight no weight band can be chosen.
    assert!(!g20(&newborn(3, None, "P07.300x001")).1.starts_with("PS"));
}

#[test]
fn newborn_age_bands() {
    // 28 days is still a newborn; 29 days is an infant; a year old is neither.
    assert_eq!(g20(&newborn(28, Some(3000), "P07.300x001")).0, "MDCP");
    let infant = g20(&newborn(40, Some(3000), "A09.900x005"));
    assert_eq!((infant.0.as_str(), infant.1.as_str()), ("MDCP", "PV1"));
    let newborn_diarrhoea = g20(&newborn(10, Some(3000), "A09.900x005"));
    assert_eq!(newborn_diarrhoea.0, "MDCP");
    assert_ne!(newborn_diarrhoea.1, "PV1");
    let adult = g20(&stay(1, 30, "A09.900x005", &[], &[]));
    assert_ne!(adult.0, "MDCP");
    // A preterm diagnosis at 40 days is not an infant ADRG diagnosis, and the code is listed
    // for newborns only: ungroupable, saying why.
    let g = &common::v20().grouper;
    let o = g.group_fast(&newborn(40, Some(3000), "P07.300x001"));
    assert!(
        matches!(o.reason, Some(Reason::EntryNotMet { .. })),
        "{o:?}"
    );
    assert!(g.reason_text(&o).contains("MDCP"));
    // Unknown age in days: the newborn rule cannot be applied either.
    let mut s = newborn(3, Some(3000), "P07.300x001");
    s.age_days = None;
    assert!(matches!(
        g.group_fast(&s).reason,
        Some(Reason::EntryNotMet { .. })
    ));
}

#[test]
fn procedures_excluded_from_grouping_do_not_count_as_principal() {
    let g = &common::v20().grouper;
    let with_ct = stay(2, 80, "S72.000", &[], &["87.4102", "81.5100"]);
    let alone = stay(2, 80, "S72.000", &[], &["81.5100"]);
    let r = g.group(&with_ct);
    assert_eq!(r.outcome, g.group_fast(&alone));
    assert_eq!(g.mdc_code(&r.outcome), "MDCI");
    assert_eq!(r.outcome.status, Status::Grouped);
    assert!(r
        .trace
        .iter()
        .any(|s| matches!(s, Step::ProcExcluded { pos: 1, .. })));
}

#[test]
fn hiv_by_principal_or_secondary_diagnosis() {
    assert_eq!(g20(&stay(1, 40, "B20.000x001", &[], &[])).1, "YR1");
    let sec = g20(&stay(1, 40, "J18.900", &["Z21.x00x001"], &[]));
    assert_eq!((sec.0.as_str(), sec.1.as_str()), ("MDCY", "YR2"));
    assert_eq!(g20(&stay(1, 40, "B20.000x001", &[], &["81.5100"])).1, "YC1");
}

#[test]
fn multiple_trauma_needs_two_body_regions() {
    let two = g20(&stay(1, 35, "S06.200x001", &["S72.000"], &[]));
    assert_eq!((two.0.as_str(), two.1.as_str()), ("MDCZ", "ZZ1"));
    let op = g20(&stay(1, 35, "S06.200x001", &["S72.000"], &["01.2400x005"]));
    assert_eq!(op.1, "ZB1");
    // One region only (two head injuries): the MDC of the principal diagnosis.
    let one = g20(&stay(1, 35, "S06.200x001", &["S06.000"], &[]));
    assert_eq!(one.0, "MDCB");
    let t = trace20(&stay(1, 35, "S06.200x001", &["S72.000"], &[]));
    assert!(
        t.iter()
            .any(|l| l.contains("MDCZ") && l.contains("body regions")),
        "{t:?}"
    );
}

#[test]
fn sex_checks() {
    let g = &common::v20().grouper;
    // Prostate hyperplasia in a woman: sex conflict, ungroupable with the reason.
    let o = g.group_fast(&stay(2, 60, "N40.x00", &[], &[]));
    assert_eq!(o.status, Status::Ungroupable);
    assert!(matches!(o.reason, Some(Reason::SexConflict { .. })));
    assert!(g.reason_text(&o).contains("MDCM"));
    assert_eq!(g20(&stay(1, 60, "N40.x00", &[], &[])).0, "MDCM");
    // A code in both the male and female tables follows the sex.
    assert_eq!(g20(&stay(2, 60, "C49.503", &[], &[])).0, "MDCN");
    assert_eq!(g20(&stay(1, 60, "C49.503", &[], &[])).0, "MDCM");
}

#[test]
fn or_procedure_unrelated_to_the_mdc_is_qy() {
    let r = g20(&stay(1, 70, "I63.900", &[], &["81.5100"]));
    assert_eq!(r, ("MDCB".into(), "".into(), "BQY".into(), Status::Qy));
    let t = trace20(&stay(1, 70, "I63.900", &[], &["81.5100"]));
    assert!(
        t.iter().any(|l| l.contains("QY") && l.contains("81.5100")),
        "{t:?}"
    );
}

#[test]
fn invalid_input_is_reported_not_dropped() {
    let g = &common::v20().grouper;
    let o = g.group_fast(&stay(1, 70, "", &[], &[]));
    assert_eq!(
        (o.status, o.reason),
        (Status::Ungroupable, Some(Reason::MissingPdx))
    );
    let o = g.group_fast(&stay(1, 70, "XYZ.123", &[], &[]));
    assert_eq!(o.reason, Some(Reason::UnknownPdx));
    let o = g.group_fast(&stay(1, 70, "B95.000", &[], &[]));
    assert_eq!(o.reason, Some(Reason::InvalidPdx));
    // Unknown secondary codes and procedures are ignored for grouping but reported.
    let s = stay(1, 70, "I63.900", &["NOPE"], &["99.99.99"]);
    let r = g.group(&s);
    assert_eq!(g.drg_code(&r.outcome), "BR25");
    let unknown = r
        .trace
        .iter()
        .filter(|s| matches!(s, Step::Unknown { .. }))
        .count();
    assert_eq!(unknown, 2);
    // 灰码 are reported.
    let r = g.group(&stay(1, 70, "I63.900", &["A00.000"], &[]));
    assert!(r.trace.iter().any(|s| matches!(s, Step::Grey { .. })));
}

#[test]
fn clinical_and_dagger_codes_are_mapped() {
    let g = &common::v20().grouper;
    // 国家临床版 I63.200x001 maps to 医保版 I63.200.
    let r = g.group(&stay(1, 70, "I63.200x001", &[], &[]));
    assert_eq!(g.mdc_code(&r.outcome), "MDCB");
    assert!(r.trace.iter().any(|s| matches!(s, Step::Mapped { .. })));
    // Dagger part only.
    let r = g.group_fast(&stay(1, 30, "A01.002", &[], &[]));
    assert_eq!(g.mdc_code(&r), "MDCB");
}

#[test]
fn mcc_cc_and_exclusions() {
    // J96.000 is an MCC (table 104); I63.900 is in exclusion table 91: not excluded.
    let s = stay(1, 70, "I63.900", &["J96.000"], &[]);
    assert_eq!(g20(&s).2, "BR21");
    let t = trace20(&s);
    assert!(
        t.iter().any(|l| l.contains(
            "MCC J96.000 急性呼吸衰竭 from secondary diagnosis 1, not excluded: principal diagnosis in exclusion table 91, MCC in 104"
        )),
        "{t:#?}"
    );
    // I60.000 is an MCC of table 91, the principal diagnosis's own table: excluded.
    let s = stay(1, 70, "I63.900", &["I60.000"], &[]);
    assert_eq!(g20(&s).2, "BR25");
    assert!(trace20(&s)
        .iter()
        .any(|l| l.contains("excluded: principal diagnosis in exclusion table 91")));
    // N18.100 is a CC (table 140).
    assert_eq!(g20(&stay(1, 70, "I63.900", &["N18.100"], &[])).2, "BR23");
    // MCC beats CC; order does not matter.
    assert_eq!(
        g20(&stay(1, 70, "I63.900", &["N18.100", "J96.000"], &[])).2,
        "BR21"
    );
}

#[test]
fn chs_drg_1_1_groups_too() {
    let g = &common::v11().grouper;
    let o = g.group_fast(&stay(1, 70, "I63.900", &["J96.000"], &[]));
    assert_eq!(g.mdc_code(&o), "MDCB");
    assert_eq!(o.status, Status::Grouped);
    let o = g.group_fast(&stay(1, 55, "I50.900", &[], &["37.5100"]));
    assert_eq!(g.adrg_code(&o), "AA1");
}
