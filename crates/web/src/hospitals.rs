//! The county hospital register (医院名录): the list of a county's hospitals with the form to
//! add one (county and system administrators), and each hospital's page, an edit form for
//! keepers and read-only for everyone else.

use crate::error::{WebError, WebResult};
use crate::pages::{render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::hospitals::home_county;
use app::{AppError, HospitalInput};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::{Hospital, HospitalId, HospitalLevel, HospitalLocation, HospitalName, RegionCode};
use serde::Deserialize;

/// A code and label for a `<select>`, with whether it is the chosen one.
pub struct Choice {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A county to pick, with whether it is the one shown.
pub struct CountyChoice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// The add and edit form, as typed (kept to show again with the error).
#[derive(Deserialize, Clone, Default)]
#[serde(default)]
pub struct HospitalForm {
    csrf: String,
    pub county: String,
    pub name: String,
    pub level: String,
    /// Checkboxes: present ("1") when ticked.
    pub designated: String,
    pub location: String,
    pub active: String,
}

impl HospitalForm {
    fn blank() -> HospitalForm {
        HospitalForm {
            level: HospitalLevel::Township.code().into(),
            designated: "1".into(),
            location: HospitalLocation::InProvince.code().into(),
            active: "1".into(),
            ..Default::default()
        }
    }

    fn of(h: &Hospital) -> HospitalForm {
        HospitalForm {
            csrf: String::new(),
            county: h.county_code.to_string(),
            name: h.name.to_string(),
            level: h.level.code().into(),
            designated: if h.designated {
                "1".into()
            } else {
                String::new()
            },
            location: h.location.code().into(),
            active: if h.active { "1".into() } else { String::new() },
        }
    }

    fn input(&self) -> Result<HospitalInput, AppError> {
        let name = HospitalName::parse(&self.name).map_err(|e| AppError::Invalid(e.to_string()))?;
        let level = HospitalLevel::from_code(self.level.trim())
            .ok_or_else(|| AppError::Invalid("请选择医院等级".into()))?;
        let location = HospitalLocation::from_code(self.location.trim())
            .ok_or_else(|| AppError::Invalid("请选择医院所在地".into()))?;
        Ok(HospitalInput {
            name,
            level,
            designated: !self.designated.is_empty(),
            location,
            active: !self.active.is_empty(),
        })
    }

    pub fn levels(&self) -> Vec<Choice> {
        HospitalLevel::ALL
            .iter()
            .map(|l| Choice {
                code: l.code(),
                label: l.label_zh(),
                selected: l.code() == self.level,
            })
            .collect()
    }

    pub fn locations(&self) -> Vec<Choice> {
        HospitalLocation::ALL
            .iter()
            .map(|l| Choice {
                code: l.code(),
                label: l.label_zh(),
                selected: l.code() == self.location,
            })
            .collect()
    }

    pub fn is_designated(&self) -> bool {
        !self.designated.is_empty()
    }

    pub fn is_active(&self) -> bool {
        !self.active.is_empty()
    }
}

/// One row of the register as shown.
pub struct HospitalLine {
    pub id: HospitalId,
    pub name: String,
    pub level: &'static str,
    pub designated: &'static str,
    pub location: &'static str,
    pub active: bool,
}

impl HospitalLine {
    fn of(h: &Hospital) -> HospitalLine {
        HospitalLine {
            id: h.id,
            name: h.name.to_string(),
            level: h.level.label_zh(),
            designated: if h.designated { "是" } else { "否" },
            location: h.location.label_zh(),
            active: h.active,
        }
    }
}

#[derive(Template)]
#[template(path = "hospitals.html")]
struct HospitalsPage {
    nav: Option<Nav>,
    /// The county shown, with its name; `None` when a system administrator has not picked one.
    county: Option<(String, String)>,
    counties: Vec<CountyChoice>,
    hospitals: Vec<HospitalLine>,
    can_add: bool,
    form: HospitalForm,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "hospital_edit.html")]
struct HospitalPage {
    nav: Option<Nav>,
    hospital: HospitalLine,
    county_code: String,
    can_edit: bool,
    form: HospitalForm,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CountyQuery {
    county: String,
}

async fn list_page(
    state: &AppState,
    staff: &Staff,
    county: Option<RegionCode>,
    form: HospitalForm,
    status: StatusCode,
    error: Option<String>,
) -> WebResult<Response> {
    let a = staff.actor();
    let county = county.or_else(|| home_county(a));
    let counties = state
        .app
        .hospital_counties(a)
        .await?
        .into_iter()
        .map(|(c, n)| CountyChoice {
            selected: county.as_ref() == Some(&c),
            code: c.to_string(),
            label: n,
        })
        .collect::<Vec<_>>();
    let (county, hospitals, can_add) = match county {
        Some(c) => {
            let name = state.app.hospital_county_name(a, &c).await?;
            let list = state.app.hospitals(a, &c).await?;
            let can_add = a
                .hospital_keeper()
                .is_some_and(|k| k.scope().contains(c.as_str()));
            (
                Some((c.to_string(), name)),
                list.iter().map(HospitalLine::of).collect(),
                can_add,
            )
        }
        None => (None, Vec::new(), false),
    };
    Ok(render(
        status,
        &HospitalsPage {
            nav: Nav::of(staff),
            county,
            counties,
            hospitals,
            can_add,
            form,
            error,
        },
    ))
}

fn parse_county(s: &str) -> WebResult<Option<RegionCode>> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    RegionCode::parse(s)
        .map(Some)
        .map_err(|_| WebError::App(AppError::NotFound))
}

pub async fn hospitals(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<CountyQuery>,
) -> WebResult<Response> {
    let county = parse_county(&q.county)?;
    list_page(
        &state,
        &staff,
        county,
        HospitalForm::blank(),
        StatusCode::OK,
        None,
    )
    .await
}

pub async fn add(
    State(state): State<AppState>,
    staff: Staff,
    Form(f): Form<HospitalForm>,
) -> WebResult<Response> {
    staff.check_csrf(&f.csrf)?;
    let a = staff.actor();
    let county = parse_county(&f.county)?
        .or_else(|| home_county(a))
        .ok_or(AppError::NotFound)?;
    let keeper = a.hospital_keeper().ok_or(AppError::Forbidden)?;
    let outcome = match f.input() {
        Ok(input) => state.app.add_hospital(&keeper, a, &county, &input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/hospitals?county={county}")).into_response()),
        Err(AppError::Invalid(m)) => {
            list_page(
                &state,
                &staff,
                Some(county),
                f,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(m),
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            list_page(
                &state,
                &staff,
                Some(county),
                f,
                StatusCode::CONFLICT,
                Some(m),
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

fn parse_hospital(s: &str) -> WebResult<HospitalId> {
    s.parse().map_err(|_| WebError::App(AppError::NotFound))
}

async fn hospital_page(
    state: &AppState,
    staff: &Staff,
    id: HospitalId,
    form: Option<HospitalForm>,
    status: StatusCode,
    error: Option<String>,
) -> WebResult<Response> {
    let a = staff.actor();
    let h = state.app.hospital(a, id).await?;
    let can_edit = a
        .hospital_keeper()
        .is_some_and(|k| k.scope().contains(h.county_code.as_str()));
    Ok(render(
        status,
        &HospitalPage {
            nav: Nav::of(staff),
            county_code: h.county_code.to_string(),
            form: form.unwrap_or_else(|| HospitalForm::of(&h)),
            hospital: HospitalLine::of(&h),
            can_edit,
            error,
        },
    ))
}

pub async fn hospital(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_hospital(&id)?;
    hospital_page(&state, &staff, id, None, StatusCode::OK, None).await
}

pub async fn update(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<HospitalForm>,
) -> WebResult<Response> {
    let id = parse_hospital(&id)?;
    staff.check_csrf(&f.csrf)?;
    let a = staff.actor();
    // Outside the area is "not found" before it is "not allowed".
    state.app.hospital(a, id).await?;
    let keeper = a.hospital_keeper().ok_or(AppError::Forbidden)?;
    let outcome = match f.input() {
        Ok(input) => state.app.update_hospital(&keeper, a, id, &input).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/hospitals/{id}")).into_response()),
        Err(AppError::Invalid(m)) => {
            hospital_page(
                &state,
                &staff,
                id,
                Some(f),
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(m),
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            hospital_page(&state, &staff, id, Some(f), StatusCode::CONFLICT, Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}
