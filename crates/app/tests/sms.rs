//! The SMS outbox and its sender, on SQLite and on PostgreSQL, against a local fake of Aliyun's
//! SMS API that checks every request's signature the documented way (its own implementation,
//! not the provider's) and its parameters.
//!
//! PostgreSQL must be running at 127.0.0.1:5432 with trust auth (or set SHOUWANG_TEST_PG_URL).

use app::sms::{
    self, AliyunConfig, AliyunProvider, LogProvider, SmsMessage, SmsStatus, SmsTemplate,
};
use app::{Actor, App, PiiKeys};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Form;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use domain::{Fen, Phone, RegionCode, Role};
use hmac::{Hmac, Mac};
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use store::{Backend, Scope};

const VILLAGE: &str = "370323104201";
const OTHER_COUNTY_VILLAGE: &str = "370324100201";
const KEY_ID: &str = "LTAI-test-key";
const SECRET: &str = "test-secret/with+odd*chars";
const SIGN: &str = "守望互助";

// ---------- the fake Aliyun ----------

#[derive(Default)]
struct FakeState {
    /// Answers to give, in order (HTTP status, body); then "OK".
    script: Vec<(u16, String)>,
    /// Every accepted request's parameters.
    requests: Vec<BTreeMap<String, String>>,
    /// What was wrong with requests (must stay empty).
    problems: Vec<String>,
    nonces: HashSet<String>,
}

#[derive(Clone)]
struct Fake {
    state: Arc<Mutex<FakeState>>,
    /// A pause before answering, so that concurrent senders overlap.
    delay: std::time::Duration,
}

/// Aliyun's percent-encoding, written again for the fake from the documentation's wording:
/// java.net.URLEncoder, then `+` → `%20`, `*` → `%2A`, `%7E` → `~`.
fn pop_encode(s: &str) -> String {
    let mut url_encoder = String::new();
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                url_encoder.push(b as char)
            }
            b' ' => url_encoder.push('+'),
            _ => url_encoder.push_str(&format!("%{b:02X}")),
        }
    }
    url_encoder
        .replace('+', "%20")
        .replace('*', "%2A")
        .replace("%7E", "~")
}

