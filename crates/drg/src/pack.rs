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

/// One data line: its line number and tab-split fields.
#[derive(Clone, Copy)]
pub(crate) struct Row<'t> {
    pub line: usize,
    pub fields: &'t [&'t str],
}

impl<'t> Row<'t> {
    /// Field `i`, or "" when the line is shorter.
    pub fn get(&self, i: usize) -> &'t str {
        self.fields.get(i).copied().unwrap_or("")
    }
}

/// Raw sections of the tables file, in file order. Fields borrow the decompressed text:
/// loading a pack allocates a few large vectors, not one string per field.
pub(crate) struct RawTables<'a> {
    fields: Vec<&'a str>,
    /// Per data line: (line number, range of `fields`).
    rows: Vec<(u32, u32, u32)>,
    /// (name, range of `rows`).
    sections: Vec<(&'a str, u32, u32)>,
}

/// The decompressed tables text of a pack.
pub(crate) fn decompress(bytes: &[u8]) -> Result<String, PackError> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut text)
        .map_err(|e| PackError::Decode(e.to_string()))?;
    Ok(text)
}

impl<'a> RawTables<'a> {
    pub fn parse_text(text: &'a str) -> Result<RawTables<'a>, PackError> {
        let lines = text.bytes().filter(|&b| b == b'\n').count() + 1;
        let mut t = RawTables {
            fields: Vec::with_capacity(lines * 3),
            rows: Vec::with_capacity(lines),
            sections: Vec::new(),
        };
        for (i, line) in text.lines().enumerate() {
            let n = i + 1;
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('@') {
                let at = t.rows.len() as u32;
                t.sections.push((name.trim(), at, at));
                continue;
            }
            let Some(cur) = t.sections.last_mut() else {
                return Err(PackError::Table {
                    line: n,
                    msg: "data before the first @section".into(),
                });
            };
            let start = t.fields.len() as u32;
            t.fields.extend(line.split('\t'));
            t.rows.push((n as u32, start, t.fields.len() as u32));
            cur.2 = t.rows.len() as u32;
        }
        Ok(t)
    }

    pub fn section<'s>(&'s self, name: &'s str) -> impl Iterator<Item = Row<'s>> + 's {
        self.sections
            .iter()
            .filter(move |(s, _, _)| *s == name)
            .flat_map(move |&(_, a, b)| self.rows[a as usize..b as usize].iter())
            .map(move |&(line, a, b)| Row {
                line: line as usize,
                fields: &self.fields[a as usize..b as usize],
            })
    }
}

pub(crate) fn field<'t>(row: &Row<'t>, i: usize) -> Result<&'t str, PackError> {
    row.fields.get(i).copied().ok_or_else(|| PackError::Table {
        line: row.line,
        msg: format!("missing field {}", i + 1),
    })
}

pub(crate) fn bad(line: usize, msg: impl Into<String>) -> PackError {
    PackError::Table {
        line,
        msg: msg.into(),
    }
}
