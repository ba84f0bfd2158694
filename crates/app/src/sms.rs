//! SMS to residents through a transactional outbox.
//!
//! A use case that changes a claim calls [`enqueue`] inside its own transaction: the message row
//! (phone encrypted and masked, rendered text, template and its variables) commits with the
//! change, or not at all. A background sender ([`run_sender`], one per app server; any number
//! may share one database) claims due messages under a lease, hands each to the configured
//! [`SmsProvider`] and records the outcome:
//!
//! - acknowledged → `sent`, never sent again;
//! - a temporary error (throttling, HTTP 5xx, timeout, connection) → due again after an
//!   exponential backoff ([`backoff`]: 1 min, 2, 4, … at most 6 h), `failed` after
//!   [`MAX_ATTEMPTS`];
//! - a permanent error (bad number, bad template) → `failed` at once.
//!
//! Providers: [`LogProvider`] (the default: the text goes to the log, and admins read every
//! message on the outbox page) and [`AliyunProvider`] (阿里云短信 `SendSms`, signed requests).
//!
//! No message ever names a diagnosis: the templates carry the application number, an amount,
//! and a short reason (what is missing, which rule refused), bounded to [`VAR_MAX_CHARS`].
//!
//! Delivery is at least once between the provider's acknowledgement and the database write that
//! records it: a sender that stops in that instant leaves the row to be claimed again when its
//! lease lapses. Every other path sends a message at most once.

use crate::{Actor, App, AppError, AppResult, PiiKeys};
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use domain::{Fen, Phone, Role};
use hmac::{Hmac, Mac};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use store::Scope;

pub use store::sms::{OutboxRow, SmsStatus, SmsTemplate};

/// How long a claim holds a message. A sender gives a claim back unsent when less than
/// [`SEND_BUDGET`] of it is left, so a slow round never lets a second sender take a message the
/// first may still send.
pub const LEASE: Duration = Duration::seconds(60);
/// The longest one provider call may take (the HTTP timeout is below it).
pub const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// What must be left of a lease to start a send: the call's timeout and a margin.
pub const SEND_BUDGET: Duration = Duration::seconds(20);
/// Attempts before a message that keeps failing temporarily is given up (about 26 hours).
pub const MAX_ATTEMPTS: i64 = 12;
/// Messages claimed at once by one sender.
pub const BATCH: i64 = 10;
/// How often an idle sender looks for due messages.
pub const POLL: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest template variable (Aliyun's limit for a notification variable is 35 characters).
pub const VAR_MAX_CHARS: usize = 35;
/// The signature shown in front of the rendered text (the provider adds its configured one).
pub const SIGN_NAME_ZH: &str = "守望互助";

/// The wait before the next attempt after attempt `attempt` (1-based) failed temporarily:
/// 1 minute, doubling, at most 6 hours.
pub fn backoff(attempt: i64) -> Duration {
    let exp = (attempt - 1).clamp(0, 20) as u32;
    Duration::minutes(1i64 << exp).min(Duration::hours(6))
}

// ---------- messages ----------

/// What the programme tells a resident. Chinese texts; no diagnosis ever.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmsMessage {
    /// 申请已受理.
    ClaimReceived { application_no: String },
    /// 待补件, with what is missing.
    DocumentsRequested {
        application_no: String,
        reason: String,
    },
    /// 审核通过: the amount, paid after the public notice.
    ClaimApproved { application_no: String, amount: Fen },
    /// 未予补助, with the rule's reason and how to object.
    ClaimRefused {
        application_no: String,
        reason: String,
    },
    /// 补助款已发放 to the card ending in `last4`.
    SubsidyPaid {
        application_no: String,
        amount: Fen,
        last4: String,
    },
    /// The bank could not pay: bring a new card; the claim joins the next batch.
    PaymentFailed { application_no: String },
    /// To the objector: upheld or not, with the reviewer's reason.
    ObjectionDecided { batch_no: String, outcome: String },
    /// To town and county admins: the fund's risk of a shortfall crossed the warning level.
    FundWarning { pool: String, percent: String },
}

