//! The encrypted blob store: AES-256-GCM over `object_store` (a local directory or S3).
//!
//! Stored object layout: `b"SWD1"` (format tag) ‖ 96-bit random nonce ‖ ciphertext ‖ 128-bit tag.
//! The associated data is a fixed context string and the object's logical name (without any
//! deployment prefix), so an object copied or renamed under another name fails to decrypt.

use aes_gcm::aead::{Aead, KeyInit, OsRng, Payload};
use aes_gcm::{AeadCore, Aes256Gcm, Nonce};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, RetryConfig};
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const FORMAT_TAG: &[u8; 4] = b"SWD1";
const NONCE_LEN: usize = 12;
const AAD_CONTEXT: &[u8] = b"shouwang/documents/v1\0";
const MAX_NAME_LEN: usize = 256;

/// Where S3-compatible object storage is and how to sign in to it.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct S3Config {
    /// `https://host[:port]` of an S3-compatible service (MinIO, a cloud's OSS/COS S3 endpoint);
    /// `None` for AWS itself (from the region).
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    /// Allow a plain `http://` endpoint (tests, a service on the same private network).
    pub allow_http: bool,
    /// Key prefix inside the bucket (e.g. `shouwang/`); empty for none.
    pub prefix: String,
}

impl fmt::Debug for S3Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Config")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"…")
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The name has characters or segments that object names may not have.
    #[error("invalid object name {0:?}")]
    BadName(String),
    #[error("object not found")]
    NotFound,
    /// Authentication failed: tampered, truncated, stored under another name, or another key.
    #[error("object failed to decrypt (tampered, moved, or wrong key)")]
    Decrypt,
    #[error("blob store configuration: {0}")]
    Config(String),
    #[error("blob store: {0}")]
    Backend(#[from] object_store::Error),
}

/// Encrypted document storage. Cheap to clone (shares the backend); its `Debug` shows the
/// backend, never the key.
#[derive(Clone)]
pub struct DocumentStore {
    backend: Arc<dyn ObjectStore>,
    cipher: Aes256Gcm,
    describe: String,
}

impl fmt::Debug for DocumentStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentStore")
            .field("backend", &self.describe)
            .finish_non_exhaustive()
    }
}

impl DocumentStore {
    /// A directory on this machine (created with mode 0700 if missing).
    pub fn local(dir: &Path, key: [u8; 32]) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(|e| {
                StoreError::Config(format!("cannot restrict {}: {e}", dir.display()))
            })?;
        }
        let fs = LocalFileSystem::new_with_prefix(dir)?;
        Ok(Self::with_backend(
            Arc::new(fs),
            key,
            format!("local directory {}", dir.display()),
        ))
    }

    /// S3-compatible object storage, path-style addressing.
    pub fn s3(cfg: &S3Config, key: [u8; 32]) -> Result<Self, StoreError> {
        if cfg.bucket.is_empty() {
            return Err(StoreError::Config("S3 bucket is empty".into()));
        }
        let retry = RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        let mut builder = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_access_key_id(&cfg.access_key_id)
            .with_secret_access_key(&cfg.secret_access_key)
            .with_allow_http(cfg.allow_http)
            .with_virtual_hosted_style_request(false)
            // One object at a time, as plain `DELETE /key`: the bulk `POST /?delete` is missing
            // from some S3-compatible services (Alibaba Cloud OSS among them).
            .with_disable_bulk_delete(true)
            .with_retry(retry);
        if let Some(endpoint) = cfg.endpoint.as_deref().filter(|e| !e.is_empty()) {
            builder = builder.with_endpoint(endpoint);
        }
        let s3 = builder
            .build()
            .map_err(|e| StoreError::Config(e.to_string()))?;
        let prefix = cfg.prefix.trim_matches('/');
        let describe = format!(
            "s3 {}/{}{}",
            cfg.endpoint.as_deref().unwrap_or("aws"),
            cfg.bucket,
            if prefix.is_empty() {
                String::new()
            } else {
                format!("/{prefix}")
            }
        );
        let backend: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(s3)
        } else {
            let p = ObjectPath::parse(prefix)
                .map_err(|e| StoreError::Config(format!("bad S3 prefix: {e}")))?;
            Arc::new(PrefixStore::new(s3, p))
        };
        Ok(Self::with_backend(backend, key, describe))
    }

    /// Any `object_store` backend (tests: `object_store::memory::InMemory`).
    pub fn with_backend(
        backend: Arc<dyn ObjectStore>,
        key: [u8; 32],
        describe: impl Into<String>,
    ) -> Self {
        DocumentStore {
            backend,
            cipher: Aes256Gcm::new(&key.into()),
            describe: describe.into(),
        }
    }

    /// Encrypts and stores `plaintext` under `name`, replacing any object of that name.
    pub async fn put(&self, name: &str, plaintext: &[u8]) -> Result<(), StoreError> {
        let path = object_path(name)?;
        let blob = self.seal(name, plaintext)?;
        self.backend.put(&path, PutPayload::from(blob)).await?;
        Ok(())
    }

    /// Fetches, authenticates and decrypts the object stored under `name`.
    pub async fn get(&self, name: &str) -> Result<Vec<u8>, StoreError> {
        let path = object_path(name)?;
        let blob = match self.backend.get(&path).await {
            Ok(r) => r.bytes().await?,
            Err(object_store::Error::NotFound { .. }) => return Err(StoreError::NotFound),
            Err(e) => return Err(e.into()),
        };
        self.open(name, &blob)
    }

    /// Deletes the object; deleting one that is not there is not an error.
    pub async fn delete(&self, name: &str) -> Result<(), StoreError> {
        let path = object_path(name)?;
        match self.backend.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    fn seal(&self, name: &str, plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let aad = aad(name);
        let ct = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .map_err(|_| StoreError::Decrypt)?;
        let mut blob = Vec::with_capacity(FORMAT_TAG.len() + NONCE_LEN + ct.len());
        blob.extend_from_slice(FORMAT_TAG);
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&ct);
        Ok(blob)
    }

    fn open(&self, name: &str, blob: &[u8]) -> Result<Vec<u8>, StoreError> {
        let rest = blob.strip_prefix(FORMAT_TAG).ok_or(StoreError::Decrypt)?;
        if rest.len() < NONCE_LEN + 16 {
            return Err(StoreError::Decrypt);
        }
        let (nonce, ct) = rest.split_at(NONCE_LEN);
        let aad = aad(name);
        self.cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
            .map_err(|_| StoreError::Decrypt)
    }
}