fn expected_signature(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut keys: Vec<&String> = params.keys().filter(|k| *k != "Signature").collect();
    keys.sort();
    let canonical = keys
        .iter()
        .map(|k| format!("{}={}", pop_encode(k), pop_encode(&params[*k])))
        .collect::<Vec<_>>()
        .join("&");
    let string_to_sign = format!("{method}&{}&{}", pop_encode("/"), pop_encode(&canonical));
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(format!("{secret}&").as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

async fn fake_send_sms(
    State(fake): State<Fake>,
    Form(params): Form<BTreeMap<String, String>>,
) -> (StatusCode, String) {
    tokio::time::sleep(fake.delay).await;
    let mut s = fake.state.lock().unwrap();
    let mut problems = Vec::new();
    let signature = params.get("Signature").cloned().unwrap_or_default();
    if signature != expected_signature("POST", &params, SECRET) {
        problems.push(format!("bad signature {signature}"));
    }
    for (k, v) in [
        ("Action", "SendSms"),
        ("Version", "2017-05-25"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureVersion", "1.0"),
        ("AccessKeyId", KEY_ID),
        ("SignName", SIGN),
    ] {
        if params.get(k).map(String::as_str) != Some(v) {
            problems.push(format!("{k} = {:?}", params.get(k)));
        }
    }
    let nonce = params.get("SignatureNonce").cloned().unwrap_or_default();
    if nonce.is_empty() || !s.nonces.insert(nonce.clone()) {
        problems.push(format!("nonce {nonce:?} missing or used twice"));
    }
    match params
        .get("Timestamp")
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
    {
        Some(t) if (Utc::now() - t.with_timezone(&Utc)).num_minutes().abs() < 15 => {}
        other => problems.push(format!("timestamp {other:?}")),
    }
    let template = params.get("TemplateCode").cloned().unwrap_or_default();
    if !template.starts_with("SMS_") {
        problems.push(format!("template code {template}"));
    }
    if serde_json::from_str::<serde_json::Value>(params.get("TemplateParam").map_or("", |v| v))
        .map(|v| !v.is_object())
        .unwrap_or(true)
    {
        problems.push("TemplateParam is not a JSON object".into());
    }
    if Phone::parse(params.get("PhoneNumbers").map_or("", |v| v)).is_err() {
        problems.push("PhoneNumbers".into());
    }
    if !problems.is_empty() {
        s.problems.extend(problems);
        return (
            StatusCode::BAD_REQUEST,
            r#"{"Code":"SignatureDoesNotMatch","Message":"fake refused"}"#.into(),
        );
    }
    let n = s.requests.len();
    s.requests.push(params);
    match s.script.get(n) {
        Some((status, body)) => (StatusCode::from_u16(*status).unwrap(), body.clone()),
        None => (
            StatusCode::OK,
            format!(r#"{{"Code":"OK","Message":"OK","BizId":"biz-{n}","RequestId":"r"}}"#),
        ),
    }
}

impl Fake {
    /// Starts the fake on 127.0.0.1 and returns it with a provider pointed at it.
    async fn start(script: Vec<(u16, &str)>, delay_ms: u64) -> (Fake, AliyunProvider) {
        let fake = Fake {
            state: Arc::new(Mutex::new(FakeState {
                script: script
                    .into_iter()
                    .map(|(s, b)| (s, b.to_string()))
                    .collect(),
                ..FakeState::default()
            })),
            delay: std::time::Duration::from_millis(delay_ms),
        };
        let router = axum::Router::new()
            .route("/", axum::routing::post(fake_send_sms))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        let provider = AliyunProvider::new(AliyunConfig {
            endpoint: format!("http://{addr}/"),
            access_key_id: KEY_ID.into(),
            access_key_secret: SECRET.into(),
            sign_name: SIGN.into(),
            template_codes: SmsTemplate::ALL
                .into_iter()
                .enumerate()
                .map(|(i, t)| (t, format!("SMS_1000{i}")))
                .collect(),
        })
        .unwrap();
        (fake, provider)
    }

    fn requests(&self) -> Vec<BTreeMap<String, String>> {
        let s = self.state.lock().unwrap();
        assert!(
            s.problems.is_empty(),
            "fake Aliyun refused: {:?}",
            s.problems
        );
        s.requests.clone()
    }
}

// ---------- the database ----------

struct World {
    app: App,
    url: String,
}

async fn world(backend: Backend) -> World {
    let url = store::testing::fresh_database(backend)
        .await
        .expect("a fresh database (PostgreSQL must be running at 127.0.0.1:5432)");
    let app = App::new(
        store::Db::connect(&url).await.expect("connect and migrate"),
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap(),
    );
    World { app, url }
}

impl World {
    /// Another app server on the same database (own pool, same key).
    async fn second_server(&self) -> App {
        App::new(
            store::Db::connect(&self.url).await.unwrap(),
            self.app.keys.clone(),
        )
    }

    async fn enqueue(&self, phone: &str, region: &str, n: i64, at: DateTime<Utc>) -> i64 {
        let mut tx = self.app.db.begin_write().await.unwrap();
        let id = sms::enqueue(
            &mut tx,
            &self.app.keys,
            &Phone::parse(phone).unwrap(),
            region,
            &format!("claim:{n}"),
            &SmsMessage::ClaimApproved {
                application_no: format!("BZ2026-{n:06}"),
                amount: Fen::from_yuan(1320),
            },
            at,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        id
    }

    async fn row(&self, id: i64) -> sms::OutboxRow {
        let mut conn = self.app.db.acquire().await.unwrap();
        store::sms::get(&mut conn, &Scope::all(), id)
            .await
            .unwrap()
            .expect("the message")
    }

    async fn count(&self) -> i64 {
        let mut conn = self.app.db.acquire().await.unwrap();
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM sms_outbox")
            .fetch_one(&mut *conn)
            .await
            .unwrap()
    }

    async fn finish(self) {
        self.app.db.close().await;
        if let Some(path) = self.url.strip_prefix("sqlite://") {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{path}{suffix}"));
            }
        }
    }
}

use store::sqlx_reexport as sqlx;

fn at(s: &str) -> DateTime<Utc> {
    store::parse_timestamp(s).unwrap()
}

macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(store::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                super::$name(store::Backend::Postgres).await
            }
        }
    )*};
}

