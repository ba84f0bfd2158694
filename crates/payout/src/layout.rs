//! Bank file layouts.
//!
//! Layouts are data, not code: a new bank is a new TOML file in `crates/payout/layouts/`
//! (embedded at build time, listed in [`LAYOUT_FILES`]), naming the columns in the bank's
//! order, the CSV encoding and delimiter, and which file kinds the bank accepts. The writers
//! in [`crate::file`] know nothing about any particular bank.

use std::sync::OnceLock;

use serde::Deserialize;

/// The embedded layout files: (file name, contents). The file stem must equal the `id`.
const LAYOUT_FILES: &[(&str, &str)] = &[
    ("generic.toml", include_str!("../layouts/generic.toml")),
    (
        "rural_credit.toml",
        include_str!("../layouts/rural_credit.toml"),
    ),
];

/// What a column holds. The names are the `field = "…"` values of a layout file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    /// The line's sequence number within the batch.
    Seq,
    /// The platform's own reference of the line (e.g. the claim number).
    LineRef,
    HolderName,
    /// Digits only; always written as text.
    CardNumber,
    /// Yuan with exactly two decimals: "1234.50". No thousands separators.
    AmountYuan,
    /// Integer fen: "123450", for banks that want minor units.
    AmountFen,
    BankName,
    /// Always written as text (an 18-character ID as a number loses digits and its X).
    IdNumber,
    Memo,
    BatchNo,
}

/// One column of the detail table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub header: String,
    pub field: Field,
}

/// The file kinds a bank accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Csv,
    Xlsx,
}

impl FileKind {
    pub fn label(self) -> &'static str {
        match self {
            FileKind::Csv => "CSV",
            FileKind::Xlsx => "Excel（xlsx）",
        }
    }
}

/// The CSV's character encoding.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum CsvEncoding {
    /// UTF-8 with a byte-order mark: without the mark, Excel on Chinese Windows reads the
    /// file as GBK and garbles every name.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8Bom,
    /// GBK (via `encoding_rs`), which many Chinese bank systems still require.
    #[serde(rename = "gbk")]
    Gbk,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    #[serde(default)]
    pub encoding: CsvEncoding,
    #[serde(default = "comma")]
    pub delimiter: char,
}

fn comma() -> char {
    ','
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            encoding: CsvEncoding::default(),
            delimiter: comma(),
        }
    }
}

/// A bank's batch-payment file layout.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    /// Stable identifier, stored with each batch ("generic", "rural_credit").
    pub id: String,
    /// Chinese name shown when choosing a layout.
    pub name: String,
    /// The bank (or kind of bank) it is for, in Chinese.
    pub bank: String,
    pub kinds: Vec<FileKind>,
    /// A title row above the detail table in the xlsx (CSV files never get one: bank
    /// importers read the first line as data or headers). Placeholders as in `header_rows`.
    #[serde(default)]
    pub title: Option<String>,
    /// Rows written before the column headers, for banks whose template starts with a
    /// summary ("总笔数", "{count}", "总金额", "{total_yuan}"). Cells may contain the
    /// placeholders {batch_no} {pool_name} {payer} {count} {total_yuan} {total_fen} {date}.
    #[serde(default)]
    pub header_rows: Vec<Vec<String>>,
    #[serde(default)]
    pub csv: CsvOptions,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("代发格式文件无法解析：{0}")]
    Toml(String),
    #[error("代发格式“{0}”没有列")]
    NoColumns(String),
    #[error("代发格式“{0}”没有可生成的文件类型")]
    NoKinds(String),
    #[error("代发格式“{id}”的分隔符“{delimiter}”必须是单个ASCII字符且不能是引号或换行")]
    Delimiter { id: String, delimiter: char },
    #[error("代发格式“{id}”含未知占位符“{placeholder}”")]
    Placeholder { id: String, placeholder: String },
    #[error("代发格式“{id}”的列“{header}”表头为空或重复")]
    Header { id: String, header: String },
}

/// The placeholders a title or header row may use.
pub(crate) const PLACEHOLDERS: &[&str] = &[
    "batch_no",
    "pool_name",
    "payer",
    "count",
    "total_yuan",
    "total_fen",
    "date",
];

impl Layout {
    /// Parses and checks one layout file's text.
    pub fn parse(text: &str) -> Result<Layout, LayoutError> {
        let layout: Layout = toml::from_str(text).map_err(|e| LayoutError::Toml(e.to_string()))?;
        layout.check()?;
        Ok(layout)
    }

