//! Roster import jobs: their progress and outcome, kept in the database so that the progress page
//! works from any server process and survives a restart.
//!
//! A job holds a lease while its `updated_at` is recent: the process running it writes progress
//! (or a bare heartbeat) every few seconds. Statements that write a job's progress or outcome take
//! `lease_from` (now minus the lease) and change nothing once the lease has lapsed, so a job that
//! has once been seen as interrupted never comes back to life: not renewed, not finished.

use crate::{Conn, Result, Scope};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub user_id: i64,
    pub region_code: String,
    pub filename: String,
    pub status: String,
    pub total_rows: i64,
    pub processed_rows: i64,
    pub added_members: i64,
    pub unchanged_rows: i64,
    pub errors_json: String,
    pub error_total: i64,
    pub errors_omitted_json: String,
    pub message: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    /// What the running job is doing (`waiting`, `reading`, `checking`, `writing`, `recording`).
    pub phase: String,
    pub phase_done: i64,
    pub phase_total: i64,
    /// The last progress or heartbeat written by the process running the job (or its outcome).
    pub updated_at: String,
}

pub async fn create(
    conn: &mut Conn,
    user_id: i64,
    region_code: &str,
    filename: &str,
    now: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO import_jobs (user_id, region_code, filename, status, created_at, updated_at) \
         VALUES ($1, $2, $3, 'queued', $4, $4) RETURNING id",
    )
    .bind(user_id)
    .bind(region_code)
    .bind(filename)
    .bind(now)
    .fetch_one(conn)
    .await?)
}

/// How a job ended. Written once: a successful import writes it in the transaction that writes
/// its data (so the two cannot disagree, whatever happens to the process), a refused or failed
/// one in a single statement afterwards.
pub struct Outcome<'a> {
    pub status: &'a str,
    pub total_rows: i64,
    pub added_members: i64,
    pub unchanged_rows: i64,
    /// The listed errors (bounded by the caller).
    pub errors_json: &'a str,
    /// All errors found, listed or not.
    pub error_total: i64,
    /// Per kind, how many errors the list leaves out.
    pub errors_omitted_json: &'a str,
    pub message: &'a str,
}

/// Records the end of a job that has not ended yet and still holds its lease (`updated_at` not
/// before `lease_from`); returns false (and changes nothing) when the job already has an outcome
/// or its lease has lapsed, so a late failure report cannot overwrite a committed success and a
/// job shown as interrupted cannot turn out to have written its data after all.
pub async fn finish(
    conn: &mut Conn,
    id: i64,
    o: &Outcome<'_>,
    now: &str,
    lease_from: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE import_jobs SET status = $2, total_rows = $3, processed_rows = $3, added_members = $4, \
         unchanged_rows = $5, errors_json = $6, error_total = $7, errors_omitted_json = $8, message = $9, \
         finished_at = $10, updated_at = $10 WHERE id = $1 AND finished_at IS NULL AND updated_at >= $11",
    )
    .bind(id)
    .bind(o.status)
    .bind(o.total_rows)
    .bind(o.added_members)
    .bind(o.unchanged_rows)
    .bind(o.errors_json)
    .bind(o.error_total)
    .bind(o.errors_omitted_json)
    .bind(o.message)
    .bind(now)
    .bind(lease_from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<Job>> {
    let row = sqlx::query(
        "SELECT id, user_id, region_code, filename, status, total_rows, processed_rows, added_members, \
           unchanged_rows, errors_json, error_total, errors_omitted_json, message, created_at, finished_at, \
           phase, phase_done, phase_total, updated_at \
         FROM import_jobs WHERE id = $1 AND region_code LIKE $2",
    )
    .bind(id)
    .bind(scope.like())
    .fetch_optional(conn)
    .await?;
    match row {
        None => Ok(None),
        Some(r) => Ok(Some(Job {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            region_code: r.try_get("region_code")?,
            filename: r.try_get("filename")?,
            status: r.try_get("status")?,
            total_rows: r.try_get("total_rows")?,
            processed_rows: r.try_get("processed_rows")?,
            added_members: r.try_get("added_members")?,
            unchanged_rows: r.try_get("unchanged_rows")?,
            errors_json: r.try_get("errors_json")?,
            error_total: r.try_get("error_total")?,
            errors_omitted_json: r.try_get("errors_omitted_json")?,
            message: r.try_get("message")?,
            created_at: r.try_get("created_at")?,
            finished_at: r.try_get("finished_at")?,
            phase: r.try_get("phase")?,
            phase_done: r.try_get("phase_done")?,
            phase_total: r.try_get("phase_total")?,
            updated_at: r.try_get("updated_at")?,
        })),
    }
}

/// Writes a running job's progress and renews its lease; returns false (and changes nothing)
/// when the job has an outcome or its lease has lapsed: the job is over for good.
pub async fn progress(
    conn: &mut Conn,
    id: i64,
    phase: &str,
    done: i64,
    total: i64,
    now: &str,
    lease_from: &str,
) -> Result<bool> {
    let renewed = sqlx::query(
        "UPDATE import_jobs SET phase = $2, phase_done = $3, phase_total = $4, updated_at = $5 \
         WHERE id = $1 AND finished_at IS NULL AND updated_at >= $6",
    )
    .bind(id)
    .bind(phase)
    .bind(done)
    .bind(total)
    .bind(now)
    .bind(lease_from)
    .execute(conn)
    .await?;
    Ok(renewed.rows_affected() == 1)
}

/// The message of a job whose process stopped before it ended.
pub const INTERRUPTED: &str = "导入已中断（处理该导入的服务已停止），未写入任何数据，请重新导入";

/// Jobs left running by a process that stopped: no outcome, and no progress since `lease_from`.
/// A job's data and its "done" are committed together, so a job that is not done wrote nothing;
/// say so instead of showing it as running forever. Jobs whose lease still holds belong to a live
/// process (possibly another server on the same database) and are left alone.
pub async fn fail_interrupted(conn: &mut Conn, now: &str, lease_from: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE import_jobs SET status = 'failed', message = $3, finished_at = $1, updated_at = $1 \
         WHERE finished_at IS NULL AND updated_at < $2",
    )
    .bind(now)
    .bind(lease_from)
    .bind(INTERRUPTED)
    .execute(conn)
    .await?
    .rows_affected())
}