/// The text each template is registered with at the provider (`${name}` are its variables).
/// [`SmsMessage::text_zh`] fills in the same text, so what the log and the admin page show is
/// what the resident receives.
pub fn template_text_zh(template: SmsTemplate) -> &'static str {
    match template {
        SmsTemplate::ClaimReceived => {
            "您的医疗互助补助申请（编号${no}）已受理，我们将在5个工作日内完成审核。"
        }
        SmsTemplate::DocumentsRequested => {
            "您的医疗互助补助申请（编号${no}）需补充材料，请补交材料：${reason}。请将材料交到村委会或乡镇医保办。"
        }
        SmsTemplate::ClaimApproved => {
            "您的医疗互助补助申请（编号${no}）已审核通过，补助金额${amount}元，将在公示期满后发放。"
        }
        SmsTemplate::ClaimRefused => {
            "您的医疗互助补助申请（编号${no}）未予补助，原因：${reason}。如有异议，可在公示期内向村委会或乡镇医保办提出。"
        }
        SmsTemplate::SubsidyPaid => {
            "您的医疗互助补助（编号${no}）补助款${amount}元已发放至尾号${last4}的银行卡，请注意查收。"
        }
        SmsTemplate::PaymentFailed => {
            "您的医疗互助补助（编号${no}）银行发放未成功，请携带本人有效银行卡到村委会更新卡号，更新后随下月批次发放。"
        }
        SmsTemplate::ObjectionDecided => {
            "您对互助金公示（批次${batch}）提出的异议已处理：${outcome}。感谢您的监督。"
        }
        SmsTemplate::FundWarning => {
            "风险预警：${pool}医疗互助基金按目前补助进度，年度资金不足的概率约${percent}，请及时研判。"
        }
    }
}

/// Fills a registered template text with its variables.
pub fn render(template: SmsTemplate, params: &serde_json::Value) -> String {
    let mut text = template_text_zh(template).to_string();
    if let Some(map) = params.as_object() {
        for (k, v) in map {
            let v = v
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string());
            text = text.replace(&format!("${{{k}}}"), &v);
        }
    }
    format!("【{SIGN_NAME_ZH}】{text}")
}

impl SmsMessage {
    pub fn template(&self) -> SmsTemplate {
        match self {
            SmsMessage::ClaimReceived { .. } => SmsTemplate::ClaimReceived,
            SmsMessage::DocumentsRequested { .. } => SmsTemplate::DocumentsRequested,
            SmsMessage::ClaimApproved { .. } => SmsTemplate::ClaimApproved,
            SmsMessage::ClaimRefused { .. } => SmsTemplate::ClaimRefused,
            SmsMessage::SubsidyPaid { .. } => SmsTemplate::SubsidyPaid,
            SmsMessage::PaymentFailed { .. } => SmsTemplate::PaymentFailed,
            SmsMessage::ObjectionDecided { .. } => SmsTemplate::ObjectionDecided,
            SmsMessage::FundWarning { .. } => SmsTemplate::FundWarning,
        }
    }

    /// The template's variables, all strings (as the provider wants them).
    pub fn params(&self) -> serde_json::Value {
        match self {
            SmsMessage::ClaimReceived { application_no } => {
                serde_json::json!({ "no": application_no })
            }
            SmsMessage::DocumentsRequested {
                application_no,
                reason,
            }
            | SmsMessage::ClaimRefused {
                application_no,
                reason,
            } => serde_json::json!({ "no": application_no, "reason": reason }),
            SmsMessage::ClaimApproved {
                application_no,
                amount,
            } => serde_json::json!({ "no": application_no, "amount": amount.to_string() }),
            SmsMessage::SubsidyPaid {
                application_no,
                amount,
                last4,
            } => serde_json::json!({
                "no": application_no, "amount": amount.to_string(), "last4": last4
            }),
            SmsMessage::PaymentFailed { application_no } => {
                serde_json::json!({ "no": application_no })
            }
            SmsMessage::ObjectionDecided { batch_no, outcome } => {
                serde_json::json!({ "batch": batch_no, "outcome": outcome })
            }
            SmsMessage::FundWarning { pool, percent } => {
                serde_json::json!({ "pool": pool, "percent": percent })
            }
        }
    }

    /// The full text as the resident reads it, e.g.
    /// `【守望互助】您的医疗互助补助申请（编号…）已受理，我们将在5个工作日内完成审核。`
    pub fn text_zh(&self) -> String {
        render(self.template(), &self.params())
    }