on_both_databases!(
    a_message_commits_with_its_transaction_or_not_at_all,
    a_temporary_error_is_retried_after_the_backoff_and_sent_once,
    a_permanent_error_fails_at_once,
    attempts_run_out_after_the_backoff_schedule,
    two_servers_never_send_a_message_twice,
    the_log_provider_acknowledges_and_admins_see_their_area,
);

async fn a_message_commits_with_its_transaction_or_not_at_all(backend: Backend) {
    let w = world(backend).await;
    let phone = Phone::parse("13812345678").unwrap();
    let message = SmsMessage::ClaimReceived {
        application_no: "BZ2026-000001".into(),
    };
    let mut tx = w.app.db.begin_write().await.unwrap();
    sms::enqueue(
        &mut tx,
        &w.app.keys,
        &phone,
        VILLAGE,
        "claim:1",
        &message,
        Utc::now(),
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(w.count().await, 0, "a rolled-back change leaves no message");

    let mut tx = w.app.db.begin_write().await.unwrap();
    let id = sms::enqueue(
        &mut tx,
        &w.app.keys,
        &phone,
        VILLAGE,
        "claim:1",
        &message,
        Utc::now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(w.count().await, 1);
    let row = w.row(id).await;
    assert_eq!(row.status, SmsStatus::Pending);
    assert_eq!(row.attempts, 0);
    assert_eq!(row.phone_masked, "138****5678");
    assert_eq!(row.template, SmsTemplate::ClaimReceived);
    assert_eq!(row.text, message.text_zh());
    assert_eq!(row.subject, "claim:1");
    // The number is stored encrypted, not in clear.
    let mut conn = w.app.db.acquire().await.unwrap();
    let cipher = store::sms::phone_cipher(&mut conn, id)
        .await
        .unwrap()
        .unwrap();
    drop(conn);
    assert!(!cipher.windows(11).any(|x| x == b"13812345678"));
    assert_eq!(w.app.keys.decrypt(&cipher).unwrap(), "13812345678");
    // A variable that is too long is refused (and the caller's change with it).
    let mut tx = w.app.db.begin_write().await.unwrap();
    let long = SmsMessage::DocumentsRequested {
        application_no: "BZ2026-000001".into(),
        reason: "很".repeat(sms::VAR_MAX_CHARS + 1),
    };
    assert!(sms::enqueue(
        &mut tx,
        &w.app.keys,
        &phone,
        VILLAGE,
        "c",
        &long,
        Utc::now()
    )
    .await
    .is_err());
    drop(tx);
    w.finish().await;
}

async fn a_temporary_error_is_retried_after_the_backoff_and_sent_once(backend: Backend) {
    let w = world(backend).await;
    let (fake, provider) = Fake::start(
        vec![(
            200,
            r#"{"Code":"isv.BUSINESS_LIMIT_CONTROL","Message":"触发分钟级流控"}"#,
        )],
        0,
    )
    .await;
    let t0 = Utc::now();
    let id = w.enqueue("13912345678", VILLAGE, 7, t0).await;

    let r = sms::send_due_once(&w.app, &provider, t0).await.unwrap();
    assert_eq!((r.claimed, r.sent, r.retried, r.failed), (1, 0, 1, 0));
    let row = w.row(id).await;
    assert_eq!(row.status, SmsStatus::Pending);
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.contains("isv.BUSINESS_LIMIT_CONTROL"));
    let next = at(&row.next_attempt_at);
    assert!(next >= t0 + Duration::minutes(1) && next < t0 + Duration::minutes(2));
    assert!(row.leased_until.is_none());

    // Not before the backoff.
    let r = sms::send_due_once(&w.app, &provider, t0 + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(r, sms::SendRound::default());
    assert_eq!(fake.requests().len(), 1);

    let r = sms::send_due_once(&w.app, &provider, next).await.unwrap();
    assert_eq!((r.claimed, r.sent), (1, 1));
    let row = w.row(id).await;
    assert_eq!(row.status, SmsStatus::Sent);
    assert_eq!(row.attempts, 2);
    assert_eq!(row.provider_ref, "biz-1");
    assert!(row.sent_at.is_some());

    // Sent is final.
    let r = sms::send_due_once(&w.app, &provider, next + Duration::days(2))
        .await
        .unwrap();
    assert_eq!(r.claimed, 0);
    let requests = fake.requests();
    assert_eq!(requests.len(), 2);
    let last = &requests[1];
    assert_eq!(last["PhoneNumbers"], "13912345678");
    assert_eq!(last["OutId"], id.to_string());
    let approved = SmsTemplate::ALL
        .iter()
        .position(|t| *t == SmsTemplate::ClaimApproved)
        .unwrap();
    assert_eq!(last["TemplateCode"], format!("SMS_1000{approved}"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&last["TemplateParam"]).unwrap(),
        serde_json::json!({"no": "BZ2026-000007", "amount": "1,320.00"})
    );
    w.finish().await;
}

async fn a_permanent_error_fails_at_once(backend: Backend) {
    let w = world(backend).await;
    let (fake, provider) = Fake::start(
        vec![(
            400,
            r#"{"Code":"isv.MOBILE_NUMBER_ILLEGAL","Message":"非法手机号"}"#,
        )],
        0,
    )
    .await;
    let t0 = Utc::now();
    let id = w.enqueue("13912345678", VILLAGE, 8, t0).await;
    let r = sms::send_due_once(&w.app, &provider, t0).await.unwrap();
    assert_eq!((r.claimed, r.sent, r.retried, r.failed), (1, 0, 0, 1));
    let row = w.row(id).await;
    assert_eq!(row.status, SmsStatus::Failed);
    assert_eq!(row.attempts, 1);
    assert!(row.last_error.contains("isv.MOBILE_NUMBER_ILLEGAL"));
    let r = sms::send_due_once(&w.app, &provider, t0 + Duration::days(3))
        .await
        .unwrap();
    assert_eq!(r.claimed, 0);
    assert_eq!(fake.requests().len(), 1);
    w.finish().await;
}

async fn attempts_run_out_after_the_backoff_schedule(backend: Backend) {
    let w = world(backend).await;
    let busy = r#"{"Code":"isp.SYSTEM_ERROR","Message":"系统出现错误"}"#;
    let (fake, provider) = Fake::start(vec![(503, busy); 20], 0).await;
    let t0 = Utc::now();
    let id = w.enqueue("13912345678", VILLAGE, 9, t0).await;
    let mut now = t0;
    let mut waits = Vec::new();
    for attempt in 1..=sms::MAX_ATTEMPTS {
        // Just before it is due, nothing happens.
        if attempt > 1 {
            let early = sms::send_due_once(&w.app, &provider, now - Duration::seconds(1))
                .await
                .unwrap();
            assert_eq!(early.claimed, 0, "attempt {attempt} came early");
        }
        let r = sms::send_due_once(&w.app, &provider, now).await.unwrap();
        assert_eq!(r.claimed, 1, "attempt {attempt}");
        let row = w.row(id).await;
        assert_eq!(row.attempts, attempt);
        if attempt < sms::MAX_ATTEMPTS {
            assert_eq!(row.status, SmsStatus::Pending);
            let next = at(&row.next_attempt_at);
            waits.push((next - now).num_minutes());
            now = next;
        } else {
            assert_eq!(row.status, SmsStatus::Failed);
            assert!(row.last_error.contains("isp.SYSTEM_ERROR"));
        }
    }
    assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256, 360, 360]);
    let r = sms::send_due_once(&w.app, &provider, now + Duration::days(30))
        .await
        .unwrap();
    assert_eq!(r.claimed, 0);
    assert_eq!(fake.requests().len(), sms::MAX_ATTEMPTS as usize);
    w.finish().await;
}

