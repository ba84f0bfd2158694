//! The role of an MDC's table (`@mdcdx` third column) and the guard it implies, on a pack
//! small enough to read: MDCB is chosen by principal diagnosis; MDCY has an entry rule that
//! tests its table on any diagnosis, and its only ADRG needs the principal diagnosis in it
//! (the shape of CHS-DRG 1.1's MDCY read the 2.0 way, which sent HIV-positive members with
//! pneumonia or a fracture to "no ADRG of MDCY matches").
use drg::{Grouper, Reason, Status, Stay};
use std::io::Write;

const MANIFEST: &str = "format = shouwang-drg-pack/2\nversion = guard-test\n";

fn tables(mdcy_role: &str) -> String {
    format!(
        "@mdc\nMDCB\tB\t\nMDCY\tY\t\n\
         @adrg\nBB1\tMDCB\tsurgical\tB surgical\nBR1\tMDCB\tmedical\tB medical\n\
         YR1\tMDCY\tmedical\tY medical\n\
         @drg\nBB19\tBB1\t9\tb surgical\nBR19\tBR1\t9\tb medical\nYR19\tYR1\t9\ty medical\n\
         @dx\nB01\tb\tD\nY01\ty\tD\nX01\tin no table\tD\n\
         @proc\nP1\top in BB1\tDO\nP2\tother op\tDO\n\
         @set\n0\tdx\tMDCB 主要诊断表\tB01\n1\tdx\tMDCY 诊断表\tY01\n2\tproc\tBB1 手术\tP1\n\
         @mdcdx\nMDCB\t0\tpdx\nMDCY\t1{mdcy_role}\n\
         @entry\nMDCY\tdx:1\n\
         @rule\nBB1\tpproc:2\nBR1\tpdx:0\nYR1\tpdx:1\n\
         @split\nBB1\tBB19\ttrue\nBR1\tBR19\ttrue\nYR1\tYR19\ttrue\n"
    )
}

fn grouper(mdcy_role: &str) -> Grouper {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(tables(mdcy_role).as_bytes()).unwrap();
    Grouper::from_pack(MANIFEST.as_bytes(), &gz.finish().unwrap()).unwrap()
}

fn stay(pdx: &str, sdx: &[&str], procs: &[&str]) -> Stay {
    Stay {
        sex: Some(1),
        age_years: Some(40),
        principal_dx: pdx.into(),
        secondary_dx: sdx.iter().map(|s| s.to_string()).collect(),
        procedures: procs.iter().map(|s| s.to_string()).collect(),
        ..Stay::default()
    }
}

/// (DRG code, status, reason) with traced = fast = batch.
fn run(g: &Grouper, s: &Stay) -> (String, Status, Option<Reason>) {
    let o = g.group_fast(s);
    assert_eq!(g.group(s).outcome, o, "{s:?}");
    assert_eq!(g.group_many(std::slice::from_ref(s)), [o]);
    (g.drg_code(&o).into_owned(), o.status, o.reason)
}

#[test]
fn entered_on_secondary_diagnoses_only_and_nothing_matches_falls_through() {
    let g = grouper("\tdx");
    // The principal diagnosis places the stay in MDCB: no ADRG of MDCY matches, so MDCB.
    assert_eq!(run(&g, &stay("B01", &["Y01"], &[])).0, "BR19");
    // Same with an OR procedure that fits no surgical ADRG of MDCY (it would be YQY): the
    // principal diagnosis's MDC, where it is BB1 or, failing that, the specification's BQY.
    assert_eq!(run(&g, &stay("B01", &["Y01"], &["P1"])).0, "BB19");
    let (code, status, _) = run(&g, &stay("B01", &["Y01"], &["P2"]));
    assert_eq!((code.as_str(), status), ("BQY", Status::Qy));
    let t = g.explain(&g.group(&stay("B01", &["Y01"], &[])));
    assert!(
        t.iter().any(|l| l.contains("no ADRG of MDCY Y matches")
            && l.contains("the principal diagnosis decides the MDC")),
        "{t:#?}"
    );
    // The principal diagnosis in the MDCY table: MDCY, and its QY stands.
    assert_eq!(run(&g, &stay("Y01", &[], &[])).0, "YR19");
    assert_eq!(run(&g, &stay("Y01", &[], &["P2"])).0, "YQY");
    // The principal diagnosis places the stay nowhere: the entry MDC's result stands (it
    // says what failed there rather than "in no MDC table").
    let (code, status, reason) = run(&g, &stay("X01", &["Y01"], &[]));
    assert_eq!((code.as_str(), status), ("0000", Status::Ungroupable));
    assert!(matches!(reason, Some(Reason::NoAdrg { .. })), "{reason:?}");
    assert_eq!(run(&g, &stay("X01", &["Y01"], &["P2"])).0, "YQY");
    // Without the HIV-like code the principal diagnosis decides as usual.
    assert_eq!(
        run(&g, &stay("X01", &[], &[])).2,
        Some(Reason::NoMdc),
        "in no table"
    );
}

#[test]
fn a_principal_diagnosis_table_is_never_left() {
    // The same entry rule, but the table is recorded as read on the principal diagnosis
    // (as packs of format 1, which have no role column): the MDC entered is kept.
    for role in ["\tpdx", ""] {
        let g = grouper(role);
        let (code, status, reason) = run(&g, &stay("B01", &["Y01"], &[]));
        assert_eq!((code.as_str(), status), ("0000", Status::Ungroupable));
        assert!(matches!(reason, Some(Reason::NoAdrg { .. })), "{reason:?}");
    }
}

#[test]
fn an_unknown_table_role_is_a_pack_error() {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(tables("\tsdx").as_bytes()).unwrap();
    let err = Grouper::from_pack(MANIFEST.as_bytes(), &gz.finish().unwrap())
        .err()
        .expect("an error");
    assert!(err.to_string().contains("table role"), "{err}");
}