    /// Every variable one line of 1..=[`VAR_MAX_CHARS`] characters without hidden characters;
    /// an amount above zero.
    pub fn check(&self) -> AppResult<()> {
        let line = |label: &str, v: &str| {
            domain::Line::parse(v, VAR_MAX_CHARS)
                .map(|_| ())
                .map_err(|e| AppError::Invalid(format!("短信中的{label}{e}")))
        };
        match self {
            SmsMessage::ClaimReceived { application_no } => line("申请编号", application_no),
            SmsMessage::DocumentsRequested {
                application_no,
                reason,
            }
            | SmsMessage::ClaimRefused {
                application_no,
                reason,
            } => {
                line("申请编号", application_no)?;
                line("原因", reason)
            }
            SmsMessage::ClaimApproved {
                application_no,
                amount,
            } => {
                line("申请编号", application_no)?;
                if amount.fen() <= 0 {
                    return Err(AppError::Invalid("短信中的补助金额应大于0".into()));
                }
                Ok(())
            }
            SmsMessage::SubsidyPaid {
                application_no,
                amount,
                last4,
            } => {
                line("申请编号", application_no)?;
                line("卡号尾号", last4)?;
                if amount.fen() <= 0 {
                    return Err(AppError::Invalid("短信中的补助金额应大于0".into()));
                }
                Ok(())
            }
            SmsMessage::PaymentFailed { application_no } => line("申请编号", application_no),
            SmsMessage::ObjectionDecided { batch_no, outcome } => {
                line("批次", batch_no)?;
                line("处理结果", outcome)
            }
            SmsMessage::FundWarning { pool, percent } => {
                line("统筹区", pool)?;
                line("概率", percent)
            }
        }
    }
}

/// Puts a message in the outbox inside the caller's transaction (so it commits with the state
/// change it reports). Stores the phone encrypted and masked, the rendered text, the template
/// and its variables; returns the message's id.
pub async fn enqueue(
    conn: &mut store::Conn,
    keys: &PiiKeys,
    phone: &Phone,
    region_code: &str,
    subject: &str,
    message: &SmsMessage,
    now: DateTime<Utc>,
) -> AppResult<i64> {
    message.check()?;
    let cipher = keys.encrypt(phone.as_str());
    let params = message.params().to_string();
    let text = message.text_zh();
    Ok(store::sms::insert(
        conn,
        &store::sms::NewMessage {
            region_code,
            subject,
            phone_cipher: &cipher,
            phone_masked: &phone.masked(),
            template: message.template(),
            params_json: &params,
            text: &text,
            now: &store::timestamp(now),
        },
    )
    .await?)
}

// ---------- providers ----------

/// A claimed message as a provider sees it.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    pub id: i64,
    pub attempt: i64,
    pub template: SmsTemplate,
    pub params: serde_json::Value,
    pub text: String,
}

/// The provider's acknowledgement (Aliyun's `BizId`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderReceipt {
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: throttling, a server error, a timeout, no connection.
    #[error("暂时失败：{0}")]
    Temporary(String),
    /// Will never succeed as it is: a bad number, a bad template or variable.
    #[error("无法发送：{0}")]
    Permanent(String),
}

pub type SendFuture<'a> =
    Pin<Box<dyn Future<Output = Result<ProviderReceipt, SendError>> + Send + 'a>>;

/// Delivers one message to one phone.
pub trait SmsProvider: Send + Sync {
    fn send<'a>(&'a self, phone: &'a str, message: &'a StoredMessage) -> SendFuture<'a>;
}

/// The default provider: writes the message to the log (masked number) and acknowledges it.
/// Admins read every message on the outbox page.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogProvider;

impl SmsProvider for LogProvider {
    fn send<'a>(&'a self, phone: &'a str, message: &'a StoredMessage) -> SendFuture<'a> {
        Box::pin(async move {
            let masked = Phone::parse(phone)
                .map(|p| p.masked())
                .unwrap_or_else(|_| "***".into());
            tracing::info!(
                target: "shouwang::sms",
                id = message.id,
                phone = %masked,
                template = message.template.code(),
                "短信（日志发送）：{}",
                message.text
            );
            Ok(ProviderReceipt {
                reference: format!("log-{}", message.id),
            })
        })
    }
}

/// Aliyun's SMS endpoint.
pub const ALIYUN_ENDPOINT: &str = "https://dysmsapi.aliyuncs.com/";

