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

pub async fn progress(
    conn: &mut Conn,
    id: i64,
    status: &str,
    total: i64,
    processed: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE import_jobs SET status = $2, total_rows = $3, processed_rows = $4 WHERE id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(total)
    .bind(processed)
    .execute(conn)
    .await?;
    Ok(())
}

pub struct Outcome<'a> {
    pub status: &'a str,
    pub added_members: i64,
    pub unchanged_rows: i64,
    pub errors_json: &'a str,
    pub message: &'a str,
}

pub async fn finish(conn: &mut Conn, id: i64, o: &Outcome<'_>, now: &str) -> Result<()> {
    sqlx::query(
        "UPDATE import_jobs SET status = $2, added_members = $3, unchanged_rows = $4, errors_json = $5, \
         message = $6, finished_at = $7, processed_rows = total_rows WHERE id = $1",
    )
    .bind(id)
    .bind(o.status)
    .bind(o.added_members)
    .bind(o.unchanged_rows)
    .bind(o.errors_json)
    .bind(o.message)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<Job>> {
    let row = sqlx::query(
        "SELECT id, user_id, region_code, filename, status, total_rows, processed_rows, added_members, \
           unchanged_rows, errors_json, message, created_at, finished_at \
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
            message: r.try_get("message")?,
            created_at: r.try_get("created_at")?,
            finished_at: r.try_get("finished_at")?,
        })),
    }
}

/// Jobs left running by a process that stopped: their transaction was rolled back, so nothing
/// was written; say so instead of showing them as running forever.
pub async fn fail_interrupted(conn: &mut Conn, now: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE import_jobs SET status = 'failed', message = '服务重启，导入已中断，未写入任何数据，请重新导入', \
         finished_at = $1 WHERE status IN ('queued', 'validating', 'writing')",
    )
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected())
}
