//! The fund ledger: append-only postings in a per-pool hash chain.
//!
//! Appending takes the pool's head row with an `UPDATE … RETURNING` before reading anything, so
//! that concurrent writers queue on that row (PostgreSQL row lock, SQLite write lock) and every
//! posting gets the true predecessor hash. The caller's transaction is the unit: postings and
//! the head move together or not at all.

use crate::roster::{rows_per_insert, values_placeholders};
use crate::{Conn, Result};
use ::ledger::{Entry, StoredPosting, GENESIS};
use futures_util::TryStreamExt;
use sqlx::Row;

/// Who appends and when (the same for every entry of one call).
pub struct Recording<'a> {
    /// The installation's chain key: postings are sealed with it (never stored here).
    pub key: &'a ::ledger::ChainKey,
    pub pool_code: &'a str,
    pub year_id: i64,
    pub recorded_by: &'a str,
    pub recorded_at: &'a str,
}

/// Takes the pool's ledger head row for the rest of the caller's transaction (creating it if the
/// pool has none yet). A use case that reads the books and then posts what is still due calls
/// this *first*: concurrent writers of the same pool then queue here (a row lock on PostgreSQL,
/// the write lock on SQLite) and each reads the books only after the one before it committed,
/// so "what is due" cannot be booked twice.
pub async fn lock_pool(conn: &mut Conn, pool_code: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO ledger_heads (pool_code, next_seq, next_entry, last_hash) VALUES ($1, 1, 1, $2) \
         ON CONFLICT (pool_code) DO NOTHING",
    )
    .bind(pool_code)
    .bind(GENESIS)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE ledger_heads SET next_seq = next_seq WHERE pool_code = $1")
        .bind(pool_code)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Appends `entries` (each already checked to balance) and returns their entry numbers.
pub async fn append(conn: &mut Conn, rec: &Recording<'_>, entries: &[Entry]) -> Result<Vec<i64>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let lines: i64 = entries.iter().map(|e| e.lines.len() as i64).sum();
    sqlx::query(
        "INSERT INTO ledger_heads (pool_code, next_seq, next_entry, last_hash) VALUES ($1, 1, 1, $2) \
         ON CONFLICT (pool_code) DO NOTHING",
    )
    .bind(rec.pool_code)
    .bind(GENESIS)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(
        "UPDATE ledger_heads SET next_seq = next_seq + $2, next_entry = next_entry + $3 \
         WHERE pool_code = $1 RETURNING next_seq, next_entry, last_hash",
    )
    .bind(rec.pool_code)
    .bind(lines)
    .bind(entries.len() as i64)
    .fetch_one(&mut *conn)
    .await?;
    let mut seq: i64 = row.get::<i64, _>(0) - lines;
    let first_entry: i64 = row.get::<i64, _>(1) - entries.len() as i64;
    let mut prev: String = row.get(2);

    let mut postings = Vec::with_capacity(lines as usize);
    let mut numbers = Vec::with_capacity(entries.len());
    for (entry_no, e) in (first_entry..).zip(entries) {
        for (i, l) in e.lines.iter().enumerate() {
            let mut p = StoredPosting {
                seq,
                pool_code: rec.pool_code.to_string(),
                entry_no,
                line_no: i as i64 + 1,
                year_id: rec.year_id,
                kind: e.kind.code().to_string(),
                effective_date: e.effective_date.format("%Y-%m-%d").to_string(),
                recorded_at: rec.recorded_at.to_string(),
                recorded_by: rec.recorded_by.to_string(),
                account: l.account.code(),
                amount_fen: l.amount.fen(),
                memo: e.memo.clone(),
                reference: e.reference.clone(),
                reverses_entry: e.reverses.unwrap_or(0),
                prev_hash: String::new(),
                hash: String::new(),
            };
            p.seal(&prev, rec.key);
            prev.clone_from(&p.hash);
            postings.push(p);
            seq += 1;
        }
        numbers.push(entry_no);
    }
    insert_postings(conn, &postings).await?;
    sqlx::query("UPDATE ledger_heads SET last_hash = $2 WHERE pool_code = $1")
        .bind(rec.pool_code)
        .bind(&prev)
        .execute(&mut *conn)
        .await?;
    Ok(numbers)
}

const COLS: usize = 16;

