//! The paying half: bank cards, monthly payout batches and their frozen lines, objections to a
//! public notice, recoveries. Reads that name people take a `Scope` (on the village); state
//! changes are conditional updates on the expected state, so two officers acting on the same
//! batch or line at once cannot both win, and a retried step finds its work already done.

use crate::claims::{coded, date};
use crate::roster::{rows_per_insert, values_placeholders};
use crate::{Conn, Result, Scope};
use chrono::NaiveDate;
use domain::{
    BatchId, BatchStatus, CardId, CardStatus, ClaimEventKind, ClaimId, ClaimStatus, Fen,
    HolderReason, LineId, LineState, ObjectionId, ObjectionStatus, RecoveryId,
};
use sqlx::Row;

// ---------------------------------------------------------------------------------------------
// Bank cards

#[derive(Debug, Clone)]
pub struct Card {
    pub id: CardId,
    pub member_id: i64,
    pub village_code: String,
    pub holder_member_id: i64,
    pub holder_reason: HolderReason,
    pub bank_name: String,
    pub card_cipher: Vec<u8>,
    pub card_masked: String,
    pub status: CardStatus,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<String>,
}

pub struct NewCard<'a> {
    pub member_id: i64,
    pub village_code: &'a str,
    pub holder_member_id: i64,
    pub holder_reason: HolderReason,
    pub bank_name: &'a str,
    pub card_cipher: &'a [u8],
    pub card_masked: &'a str,
    pub status: CardStatus,
    pub note: &'a str,
    pub by: &'a str,
    pub at: &'a str,
}

const CARD_COLUMNS: &str = "id, member_id, village_code, holder_member_id, holder_reason, \
    bank_name, card_cipher, card_masked, status, note, created_by, created_at, confirmed_by, \
    confirmed_at";

fn card(r: &sqlx::any::AnyRow) -> Result<Card> {
    Ok(Card {
        id: CardId(r.try_get("id")?),
        member_id: r.try_get("member_id")?,
        village_code: r.try_get("village_code")?,
        holder_member_id: r.try_get("holder_member_id")?,
        holder_reason: coded(r, "holder_reason", HolderReason::from_code)?,
        bank_name: r.try_get("bank_name")?,
        card_cipher: r.try_get("card_cipher")?,
        card_masked: r.try_get("card_masked")?,
        status: coded(r, "status", CardStatus::from_code)?,
        note: r.try_get("note")?,
        created_by: r.try_get("created_by")?,
        created_at: r.try_get("created_at")?,
        confirmed_by: r.try_get("confirmed_by")?,
        confirmed_at: r.try_get("confirmed_at")?,
    })
}

pub async fn insert_card(conn: &mut Conn, c: &NewCard<'_>) -> Result<CardId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO bank_cards (member_id, village_code, holder_member_id, holder_reason, \
         bank_name, card_cipher, card_masked, status, note, created_by, created_at, \
         confirmed_by, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, \
         CASE WHEN $8 = 'active' THEN $10 END, CASE WHEN $8 = 'active' THEN $11 END) RETURNING id",
    )
    .bind(c.member_id)
    .bind(c.village_code)
    .bind(c.holder_member_id)
    .bind(c.holder_reason.code())
    .bind(c.bank_name)
    .bind(c.card_cipher)
    .bind(c.card_masked)
    .bind(c.status.code())
    .bind(c.note)
    .bind(c.by)
    .bind(c.at)
    .fetch_one(conn)
    .await?;
    Ok(CardId(id))
}

/// The member's cards, newest first, inside `scope`.
pub async fn cards(conn: &mut Conn, scope: &Scope, member_id: i64) -> Result<Vec<Card>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM bank_cards WHERE member_id = $1 AND village_code LIKE $2 \
         ORDER BY id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(member_id)
        .bind(scope.like())
        .fetch_all(conn)
        .await?;
    rows.iter().map(card).collect()
}

pub async fn get_card(conn: &mut Conn, scope: &Scope, id: CardId) -> Result<Option<Card>> {
    let sql =
        format!("SELECT {CARD_COLUMNS} FROM bank_cards WHERE id = $1 AND village_code LIKE $2");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(card).transpose()
}

/// Card changes waiting for a reviewer, inside `scope`.
pub async fn pending_cards(conn: &mut Conn, scope: &Scope) -> Result<Vec<Card>> {
    let sql = format!(
        "SELECT {CARD_COLUMNS} FROM bank_cards WHERE status = 'pending' AND village_code LIKE $1 \
         ORDER BY id"
    );
    let rows = sqlx::query(&sql).bind(scope.like()).fetch_all(conn).await?;
    rows.iter().map(card).collect()
}