async fn two_servers_never_send_a_message_twice(backend: Backend) {
    let w = world(backend).await;
    let (fake, provider) = Fake::start(vec![], 15).await;
    let provider = Arc::new(provider);
    let t0 = Utc::now();
    let mut ids = Vec::new();
    for n in 0..40 {
        ids.push(w.enqueue("13912345678", VILLAGE, n, t0).await);
    }
    let other = w.second_server().await;
    let run = |app: App, provider: Arc<AliyunProvider>| async move {
        let mut sent = 0;
        loop {
            let r = sms::send_due_once(&app, provider.as_ref(), t0)
                .await
                .unwrap();
            if r.claimed == 0 {
                return sent;
            }
            sent += r.sent;
        }
    };
    // One round each first, so that both servers take part whatever the scheduler does (a busy
    // machine may otherwise let one sender take everything); then three senders race for the rest.
    let first = sms::send_due_once(&w.app, provider.as_ref(), t0)
        .await
        .unwrap()
        .sent;
    let second = sms::send_due_once(&other, provider.as_ref(), t0)
        .await
        .unwrap()
        .sent;
    let (a, b, c) = tokio::join!(
        tokio::spawn(run(w.app.clone(), provider.clone())),
        tokio::spawn(run(other.clone(), provider.clone())),
        tokio::spawn(run(other.clone(), provider.clone())),
    );
    let (a, b, c) = (a.unwrap() + first, b.unwrap() + second, c.unwrap());
    assert_eq!(a + b + c, ids.len(), "sent by the senders: {a} + {b} + {c}");
    assert!(
        a > 0 && b + c > 0,
        "both servers took part: {a} and {}",
        b + c
    );
    let requests = fake.requests();
    assert_eq!(requests.len(), ids.len());
    let out_ids: HashSet<String> = requests.iter().map(|r| r["OutId"].clone()).collect();
    assert_eq!(out_ids.len(), ids.len(), "every message exactly once");
    for id in ids {
        let row = w.row(id).await;
        assert_eq!(row.status, SmsStatus::Sent);
        assert_eq!(row.attempts, 1);
    }
    other.db.close().await;
    w.finish().await;
}

