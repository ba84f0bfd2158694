use drg::{Grouper, Stay, Version};

#[test]
fn catalogue_counts_match_the_official_schemes() {
    let g = Grouper::load(&Version::default()).unwrap();
    let c = g.catalog();
    assert_eq!(
        (c.mdcs().len(), c.adrgs().len(), c.drgs().len()),
        (26, 409, 634)
    );
    let g = Grouper::load(&Version::chs_drg_1_1()).unwrap();
    let c = g.catalog();
    assert_eq!(
        (c.mdcs().len(), c.adrgs().len(), c.drgs().len()),
        (26, 376, 628)
    );
    assert_eq!(c.version(), "chs-drg-1.1");
}

#[test]
fn cerebral_infarction_groups_to_br2() {
    let g = Grouper::load(&Version::default()).unwrap();
    let stay = Stay {
        principal_dx: "I63.900".into(),
        sex: Some(1),
        age_years: Some(70),
        ..Stay::default()
    };
    let r = g.group(&stay);
    for l in g.explain(&r) {
        println!("{l}");
    }
    assert_eq!(g.adrg_code(&r.outcome), "BR2");
}