/// Retires the member's card in force (before a new one becomes active).
pub async fn retire_active_card(conn: &mut Conn, member_id: i64) -> Result<()> {
    sqlx::query(
        "UPDATE bank_cards SET status = 'replaced' WHERE member_id = $1 AND status = 'active'",
    )
    .bind(member_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// A pending card confirmed (active) or refused by a reviewer; false if it was not pending.
pub async fn decide_card(
    conn: &mut Conn,
    id: CardId,
    to: CardStatus,
    by: &str,
    at: &str,
    note: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE bank_cards SET status = $2, confirmed_by = $3, confirmed_at = $4, \
         note = CASE WHEN $5 = '' THEN note ELSE $5 END WHERE id = $1 AND status = 'pending'",
    )
    .bind(id.0)
    .bind(to.code())
    .bind(by)
    .bind(at)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether money was ever sent to the member's card (a line of an approved batch): from then on
/// a change of card needs a reviewer.
pub async fn member_was_paid(conn: &mut Conn, member_id: i64) -> Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_lines WHERE member_id = $1 \
         AND payout_entry IS NOT NULL",
    )
    .bind(member_id)
    .fetch_one(conn)
    .await?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// Batches

#[derive(Debug, Clone)]
pub struct Batch {
    pub id: BatchId,
    pub batch_no: String,
    pub pool_code: String,
    pub year_id: i64,
    pub cutoff_on: NaiveDate,
    pub status: BatchStatus,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
    /// The ledger's head when the notice was posted (seq 0: no postings yet), for /public/verify.
    pub chain_seq: i64,
    pub chain_head: String,
    pub show_drg: bool,
    pub prepared_by: String,
    pub prepared_at: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<String>,
    pub file_hash: Option<String>,
    pub closed_at: Option<String>,
    pub revision: i64,
}

pub struct NewBatch<'a> {
    pub batch_no: &'a str,
    pub pool_code: &'a str,
    pub year_id: i64,
    pub cutoff_on: NaiveDate,
    pub notice_start: NaiveDate,
    pub notice_end: NaiveDate,
    pub chain_seq: i64,
    pub chain_head: &'a str,
    pub show_drg: bool,
    pub by: &'a str,
    pub at: &'a str,
}

const BATCH_COLUMNS: &str = "b.id, b.batch_no, b.pool_code, b.year_id, b.cutoff_on, b.status, \
    b.notice_start, b.notice_end, b.chain_seq, b.chain_head, b.show_drg, b.prepared_by, b.prepared_at, \
    b.approved_by, b.approved_at, b.file_hash, b.closed_at, b.revision";

/// A batch is visible to staff inside its pool or above it (as its year is).
const BATCH_IN_SCOPE: &str = "(b.pool_code LIKE $1 OR $2 LIKE b.pool_code || '%')";

fn batch(r: &sqlx::any::AnyRow) -> Result<Batch> {
    Ok(Batch {
        id: BatchId(r.try_get("id")?),
        batch_no: r.try_get("batch_no")?,
        pool_code: r.try_get("pool_code")?,
        year_id: r.try_get("year_id")?,
        cutoff_on: date(r, "cutoff_on")?,
        status: coded(r, "status", BatchStatus::from_code)?,
        notice_start: date(r, "notice_start")?,
        notice_end: date(r, "notice_end")?,
        chain_seq: r.try_get("chain_seq")?,
        chain_head: r.try_get("chain_head")?,
        show_drg: r.try_get::<i64, _>("show_drg")? == 1,
        prepared_by: r.try_get("prepared_by")?,
        prepared_at: r.try_get("prepared_at")?,
        approved_by: r.try_get("approved_by")?,
        approved_at: r.try_get("approved_at")?,
        file_hash: r.try_get("file_hash")?,
        closed_at: r.try_get("closed_at")?,
        revision: r.try_get("revision")?,
    })
}

pub async fn insert_batch(conn: &mut Conn, b: &NewBatch<'_>) -> Result<BatchId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payout_batches (batch_no, pool_code, year_id, cutoff_on, status, \
         notice_start, notice_end, chain_head, show_drg, prepared_by, prepared_at, chain_seq) \
         VALUES ($1, $2, $3, $4, 'noticed', $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(b.batch_no)
    .bind(b.pool_code)
    .bind(b.year_id)
    .bind(b.cutoff_on.to_string())
    .bind(b.notice_start.to_string())
    .bind(b.notice_end.to_string())
    .bind(b.chain_head)
    .bind(i64::from(b.show_drg))
    .bind(b.by)
    .bind(b.at)
    .bind(b.chain_seq)
    .fetch_one(conn)
    .await?;
    Ok(BatchId(id))
}

pub async fn get_batch(conn: &mut Conn, scope: &Scope, id: BatchId) -> Result<Option<Batch>> {
    let sql = format!(
        "SELECT {BATCH_COLUMNS} FROM payout_batches b WHERE b.id = $3 AND {BATCH_IN_SCOPE}"
    );
    let row = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(id.0)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(batch).transpose()
}

