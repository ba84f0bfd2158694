//! Enrolments of whole households in a scheme year, and the figures built from them.

use crate::roster::{rows_per_insert, values_placeholders};
use crate::{is_unique_violation, Conn, Result, Scope, StoreError};
use sqlx::Row;
use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct NewEnrolment {
    pub year_id: i64,
    pub rules_version: i64,
    pub household_id: i64,
    pub village_code: String,
    pub payment_method: String,
    pub payment_reference: String,
    pub receipt_no: String,
    pub members: i64,
    pub personal_fen: i64,
    pub total_fen: i64,
    pub entry_no: i64,
    pub enrolled_by: String,
    pub enrolled_at: String,
}

/// One member's line of an enrolment (included or left out with a reason), with the facts the
/// risk model and the dues need frozen as they were on the day of enrolment.
#[derive(Debug, Clone)]
pub struct NewMemberLine {
    pub member_id: i64,
    pub village_code: String,
    pub included: bool,
    pub exclusion_reason: String,
    pub consecutive_years: i64,
    pub age: i64,
    pub sex: i64,
    pub insurance: String,
    pub statuses: String,
    pub due_personal: i64,
    pub due_village: i64,
    pub due_town: i64,
    pub due_county: i64,
    pub due_charity: i64,
}

#[derive(Debug, Clone)]
pub struct EnrolmentRow {
    pub id: i64,
    pub year_id: i64,
    pub rules_version: i64,
    pub household_id: i64,
    pub household_no: String,
    pub village_code: String,
    pub payment_method: String,
    pub payment_reference: String,
    pub receipt_no: String,
    pub members: i64,
    pub personal_fen: i64,
    pub total_fen: i64,
    pub entry_no: i64,
    pub enrolled_by: String,
    pub enrolled_at: String,
    pub active: bool,
    pub reversed_by: Option<String>,
    pub reversed_at: Option<String>,
    pub reversal_reason: Option<String>,
}

#[derive(Debug, Clone)]
pub struct MemberLine {
    pub member_id: i64,
    pub name: String,
    pub id_masked: String,
    pub relation: String,
    pub included: bool,
    pub exclusion_reason: String,
    pub consecutive_years: i64,
    pub insurance: String,
    pub statuses: String,
    pub due_personal: i64,
    pub due_village: i64,
    pub due_town: i64,
    pub due_county: i64,
    pub due_charity: i64,
}

const ENROLMENT_COLS: usize = 13;
const LINE_COLS: usize = 16;

fn conflict(e: sqlx::Error) -> StoreError {
    if is_unique_violation(&e) {
        StoreError::Conflict("household already enrolled in this year".into())
    } else {
        e.into()
    }
}

