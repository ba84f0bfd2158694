//! Any input, however malformed, returns a result without panicking, and the same input
//! always gives the same result.
mod common;
use drg::{Status, Stay};
use proptest::prelude::*;

fn code_pool() -> Vec<String> {
    let p = &common::v20().pack;
    let mut v: Vec<String> = p.dx_flags.keys().take(3000).cloned().collect();
    v.extend(p.proc_flags.keys().take(2000).cloned());
    v.extend(p.mcc.iter().take(300).map(|(c, _)| c.clone()));
    v.sort();
    v
}

fn code() -> impl Strategy<Value = String> {
    let pool = code_pool();
    prop_oneof![
        3 => proptest::sample::select(pool),
        1 => ".{0,14}",
        1 => "[A-Z][0-9]{2}\\.[0-9x]{3}(x[0-9]{3})?",
    ]
}

/// A number that is mostly plausible (so that most stays get past the mandatory fields),
/// sometimes missing, sometimes anything.
fn num(max: u32) -> impl Strategy<Value = Option<u32>> {
    prop_oneof![
        3 => (0..max).prop_map(Some),
        1 => Just(None),
        1 => proptest::option::of(any::<u32>()),
    ]
}

fn stay() -> impl Strategy<Value = Stay> {
    (
        prop_oneof![
            4 => (1u8..=2).prop_map(Some),
            1 => proptest::option::of(any::<u8>()),
        ],
        num(110),
        num(400),
        num(5000),
        proptest::option::of(any::<u32>()),
        code(),
        proptest::collection::vec(code(), 0..30),
        proptest::collection::vec(code(), 0..30),
    )
        .prop_map(|(sex, ay, ad, bw, los, pdx, sdx, procs)| Stay {
            sex,
            age_years: ay,
            age_days: ad,
            birth_weight_g: bw,
            los_days: los,
            discharge_mode: None,
            principal_dx: pdx,
            secondary_dx: sdx,
            procedures: procs,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, ..ProptestConfig::default() })]

    #[test]
    fn never_panics_and_is_deterministic(s in stay()) {
        for l in [common::v20(), common::v11()] {
            let g = &l.grouper;
            let a = g.group_fast(&s);
            let b = g.group(&s);
            prop_assert_eq!(a, b.outcome);
            prop_assert_eq!(a, g.group_fast(&s.clone()));
            // Rendering never panics either, and every non-grouped result says why.
            let lines = g.explain(&b);
            prop_assert!(!lines.is_empty());
            match a.status {
                Status::Grouped => prop_assert!(g.catalog().drg(&g.drg_code(&a)).is_some()),
                _ => prop_assert!(!g.reason_text(&a).is_empty()),
            }
        }
    }
}
