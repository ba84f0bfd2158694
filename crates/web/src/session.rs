//! Who is asking: the session cookie resolved to a staff member, the client address, and the
//! CSRF check for forms.

use crate::error::WebError;
use crate::AppState;
use app::auth::SignedIn;
use app::AppError;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use std::net::SocketAddr;

pub const SESSION_COOKIE: &str = "sw_session";
/// Pre-login CSRF token (double-submit), since the login form has no session yet.
pub const LOGIN_CSRF_COOKIE: &str = "sw_login_csrf";

pub fn client_ip(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// A signed-in staff member. Pages redirect to the login page without one.
pub struct Staff {
    pub signed_in: SignedIn,
    pub token: String,
    /// The 风险预警 the page banner shows (town and county admins; one indexed read).
    pub warnings: Vec<app::figures::ActiveWarning>,
}

impl Staff {
    pub fn actor(&self) -> &app::Actor {
        &self.signed_in.actor
    }
    pub fn csrf(&self) -> &str {
        &self.signed_in.csrf_token
    }
    /// Constant-time comparison of the submitted token with the session's.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if constant_time_eq(submitted.as_bytes(), self.signed_in.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Csrf)
        }
    }
}

pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let api = parts.uri.path().starts_with("/api/");
        let wrap = |e| {
            if api {
                WebError::Api(e)
            } else {
                WebError::App(e)
            }
        };
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(SESSION_COOKIE)
            .map(|c| c.value().to_string())
            .ok_or_else(|| wrap(AppError::Unauthenticated))?;
        let ip = client_ip(parts);
        match state.app.session(&token, &ip).await {
            Ok(signed_in) => {
                // A banner that cannot be read must not take the page down with it.
                let warnings = if api {
                    Vec::new()
                } else {
                    state
                        .app
                        .fund_warnings(&signed_in.actor)
                        .await
                        .unwrap_or_else(|e| {
                            tracing::warn!("风险预警 banner: {e}");
                            Vec::new()
                        })
                };
                Ok(Staff {
                    signed_in,
                    token,
                    warnings,
                })
            }
            Err(e) => Err(wrap(e)),
        }
    }
}

pub fn session_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}

pub fn login_csrf_cookie(token: String, secure: bool) -> Cookie<'static> {
    Cookie::build((LOGIN_CSRF_COOKIE, token))
        .path("/login")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .build()
}