/// A batch by its public number (public notice pages: no scope, the notice is public).
pub async fn batch_by_no(conn: &mut Conn, batch_no: &str) -> Result<Option<Batch>> {
    let sql = format!("SELECT {BATCH_COLUMNS} FROM payout_batches b WHERE b.batch_no = $1");
    let row = sqlx::query(&sql)
        .bind(batch_no)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(batch).transpose()
}

/// Batches inside `scope`, newest first.
pub async fn batches(conn: &mut Conn, scope: &Scope, limit: i64) -> Result<Vec<Batch>> {
    let sql = format!(
        "SELECT {BATCH_COLUMNS} FROM payout_batches b WHERE {BATCH_IN_SCOPE} ORDER BY b.id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(batch).collect()
}

/// A pool's batches, newest first (the public index).
pub async fn pool_batches(conn: &mut Conn, pool_code: &str, limit: i64) -> Result<Vec<Batch>> {
    let sql = format!(
        "SELECT {BATCH_COLUMNS} FROM payout_batches b WHERE b.pool_code = $1 ORDER BY b.id DESC LIMIT $2"
    );
    let rows = sqlx::query(&sql)
        .bind(pool_code)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(batch).collect()
}

/// How many batches the pool has (numbers the next one).
pub async fn count_pool_batches(conn: &mut Conn, pool_code: &str, prefix: &str) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_batches WHERE pool_code = $1 AND batch_no LIKE $2",
    )
    .bind(pool_code)
    .bind(format!("{prefix}%"))
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// What a batch's state change writes besides the state.
#[derive(Debug, Default)]
pub struct BatchChange<'a> {
    pub approved: Option<(&'a str, &'a str)>,
    pub file_hash: Option<&'a str>,
    pub closed_at: Option<&'a str>,
}

/// Moves a batch from `from` to `to` if it is still in `from` at `revision`; false otherwise
/// (someone else moved it first).
pub async fn transition_batch(
    conn: &mut Conn,
    id: BatchId,
    from: BatchStatus,
    revision: i64,
    to: BatchStatus,
    c: &BatchChange<'_>,
) -> Result<bool> {
    let (by, at) = c.approved.unzip();
    let done = sqlx::query(
        "UPDATE payout_batches SET status = $1, revision = revision + 1, \
         approved_by = COALESCE($2, approved_by), approved_at = COALESCE($3, approved_at), \
         file_hash = COALESCE($4, file_hash), closed_at = COALESCE($5, closed_at) \
         WHERE id = $6 AND status = $7 AND revision = $8",
    )
    .bind(to.code())
    .bind(by)
    .bind(at)
    .bind(c.file_hash)
    .bind(c.closed_at)
    .bind(id.0)
    .bind(from.code())
    .bind(revision)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Bumps the batch's revision (a line left it): an approval prepared against the old lines fails.
pub async fn touch_batch(conn: &mut Conn, id: BatchId) -> Result<()> {
    sqlx::query("UPDATE payout_batches SET revision = revision + 1 WHERE id = $1")
        .bind(id.0)
        .execute(conn)
        .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Lines

/// An approved claim that a new batch can take.
#[derive(Debug, Clone)]
pub struct Eligible {
    pub claim_id: ClaimId,
    pub member_id: i64,
    pub village_code: String,
    pub name: String,
    pub drg_name: String,
    pub amount: Fen,
    /// The member's card in force, if any: without one the claim waits.
    pub card_id: Option<CardId>,
}

/// Approved claims of the year decided before the day after `cutoff`, in village and
/// application order.
pub async fn eligible(conn: &mut Conn, year_id: i64, cutoff: NaiveDate) -> Result<Vec<Eligible>> {
    let until = cutoff.succ_opt().unwrap_or(cutoff).to_string();
    let rows = sqlx::query(
        "SELECT c.id, c.member_id, c.village_code, m.name, c.drg_name, c.amount_fen, k.id AS card_id \
         FROM claims c JOIN members m ON m.id = c.member_id \
         LEFT JOIN bank_cards k ON k.member_id = c.member_id AND k.status = 'active' \
         WHERE c.year_id = $1 AND c.status = 'approved' AND c.decided_at < $2 \
         ORDER BY c.village_code, c.id",
    )
    .bind(year_id)
    .bind(until)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Eligible {
                claim_id: ClaimId(r.try_get("id")?),
                member_id: r.try_get("member_id")?,
                village_code: r.try_get("village_code")?,
                name: r.try_get("name")?,
                drg_name: r.try_get("drg_name")?,
                amount: Fen(r.try_get("amount_fen")?),
                card_id: r.try_get::<Option<i64>, _>("card_id")?.map(CardId),
            })
        })
        .collect()
}

