//! The `shouwang simulate`, `design` and `backtest` commands: argument parsing and files. The
//! computations live in the pure crates `sim` and `actuarial`.

mod io;

use std::path::PathBuf;

use actuarial::backtest::{self, BacktestConfig};
use actuarial::bridge::{experience_of, population_of};
use actuarial::design::{design, Design, DesignTargets, Population, SchemeRules, Weighting};
use actuarial::risk::{class_count, class_index, CredibilityParams, RiskModel, Thresholds};
use anyhow::{bail, Context, Result};
use chrono::Datelike;
use sim::{drg_catalogue, simulate_programme, DrgVersion, ProgrammeSpec, StayModel};

/// `shouwang simulate`: a synthetic programme as CSV files.
#[derive(Debug, Clone, clap::Args)]
pub struct SimulateArgs {
    /// Members per scheme year (whole households, so approximately).
    #[arg(long, default_value_t = 20_000)]
    pub members: usize,
    /// Number of consecutive scheme years.
    #[arg(long, default_value_t = 1)]
    pub years: u32,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First scheme year.
    #[arg(long, default_value_t = 2026)]
    pub first_year: i32,
    /// Coefficient of variation of the town-wide frequency shock per year.
    #[arg(long, default_value_t = 0.075)]
    pub shock_cv: f64,
    /// Output folder (created): households.csv, members.csv, stays.csv, summary.json.
    #[arg(long)]
    pub out: PathBuf,
}

/// Rules and targets shared by `design` and `backtest`.
#[derive(Debug, Clone, clap::Args)]
pub struct SchemeArgs {
    /// OOP threshold for residents' insurance (yuan).
    #[arg(long, default_value_t = 2500)]
    pub threshold_resident: i64,
    /// OOP threshold for employees' insurance (yuan).
    #[arg(long, default_value_t = 2500)]
    pub threshold_employee: i64,
    /// OOP (= total cost) threshold for the uninsured (yuan).
    #[arg(long, default_value_t = 7000)]
    pub threshold_uninsured: i64,
    /// Minimum subsidy per stay (yuan).
    #[arg(long, default_value_t = 300)]
    pub min_subsidy: i64,
    /// Maximum subsidy per stay (yuan).
    #[arg(long, default_value_t = 10_000)]
    pub per_stay_cap: i64,
    /// Maximum per member and year (yuan); 0 for none.
    #[arg(long, default_value_t = 20_000)]
    pub yearly_cap: i64,
    /// Extra for consecutive members (per cent).
    #[arg(long, default_value_t = 10)]
    pub loyalty_bonus: i64,
    /// Excluded DRGs or prefixes, comma-separated (e.g. `OB,OZ`).
    #[arg(long, value_delimiter = ',')]
    pub exclude: Vec<String>,
    /// Rounding unit of amounts (yuan): 10 or 50.
    #[arg(long, default_value_t = 10)]
    pub rounding: i64,
    /// need | weight | ladder
    #[arg(long, default_value = "need")]
    pub weighting: String,
    /// Steps of the ladder weighting.
    #[arg(long, default_value_t = 5)]
    pub ladder_steps: usize,
    /// Target expected surplus as a share of the money available.
    #[arg(long, default_value_t = 0.05)]
    pub target_surplus: f64,
    /// Accepted probability of a shortfall.
    #[arg(long, default_value_t = 0.025)]
    pub shortfall_prob: f64,
}

impl SchemeArgs {
    pub fn rules(&self) -> Result<SchemeRules> {
        if self.rounding <= 0 || self.min_subsidy <= 0 || self.per_stay_cap < self.min_subsidy {
            bail!(
                "rounding and minimum must be positive and the per-stay cap at least the minimum"
            );
        }
        Ok(SchemeRules {
            thresholds: Thresholds {
                resident_fen: self.threshold_resident * 100,
                employee_fen: self.threshold_employee * 100,
                uninsured_fen: self.threshold_uninsured * 100,
            },
            min_subsidy_fen: self.min_subsidy * 100,
            per_stay_cap_fen: self.per_stay_cap * 100,
            yearly_cap_fen: (self.yearly_cap > 0).then_some(self.yearly_cap * 100),
            loyalty_bonus_pct: self.loyalty_bonus,
            excluded: self
                .exclude
                .iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect(),
            rounding_unit_fen: self.rounding * 100,
        })
    }
    pub fn weighting(&self) -> Result<Weighting> {
        Ok(match self.weighting.as_str() {
            "need" => Weighting::Need,
            "weight" | "drg-weight" => Weighting::DrgWeight,
            "ladder" => Weighting::Ladder {
                steps: self.ladder_steps,
            },
            other => bail!("unknown weighting {other:?}: need | weight | ladder"),
        })
    }
}