/// Configuration of the Aliyun provider.
#[derive(Clone)]
pub struct AliyunConfig {
    /// `https://dysmsapi.aliyuncs.com/` (tests point it at a local fake).
    pub endpoint: String,
    pub access_key_id: String,
    pub access_key_secret: String,
    /// The approved signature (短信签名), e.g. `守望互助`.
    pub sign_name: String,
    /// The approved template code (`SMS_…`) of every template.
    pub template_codes: BTreeMap<SmsTemplate, String>,
}

impl std::fmt::Debug for AliyunConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunConfig")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("access_key_secret", &"…")
            .field("sign_name", &self.sign_name)
            .field("template_codes", &self.template_codes)
            .finish()
    }
}

/// 阿里云短信 `SendSms` (RPC style, API version 2017-05-25, HMAC-SHA1 signature version 1.0),
/// sent as a form POST.
#[derive(Debug, Clone)]
pub struct AliyunProvider {
    config: AliyunConfig,
    client: reqwest::Client,
}

/// Aliyun error codes that no retry can fix: the number, the template, the signature or the
/// variables are wrong (or the content is refused).
const ALIYUN_PERMANENT: &[&str] = &[
    "isv.MOBILE_NUMBER_ILLEGAL",
    "isv.MOBILE_COUNT_OVER_LIMIT",
    "isv.SMS_TEMPLATE_ILLEGAL",
    "isv.SMS_SIGNATURE_ILLEGAL",
    "isv.SMS_SIGN_ILLEGAL",
    "isv.TEMPLATE_MISSING_PARAMETERS",
    "isv.TEMPLATE_PARAMS_ILLEGAL",
    "isv.INVALID_PARAMETERS",
    "isv.INVALID_JSON_PARAM",
    "isv.PARAM_LENGTH_LIMIT",
    "isv.PARAM_NOT_SUPPORT_URL",
    "isv.BLACK_KEY_CONTROL_LIMIT",
    "isv.SMS_CONTENT_ILLEGAL",
];

/// Whether an Aliyun error code is permanent for this message. Everything else (throttling such
/// as `isv.BUSINESS_LIMIT_CONTROL` and `Throttling.User`, `isp.SYSTEM_ERROR`, a balance or an
/// access key to fix) is retried with backoff until [`MAX_ATTEMPTS`].
pub fn aliyun_code_is_permanent(code: &str) -> bool {
    ALIYUN_PERMANENT.contains(&code)
}

