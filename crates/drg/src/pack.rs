//! Parsing of a data pack: `manifest.txt` (key = value lines) plus `tables.txt.gz`, a gzip'd
//! line format with `@section` headers and tab-separated fields. The format is documented in
//! `docs/drg.md`; it is kept textual so that a reviewer can diff a pack regeneration.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;

/// Why a pack could not be loaded. The grouper never starts with a half-read pack.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("no data pack for version `{0}` (available: {1})")]
    UnknownVersion(String, String),
    #[error("pack manifest: {0}")]
    Manifest(String),
    #[error("pack tables are not valid gzip/UTF-8: {0}")]
    Decode(String),
    #[error("pack tables line {line}: {msg}")]
    Table { line: usize, msg: String },
}

/// FxHash: the code tables are fixed and trusted, so a fast non-keyed hash is the right
/// trade-off; code lookup dominates grouping time.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes(c.try_into().unwrap());
            h = (h.rotate_left(5) ^ v).wrapping_mul(K);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut buf = [0u8; 8];
            buf[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(buf)).wrapping_mul(K);
        }
        self.0 = h;
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    /// Codes share long prefixes and differ in a few characters; without a final mix the
    /// multiply leaves hashbrown's low bucket bits badly distributed (murmur3 fmix64).
    #[inline]
    fn finish(&self) -> u64 {
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

pub type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The manifest keys the engine relies on; everything else is informational.
#[derive(Debug, Clone, Default)]
pub struct Manifest {
    pub version: String,
    pub title: String,
    pub is_default: bool,
    pub entries: Vec<(String, String)>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Manifest, PackError> {
        let text = std::str::from_utf8(bytes).map_err(|e| PackError::Manifest(e.to_string()))?;
        let mut m = Manifest::default();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((k, v)) = line.split_once('=') else {
                return Err(PackError::Manifest(format!("line without `=`: {line}")));
            };
            let (k, v) = (k.trim().to_string(), v.trim().to_string());
            match k.as_str() {
                "version" => m.version = v.clone(),
                "title" => m.title = v.clone(),
                "default" => m.is_default = v == "true",
                _ => {}
            }
            m.entries.push((k, v));
        }
        if m.version.is_empty() {
            return Err(PackError::Manifest("missing `version`".into()));
        }
        if m.entries.iter().all(|(k, _)| k != "format") {
            return Err(PackError::Manifest("missing `format`".into()));
        }
        Ok(m)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One data line: (line number, tab-split fields).
pub(crate) type Row = (usize, Vec<String>);

/// Raw sections of the tables file, in file order.
pub(crate) struct RawTables {
    pub sections: Vec<(String, Vec<Row>)>,
}

impl RawTables {
    pub fn parse_gz(bytes: &[u8]) -> Result<RawTables, PackError> {
        let mut text = String::new();
        flate2::read::GzDecoder::new(bytes)
            .read_to_string(&mut text)
            .map_err(|e| PackError::Decode(e.to_string()))?;
        Self::parse_text(&text)
    }

    pub fn parse_text(text: &str) -> Result<RawTables, PackError> {
        let mut sections: Vec<(String, Vec<Row>)> = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('@') {
                sections.push((name.trim().to_string(), Vec::new()));
                continue;
            }
            let Some(cur) = sections.last_mut() else {
                return Err(PackError::Table {
                    line: n,
                    msg: "data before the first @section".into(),
                });
            };
            cur.1
                .push((n, line.split('\t').map(|s| s.to_string()).collect()));
        }
        Ok(RawTables { sections })
    }

    pub fn section<'a>(
        &'a self,
        name: &'a str,
    ) -> impl Iterator<Item = &'a (usize, Vec<String>)> + 'a {
        self.sections
            .iter()
            .filter(move |(s, _)| s == name)
            .flat_map(|(_, rows)| rows.iter())
    }
}

pub(crate) fn field(row: &Row, i: usize) -> Result<&str, PackError> {
    row.1.get(i).map(|s| s.as_str()).ok_or(PackError::Table {
        line: row.0,
        msg: format!("missing field {}", i + 1),
    })
}

pub(crate) fn bad(line: usize, msg: impl Into<String>) -> PackError {
    PackError::Table {
        line,
        msg: msg.into(),
    }
}
