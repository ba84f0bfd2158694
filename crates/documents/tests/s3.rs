//! `DocumentStore::s3` against a fake S3 server on 127.0.0.1 (no network beyond loopback):
//! PUT/GET/HEAD/DELETE object, path-style, signatures not verified but required to be
//! AWS4-HMAC-SHA256. The bytes the fake holds must be ciphertext.

mod common;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use common::contains;
use documents::{new_object_name, DocumentStore, S3Config, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Fake {
    objects: HashMap<String, Vec<u8>>,
    /// (method, path, Authorization header) of every request.
    requests: Vec<(String, String, String)>,
}

type Shared = Arc<Mutex<Fake>>;

const LAST_MODIFIED: &str = "Tue, 01 Dec 2026 18:00:00 GMT";

async fn handle(
    State(fake): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut fake = fake.lock().unwrap();
    fake.requests
        .push((method.to_string(), path.clone(), auth.clone()));
    if !auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/") {
        return Response::builder()
            .status(StatusCode::FORBIDDEN)
            .body(Body::from("<Error><Code>AccessDenied</Code></Error>"))
            .unwrap();
    }
    let etag = |b: &[u8]| {
        format!(
            "\"{:x}-{}\"",
            b.iter().map(|&x| x as u64).sum::<u64>(),
            b.len()
        )
    };
    let not_found = || {
        Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header("content-type", "application/xml")
            .body(Body::from(
                "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>none</Message></Error>",
            ))
            .unwrap()
    };
    match method {
        Method::PUT => {
            let tag = etag(&body);
            fake.objects.insert(path, body.to_vec());
            Response::builder()
                .status(StatusCode::OK)
                .header("etag", tag)
                .body(Body::empty())
                .unwrap()
        }
        Method::GET | Method::HEAD => match fake.objects.get(&path) {
            None => not_found(),
            Some(b) => Response::builder()
                .status(StatusCode::OK)
                .header("etag", etag(b))
                .header("last-modified", LAST_MODIFIED)
                .header("content-length", b.len())
                .header("content-type", "application/octet-stream")
                .body(if method == Method::HEAD {
                    Body::empty()
                } else {
                    Body::from(b.clone())
                })
                .unwrap(),
        },
        Method::DELETE => {
            fake.objects.remove(&path);
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .body(Body::empty())
                .unwrap()
        }
        _ => Response::builder()
            .status(StatusCode::NOT_IMPLEMENTED)
            .body(Body::empty())
            .unwrap(),
    }
}

async fn start_fake() -> (String, Shared) {
    let fake = Shared::default();
    let app = axum::Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::disable())
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), fake)
}

fn config(endpoint: &str, prefix: &str) -> S3Config {
    S3Config {
        endpoint: Some(endpoint.to_string()),
        bucket: "claims".into(),
        region: "cn-north-1".into(),
        access_key_id: "AKIDTEST".into(),
        secret_access_key: "not-a-real-secret".into(),
        allow_http: true,
        prefix: prefix.into(),
    }
}

#[tokio::test]
async fn round_trip_through_fake_s3_stores_only_ciphertext() {
    let (endpoint, fake) = start_fake().await;
    let store = DocumentStore::s3(&config(&endpoint, "shouwang/"), [9; 32]).unwrap();
    let dbg = format!("{store:?}");
    assert!(
        dbg.contains("claims") && !dbg.contains("not-a-real-secret"),
        "{dbg}"
    );

    let name = new_object_name();
    let data: Vec<u8> = (0..3_000u32)
        .flat_map(|i| format!("住院费用清单 第{i}项;").into_bytes())
        .collect();
    store.put(&name, &data).await.unwrap();
    assert_eq!(store.get(&name).await.unwrap(), data);

    let key = format!("/claims/shouwang/{name}");
    {
        let f = fake.lock().unwrap();
        let stored = f.objects.get(&key).expect("path-style, prefixed key");
        assert!(stored.starts_with(b"SWD1"));
        assert_eq!(stored.len(), data.len() + 32);
        assert!(!contains(stored, &data[..48]), "plaintext in the bucket");
        assert!(!contains(stored, "住院费用清单".as_bytes()));
        assert!(f.requests.iter().all(|(_, _, auth)| auth
            .starts_with("AWS4-HMAC-SHA256 Credential=AKIDTEST/")
            && auth.contains("/cn-north-1/s3/aws4_request")
            && auth.contains("Signature=")));
        assert!(f.requests.iter().any(|(m, p, _)| m == "PUT" && *p == key));
    }

    // A blob moved to another key in the bucket does not decrypt there.
    let moved = new_object_name();
    {
        let mut f = fake.lock().unwrap();
        let blob = f.objects[&key].clone();
        f.objects.insert(format!("/claims/shouwang/{moved}"), blob);
    }
    assert!(matches!(store.get(&moved).await, Err(StoreError::Decrypt)));

    // Another key (another deployment's bucket contents) does not decrypt either.
    let foreign = DocumentStore::s3(&config(&endpoint, "shouwang"), [10; 32]).unwrap();
    assert!(matches!(foreign.get(&name).await, Err(StoreError::Decrypt)));

    store.delete(&name).await.unwrap();
    assert!(!fake.lock().unwrap().objects.contains_key(&key));
    assert!(
        fake.lock()
            .unwrap()
            .requests
            .iter()
            .any(|(m, p, _)| m == "DELETE" && *p == key),
        "single-object DELETE, not bulk POST ?delete"
    );
    assert!(matches!(store.get(&name).await, Err(StoreError::NotFound)));
    store.delete(&name).await.unwrap();
}

#[tokio::test]
async fn s3_without_prefix_and_bad_credentials() {
    let (endpoint, fake) = start_fake().await;
    let store = DocumentStore::s3(&config(&endpoint, ""), [1; 32]).unwrap();
    store.put("doc/x", b"settlement").await.unwrap();
    assert!(fake.lock().unwrap().objects.contains_key("/claims/doc/x"));
    assert_eq!(store.get("doc/x").await.unwrap(), b"settlement");

    // The fake refuses other access keys: the error surfaces as a backend error.
    let mut cfg = config(&endpoint, "");
    cfg.access_key_id = "SOMEONE".into();
    let denied = DocumentStore::s3(&cfg, [1; 32]).unwrap();
    assert!(matches!(
        denied.get("doc/x").await,
        Err(StoreError::Backend(_))
    ));

    // An empty bucket name is a configuration error, found at once.
    cfg.bucket.clear();
    assert!(matches!(
        DocumentStore::s3(&cfg, [1; 32]),
        Err(StoreError::Config(_))
    ));
}