pub struct NewLine<'a> {
    pub seq: i64,
    pub claim_id: ClaimId,
    pub member_id: i64,
    pub village_code: &'a str,
    pub name_masked: &'a str,
    pub drg_name: &'a str,
    pub amount: Fen,
    pub card_id: CardId,
}

const LINE_COLS: usize = 11;

/// Inserts a batch's lines (pending, live). The unique index on live lines refuses a claim that
/// is already in another batch: `StoreError::Conflict`.
pub async fn insert_lines(conn: &mut Conn, batch_id: BatchId, lines: &[NewLine<'_>]) -> Result<()> {
    let per = rows_per_insert(conn, LINE_COLS);
    for chunk in lines.chunks(per) {
        let sql = format!(
            "INSERT INTO payout_lines (batch_id, seq, claim_id, member_id, village_code, \
             name_masked, drg_name, amount_fen, card_id, state, live) VALUES {}",
            values_placeholders(chunk.len(), LINE_COLS)
        );
        let mut q = sqlx::query(&sql);
        for l in chunk {
            q = q
                .bind(batch_id.0)
                .bind(l.seq)
                .bind(l.claim_id.0)
                .bind(l.member_id)
                .bind(l.village_code)
                .bind(l.name_masked)
                .bind(l.drg_name)
                .bind(l.amount.0)
                .bind(l.card_id.0)
                .bind(LineState::Pending.code())
                .bind(1_i64);
        }
        q.execute(&mut *conn).await.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                crate::StoreError::Conflict("claim already in a payout batch".into())
            }
            e => e.into(),
        })?;
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Line {
    pub id: LineId,
    pub batch_id: BatchId,
    pub seq: i64,
    pub claim_id: ClaimId,
    pub member_id: i64,
    pub village_code: String,
    pub village_name: String,
    pub name_masked: String,
    pub drg_name: String,
    pub amount: Fen,
    pub card_id: CardId,
    pub state: LineState,
    pub expense_entry: Option<i64>,
    pub payout_entry: Option<i64>,
    pub reversal_entry: Option<i64>,
    pub result_note: String,
    pub resulted_at: Option<String>,
}

const LINE_COLUMNS: &str = "l.id, l.batch_id, l.seq, l.claim_id, l.member_id, l.village_code, \
    r.name AS village_name, l.name_masked, l.drg_name, l.amount_fen, l.card_id, l.state, \
    l.expense_entry, l.payout_entry, l.reversal_entry, l.result_note, l.resulted_at";

fn line(r: &sqlx::any::AnyRow) -> Result<Line> {
    Ok(Line {
        id: LineId(r.try_get("id")?),
        batch_id: BatchId(r.try_get("batch_id")?),
        seq: r.try_get("seq")?,
        claim_id: ClaimId(r.try_get("claim_id")?),
        member_id: r.try_get("member_id")?,
        village_code: r.try_get("village_code")?,
        village_name: r.try_get("village_name")?,
        name_masked: r.try_get("name_masked")?,
        drg_name: r.try_get("drg_name")?,
        amount: Fen(r.try_get("amount_fen")?),
        card_id: CardId(r.try_get("card_id")?),
        state: coded(r, "state", LineState::from_code)?,
        expense_entry: r.try_get("expense_entry")?,
        payout_entry: r.try_get("payout_entry")?,
        reversal_entry: r.try_get("reversal_entry")?,
        result_note: r.try_get("result_note")?,
        resulted_at: r.try_get("resulted_at")?,
    })
}

/// A batch's lines inside `scope` (a village clerk sees their village's), in sequence order.
pub async fn lines(conn: &mut Conn, scope: &Scope, batch_id: BatchId) -> Result<Vec<Line>> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM payout_lines l JOIN regions r ON r.code = l.village_code \
         WHERE l.batch_id = $1 AND l.village_code LIKE $2 ORDER BY l.seq"
    );
    let rows = sqlx::query(&sql)
        .bind(batch_id.0)
        .bind(scope.like())
        .fetch_all(conn)
        .await?;
    rows.iter().map(line).collect()
}

/// One page of a batch's lines inside `scope`, in sequence order (a batch page shows a page,
/// whatever the batch's size).
pub async fn lines_page(
    conn: &mut Conn,
    scope: &Scope,
    batch_id: BatchId,
    offset: i64,
    limit: i64,
) -> Result<Vec<Line>> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM payout_lines l JOIN regions r ON r.code = l.village_code \
         WHERE l.batch_id = $1 AND l.village_code LIKE $2 ORDER BY l.seq LIMIT $3 OFFSET $4"
    );
    let rows = sqlx::query(&sql)
        .bind(batch_id.0)
        .bind(scope.like())
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    rows.iter().map(line).collect()
}

