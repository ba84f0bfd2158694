//! The special paths of the scheme, with stays written by hand from the NHSA tables.
mod common;
use drg::{Mandatory, Reason, Status, Stay, Step};

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

/// (MDC, ADRG, DRG, status) of a stay under the version of `l`; the traced and the fast path
/// (single and batch) must agree.
fn grp(l: &common::Loaded, s: &Stay) -> (String, String, String, Status) {
    let g = &l.grouper;
    let o = g.group_fast(s);
    let r = g.group(s);
    assert_eq!(r.outcome, o, "traced and fast paths disagree");
    assert_eq!(g.group_many(std::slice::from_ref(s)), [o]);
    (
        g.mdc_code(&o).into(),
        g.adrg_code(&o).into(),
        g.drg_code(&o).into(),
        o.status,
    )
}

/// [`grp`] under CHS-DRG 2.0.
fn g20(s: &Stay) -> (String, String, String, Status) {
    grp(common::v20(), s)
}

/// [`grp`] under CHS-DRG 1.1.
fn g11(s: &Stay) -> (String, String, String, Status) {
    grp(common::v11(), s)
}

/// Both versions, with their names, for checks that read the same in each.
fn both() -> [(&'static str, &'static common::Loaded); 2] {
    [("1.1", common::v11()), ("2.0", common::v20())]
}

/// (MDC, ADRG) of a result.
fn ma(r: &(String, String, String, Status)) -> (&str, &str) {
    (r.0.as_str(), r.1.as_str())
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
    // Without a birth weight no weight band can be chosen: the stay is not grouped, and the
    // reason names the missing birth weight (both versions).
    for (v, l) in both() {
        let o = l.grouper.group_fast(&newborn(3, None, "P07.300x001"));
        assert_eq!(o.status, Status::Ungroupable, "{v}");
        assert!(
            matches!(o.reason, Some(Reason::MissingFields { fields }) if fields.contains(Mandatory::BirthWeight)),
            "{v}: {o:?}"
        );
    }
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
    // Age 0 without the age in days: not guessed, the stay is refused naming the field.
    let mut s = newborn(3, Some(3000), "P07.300x001");
    s.age_days = None;
    assert!(matches!(
        g.group_fast(&s).reason,
        Some(Reason::MissingFields { fields }) if fields.contains(Mandatory::AgeDays)
    ));
}

