//! Every ADRG is reached by at least one case built from its own rule table.
mod common;
use common::{case_for_branch, Loaded, Rng};

fn reach_every_adrg(l: &Loaded, expected: usize) {
    let p = &l.pack;
    let g = &l.grouper;
    assert_eq!(p.adrgs.len(), expected);
    let mut missing = Vec::new();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (adrg, _, _) in &p.adrgs {
        let branches: Vec<&Vec<Vec<String>>> = p
            .rules
            .iter()
            .filter(|(a, _)| a == adrg)
            .map(|(_, c)| c)
            .collect();
        assert!(!branches.is_empty(), "{adrg} has no rule in the pack");
        let mut reached = false;
        let mut last = None;
        'attempts: for attempt in 0..400 {
            let clauses = branches[attempt % branches.len()];
            let stay = case_for_branch(p, adrg, clauses, &mut rng);
            let o = g.group_fast(&stay);
            if g.adrg_code(&o) == adrg {
                // The traced path must agree with the fast path.
                let traced = g.group(&stay);
                assert_eq!(traced.outcome, o);
                assert!(traced.trace.len() >= 2);
                reached = true;
                break 'attempts;
            }
            last = Some((stay, g.drg_code(&o).into_owned(), g.reason_text(&o)));
        }
        if !reached {
            missing.push((adrg.clone(), last));
        }
    }
    for (a, last) in &missing {
        eprintln!("not reached: {a}; last attempt {last:?}");
    }
    assert!(missing.is_empty(), "{} ADRGs not reached", missing.len());
}

#[test]
fn every_chs_drg_2_0_adrg_is_reached() {
    reach_every_adrg(common::v20(), 409);
}

#[test]
fn every_chs_drg_1_1_adrg_is_reached() {
    reach_every_adrg(common::v11(), 376);
}