/// The lines a public notice shows (every state but removed), in sequence order: those of
/// villages inside `scope`, only line `seq` when given, one page of them.
pub async fn notice_lines(
    conn: &mut Conn,
    scope: &Scope,
    batch_id: BatchId,
    seq: Option<i64>,
    offset: i64,
    limit: i64,
) -> Result<Vec<Line>> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM payout_lines l JOIN regions r ON r.code = l.village_code \
         WHERE l.batch_id = $1 AND l.village_code LIKE $2 AND l.state <> 'removed' \
         AND ($3 = 0 OR l.seq = $3) ORDER BY l.seq LIMIT $4 OFFSET $5"
    );
    let rows = sqlx::query(&sql)
        .bind(batch_id.0)
        .bind(scope.like())
        .bind(seq.unwrap_or(0))
        .bind(limit)
        .bind(offset)
        .fetch_all(conn)
        .await?;
    rows.iter().map(line).collect()
}

/// Batches inside `scope` with what each pays (live lines: pending or paid), newest first; one
/// query.
pub async fn batch_summaries(
    conn: &mut Conn,
    scope: &Scope,
    limit: i64,
) -> Result<Vec<(Batch, i64, Fen)>> {
    let sql = format!(
        "SELECT {BATCH_COLUMNS}, \
         CAST((SELECT COUNT(*) FROM payout_lines l WHERE l.batch_id = b.id AND l.live = 1) AS BIGINT) AS n, \
         CAST(COALESCE((SELECT SUM(l.amount_fen) FROM payout_lines l WHERE l.batch_id = b.id AND l.live = 1), 0) AS BIGINT) AS total \
         FROM payout_batches b WHERE {BATCH_IN_SCOPE} ORDER BY b.id DESC LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((batch(r)?, r.try_get("n")?, Fen(r.try_get("total")?))))
        .collect()
}

pub async fn get_line(conn: &mut Conn, scope: &Scope, id: LineId) -> Result<Option<Line>> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM payout_lines l JOIN regions r ON r.code = l.village_code \
         WHERE l.id = $1 AND l.village_code LIKE $2"
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(line).transpose()
}

/// The lines a claim was ever on, oldest first.
pub async fn claim_lines(conn: &mut Conn, claim_id: ClaimId) -> Result<Vec<Line>> {
    let sql = format!(
        "SELECT {LINE_COLUMNS} FROM payout_lines l JOIN regions r ON r.code = l.village_code \
         WHERE l.claim_id = $1 ORDER BY l.id"
    );
    let rows = sqlx::query(&sql).bind(claim_id.0).fetch_all(conn).await?;
    rows.iter().map(line).collect()
}

/// Records on every pending line of the batch the two entries its approval posted: the lines in
/// sequence order took entries `first`, `first + 1`, `first + 2`, … (expense, then payout). Only
/// lines without entries are touched; returns how many were.
pub async fn record_line_entries(conn: &mut Conn, batch_id: BatchId, first: i64) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE payout_lines SET expense_entry = $2 + 2 * (n.rn - 1), \
         payout_entry = $2 + 2 * (n.rn - 1) + 1 \
         FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY seq) AS rn FROM payout_lines \
               WHERE batch_id = $1 AND state = 'pending') n \
         WHERE payout_lines.id = n.id AND payout_lines.expense_entry IS NULL \
         AND payout_lines.payout_entry IS NULL",
    )
    .bind(batch_id.0)
    .bind(first)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Moves one claim from `from` to `to` with its history line; false if it was not in `from`.
pub async fn move_claim(conn: &mut Conn, id: ClaimId, step: &BatchClaimStep<'_>) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE claims SET status = $2, revision = revision + 1 WHERE id = $1 AND status = $3",
    )
    .bind(id.0)
    .bind(step.to.code())
    .bind(step.from.code())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    crate::claims::insert_event(
        conn,
        &crate::claims::NewEvent {
            claim_id: id,
            at: step.at,
            by: step.by,
            kind: step.kind,
            from: step.from,
            to: step.to,
            note: step.note,
        },
    )
    .await?;
    Ok(true)
}

/// Takes a card out of use (the bank returned a payment to it).
pub async fn retire_card(conn: &mut Conn, id: CardId, note: &str) -> Result<()> {
    sqlx::query(
        "UPDATE bank_cards SET status = 'replaced', note = $2 WHERE id = $1 AND status = 'active'",
    )
    .bind(id.0)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(())
}

/// Pending lines left in the batch.
pub async fn pending_lines(conn: &mut Conn, batch_id: BatchId) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_lines WHERE batch_id = $1 AND state = 'pending'",
    )
    .bind(batch_id.0)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// What a line's result writes.
pub struct LineResult<'a> {
    pub to: LineState,
    pub note: &'a str,
    pub by: &'a str,
    pub at: &'a str,
    pub reversal_entry: Option<i64>,
}