async fn the_log_provider_acknowledges_and_admins_see_their_area(backend: Backend) {
    let w = world(backend).await;
    let t0 = Utc::now();
    let here = w.enqueue("13812345678", VILLAGE, 1, t0).await;
    let there = w.enqueue("13712345678", OTHER_COUNTY_VILLAGE, 2, t0).await;
    let r = sms::send_due_once(&w.app, &LogProvider, t0).await.unwrap();
    assert_eq!((r.claimed, r.sent), (2, 2));
    let row = w.row(here).await;
    assert_eq!(row.status, SmsStatus::Sent);
    assert_eq!(row.provider_ref, format!("log-{here}"));

    let staff = |role: Role, region: Option<&str>| Actor {
        user_id: Some(1),
        username: "u".into(),
        display_name: "u".into(),
        role,
        region: region.map(|r| RegionCode::parse(r).unwrap()),
        ip: "127.0.0.1".into(),
    };
    let ids = |rows: Vec<sms::OutboxRow>| rows.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let town = staff(Role::TownAdmin, Some("370323104"))
        .sms_outbox_reader()
        .unwrap();
    assert_eq!(ids(w.app.sms_outbox(&town, None).await.unwrap()), [here]);
    let county = staff(Role::CountyAdmin, Some("370324"))
        .sms_outbox_reader()
        .unwrap();
    assert_eq!(ids(w.app.sms_outbox(&county, None).await.unwrap()), [there]);
    let system = staff(Role::SystemAdmin, None).sms_outbox_reader().unwrap();
    assert_eq!(
        ids(w.app.sms_outbox(&system, None).await.unwrap()),
        [there, here]
    );
    assert_eq!(
        ids(w.app.sms_outbox(&system, Some(there)).await.unwrap()),
        [here]
    );
    for role in [
        Role::VillageClerk,
        Role::Coder,
        Role::Reviewer,
        Role::Auditor,
    ] {
        assert!(
            staff(role, Some(VILLAGE)).sms_outbox_reader().is_none(),
            "{role:?}"
        );
    }
    w.finish().await;
}
