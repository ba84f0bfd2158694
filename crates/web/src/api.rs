//! A read-only JSON API over the same use cases as the pages, for other tools. Same session
//! authentication, same area rules (404 outside the caller's area).

use crate::error::{WebError, WebResult};
use crate::session::Staff;
use crate::AppState;
use app::roster::MemberRow;
use axum::extract::{Path, Query, State};
use axum::Json;
use serde::{Deserialize, Serialize};

#[derive(Serialize)]
pub struct MemberJson {
    id: i64,
    household_id: i64,
    village_code: String,
    name: String,
    id_masked: String,
    sex: &'static str,
    age: u32,
    birth_date: String,
    relation: &'static str,
    insurance: &'static str,
    phone_masked: String,
}

impl From<MemberRow> for MemberJson {
    fn from(m: MemberRow) -> Self {
        MemberJson {
            id: m.id,
            household_id: m.household_id,
            village_code: m.village_code,
            name: m.name,
            id_masked: m.id_masked,
            sex: m.sex,
            age: m.age,
            birth_date: m.birth_date,
            relation: m.relation,
            insurance: m.insurance,
            phone_masked: m.phone_masked,
        }
    }
}

fn api<T>(r: Result<T, app::AppError>) -> WebResult<T> {
    r.map_err(WebError::Api)
}

fn id(s: &str) -> WebResult<i64> {
    s.parse()
        .map_err(|_| WebError::Api(app::AppError::NotFound))
}

pub async fn region(
    State(state): State<AppState>,
    staff: Staff,
    Path(code): Path<String>,
) -> WebResult<Json<serde_json::Value>> {
    let v = api(state.app.region_view(staff.actor(), &code, 1).await)?;
    Ok(Json(serde_json::json!({
        "code": v.region.code,
        "name": v.region.name,
        "level": v.region.level,
        "virtual": v.region.is_virtual,
        "households": v.totals.households,
        "members": v.totals.members,
        "children": v.children.iter().map(|c| serde_json::json!({
            "code": c.region.code, "name": c.region.name,
            "households": c.counts.households, "members": c.counts.members,
        })).collect::<Vec<_>>(),
    })))
}

pub async fn household(
    State(state): State<AppState>,
    staff: Staff,
    Path(hid): Path<String>,
) -> WebResult<Json<serde_json::Value>> {
    let v = api(state.app.household_view(staff.actor(), id(&hid)?).await)?;
    Ok(Json(serde_json::json!({
        "id": v.household.id,
        "village_code": v.household.village_code,
        "household_no": v.household.household_no,
        "members": v.members.into_iter().map(MemberJson::from).collect::<Vec<_>>(),
    })))
}

pub async fn member(
    State(state): State<AppState>,
    staff: Staff,
    Path(mid): Path<String>,
) -> WebResult<Json<MemberJson>> {
    let v = api(state.app.member_view(staff.actor(), id(&mid)?).await)?;
    Ok(Json(v.member.into()))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
}

pub async fn search(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<SearchQuery>,
) -> WebResult<Json<Vec<MemberJson>>> {
    let found = api(state
        .app
        .search_members(staff.actor(), &q.q, crate::pages::SEARCH_LIMIT)
        .await)?;
    Ok(Json(found.into_iter().map(MemberJson::from).collect()))
}