/// `shouwang design`: the subsidy table for the money raised.
#[derive(Debug, Clone, clap::Args)]
pub struct DesignArgs {
    /// Folder written by `simulate` (members.csv, stays.csv): the roster of `--year` and the
    /// claims of the years before it as history. Without it, `--members` people of the
    /// calibration population and no history.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Scheme year to design (with `--from`; default: the last year in the files).
    #[arg(long)]
    pub year: Option<i32>,
    /// Members when no roster is given.
    #[arg(long, default_value_t = 20_000)]
    pub members: u64,
    /// Share of consecutive members when no roster is given.
    #[arg(long, default_value_t = 0.6)]
    pub loyal_share: f64,
    /// Money available (yuan). Default: members × fee + reserve − service fee.
    #[arg(long)]
    pub money: Option<i64>,
    /// Fee per member (yuan).
    #[arg(long, default_value_t = 100)]
    pub fee: i64,
    /// Reserve carried over (yuan).
    #[arg(long, default_value_t = 0)]
    pub reserve: i64,
    /// Service fee (yuan).
    #[arg(long, default_value_t = 0)]
    pub service_fee: i64,
    /// CHS-DRG version of the table: 2.0 or 1.1.
    #[arg(long, default_value = "2.0")]
    pub drg_version: String,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// Output folder (created): table.csv, summary.json, report.txt.
    #[arg(long)]
    pub out: PathBuf,
}

/// `shouwang reforecast`: mid-year forecast of the year-end payout and the risk warning.
#[derive(Debug, Clone, clap::Args)]
pub struct ReforecastArgs {
    #[command(flatten)]
    pub design: DesignArgs,
    /// The table in force (`table.csv` written by `design`).
    #[arg(long)]
    pub table: PathBuf,
    /// Date of the re-forecast (YYYY-MM-DD); claims filed by then count as decided.
    #[arg(long)]
    pub as_of: chrono::NaiveDate,
}

/// `shouwang backtest`: stated vs realised shortfall over simulated programme-years.
#[derive(Debug, Clone, clap::Args)]
pub struct BacktestArgs {
    #[arg(long, default_value_t = 200)]
    pub years: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Members per simulated town.
    #[arg(long, default_value_t = 20_000)]
    pub members: usize,
    /// Years of history before each designed year.
    #[arg(long, default_value_t = 3)]
    pub history: u32,
    /// Fee per member (yuan).
    #[arg(long, default_value_t = 100)]
    pub fee: i64,
    /// Service fee as a share of income.
    #[arg(long, default_value_t = 0.05)]
    pub service_fee_share: f64,
    /// Spread of true town frequency levels in the simulation.
    #[arg(long, default_value_t = 0.15)]
    pub town_sd: f64,
    /// CV of the yearly town-wide shock in the simulation.
    #[arg(long, default_value_t = 0.075)]
    pub year_cv: f64,
    #[command(flatten)]
    pub scheme: SchemeArgs,
    /// File to write the Markdown report to (standard output when not given).
    #[arg(long, alias = "out")]
    pub output: Option<PathBuf>,
}

pub fn run_simulate(args: SimulateArgs) -> Result<()> {
    let mut spec = ProgrammeSpec::new(args.seed, args.members, args.years);
    spec.first_year = args.first_year;
    spec.frequency_shock_cv = args.shock_cv;
    let model = StayModel::new();
    let p = simulate_programme(&spec, &model);
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    io::write_programme(&args.out, &p, &model)?;
    let s = p.stay_stats();
    let summary = io::stats_json(&s, &p);
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    println!(
        "{} households, {} members, {} stays over {} year(s) in {}",
        p.households.len(),
        p.members.len(),
        p.stays.len(),
        args.years,
        args.out.display()
    );
    println!(
        "stays/member-year {:.4}; cost mean {:.0} median {:.0}; OOP mean {:.0} median {:.0}; OOP ≥ 2500/3500/5000/7000/10000: {}",
        s.stays_per_member_year,
        s.cost_mean_yuan,
        s.cost_median_yuan,
        s.oop_mean_yuan,
        s.oop_median_yuan,
        s.oop_share_at_least.iter().map(|x| format!("{:.1}%", x * 100.0)).collect::<Vec<_>>().join(" / ")
    );
    Ok(())
}