async fn insert_postings(conn: &mut Conn, postings: &[StoredPosting]) -> Result<()> {
    let per = rows_per_insert(conn, COLS);
    for chunk in postings.chunks(per) {
        let sql = format!(
            "INSERT INTO ledger_postings (seq, pool_code, entry_no, line_no, year_id, kind, \
             effective_date, recorded_at, recorded_by, account, amount_fen, memo, reference, \
             reverses_entry, prev_hash, hash) VALUES {}",
            values_placeholders(chunk.len(), COLS)
        );
        let mut q = sqlx::query(&sql);
        for p in chunk {
            q = q
                .bind(p.seq)
                .bind(&p.pool_code)
                .bind(p.entry_no)
                .bind(p.line_no)
                .bind(p.year_id)
                .bind(&p.kind)
                .bind(&p.effective_date)
                .bind(&p.recorded_at)
                .bind(&p.recorded_by)
                .bind(&p.account)
                .bind(p.amount_fen)
                .bind(&p.memo)
                .bind(&p.reference)
                .bind(p.reverses_entry)
                .bind(&p.prev_hash)
                .bind(&p.hash);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

const SELECT_POSTING: &str = "SELECT seq, pool_code, entry_no, line_no, year_id, kind, \
    effective_date, recorded_at, recorded_by, account, amount_fen, memo, reference, \
    reverses_entry, prev_hash, hash FROM ledger_postings";

fn posting(r: &sqlx::any::AnyRow) -> StoredPosting {
    StoredPosting {
        seq: r.get(0),
        pool_code: r.get(1),
        entry_no: r.get(2),
        line_no: r.get(3),
        year_id: r.get(4),
        kind: r.get(5),
        effective_date: r.get(6),
        recorded_at: r.get(7),
        recorded_by: r.get(8),
        account: r.get(9),
        amount_fen: r.get(10),
        memo: r.get(11),
        reference: r.get(12),
        reverses_entry: r.get(13),
        prev_hash: r.get(14),
        hash: r.get(15),
    }
}

/// Every pool that has a head row or any posting (a posting whose pool code was tampered with
/// shows up as a pool of its own, with no head).
pub async fn pools(conn: &mut Conn) -> Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT pool_code FROM ledger_heads UNION SELECT DISTINCT pool_code FROM ledger_postings \
         ORDER BY 1",
    )
    .fetch_all(conn)
    .await?)
}

/// The recorded chain head: (last seq, last hash); None when the pool has no postings yet.
pub async fn head(conn: &mut Conn, pool_code: &str) -> Result<Option<(i64, String)>> {
    let row = sqlx::query("SELECT next_seq, last_hash FROM ledger_heads WHERE pool_code = $1")
        .bind(pool_code)
        .fetch_optional(conn)
        .await?;
    // A head row locked by `lock_pool` but never appended to still means "no postings".
    Ok(row
        .map(|r| (r.get::<i64, _>(0) - 1, r.get(1)))
        .filter(|(seq, _)| *seq > 0))
}

