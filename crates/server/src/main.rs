//! `shouwang`: one binary for the web app and the command-line jobs.

mod config;

use anyhow::Context;
use clap::{Parser, Subcommand};
use config::Settings;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "shouwang",
    version,
    about = "守望 — 乡村医疗互助平台 / rural medical mutual-aid platform"
)]
struct Cli {
    /// Configuration file (TOML). Flags and SHOUWANG_* environment variables override it.
    #[arg(long, global = true, env = "SHOUWANG_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct DbArgs {
    /// sqlite://PATH (default: sqlite://shouwang-data/shouwang.db) or postgres://…
    #[arg(long, env = "SHOUWANG_DATABASE_URL")]
    pub database_url: Option<String>,
    /// File holding the personal-data key (base64, 64 bytes). Default for SQLite: beside the
    /// database, created on first run. Required for PostgreSQL unless SHOUWANG_MASTER_KEY is set.
    #[arg(long, env = "SHOUWANG_KEY_FILE")]
    pub key_file: Option<PathBuf>,
}

/// Jobs on the platform's database: they need the async runtime and the configuration.
#[derive(Subcommand)]
enum DbCommand {
    /// Serve the web app.
    Serve {
        #[command(flatten)]
        db: DbArgs,
        /// Address to listen on.
        #[arg(long, env = "SHOUWANG_BIND")]
        bind: Option<SocketAddr>,
        /// Load the demo county into an empty database and print the demo logins.
        #[arg(long)]
        demo: bool,
        /// Number of demo residents.
        #[arg(long, default_value_t = 10_000)]
        demo_members: usize,
        /// Number of demo claims (in every state, filed through the real intake).
        #[arg(long, default_value_t = 200)]
        demo_claims: usize,
        /// Mark cookies Secure (set when served over HTTPS).
        #[arg(long, env = "SHOUWANG_SECURE_COOKIES")]
        secure_cookies: bool,
    },
    /// Import a roster .xlsx (same checks as the web page; nothing is written if any row is bad).
    ImportRoster {
        #[command(flatten)]
        db: DbArgs,
        /// The .xlsx file.
        file: PathBuf,
    },
    /// Create a staff account.
    CreateUser {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        username: String,
        #[arg(long)]
        display_name: String,
        /// system_admin, county_admin, town_admin, village_clerk, coder, reviewer, auditor
        #[arg(long)]
        role: String,
        /// Region code (6, 9 or 12 digits); omit only for system_admin.
        #[arg(long)]
        region: Option<String>,
        /// Read from SHOUWANG_NEW_PASSWORD so it never appears in the process list.
        #[arg(long, env = "SHOUWANG_NEW_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// The fund ledgers: `verify` proves every pool's hash chain intact or names the first
    /// broken posting (exit status 1).
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// The per-village enrolment and roster figures kept beside the base tables.
    Figures {
        #[command(subcommand)]
        command: FiguresCommand,
    },
}

#[derive(Subcommand)]
enum FiguresCommand {
    /// Compare the kept figures with a fresh count of the base tables (exit 1 on a difference).
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
    /// Recount them from the base tables (after a restore or rows written around the app).
    Rebuild {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute every posting's hash and check chain order, entry balance and chain heads.
    Verify {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum Command {
    #[command(flatten)]
    Db(DbCommand),
    /// DRG grouping: `group`, `explain`, `search`, `build-pack`.
    Drg {
        #[command(subcommand)]
        command: drg_cli::DrgCommand,
    },
    /// Write a synthetic programme (households, members, stays) as CSV.
    Simulate(actuarial_cli::SimulateArgs),
    /// One-click scheme design: the DRG subsidy table from the money and the members.
    Design(actuarial_cli::DesignArgs),
    /// Back-test the design on simulated programme years.
    Backtest(actuarial_cli::BacktestArgs),
    /// Mid-year re-forecast of the year-end payout, with a risk warning (风险预警).
    Reforecast(actuarial_cli::ReforecastArgs),
    /// Decide the subsidy of every stay of a CSV file under a year's rules and published table.
    Subsidy(claims_cli::SubsidyArgs),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Batch jobs are synchronous and use rayon; only the server and database jobs need tokio.
    match cli.command {
        Command::Drg { command } => drg_cli::run(command),
        Command::Simulate(args) => actuarial_cli::run_simulate(args),
        Command::Design(args) => actuarial_cli::run_design(args),
        Command::Backtest(args) => actuarial_cli::run_backtest(args),
        Command::Reforecast(args) => actuarial_cli::run_reforecast(args),
        Command::Subsidy(args) => claims_cli::run(args).map(drop),
        Command::Db(command) => {
            tokio::runtime::Runtime::new()?.block_on(run_async(cli.config, command))
        }
    }
}

async fn run_async(config: Option<PathBuf>, command: DbCommand) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHOUWANG_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let file = Settings::from_file(config.as_deref())?;
    match command {
        DbCommand::Serve {
            db,
            bind,
            demo,
            demo_members,
            demo_claims,
            secure_cookies,
        } => {
            let app = file.open_app(&db).await?;
            let documents = file.serve_documents(&db, app.keys.documents_key())?;
            let app = app.with_documents(documents);
            if demo {
                match app.load_demo(demo_members, 7).await? {
                    Some(logins) => {
                        println!("已载入演示数据 / demo county loaded. 演示账号 (password: {}):", app::demo::DEMO_PASSWORD);
                        for l in logins {
                            println!("  {:<9} {:<6} 区域 {}", l.username, l.role.label_zh(), l.region);
                        }
                    }
                    None => println!("数据库已有数据，未重复载入演示数据 / database not empty: demo not loaded again"),
                }
                app.load_demo_years().await?;
                let claims = app.load_demo_claims(demo_claims).await?;
                if claims > 0 {
                    println!("已载入演示补助申请 {claims} 件 / demo claims loaded");
                }
                let per_town = demo_claims / app::demo::TOWNS.len();
                let batches = app
                    .load_demo_payout(per_town.clamp(10, 60), per_town * 3 / 2)
                    .await?;
                if batches > 0 {
                    println!("已载入演示发放批次 {batches} 个 / demo payout batches loaded");
                }
            }
            // Imports left by a process that stopped; those of live servers sharing the database
            // hold their lease and are left alone.
            app.end_interrupted_imports().await?;
            let housekeeper = app.clone();
            tokio::spawn(async move {
                let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
                loop {
                    every.tick().await;
                    if let Err(e) = housekeeper.housekeeping().await {
                        tracing::warn!("housekeeping failed: {e}");
                    }
                    if let Err(e) = housekeeper.end_interrupted_imports().await {
                        tracing::warn!("ending interrupted imports failed: {e}");
                    }
                    // The funds' re-forecasts and 风险预警 (older than an hour; every server may
                    // run this, the warning's SMS goes out once per crossing).
                    if let Err(e) = housekeeper.refresh_forecasts().await {
                        tracing::warn!("re-forecasting the funds failed: {e}");
                    }
                }
            });
            // SMS: every server runs a sender on the shared outbox (claims are leased per
            // message, so several servers never send one twice).
            let sms_provider = file.sms.provider()?;
            tokio::spawn(app::sms::run_sender(app.clone(), sms_provider, async {
                let _ = tokio::signal::ctrl_c().await;
            }));
            let bind = bind
                .or(file.bind)
                .unwrap_or_else(|| "127.0.0.1:8080".parse().expect("valid"));
            let state = web::AppState {
                app,
                secure_cookies: secure_cookies || file.secure_cookies.unwrap_or(false),
            };
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            println!(
                "守望已启动 / listening on http://{}",
                listener.local_addr()?
            );
            axum::serve(
                listener,
                web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await?;
        }
        DbCommand::ImportRoster { db, file: path } => {
            let app = file.open_app(&db).await?;
            let bytes =
                std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
            let actor = app::Actor::system();
            let writer = actor.roster_writer().expect("the system may write");
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            let report = |p: app::import::Progress| {
                eprint!("\r{} {}/{}      ", p.phase.label_zh(), p.done, p.total);
            };
            let outcome = app
                .import_roster(&writer, &actor, &name, bytes, &report)
                .await?;
            eprintln!();
            if outcome.errors.is_empty() {
                println!(
                    "导入完成：共{}行，新增{}户{}人，已登记未变{}行",
                    outcome.total_rows,
                    outcome.added_households,
                    outcome.added_members,
                    outcome.unchanged_rows
                );
            } else {
                for e in &outcome.errors {
                    println!("第{}行 {}：{}", e.row, e.column, e.message);
                }
                // The list is bounded (the first errors of each column); the total is not.
                let total = outcome.error_total.max(outcome.errors.len());
                if total > outcome.errors.len() {
                    println!("另有{}处错误未列出", total - outcome.errors.len());
                }
                anyhow::bail!("文件有{total}处错误，未导入任何数据");
            }
        }
        DbCommand::CreateUser {
            db,
            username,
            display_name,
            role,
            region,
            password,
        } => {
            let app = file.open_app(&db).await?;
            let role = domain::Role::from_code(&role).context("unknown role")?;
            let region = region.map(|r| domain::RegionCode::parse(&r)).transpose()?;
            app.create_user(&username, &display_name, &password, role, region.as_ref())
                .await?;
            println!("created {username}");
        }
        DbCommand::Ledger {
            command: LedgerCommand::Verify { db },
        } => {
            let app = file.open_app(&db).await?;
            let results = app.verify_ledgers().await?;
            let mut broken = 0;
            for r in &results {
                match r {
                    Ok(v) => println!(
                        "OK     pool {}: {} postings in {} entries, chain head {}",
                        v.pool_code, v.postings, v.entries, v.head
                    ),
                    Err(b) => {
                        broken += 1;
                        println!("BROKEN {b}");
                    }
                }
            }
            if results.is_empty() {
                println!("no ledger postings yet");
            }
            if broken > 0 {
                eprintln!("账目校验失败：{broken} 个基金的账链被改动 / ledger verification failed");
                std::process::exit(1);
            }
        }
        DbCommand::Figures {
            command: FiguresCommand::Verify { db },
        } => {
            let app = file.open_app(&db).await?;
            let differences = app.verify_village_figures().await?;
            for d in &differences {
                println!("DIFFERS {d}");
            }
            if !differences.is_empty() {
                eprintln!(
                    "统计数与明细不符：{} 处，请运行 shouwang figures rebuild / figures differ",
                    differences.len()
                );
                std::process::exit(1);
            }
            println!("OK     per-village figures equal a fresh count of the base tables");
        }
        DbCommand::Figures {
            command: FiguresCommand::Rebuild { db },
        } => {
            let app = file.open_app(&db).await?;
            app.rebuild_village_figures().await?;
            println!("per-village figures recounted from the base tables");
        }
    }
    Ok(())
}
