//! Households and members. Personal identifiers arrive already encrypted and hashed (by `app`);
//! this layer stores ciphertext, keyed hashes for lookup, and the masked forms for lists.

use crate::{is_unique_violation, Conn, Result, Scope, StoreError};
use sqlx::Row;
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone)]
pub struct Member {
    pub id: i64,
    pub household_id: i64,
    pub village_code: String,
    pub name: String,
    pub id_cipher: Vec<u8>,
    pub id_masked: String,
    pub birth_date: String,
    pub sex: i64,
    pub phone_cipher: Option<Vec<u8>>,
    pub phone_masked: Option<String>,
    pub relation: String,
    pub insurance: String,
}

#[derive(Debug, Clone)]
pub struct MemberStatus {
    pub status: String,
    pub since: String,
    pub until: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewMember {
    pub household_id: i64,
    pub village_code: String,
    pub name: String,
    pub id_cipher: Vec<u8>,
    pub id_hash: Vec<u8>,
    pub id_masked: String,
    pub birth_date: String,
    pub sex: i64,
    pub phone_cipher: Option<Vec<u8>>,
    pub phone_hash: Option<Vec<u8>>,
    pub phone_masked: Option<String>,
    pub relation: String,
    pub insurance: String,
    pub statuses: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Household {
    pub id: i64,
    pub village_code: String,
    pub household_no: String,
    pub address: Option<String>,
}

/// A line of a village's household list.
#[derive(Debug, Clone)]
pub struct HouseholdSummary {
    pub id: i64,
    pub household_no: String,
    pub head_name: Option<String>,
    pub members: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub households: i64,
    pub members: i64,
}

const MEMBER_COLUMNS: &str =
    "m.id, m.household_id, m.village_code, m.name, m.id_cipher, m.id_masked, \
     m.birth_date, m.sex, m.phone_cipher, m.phone_masked, m.relation, m.insurance";

fn member_from_row(r: &sqlx::any::AnyRow) -> Result<Member> {
    Ok(Member {
        id: r.try_get("id")?,
        household_id: r.try_get("household_id")?,
        village_code: r.try_get("village_code")?,
        name: r.try_get("name")?,
        id_cipher: r.try_get("id_cipher")?,
        id_masked: r.try_get("id_masked")?,
        birth_date: r.try_get("birth_date")?,
        sex: r.try_get("sex")?,
        phone_cipher: r.try_get("phone_cipher")?,
        phone_masked: r.try_get("phone_masked")?,
        relation: r.try_get("relation")?,
        insurance: r.try_get("insurance")?,
    })
}

fn household_from_row(r: &sqlx::any::AnyRow) -> Result<Household> {
    Ok(Household {
        id: r.try_get("id")?,
        village_code: r.try_get("village_code")?,
        household_no: r.try_get("household_no")?,
        address: r.try_get("address")?,
    })
}

pub async fn get_member(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<Member>> {
    let row = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.id = $1 AND m.village_code LIKE $2"
    ))
    .bind(id)
    .bind(scope.like())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(member_from_row).transpose()
}

pub async fn member_statuses(conn: &mut Conn, member_id: i64) -> Result<Vec<MemberStatus>> {
    let rows = sqlx::query(
        "SELECT status, since, until FROM member_statuses WHERE member_id = $1 ORDER BY since, status",
    )
    .bind(member_id)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(MemberStatus {
                status: r.try_get("status")?,
                since: r.try_get("since")?,
                until: r.try_get("until")?,
            })
        })
        .collect()
}

pub async fn get_household(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<Household>> {
    let row = sqlx::query(
        "SELECT id, village_code, household_no, address FROM households WHERE id = $1 AND village_code LIKE $2",
    )
    .bind(id)
    .bind(scope.like())
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(household_from_row).transpose()
}

pub async fn household_members(
    conn: &mut Conn,
    scope: &Scope,
    household_id: i64,
) -> Result<Vec<Member>> {
    let rows = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM members m WHERE m.household_id = $1 AND m.village_code LIKE $2 \
         ORDER BY CASE WHEN m.relation = 'head' THEN 0 ELSE 1 END, m.birth_date, m.id"
    ))
    .bind(household_id)
    .bind(scope.like())
    .fetch_all(conn)
    .await?;
    rows.iter().map(member_from_row).collect()
}