/// Builds the design inputs from the arguments: (risk model, population, money available).
pub fn design_inputs(
    args: &DesignArgs,
    rules: &SchemeRules,
) -> Result<(RiskModel, Population, i64, String)> {
    let model = StayModel::new();
    let version = DrgVersion::parse(&args.drg_version)
        .with_context(|| format!("unknown DRG version {:?}", args.drg_version))?;
    let catalogue = drg_catalogue(version);
    let prior = RiskModel::prior(&model, catalogue.clone(), rules.thresholds);
    let (risk, pop, source) = match &args.from {
        Some(dir) => {
            let p = io::read_programme(dir)?;
            let last = p
                .members
                .iter()
                .map(|m| m.last_year)
                .max()
                .context("no members in the roster")?;
            let year = args.year.unwrap_or(last);
            let first = p.members.iter().map(|m| m.first_year).min().unwrap_or(year);
            let history: Vec<_> = (first..year)
                .map(|y| experience_of(&model, &p, y, rules.thresholds, rules))
                .collect();
            let prior_for = |t| RiskModel::prior(&model, catalogue.clone(), t);
            let risk = prior.with_experience(&history, CredibilityParams::default(), &prior_for);
            let pop = population_of(&model, &p, year);
            if pop.total() == 0 {
                bail!("no members in scheme year {year}");
            }
            (
                risk,
                pop,
                format!(
                    "roster of {year} from {} with {} year(s) of history",
                    dir.display(),
                    history.len()
                ),
            )
        }
        None => {
            let pop = calibration_population(&model, args.members, args.loyal_share);
            (
                prior,
                pop,
                format!(
                    "{} members of the calibration population, no history",
                    args.members
                ),
            )
        }
    };
    let income = pop.total() as i64 * args.fee * 100;
    let money = match args.money {
        Some(m) => m * 100,
        None => income + args.reserve * 100 - args.service_fee * 100,
    };
    if money <= 0 {
        bail!("no money available");
    }
    Ok((risk, pop, money, source))
}

/// Members spread over the classes as in the calibration tables (95/2/3% by insurance).
pub fn calibration_population(model: &StayModel, n: u64, loyal_share: f64) -> Population {
    let ages = sim::calibration::age_structure();
    let mut members = vec![(0, 0); class_count(model)];
    let ins = [
        (domain::InsuranceType::Resident, 0.95),
        (domain::InsuranceType::Employee, 0.02),
        (domain::InsuranceType::Uninsured, 0.03),
    ];
    for c in &model.classes {
        let share: f64 = ages
            .iter()
            .filter(|a| a.from >= c.band.from && a.to <= c.band.to)
            .map(|a| a.male)
            .sum::<f64>()
            * 0.5;
        for (t, s) in ins {
            let sex = if c.male {
                domain::Sex::Male
            } else {
                domain::Sex::Female
            };
            let k = (n as f64 * share * s).round();
            let loyal = (k * loyal_share.clamp(0.0, 1.0)).round();
            members[class_index(model, c.band.from, sex, t)] = ((k - loyal) as u64, loyal as u64);
        }
    }
    Population { members }
}

pub fn run_design(args: DesignArgs) -> Result<()> {
    let rules = args.scheme.rules()?;
    let weighting = args.scheme.weighting()?;
    let (risk, pop, money, source) = design_inputs(&args, &rules)?;
    let targets = DesignTargets {
        money_available_fen: money,
        target_surplus: args.scheme.target_surplus,
        shortfall_probability: args.scheme.shortfall_prob,
        weighting,
    };
    let d = design(&risk, &rules, &pop, &targets)?;
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    io::write_table(&args.out.join("table.csv"), &risk, &d)?;
    let summary = io::design_json(&d, &rules, &targets, &source, &args.drg_version);
    std::fs::write(
        args.out.join("summary.json"),
        serde_json::to_string_pretty(&summary)?,
    )?;
    let report = design_report(&d, &rules, &targets, &source);
    std::fs::write(args.out.join("report.txt"), &report)?;
    print!("{report}");
    Ok(())
}