/// Moves a pending line to its result (paid, failed, removed); false if it was not pending.
/// Failed and removed lines stop being live, so the claim can join a later batch.
pub async fn set_line_state(conn: &mut Conn, id: LineId, r: &LineResult<'_>) -> Result<bool> {
    let live = i64::from(matches!(r.to, LineState::Pending | LineState::Paid));
    let done = sqlx::query(
        "UPDATE payout_lines SET state = $2, live = $3, result_note = $4, resulted_by = $5, \
         resulted_at = $6, reversal_entry = COALESCE($7, reversal_entry) \
         WHERE id = $1 AND state = 'pending'",
    )
    .bind(id.0)
    .bind(r.to.code())
    .bind(live)
    .bind(r.note)
    .bind(r.by)
    .bind(r.at)
    .bind(r.reversal_entry)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Moves every claim of the batch's lines in `line_state` from `from` to `to` (one statement,
/// whatever the batch's size) and writes each one's history line.
///
/// `status || ''` keeps PostgreSQL from starting at the claims' status index: its statistics,
/// taken before the batch existed, say almost no claim has the status, and a plan that scans
/// the batch's lines once per such claim took 7 s for 10,000 lines; from the lines it takes
/// well under one.
pub async fn move_batch_claims(
    conn: &mut Conn,
    batch_id: BatchId,
    line_state: LineState,
    step: &BatchClaimStep<'_>,
) -> Result<u64> {
    sqlx::query(
        "INSERT INTO claim_events (claim_id, at, by_user, kind, from_status, to_status, note) \
         SELECT c.id, $3, $4, $5, c.status, $6, $7 FROM claims c \
         JOIN payout_lines l ON l.claim_id = c.id \
         WHERE l.batch_id = $1 AND l.state = $2 AND c.status || '' = $8",
    )
    .bind(batch_id.0)
    .bind(line_state.code())
    .bind(step.at)
    .bind(step.by)
    .bind(step.kind.code())
    .bind(step.to.code())
    .bind(step.note)
    .bind(step.from.code())
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "UPDATE claims SET status = $3, revision = revision + 1 WHERE status || '' = $4 AND id IN \
         (SELECT claim_id FROM payout_lines WHERE batch_id = $1 AND state = $2)",
    )
    .bind(batch_id.0)
    .bind(line_state.code())
    .bind(step.to.code())
    .bind(step.from.code())
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// A state change applied to all of a batch's claims at once.
pub struct BatchClaimStep<'a> {
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub kind: ClaimEventKind,
    pub by: &'a str,
    pub at: &'a str,
    pub note: &'a str,
}

/// Per village: lines and money by state.
#[derive(Debug, Clone)]
pub struct VillageTotal {
    pub village_code: String,
    pub village_name: String,
    pub state: LineState,
    pub lines: i64,
    pub total: Fen,
}

pub async fn village_totals(
    conn: &mut Conn,
    scope: &Scope,
    batch_id: BatchId,
) -> Result<Vec<VillageTotal>> {
    let rows = sqlx::query(
        "SELECT l.village_code, r.name, l.state, CAST(COUNT(*) AS BIGINT) AS n, \
         CAST(COALESCE(SUM(l.amount_fen), 0) AS BIGINT) AS total \
         FROM payout_lines l JOIN regions r ON r.code = l.village_code \
         WHERE l.batch_id = $1 AND l.village_code LIKE $2 \
         GROUP BY l.village_code, r.name, l.state ORDER BY l.village_code, l.state",
    )
    .bind(batch_id.0)
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(VillageTotal {
                village_code: r.try_get("village_code")?,
                village_name: r.try_get("name")?,
                state: coded(r, "state", LineState::from_code)?,
                lines: r.try_get("n")?,
                total: Fen(r.try_get("total")?),
            })
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Objections

#[derive(Debug, Clone)]
pub struct Objection {
    pub id: ObjectionId,
    pub batch_id: BatchId,
    pub line_id: LineId,
    pub phone_cipher: Vec<u8>,
    pub phone_masked: String,
    pub text: String,
    pub status: ObjectionStatus,
    pub created_at: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: String,
}

pub struct NewObjection<'a> {
    pub batch_id: BatchId,
    pub line_id: LineId,
    pub phone_cipher: &'a [u8],
    pub phone_hash: &'a [u8],
    pub phone_masked: &'a str,
    pub client_ip: &'a str,
    pub text: &'a str,
    pub at: &'a str,
}

pub async fn insert_objection(conn: &mut Conn, o: &NewObjection<'_>) -> Result<ObjectionId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO payout_objections (batch_id, line_id, phone_cipher, phone_hash, \
         phone_masked, client_ip, text, status, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8) RETURNING id",
    )
    .bind(o.batch_id.0)
    .bind(o.line_id.0)
    .bind(o.phone_cipher)
    .bind(o.phone_hash)
    .bind(o.phone_masked)
    .bind(o.client_ip)
    .bind(o.text)
    .bind(o.at)
    .fetch_one(conn)
    .await?;
    Ok(ObjectionId(id))
}

