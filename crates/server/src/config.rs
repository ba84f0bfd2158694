//! Settings: flags > SHOUWANG_* environment variables (both handled by clap) > the TOML file >
//! defaults. The personal-data key comes from SHOUWANG_MASTER_KEY, a key file, or — for the
//! embedded SQLite default only — a file created beside the database on first run.

use crate::DbArgs;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://shouwang-data/shouwang.db";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database_url: Option<String>,
    pub key_file: Option<PathBuf>,
    pub bind: Option<SocketAddr>,
    pub secure_cookies: Option<bool>,
    /// `[documents]`: where claim documents are kept, encrypted (default: beside the database).
    #[serde(default)]
    pub documents: DocumentsSettings,
    /// `[sms]`: how messages to residents go out (default: to the log).
    #[serde(default)]
    pub sms: SmsSettings,
}

impl Settings {
    pub fn from_file(path: Option<&Path>) -> anyhow::Result<Settings> {
        match path {
            None => Ok(Settings::default()),
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read config {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("bad config {}", p.display()))
            }
        }
    }

    pub async fn open_app(&self, db: &DbArgs) -> anyhow::Result<app::App> {
        let url = db
            .database_url
            .clone()
            .or_else(|| self.database_url.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let backend = store::Backend::from_url(&url)?;
        let keys = if let Ok(k) = std::env::var("SHOUWANG_MASTER_KEY") {
            app::PiiKeys::from_base64(&k).context("SHOUWANG_MASTER_KEY")?
        } else if let Some(path) = db.key_file.clone().or_else(|| self.key_file.clone()) {
            app::PiiKeys::load_or_create(&path)?
        } else if backend == store::Backend::Sqlite {
            let db_path = sqlite_path(&url);
            if let Some(dir) = db_path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            app::PiiKeys::load_or_create(&db_path.with_extension("key"))?
        } else {
            bail!("PostgreSQL needs a personal-data key: set SHOUWANG_MASTER_KEY or --key-file (generate one with `openssl rand -base64 64`)");
        };
        if backend == store::Backend::Sqlite {
            if let Some(dir) = sqlite_path(&url)
                .parent()
                .filter(|d| !d.as_os_str().is_empty())
            {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
        }
        let db = store::Db::connect(&url)
            .await
            .with_context(|| format!("cannot open database {}", redact(&url)))?;
        Ok(app::App::new(db, keys))
    }
}

/// `[documents]`: the blob store for claim documents (stored AES-256-GCM encrypted).
///
/// ```toml
/// [documents]
/// backend = "local"            # the default; or "s3" for several app servers
/// # dir = "/var/lib/shouwang/documents"   # local; default: documents/ beside the SQLite file
///
/// [documents.s3]
/// endpoint = "https://oss-cn-beijing.aliyuncs.com"   # omit for AWS itself
/// bucket = "shouwang-claims"
/// region = "cn-beijing"
/// access_key_id = "…"          # or SHOUWANG_S3_ACCESS_KEY_ID
/// # secret_access_key: better from SHOUWANG_S3_SECRET_ACCESS_KEY than in this file
/// # prefix = "shouwang/"
/// # allow_http = false
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentsSettings {
    #[serde(default)]
    pub backend: DocumentsBackend,
    pub dir: Option<PathBuf>,
    pub s3: Option<DocumentsS3Settings>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DocumentsBackend {
    #[default]
    Local,
    S3,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentsS3Settings {
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    #[serde(default)]
    pub allow_http: bool,
    #[serde(default)]
    pub prefix: String,
}

impl std::fmt::Debug for DocumentsS3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentsS3Settings")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "…"),
            )
            .field("allow_http", &self.allow_http)
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl Settings {
    /// The claim-document store. `sqlite_db_dir` is the directory of the embedded database
    /// (`None` on PostgreSQL, which then needs `[documents] dir` or the S3 backend); `key` is
    /// the documents' AES-256 key. A bad `[documents]` section stops the server at start-up.
    pub fn documents_store(
        &self,
        sqlite_db_dir: Option<&Path>,
        key: [u8; 32],
    ) -> anyhow::Result<documents::DocumentStore> {
        let cfg = &self.documents;
        match cfg.backend {
            DocumentsBackend::Local => {
                let dir = match (&cfg.dir, sqlite_db_dir) {
                    (Some(d), _) => d.clone(),
                    (None, Some(db_dir)) => db_dir.join("documents"),
                    (None, None) => bail!(
                        "[documents]: set dir (one directory shared by nothing else) or backend = \"s3\" when the database is not the embedded SQLite"
                    ),
                };
                documents::DocumentStore::local(&dir, key)
                    .with_context(|| format!("[documents] dir {}", dir.display()))
            }
            DocumentsBackend::S3 => {
                let Some(s3) = &cfg.s3 else {
                    bail!("[documents] backend = \"s3\" needs a [documents.s3] section");
                };
                let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
                let access_key_id = env("SHOUWANG_S3_ACCESS_KEY_ID")
                    .or_else(|| s3.access_key_id.clone())
                    .context("[documents.s3]: set access_key_id or SHOUWANG_S3_ACCESS_KEY_ID")?;
                let secret_access_key = env("SHOUWANG_S3_SECRET_ACCESS_KEY")
                    .or_else(|| s3.secret_access_key.clone())
                    .context("[documents.s3]: set SHOUWANG_S3_SECRET_ACCESS_KEY")?;
                let s3cfg = documents::S3Config {
                    endpoint: s3.endpoint.clone(),
                    bucket: s3.bucket.clone(),
                    region: s3.region.clone().unwrap_or_else(|| "us-east-1".into()),
                    access_key_id,
                    secret_access_key,
                    allow_http: s3.allow_http,
                    prefix: s3.prefix.clone(),
                };
                documents::DocumentStore::s3(&s3cfg, key).context("[documents.s3]")
            }
        }
    }
}

impl Settings {
    /// The document store `serve` uses: the `[documents]` section, or a `documents/` directory
    /// beside the embedded SQLite database.
    pub fn serve_documents(
        &self,
        db: &DbArgs,
        key: [u8; 32],
    ) -> anyhow::Result<documents::DocumentStore> {
        let url = db
            .database_url
            .clone()
            .or_else(|| self.database_url.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
        let dir = (store::Backend::from_url(&url)? == store::Backend::Sqlite).then(|| {
            sqlite_path(&url)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        });
        self.documents_store(dir.as_deref(), key)
    }
}

fn sqlite_path(url: &str) -> PathBuf {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    PathBuf::from(rest.split('?').next().unwrap_or(rest))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

/// `[sms]`: the provider of messages to residents.
///
/// ```toml
/// [sms]
/// provider = "aliyun"          # or "log" (the default): messages go to the log
///
/// [sms.aliyun]
/// access_key_id = "LTAI…"
/// # access_key_secret: better from SHOUWANG_SMS_ACCESS_KEY_SECRET than in this file
/// sign_name = "守望互助"
/// # endpoint = "https://dysmsapi.aliyuncs.com/"
///
/// [sms.aliyun.templates]      # the approved template code of each template
/// claim_received = "SMS_…"
/// documents_requested = "SMS_…"
/// claim_approved = "SMS_…"
/// claim_refused = "SMS_…"
/// subsidy_paid = "SMS_…"
/// payment_failed = "SMS_…"
/// objection_decided = "SMS_…"
/// fund_warning = "SMS_…"
/// ```
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    #[serde(default)]
    pub provider: SmsProviderName,
    pub aliyun: Option<AliyunSettings>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsProviderName {
    #[default]
    Log,
    Aliyun,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliyunSettings {
    pub endpoint: Option<String>,
    pub access_key_id: String,
    pub access_key_secret: Option<String>,
    pub sign_name: String,
    pub templates: std::collections::BTreeMap<String, String>,
}

impl std::fmt::Debug for AliyunSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AliyunSettings")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field(
                "access_key_secret",
                &self.access_key_secret.as_ref().map(|_| "…"),
            )
            .field("sign_name", &self.sign_name)
            .field("templates", &self.templates)
            .finish()
    }
}

impl SmsSettings {
    /// The configured provider; a bad `[sms]` section stops the server at start-up.
    pub fn provider(&self) -> anyhow::Result<std::sync::Arc<dyn app::sms::SmsProvider>> {
        use app::sms::SmsTemplate;
        match self.provider {
            SmsProviderName::Log => Ok(std::sync::Arc::new(app::sms::LogProvider)),
            SmsProviderName::Aliyun => {
                let Some(a) = &self.aliyun else {
                    bail!("[sms] provider = \"aliyun\" needs an [sms.aliyun] section");
                };
                let mut template_codes = std::collections::BTreeMap::new();
                for (name, code) in &a.templates {
                    let t = SmsTemplate::from_code(name).with_context(|| {
                        format!(
                            "[sms.aliyun.templates]: unknown template {name:?} (known: {})",
                            SmsTemplate::ALL.map(|t| t.code()).join(", ")
                        )
                    })?;
                    template_codes.insert(t, code.clone());
                }
                let secret = std::env::var("SHOUWANG_SMS_ACCESS_KEY_SECRET")
                    .ok()
                    .or_else(|| a.access_key_secret.clone())
                    .context(
                        "[sms.aliyun]: set SHOUWANG_SMS_ACCESS_KEY_SECRET (or access_key_secret)",
                    )?;
                let provider = app::sms::AliyunProvider::new(app::sms::AliyunConfig {
                    endpoint: a
                        .endpoint
                        .clone()
                        .unwrap_or_else(|| app::sms::ALIYUN_ENDPOINT.to_string()),
                    access_key_id: a.access_key_id.clone(),
                    access_key_secret: secret,
                    sign_name: a.sign_name.clone(),
                    template_codes,
                })
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                Ok(std::sync::Arc::new(provider))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sms_defaults_to_the_log_and_aliyun_needs_every_template() {
        let s: Settings = toml::from_str("").unwrap();
        assert_eq!(s.sms.provider, SmsProviderName::Log);
        assert!(s.sms.provider().is_ok());
        let full = r#"
            [sms]
            provider = "aliyun"
            [sms.aliyun]
            access_key_id = "id"
            access_key_secret = "secret"
            sign_name = "守望互助"
            [sms.aliyun.templates]
            claim_received = "SMS_1"
            documents_requested = "SMS_2"
            claim_approved = "SMS_3"
            claim_refused = "SMS_4"
            subsidy_paid = "SMS_5"
            payment_failed = "SMS_6"
            objection_decided = "SMS_7"
            fund_warning = "SMS_8"
        "#;
        let s: Settings = toml::from_str(full).unwrap();
        assert!(s.sms.provider().is_ok());
        assert!(
            !format!("{s:?}").contains("\"secret\""),
            "the secret is not printed"
        );
        let missing: Settings =
            toml::from_str(&full.replace("claim_refused = \"SMS_4\"", "")).unwrap();
        assert!(missing.sms.provider().is_err());
        let unknown: Settings =
            toml::from_str(&full.replace("claim_refused", "claim_lost")).unwrap();
        assert!(unknown.sms.provider().is_err());
        assert!(toml::from_str::<Settings>("[sms]\nprovider = \"tencent\"").is_err());
    }

    #[test]
    fn sqlite_paths_and_redaction() {
        assert_eq!(
            sqlite_path("sqlite://data/x.db?mode=rwc"),
            PathBuf::from("data/x.db")
        );
        assert_eq!(
            sqlite_path("sqlite:///tmp/x.db"),
            PathBuf::from("/tmp/x.db")
        );
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://…@h/db");
    }
}