    fn check(&self) -> Result<(), LayoutError> {
        if self.columns.is_empty() {
            return Err(LayoutError::NoColumns(self.id.clone()));
        }
        if self.kinds.is_empty() {
            return Err(LayoutError::NoKinds(self.id.clone()));
        }
        let d = self.csv.delimiter;
        if !d.is_ascii() || matches!(d, '"' | '\r' | '\n') {
            return Err(LayoutError::Delimiter {
                id: self.id.clone(),
                delimiter: d,
            });
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.columns {
            if c.header.trim().is_empty() || !seen.insert(c.header.trim()) {
                return Err(LayoutError::Header {
                    id: self.id.clone(),
                    header: c.header.clone(),
                });
            }
        }
        let cells = self.title.iter().chain(self.header_rows.iter().flatten());
        for cell in cells {
            if let Some(p) = unknown_placeholder(cell) {
                return Err(LayoutError::Placeholder {
                    id: self.id.clone(),
                    placeholder: p,
                });
            }
        }
        Ok(())
    }

    /// Every embedded layout, parsed once. A unit test parses every file, so a broken layout
    /// fails the build's tests rather than a payout day.
    pub fn all() -> Vec<Layout> {
        static ALL: OnceLock<Vec<Layout>> = OnceLock::new();
        ALL.get_or_init(|| {
            LAYOUT_FILES
                .iter()
                .map(|(file, text)| {
                    Layout::parse(text).unwrap_or_else(|e| panic!("layouts/{file}: {e}"))
                })
                .collect()
        })
        .clone()
    }

    pub fn get(id: &str) -> Option<Layout> {
        Layout::all().into_iter().find(|l| l.id == id)
    }

    pub fn supports(&self, kind: FileKind) -> bool {
        self.kinds.contains(&kind)
    }
}

/// The first `{name}` in `cell` that is not a known placeholder.
fn unknown_placeholder(cell: &str) -> Option<String> {
    let mut rest = cell;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else {
            return Some(after.to_string());
        };
        let name = &after[..end];
        if !PLACEHOLDERS.contains(&name) {
            return Some(name.to_string());
        }
        rest = &after[end + 1..];
    }
    None
}

/// `cell` with each `{name}` replaced by `value(name)`. Layouts are checked at parse time,
/// so every placeholder here is known.
pub(crate) fn fill_placeholders(cell: &str, value: impl Fn(&str) -> String) -> String {
    let mut out = String::with_capacity(cell.len());
    let mut rest = cell;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push_str(&value(&after[..end]));
                rest = &after[end + 1..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_layout_parses_and_its_id_is_its_file_name() {
        for (file, text) in LAYOUT_FILES {
            let l = Layout::parse(text).unwrap_or_else(|e| panic!("{file}: {e}"));
            assert_eq!(format!("{}.toml", l.id), *file);
        }
        let ids: Vec<String> = Layout::all().into_iter().map(|l| l.id).collect();
        let mut unique = ids.clone();
        unique.dedup();
        assert_eq!(ids, unique);
    }

    #[test]
    fn generic_layout_has_exactly_the_agreed_headers() {
        let g = Layout::get("generic").unwrap();
        let headers: Vec<&str> = g.columns.iter().map(|c| c.header.as_str()).collect();
        assert_eq!(
            headers,
            ["户名", "卡号", "金额", "开户行", "身份证号", "摘要"]
        );
        assert_eq!(g.csv.encoding, CsvEncoding::Utf8Bom);
        assert!(g.supports(FileKind::Csv) && g.supports(FileKind::Xlsx));
    }

    #[test]
    fn rural_layout_is_gbk() {
        let r = Layout::get("rural_credit").unwrap();
        assert_eq!(r.csv.encoding, CsvEncoding::Gbk);
        assert_eq!(r.columns[0].field, Field::Seq);
        assert!(Layout::get("nope").is_none());
    }

    #[test]
    fn bad_layouts_are_refused() {
        let base = "id='x'\nname='x'\nbank='x'\nkinds=['csv']\n";
        assert!(matches!(
            Layout::parse(&format!("{base}columns=[]")),
            Err(LayoutError::NoColumns(_))
        ));
        assert!(matches!(
            Layout::parse(&format!(
                "{base}columns=[{{header='a',field='no_such_field'}}]"
            )),
            Err(LayoutError::Toml(_))
        ));
        assert!(matches!(
            Layout::parse(&format!(
                "{base}header_rows=[['{{oops}}']]\ncolumns=[{{header='a',field='memo'}}]"
            )),
            Err(LayoutError::Placeholder { .. })
        ));
        assert!(matches!(
            Layout::parse(&format!(
                "{base}columns=[{{header='a',field='memo'}},{{header='a',field='seq'}}]"
            )),
            Err(LayoutError::Header { .. })
        ));
    }

    #[test]
    fn fills_placeholders() {
        let s = fill_placeholders("共{count}笔，合计{total_yuan}元", |p| match p {
            "count" => "3".into(),
            _ => "12.00".into(),
        });
        assert_eq!(s, "共3笔，合计12.00元");
    }
}
