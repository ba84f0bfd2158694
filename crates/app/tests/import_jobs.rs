//! Import jobs and bulk enrolment against the database, on SQLite and on PostgreSQL: a job's
//! outcome commits with its data (neither can be written without the other), a refused file's
//! outcome is recorded even when the write lock is busy, and a bulk enrolment reads and checks
//! its file without holding the write lock.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::enrol::BulkOutcome;
use app::enrol_import::enrolment_xlsx;
use app::import::{JobState, COLUMNS};
use app::{Actor, App, PiiKeys};
use chrono::Datelike;
use domain::{RegionCode, ResidentIdNumber, Role};
use std::time::{Duration, Instant};
use store::{Backend, Scope};

const TOWN: &str = "370323104";
const VILLAGE: &str = "370323104203";

struct World {
    app: App,
    url: String,
    town: Actor,
    year_id: i64,
}

/// A small demo county, the town administrator signed in (with the user id a job needs), and
/// an open year for the town whose payment window is the whole period.
async fn world(backend: Backend) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    app.load_demo(600, 5).await.unwrap().unwrap();
    let mut conn = app.db.acquire().await.unwrap();
    let user = store::users::by_username(&mut conn, "town")
        .await
        .unwrap()
        .expect("the demo town administrator");
    drop(conn);
    let town = Actor {
        user_id: Some(user.id),
        username: "town".into(),
        display_name: "大张庄镇管理员".into(),
        role: Role::TownAdmin,
        region: Some(RegionCode::parse(TOWN).unwrap()),
        ip: "127.0.0.1".into(),
    };
    let today = app.today();
    let mut t = scheme::template("yiyuan-dazhangzhuang", today.year()).unwrap();
    t.rules.payment_window_start = t.rules.period_start;
    t.rules.payment_window_end = t.rules.period_end;
    let year_id = app
        .open_year(
            &town.scheme_manager().unwrap(),
            &town,
            TOWN,
            &format!("{}年度", today.year()),
            t.key,
            t.rules,
            None,
        )
        .await
        .expect("open the year");
    World {
        app,
        url,
        town,
        year_id,
    }
}

impl World {
    async fn finish(self) {
        self.app.db.close().await;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }

    async fn members(&self) -> i64 {
        let mut conn = self.app.db.acquire().await.unwrap();
        store::roster::count_members(&mut conn, &Scope::all())
            .await
            .unwrap()
    }

    async fn job(&self, id: i64) -> store::imports::Job {
        self.app.import_job(&self.town, id).await.unwrap().0
    }

    /// Waits until the job has an outcome (at most a minute).
    async fn finished(&self, id: i64) -> store::imports::Job {
        let t = Instant::now();
        loop {
            let j = self.job(id).await;
            if j.finished_at.is_some() {
                return j;
            }
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "job {id} never ended"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(store::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(store::Backend::Postgres).await
            }
        }
    )*};
}

on_both_databases!(
    import_data_and_outcome_commit_together,
    a_refused_file_is_recorded_once_the_write_lock_is_free,
    bulk_enrolment_is_read_and_checked_without_the_write_lock,
);

/// Rows of `households` new households of three, in the demo village.
fn roster_rows(households: u16) -> Vec<[String; COLUMNS.len()]> {
    let mut rows = Vec::new();
    for h in 0..households {
        for m in 0..3u16 {
            let n = h * 3 + m;
            let mut r: [String; COLUMNS.len()] = Default::default();
            r[0] = VILLAGE.into();
            r[2] = format!("J{h:04}");
            r[3] = "测试人".into();
            // (year, day, sequence) differs for every n.
            r[4] = ResidentIdNumber::from_parts(
                "370323",
                chrono::NaiveDate::from_ymd_opt(1940 + i32::from(n / 900), 1, 1).unwrap()
                    + chrono::Days::new(u64::from(n % 900 / 3)),
                n % 3 + 700,
            )
            .unwrap()
            .to_string();
            r[5] = if m == 0 { "户主" } else { "子女" }.into();
            r[7] = "城乡居民医保".into();
            rows.push(r);
        }
    }
    rows
}

fn roster(households: u16) -> Vec<u8> {
    app::import::roster_xlsx(&roster_rows(households)).unwrap()
}