pub async fn village_households(
    conn: &mut Conn,
    scope: &Scope,
    village_code: &str,
    offset: i64,
    limit: i64,
) -> Result<Vec<HouseholdSummary>> {
    let rows = sqlx::query(
        "SELECT h.id, h.household_no, \
           (SELECT m.name FROM members m WHERE m.household_id = h.id AND m.relation = 'head') AS head_name, \
           (SELECT COUNT(*) FROM members m WHERE m.household_id = h.id) AS members \
         FROM households h WHERE h.village_code = $1 AND h.village_code LIKE $2 \
         ORDER BY h.household_no LIMIT $3 OFFSET $4",
    )
    .bind(village_code)
    .bind(scope.like())
    .bind(limit)
    .bind(offset)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(HouseholdSummary {
                id: r.try_get("id")?,
                household_no: r.try_get("household_no")?,
                head_name: r.try_get("head_name")?,
                members: r.try_get("members")?,
            })
        })
        .collect()
}

/// Households and members per village inside the scope; callers roll these up to towns. Read
/// from `village_counts`, which every roster write below keeps current in its own transaction.
pub async fn counts_by_village(conn: &mut Conn, scope: &Scope) -> Result<HashMap<String, Counts>> {
    let rows = sqlx::query(
        "SELECT village_code, households, members FROM village_counts \
         WHERE village_code LIKE $1 AND (households <> 0 OR members <> 0)",
    )
    .bind(scope.like())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get(0)?,
                Counts {
                    households: r.try_get(1)?,
                    members: r.try_get(2)?,
                },
            ))
        })
        .collect()
}

