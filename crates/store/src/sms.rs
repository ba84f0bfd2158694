//! The SMS outbox: messages to residents, inserted in the transaction of the state change they
//! report (so a message exists exactly when the change committed), and delivered by a background
//! sender on any app server sharing the database.
//!
//! A sender claims due rows with one statement that sets a lease (`leased_until`) and counts the
//! attempt; while the lease holds no other sender claims the row. The attempt number is the
//! claim's token: a retry or a failure is recorded only by the sender holding that attempt. An
//! acknowledged message (`sent`) is never claimed again.

use crate::{Conn, Result, Scope};
use sqlx::Row;

domain::coded_enum! {
    /// Where a message stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum SmsStatus {
        /// Waiting for its (next) attempt, or being sent under a lease.
        Pending => ("pending", "待发送"),
        /// Acknowledged by the provider: never sent again.
        Sent => ("sent", "已发送"),
        /// A permanent provider error, or the attempts ran out.
        Failed => ("failed", "发送失败"),
    }
}

domain::coded_enum! {
    /// The message templates (registered with the provider under a template code each).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum SmsTemplate {
        ClaimReceived => ("claim_received", "申请已受理"),
        DocumentsRequested => ("documents_requested", "待补件"),
        ClaimApproved => ("claim_approved", "审核通过"),
        ClaimRefused => ("claim_refused", "未予补助"),
        SubsidyPaid => ("subsidy_paid", "补助已发放"),
        PaymentFailed => ("payment_failed", "发放失败，请更新银行卡"),
        ObjectionDecided => ("objection_decided", "异议处理结果"),
        FundWarning => ("fund_warning", "基金风险预警"),
    }
}

/// A message to insert (inside the caller's transaction).
pub struct NewMessage<'a> {
    /// The region of the person the message is about: admins see the messages of their area.
    pub region_code: &'a str,
    /// What the message is about, e.g. `claim:123`.
    pub subject: &'a str,
    /// The phone number, encrypted (`app::crypto`).
    pub phone_cipher: &'a [u8],
    pub phone_masked: &'a str,
    pub template: SmsTemplate,
    /// The template's variables as a JSON object (what the provider fills in).
    pub params_json: &'a str,
    /// The full rendered text (for the log provider and the admin page).
    pub text: &'a str,
    pub now: &'a str,
}

pub async fn insert(conn: &mut Conn, m: &NewMessage<'_>) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO sms_outbox (region_code, subject, phone_cipher, phone_masked, template, \
           params_json, text, status, attempts, next_attempt_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8, $8) RETURNING id",
    )
    .bind(m.region_code)
    .bind(m.subject)
    .bind(m.phone_cipher)
    .bind(m.phone_masked)
    .bind(m.template.code())
    .bind(m.params_json)
    .bind(m.text)
    .bind(m.now)
    .fetch_one(conn)
    .await?)
}

/// A message claimed for sending: the holder may send it until `leased_until`.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: i64,
    /// This claim's attempt number (1 for the first): the token for recording its outcome.
    pub attempt: i64,
    pub region_code: String,
    pub subject: String,
    pub phone_cipher: Vec<u8>,
    pub template: SmsTemplate,
    pub params_json: String,
    pub text: String,
    pub leased_until: String,
}

fn decode_err(what: &str, value: &str) -> crate::StoreError {
    crate::StoreError::Sqlx(sqlx::Error::Decode(
        format!("unknown {what} code {value:?} in sms_outbox").into(),
    ))
}

