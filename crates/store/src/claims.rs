//! Claims, their documents, duplicate flags and history. Every read that names a claim takes a
//! `Scope` (on the claim's village, frozen at intake); state changes are conditional updates on
//! the expected state and revision, so two people deciding the same claim at once cannot both
//! win.

use crate::{Conn, Result, Scope, StoreError};
use chrono::NaiveDate;
use domain::{
    ClaimChannel, ClaimEventKind, ClaimId, ClaimStatus, DocumentRole, DuplicateKind, Fen,
    InsuranceType, Proposal,
};
use sqlx::Row;

/// A claim as stored: typed, ready for `app` to build views from.
#[derive(Debug, Clone)]
pub struct Claim {
    pub id: ClaimId,
    pub application_no: String,
    pub year_id: i64,
    pub pool_code: String,
    pub member_id: i64,
    pub household_id: i64,
    pub village_code: String,
    pub channel: ClaimChannel,
    pub status: ClaimStatus,
    pub hospital_id: i64,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    pub insurance: InsuranceType,
    pub consecutive_years: u32,
    pub money: StayMoney,
    pub settlement_no: String,
    pub received_at: String,
    pub received_on: NaiveDate,
    pub received_by: String,
    pub due_on: NaiveDate,
    /// Working days that were left when the clock stopped (待补件).
    pub days_left_paused: Option<u32>,
    pub coding: Coding,
    pub coded_by: Option<String>,
    pub coded_at: Option<String>,
    pub proposal: Option<Proposal>,
    pub proposal_note: String,
    pub amount: Fen,
    /// Codes of the rules applied (`claims::Reason::code`), `|`-separated.
    pub reasons: String,
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub decision_note: String,
    pub revision: i64,
}

/// The money of a stay as the settlement sheet states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StayMoney {
    pub total: Fen,
    /// 统筹 (basic insurance paid).
    pub basic: Fen,
    /// 大病保险.
    pub serious: Fen,
    /// 医疗救助.
    pub assistance: Fen,
    /// What the family paid: total − the three above.
    pub out_of_pocket: Fen,
}

/// The coder's work on a claim. Codes are stored as entered (checked against the grouper's
/// dictionaries by `app`); exclusions as their codes, `|`-separated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coding {
    pub principal_dx: String,
    pub secondary_dx: Vec<String>,
    pub procedures: Vec<String>,
    pub discharge_mode: u8,
    pub exclusions: Vec<String>,
    pub drg_version: String,
    pub drg_code: String,
    pub drg_name: String,
}

pub struct NewClaim<'a> {
    pub application_no: &'a str,
    pub year_id: i64,
    pub pool_code: &'a str,
    pub member_id: i64,
    pub household_id: i64,
    pub village_code: &'a str,
    pub channel: ClaimChannel,
    pub hospital_id: i64,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    pub insurance: InsuranceType,
    pub consecutive_years: u32,
    pub money: StayMoney,
    pub settlement_no: &'a str,
    pub received_at: &'a str,
    pub received_on: NaiveDate,
    pub received_by: &'a str,
    pub due_on: NaiveDate,
}

#[derive(Debug, Clone)]
pub struct Document {
    pub id: i64,
    pub claim_id: ClaimId,
    pub role: DocumentRole,
    pub kind: String,
    pub object_name: String,
    pub thumb_name: Option<String>,
    pub bytes: i64,
    pub pages: i64,
    pub sha256: String,
    pub uploaded_by: String,
    pub uploaded_at: String,
}

pub struct NewDocument<'a> {
    pub claim_id: ClaimId,
    pub pool_code: &'a str,
    pub role: DocumentRole,
    pub kind: &'a str,
    pub object_name: &'a str,
    pub thumb_name: Option<&'a str>,
    pub bytes: i64,
    pub pages: i64,
    pub sha256: &'a str,
    pub uploaded_by: &'a str,
    pub uploaded_at: &'a str,
}

#[derive(Debug, Clone)]
pub struct Flag {
    pub kind: DuplicateKind,
    pub other: ClaimId,
    pub other_application_no: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: String,
    pub by: String,
    pub kind: ClaimEventKind,
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub note: String,
}