/// Adds (or with negative numbers removes) registered households and members per village, in
/// code order (so that concurrent writers lock the rows in the same order).
async fn add_registered(conn: &mut Conn, delta: &BTreeMap<&str, (i64, i64)>) -> Result<()> {
    let rows: Vec<_> = delta.iter().collect();
    for chunk in rows.chunks(rows_per_insert(conn, 3)) {
        let sql = format!(
            "INSERT INTO village_counts (village_code, households, members) VALUES {} \
             ON CONFLICT (village_code) DO UPDATE SET \
             households = village_counts.households + excluded.households, \
             members = village_counts.members + excluded.members",
            values_placeholders(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (code, (households, members)) in chunk {
            q = q.bind(**code).bind(*households).bind(*members);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// [`counts_by_village`] counted afresh from the members and households tables (the reference
/// the kept counts are checked against: `enrolment::verify_figures`).
pub async fn recount_registered(conn: &mut Conn, scope: &Scope) -> Result<HashMap<String, Counts>> {
    let mut out: HashMap<String, Counts> = HashMap::new();
    let rows = sqlx::query(
        "SELECT village_code, COUNT(*) AS n FROM members WHERE village_code LIKE $1 GROUP BY village_code",
    )
    .bind(scope.like())
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        out.entry(r.try_get("village_code")?).or_default().members = r.try_get("n")?;
    }
    let rows = sqlx::query(
        "SELECT village_code, COUNT(*) AS n FROM households WHERE village_code LIKE $1 GROUP BY village_code",
    )
    .bind(scope.like())
    .fetch_all(&mut *conn)
    .await?;
    for r in &rows {
        out.entry(r.try_get("village_code")?)
            .or_default()
            .households = r.try_get("n")?;
    }
    Ok(out)
}

pub enum SearchKey<'a> {
    /// Exact name or name prefix.
    NamePrefix(&'a str),
    IdHash(&'a [u8]),
    PhoneHash(&'a [u8]),
}

pub async fn search(
    conn: &mut Conn,
    scope: &Scope,
    key: SearchKey<'_>,
    limit: i64,
) -> Result<Vec<Member>> {
    let base = format!("SELECT {MEMBER_COLUMNS} FROM members m WHERE m.village_code LIKE $1 AND ");
    let q = match key {
        SearchKey::NamePrefix(p) => {
            let escaped = p
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            (
                format!("{base} m.name LIKE $2 ESCAPE '\\' ORDER BY m.name, m.id LIMIT $3"),
                Bind::Text(format!("{escaped}%")),
            )
        }
        SearchKey::IdHash(h) => (
            format!("{base} m.id_hash = $2 LIMIT $3"),
            Bind::Bytes(h.to_vec()),
        ),
        SearchKey::PhoneHash(h) => (
            format!("{base} m.phone_hash = $2 ORDER BY m.id LIMIT $3"),
            Bind::Bytes(h.to_vec()),
        ),
    };
    let (sql, bind) = q;
    let query = sqlx::query(&sql).bind(scope.like());
    let query = match bind {
        Bind::Text(s) => query.bind(s),
        Bind::Bytes(b) => query.bind(b),
    };
    let rows = query.bind(limit).fetch_all(conn).await?;
    rows.iter().map(member_from_row).collect()
}

enum Bind {
    Text(String),
    Bytes(Vec<u8>),
}

/// All registered ID hashes with their household key (village, household number); the import
/// loads them once instead of asking row by row.
pub async fn id_hash_index(conn: &mut Conn) -> Result<HashMap<Vec<u8>, (String, String)>> {
    let rows = sqlx::query(
        "SELECT m.id_hash, h.village_code, h.household_no FROM members m JOIN households h ON h.id = m.household_id",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("id_hash")?,
                (r.try_get("village_code")?, r.try_get("household_no")?),
            ))
        })
        .collect()
}

pub async fn find_household(
    conn: &mut Conn,
    village_code: &str,
    household_no: &str,
) -> Result<Option<Household>> {
    let row = sqlx::query(
        "SELECT id, village_code, household_no, address FROM households WHERE village_code = $1 AND household_no = $2",
    )
    .bind(village_code)
    .bind(household_no)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(household_from_row).transpose()
}

pub async fn insert_household(
    conn: &mut Conn,
    village_code: &str,
    household_no: &str,
    address: Option<&str>,
    now: &str,
) -> Result<i64> {
    let id = sqlx::query_scalar(
        "INSERT INTO households (village_code, household_no, address, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(village_code)
    .bind(household_no)
    .bind(address)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(format!("household {village_code}/{household_no}"))
        } else {
            e.into()
        }
    })?;
    add_registered(conn, &BTreeMap::from([(village_code, (1, 0))])).await?;
    Ok(id)
}

/// Rows per multi-row INSERT with `cols` columns. SQLite looks up each numbered parameter's name
/// by a linear scan, so binding costs grow with the square of the parameter count: there, small
/// statements are fastest (measured: 400 rows × 15 columns took 50 ms, 32 rows a fraction of
/// that per row). PostgreSQL has no such cost and gains from fewer round trips.
pub(crate) fn rows_per_insert(conn: &Conn, cols: usize) -> usize {
    if conn.backend_name().eq_ignore_ascii_case("sqlite") {
        (480 / cols).max(1)
    } else {
        (6000 / cols).max(1)
    }
}

/// `($1, $2, …), ($n+1, …)` for multi-row inserts. sqlx's QueryBuilder writes `?` under `Any`,
/// which PostgreSQL rejects, hence this.
pub(crate) fn values_placeholders(rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push_str(", ");
            }
            s.push('$');
            s.push_str(&(r * cols + c + 1).to_string());
        }
        s.push(')');
    }
    s
}

/// Inserts households in multi-row statements; returns `(village_code, household_no) → id`.
pub async fn insert_households(
    conn: &mut Conn,
    households: &[(String, String, Option<String>)],
    now: &str,
) -> Result<HashMap<(String, String), i64>> {
    let mut out = HashMap::with_capacity(households.len());
    for chunk in households.chunks(rows_per_insert(conn, 4)) {
        let sql = format!(
            "INSERT INTO households (village_code, household_no, address, created_at) VALUES {} \
             RETURNING id, village_code, household_no",
            values_placeholders(chunk.len(), 4)
        );
        let mut q = sqlx::query(&sql);
        for (village, no, address) in chunk {
            q = q
                .bind(village.as_str())
                .bind(no.as_str())
                .bind(address.as_deref())
                .bind(now);
        }
        let rows = q.fetch_all(&mut *conn).await.map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("household".into())
            } else {
                StoreError::from(e)
            }
        })?;
        for r in &rows {
            out.insert(
                (r.try_get("village_code")?, r.try_get("household_no")?),
                r.try_get("id")?,
            );
        }
    }
    let mut delta: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for (village, _, _) in households {
        delta.entry(village.as_str()).or_default().0 += 1;
    }
    add_registered(conn, &delta).await?;
    Ok(out)
}