impl AliyunProvider {
    /// Refuses a configuration without a template code for every template, or with an endpoint
    /// that is not http(s).
    pub fn new(config: AliyunConfig) -> AppResult<AliyunProvider> {
        let bad = |m: String| AppError::Invalid(format!("短信配置错误：{m}"));
        if !(config.endpoint.starts_with("https://") || config.endpoint.starts_with("http://")) {
            return Err(bad(format!(
                "endpoint {:?} 应为 https://…",
                config.endpoint
            )));
        }
        for t in SmsTemplate::ALL {
            if config
                .template_codes
                .get(&t)
                .is_none_or(|c| c.trim().is_empty())
            {
                return Err(bad(format!("缺少模板 {} 的模板编号", t.code())));
            }
        }
        for (what, v) in [
            ("access_key_id", &config.access_key_id),
            ("access_key_secret", &config.access_key_secret),
            ("sign_name", &config.sign_name),
        ] {
            if v.trim().is_empty() {
                return Err(bad(format!("缺少 {what}")));
            }
        }
        let client = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(5))
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(AliyunProvider { config, client })
    }

    /// The signed request's parameters (with `Signature`), for a given nonce and time.
    pub fn signed_params(
        &self,
        phone: &str,
        message: &StoredMessage,
        nonce: &str,
        at: DateTime<Utc>,
    ) -> BTreeMap<String, String> {
        let mut p: BTreeMap<String, String> = [
            ("AccessKeyId", self.config.access_key_id.clone()),
            ("Action", "SendSms".into()),
            ("Format", "JSON".into()),
            ("OutId", message.id.to_string()),
            ("PhoneNumbers", phone.to_string()),
            ("RegionId", "cn-hangzhou".into()),
            ("SignName", self.config.sign_name.clone()),
            ("SignatureMethod", "HMAC-SHA1".into()),
            ("SignatureNonce", nonce.to_string()),
            ("SignatureVersion", "1.0".into()),
            (
                "TemplateCode",
                self.config
                    .template_codes
                    .get(&message.template)
                    .cloned()
                    .unwrap_or_default(),
            ),
            ("TemplateParam", message.params.to_string()),
            ("Timestamp", at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
            ("Version", "2017-05-25".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let signature = aliyun_signature("POST", &p, &self.config.access_key_secret);
        p.insert("Signature".into(), signature);
        p
    }

    async fn post(
        &self,
        phone: &str,
        message: &StoredMessage,
    ) -> Result<ProviderReceipt, SendError> {
        let nonce = uuid::Uuid::new_v4().to_string();
        let params = self.signed_params(phone, message, &nonce, Utc::now());
        let body = canonical_query(&params);
        let response = self
            .client
            .post(&self.config.endpoint)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::Temporary(format!("阿里云短信接口无法连接：{e}")))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| SendError::Temporary(format!("阿里云短信接口应答中断：{e}")))?;
        #[derive(serde::Deserialize)]
        struct Answer {
            #[serde(rename = "Code")]
            code: Option<String>,
            #[serde(rename = "Message")]
            message: Option<String>,
            #[serde(rename = "BizId")]
            biz_id: Option<String>,
        }
        let answer: Option<Answer> = serde_json::from_slice(&bytes).ok();
        match answer {
            Some(Answer {
                code: Some(code),
                biz_id,
                ..
            }) if code == "OK" && status.is_success() => Ok(ProviderReceipt {
                reference: biz_id.unwrap_or_default(),
            }),
            Some(Answer {
                code: Some(code),
                message,
                ..
            }) => {
                let text = format!(
                    "{code}：{}（HTTP {}）",
                    message.unwrap_or_default(),
                    status.as_u16()
                );
                if status.is_server_error() || !aliyun_code_is_permanent(&code) {
                    Err(SendError::Temporary(text))
                } else {
                    Err(SendError::Permanent(text))
                }
            }
            _ => Err(SendError::Temporary(format!(
                "阿里云短信接口应答无法识别（HTTP {}）",
                status.as_u16()
            ))),
        }
    }
}

impl SmsProvider for AliyunProvider {
    fn send<'a>(&'a self, phone: &'a str, message: &'a StoredMessage) -> SendFuture<'a> {
        Box::pin(self.post(phone, message))
    }
}