/// One line of a claims list.
#[derive(Debug, Clone)]
pub struct Line {
    pub id: ClaimId,
    pub year_id: i64,
    pub application_no: String,
    pub member_name: String,
    pub village_code: String,
    pub village_name: String,
    pub hospital_name: String,
    pub status: ClaimStatus,
    pub received_on: NaiveDate,
    pub due_on: NaiveDate,
    pub discharge: NaiveDate,
    pub drg_code: String,
    pub amount: Fen,
}

/// What a list shows: the statuses, an optional village (inside the caller's scope), the month
/// received, "overdue by" a date, a member name prefix, and the page.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub statuses: Vec<ClaimStatus>,
    pub village_prefix: Option<String>,
    pub month: Option<(NaiveDate, NaiveDate)>,
    pub due_by: Option<NaiveDate>,
    pub member_name: Option<String>,
    pub member_id: Option<i64>,
    pub household_id: Option<i64>,
    /// Queue order (deadline first) rather than newest first.
    pub by_deadline: bool,
    pub offset: i64,
    pub limit: i64,
}

pub(crate) fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

pub(crate) fn date(r: &sqlx::any::AnyRow, col: &str) -> Result<NaiveDate> {
    let s: String = r.try_get(col)?;
    s.parse().map_err(|_| corrupt(col, &s))
}