/// Inserts members in multi-row statements (the import's hot path) and their statuses. Returns
/// the new ids in input order (matched back by ID hash, not by trusting RETURNING's row order).
pub async fn insert_members(conn: &mut Conn, members: &[NewMember], now: &str) -> Result<Vec<i64>> {
    const COLS: usize = 15;
    let mut by_hash: HashMap<Vec<u8>, i64> = HashMap::with_capacity(members.len());
    for chunk in members.chunks(rows_per_insert(conn, COLS)) {
        let sql = format!(
            "INSERT INTO members (household_id, village_code, name, id_cipher, id_hash, id_masked, birth_date, sex, \
             phone_cipher, phone_hash, phone_masked, relation, insurance, created_at, updated_at) VALUES {} \
             RETURNING id, id_hash",
            values_placeholders(chunk.len(), COLS)
        );
        let mut q = sqlx::query(&sql);
        for m in chunk {
            q = q
                .bind(m.household_id)
                .bind(m.village_code.as_str())
                .bind(m.name.as_str())
                .bind(m.id_cipher.as_slice())
                .bind(m.id_hash.as_slice())
                .bind(m.id_masked.as_str())
                .bind(m.birth_date.as_str())
                .bind(m.sex)
                .bind(m.phone_cipher.as_deref())
                .bind(m.phone_hash.as_deref())
                .bind(m.phone_masked.as_deref())
                .bind(m.relation.as_str())
                .bind(m.insurance.as_str())
                .bind(now)
                .bind(now);
        }
        let rows = q.fetch_all(&mut *conn).await.map_err(|e| {
            if is_unique_violation(&e) {
                StoreError::Conflict("member".into())
            } else {
                StoreError::from(e)
            }
        })?;
        for r in &rows {
            by_hash.insert(r.try_get("id_hash")?, r.try_get("id")?);
        }
    }
    let ids: Vec<i64> = members.iter().map(|m| by_hash[&m.id_hash]).collect();
    let statuses: Vec<(i64, &str, &str)> = members
        .iter()
        .zip(&ids)
        .flat_map(|(m, id)| {
            m.statuses
                .iter()
                .map(move |(s, since)| (*id, s.as_str(), since.as_str()))
        })
        .collect();
    for chunk in statuses.chunks(rows_per_insert(conn, 3)) {
        let sql = format!(
            "INSERT INTO member_statuses (member_id, status, since) VALUES {}",
            values_placeholders(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (id, s, since) in chunk {
            q = q.bind(*id).bind(*s).bind(*since);
        }
        q.execute(&mut *conn).await?;
    }
    let mut delta: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    for m in members {
        delta.entry(m.village_code.as_str()).or_default().1 += 1;
    }
    add_registered(conn, &delta).await?;
    Ok(ids)
}

pub async fn count_members(conn: &mut Conn, scope: &Scope) -> Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM members WHERE village_code LIKE $1")
            .bind(scope.like())
            .fetch_one(conn)
            .await?,
    )
}

/// Moves a member to another household (placing a poverty-monitored person in a virtual village).
pub async fn move_member(
    conn: &mut Conn,
    member_id: i64,
    household_id: i64,
    village_code: &str,
    relation: &str,
    now: &str,
) -> Result<()> {
    let from: Option<String> = sqlx::query_scalar("SELECT village_code FROM members WHERE id = $1")
        .bind(member_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(from) = from else {
        return Ok(());
    };
    sqlx::query("UPDATE members SET household_id = $2, village_code = $3, relation = $4, updated_at = $5 WHERE id = $1")
        .bind(member_id)
        .bind(household_id)
        .bind(village_code)
        .bind(relation)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    if from != village_code {
        let mut delta = BTreeMap::new();
        delta.insert(from.as_str(), (0, -1));
        delta.insert(village_code, (0, 1));
        add_registered(conn, &delta).await?;
    }
    Ok(())
}

/// Removes a household that no longer has members; returns whether it did.
pub async fn delete_household_if_empty(conn: &mut Conn, household_id: i64) -> Result<bool> {
    let village: Option<String> = sqlx::query_scalar(
        "DELETE FROM households WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM members m WHERE m.household_id = $1) \
         RETURNING village_code",
    )
    .bind(household_id)
    .fetch_optional(&mut *conn)
    .await?;
    match village {
        Some(v) => {
            add_registered(conn, &BTreeMap::from([(v.as_str(), (-1, 0))])).await?;
            Ok(true)
        }
        None => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_row_major() {
        assert_eq!(values_placeholders(2, 2), "($1, $2), ($3, $4)");
    }
}
