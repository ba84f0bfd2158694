//! The commands end to end on small inputs: files written, readable, and consistent.

use actuarial_cli::*;

fn scheme() -> SchemeArgs {
    SchemeArgs {
        threshold_resident: 2500,
        threshold_employee: 2500,
        threshold_uninsured: 7000,
        min_subsidy: 300,
        per_stay_cap: 10_000,
        yearly_cap: 15_000,
        loyalty_bonus: 10,
        exclude: vec!["OB".into()],
        rounding: 50,
        weighting: "need".into(),
        ladder_steps: 5,
        target_surplus: 0.05,
        shortfall_prob: 0.025,
    }
}

#[test]
fn simulate_then_design_from_the_files() {
    let dir = tempfile::tempdir().unwrap();
    let sim_dir = dir.path().join("sim");
    run_simulate(SimulateArgs {
        members: 3_000,
        years: 2,
        seed: 3,
        first_year: 2026,
        shock_cv: 0.075,
        out: sim_dir.clone(),
    })
    .unwrap();
    for f in ["households.csv", "members.csv", "stays.csv", "summary.json"] {
        assert!(sim_dir.join(f).exists(), "{f}");
    }
    let members = std::fs::read_to_string(sim_dir.join("members.csv")).unwrap();
    assert!(members.lines().count() > 3_000);
    let stays = std::fs::read_to_string(sim_dir.join("stays.csv")).unwrap();
    // About 0.175 stays per member-year over two years.
    let n = stays.lines().count() - 1;
    assert!((800..1_400).contains(&n), "{n}");

    let out = dir.path().join("design");
    let args = DesignArgs {
        from: Some(sim_dir),
        year: None,
        members: 0,
        loyal_share: 0.0,
        money: None,
        fee: 100,
        reserve: 0,
        service_fee: 15_000,
        drg_version: "2.0".into(),
        scheme: scheme(),
        out: out.clone(),
    };
    run_design(args).unwrap();
    let table = std::fs::read_to_string(out.join("table.csv")).unwrap();
    assert_eq!(table.lines().count(), 635);
    // Excluded childbirth groups get nothing; the rest at least the minimum, in 50-yuan steps.
    for line in table.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let amount: f64 = f[f.len() - 2].parse().unwrap();
        if f[0].starts_with("OB") {
            assert_eq!(amount, 0.0);
        } else {
            assert!(
                (300.0..=10_000.0).contains(&amount) && (amount as i64) % 50 == 0,
                "{line}"
            );
        }
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let p = summary["p_shortfall"].as_f64().unwrap();
    assert!(p <= 0.025 + 1e-12, "{p}");
    let money = summary["money_available_yuan"].as_f64().unwrap();
    assert!(summary["expected_payout_yuan"].as_f64().unwrap() <= 0.95 * money);
    assert!(summary["credibility"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(out.join("report.txt"))
        .unwrap()
        .contains("P(shortfall)"));
}

#[test]
fn design_for_a_version_one_one_catalogue_without_roster() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d11");
    let mut s = scheme();
    s.weighting = "ladder".into();
    s.ladder_steps = 4;
    run_design(DesignArgs {
        from: None,
        year: None,
        members: 5_000,
        loyal_share: 0.5,
        money: Some(400_000),
        fee: 100,
        reserve: 0,
        service_fee: 0,
        drg_version: "1.1".into(),
        scheme: s,
        out: out.clone(),
    })
    .unwrap();
    let table = std::fs::read_to_string(out.join("table.csv")).unwrap();
    assert_eq!(table.lines().count(), 629);
    let mut amounts: Vec<String> = table
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').nth(1).unwrap().to_string())
        .filter(|a| a != "0.00")
        .collect();
    amounts.sort();
    amounts.dedup();
    // A ladder of 4 steps, some possibly clamped to the minimum or the cap.
    assert!(amounts.len() <= 4, "{amounts:?}");
}

#[test]
fn backtest_writes_a_report() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bt.md");
    run_backtest(BacktestArgs {
        years: 2,
        seed: 9,
        members: 2_000,
        history: 1,
        fee: 100,
        service_fee_share: 0.05,
        town_sd: 0.15,
        year_cv: 0.075,
        scheme: scheme(),
        output: Some(out.clone()),
    })
    .unwrap();
    let md = std::fs::read_to_string(out).unwrap();
    assert!(md.contains("realised shortfall frequency"));
    assert!(md.contains("| 2 |"), "{md}");
}

/// Issue 16, item 13: the years run in parallel and give exactly the sequential report.
#[test]
fn parallel_backtest_equals_sequential() {
    let args = BacktestArgs {
        years: 4,
        seed: 5,
        members: 1_500,
        history: 1,
        fee: 100,
        service_fee_share: 0.05,
        town_sd: 0.15,
        year_cv: 0.075,
        scheme: scheme(),
        output: None,
    };
    let cfg = actuarial_cli::backtest_config(&args).unwrap();
    let seq = actuarial::backtest::run_backtest_sequential(&cfg, &|_| {}).unwrap();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(3)
        .build()
        .unwrap();
    let par = pool
        .install(|| actuarial::backtest::run_backtest(&cfg, &|_| {}))
        .unwrap();
    assert_eq!(seq, par);
    assert_eq!(seq.markdown("x"), par.markdown("x"));
}

/// The report goes to standard output unless `--output` names a file; `--out` still works.
#[test]
fn backtest_report_goes_to_stdout_by_default() {
    use clap::Parser;
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: BacktestArgs,
    }
    let c = Cli::try_parse_from(["backtest", "--years", "200", "--seed", "1"]).unwrap();
    assert_eq!(c.args.output, None);
    let c = Cli::try_parse_from(["backtest", "--output", "r.md"]).unwrap();
    assert_eq!(c.args.output, Some(std::path::PathBuf::from("r.md")));
    let c = Cli::try_parse_from(["backtest", "--out", "r.md"]).unwrap();
    assert_eq!(c.args.output, Some(std::path::PathBuf::from("r.md")));
}

#[test]
fn bad_arguments_are_refused() {
    let mut s = scheme();
    s.weighting = "fancy".into();
    assert!(s.weighting().is_err());
    s.min_subsidy = 0;
    assert!(s.rules().is_err());
}
