//! Roster import jobs: their progress and outcome, kept in the database so that the progress page
//! works from any server process and survives a restart.

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
}

pub async fn create(
    conn: &mut Conn,
    user_id: i64,
    region_code: &str,
    filename: &str,
    now: &str,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO import_jobs (user_id, region_code, filename, status, created_at) VALUES ($1, $2, $3, 'queued', $4) RETURNING id",
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

/// Records the end of a job that has not ended yet; returns false (and changes nothing) when
/// the job already has an outcome, so a late failure report cannot overwrite a committed
/// success.
pub async fn finish(conn: &mut Conn, id: i64, o: &Outcome<'_>, now: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE import_jobs SET status = $2, total_rows = $3, processed_rows = $3, added_members = $4, \
         unchanged_rows = $5, errors_json = $6, error_total = $7, errors_omitted_json = $8, message = $9, \
         finished_at = $10 WHERE id = $1 AND finished_at IS NULL",
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
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn get(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<Job>> {
    let row = sqlx::query(
        "SELECT id, user_id, region_code, filename, status, total_rows, processed_rows, added_members, \
           unchanged_rows, errors_json, error_total, errors_omitted_json, message, created_at, finished_at \
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
        })),
    }
}

/// Jobs left running by a process that stopped. A job's data and its "done" are committed
/// together, so a job that is not done wrote nothing; say so instead of showing it as running
/// forever.
pub async fn fail_interrupted(conn: &mut Conn, now: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE import_jobs SET status = 'failed', message = '服务重启，导入已中断，未写入任何数据，请重新导入', \
         finished_at = $1 WHERE finished_at IS NULL",
    )
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected())
}