/// Inserts enrolments and their member lines; returns the enrolment ids in input order. A
/// household already actively enrolled in the year makes the whole call fail with `Conflict`.
pub async fn insert(
    conn: &mut Conn,
    enrolments: &[(NewEnrolment, Vec<NewMemberLine>)],
) -> Result<Vec<i64>> {
    if enrolments.is_empty() {
        return Ok(Vec::new());
    }
    let per = rows_per_insert(conn, ENROLMENT_COLS);
    for chunk in enrolments.chunks(per) {
        let sql = format!(
            "INSERT INTO enrolments (year_id, rules_version, household_id, village_code, \
             payment_method, payment_reference, receipt_no, members, personal_fen, total_fen, \
             entry_no, enrolled_by, enrolled_at) VALUES {}",
            values_placeholders(chunk.len(), ENROLMENT_COLS)
        );
        let mut q = sqlx::query(&sql);
        for (e, _) in chunk {
            q = q
                .bind(e.year_id)
                .bind(e.rules_version)
                .bind(e.household_id)
                .bind(&e.village_code)
                .bind(&e.payment_method)
                .bind(&e.payment_reference)
                .bind(&e.receipt_no)
                .bind(e.members)
                .bind(e.personal_fen)
                .bind(e.total_fen)
                .bind(e.entry_no)
                .bind(&e.enrolled_by)
                .bind(&e.enrolled_at);
        }
        q.execute(&mut *conn).await.map_err(conflict)?;
    }
    // Ids by receipt number (unique per year), whatever order the database assigned them in.
    let year_id = enrolments[0].0.year_id;
    let mut ids = Vec::with_capacity(enrolments.len());
    let receipt_ids: HashMap<String, i64> = if enrolments.len() == 1 {
        let id: i64 =
            sqlx::query_scalar("SELECT id FROM enrolments WHERE year_id = $1 AND receipt_no = $2")
                .bind(year_id)
                .bind(&enrolments[0].0.receipt_no)
                .fetch_one(&mut *conn)
                .await?;
        HashMap::from([(enrolments[0].0.receipt_no.clone(), id)])
    } else {
        let first_entry = enrolments
            .iter()
            .map(|(e, _)| e.entry_no)
            .min()
            .unwrap_or(0);
        sqlx::query("SELECT receipt_no, id FROM enrolments WHERE year_id = $1 AND entry_no >= $2")
            .bind(year_id)
            .bind(first_entry)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    };
    for (e, _) in enrolments {
        ids.push(receipt_ids[&e.receipt_no]);
    }

    let lines: Vec<(i64, &NewMemberLine)> = enrolments
        .iter()
        .zip(&ids)
        .flat_map(|((_, ls), id)| ls.iter().map(move |l| (*id, l)))
        .collect();
    let per = rows_per_insert(conn, LINE_COLS);
    for chunk in lines.chunks(per) {
        let sql = format!(
            "INSERT INTO enrolment_members (enrolment_id, year_id, member_id, village_code, \
             included, exclusion_reason, consecutive_years, age, sex, insurance, statuses, \
             due_personal, due_village, due_town, due_county, due_charity) VALUES {}",
            values_placeholders(chunk.len(), LINE_COLS)
        );
        let mut q = sqlx::query(&sql);
        for (id, l) in chunk {
            q = q
                .bind(*id)
                .bind(year_id)
                .bind(l.member_id)
                .bind(&l.village_code)
                .bind(l.included as i64)
                .bind(&l.exclusion_reason)
                .bind(l.consecutive_years)
                .bind(l.age)
                .bind(l.sex)
                .bind(&l.insurance)
                .bind(&l.statuses)
                .bind(l.due_personal)
                .bind(l.due_village)
                .bind(l.due_town)
                .bind(l.due_county)
                .bind(l.due_charity);
        }
        q.execute(&mut *conn).await.map_err(conflict)?;
    }
    Ok(ids)
}

const SELECT_ENROLMENT: &str = "SELECT e.id, e.year_id, e.rules_version, e.household_id, \
    h.household_no, e.village_code, e.payment_method, e.payment_reference, e.receipt_no, \
    e.members, e.personal_fen, e.total_fen, e.entry_no, e.enrolled_by, e.enrolled_at, e.active, \
    e.reversed_by, e.reversed_at, e.reversal_reason \
    FROM enrolments e JOIN households h ON h.id = e.household_id";

fn enrolment(r: &sqlx::any::AnyRow) -> EnrolmentRow {
    EnrolmentRow {
        id: r.get(0),
        year_id: r.get(1),
        rules_version: r.get(2),
        household_id: r.get(3),
        household_no: r.get(4),
        village_code: r.get(5),
        payment_method: r.get(6),
        payment_reference: r.get(7),
        receipt_no: r.get(8),
        members: r.get(9),
        personal_fen: r.get(10),
        total_fen: r.get(11),
        entry_no: r.get(12),
        enrolled_by: r.get(13),
        enrolled_at: r.get(14),
        active: r.get::<i64, _>(15) != 0,
        reversed_by: r.get(16),
        reversed_at: r.get(17),
        reversal_reason: r.get(18),
    }
}