pub(crate) fn coded<T>(
    r: &sqlx::any::AnyRow,
    col: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<T> {
    let s: String = r.try_get(col)?;
    parse(&s).ok_or_else(|| corrupt(col, &s))
}

fn list(s: &str) -> Vec<String> {
    s.split('|')
        .filter(|x| !x.is_empty())
        .map(str::to_string)
        .collect()
}

const CLAIM_COLUMNS: &str = "c.id, c.application_no, c.year_id, c.pool_code, c.member_id, \
    c.household_id, c.village_code, c.channel, c.status, c.hospital_id, c.admission_date, \
    c.discharge_date, c.insurance, c.consecutive_years, c.total_fen, c.basic_fen, c.serious_fen, \
    c.assistance_fen, c.oop_fen, c.settlement_no, c.received_at, c.received_on, c.received_by, \
    c.due_on, c.days_left_paused, c.principal_dx, c.secondary_dx, c.procedures, \
    c.discharge_mode, c.exclusions, c.drg_version, c.drg_code, c.drg_name, c.coded_by, \
    c.coded_at, c.proposal, c.proposal_note, c.amount_fen, c.reasons, c.decided_by, \
    c.decided_at, c.decision_note, c.revision";

fn claim(r: &sqlx::any::AnyRow) -> Result<Claim> {
    let fen = |col: &str| -> Result<Fen> { Ok(Fen(r.try_get::<i64, _>(col)?)) };
    let proposal: Option<String> = r.try_get("proposal")?;
    Ok(Claim {
        id: ClaimId(r.try_get("id")?),
        application_no: r.try_get("application_no")?,
        year_id: r.try_get("year_id")?,
        pool_code: r.try_get("pool_code")?,
        member_id: r.try_get("member_id")?,
        household_id: r.try_get("household_id")?,
        village_code: r.try_get("village_code")?,
        channel: coded(r, "channel", ClaimChannel::from_code)?,
        status: coded(r, "status", ClaimStatus::from_code)?,
        hospital_id: r.try_get("hospital_id")?,
        admission: date(r, "admission_date")?,
        discharge: date(r, "discharge_date")?,
        insurance: coded(r, "insurance", InsuranceType::from_code)?,
        consecutive_years: r.try_get::<i64, _>("consecutive_years")?.max(0) as u32,
        money: StayMoney {
            total: fen("total_fen")?,
            basic: fen("basic_fen")?,
            serious: fen("serious_fen")?,
            assistance: fen("assistance_fen")?,
            out_of_pocket: fen("oop_fen")?,
        },
        settlement_no: r.try_get("settlement_no")?,
        received_at: r.try_get("received_at")?,
        received_on: date(r, "received_on")?,
        received_by: r.try_get("received_by")?,
        due_on: date(r, "due_on")?,
        days_left_paused: r
            .try_get::<Option<i64>, _>("days_left_paused")?
            .map(|d| d.max(0) as u32),
        coding: Coding {
            principal_dx: r.try_get("principal_dx")?,
            secondary_dx: list(&r.try_get::<String, _>("secondary_dx")?),
            procedures: list(&r.try_get::<String, _>("procedures")?),
            discharge_mode: r.try_get::<i64, _>("discharge_mode")?.clamp(0, 9) as u8,
            exclusions: list(&r.try_get::<String, _>("exclusions")?),
            drg_version: r.try_get("drg_version")?,
            drg_code: r.try_get("drg_code")?,
            drg_name: r.try_get("drg_name")?,
        },
        coded_by: r.try_get("coded_by")?,
        coded_at: r.try_get("coded_at")?,
        proposal: match proposal {
            None => None,
            Some(p) => Some(Proposal::from_code(&p).ok_or_else(|| corrupt("proposal", &p))?),
        },
        proposal_note: r.try_get("proposal_note")?,
        amount: fen("amount_fen")?,
        reasons: r.try_get("reasons")?,
        decided_by: r.try_get("decided_by")?,
        decided_at: r.try_get("decided_at")?,
        decision_note: r.try_get("decision_note")?,
        revision: r.try_get("revision")?,
    })
}

/// Inserts a claim; `None` when the application number is taken (the caller draws another).
pub async fn insert(conn: &mut Conn, c: &NewClaim<'_>) -> Result<Option<ClaimId>> {
    let id: Option<i64> = sqlx::query_scalar(
        "INSERT INTO claims (application_no, year_id, pool_code, member_id, household_id, \
         village_code, channel, status, hospital_id, admission_date, discharge_date, insurance, \
         consecutive_years, total_fen, basic_fen, serious_fen, assistance_fen, oop_fen, \
         settlement_no, received_at, received_on, received_by, due_on) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23) ON CONFLICT (application_no) DO NOTHING RETURNING id",
    )
    .bind(c.application_no)
    .bind(c.year_id)
    .bind(c.pool_code)
    .bind(c.member_id)
    .bind(c.household_id)
    .bind(c.village_code)
    .bind(c.channel.code())
    .bind(ClaimStatus::Received.code())
    .bind(c.hospital_id)
    .bind(c.admission.to_string())
    .bind(c.discharge.to_string())
    .bind(c.insurance.code())
    .bind(i64::from(c.consecutive_years))
    .bind(c.money.total.0)
    .bind(c.money.basic.0)
    .bind(c.money.serious.0)
    .bind(c.money.assistance.0)
    .bind(c.money.out_of_pocket.0)
    .bind(c.settlement_no)
    .bind(c.received_at)
    .bind(c.received_on.to_string())
    .bind(c.received_by)
    .bind(c.due_on.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(id.map(ClaimId))
}

pub async fn get(conn: &mut Conn, scope: &Scope, id: ClaimId) -> Result<Option<Claim>> {
    let sql =
        format!("SELECT {CLAIM_COLUMNS} FROM claims c WHERE c.id = $1 AND c.village_code LIKE $2");
    let row = sqlx::query(&sql)
        .bind(id.0)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(claim).transpose()
}

/// Claims of the same member whose stay overlaps `[admission, discharge]`.
pub async fn overlapping(
    conn: &mut Conn,
    member_id: i64,
    admission: NaiveDate,
    discharge: NaiveDate,
    except: ClaimId,
) -> Result<Vec<ClaimId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM claims WHERE member_id = $1 AND admission_date <= $2 \
         AND discharge_date >= $3 AND id <> $4 ORDER BY id",
    )
    .bind(member_id)
    .bind(discharge.to_string())
    .bind(admission.to_string())
    .bind(except.0)
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(ClaimId).collect())
}

/// Claims of the pool with the same settlement sheet number.
pub async fn same_settlement(
    conn: &mut Conn,
    pool_code: &str,
    settlement_no: &str,
    except: ClaimId,
) -> Result<Vec<ClaimId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM claims WHERE pool_code = $1 AND settlement_no = $2 AND id <> $3 \
         ORDER BY id",
    )
    .bind(pool_code)
    .bind(settlement_no)
    .bind(except.0)
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(ClaimId).collect())
}

