//! The errors of the use-case layer. The web layer maps each variant to exactly one response
//! (see `web::error`); messages meant for staff are in Chinese.

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not found *or not in the actor's area*: the two are deliberately indistinguishable.
    #[error("未找到")]
    NotFound,
    #[error("未登录或登录已过期")]
    Unauthenticated,
    #[error("您的角色无权执行此操作")]
    Forbidden,
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error("internal error: {0}")]
    Internal(#[from] anyhow::Error),
}

impl From<store::StoreError> for AppError {
    fn from(e: store::StoreError) -> Self {
        match e {
            store::StoreError::Conflict(what) => AppError::Conflict(format!("记录已存在：{what}")),
            store::StoreError::BadText(_) => {
                AppError::Invalid("输入含有不允许的字符（如空字符），请检查后重新输入".into())
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<crate::crypto::KeyError> for AppError {
    fn from(e: crate::crypto::KeyError) -> Self {
        AppError::Internal(e.into())
    }
}

pub type AppResult<T> = Result<T, AppError>;

/// The longest reason, note or reference a person types into a form (kept for good in the
/// ledger or the audit log, so bounded).
pub const REASON_MAX: usize = 200;

/// Typed free text of a form field, trimmed: bounded, one line, nothing hidden. `required`
/// refuses empty input with `missing` as the message; otherwise empty is "".
pub(crate) fn typed_text(field: &str, input: &str, required: Option<&str>) -> AppResult<String> {
    match domain::Line::parse_optional(input, REASON_MAX) {
        Ok(Some(l)) => Ok(l.into_string()),
        Ok(None) => match required {
            Some(missing) => Err(AppError::Invalid(missing.to_string())),
            None => Ok(String::new()),
        },
        Err(e) => Err(AppError::Invalid(format!("{field}{e}"))),
    }
}