pub async fn get(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<EnrolmentRow>> {
    let sql = format!("{SELECT_ENROLMENT} WHERE e.id = $1 AND e.village_code LIKE $2");
    let row = sqlx::query(&sql)
        .bind(id)
        .bind(scope.like())
        .fetch_optional(conn)
        .await?;
    Ok(row.as_ref().map(enrolment))
}

/// Every enrolment (active or reversed) of a household in a year, newest first.
pub async fn history_for_household(
    conn: &mut Conn,
    year_id: i64,
    household_id: i64,
) -> Result<Vec<EnrolmentRow>> {
    let sql = format!(
        "{SELECT_ENROLMENT} WHERE e.year_id = $1 AND e.household_id = $2 ORDER BY e.id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(year_id)
        .bind(household_id)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(enrolment).collect())
}

pub async fn for_village(
    conn: &mut Conn,
    year_id: i64,
    village_code: &str,
) -> Result<Vec<EnrolmentRow>> {
    let sql = format!(
        "{SELECT_ENROLMENT} WHERE e.year_id = $1 AND e.village_code = $2 ORDER BY e.id DESC"
    );
    let rows = sqlx::query(&sql)
        .bind(year_id)
        .bind(village_code)
        .fetch_all(conn)
        .await?;
    Ok(rows.iter().map(enrolment).collect())
}

pub async fn member_lines(conn: &mut Conn, enrolment_id: i64) -> Result<Vec<MemberLine>> {
    let rows = sqlx::query(
        "SELECT l.member_id, m.name, m.id_masked, m.relation, l.included, l.exclusion_reason, \
         l.consecutive_years, l.insurance, l.statuses, l.due_personal, l.due_village, l.due_town, \
         l.due_county, l.due_charity FROM enrolment_members l JOIN members m ON m.id = l.member_id \
         WHERE l.enrolment_id = $1 ORDER BY l.id",
    )
    .bind(enrolment_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| MemberLine {
            member_id: r.get(0),
            name: r.get(1),
            id_masked: r.get(2),
            relation: r.get(3),
            included: r.get::<i64, _>(4) != 0,
            exclusion_reason: r.get(5),
            consecutive_years: r.get(6),
            insurance: r.get(7),
            statuses: r.get(8),
            due_personal: r.get(9),
            due_village: r.get(10),
            due_town: r.get(11),
            due_county: r.get(12),
            due_charity: r.get(13),
        })
        .collect())
}

/// Marks an enrolment reversed (the ledger gets the reversing entry from the caller). Returns
/// false when it was not active, so a double click reverses once.
pub async fn reverse(
    conn: &mut Conn,
    id: i64,
    by: &str,
    at: &str,
    reason: &str,
    reversal_entry_no: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE enrolments SET active = 0, reversed_by = $2, reversed_at = $3, reversal_reason = $4, \
         reversal_entry_no = $5 WHERE id = $1 AND active = 1",
    )
    .bind(id)
    .bind(by)
    .bind(at)
    .bind(reason)
    .bind(reversal_entry_no)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE enrolment_members SET active = 0 WHERE enrolment_id = $1")
        .bind(id)
        .execute(conn)
        .await?;
    Ok(true)
}

/// Consecutive-year counts of members who were included in `year_id` (the previous year).
pub async fn consecutive_years(conn: &mut Conn, year_id: i64) -> Result<HashMap<i64, i64>> {
    let rows = sqlx::query(
        "SELECT member_id, consecutive_years FROM enrolment_members \
         WHERE year_id = $1 AND active = 1 AND included = 1",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Households actively enrolled in a year inside `scope`: (household id, village, household no).
pub async fn enrolled_households(
    conn: &mut Conn,
    year_id: i64,
    scope: &Scope,
) -> Result<Vec<(i64, String, String)>> {
    let rows = sqlx::query(
        "SELECT e.household_id, h.village_code, h.household_no FROM enrolments e \
         JOIN households h ON h.id = e.household_id \
         WHERE e.year_id = $1 AND e.active = 1 AND e.village_code LIKE $2 ORDER BY e.household_id",
    )
    .bind(year_id)
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Enrolments (active or reversed) per household in a year.
pub async fn counts_by_household(conn: &mut Conn, year_id: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT household_id, CAST(COUNT(*) AS BIGINT) FROM enrolments WHERE year_id = $1 \
         GROUP BY household_id",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Per village: members included, households enrolled, and dues by payer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VillageEnrolment {
    pub village_code: String,
    pub households: i64,
    pub members: i64,
    pub consecutive_members: i64,
    pub special_members: i64,
    pub due_personal: i64,
    pub due_village: i64,
    pub due_town: i64,
    pub due_county: i64,
    pub due_charity: i64,
}

pub async fn village_figures(
    conn: &mut Conn,
    year_id: i64,
    scope: &Scope,
) -> Result<Vec<VillageEnrolment>> {
    let rows = sqlx::query(
        "SELECT village_code, CAST(COUNT(DISTINCT enrolment_id) AS BIGINT), CAST(COUNT(*) AS BIGINT), \
           CAST(SUM(CASE WHEN consecutive_years > 1 THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN statuses <> '' THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(due_personal) AS BIGINT), CAST(SUM(due_village) AS BIGINT), \
           CAST(SUM(due_town) AS BIGINT), CAST(SUM(due_county) AS BIGINT), \
           CAST(SUM(due_charity) AS BIGINT) \
         FROM enrolment_members WHERE year_id = $1 AND active = 1 AND included = 1 \
           AND village_code LIKE $2 GROUP BY village_code ORDER BY village_code",
    )
    .bind(year_id)
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| VillageEnrolment {
            village_code: r.get(0),
            households: r.get(1),
            members: r.get(2),
            consecutive_members: r.get(3),
            special_members: r.get(4),
            due_personal: r.get(5),
            due_village: r.get(6),
            due_town: r.get(7),
            due_county: r.get(8),
            due_charity: r.get(9),
        })
        .collect())
}

/// Members included in the year, for the risk model: (age, sex, insurance, consecutive) counts.
pub async fn risk_profile(
    conn: &mut Conn,
    year_id: i64,
) -> Result<Vec<(i64, i64, String, bool, i64)>> {
    let rows = sqlx::query(
        "SELECT age, sex, insurance, CAST(CASE WHEN consecutive_years > 1 THEN 1 ELSE 0 END AS BIGINT) AS c, \
           CAST(COUNT(*) AS BIGINT) FROM enrolment_members \
         WHERE year_id = $1 AND active = 1 AND included = 1 GROUP BY age, sex, insurance, c",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get::<i64, _>(3) != 0,
                r.get(4),
            )
        })
        .collect())
}