fn aad(name: &str) -> Vec<u8> {
    [AAD_CONTEXT, name.as_bytes()].concat()
}

/// Object names: ASCII letters, digits, `-`, `_`, `.`, separated by single `/`; no empty,
/// `.` or `..` segments; at most 256 characters.
fn object_path(name: &str) -> Result<ObjectPath, StoreError> {
    let bad = || StoreError::BadName(name.chars().take(80).collect());
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(bad());
    }
    for seg in name.split('/') {
        if seg.is_empty()
            || seg == "."
            || seg == ".."
            || !seg
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        {
            return Err(bad());
        }
    }
    ObjectPath::parse(name).map_err(|_| bad())
}

/// A fresh random object name, `doc/YYYY/MM/<uuid v4>`: spread over months for listing,
/// and free of anything personal.
pub fn new_object_name() -> String {
    let now = chrono::Utc::now();
    format!(
        "doc/{}/{}/{}",
        now.format("%Y"),
        now.format("%m"),
        uuid::Uuid::new_v4()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for ok in [
            "doc/2026/12/0b6c",
            "a",
            "doc/x.thumb.jpg",
            &new_object_name(),
        ] {
            assert!(object_path(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "/a", "a/", "a//b", "../a", "a/./b", "a b", "王", "a\\b", "a?b",
        ] {
            assert!(
                matches!(object_path(bad), Err(StoreError::BadName(_))),
                "{bad}"
            );
        }
        assert!(object_path(&"a".repeat(257)).is_err());
    }

    #[test]
    fn new_names_are_random_and_dated() {
        let a = new_object_name();
        let b = new_object_name();
        assert_ne!(a, b);
        assert!(a.starts_with("doc/20"), "{a}");
        assert_eq!(a.split('/').count(), 4);
    }

    #[test]
    fn debug_hides_the_key_and_secret() {
        let store = DocumentStore::with_backend(
            Arc::new(object_store::memory::InMemory::new()),
            [7; 32],
            "memory",
        );
        let dbg = format!("{store:?}");
        assert!(dbg.contains("memory") && !dbg.contains("cipher"), "{dbg}");
        let cfg = S3Config {
            secret_access_key: "hunter2".into(),
            ..S3Config::default()
        };
        assert!(!format!("{cfg:?}").contains("hunter2"));
    }
}
