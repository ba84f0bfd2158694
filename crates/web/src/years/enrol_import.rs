//! Bulk enrolment from a spreadsheet: the upload form, the blank template, and the upload
//! itself (all households or none).

use super::enrol::bulk_result;
use crate::error::{WebError, WebResult};
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Template)]
#[template(path = "enrol_import.html")]
struct EnrolImportPage {
    nav: Option<Nav>,
    year: Year,
    error: Option<String>,
}

pub async fn enrol_import_form(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let year = state.app.year(staff.actor(), id).await?;
    staff.actor().enroller().ok_or(AppError::Forbidden)?;
    Ok(render(
        StatusCode::OK,
        &EnrolImportPage {
            nav: Nav::of(&staff),
            year,
            error: None,
        },
    ))
}

pub async fn enrol_template(staff: Staff) -> WebResult<Response> {
    staff.actor().enroller().ok_or(AppError::Forbidden)?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"enrolment-template.xlsx\"",
            ),
        ],
        app::enrol_import::enrolment_template_xlsx(),
    )
        .into_response())
}

/// The whole file is checked and enrolled in one transaction: all households or none, with
/// every problem listed by row.
pub async fn enrol_import(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    request: axum::extract::Request,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    // The year first, the body after: outside the area the answer is 404 whatever was sent.
    let year = state.app.year(staff.actor(), id).await?;
    let w = staff.actor().enroller().ok_or(AppError::Forbidden)?;
    use axum::extract::FromRequest;
    let mut form = axum::extract::Multipart::from_request(request, &state)
        .await
        .map_err(|_| AppError::Invalid("请通过页面上的表单上传 .xlsx 文件".into()))?;
    let mut csrf = String::new();
    let mut file: Option<Vec<u8>> = None;
    let broken = |_| WebError::BadRequest("上传中断或文件过大，请重试".into());
    while let Some(field) = form.next_field().await.map_err(broken)? {
        match field.name() {
            Some("csrf") => csrf = field.text().await.map_err(broken)?,
            Some("file") => file = Some(field.bytes().await.map_err(broken)?.to_vec()),
            _ => {}
        }
    }
    staff.check_csrf(&csrf)?;
    let Some(bytes) = file.filter(|b| !b.is_empty()) else {
        let page = EnrolImportPage {
            nav: Nav::of(&staff),
            year,
            error: Some("请选择要上传的参保登记表（.xlsx）".into()),
        };
        return Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page));
    };
    let outcome = state
        .app
        .enrol_from_xlsx(&w, staff.actor(), id, &bytes)
        .await?;
    Ok(bulk_result(&staff, id, "批量参保结果", outcome))
}