/// A registered member as enrolment needs them: household, village, and the facts that set
/// dues and risk class. `statuses` are the special statuses valid on `on` (ISO date), joined by
/// commas.
#[derive(Debug, Clone)]
pub struct RosterLine {
    pub member_id: i64,
    pub household_id: i64,
    pub household_no: String,
    pub village_code: String,
    pub name: String,
    pub id_hash: Vec<u8>,
    pub id_masked: String,
    pub birth_date: String,
    pub sex: i64,
    pub relation: String,
    pub insurance: String,
    pub statuses: Vec<String>,
}

/// Registered members inside `scope`, optionally of one household, ordered by household.
pub async fn roster_lines(
    conn: &mut Conn,
    scope: &Scope,
    household_id: Option<i64>,
    on: &str,
) -> Result<Vec<RosterLine>> {
    // `$2 = 0` (no household) or the household's id; one statement either way.
    let sql = "SELECT m.id, m.household_id, h.household_no, m.village_code, m.name, m.id_hash, \
           m.birth_date, m.sex, m.relation, m.insurance, m.id_masked \
         FROM members m JOIN households h ON h.id = m.household_id \
         WHERE m.village_code LIKE $1 AND ($2 = 0 OR m.household_id = $2) ORDER BY m.household_id, m.id";
    let rows = sqlx::query(sql)
        .bind(scope.like())
        .bind(household_id.unwrap_or(0))
        .fetch_all(&mut *conn)
        .await?;
    let mut lines: Vec<RosterLine> = rows
        .iter()
        .map(|r| RosterLine {
            member_id: r.get(0),
            household_id: r.get(1),
            household_no: r.get(2),
            village_code: r.get(3),
            name: r.get(4),
            id_hash: r.get(5),
            birth_date: r.get(6),
            sex: r.get(7),
            relation: r.get(8),
            insurance: r.get(9),
            id_masked: r.get(10),
            statuses: Vec::new(),
        })
        .collect();
    let sql =
        "SELECT s.member_id, s.status FROM member_statuses s JOIN members m ON m.id = s.member_id \
         WHERE m.village_code LIKE $1 AND ($2 = 0 OR m.household_id = $2) AND s.since <= $3 \
           AND (s.until IS NULL OR s.until >= $3) ORDER BY s.member_id, s.status";
    let rows = sqlx::query(sql)
        .bind(scope.like())
        .bind(household_id.unwrap_or(0))
        .bind(on)
        .fetch_all(&mut *conn)
        .await?;
    let mut statuses: HashMap<i64, Vec<String>> = HashMap::new();
    for r in &rows {
        statuses.entry(r.get(0)).or_default().push(r.get(1));
    }
    for l in &mut lines {
        if let Some(s) = statuses.remove(&l.member_id) {
            l.statuses = s;
        }
    }
    Ok(lines)
}

/// Included members with special statuses per village: (village, statuses joined by commas,
/// count).
pub async fn status_counts(conn: &mut Conn, year_id: i64) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT village_code, statuses, CAST(COUNT(*) AS BIGINT) FROM enrolment_members \
         WHERE year_id = $1 AND active = 1 AND included = 1 AND statuses <> '' \
         GROUP BY village_code, statuses",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}
