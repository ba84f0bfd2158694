//! One-click design runs, their four-eyes approval, the published subsidy tables, and donations.

use crate::roster::{rows_per_insert, values_placeholders};
use crate::{Conn, Result};
use sqlx::Row;

#[derive(Debug, Clone)]
pub struct DesignRow {
    pub id: i64,
    pub year_id: i64,
    pub rules_version: i64,
    pub params_json: String,
    pub summary_json: String,
    pub amounts_json: String,
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub submitted_by: Option<String>,
    pub submitted_at: Option<String>,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: Option<String>,
}

pub struct NewDesign<'a> {
    pub year_id: i64,
    pub rules_version: i64,
    pub params_json: &'a str,
    pub summary_json: &'a str,
    pub amounts_json: &'a str,
    pub by: &'a str,
    pub at: &'a str,
}

pub async fn insert(conn: &mut Conn, d: &NewDesign<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO designs (year_id, rules_version, params_json, summary_json, amounts_json, \
         status, created_by, created_at) VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7) RETURNING id",
    )
    .bind(d.year_id)
    .bind(d.rules_version)
    .bind(d.params_json)
    .bind(d.summary_json)
    .bind(d.amounts_json)
    .bind(d.by)
    .bind(d.at)
    .fetch_one(conn)
    .await?)
}

const SELECT_DESIGN: &str = "SELECT id, year_id, rules_version, params_json, summary_json, \
    amounts_json, status, created_by, created_at, submitted_by, submitted_at, decided_by, \
    decided_at, decision_note FROM designs";

fn design(r: &sqlx::any::AnyRow) -> DesignRow {
    DesignRow {
        id: r.get(0),
        year_id: r.get(1),
        rules_version: r.get(2),
        params_json: r.get(3),
        summary_json: r.get(4),
        amounts_json: r.get(5),
        status: r.get(6),
        created_by: r.get(7),
        created_at: r.get(8),
        submitted_by: r.get(9),
        submitted_at: r.get(10),
        decided_by: r.get(11),
        decided_at: r.get(12),
        decision_note: r.get(13),
    }
}

/// A design of the given year (the caller has already checked the year is in scope).
pub async fn get(conn: &mut Conn, year_id: i64, id: i64) -> Result<Option<DesignRow>> {
    let row = sqlx::query(&format!("{SELECT_DESIGN} WHERE id = $1 AND year_id = $2"))
        .bind(id)
        .bind(year_id)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(design))
}

pub async fn list(conn: &mut Conn, year_id: i64) -> Result<Vec<DesignRow>> {
    let rows = sqlx::query(&format!(
        "{SELECT_DESIGN} WHERE year_id = $1 ORDER BY id DESC"
    ))
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(design).collect())
}

/// Moves a design from `from` to `to`; false when it was no longer in `from` (someone else
/// acted first), so two approvers cannot both publish.
pub async fn transition(
    conn: &mut Conn,
    id: i64,
    from: &str,
    to: &str,
    by: &str,
    at: &str,
    note: &str,
) -> Result<bool> {
    let sql = if to == "submitted" {
        "UPDATE designs SET status = $3, submitted_by = $4, submitted_at = $5 WHERE id = $1 AND status = $2"
    } else {
        "UPDATE designs SET status = $3, decided_by = $4, decided_at = $5, decision_note = $6 \
         WHERE id = $1 AND status = $2"
    };
    let mut q = sqlx::query(sql)
        .bind(id)
        .bind(from)
        .bind(to)
        .bind(by)
        .bind(at);
    if to != "submitted" {
        q = q.bind(note);
    }
    Ok(q.execute(conn).await?.rows_affected() == 1)
}

#[derive(Debug, Clone)]
pub struct TableRow {
    pub id: i64,
    pub year_id: i64,
    pub version: i64,
    pub design_id: i64,
    pub rules_version: i64,
    pub drg_version: String,
    pub published_by: String,
    pub published_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableLine {
    pub drg: String,
    pub drg_name: String,
    pub amount_fen: i64,
    pub loyal_amount_fen: i64,
}

pub struct NewTable<'a> {
    pub year_id: i64,
    pub design_id: i64,
    pub rules_version: i64,
    pub drg_version: &'a str,
    pub by: &'a str,
    pub at: &'a str,
}