/// Objections since `since` from this phone and from this address (the throttle's counts).
pub async fn recent_objections(
    conn: &mut Conn,
    phone_hash: &[u8],
    client_ip: &str,
    since: &str,
) -> Result<(i64, i64)> {
    let by_phone: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_objections WHERE phone_hash = $1 AND created_at >= $2",
    )
    .bind(phone_hash)
    .bind(since)
    .fetch_one(&mut *conn)
    .await?;
    let by_ip: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_objections WHERE client_ip = $1 AND created_at >= $2",
    )
    .bind(client_ip)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok((by_phone, by_ip))
}

const OBJECTION_COLUMNS: &str = "o.id, o.batch_id, o.line_id, o.phone_cipher, o.phone_masked, \
    o.text, o.status, o.created_at, o.decided_by, o.decided_at, o.decision_note";

fn objection(r: &sqlx::any::AnyRow) -> Result<Objection> {
    Ok(Objection {
        id: ObjectionId(r.try_get("id")?),
        batch_id: BatchId(r.try_get("batch_id")?),
        line_id: LineId(r.try_get("line_id")?),
        phone_cipher: r.try_get("phone_cipher")?,
        phone_masked: r.try_get("phone_masked")?,
        text: r.try_get("text")?,
        status: coded(r, "status", ObjectionStatus::from_code)?,
        created_at: r.try_get("created_at")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
    })
}

/// Objections inside `scope` (by the line's village): open ones first, oldest first.
pub async fn objections(
    conn: &mut Conn,
    scope: &Scope,
    batch_id: Option<BatchId>,
    limit: i64,
) -> Result<Vec<Objection>> {
    let sql = format!(
        "SELECT {OBJECTION_COLUMNS} FROM payout_objections o JOIN payout_lines l ON l.id = o.line_id \
         WHERE l.village_code LIKE $1 AND ($2 = 0 OR o.batch_id = $2) \
         ORDER BY CASE WHEN o.status = 'open' THEN 0 ELSE 1 END, o.id LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(batch_id.map_or(0, |b| b.0))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(objection).collect()
}

pub async fn get_objection(
    conn: &mut Conn,
    scope: &Scope,
    id: ObjectionId,
) -> Result<Option<Objection>> {
    let sql = format!(
        "SELECT {OBJECTION_COLUMNS} FROM payout_objections o JOIN payout_lines l ON l.id = o.line_id \
         WHERE o.id = $1 AND l.village_code LIKE $2"
    );
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(objection).transpose()
}

/// Open objections of a batch (a batch with any cannot be approved).
pub async fn open_objections(conn: &mut Conn, batch_id: BatchId) -> Result<i64> {
    let n: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payout_objections WHERE batch_id = $1 AND status = 'open'",
    )
    .bind(batch_id.0)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// Decides an open objection; false if it was decided already.
pub async fn decide_objection(
    conn: &mut Conn,
    id: ObjectionId,
    to: ObjectionStatus,
    by: &str,
    at: &str,
    note: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE payout_objections SET status = $2, decided_by = $3, decided_at = $4, \
         decision_note = $5 WHERE id = $1 AND status = 'open'",
    )
    .bind(id.0)
    .bind(to.code())
    .bind(by)
    .bind(at)
    .bind(note)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

// ---------------------------------------------------------------------------------------------
// Recoveries

#[derive(Debug, Clone)]
pub struct Recovery {
    pub id: RecoveryId,
    pub claim_id: ClaimId,
    pub pool_code: String,
    pub year_id: i64,
    pub member_id: i64,
    pub village_code: String,
    pub amount: Fen,
    pub reason: String,
    pub evidence: String,
    pub decided_by: String,
    pub decided_at: String,
    pub entry_no: i64,
    /// Received so far.
    pub received: Fen,
}

pub struct NewRecovery<'a> {
    pub claim_id: ClaimId,
    pub pool_code: &'a str,
    pub year_id: i64,
    pub member_id: i64,
    pub village_code: &'a str,
    pub amount: Fen,
    pub reason: &'a str,
    pub evidence: &'a str,
    pub by: &'a str,
    pub at: &'a str,
    pub entry_no: i64,
}

pub async fn insert_recovery(conn: &mut Conn, r: &NewRecovery<'_>) -> Result<RecoveryId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO recoveries (claim_id, pool_code, year_id, member_id, village_code, \
         amount_fen, reason, evidence, decided_by, decided_at, entry_no) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(r.claim_id.0)
    .bind(r.pool_code)
    .bind(r.year_id)
    .bind(r.member_id)
    .bind(r.village_code)
    .bind(r.amount.0)
    .bind(r.reason)
    .bind(r.evidence)
    .bind(r.by)
    .bind(r.at)
    .bind(r.entry_no)
    .fetch_one(conn)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            crate::StoreError::Conflict("claim already recovered".into())
        }
        e => e.into(),
    })?;
    Ok(RecoveryId(id))
}