pub fn run_reforecast(args: ReforecastArgs) -> Result<()> {
    use actuarial::reforecast::{reforecast, DelayModel, ReforecastInput};
    let rules = args.design.scheme.rules()?;
    let (risk, pop, money, source) = design_inputs(&args.design, &rules)?;
    let amounts = io::read_table(&args.table, &risk)?;
    let dir = args
        .design
        .from
        .as_ref()
        .context("--from is needed: the claims so far come from its stays.csv")?;
    let p = io::read_programme(dir)?;
    let year = args.design.year.unwrap_or(args.as_of.year_ce().1 as i32);
    let jan1 = chrono::NaiveDate::from_ymd_opt(year, 1, 1).context("bad year")?;
    let elapsed = ((args.as_of - jan1).num_days() as f64 / 365.0).clamp(0.0, 1.0);
    let (claims, paid) = io::decided_claims(&p, year, args.as_of, &rules, &risk, &amounts);
    let r = reforecast(&ReforecastInput {
        risk: &risk,
        rules: &rules,
        population: &pop,
        amounts_fen: &amounts,
        budget_fen: money,
        accepted_shortfall: args.design.scheme.shortfall_prob,
        elapsed,
        claims_decided: claims,
        paid_fen: paid,
        delay: DelayModel::default(),
    })?;
    std::fs::create_dir_all(&args.design.out)?;
    std::fs::write(
        args.design.out.join("reforecast.json"),
        serde_json::to_string_pretty(&r)?,
    )?;
    println!(
        "Re-forecast of {year} as of {} ({source}); {:.0}% of the year elapsed",
        args.as_of,
        elapsed * 100.0
    );
    println!("Decided so far: {claims} claims, {} yuan; expected filed by now {:.0}, not yet filed {:.0}", yuan(paid as f64), r.expected_claims_by_now, r.expected_unfiled_claims);
    println!("Frequency vs design: {:.3}; year-end payout expected {} yuan; 50/90/95/99%: {} / {} / {} / {} yuan",
        r.level_update, yuan(r.expected_year_end_fen), yuan(r.quantiles_fen[0] as f64), yuan(r.quantiles_fen[1] as f64), yuan(r.quantiles_fen[2] as f64), yuan(r.quantiles_fen[3] as f64));
    println!(
        "Money available {} yuan; P(shortfall) {:.2}%{}",
        yuan(money as f64),
        r.p_shortfall * 100.0,
        if r.warning {
            " — 风险预警: above the accepted level"
        } else {
            ""
        }
    );
    Ok(())
}

fn yuan(fen: f64) -> String {
    format!("{:.0}", fen / 100.0)
}

