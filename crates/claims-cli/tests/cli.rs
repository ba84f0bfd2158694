//! `shouwang subsidy` end to end on temporary files, through the real `run`.

use std::fs;
use std::path::{Path, PathBuf};

use claims_cli::{run, SubsidyArgs};
use clap::Parser;

const HEADER: &str = "claim_id,member,consecutive_years,insurance,admission_date,discharge_date,total_yuan,oop_yuan,drg,exclusions\n";

const TABLE: &str = "drg,amount_yuan\nES23,1200\nGB15,9500\nBR25,200.00\nRE11,12.35\nOB19,0\n";

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: SubsidyArgs,
}

struct Files {
    dir: tempfile::TempDir,
}

impl Files {
    fn new(stays: &str) -> Files {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("table.csv"), TABLE).unwrap();
        fs::write(dir.path().join("stays.csv"), format!("{HEADER}{stays}")).unwrap();
        Files { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    /// The command line after `shouwang subsidy`, with the file options filled in.
    fn args(&self, extra: &[&str]) -> SubsidyArgs {
        let p = |n: &str| self.path(n).display().to_string();
        let mut argv = vec![
            "subsidy".to_string(),
            "--table".into(),
            p("table.csv"),
            "--input".into(),
            p("stays.csv"),
            "--output".into(),
            p("decisions.csv"),
        ];
        argv.extend(extra.iter().map(|s| s.to_string()));
        Cli::try_parse_from(argv).unwrap().args
    }
    fn decisions(&self) -> Vec<String> {
        let text = fs::read_to_string(self.path("decisions.csv")).unwrap();
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        assert_eq!(lines.remove(0), "claim_id,decision,amount_yuan,reasons");
        lines
    }
}

fn write(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
}

#[test]
fn anji_template_with_flag_overrides() {
    let f = Files::new(concat!(
        // employee 2,600 ≥ 2,500; first year
        "a1,m1,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        // resident 2,600 < 3,500
        "a2,m2,1,resident,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        // uninsured 7,000; second year: 1,200 + 10%
        "a3,m3,2,uninsured,2025-03-01,2025-03-09,7000,7000,ES23,\n",
        // 200 + 10% = 220 → the minimum (here overridden to 400)
        "a4,m4,3,employee,2025-03-01,2025-03-09,20000,2600,BR25,\n",
        // 9,500 + 10% = 10,450 → per-stay cap 10,000 (flag)
        "a5,m5,2,employee,2025-03-01,2025-03-09,20000,2600,GB15,\n",
        // admitted after the period (ends 2025-07-31), abroad, below threshold, DRG not in table
        "a6,m6,1,resident,2025-08-01,2025-08-09,20000,100,ZZ99,abroad|work_injury\n",
        // DRG left empty; DRG at zero in the table
        "a7,m7,1,employee,2025-03-01,2025-03-09,20000,2600,,\n",
        "a8,m8,1,employee,2025-03-01,2025-03-09,20000,2600,OB19,\n",
    ));
    let stats = run(f.args(&[
        "--template",
        "anji",
        "--year",
        "2024",
        "--per-stay-cap",
        "10000",
        "--min-subsidy",
        "400",
    ]))
    .unwrap();
    assert_eq!(
        f.decisions(),
        [
            "a1,subsidy,1200.00,",
            "a2,refused,0.00,below_threshold",
            "a3,subsidy,1320.00,loyalty_bonus",
            "a4,subsidy,400.00,loyalty_bonus|min_subsidy",
            "a5,subsidy,10000.00,loyalty_bonus|per_stay_cap",
            "a6,refused,0.00,not_in_period|work_injury|abroad|below_threshold|drg_not_in_table",
            "a7,refused,0.00,drg_not_in_table",
            "a8,refused,0.00,drg_not_in_table",
        ]
    );
    assert_eq!(
        (stats.rows, stats.subsidised, stats.refused, stats.invalid),
        (8, 4, 4, 0)
    );
    assert_eq!(stats.total_subsidy, domain::Fen::from_yuan(12_920));

    // --loyalty-percent 0 removes the bonus.
    run(f.args(&[
        "--template",
        "anji",
        "--year",
        "2024",
        "--loyalty-percent",
        "0",
    ]))
    .unwrap();
    assert_eq!(f.decisions()[2], "a3,subsidy,1200.00,");
}

#[test]
fn yiyuan_template_thresholds() {
    let f = Files::new(concat!(
        "y1,m1,1,resident,2024-09-01,2024-09-05,9000,2499.99,ES23,\n",
        "y2,m2,1,resident,2024-09-01,2024-09-05,9000,2500.00,ES23,\n",
        "y3,m3,1,uninsured,2024-09-01,2024-09-05,5000,5000,ES23,\n",
        "y4,m4,1,uninsured,2024-09-01,2024-09-05,4999.99,4999.99,ES23,\n",
        // 沂源 has no loyalty bonus; 12.35 → the minimum 300
        "y5,m5,4,employee,2024-09-01,2024-09-05,9000,3000,RE11,\n",
    ));
    run(f.args(&["--template", "yiyuan-dazhangzhuang", "--year", "2024"])).unwrap();
    assert_eq!(
        f.decisions(),
        [
            "y1,refused,0.00,below_threshold",
            "y2,subsidy,1200.00,",
            "y3,subsidy,1200.00,",
            "y4,refused,0.00,below_threshold",
            "y5,subsidy,300.00,min_subsidy",
        ]
    );
}

#[test]
fn rules_json_as_the_app_stores_it() {
    let mut rules = scheme::template("anji", 2024).unwrap().rules;
    rules.yearly_cap = Some(domain::Fen::from_yuan(2_000));
    rules.loyalty_bonus_percent = 20;
    let f = Files::new("j1,m1,2,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n");
    write(
        &f.path("rules.json"),
        &serde_json::to_string(&rules).unwrap(),
    );
    let rules_path = f.path("rules.json").display().to_string();
    run(f.args(&["--rules", &rules_path])).unwrap();
    assert_eq!(f.decisions(), ["j1,subsidy,1440.00,loyalty_bonus"]);
    // The flags override the file.
    run(f.args(&["--rules", &rules_path, "--yearly-cap", "1000"])).unwrap();
    assert_eq!(
        f.decisions(),
        ["j1,subsidy,1000.00,loyalty_bonus|yearly_cap"]
    );
}

#[test]
fn the_yearly_cap_accumulates_per_member_across_rows() {
    let f = Files::new(concat!(
        "c1,alice,1,employee,2025-01-01,2025-01-09,20000,2600,GB15,\n",
        "c2,bob,1,employee,2025-01-01,2025-01-09,20000,2600,GB15,\n",
        "c3,alice,1,employee,2025-02-01,2025-02-09,20000,2600,GB15,\n",
        // refused stays do not count
        "c4,alice,1,employee,2025-02-01,2025-02-09,20000,100,GB15,\n",
        "c5,alice,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        "c6,bob,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
    ));
    run(f.args(&[
        "--template",
        "anji",
        "--year",
        "2024",
        "--per-stay-cap",
        "10000",
        "--yearly-cap",
        "15000",
    ]))
    .unwrap();
    assert_eq!(
        f.decisions(),
        [
            "c1,subsidy,9500.00,",
            "c2,subsidy,9500.00,",
            "c3,subsidy,5500.00,yearly_cap",
            "c4,refused,0.00,below_threshold",
            "c5,refused,0.00,yearly_cap_exhausted",
            "c6,subsidy,1200.00,",
        ]
    );
}

#[test]
fn invalid_rows_are_refused_and_the_run_goes_on() {
    let f = Files::new(concat!(
        "ok1,m1,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        "bad1,m1,1,pensioner,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        "bad2,m1,one,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        "bad3,m1,1,employee,2025-02-30,2025-03-09,20000,2600,ES23,\n",
        "bad4,m1,1,employee,2025-03-01,2025-03-09,20000,2600.001,ES23,\n",
        "bad5,m1,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,unknown_code\n",
        "bad6,m1,1,employee,2025-03-01,2025-03-09,20000\n",
        "bad7,,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        "bad8,m1,1,employee,2025-03-09,2025-03-01,20000,2600,ES23,\n",
        "bad9,m1,1,employee,2025-03-01,2025-03-09,2000,2600,ES23,\n",
        "bad10,m1,1,employee,2025-03-01,2025-03-09,-20000,2600,ES23,\n",
        ",m1,1,employee,2025-03-01,2025-03-09,20000,2600,ES23,\n",
        "ok2,m1,1,employee,2025-03-01,2025-03-09,\"20,000.50\",2600,ES23,not_inpatient\n",
    ));
    let stats = run(f.args(&["--template", "anji", "--year", "2024"])).unwrap();
    let d = f.decisions();
    assert_eq!(d[0], "ok1,subsidy,1200.00,");
    for (i, row) in d[1..12].iter().enumerate() {
        assert!(row.ends_with(",refused,0.00,invalid_row"), "{i}: {row}");
    }
    assert_eq!(d[12], "ok2,refused,0.00,not_inpatient");
    assert_eq!(stats.invalid, 11);
    assert_eq!(stats.rows, 13);
    assert_eq!(stats.first_invalid_lines, [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
}

#[test]
fn bad_header_table_or_rules_stop_the_run() {
    let f = Files::new("");
    write(
        &f.path("stays.csv"),
        "claim_id,member,years,insurance,admission_date,discharge_date,total_yuan,oop_yuan,drg,exclusions\n",
    );
    let err = run(f.args(&["--template", "anji", "--year", "2024"])).unwrap_err();
    assert!(
        format!("{err:#}").contains("missing consecutive_years"),
        "{err:#}"
    );

    let f = Files::new("");
    write(&f.path("table.csv"), "drg,amount\nES23,1200\n");
    let err = run(f.args(&["--template", "anji", "--year", "2024"])).unwrap_err();
    assert!(
        format!("{err:#}").contains("missing amount_yuan"),
        "{err:#}"
    );
    write(&f.path("table.csv"), "drg,amount_yuan\nES23,12x\n");
    let err = run(f.args(&["--template", "anji", "--year", "2024"])).unwrap_err();
    assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    write(
        &f.path("table.csv"),
        "drg,amount_yuan\nES23,1200\nES23,1300\n",
    );
    assert!(run(f.args(&["--template", "anji", "--year", "2024"])).is_err());
    fs::remove_file(f.path("table.csv")).unwrap();
    assert!(run(f.args(&["--template", "anji", "--year", "2024"])).is_err());

    let f = Files::new("");
    let err = run(f.args(&["--template", "nowhere", "--year", "2024"])).unwrap_err();
    assert!(format!("{err:#}").contains("unknown template"), "{err:#}");
    write(&f.path("rules.json"), "{\"programme_name\": 1}");
    let rules_path = f.path("rules.json").display().to_string();
    assert!(run(f.args(&["--rules", &rules_path])).is_err());
    // Overrides are checked like the rules form: a cap below the minimum is refused.
    let err = run(f.args(&[
        "--template",
        "anji",
        "--year",
        "2024",
        "--per-stay-cap",
        "100",
    ]))
    .unwrap_err();
    assert!(format!("{err:#}").contains("低于最低补助"), "{err:#}");
}

#[test]
fn the_command_line_wants_one_source_of_rules() {
    let base = ["subsidy", "--table", "t", "--input", "i", "--output", "o"];
    let parse = |extra: &[&str]| {
        let argv: Vec<&str> = base.iter().chain(extra).copied().collect();
        Cli::try_parse_from(argv).map(|_| ())
    };
    assert!(parse(&[]).is_err());
    assert!(parse(&["--template", "anji"]).is_err());
    assert!(parse(&["--template", "anji", "--year", "2024", "--rules", "r.json"]).is_err());
    assert!(parse(&["--template", "anji", "--year", "99999"]).is_err());
    assert!(parse(&["--template", "anji", "--year", "2024"]).is_ok());
    assert!(parse(&["--rules", "r.json", "--per-stay-cap", "1,0,0"]).is_err());
    assert!(parse(&["--rules", "r.json", "--per-stay-cap", "10,000.50"]).is_ok());
}