/// The job's "done" is written in the data's transaction, so each needs the other: here the job
/// is ended by someone else (as a restart's reconciliation does) while the import is checking,
/// and the import's data, ready to commit, is rolled back with it. (Before, data and status were
/// separate writes: killed between them, a job read "failed, nothing written" over 99,000
/// committed members.)
async fn import_data_and_outcome_commit_together(backend: Backend) {
    let w = world(backend).await;
    let before = w.members().await;
    let job = w
        .app
        .start_import(
            w.town.roster_writer().unwrap(),
            w.town.clone(),
            "两千人.xlsx".into(),
            roster(700),
        )
        .await
        .unwrap();
    // Take the write lock (SQLite) and end the job in it (a row lock on PostgreSQL), before the
    // import has finished checking 2,100 rows: every unfinished job counts as lapsed here.
    let mut tx = w.app.db.begin_write().await.unwrap();
    let ended = store::imports::fail_interrupted(&mut tx, &w.app.now_text(), "9999")
        .await
        .unwrap();
    assert_eq!(ended, 1);
    // Hold on while the import checks its rows and comes to write (its progress cannot be
    // written meanwhile: the lock is held).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    tx.commit().await.unwrap();
    let j = w.job(job).await;
    assert_eq!(j.status, "failed");
    assert!(j.message.contains("未写入任何数据"), "{}", j.message);
    assert_eq!(
        w.members().await,
        before,
        "what the job says is what happened"
    );

    // Undisturbed, the same file is done with its counts, in one commit.
    let job = w
        .app
        .start_import(
            w.town.roster_writer().unwrap(),
            w.town.clone(),
            "两千人.xlsx".into(),
            roster(700),
        )
        .await
        .unwrap();
    let j = w.finished(job).await;
    assert_eq!(j.status, "done", "{}", j.message);
    assert_eq!((j.added_members, j.total_rows), (2100, 2100));
    assert_eq!(w.members().await, before + 2100);
    w.finish().await;
}

/// A refused file's outcome is one write after the job; when the write lock is held meanwhile
/// the job shows as running (never as "queued" forever) and is recorded once the lock is free.
async fn a_refused_file_is_recorded_once_the_write_lock_is_free(backend: Backend) {
    let w = world(backend).await;
    // Every member is a head of household: two errors per household, 800 in one column.
    let mut rows = roster_rows(400);
    for r in &mut rows {
        r[5] = "户主".into();
    }
    let job = w
        .app
        .start_import(
            w.town.roster_writer().unwrap(),
            w.town.clone(),
            "bad.xlsx".into(),
            app::import::roster_xlsx(&rows).unwrap(),
        )
        .await
        .unwrap();
    // Hold the write lock (SQLite) or the job's row (PostgreSQL) while the file is checked and
    // its refusal is to be recorded.
    let mut tx = w.app.db.begin_write().await.unwrap();
    if backend == Backend::Postgres {
        use store::sqlx_reexport as sqlx;
        sqlx::query("SELECT id FROM import_jobs WHERE id = $1 FOR UPDATE")
            .bind(job)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let j = w.job(job).await;
    assert!(
        j.finished_at.is_none(),
        "not recorded while the lock is held"
    );
    assert!(
        matches!(JobState::of(&j, w.app.now()), JobState::Running(_)),
        "and still shown as running"
    );
    tx.rollback().await.unwrap();
    let j = w.finished(job).await;
    assert_eq!(j.status, "rejected");
    assert_eq!(j.error_total, 800);
    let (_, listed, omitted) = w.app.import_job(&w.town, job).await.unwrap();
    assert_eq!(listed.len(), app::import::MAX_SHOWN_PER_KIND);
    assert_eq!(omitted.len(), 1);
    assert_eq!(omitted[0].count, 800 - app::import::MAX_SHOWN_PER_KIND);
    w.finish().await;
}

/// A bulk enrolment reads its file and checks every household on a plain connection; only the
/// write itself takes the write lock. (Before, the check ran inside the write transaction: on
/// SQLite every other write of the installation waited for a large file's check.)
async fn bulk_enrolment_is_read_and_checked_without_the_write_lock(backend: Backend) {
    let w = world(backend).await;
    let mut conn = w.app.db.acquire().await.unwrap();
    let households = store::roster::village_households(&mut conn, &Scope::all(), VILLAGE, 0, 1000)
        .await
        .unwrap();
    drop(conn);
    assert!(households.len() >= 3);
    let row = |no: &str| [VILLAGE, no, "现金", "", "", ""].map(str::to_string);
    let mut rows: Vec<[String; 6]> = households.iter().map(|h| row(&h.household_no)).collect();
    let good = enrolment_xlsx(&rows);
    rows.push(row("9999"));
    let refused = enrolment_xlsx(&rows);
    let enroller = w.town.enroller().unwrap();

    // Someone else holds the write lock the whole time: a refusal comes back anyway.
    let tx = w.app.db.begin_write().await.unwrap();
    let t = Instant::now();
    let out = w
        .app
        .enrol_from_xlsx(&enroller, &w.town, w.year_id, &refused)
        .await
        .unwrap();
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the check waited {:?} for the write lock",
        t.elapsed()
    );
    let BulkOutcome::Refused(errors) = out else {
        panic!("a household that does not exist")
    };
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].message.contains("9999"), "{errors:?}");

    // A good file is read and checked meanwhile, and written once the lock is free.
    let task = {
        let app = w.app.clone();
        let town = w.town.clone();
        let year = w.year_id;
        tokio::spawn(async move {
            app.enrol_from_xlsx(&town.enroller().unwrap(), &town, year, &good)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;
    tx.rollback().await.unwrap();
    let out = task.await.unwrap().unwrap();
    assert!(
        matches!(out, BulkOutcome::Enrolled { households: n, .. } if n == households.len()),
        "{out:?}"
    );
    w.finish().await;
}
