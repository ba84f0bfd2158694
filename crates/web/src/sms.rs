//! The SMS outbox page (`/sms`): what residents of the area were (or were to be) told, for
//! system, county and town administrators. Area-scoped: only messages about people inside the
//! administrator's area are listed.

use crate::error::WebResult;
use crate::pages::{render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::sms::{OutboxRow, SmsStatus};
use app::AppError;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

pub struct MessageRow {
    at: String,
    phone: String,
    text: String,
    status: &'static str,
    attempts: i64,
    note: String,
}

impl MessageRow {
    fn of(m: OutboxRow) -> MessageRow {
        let note = match m.status {
            SmsStatus::Sent => m
                .sent_at
                .as_deref()
                .map(|t| format!("发送于 {}", app::display_time(t)))
                .unwrap_or_default(),
            SmsStatus::Pending if m.attempts > 0 => format!(
                "{}；下次尝试 {}",
                m.last_error,
                app::display_time(&m.next_attempt_at)
            ),
            SmsStatus::Pending => String::new(),
            SmsStatus::Failed => m.last_error,
        };
        MessageRow {
            at: app::display_time(&m.created_at),
            phone: m.phone_masked,
            text: m.text,
            status: m.status.label_zh(),
            attempts: m.attempts,
            note,
        }
    }
}

#[derive(Template)]
#[template(path = "sms_outbox.html")]
struct OutboxPage {
    nav: Option<Nav>,
    messages: Vec<MessageRow>,
    older: Option<i64>,
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    before: Option<i64>,
}

pub async fn outbox(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<OutboxQuery>,
) -> WebResult<Response> {
    let reader = staff
        .actor()
        .sms_outbox_reader()
        .ok_or(AppError::Forbidden)?;
    let rows = state.app.sms_outbox(&reader, q.before).await?;
    let older = (rows.len() as i64 == app::sms::PAGE)
        .then(|| rows.last().map(|m| m.id))
        .flatten();
    Ok(render(
        StatusCode::OK,
        &OutboxPage {
            nav: Nav::of(&staff),
            messages: rows.into_iter().map(MessageRow::of).collect(),
            older,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::sms::SmsTemplate;

    fn row(status: SmsStatus, attempts: i64, last_error: &str) -> OutboxRow {
        OutboxRow {
            id: 7,
            region_code: "370323104201".into(),
            subject: "claim:7".into(),
            phone_masked: "138****5678".into(),
            template: SmsTemplate::ClaimReceived,
            params_json: "{}".into(),
            text:
                "【守望互助】您的医疗互助补助申请（编号BZ1）已受理，我们将在5个工作日内完成审核。"
                    .into(),
            status,
            attempts,
            next_attempt_at: "2026-12-01T10:00:00.000Z".into(),
            leased_until: None,
            last_error: last_error.into(),
            provider_ref: String::new(),
            created_at: "2026-12-01T09:00:00.000Z".into(),
            updated_at: "2026-12-01T09:00:00.000Z".into(),
            sent_at: None,
        }
    }

    #[test]
    fn the_page_lists_time_masked_phone_text_status_and_attempts() {
        let page = OutboxPage {
            nav: None,
            messages: vec![
                MessageRow::of(row(
                    SmsStatus::Failed,
                    1,
                    "isv.MOBILE_NUMBER_ILLEGAL：非法手机号",
                )),
                MessageRow::of(row(SmsStatus::Pending, 2, "isp.SYSTEM_ERROR")),
            ],
            older: None,
        };
        let html = page.render().unwrap();
        assert!(html.contains("138****5678"));
        assert!(html.contains("已受理，我们将在5个工作日内完成审核。"));
        assert!(html.contains("发送失败"));
        assert!(html.contains("待发送"));
        assert!(html.contains("isv.MOBILE_NUMBER_ILLEGAL"));
        // Shown in Beijing time.
        assert!(html.contains("2026-12-01 17:00:00"));
        assert!(html.contains("下次尝试 2026-12-01 18:00:00"));
    }
}