/// Other claims of the pool that carry a document with these bytes.
pub async fn same_document(
    conn: &mut Conn,
    pool_code: &str,
    sha256: &str,
    except: ClaimId,
) -> Result<Vec<ClaimId>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT claim_id FROM claim_documents WHERE pool_code = $1 AND sha256 = $2 \
         AND claim_id <> $3 ORDER BY claim_id",
    )
    .bind(pool_code)
    .bind(sha256)
    .bind(except.0)
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(ClaimId).collect())
}

pub async fn insert_flag(
    conn: &mut Conn,
    claim_id: ClaimId,
    kind: DuplicateKind,
    other: ClaimId,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO claim_flags (claim_id, kind, other_claim_id) VALUES ($1, $2, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(claim_id.0)
    .bind(kind.code())
    .bind(other.0)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn flags(conn: &mut Conn, claim_id: ClaimId) -> Result<Vec<Flag>> {
    let rows = sqlx::query(
        "SELECT f.kind, f.other_claim_id, o.application_no FROM claim_flags f \
         JOIN claims o ON o.id = f.other_claim_id WHERE f.claim_id = $1 \
         ORDER BY f.kind, f.other_claim_id",
    )
    .bind(claim_id.0)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Flag {
                kind: coded(r, "kind", DuplicateKind::from_code)?,
                other: ClaimId(r.try_get("other_claim_id")?),
                other_application_no: r.try_get("application_no")?,
            })
        })
        .collect()
}

pub async fn insert_document(conn: &mut Conn, d: &NewDocument<'_>) -> Result<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO claim_documents (claim_id, pool_code, role, kind, object_name, thumb_name, \
         bytes, pages, sha256, uploaded_by, uploaded_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(d.claim_id.0)
    .bind(d.pool_code)
    .bind(d.role.code())
    .bind(d.kind)
    .bind(d.object_name)
    .bind(d.thumb_name)
    .bind(d.bytes)
    .bind(d.pages)
    .bind(d.sha256)
    .bind(d.uploaded_by)
    .bind(d.uploaded_at)
    .fetch_one(conn)
    .await?;
    Ok(id)
}

fn document(r: &sqlx::any::AnyRow) -> Result<Document> {
    Ok(Document {
        id: r.try_get("id")?,
        claim_id: ClaimId(r.try_get("claim_id")?),
        role: coded(r, "role", DocumentRole::from_code)?,
        kind: r.try_get("kind")?,
        object_name: r.try_get("object_name")?,
        thumb_name: r.try_get("thumb_name")?,
        bytes: r.try_get("bytes")?,
        pages: r.try_get("pages")?,
        sha256: r.try_get("sha256")?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: r.try_get("uploaded_at")?,
    })
}

const DOCUMENT_COLUMNS: &str = "d.id, d.claim_id, d.role, d.kind, d.object_name, d.thumb_name, \
    d.bytes, d.pages, d.sha256, d.uploaded_by, d.uploaded_at";

/// The documents of a claim the caller has already found in scope.
pub async fn documents(conn: &mut Conn, claim_id: ClaimId) -> Result<Vec<Document>> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS} FROM claim_documents d WHERE d.claim_id = $1 \
         ORDER BY d.role, d.id"
    );
    let rows = sqlx::query(&sql).bind(claim_id.0).fetch_all(conn).await?;
    rows.iter().map(document).collect()
}

/// One document with its claim's village, found only through a claim inside `scope`.
pub async fn document_in_scope(
    conn: &mut Conn,
    scope: &Scope,
    claim_id: ClaimId,
    document_id: i64,
) -> Result<Option<(Document, String)>> {
    let sql = format!(
        "SELECT {DOCUMENT_COLUMNS}, c.village_code FROM claim_documents d \
         JOIN claims c ON c.id = d.claim_id \
         WHERE d.id = $1 AND d.claim_id = $2 AND c.village_code LIKE $3"
    );
    let row = sqlx::query(&sql)
        .bind(document_id)
        .bind(claim_id.0)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((document(&r)?, r.try_get("village_code")?)))
        .transpose()
}

pub struct NewEvent<'a> {
    pub claim_id: ClaimId,
    pub at: &'a str,
    pub by: &'a str,
    pub kind: ClaimEventKind,
    pub from: ClaimStatus,
    pub to: ClaimStatus,
    pub note: &'a str,
}