const RECOVERY_SELECT: &str = "SELECT v.id, v.claim_id, v.pool_code, v.year_id, v.member_id, \
    v.village_code, v.amount_fen, v.reason, v.evidence, v.decided_by, v.decided_at, v.entry_no, \
    CAST(COALESCE((SELECT SUM(x.amount_fen) FROM recovery_receipts x WHERE x.recovery_id = v.id), 0) AS BIGINT) AS received \
    FROM recoveries v";

fn recovery(r: &sqlx::any::AnyRow) -> Result<Recovery> {
    Ok(Recovery {
        id: RecoveryId(r.try_get("id")?),
        claim_id: ClaimId(r.try_get("claim_id")?),
        pool_code: r.try_get("pool_code")?,
        year_id: r.try_get("year_id")?,
        member_id: r.try_get("member_id")?,
        village_code: r.try_get("village_code")?,
        amount: Fen(r.try_get("amount_fen")?),
        reason: r.try_get("reason")?,
        evidence: r.try_get("evidence")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        entry_no: r.try_get("entry_no")?,
        received: Fen(r.try_get("received")?),
    })
}

pub async fn get_recovery(
    conn: &mut Conn,
    scope: &Scope,
    id: RecoveryId,
) -> Result<Option<Recovery>> {
    let sql = format!("{RECOVERY_SELECT} WHERE v.id = $1 AND v.village_code LIKE $2");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(recovery).transpose()
}

pub async fn recoveries(conn: &mut Conn, scope: &Scope, limit: i64) -> Result<Vec<Recovery>> {
    let sql = format!("{RECOVERY_SELECT} WHERE v.village_code LIKE $1 ORDER BY v.id DESC LIMIT $2");
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(recovery).collect()
}

/// The member's earlier recoveries (flagged on every new claim).
pub async fn member_recoveries(conn: &mut Conn, member_id: i64) -> Result<Vec<ClaimId>> {
    let ids: Vec<i64> =
        sqlx::query_scalar("SELECT claim_id FROM recoveries WHERE member_id = $1 ORDER BY id")
            .bind(member_id)
            .fetch_all(conn)
            .await?;
    Ok(ids.into_iter().map(ClaimId).collect())
}

pub struct NewRecoveryReceipt<'a> {
    pub recovery_id: RecoveryId,
    pub amount: Fen,
    pub received_on: NaiveDate,
    pub entry_no: i64,
    pub by: &'a str,
    pub at: &'a str,
}

pub async fn insert_recovery_receipt(conn: &mut Conn, r: &NewRecoveryReceipt<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO recovery_receipts (recovery_id, amount_fen, received_on, entry_no, \
         recorded_by, recorded_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(r.recovery_id.0)
    .bind(r.amount.0)
    .bind(r.received_on.to_string())
    .bind(r.entry_no)
    .bind(r.by)
    .bind(r.at)
    .execute(conn)
    .await?;
    Ok(())
}

/// What the bank file needs of a line: the holder, the card (encrypted), the amount.
#[derive(Debug, Clone)]
pub struct PayDetail {
    pub line_id: LineId,
    pub seq: i64,
    pub amount: Fen,
    pub holder_name: String,
    pub holder_id_cipher: Vec<u8>,
    pub card_cipher: Vec<u8>,
    pub bank_name: String,
}

/// A batch's lines for the bank, in sequence order: the pending ones (before approval) or the
/// ones approval posted (after it). One query, whatever the batch's size.
pub async fn pay_details(
    conn: &mut Conn,
    batch_id: BatchId,
    posted: bool,
) -> Result<Vec<PayDetail>> {
    let rows = sqlx::query(
        "SELECT l.id, l.seq, l.amount_fen, m.name, m.id_cipher, k.card_cipher, k.bank_name \
         FROM payout_lines l JOIN bank_cards k ON k.id = l.card_id \
         JOIN members m ON m.id = k.holder_member_id \
         WHERE l.batch_id = $1 AND (($2 = 0 AND l.state = 'pending') \
                                  OR ($2 = 1 AND l.payout_entry IS NOT NULL)) \
         ORDER BY l.seq",
    )
    .bind(batch_id.0)
    .bind(i64::from(posted))
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PayDetail {
                line_id: LineId(r.try_get("id")?),
                seq: r.try_get("seq")?,
                amount: Fen(r.try_get("amount_fen")?),
                holder_name: r.try_get("name")?,
                holder_id_cipher: r.try_get("id_cipher")?,
                card_cipher: r.try_get("card_cipher")?,
                bank_name: r.try_get("bank_name")?,
            })
        })
        .collect()
}
