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

#[cfg(test)]
mod tests {
    use super::*;

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