#[test]
fn newborn_entry_needs_the_principal_diagnosis_in_both_versions() {
    // Both versions title the MDCP table "包含以下主要诊断": a newborn whose principal
    // diagnosis is not a newborn diagnosis is grouped by it, even with a newborn code among
    // the secondary diagnoses (which the PS ADRGs would accept).
    for (v, l) in both() {
        assert_eq!(l.pack.mdc_role["MDCP"], "pdx", "{v}");
        let mut s = newborn(10, Some(3000), "J18.900");
        s.secondary_dx = vec!["P07.300x001".into()];
        let r = grp(l, &s);
        assert_eq!((r.0.as_str(), r.3), ("MDCE", Status::Grouped), "{v}");
        let r = grp(l, &newborn(10, Some(1200), "P07.300x001"));
        assert_eq!(ma(&r), ("MDCP", "PS1"), "{v}");
    }
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
fn hiv_entry_follows_each_versions_wording() {
    // The pack records the reading of each version's MDCY table title: 1.1 "包含以下主要诊断"
    // (principal diagnosis only), 2.0 "包含以下诊断" (principal or other diagnosis).
    assert_eq!(common::v11().pack.mdc_role["MDCY"], "pdx");
    assert_eq!(common::v20().pack.mdc_role["MDCY"], "dx");
    for (v, l) in both() {
        // By principal diagnosis, the same in both versions.
        let r = grp(l, &stay(1, 40, "B20.000x001", &[], &[]));
        assert_eq!(ma(&r), ("MDCY", "YR1"), "{v}");
        let r = grp(l, &stay(1, 40, "Z21.x00x001", &[], &[]));
        assert_eq!(ma(&r), ("MDCY", "YR2"), "{v}");
        let r = grp(l, &stay(1, 40, "B20.001", &[], &["32.4101"]));
        assert_eq!(ma(&r), ("MDCY", "YC1"), "{v}");
    }
    // 1.1: an HIV code among the secondary diagnoses only leaves the stay in the MDC of its
    // principal diagnosis (pneumonia, femoral fracture, lung surgery), grouped.
    let pneumonia = g11(&stay(1, 40, "J18.900", &["Z21.x00x001"], &[]));
    assert_eq!(
        (ma(&pneumonia), pneumonia.3),
        (("MDCE", "ES3"), Status::Grouped)
    );
    let fracture = g11(&stay(1, 40, "S72.000", &["B20.001"], &[]));
    assert_eq!(
        (ma(&fracture), fracture.3),
        (("MDCI", "IR2"), Status::Grouped)
    );
    let surgery = g11(&stay(1, 40, "J18.900", &["B20.001"], &["32.4101"]));
    assert_eq!(ma(&surgery), ("MDCE", "EB1"));
    let g = &common::v11().grouper;
    let t = g.explain(&g.group(&stay(1, 40, "J18.900", &["Z21.x00x001"], &[])));
    assert!(!t.iter().any(|l| l.contains("MDCY")), "{t:#?}");
    // 1.1 YC1 ("包含以下诊断" + OR procedure) does not list every MDCY code: a principal HIV
    // diagnosis outside it with an OR procedure is the specification's QY.
    assert_eq!(g11(&stay(1, 40, "B20.000x001", &[], &["32.4101"])).2, "YQY");
    // 2.0: the MDCY table and YR1/YR2 read "主要诊断或其他诊断": a secondary HIV code takes the
    // stay into MDCY, where YR1/YR2 (any diagnosis) and YC1 (any OR procedure) match.
    let r = g20(&stay(1, 40, "J18.900", &["Z21.x00x001"], &[]));
    assert_eq!(ma(&r), ("MDCY", "YR2"));
    let r = g20(&stay(1, 40, "S72.000", &["B20.001"], &[]));
    assert_eq!(ma(&r), ("MDCY", "YR1"));
    let r = g20(&stay(1, 40, "J18.900", &["B20.001"], &["32.4101"]));
    assert_eq!(ma(&r), ("MDCY", "YC1"));
    let r = g20(&stay(1, 40, "B20.000x001", &[], &["32.4101"]));
    assert_eq!(ma(&r), ("MDCY", "YC1"));
}

#[test]
fn multiple_trauma_follows_each_versions_wording() {
    // 1.1 titles the MDCZ tables "包含以下主要诊断" (ZZ1: "符合 MDCZ 主诊表"); 2.0 "包含以下诊断"
    // (ZZ1: "符合 MDCZ 诊断表").
    assert_eq!(common::v11().pack.mdc_role["MDCZ"], "pdx");
    assert_eq!(common::v20().pack.mdc_role["MDCZ"], "dx");
    for (v, l) in both() {
        let two = grp(l, &stay(1, 35, "S06.200x001", &["S72.000"], &[]));
        assert_eq!(ma(&two), ("MDCZ", "ZZ1"), "{v}");
        let op = grp(
            l,
            &stay(1, 35, "S06.200x001", &["S72.000"], &["01.2400x005"]),
        );
        assert_eq!(op.1, "ZB1", "{v}");
        // One region only (two head injuries): the MDC of the principal diagnosis.
        let one = grp(l, &stay(1, 35, "S06.200x001", &["S06.000"], &[]));
        assert_eq!(one.0, "MDCB", "{v}");
        // The principal diagnosis is a trauma code and the OR procedure fits no ADRG of MDCZ:
        // the specification's QY.
        let qy = grp(l, &stay(1, 35, "S06.200x001", &["S72.000"], &["32.4101"]));
        assert_eq!((qy.2.as_str(), qy.3), ("ZQY", Status::Qy), "{v}");
    }
    let t = trace20(&stay(1, 35, "S06.200x001", &["S72.000"], &[]));
    assert!(
        t.iter()
            .any(|l| l.contains("MDCZ") && l.contains("body regions")),
        "{t:?}"
    );
    // Two body regions among the secondary diagnoses only: 1.1 needs the principal diagnosis
    // in the MDCZ table; 2.0 does not.
    let sdx = ["S06.200x001", "S72.000"];
    assert_eq!(g11(&stay(1, 35, "J18.900", &sdx, &[])).0, "MDCE");
    assert_eq!(
        ma(&g20(&stay(1, 35, "J18.900", &sdx, &[]))),
        ("MDCZ", "ZZ1")
    );
    let op = g20(&stay(1, 35, "J18.900", &sdx, &["01.2400x005"]));
    assert_eq!(ma(&op), ("MDCZ", "ZB1"));
    // 2.0, entered on secondary diagnoses only, with an OR procedure that fits no ADRG of
    // MDCZ (a lobectomy): not kept in MDCZ as ZQY, the principal diagnosis decides (EB1).
    let s = stay(1, 35, "J18.900", &sdx, &["32.4101"]);
    assert_eq!(ma(&g20(&s)), ("MDCE", "EB1"));
    let t = trace20(&s);
    assert!(
        t.iter()
            .any(|l| l.contains("no ADRG of MDCZ") && l.contains("principal diagnosis decides")),
        "{t:#?}"
    );
}

#[test]
fn mandatory_fields_are_refused_naming_the_field() {
    use Mandatory::*;
    let missing = |l: &common::Loaded, s: &Stay| -> Vec<Mandatory> {
        let g = &l.grouper;
        let o = g.group_fast(s);
        assert_eq!(g.group(s).outcome, o);
        match o.reason {
            Some(Reason::MissingFields { fields }) => {
                assert_eq!(o.status, Status::Ungroupable);
                assert_eq!((o.mdc, g.drg_code(&o).as_ref()), (None, "0000"));
                // The reason text names the input column of each missing field.
                let text = g.reason_text(&o);
                for f in fields.iter() {
                    assert!(text.contains(f.column()), "{text}");
                }
                fields.iter().collect()
            }
            _ => vec![],
        }
    };
    for (v, l) in both() {
        let base = stay(1, 45, "I63.900", &[], &[]);
        assert_eq!(grp(l, &base).3, Status::Grouped, "{v}");
        // Sex unknown (before, unknown sex at 45 grouped as BV15): refused.
        for sex in [None, Some(0), Some(3), Some(9)] {
            let s = Stay {
                sex,
                ..base.clone()
            };
            assert_eq!(missing(l, &s), [Sex], "{v} sex {sex:?}");
        }
        let s = Stay {
            age_years: None,
            ..base.clone()
        };
        assert_eq!(missing(l, &s), [Age], "{v}");
        let s = Stay {
            age_years: Some(0),
            ..base.clone()
        };
        assert_eq!(missing(l, &s), [AgeDays], "{v}");
        // A newborn (≤ 28 days) without birth weight, or with 0 g.
        for (days, bw) in [(0, None), (28, None), (5, Some(0))] {
            let s = newborn(days, bw, "P07.300x001");
            assert_eq!(missing(l, &s), [BirthWeight], "{v} {days} {bw:?}");
        }
        // Several at once: each is named.
        let s = Stay {
            sex: None,
            age_years: Some(0),
            ..base.clone()
        };
        assert_eq!(missing(l, &s), [Sex, AgeDays], "{v}");
        let s = Stay {
            sex: None,
            age_years: None,
            age_days: Some(3),
            ..base.clone()
        };
        assert_eq!(missing(l, &s), [Sex, BirthWeight], "{v}");
        // Not missing: the age in days alone; an infant of 29 days without birth weight.
        let s = Stay {
            age_years: None,
            age_days: Some(40),
            ..base.clone()
        };
        assert_eq!(missing(l, &s), [], "{v}");
        assert_eq!(missing(l, &newborn(29, None, "A09.900x005")), [], "{v}");
        // A missing principal diagnosis is reported first, as before.
        let s = Stay {
            sex: None,
            principal_dx: String::new(),
            ..base.clone()
        };
        assert_eq!(l.grouper.group_fast(&s).reason, Some(Reason::MissingPdx));
        // The trace says what to fill in.
        let g = &l.grouper;
        let t = g.explain(&g.group(&Stay { sex: None, ..base }));
        assert!(
            t.iter()
                .any(|l| l.contains("not grouped") && l.contains("sex (性别")),
            "{t:#?}"
        );
    }
}

#[test]
fn sex_checks() {
    // Both versions name MDCM 男性…, MDCN 女性…, MDCO 妊娠…: the same sex requirements.
    for (v, l) in both() {
        let sexes: Vec<(&str, Option<u8>)> = ["MDCM", "MDCN", "MDCO", "MDCB"]
            .into_iter()
            .map(|m| (m, l.pack.mdc_sex[m]))
            .collect();
        let want = [
            ("MDCM", Some(1)),
            ("MDCN", Some(2)),
            ("MDCO", Some(2)),
            ("MDCB", None),
        ];
        assert_eq!(sexes, want, "{v}");
        let g = &l.grouper;
        // Prostate hyperplasia in a woman: sex conflict, ungroupable with the reason.
        let o = g.group_fast(&stay(2, 60, "N40.x00", &[], &[]));
        assert_eq!(o.status, Status::Ungroupable, "{v}");
        assert!(matches!(o.reason, Some(Reason::SexConflict { .. })), "{v}");
        assert!(g.reason_text(&o).contains("MDCM"), "{v}");
        assert_eq!(grp(l, &stay(1, 60, "N40.x00", &[], &[])).0, "MDCM", "{v}");
        // A delivery in a man: MDCO requires female.
        let o = g.group_fast(&stay(1, 30, "O80.000", &[], &[]));
        assert!(g.reason_text(&o).contains("MDCO"), "{v}: {o:?}");
        // A code in both the male and female tables follows the sex.
        assert_eq!(grp(l, &stay(2, 60, "I86.200", &[], &[])).0, "MDCN", "{v}");
        assert_eq!(grp(l, &stay(1, 60, "I86.200", &[], &[])).0, "MDCM", "{v}");
    }
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
