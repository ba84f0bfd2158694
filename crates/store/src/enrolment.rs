//! Enrolments of whole households in a scheme year, and the figures built from them.

use crate::roster::{rows_per_insert, values_placeholders};
use crate::{is_unique_violation, Conn, Result, Scope, StoreError};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

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
    let mut delta = FigureDelta::default();
    for (_, ls) in enrolments {
        delta.add(
            year_id,
            ls.iter().filter(|l| l.included).map(|l| LineFacts {
                village_code: l.village_code.clone(),
                consecutive_years: l.consecutive_years,
                statuses: l.statuses.clone(),
                dues: [
                    l.due_personal,
                    l.due_village,
                    l.due_town,
                    l.due_county,
                    l.due_charity,
                ],
            }),
            1,
        );
    }
    delta.apply(conn).await?;
    Ok(ids)
}

/// What one included member line adds to its village's figures.
struct LineFacts {
    village_code: String,
    consecutive_years: i64,
    statuses: String,
    dues: [i64; 5],
}

/// Changes to `year_village_figures` and `year_village_statuses`, summed per key before they are
/// written (one upsert per village, in key order so that concurrent writers lock rows in the
/// same order).
#[derive(Default)]
struct FigureDelta {
    /// (year, village) → [households, members, consecutive, special, five dues].
    villages: BTreeMap<(i64, String), [i64; 9]>,
    statuses: BTreeMap<(i64, String, String), i64>,
}

impl FigureDelta {
    /// Adds (sign 1) or removes (sign -1) one enrolment's included lines: each village the
    /// enrolment has an included member in counts it once as a household.
    fn add(&mut self, year_id: i64, lines: impl Iterator<Item = LineFacts>, sign: i64) {
        let mut seen: Vec<String> = Vec::new();
        for l in lines {
            let v = self
                .villages
                .entry((year_id, l.village_code.clone()))
                .or_default();
            if !seen.contains(&l.village_code) {
                v[0] += sign;
                seen.push(l.village_code.clone());
            }
            v[1] += sign;
            if l.consecutive_years > 1 {
                v[2] += sign;
            }
            if !l.statuses.is_empty() {
                v[3] += sign;
                *self
                    .statuses
                    .entry((year_id, l.village_code.clone(), l.statuses.clone()))
                    .or_default() += sign;
            }
            for (k, d) in l.dues.iter().enumerate() {
                v[4 + k] += sign * d;
            }
        }
    }

    async fn apply(&self, conn: &mut Conn) -> Result<()> {
        const COLS: usize = 11;
        let villages: Vec<_> = self.villages.iter().collect();
        for chunk in villages.chunks(rows_per_insert(conn, COLS)) {
            let sql = format!(
                "INSERT INTO year_village_figures (year_id, village_code, households, members, \
                 consecutive_members, special_members, due_personal, due_village, due_town, \
                 due_county, due_charity) VALUES {} \
                 ON CONFLICT (year_id, village_code) DO UPDATE SET \
                 households = year_village_figures.households + excluded.households, \
                 members = year_village_figures.members + excluded.members, \
                 consecutive_members = year_village_figures.consecutive_members + excluded.consecutive_members, \
                 special_members = year_village_figures.special_members + excluded.special_members, \
                 due_personal = year_village_figures.due_personal + excluded.due_personal, \
                 due_village = year_village_figures.due_village + excluded.due_village, \
                 due_town = year_village_figures.due_town + excluded.due_town, \
                 due_county = year_village_figures.due_county + excluded.due_county, \
                 due_charity = year_village_figures.due_charity + excluded.due_charity",
                values_placeholders(chunk.len(), COLS)
            );
            let mut q = sqlx::query(&sql);
            for ((year_id, village), v) in chunk {
                q = q.bind(*year_id).bind(village.as_str());
                for x in v.iter() {
                    q = q.bind(*x);
                }
            }
            q.execute(&mut *conn).await?;
        }
        const SCOLS: usize = 4;
        let statuses: Vec<_> = self.statuses.iter().collect();
        for chunk in statuses.chunks(rows_per_insert(conn, SCOLS)) {
            let sql = format!(
                "INSERT INTO year_village_statuses (year_id, village_code, statuses, members) \
                 VALUES {} ON CONFLICT (year_id, village_code, statuses) DO UPDATE SET \
                 members = year_village_statuses.members + excluded.members",
                values_placeholders(chunk.len(), SCOLS)
            );
            let mut q = sqlx::query(&sql);
            for ((year_id, village, statuses), n) in chunk {
                q = q
                    .bind(*year_id)
                    .bind(village.as_str())
                    .bind(statuses.as_str())
                    .bind(**n);
            }
            q.execute(&mut *conn).await?;
        }
        Ok(())
    }
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

/// The active enrolments of some households of a village in a year: the households on one
/// page of the village's list (at most a page's worth of ids).
pub async fn active_for_households(
    conn: &mut Conn,
    year_id: i64,
    village_code: &str,
    household_ids: &[i64],
) -> Result<Vec<EnrolmentRow>> {
    if household_ids.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..household_ids.len())
        .map(|i| format!("${}", i + 3))
        .collect();
    let sql = format!(
        "{SELECT_ENROLMENT} WHERE e.year_id = $1 AND e.village_code = $2 AND e.active = 1 \
         AND e.household_id IN ({}) ORDER BY e.id DESC",
        list.join(", ")
    );
    let mut q = sqlx::query(&sql).bind(year_id).bind(village_code);
    for id in household_ids {
        q = q.bind(*id);
    }
    Ok(q.fetch_all(conn).await?.iter().map(enrolment).collect())
}