/// Publishes a table as the year's next version; returns (table id, version).
pub async fn publish(conn: &mut Conn, t: &NewTable<'_>, lines: &[TableLine]) -> Result<(i64, i64)> {
    let version: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(version), 0) + 1 AS BIGINT) FROM subsidy_tables WHERE year_id = $1",
    )
    .bind(t.year_id)
    .fetch_one(&mut *conn)
    .await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO subsidy_tables (year_id, version, design_id, rules_version, drg_version, \
         published_by, published_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(t.year_id)
    .bind(version)
    .bind(t.design_id)
    .bind(t.rules_version)
    .bind(t.drg_version)
    .bind(t.by)
    .bind(t.at)
    .fetch_one(&mut *conn)
    .await?;
    let per = rows_per_insert(conn, 5);
    for chunk in lines.chunks(per) {
        let sql = format!(
            "INSERT INTO subsidy_table_rows (table_id, drg, drg_name, amount_fen, loyal_amount_fen) VALUES {}",
            values_placeholders(chunk.len(), 5)
        );
        let mut q = sqlx::query(&sql);
        for l in chunk {
            q = q
                .bind(id)
                .bind(&l.drg)
                .bind(&l.drg_name)
                .bind(l.amount_fen)
                .bind(l.loyal_amount_fen);
        }
        q.execute(&mut *conn).await?;
    }
    Ok((id, version))
}

fn table(r: &sqlx::any::AnyRow) -> TableRow {
    TableRow {
        id: r.get(0),
        year_id: r.get(1),
        version: r.get(2),
        design_id: r.get(3),
        rules_version: r.get(4),
        drg_version: r.get(5),
        published_by: r.get(6),
        published_at: r.get(7),
    }
}

/// The year's current (latest) published table.
pub async fn current_table(conn: &mut Conn, year_id: i64) -> Result<Option<TableRow>> {
    let row = sqlx::query(
        "SELECT id, year_id, version, design_id, rules_version, drg_version, published_by, \
         published_at FROM subsidy_tables WHERE year_id = $1 ORDER BY version DESC LIMIT 1",
    )
    .bind(year_id)
    .fetch_optional(conn)
    .await?;
    Ok(row.as_ref().map(table))
}

/// Every line of a published table, in DRG order (searching is `app`'s: residents search by
/// illness, which needs the grouper).
pub async fn table_lines(conn: &mut Conn, table_id: i64) -> Result<Vec<TableLine>> {
    let rows = sqlx::query(
        "SELECT drg, drg_name, amount_fen, loyal_amount_fen FROM subsidy_table_rows \
         WHERE table_id = $1 ORDER BY drg",
    )
    .bind(table_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| TableLine {
            drg: r.get(0),
            drg_name: r.get(1),
            amount_fen: r.get(2),
            loyal_amount_fen: r.get(3),
        })
        .collect())
}

#[derive(Debug, Clone)]
pub struct Donation {
    pub id: i64,
    pub donor_name: String,
    pub donor_kind: String,
    pub amount_fen: i64,
    pub received_on: String,
    pub entry_no: i64,
}

pub struct NewDonation<'a> {
    pub year_id: i64,
    pub donor_name: &'a str,
    pub donor_kind: &'a str,
    pub amount_fen: i64,
    pub received_on: &'a str,
    pub entry_no: i64,
    pub by: &'a str,
    pub at: &'a str,
}

pub async fn insert_donation(conn: &mut Conn, d: &NewDonation<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO donations (year_id, donor_name, donor_kind, amount_fen, received_on, entry_no, \
         created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(d.year_id)
    .bind(d.donor_name)
    .bind(d.donor_kind)
    .bind(d.amount_fen)
    .bind(d.received_on)
    .bind(d.entry_no)
    .bind(d.by)
    .bind(d.at)
    .fetch_one(conn)
    .await?)
}

pub async fn donations(conn: &mut Conn, year_id: i64) -> Result<Vec<Donation>> {
    let rows = sqlx::query(
        "SELECT id, donor_name, donor_kind, amount_fen, received_on, entry_no FROM donations \
         WHERE year_id = $1 ORDER BY received_on, id",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| Donation {
            id: r.get(0),
            donor_name: r.get(1),
            donor_kind: r.get(2),
            amount_fen: r.get(3),
            received_on: r.get(4),
            entry_no: r.get(5),
        })
        .collect())
}

/// One DRG's amount in a published table (the coder's page needs only the stay's DRG).
pub async fn table_amount(conn: &mut Conn, table_id: i64, drg: &str) -> Result<Option<i64>> {
    let amount: Option<i64> = sqlx::query_scalar(
        "SELECT amount_fen FROM subsidy_table_rows WHERE table_id = $1 AND drg = $2",
    )
    .bind(table_id)
    .bind(drg)
    .fetch_optional(conn)
    .await?;
    Ok(amount)
}
