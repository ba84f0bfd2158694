//! Form fields as people type them and money as pages show it: parsing yuan, dates, whole
//! numbers and percentages (with the error a person reads), and the display helpers. Shared by
//! every feature module (years, fund, design).

use crate::error::{WebError, WebResult};
use app::AppError;
use chrono::NaiveDate;
use domain::Fen;

/// Money for display: "1,234.50".
pub(crate) fn yuan(f: i64) -> String {
    Fen(f).to_string()
}

/// Money a person typed: yuan with at most two decimals, never above `Fen::MAX_TYPED`.
pub(crate) fn parse_money(field: &str, s: &str) -> WebResult<Fen> {
    Fen::parse_typed_yuan(s).map_err(|e| {
        WebError::App(AppError::Invalid(match e {
            domain::money::MoneyError::Overflow => {
                format!("“{field}”超出允许范围（最多 {} 元）", Fen::MAX_TYPED)
            }
            domain::money::MoneyError::Format(_) => {
                format!("“{field}”应为金额（元），例如 50 或 12.50")
            }
        }))
    })
}

pub(crate) fn parse_opt_money(field: &str, s: &str) -> WebResult<Option<Fen>> {
    if s.trim().is_empty() {
        Ok(None)
    } else {
        parse_money(field, s).map(Some)
    }
}

pub(crate) fn parse_date(field: &str, s: &str) -> WebResult<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| {
        WebError::App(AppError::Invalid(format!(
            "“{field}”应为日期，格式如 2025-01-31"
        )))
    })
}

pub(crate) fn parse_number(field: &str, s: &str) -> WebResult<u32> {
    s.trim()
        .parse()
        .map_err(|_| WebError::App(AppError::Invalid(format!("“{field}”应为整数"))))
}

/// Per mille from a percentage typed by a person: "80" → 800, "2.5" → 25.
pub(crate) fn parse_percent(field: &str, s: &str) -> WebResult<u32> {
    let f = Fen::parse_typed_yuan(s)
        .ok()
        .filter(|f| f.fen() >= 0 && f.fen() % 10 == 0 && f.fen() <= 100_000)
        .ok_or_else(|| {
            WebError::App(AppError::Invalid(format!(
                "“{field}”应为百分比数字，最多一位小数，例如 80 或 2.5"
            )))
        })?;
    Ok((f.fen() / 10) as u32)
}

pub(crate) fn percent_text(permille: u32) -> String {
    if permille.is_multiple_of(10) {
        (permille / 10).to_string()
    } else {
        format!("{}.{}", permille / 10, permille % 10)
    }
}

/// Yuan as typed in a form: "50", "12.5".
pub(crate) fn yuan_plain(f: Fen) -> String {
    let s = format!("{}.{:02}", f.fen() / 100, (f.fen() % 100).abs());
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}