/// The readable report of a design.
pub fn design_report(d: &Design, rules: &SchemeRules, t: &DesignTargets, source: &str) -> String {
    let e = &d.evaluation;
    let mut s = String::new();
    s.push_str("一键设计 / one-click design\n");
    s.push_str(&format!("Population: {source}; {} members\n", e.members));
    s.push_str(&format!(
        "Money available: {} yuan; target surplus {:.1}%; accepted P(shortfall) {:.1}%\n",
        yuan(d.budget_fen as f64),
        t.target_surplus * 100.0,
        t.shortfall_probability * 100.0
    ));
    s.push_str(&format!(
        "Rules: thresholds {}/{}/{} yuan (residents/employees/uninsured), minimum {} yuan, per-stay cap {} yuan, yearly cap {}, loyalty +{}%, rounding {} yuan, weighting {:?}\n",
        rules.thresholds.resident_fen / 100,
        rules.thresholds.employee_fen / 100,
        rules.thresholds.uninsured_fen / 100,
        rules.min_subsidy_fen / 100,
        rules.per_stay_cap_fen / 100,
        rules.yearly_cap_fen.map_or("none".into(), |c| format!("{} yuan", c / 100)),
        rules.loyalty_bonus_pct,
        rules.rounding_unit_fen / 100,
        t.weighting
    ));
    if !d.feasible {
        s.push_str("WARNING: even the minimum subsidy everywhere does not meet the targets; the table below is the minimum table.\n");
    }
    s.push_str(&format!(
        "Credibility of own history: {:.2}; frequency level vs prior: {:.3}; parameter-risk CV: {:.3}\n\n",
        d.credibility, d.level, d.parameter_cv
    ));
    s.push_str(&format!(
        "Expected payout: {} yuan ({:.1}% of the money)\n",
        yuan(e.expected_payout_fen),
        100.0 * e.expected_payout_fen / d.budget_fen as f64
    ));
    s.push_str(&format!(
        "Quantiles 50/90/95/99%: {} / {} / {} / {} yuan\n",
        yuan(e.quantiles_fen[0] as f64),
        yuan(e.quantiles_fen[1] as f64),
        yuan(e.quantiles_fen[2] as f64),
        yuan(e.quantiles_fen[3] as f64)
    ));
    s.push_str(&format!(
        "Normal-Power approximation: {} / {} / {} / {} yuan (largest gap {} yuan); NP P(shortfall) {:.2}%\n",
        yuan(e.np_quantiles_fen[0] as f64),
        yuan(e.np_quantiles_fen[1] as f64),
        yuan(e.np_quantiles_fen[2] as f64),
        yuan(e.np_quantiles_fen[3] as f64),
        yuan(e.np_max_gap_fen as f64),
        e.np_p_shortfall * 100.0
    ));
    s.push_str(&format!("P(shortfall): {:.2}%\n", e.p_shortfall * 100.0));
    if e.grid_unit_fen != e.lattice_unit_fen {
        s.push_str(&format!(
            "Distribution computed on a {}-yuan lattice (exact lattice {} yuan, mean-preserving rounding): probabilities within {:.1e}\n",
            yuan(e.grid_unit_fen as f64),
            yuan(e.lattice_unit_fen as f64),
            e.probability_error
        ));
    }
    s.push_str(&format!(
        "Expected subsidies: {:.0}; people helped: {:.0} (受益率 {:.2}%)\n",
        e.expected_subsidies,
        e.expected_people_helped,
        e.benefit_rate * 100.0
    ));
    s.push_str(&format!(
        "Average subsidy: {} yuan; share of members' out-of-pocket returned: {:.1}%\n",
        yuan(e.average_subsidy_fen),
        e.burden_reduction * 100.0
    ));
    s
}

/// The back-test's configuration from the command's flags.
pub fn backtest_config(args: &BacktestArgs) -> Result<BacktestConfig> {
    let rules = args.scheme.rules()?;
    let cfg = BacktestConfig {
        years: args.years,
        seed: args.seed,
        members: args.members,
        history_years: args.history,
        fee_per_member_fen: args.fee * 100,
        service_fee_share: args.service_fee_share,
        rules,
        target_surplus: args.scheme.target_surplus,
        shortfall_probability: args.scheme.shortfall_prob,
        weighting: args.scheme.weighting()?,
        assumed: CredibilityParams::default(),
        true_town_sd: args.town_sd,
        true_year_cv: args.year_cv,
    };
    Ok(cfg)
}

/// `shouwang backtest`: the Markdown report goes to the `--output` file, or to standard output;
/// progress and the one-line summary go to standard error.
pub fn run_backtest(args: BacktestArgs) -> Result<()> {
    let cfg = backtest_config(&args)?;
    let total = args.years;
    let report = backtest::run_backtest(&cfg, &|i| {
        if i % 10 == 0 || i == total {
            eprintln!("backtest: {i}/{total}");
        }
    })?;
    let command = format!(
        "shouwang backtest --years {} --seed {} --members {}",
        args.years, args.seed, args.members
    );
    let md = report.markdown(&command);
    match &args.output {
        Some(out) => {
            if let Some(parent) = out.parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)?;
                }
            }
            std::fs::write(out, &md).with_context(|| format!("writing {}", out.display()))?;
        }
        None => {
            use std::io::Write;
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(md.as_bytes())
                .and_then(|_| stdout.flush())
                .context("writing the report to standard output")?;
        }
    }
    eprintln!(
        "stated P(shortfall) {:.2}% (mean of designs {:.2}%), realised {:.2}% over {} programme-years: {}",
        cfg.shortfall_probability * 100.0,
        report.mean_stated() * 100.0,
        report.shortfall_frequency() * 100.0,
        report.years.len(),
        if report.within_tolerance() { "within ±1.5 points" } else { "OUTSIDE ±1.5 points" }
    );
    Ok(())
}