pub async fn insert_event(conn: &mut Conn, e: &NewEvent<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO claim_events (claim_id, at, by_user, kind, from_status, to_status, note) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.claim_id.0)
    .bind(e.at)
    .bind(e.by)
    .bind(e.kind.code())
    .bind(e.from.code())
    .bind(e.to.code())
    .bind(e.note)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn events(conn: &mut Conn, claim_id: ClaimId) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT at, by_user, kind, from_status, to_status, note FROM claim_events \
         WHERE claim_id = $1 ORDER BY id",
    )
    .bind(claim_id.0)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Event {
                at: r.try_get("at")?,
                by: r.try_get("by_user")?,
                kind: coded(r, "kind", ClaimEventKind::from_code)?,
                from: coded(r, "from_status", ClaimStatus::from_code)?,
                to: coded(r, "to_status", ClaimStatus::from_code)?,
                note: r.try_get("note")?,
            })
        })
        .collect()
}

/// Saves the coder's work if the claim is still with the coder at `revision`.
pub async fn save_coding(
    conn: &mut Conn,
    id: ClaimId,
    revision: i64,
    coding: &Coding,
    by: &str,
    at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE claims SET principal_dx = $1, secondary_dx = $2, procedures = $3, \
         discharge_mode = $4, exclusions = $5, drg_version = $6, drg_code = $7, drg_name = $8, \
         coded_by = $9, coded_at = $10, revision = revision + 1 \
         WHERE id = $11 AND revision = $12 AND status = $13",
    )
    .bind(&coding.principal_dx)
    .bind(coding.secondary_dx.join("|"))
    .bind(coding.procedures.join("|"))
    .bind(i64::from(coding.discharge_mode))
    .bind(coding.exclusions.join("|"))
    .bind(&coding.drg_version)
    .bind(&coding.drg_code)
    .bind(&coding.drg_name)
    .bind(by)
    .bind(at)
    .bind(id.0)
    .bind(revision)
    .bind(ClaimStatus::Received.code())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A change of state with what it sets. Applied only if the claim is in `from` at `revision`.
#[derive(Debug, Clone, Default)]
pub struct Transition<'a> {
    pub proposal: Option<(Proposal, &'a str)>,
    pub decision: Option<Decided<'a>>,
    /// Clear the decision (a re-opening or a return to the coder).
    pub clear_decision: bool,
    pub due_on: Option<NaiveDate>,
    /// `Some(Some(n))` stops the clock with n working days left; `Some(None)` clears it.
    pub paused: Option<Option<u32>>,
}

#[derive(Debug, Clone)]
pub struct Decided<'a> {
    pub amount: Fen,
    pub reasons: &'a str,
    pub by: &'a str,
    pub at: &'a str,
    pub note: &'a str,
}

pub async fn transition(
    conn: &mut Conn,
    id: ClaimId,
    from: ClaimStatus,
    revision: i64,
    to: ClaimStatus,
    t: &Transition<'_>,
) -> Result<bool> {
    let (proposal, proposal_note) = match t.proposal {
        Some((p, note)) => (Some(p.code()), note),
        None => (None, ""),
    };
    let (amount, reasons, by, at, note) = match &t.decision {
        Some(d) => (d.amount.0, d.reasons, Some(d.by), Some(d.at), d.note),
        None => (0, "", None, None, ""),
    };
    let keep_decision = t.decision.is_none() && !t.clear_decision;
    let keep_proposal = t.proposal.is_none() && !t.clear_decision;
    let done = sqlx::query(
        "UPDATE claims SET status = $1, revision = revision + 1, \
         proposal = CASE WHEN $2 = 1 THEN proposal ELSE $3 END, \
         proposal_note = CASE WHEN $2 = 1 THEN proposal_note ELSE $4 END, \
         amount_fen = CASE WHEN $5 = 1 THEN amount_fen ELSE $6 END, \
         reasons = CASE WHEN $5 = 1 THEN reasons ELSE $7 END, \
         decided_by = CASE WHEN $5 = 1 THEN decided_by ELSE $8 END, \
         decided_at = CASE WHEN $5 = 1 THEN decided_at ELSE $9 END, \
         decision_note = CASE WHEN $5 = 1 THEN decision_note ELSE $10 END, \
         due_on = COALESCE($11, due_on), \
         days_left_paused = CASE WHEN $12 = 1 THEN days_left_paused ELSE $13 END \
         WHERE id = $14 AND status = $15 AND revision = $16",
    )
    .bind(to.code())
    .bind(i64::from(keep_proposal))
    .bind(proposal)
    .bind(proposal_note)
    .bind(i64::from(keep_decision))
    .bind(amount)
    .bind(reasons)
    .bind(by)
    .bind(at)
    .bind(note)
    .bind(t.due_on.map(|d| d.to_string()))
    .bind(i64::from(t.paused.is_none()))
    .bind(t.paused.flatten().map(i64::from))
    .bind(id.0)
    .bind(from.code())
    .bind(revision)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The member's approved subsidies in a scheme year (for the yearly cap), other than `except`.
pub async fn approved_total(
    conn: &mut Conn,
    year_id: i64,
    member_id: i64,
    except: ClaimId,
) -> Result<Fen> {
    let sum: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM claims \
         WHERE year_id = $1 AND member_id = $2 AND status = $3 AND id <> $4",
    )
    .bind(year_id)
    .bind(member_id)
    .bind(ClaimStatus::Approved.code())
    .bind(except.0)
    .fetch_one(conn)
    .await?;
    Ok(Fen(sum))
}