/// How many households of a village are actively enrolled in a year (an index count).
pub async fn active_count(conn: &mut Conn, year_id: i64, village_code: &str) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM enrolments \
         WHERE year_id = $1 AND village_code = $2 AND active = 1",
    )
    .bind(year_id)
    .bind(village_code)
    .fetch_one(conn)
    .await?)
}

/// The reversed enrolments of a village in a year, newest first.
pub async fn reversed_for_village(
    conn: &mut Conn,
    year_id: i64,
    village_code: &str,
) -> Result<Vec<EnrolmentRow>> {
    let sql = format!(
        "{SELECT_ENROLMENT} WHERE e.year_id = $1 AND e.village_code = $2 AND e.active = 0 \
         ORDER BY e.id DESC"
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
        .execute(&mut *conn)
        .await?;
    let rows = sqlx::query(
        "SELECT year_id, village_code, consecutive_years, statuses, due_personal, due_village, \
         due_town, due_county, due_charity FROM enrolment_members \
         WHERE enrolment_id = $1 AND included = 1",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(first) = rows.first() {
        let mut delta = FigureDelta::default();
        delta.add(
            first.get(0),
            rows.iter().map(|r| LineFacts {
                village_code: r.get(1),
                consecutive_years: r.get(2),
                statuses: r.get(3),
                dues: [r.get(4), r.get(5), r.get(6), r.get(7), r.get(8)],
            }),
            -1,
        );
        delta.apply(conn).await?;
    }
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

/// Per-village enrolment figures of a year inside `scope`, in village order, from the summary
/// kept by every enrolment and reversal (`year_village_figures`): one row per village, whatever
/// the size of the pool.
pub async fn village_figures(
    conn: &mut Conn,
    year_id: i64,
    scope: &Scope,
) -> Result<Vec<VillageEnrolment>> {
    let rows = sqlx::query(
        "SELECT village_code, households, members, consecutive_members, special_members, \
           due_personal, due_village, due_town, due_county, due_charity \
         FROM year_village_figures WHERE year_id = $1 AND village_code LIKE $2 AND members <> 0 \
         ORDER BY village_code",
    )
    .bind(year_id)
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    Ok(rows.iter().map(village_enrolment).collect())
}

fn village_enrolment(r: &sqlx::any::AnyRow) -> VillageEnrolment {
    VillageEnrolment {
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
    }
}

/// The same figures as [`village_figures`], grouped afresh from every enrolment line: the
/// reference the summary is checked against ([`verify_figures`]).
pub async fn recount_village_figures(
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
    Ok(rows.iter().map(village_enrolment).collect())
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
/// count), in that order, from the summary kept by every enrolment and reversal.
pub async fn status_counts(conn: &mut Conn, year_id: i64) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT village_code, statuses, members FROM year_village_statuses \
         WHERE year_id = $1 AND members <> 0 ORDER BY village_code, statuses",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// [`status_counts`] grouped afresh from every enrolment line (the reference).
pub async fn recount_status_counts(
    conn: &mut Conn,
    year_id: i64,
) -> Result<Vec<(String, String, i64)>> {
    let rows = sqlx::query(
        "SELECT village_code, statuses, CAST(COUNT(*) AS BIGINT) FROM enrolment_members \
         WHERE year_id = $1 AND active = 1 AND included = 1 AND statuses <> '' \
         GROUP BY village_code, statuses ORDER BY village_code, statuses",
    )
    .bind(year_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Where the per-village summaries differ from a fresh GROUP BY over the base tables, one line
/// per difference (empty when they agree): every year's enrolment figures and status counts, and
/// the registered counts of every village.
pub async fn verify_figures(conn: &mut Conn) -> Result<Vec<String>> {
    let all = Scope::all();
    let mut out = Vec::new();
    let years: Vec<i64> = sqlx::query_scalar("SELECT id FROM scheme_years ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    for year_id in years {
        let kept = village_figures(conn, year_id, &all).await?;
        let fresh = recount_village_figures(conn, year_id, &all).await?;
        if kept != fresh {
            out.push(format!(
                "year {year_id}: village figures {kept:?} != recount {fresh:?}"
            ));
        }
        let kept = status_counts(conn, year_id).await?;
        let fresh = recount_status_counts(conn, year_id).await?;
        if kept != fresh {
            out.push(format!(
                "year {year_id}: status counts {kept:?} != recount {fresh:?}"
            ));
        }
    }
    let kept = crate::roster::counts_by_village(conn, &all).await?;
    let fresh = crate::roster::recount_registered(conn, &all).await?;
    if kept != fresh {
        let mut codes: Vec<&String> = kept.keys().chain(fresh.keys()).collect();
        codes.sort();
        codes.dedup();
        for c in codes {
            if kept.get(c) != fresh.get(c) {
                out.push(format!(
                    "village {c}: registered {:?} != recount {:?}",
                    kept.get(c),
                    fresh.get(c)
                ));
            }
        }
    }
    Ok(out)
}

/// Rebuilds the per-village summaries from the base tables (the migration's back-fill). For
/// data written around the store (a restore, a bulk load) and for repairs after
/// [`verify_figures`] found a difference; run it inside a write transaction.
pub async fn rebuild_figures(conn: &mut Conn) -> Result<()> {
    for sql in [
        "DELETE FROM year_village_figures",
        "DELETE FROM year_village_statuses",
        "DELETE FROM village_counts",
        "INSERT INTO year_village_figures (year_id, village_code, households, members, \
           consecutive_members, special_members, due_personal, due_village, due_town, due_county, \
           due_charity) \
         SELECT year_id, village_code, CAST(COUNT(DISTINCT enrolment_id) AS BIGINT), \
           CAST(COUNT(*) AS BIGINT), \
           CAST(SUM(CASE WHEN consecutive_years > 1 THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(CASE WHEN statuses <> '' THEN 1 ELSE 0 END) AS BIGINT), \
           CAST(SUM(due_personal) AS BIGINT), CAST(SUM(due_village) AS BIGINT), \
           CAST(SUM(due_town) AS BIGINT), CAST(SUM(due_county) AS BIGINT), \
           CAST(SUM(due_charity) AS BIGINT) \
         FROM enrolment_members WHERE active = 1 AND included = 1 GROUP BY year_id, village_code",
        "INSERT INTO year_village_statuses (year_id, village_code, statuses, members) \
         SELECT year_id, village_code, statuses, CAST(COUNT(*) AS BIGINT) FROM enrolment_members \
         WHERE active = 1 AND included = 1 AND statuses <> '' \
         GROUP BY year_id, village_code, statuses",
        "INSERT INTO village_counts (village_code, households, members) \
         SELECT r.code, \
           CAST((SELECT COUNT(*) FROM households h WHERE h.village_code = r.code) AS BIGINT), \
           CAST((SELECT COUNT(*) FROM members m WHERE m.village_code = r.code) AS BIGINT) \
         FROM regions r \
         WHERE EXISTS (SELECT 1 FROM households h WHERE h.village_code = r.code) \
           OR EXISTS (SELECT 1 FROM members m WHERE m.village_code = r.code)",
    ] {
        sqlx::query(sql).execute(&mut *conn).await?;
    }
    Ok(())
}