/// Feeds a pool's postings in chain order to `visit` without loading them all (a county's
/// ledger can hold millions). Stops at the first error `visit` returns.
pub async fn for_each_posting<E>(
    conn: &mut Conn,
    pool_code: &str,
    mut visit: impl FnMut(StoredPosting) -> std::result::Result<(), E>,
) -> Result<std::result::Result<(), E>> {
    let sql = format!("{SELECT_POSTING} WHERE pool_code = $1 ORDER BY seq");
    let mut rows = sqlx::query(&sql).bind(pool_code).fetch(conn);
    while let Some(r) = rows.try_next().await? {
        if let Err(e) = visit(posting(&r)) {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// The lines of one entry, for reversing it or showing it.
pub async fn entry(conn: &mut Conn, pool_code: &str, entry_no: i64) -> Result<Vec<StoredPosting>> {
    let sql = format!("{SELECT_POSTING} WHERE pool_code = $1 AND entry_no = $2 ORDER BY seq");
    let rows = sqlx::query(&sql)
        .bind(pool_code)
        .bind(entry_no)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(posting).collect())
}

/// The journal, newest first, of one scheme year (`before_seq` pages backwards).
pub async fn journal(
    conn: &mut Conn,
    pool_code: &str,
    year_id: i64,
    before_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<StoredPosting>> {
    let sql = format!(
        "{SELECT_POSTING} WHERE pool_code = $1 AND year_id = $2 AND seq < $3 ORDER BY seq DESC LIMIT $4"
    );
    let rows = sqlx::query(&sql)
        .bind(pool_code)
        .bind(year_id)
        .bind(before_seq.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(posting).collect())
}

/// `(account, debits, credits)` of a pool up to and including `as_of` (ISO date), optionally of
/// one scheme year only. The database sums; `ledger::TrialBalance` interprets.
pub async fn sums(
    conn: &mut Conn,
    pool_code: &str,
    as_of: &str,
    year_id: Option<i64>,
) -> Result<Vec<(String, i64, i64)>> {
    const SUMS: &str = "SELECT account, \
           CAST(COALESCE(SUM(CASE WHEN amount_fen > 0 THEN amount_fen ELSE 0 END), 0) AS BIGINT), \
           CAST(COALESCE(SUM(CASE WHEN amount_fen < 0 THEN -amount_fen ELSE 0 END), 0) AS BIGINT) \
         FROM ledger_postings WHERE pool_code = $1 AND effective_date <= $2";
    let rows = match year_id {
        None => {
            sqlx::query(&format!("{SUMS} GROUP BY account ORDER BY account"))
                .bind(pool_code)
                .bind(as_of)
                .fetch_all(conn)
                .await?
        }
        Some(y) => {
            sqlx::query(&format!(
                "{SUMS} AND year_id = $3 GROUP BY account ORDER BY account"
            ))
            .bind(pool_code)
            .bind(as_of)
            .bind(y)
            .fetch_all(conn)
            .await?
        }
    };
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// The first enrolment of the pool whose stored total disagrees with its ledger entry (the sum
/// of the entry's debits, in the same scheme year): `(enrolment id, the entry number)`. The
/// enrolment row lives outside the chain; this ties it to the chain.
pub async fn enrolment_disagreeing(conn: &mut Conn, pool_code: &str) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT e.id, e.entry_no FROM enrolments e JOIN scheme_years y ON y.id = e.year_id \
         WHERE y.pool_code = $1 AND e.total_fen <> COALESCE(( \
             SELECT CAST(SUM(p.amount_fen) AS BIGINT) FROM ledger_postings p \
             WHERE p.pool_code = y.pool_code AND p.entry_no = e.entry_no \
               AND p.year_id = e.year_id AND p.amount_fen > 0), -1) \
         ORDER BY e.id LIMIT 1",
    )
    .bind(pool_code)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The first donation of the pool whose amount, donor or year disagrees with its ledger entry
/// (the donor's name is in the entry's memo, which the chain covers): `(donation id, entry)`.
pub async fn donation_disagreeing(conn: &mut Conn, pool_code: &str) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT d.id, d.entry_no FROM donations d JOIN scheme_years y ON y.id = d.year_id \
         WHERE y.pool_code = $1 AND NOT EXISTS ( \
             SELECT 1 FROM ledger_postings p \
             WHERE p.pool_code = y.pool_code AND p.entry_no = d.entry_no \
               AND p.year_id = d.year_id AND p.kind = 'donation' AND p.amount_fen = d.amount_fen \
               AND p.effective_date = d.received_on \
               AND p.memo = (CASE WHEN d.donor_kind = 'organisation' THEN '单位' ELSE '个人' END) \
                            || '捐赠：' || d.donor_name) \
         ORDER BY d.id LIMIT 1",
    )
    .bind(pool_code)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The first payout line of the pool whose amount disagrees with the entries it cites: the
/// expense entry must debit 5001 and the payout entry credit 1001 by exactly the line's amount,
/// under the line's own reference. `(line id, entry)`.
pub async fn payout_disagreeing(conn: &mut Conn, pool_code: &str) -> Result<Option<(i64, i64)>> {
    let row = sqlx::query(
        "SELECT l.id, l.expense_entry FROM payout_lines l JOIN payout_batches b ON b.id = l.batch_id \
         WHERE b.pool_code = $1 AND l.expense_entry IS NOT NULL AND ( \
           NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.pool_code = b.pool_code \
             AND p.entry_no = l.expense_entry AND p.kind = 'subsidy' AND p.account = '5001' \
             AND p.amount_fen = l.amount_fen AND p.reference = 'payout_line:' || CAST(l.id AS TEXT)) \
           OR NOT EXISTS (SELECT 1 FROM ledger_postings p WHERE p.pool_code = b.pool_code \
             AND p.entry_no = l.payout_entry AND p.kind = 'payout' AND p.account = '1001' \
             AND p.amount_fen = -l.amount_fen AND p.reference = 'payout_line:' || CAST(l.id AS TEXT))) \
         ORDER BY l.id LIMIT 1",
    )
    .bind(pool_code)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The posting at `seq` of a pool, for checking a printed chain head.
pub async fn posting_at(
    conn: &mut Conn,
    pool_code: &str,
    seq: i64,
) -> Result<Option<StoredPosting>> {
    let sql = format!("{SELECT_POSTING} WHERE pool_code = $1 AND seq = $2");
    let row = sqlx::query(&sql)
        .bind(pool_code)
        .bind(seq)
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(posting))
}