/// A bound value of a query built from a filter.
enum Bind {
    Text(String),
    Int(i64),
}

/// The WHERE clause of a filter, with `$n` placeholders numbered from 1.
fn filter_sql(scope: &Scope, f: &Filter) -> (String, Vec<Bind>) {
    let mut binds = vec![Bind::Text(scope.like())];
    let mut sql = String::from(" WHERE c.village_code LIKE $1");
    let next = |b: Bind, binds: &mut Vec<Bind>| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if !f.statuses.is_empty() {
        let ps: Vec<String> = f
            .statuses
            .iter()
            .map(|s| next(Bind::Text(s.code().to_string()), &mut binds))
            .collect();
        sql.push_str(&format!(" AND c.status IN ({})", ps.join(", ")));
    }
    if let Some(v) = &f.village_prefix {
        let p = next(Bind::Text(format!("{v}%")), &mut binds);
        sql.push_str(&format!(" AND c.village_code LIKE {p}"));
    }
    if let Some((from, to)) = f.month {
        let a = next(Bind::Text(from.to_string()), &mut binds);
        let b = next(Bind::Text(to.to_string()), &mut binds);
        sql.push_str(&format!(
            " AND c.received_on >= {a} AND c.received_on <= {b}"
        ));
    }
    if let Some(d) = f.due_by {
        let p = next(Bind::Text(d.to_string()), &mut binds);
        sql.push_str(&format!(" AND c.due_on <= {p}"));
    }
    if let Some(name) = &f.member_name {
        let p = next(Bind::Text(format!("{name}%")), &mut binds);
        sql.push_str(&format!(" AND m.name LIKE {p}"));
    }
    if let Some(id) = f.member_id {
        let p = next(Bind::Int(id), &mut binds);
        sql.push_str(&format!(" AND c.member_id = {p}"));
    }
    if let Some(id) = f.household_id {
        let p = next(Bind::Int(id), &mut binds);
        sql.push_str(&format!(" AND c.household_id = {p}"));
    }
    (sql, binds)
}

