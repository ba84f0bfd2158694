//! The one mapping from errors to HTTP responses. Every handler returns `WebError`; this is the
//! only place that decides status codes and what a user sees.

use crate::pages::ErrorPage;
use app::AppError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug)]
pub enum WebError {
    App(AppError),
    /// A form without a valid CSRF token, or a cross-site POST.
    Csrf,
    /// Bad request data that never reached the app layer (e.g. a broken upload).
    BadRequest(String),
    /// A JSON API call: same errors, JSON body, no login redirect.
    Api(AppError),
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> Self {
        WebError::App(e)
    }
}

fn status_of(e: &AppError) -> StatusCode {
    match e {
        AppError::NotFound => StatusCode::NOT_FOUND,
        AppError::Unauthenticated => StatusCode::UNAUTHORIZED,
        AppError::Forbidden => StatusCode::FORBIDDEN,
        AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// What a user is told. Internal errors are logged with detail and shown without it.
fn message_of(e: &AppError) -> String {
    match e {
        AppError::Internal(inner) => {
            tracing::error!("internal error: {inner:#}");
            "系统内部错误，请稍后重试或联系管理员".to_string()
        }
        AppError::NotFound => "您要查看的内容不存在，或不在您的管辖范围内".to_string(),
        other => other.to_string(),
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::App(AppError::Unauthenticated) => Redirect::to("/login").into_response(),
            WebError::App(e) => {
                let status = status_of(&e);
                (status, ErrorPage::new(status, message_of(&e))).into_response()
            }
            WebError::Csrf => {
                let status = StatusCode::FORBIDDEN;
                (
                    status,
                    ErrorPage::new(
                        status,
                        "页面已过期或请求来源不可信，请返回刷新后重试".into(),
                    ),
                )
                    .into_response()
            }
            WebError::BadRequest(m) => {
                let status = StatusCode::BAD_REQUEST;
                (status, ErrorPage::new(status, m)).into_response()
            }
            WebError::Api(e) => {
                let status = status_of(&e);
                (
                    status,
                    axum::Json(serde_json::json!({ "error": message_of(&e) })),
                )
                    .into_response()
            }
        }
    }
}

pub type WebResult<T> = Result<T, WebError>;