/// Claims up to `limit` due messages (pending, `next_attempt_at <= now`, no lease or a lapsed
/// one): sets their lease to `lease_until` and counts the attempt, in one statement.
///
/// The conditions are repeated outside the sub-select: on PostgreSQL (READ COMMITTED) a second
/// sender whose sub-select picked the same rows waits for the first one's row locks and then
/// re-checks the outer conditions against the row as the first left it, where the lease now
/// holds, so it skips the row. On SQLite the caller runs this in `Db::begin_write` (writers
/// queue). Same SQL on both.
pub async fn claim_due(
    conn: &mut Conn,
    now: &str,
    lease_until: &str,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let rows = sqlx::query(
        "UPDATE sms_outbox SET leased_until = $2, attempts = attempts + 1, updated_at = $1 \
         WHERE id IN (SELECT id FROM sms_outbox \
                      WHERE status = 'pending' AND next_attempt_at <= $1 \
                        AND (leased_until IS NULL OR leased_until <= $1) \
                      ORDER BY next_attempt_at, id LIMIT $3) \
           AND status = 'pending' AND next_attempt_at <= $1 \
           AND (leased_until IS NULL OR leased_until <= $1) \
         RETURNING id, attempts, region_code, subject, phone_cipher, template, params_json, text, \
           leased_until",
    )
    .bind(now)
    .bind(lease_until)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    let mut out = rows
        .iter()
        .map(|r| {
            let template: String = r.try_get("template")?;
            Ok(Claimed {
                id: r.try_get("id")?,
                attempt: r.try_get("attempts")?,
                region_code: r.try_get("region_code")?,
                subject: r.try_get("subject")?,
                phone_cipher: r.try_get("phone_cipher")?,
                template: SmsTemplate::from_code(&template)
                    .ok_or_else(|| decode_err("template", &template))?,
                params_json: r.try_get("params_json")?,
                text: r.try_get("text")?,
                leased_until: r.try_get("leased_until")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// Records the provider's acknowledgement. Holds whatever the lease: the message went out, so
/// it must never go out again. Returns false when it was already recorded as sent.
pub async fn mark_sent(conn: &mut Conn, id: i64, provider_ref: &str, now: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sms_outbox SET status = 'sent', provider_ref = $2, last_error = '', \
           leased_until = NULL, sent_at = $3, updated_at = $3 \
         WHERE id = $1 AND status <> 'sent'",
    )
    .bind(id)
    .bind(provider_ref)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a temporary failure of attempt `attempt`: the message is due again at `next_at`.
/// Changes nothing (false) unless the row is pending and this attempt is still its latest claim.
pub async fn mark_retry(
    conn: &mut Conn,
    id: i64,
    attempt: i64,
    next_at: &str,
    error: &str,
    now: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sms_outbox SET next_attempt_at = $3, last_error = $4, leased_until = NULL, \
           updated_at = $5 \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(next_at)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records that attempt `attempt` failed for good (permanent error or attempts exhausted).
pub async fn mark_failed(
    conn: &mut Conn,
    id: i64,
    attempt: i64,
    error: &str,
    now: &str,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sms_outbox SET status = 'failed', last_error = $3, leased_until = NULL, \
           updated_at = $4 \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(error)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a claim back unsent (its lease would lapse before the provider could answer): the
/// attempt is not counted and the row is due again at once.
pub async fn release(conn: &mut Conn, id: i64, attempt: i64, now: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sms_outbox SET attempts = attempts - 1, leased_until = NULL, updated_at = $3 \
         WHERE id = $1 AND attempts = $2 AND status = 'pending'",
    )
    .bind(id)
    .bind(attempt)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One message as the admin page shows it (no phone number beyond its masked form).
#[derive(Debug, Clone)]
pub struct OutboxRow {
    pub id: i64,
    pub region_code: String,
    pub subject: String,
    pub phone_masked: String,
    pub template: SmsTemplate,
    pub params_json: String,
    pub text: String,
    pub status: SmsStatus,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub leased_until: Option<String>,
    pub last_error: String,
    pub provider_ref: String,
    pub created_at: String,
    pub updated_at: String,
    pub sent_at: Option<String>,
}

const ROW_COLUMNS: &str = "id, region_code, subject, phone_masked, template, params_json, text, \
    status, attempts, next_attempt_at, leased_until, last_error, provider_ref, created_at, \
    updated_at, sent_at";

fn row(r: &sqlx::any::AnyRow) -> Result<OutboxRow> {
    let template: String = r.try_get("template")?;
    let status: String = r.try_get("status")?;
    Ok(OutboxRow {
        id: r.try_get("id")?,
        region_code: r.try_get("region_code")?,
        subject: r.try_get("subject")?,
        phone_masked: r.try_get("phone_masked")?,
        template: SmsTemplate::from_code(&template)
            .ok_or_else(|| decode_err("template", &template))?,
        params_json: r.try_get("params_json")?,
        text: r.try_get("text")?,
        status: SmsStatus::from_code(&status).ok_or_else(|| decode_err("status", &status))?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        leased_until: r.try_get("leased_until")?,
        last_error: r.try_get("last_error")?,
        provider_ref: r.try_get("provider_ref")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        sent_at: r.try_get("sent_at")?,
    })
}

/// The messages of an area, newest first; `before_id` for paging.
pub async fn list(
    conn: &mut Conn,
    scope: &Scope,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<OutboxRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {ROW_COLUMNS} FROM sms_outbox WHERE region_code LIKE $1 AND id < $2 \
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(scope.like())
    .bind(before_id.unwrap_or(i64::MAX))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(row).collect()
}

/// One message of an area.
pub async fn get(conn: &mut Conn, scope: &Scope, id: i64) -> Result<Option<OutboxRow>> {
    let r = sqlx::query(&format!(
        "SELECT {ROW_COLUMNS} FROM sms_outbox WHERE id = $1 AND region_code LIKE $2"
    ))
    .bind(id)
    .bind(scope.like())
    .fetch_optional(conn)
    .await?;
    r.as_ref().map(row).transpose()
}

/// The encrypted phone of a message (for tests and for a sender re-reading a row).
pub async fn phone_cipher(conn: &mut Conn, id: i64) -> Result<Option<Vec<u8>>> {
    Ok(
        sqlx::query_scalar("SELECT phone_cipher FROM sms_outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for s in SmsStatus::ALL {
            assert_eq!(SmsStatus::from_code(s.code()), Some(s));
        }
        for t in SmsTemplate::ALL {
            assert_eq!(SmsTemplate::from_code(t.code()), Some(t));
        }
    }
}