/// A page of claims inside `scope` matching `f`, `f.limit + 1` lines at most (one more than the
/// page tells the caller there is a next one). Its cost follows the page and the open states,
/// not the pool: the queue reads the (status, due_on) index, the list reads ids newest first.
pub async fn lines(conn: &mut Conn, scope: &Scope, f: &Filter) -> Result<Vec<Line>> {
    let (filter, binds) = filter_sql(scope, f);
    let order = if f.by_deadline {
        "c.due_on, c.id"
    } else {
        "c.id DESC"
    };
    let sql = format!(
        "SELECT c.id, c.year_id, c.application_no, m.name AS member_name, c.village_code, \
         r.name AS village_name, h.name AS hospital_name, c.status, c.received_on, c.due_on, \
         c.discharge_date, c.drg_code, c.amount_fen FROM claims c \
         JOIN members m ON m.id = c.member_id JOIN regions r ON r.code = c.village_code \
         JOIN hospitals h ON h.id = c.hospital_id{filter} ORDER BY {order} \
         LIMIT {} OFFSET {}",
        f.limit.clamp(1, 10_000) + 1,
        f.offset.max(0)
    );
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            Bind::Text(t) => q.bind(t),
            Bind::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(conn).await?;
    rows.iter()
        .map(|r| {
            Ok(Line {
                id: ClaimId(r.try_get("id")?),
                year_id: r.try_get("year_id")?,
                application_no: r.try_get("application_no")?,
                member_name: r.try_get("member_name")?,
                village_code: r.try_get("village_code")?,
                village_name: r.try_get("village_name")?,
                hospital_name: r.try_get("hospital_name")?,
                status: coded(r, "status", ClaimStatus::from_code)?,
                received_on: date(r, "received_on")?,
                due_on: date(r, "due_on")?,
                discharge: date(r, "discharge_date")?,
                drg_code: r.try_get("drg_code")?,
                amount: Fen(r.try_get("amount_fen")?),
            })
        })
        .collect()
}

/// How many claims of each open state are inside `scope` (the open states are few; decided
/// claims are not counted, so the cost does not grow with the years' history).
pub async fn open_counts(conn: &mut Conn, scope: &Scope) -> Result<Vec<(ClaimStatus, i64)>> {
    let rows = sqlx::query(
        "SELECT status, CAST(COUNT(*) AS BIGINT) AS n FROM claims \
         WHERE status IN ($1, $2, $3) AND village_code LIKE $4 GROUP BY status",
    )
    .bind(ClaimStatus::Received.code())
    .bind(ClaimStatus::AwaitingDocuments.code())
    .bind(ClaimStatus::Proposed.code())
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((coded(r, "status", ClaimStatus::from_code)?, r.try_get("n")?)))
        .collect()
}

/// The scheme year (id, pool) whose pool contains `village_code` and whose period contains `on`.
pub async fn year_covering(
    conn: &mut Conn,
    village_code: &str,
    on: NaiveDate,
) -> Result<Option<(i64, String)>> {
    let row = sqlx::query(
        "SELECT id, pool_code FROM scheme_years WHERE $1 LIKE pool_code || '%' \
         AND period_start <= $2 AND period_end >= $2 ORDER BY period_start DESC LIMIT 1",
    )
    .bind(village_code)
    .bind(on.to_string())
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// A member's active enrolment line in a year: consecutive years, insurance frozen at
/// enrolment, and whether the member was included (paid for).
pub async fn enrolment_line(
    conn: &mut Conn,
    year_id: i64,
    member_id: i64,
) -> Result<Option<(u32, InsuranceType, bool)>> {
    let row = sqlx::query(
        "SELECT consecutive_years, insurance, included FROM enrolment_members \
         WHERE year_id = $1 AND member_id = $2 AND active = 1",
    )
    .bind(year_id)
    .bind(member_id)
    .fetch_optional(conn)
    .await?;
    row.map(|r| {
        Ok((
            r.try_get::<i64, _>(0)?.max(0) as u32,
            coded(&r, "insurance", InsuranceType::from_code)?,
            r.try_get::<i64, _>(2)? == 1,
        ))
    })
    .transpose()
}

/// Whether any claim exists (the demo loads its claims once).
pub async fn any(conn: &mut Conn) -> Result<bool> {
    let n: Option<i64> = sqlx::query_scalar("SELECT id FROM claims LIMIT 1")
        .fetch_optional(conn)
        .await?;
    Ok(n.is_some())
}

/// Up to `limit` members enrolled (and paid for) in a year, one per household, with the
/// resident insurance; for the demo.
pub async fn enrolled_members(conn: &mut Conn, year_id: i64, limit: i64) -> Result<Vec<i64>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT MIN(e.member_id) FROM enrolment_members e JOIN enrolments n ON n.id = e.enrolment_id \
         WHERE e.year_id = $1 AND e.active = 1 AND e.included = 1 AND e.insurance = 'resident' \
         GROUP BY n.household_id ORDER BY MIN(e.member_id) LIMIT $2",
    )
    .bind(year_id)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    Ok(ids)
}
