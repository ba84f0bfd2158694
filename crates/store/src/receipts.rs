//! Receipts waiting for a second manager's confirmation before they are posted.

use crate::{Conn, Result};
use sqlx::Row;

pub struct NewPending<'a> {
    pub year_id: i64,
    pub kind: &'a str,
    pub payer: &'a str,
    pub donor_name: &'a str,
    pub organisation: bool,
    pub amount_fen: i64,
    pub received_on: &'a str,
    pub by: &'a str,
    pub at: &'a str,
}

#[derive(Debug, Clone)]
pub struct PendingRow {
    pub id: i64,
    pub year_id: i64,
    pub kind: String,
    pub payer: String,
    pub donor_name: String,
    pub organisation: bool,
    pub amount_fen: i64,
    pub received_on: String,
    pub recorded_by: String,
    pub recorded_at: String,
}

pub async fn insert(conn: &mut Conn, p: &NewPending<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO pending_receipts (year_id, kind, payer, donor_name, organisation, amount_fen, \
         received_on, recorded_by, recorded_at, status) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending') RETURNING id",
    )
    .bind(p.year_id)
    .bind(p.kind)
    .bind(p.payer)
    .bind(p.donor_name)
    .bind(i64::from(p.organisation))
    .bind(p.amount_fen)
    .bind(p.received_on)
    .bind(p.by)
    .bind(p.at)
    .fetch_one(conn)
    .await?)
}

const COLUMNS: &str = "id, year_id, kind, payer, donor_name, organisation, amount_fen, \
    received_on, recorded_by, recorded_at";

fn row(r: &sqlx::any::AnyRow) -> PendingRow {
    PendingRow {
        id: r.get(0),
        year_id: r.get(1),
        kind: r.get(2),
        payer: r.get(3),
        donor_name: r.get(4),
        organisation: r.get::<i64, _>(5) != 0,
        amount_fen: r.get(6),
        received_on: r.get(7),
        recorded_by: r.get(8),
        recorded_at: r.get(9),
    }
}

/// The year's receipts still waiting, oldest first.
pub async fn pending(conn: &mut Conn, year_id: i64) -> Result<Vec<PendingRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pending_receipts WHERE year_id = $1 AND status = 'pending' ORDER BY id"
    );
    let rows = sqlx::query(&sql).bind(year_id).fetch_all(conn).await?;
    Ok(rows.iter().map(row).collect())
}

pub async fn get_pending(conn: &mut Conn, year_id: i64, id: i64) -> Result<Option<PendingRow>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM pending_receipts WHERE year_id = $1 AND id = $2 AND status = 'pending'"
    );
    let r = sqlx::query(&sql)
        .bind(year_id)
        .bind(id)
        .fetch_optional(conn)
        .await?;
    Ok(r.as_ref().map(row))
}

/// Moves a pending receipt to `posted` (with its entry) or `rejected`; false when it was no
/// longer pending (someone else decided first).
pub async fn decide(
    conn: &mut Conn,
    id: i64,
    posted_entry: Option<i64>,
    by: &str,
    at: &str,
    note: &str,
) -> Result<bool> {
    let status = if posted_entry.is_some() {
        "posted"
    } else {
        "rejected"
    };
    let done = sqlx::query(
        "UPDATE pending_receipts SET status = $2, entry_no = $3, decided_by = $4, decided_at = $5, \
         decision_note = $6 WHERE id = $1 AND status = 'pending'",
    )
    .bind(id)
    .bind(status)
    .bind(posted_entry)
    .bind(by)
    .bind(at)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