/// Aliyun's percent-encoding (POP): RFC 3986 unreserved characters (`A–Z a–z 0–9 - _ . ~`)
/// stay, every other byte of the UTF-8 text is `%XX` in capitals (so a space is `%20`, `*` is
/// `%2A` and `~` stays `~`).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `k=v&…` with keys and values percent-encoded, sorted by key.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// The RPC signature: base64(HMAC-SHA1(secret + "&", METHOD + "&%2F&" +
/// percentEncode(canonical query))), over every parameter but `Signature`.
pub fn aliyun_signature(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut unsigned = params.clone();
    unsigned.remove("Signature");
    let to_sign = format!(
        "{method}&{}&{}",
        percent_encode("/"),
        percent_encode(&canonical_query(&unsigned))
    );
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(format!("{secret}&").as_bytes())
        .expect("HMAC takes any key length");
    mac.update(to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

// ---------- the sender ----------

/// What one round of the sender did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SendRound {
    /// Messages claimed this round.
    pub claimed: usize,
    pub sent: usize,
    /// Temporary failures, due again later.
    pub retried: usize,
    /// Given up: permanent errors and attempts exhausted.
    pub failed: usize,
    /// Claims given back unsent (their lease would lapse before the provider answered).
    pub released: usize,
}

/// One round at time `now` (injected, so tests can step through the backoff without
/// sleeping): claims up to [`BATCH`] due messages under a lease, sends each, records each
/// outcome.
pub async fn send_due_once(
    app: &App,
    provider: &dyn SmsProvider,
    now: DateTime<Utc>,
) -> AppResult<SendRound> {
    let claimed = {
        let mut tx = app.db.begin_write().await?;
        let claimed = store::sms::claim_due(
            &mut tx,
            &store::timestamp(now),
            &store::timestamp(now + LEASE),
            BATCH,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        claimed
    };
    let mut round = SendRound {
        claimed: claimed.len(),
        ..SendRound::default()
    };
    let started = std::time::Instant::now();
    let clock = || now + Duration::from_std(started.elapsed()).unwrap_or(Duration::zero());
    for c in claimed {
        let leased_until = store::parse_timestamp(&c.leased_until).unwrap_or(now);
        let at = clock();
        if at + SEND_BUDGET > leased_until {
            record(app, Outcome::Release, &c, at).await?;
            round.released += 1;
            continue;
        }
        let outcome = if c.attempt > MAX_ATTEMPTS {
            // A claim whose sender stopped mid-send counted an attempt it never recorded.
            Outcome::Fail(format!("已尝试{MAX_ATTEMPTS}次，不再重试"))
        } else {
            match (
                app.keys.decrypt(&c.phone_cipher),
                serde_json::from_str::<serde_json::Value>(&c.params_json),
            ) {
                (Err(_), _) => Outcome::Fail("手机号无法解密".into()),
                (_, Err(_)) => Outcome::Fail("模板参数无法读取".into()),
                (Ok(phone), Ok(params)) => {
                    let message = StoredMessage {
                        id: c.id,
                        attempt: c.attempt,
                        template: c.template,
                        params,
                        text: c.text.clone(),
                    };
                    let sent =
                        tokio::time::timeout(SEND_TIMEOUT, provider.send(&phone, &message)).await;
                    match sent {
                        Ok(Ok(receipt)) => Outcome::Sent(receipt.reference),
                        Ok(Err(SendError::Permanent(e))) => Outcome::Fail(e),
                        Ok(Err(SendError::Temporary(e))) => retry_or_give_up(c.attempt, e),
                        Err(_) => retry_or_give_up(c.attempt, "短信接口超时".into()),
                    }
                }
            }
        };
        let at = clock();
        match &outcome {
            Outcome::Sent(_) => round.sent += 1,
            Outcome::Retry(_) => round.retried += 1,
            Outcome::Fail(_) => round.failed += 1,
            Outcome::Release => round.released += 1,
        }
        record(app, outcome, &c, at).await?;
    }
    Ok(round)
}

fn retry_or_give_up(attempt: i64, error: String) -> Outcome {
    if attempt >= MAX_ATTEMPTS {
        Outcome::Fail(format!("已尝试{attempt}次，不再重试；最后一次：{error}"))
    } else {
        Outcome::Retry(error)
    }
}

enum Outcome {
    Sent(String),
    Retry(String),
    Fail(String),
    Release,
}

/// Writes an outcome, each as one statement of its own; tried three times, since a lost "sent"
/// would let the message go out again once its lease lapses.
async fn record(
    app: &App,
    outcome: Outcome,
    c: &store::sms::Claimed,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let now = store::timestamp(at);
    let mut tries = 0;
    loop {
        tries += 1;
        let written = async {
            let mut conn = app.db.acquire().await?;
            match &outcome {
                Outcome::Sent(reference) => {
                    store::sms::mark_sent(&mut conn, c.id, reference, &now).await
                }
                Outcome::Retry(error) => {
                    let next = store::timestamp(at + backoff(c.attempt));
                    store::sms::mark_retry(&mut conn, c.id, c.attempt, &next, error, &now).await
                }
                Outcome::Fail(error) => {
                    store::sms::mark_failed(&mut conn, c.id, c.attempt, error, &now).await
                }
                Outcome::Release => store::sms::release(&mut conn, c.id, c.attempt, &now).await,
            }
        }
        .await;
        match written {
            Ok(_) => return Ok(()),
            Err(e) if tries < 3 => {
                tracing::warn!("recording SMS {} failed (try {tries}): {e}", c.id);
                tokio::time::sleep(std::time::Duration::from_millis(200 * tries)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// The background sender: a round every [`POLL`] (at once again after a full batch) until
/// `shutdown` completes. A round's error is logged and the sender goes on.
pub async fn run_sender(
    app: App,
    provider: Arc<dyn SmsProvider>,
    shutdown: impl Future<Output = ()> + Send,
) {
    tokio::pin!(shutdown);
    loop {
        let round = send_due_once(&app, provider.as_ref(), app.now()).await;
        let again_now = match round {
            Ok(r) => {
                if r.claimed > 0 {
                    tracing::info!(
                        target: "shouwang::sms",
                        "短信发送：已发送{}，待重试{}，失败{}",
                        r.sent,
                        r.retried,
                        r.failed
                    );
                }
                r.claimed as i64 == BATCH
            }
            Err(e) => {
                tracing::warn!("SMS sender round failed: {e}");
                false
            }
        };
        if again_now {
            continue;
        }
        tokio::select! {
            _ = &mut shutdown => return,
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

// ---------- the admin page ----------

/// Proof that the holder may read the outbox of `scope`: system, county and town
/// administrators (who answer residents' questions about what they were told).
#[derive(Debug)]
pub struct SmsOutboxReader {
    scope: Scope,
}

impl SmsOutboxReader {
    pub fn scope(&self) -> &Scope {
        &self.scope
    }
}

impl Actor {
    pub fn sms_outbox_reader(&self) -> Option<SmsOutboxReader> {
        matches!(
            self.role,
            Role::SystemAdmin | Role::CountyAdmin | Role::TownAdmin
        )
        .then(|| SmsOutboxReader {
            scope: self.scope(),
        })
    }
}

/// Messages on one page of the outbox.
pub const PAGE: i64 = 100;

impl App {
    /// The messages about people of the reader's area, newest first ([`PAGE`] at a time).
    pub async fn sms_outbox(
        &self,
        reader: &SmsOutboxReader,
        before_id: Option<i64>,
    ) -> AppResult<Vec<OutboxRow>> {
        let mut conn = self.db.acquire().await?;
        Ok(store::sms::list(&mut conn, reader.scope(), before_id, PAGE).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// The example of Aliyun's SMS signature documentation (短信服务 → 签名机制): testId /
    /// testSecret, GET.
    #[test]
    fn signature_matches_the_documented_send_sms_example() {
        let p = params(&[
            ("AccessKeyId", "testId"),
            ("Action", "SendSms"),
            ("Format", "XML"),
            ("OutId", "123"),
            ("PhoneNumbers", "15300000001"),
            ("RegionId", "cn-hangzhou"),
            ("SignName", "阿里云短信测试专用"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "45e25e9b-0a6f-4070-8c85-2956eda1b466"),
            ("SignatureVersion", "1.0"),
            ("TemplateCode", "SMS_71390007"),
            ("TemplateParam", "{\"customer\":\"test\"}"),
            ("Timestamp", "2017-07-12T02:42:19Z"),
            ("Version", "2017-05-25"),
        ]);
        assert_eq!(
            canonical_query(&p),
            "AccessKeyId=testId&Action=SendSms&Format=XML&OutId=123&PhoneNumbers=15300000001\
             &RegionId=cn-hangzhou&SignName=%E9%98%BF%E9%87%8C%E4%BA%91%E7%9F%AD%E4%BF%A1%E6%B5%8B%E8%AF%95%E4%B8%93%E7%94%A8\
             &SignatureMethod=HMAC-SHA1&SignatureNonce=45e25e9b-0a6f-4070-8c85-2956eda1b466\
             &SignatureVersion=1.0&TemplateCode=SMS_71390007&TemplateParam=%7B%22customer%22%3A%22test%22%7D\
             &Timestamp=2017-07-12T02%3A42%3A19Z&Version=2017-05-25"
        );
        assert_eq!(
            aliyun_signature("GET", &p, "testSecret"),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
        // A Signature parameter already present is not signed.
        let mut with = p.clone();
        with.insert("Signature".into(), "old".into());
        assert_eq!(
            aliyun_signature("GET", &with, "testSecret"),
            "zJDF+Lrzhj/ThnlvIToysFRq6t4="
        );
    }

    /// The example of Aliyun's RPC signature documentation (ECS DescribeRegions).
    #[test]
    fn signature_matches_the_documented_rpc_example() {
        let p = params(&[
            ("AccessKeyId", "testid"),
            ("Action", "DescribeRegions"),
            ("Format", "XML"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("SignatureVersion", "1.0"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Version", "2014-05-26"),
        ]);
        assert_eq!(
            aliyun_signature("GET", &p, "testsecret"),
            "OLeaidS1JvxuMvnyHOwuJ+uX5qY="
        );
    }

    #[test]
    fn percent_encoding_follows_aliyun_rules() {
        assert_eq!(percent_encode("a b"), "a%20b");
        assert_eq!(percent_encode("*"), "%2A");
        assert_eq!(percent_encode("~-_."), "~-_.");
        assert_eq!(percent_encode("/=&+"), "%2F%3D%26%2B");
        assert_eq!(percent_encode("守"), "%E5%AE%88");
    }

    #[test]
    fn backoff_doubles_from_a_minute_to_six_hours() {
        let minutes: Vec<i64> = (1..=MAX_ATTEMPTS)
            .map(|a| backoff(a).num_minutes())
            .collect();
        assert_eq!(minutes, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360, 360]);
        assert_eq!(backoff(1000), Duration::hours(6));
    }

    #[test]
    fn texts_are_chinese_and_carry_no_more_than_their_variables() {
        let no = "BZ2026-000123".to_string();
        assert_eq!(
            SmsMessage::ClaimReceived {
                application_no: no.clone()
            }
            .text_zh(),
            "【守望互助】您的医疗互助补助申请（编号BZ2026-000123）已受理，我们将在5个工作日内完成审核。"
        );
        let approved = SmsMessage::ClaimApproved {
            application_no: no.clone(),
            amount: Fen::from_yuan(1320),
        };
        assert_eq!(
            approved.text_zh(),
            "【守望互助】您的医疗互助补助申请（编号BZ2026-000123）已审核通过，补助金额1,320.00元，将在公示期满后发放。"
        );
        assert_eq!(
            approved.params(),
            serde_json::json!({"no": no, "amount": "1,320.00"})
        );
        let docs = SmsMessage::DocumentsRequested {
            application_no: no.clone(),
            reason: "住院费用总清单".into(),
        };
        assert!(docs.text_zh().contains("请补交材料：住院费用总清单。"));
        let refused = SmsMessage::ClaimRefused {
            application_no: no.clone(),
            reason: "不在本年度互助期内".into(),
        };
        assert!(refused
            .text_zh()
            .contains("如有异议，可在公示期内向村委会或乡镇医保办提出"));
        for m in [&docs, &refused, &approved] {
            assert!(!m.text_zh().contains("${"), "{}", m.text_zh());
            m.check().unwrap();
        }
        // Every template's variables are exactly those its messages give.
        let payout = [
            SmsMessage::SubsidyPaid {
                application_no: no.clone(),
                amount: Fen::from_yuan(800),
                last4: "1234".into(),
            },
            SmsMessage::PaymentFailed {
                application_no: no.clone(),
            },
            SmsMessage::ObjectionDecided {
                batch_no: "370323104-202611-1".into(),
                outcome: "异议成立，该笔补助暂缓发放".into(),
            },
            SmsMessage::FundWarning {
                pool: "中庄镇".into(),
                percent: "12%".into(),
            },
        ];
        for m in payout.iter().chain([&docs, &refused, &approved]) {
            assert!(!m.text_zh().contains("${"), "{}", m.text_zh());
            m.check().unwrap();
        }
        let covered: std::collections::HashSet<_> = payout
            .iter()
            .chain([&docs, &refused, &approved])
            .map(SmsMessage::template)
            .collect();
        assert_eq!(
            covered.len() + 1,
            SmsTemplate::ALL.len(),
            "one message of each template"
        );
    }

    #[test]
    fn long_or_hidden_variables_are_refused() {
        let long = SmsMessage::DocumentsRequested {
            application_no: "1".into(),
            reason: "很".repeat(VAR_MAX_CHARS + 1),
        };
        assert!(long.check().is_err());
        let hidden = SmsMessage::ClaimRefused {
            application_no: "1".into(),
            reason: "a\nb".into(),
        };
        assert!(hidden.check().is_err());
        let zero = SmsMessage::ClaimApproved {
            application_no: "1".into(),
            amount: Fen::from_yuan(0),
        };
        assert!(zero.check().is_err());
    }

    #[test]
    fn permanent_and_temporary_codes() {
        assert!(aliyun_code_is_permanent("isv.MOBILE_NUMBER_ILLEGAL"));
        assert!(aliyun_code_is_permanent("isv.SMS_TEMPLATE_ILLEGAL"));
        assert!(!aliyun_code_is_permanent("isv.BUSINESS_LIMIT_CONTROL"));
        assert!(!aliyun_code_is_permanent("Throttling.User"));
        assert!(!aliyun_code_is_permanent("isp.SYSTEM_ERROR"));
    }
}
