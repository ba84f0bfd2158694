//! The county hospital register (医院名录, migration 0009). Rows come back as
//! `domain::Hospital`; a row the domain cannot read (a code no longer known) is an error, not a
//! silently different hospital.

use crate::{is_unique_violation, Conn, Result, Scope, StoreError};
use domain::{Hospital, HospitalId, HospitalLevel, HospitalLocation, HospitalName, RegionCode};
use sqlx::Row;

/// What is written when a hospital is added or changed (the county never changes).
pub struct HospitalFields<'a> {
    pub name: &'a HospitalName,
    pub level: HospitalLevel,
    pub designated: bool,
    pub location: HospitalLocation,
    pub active: bool,
}

const SELECT: &str = "SELECT h.id, h.county_code, h.name, h.level, h.designated, h.location, \
    h.active, h.created_at, h.updated_at FROM hospitals h";

/// As for scheme years: a county's register is visible to staff whose area is inside the county
/// (a town admin, a village clerk) or contains it (a system administrator).
const IN_SCOPE: &str = "(h.county_code LIKE $1 OR $2 LIKE h.county_code || '%')";

fn hospital(r: &sqlx::any::AnyRow) -> Result<Hospital> {
    let bad = |what: &str, v: &str| {
        StoreError::Sqlx(sqlx::Error::Decode(
            format!("hospitals.{what}: unknown value {v:?}").into(),
        ))
    };
    let county: String = r.get(1);
    let level: String = r.get(3);
    let location: String = r.get(5);
    let designated: i64 = r.get(4);
    let active: i64 = r.get(6);
    Ok(Hospital {
        id: HospitalId(r.get(0)),
        county_code: RegionCode::parse(&county).map_err(|_| bad("county_code", &county))?,
        name: HospitalName::from_stored(r.get(2)),
        level: HospitalLevel::from_code(&level).ok_or_else(|| bad("level", &level))?,
        designated: designated != 0,
        location: HospitalLocation::from_code(&location)
            .ok_or_else(|| bad("location", &location))?,
        active: active != 0,
        created_at: r.get(7),
        updated_at: r.get(8),
    })
}

fn conflict(county: &RegionCode, name: &HospitalName) -> impl Fn(sqlx::Error) -> StoreError {
    let what = format!("hospital {county} {name}");
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(what.clone())
        } else {
            e.into()
        }
    }
}

/// Adds a hospital to `county`'s register; a name already on it is `StoreError::Conflict`.
pub async fn insert(
    conn: &mut Conn,
    county: &RegionCode,
    h: &HospitalFields<'_>,
    at: &str,
) -> Result<HospitalId> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO hospitals (county_code, name, level, designated, location, active, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(county.as_str())
    .bind(h.name.as_str())
    .bind(h.level.code())
    .bind(i64::from(h.designated))
    .bind(h.location.code())
    .bind(i64::from(h.active))
    .bind(at)
    .fetch_one(conn)
    .await
    .map_err(conflict(county, h.name))?;
    Ok(HospitalId(id))
}

/// Changes a hospital of `county`; false if there is none with that id there. A name taken by
/// another hospital of the county is `StoreError::Conflict`.
pub async fn update(
    conn: &mut Conn,
    county: &RegionCode,
    id: HospitalId,
    h: &HospitalFields<'_>,
    at: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE hospitals SET name = $3, level = $4, designated = $5, location = $6, \
         active = $7, updated_at = $8 WHERE id = $1 AND county_code = $2",
    )
    .bind(id.get())
    .bind(county.as_str())
    .bind(h.name.as_str())
    .bind(h.level.code())
    .bind(i64::from(h.designated))
    .bind(h.location.code())
    .bind(i64::from(h.active))
    .bind(at)
    .execute(conn)
    .await
    .map_err(conflict(county, h.name))?;
    Ok(done.rows_affected() == 1)
}

/// The hospital if its county overlaps `scope`; `None` for other areas and unknown ids alike.
pub async fn get(conn: &mut Conn, scope: &Scope, id: HospitalId) -> Result<Option<Hospital>> {
    let sql = format!("{SELECT} WHERE h.id = $3 AND {IN_SCOPE}");
    let row = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(id.get())
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(hospital).transpose()
}

/// A county's register, active hospitals first, then by name; empty outside `scope`.
pub async fn list(conn: &mut Conn, scope: &Scope, county: &RegionCode) -> Result<Vec<Hospital>> {
    let sql = format!(
        "{SELECT} WHERE h.county_code = $3 AND {IN_SCOPE} ORDER BY h.active DESC, h.name, h.id"
    );
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(county.as_str())
        .fetch_all(conn)
        .await?;
    rows.iter().map(hospital).collect()
}

/// Active hospitals of a county whose name contains `query` (for the claim form): names that
/// start with it first, then by name; at most `limit`. LIKE wildcards in `query` are literal.
pub async fn search(
    conn: &mut Conn,
    scope: &Scope,
    county: &RegionCode,
    query: &str,
    limit: i64,
) -> Result<Vec<Hospital>> {
    let escaped = query
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let sql = format!(
        "{SELECT} WHERE h.county_code = $3 AND {IN_SCOPE} AND h.active = 1 \
         AND h.name LIKE $4 ESCAPE '\\' \
         ORDER BY CASE WHEN h.name LIKE $5 ESCAPE '\\' THEN 0 ELSE 1 END, h.name, h.id LIMIT $6"
    );
    let rows = sqlx::query(&sql)
        .bind(scope.like())
        .bind(scope.prefix())
        .bind(county.as_str())
        .bind(format!("%{escaped}%"))
        .bind(format!("{escaped}%"))
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter().map(hospital).collect()
}
