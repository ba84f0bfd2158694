//! Speed of the engine: one evaluation for a 100,000-member town (as `evaluate` does it, and on
//! the exact lattice throughout), and full designs for 100,000 and 1,000,000 members (prior
//! only: the widest parameter risk, hence the widest grid).

use actuarial::design::{
    class_risks, design, drg_weights, effective_cv, evaluate, table_for, DesignTargets, Population,
    SchemeRules, Weighting,
};
use actuarial::risk::{class_count, RiskModel, Thresholds};
use criterion::{criterion_group, criterion_main, Criterion};
use sim::{drg_catalogue, DrgVersion, StayModel};

fn town(m: &StayModel, n: f64) -> Population {
    let ages = sim::calibration::age_structure();
    let mut members = vec![(0, 0); class_count(m)];
    for (sc, c) in m.classes.iter().enumerate() {
        let share: f64 = ages
            .iter()
            .filter(|a| a.from >= c.band.from && a.to <= c.band.to)
            .map(|a| a.male)
            .sum::<f64>()
            * 0.5;
        for (ii, s) in [0.95, 0.02, 0.03].iter().enumerate() {
            let k = (n * share * s).round();
            members[sc * 3 + ii] = ((k * 0.4).round() as u64, (k - (k * 0.4).round()) as u64);
        }
    }
    Population { members }
}

fn rules() -> SchemeRules {
    SchemeRules {
        thresholds: Thresholds {
            resident_fen: 250_000,
            employee_fen: 250_000,
            uninsured_fen: 700_000,
        },
        min_subsidy_fen: 30_000,
        per_stay_cap_fen: 1_000_000,
        yearly_cap_fen: Some(2_000_000),
        loyalty_bonus_pct: 10,
        excluded: vec![],
        rounding_unit_fen: 1_000,
    }
}

fn benches(c: &mut Criterion) {
    let m = StayModel::new();
    let r = rules();
    let risk = RiskModel::prior(&m, drg_catalogue(DrgVersion::V20), r.thresholds);
    let w = drg_weights(&risk, Weighting::Need);
    let pop = town(&m, 100_000.0);
    let budget = 100_000 * 9_500;
    let t = DesignTargets {
        money_available_fen: budget,
        target_surplus: 0.05,
        shortfall_probability: 0.025,
        weighting: Weighting::Need,
    };
    // The table the design picks, evaluated with the prior's parameter risk (no history: the
    // widest grid) and with that of a town with three years of history (CV ~0.087).
    let table = table_for(&r, &risk, &w, design(&risk, &r, &pop, &t).unwrap().scale);
    let mut with_history = risk.clone();
    with_history.parameter_cv = 0.087;
    let mut g = c.benchmark_group("actuarial");
    g.sample_size(10);
    g.bench_function("exact_distribution_100k_prior", |b| {
        b.iter(|| evaluate(&risk, &r, &pop, &table, budget).unwrap())
    });
    g.bench_function("exact_distribution_100k_history", |b| {
        b.iter(|| evaluate(&with_history, &r, &pop, &table, budget).unwrap())
    });
    // The same total on the exact 10-yuan lattice (2^22 points), for comparison: `evaluate`
    // coarsens the lattice for a town this large (mean-preserving rounding, error reported).
    let loyal: Vec<i64> = table.iter().map(|a| r.loyal_amount(*a)).collect();
    let cv = effective_cv(&risk, &pop, &table, &loyal);
    g.bench_function("exact_lattice_100k_prior", |b| {
        b.iter(|| {
            let (classes, unit, _) = class_risks(&risk, &r, &pop, &table, &loyal);
            actuarial::payout_distribution(&classes, unit, cv).unwrap()
        })
    });
    g.bench_function("design_100k", |b| {
        b.iter(|| design(&risk, &r, &pop, &t).unwrap())
    });
    let pop_1m = town(&m, 1_000_000.0);
    let t_1m = DesignTargets {
        money_available_fen: 1_000_000 * 9_500,
        ..t.clone()
    };
    g.bench_function("design_1m", |b| {
        b.iter(|| design(&risk, &r, &pop_1m, &t_1m).unwrap())
    });
    // 10,000 members on the exact lattice, split into the per-member Panjer pass and the whole.
    // The second table has no yearly cap and its smallest amount is one lattice unit (10 yuan),
    // the case where the per-member recursion cannot read ahead of the previous value.
    let pop_10k = town(&m, 10_000.0);
    let mut unit1_rules = r.clone();
    unit1_rules.yearly_cap_fen = None;
    let mut unit1_table = table.clone();
    if let Some(a) = unit1_table.iter_mut().find(|a| **a > 0) {
        *a = 1_000;
    }
    for (name, rr, tt) in [
        ("10k", &r, &table),
        ("10k_unit1_nocap", &unit1_rules, &unit1_table),
    ] {
        let loyal: Vec<i64> = tt.iter().map(|a| rr.loyal_amount(*a)).collect();
        let cv = effective_cv(&risk, &pop_10k, tt, &loyal);
        g.bench_function(format!("panjer_{name}"), |b| {
            b.iter(|| class_risks(&risk, rr, &pop_10k, tt, &loyal))
        });
        g.bench_function(format!("exact_lattice_{name}"), |b| {
            b.iter(|| {
                let (classes, unit, _) = class_risks(&risk, rr, &pop_10k, tt, &loyal);
                actuarial::payout_distribution(&classes, unit, cv).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(group, benches);
criterion_main!(group);
