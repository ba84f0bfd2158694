//! Fuzzing the upload reader (roster import and bulk enrolment) with generated .xlsx files, in
//! the normal `cargo test` so CI runs it: a bounded number of cases of each kind, a few seconds.
//!
//! - **well formed**: workbooks written by rust_xlsxwriter with cells anywhere on the sheet
//!   (up to XFD1048576), any Unicode text (controls, bidirectional overrides, zero-width
//!   characters, long strings), numbers, booleans;
//! - **hostile**: zip and XML built by hand with the `zip` crate: lying `<dimension>` tags and
//!   shared-string counts, cell references that overflow, unknown cell types, truncated or
//!   corrupted XML, runs of blanks the XML parser would buffer whole, corrupted zip bytes.
//!
//! Every file must be read or refused without a panic, within a fixed amount of memory, and
//! what is read must keep the reader's promises: rows in order and within the row limit, cells
//! within the length limit and free of hidden characters.
//!
//! More cases: `PROPTEST_CASES=5000 cargo test -p app --test upload_fuzz`.

mod support;

use app::enrol_import::{parse_enrolment_xlsx, COLUMNS as ENROL_COLUMNS};
use app::import::sheet::{read_first_sheet, SheetRow, MAX_CELL_CHARS, MAX_DATA_ROWS};
use app::import::testing::*;
use app::import::COLUMNS;
use app::PiiKeys;
use proptest::prelude::*;
use support::{one_at_a_time, peak_during, MB};

/// The most one read of a fuzzed file may hold at once. The files are small; what matters is
/// that nothing they claim (dimensions, counts, references) is allocated for.
const MEMORY_BOUND: usize = 24 * MB;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(128),
        max_shrink_iters: 200,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn keys() -> PiiKeys {
    PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap()
}

/// Reads `bytes` with both readers and checks what they promise.
fn check_both(bytes: &[u8], keys: &PiiKeys) -> Result<(), TestCaseError> {
    let mut rows: Vec<SheetRow<11>> = Vec::new();
    let (roster, peak) =
        peak_during(|| read_first_sheet(bytes, &COLUMNS, |_| Ok(()), |r| rows.push(r)));
    prop_assert!(peak < MEMORY_BOUND, "roster read held {} bytes", peak);
    match roster {
        Err(message) => prop_assert!(!message.is_empty()),
        Ok(()) => {
            let mut last = 0;
            for r in &rows {
                prop_assert!(r.row > last, "rows in order: {} after {}", r.row, last);
                last = r.row;
                prop_assert!(r.row <= MAX_DATA_ROWS as usize + 1);
                for c in &r.cells {
                    prop_assert!(c.chars().count() <= MAX_CELL_CHARS);
                    prop_assert!(!c.chars().any(domain::text::is_hidden), "{:?}", c);
                    prop_assert_eq!(c.trim(), c.as_str());
                }
                for (col, message) in &r.errors {
                    prop_assert!(*col < COLUMNS.len());
                    prop_assert!(!message.is_empty());
                }
            }
        }
    }
    let (parsed, peak) = peak_during(|| parse_enrolment_xlsx(bytes, keys));
    prop_assert!(peak < MEMORY_BOUND, "enrolment parse held {} bytes", peak);
    prop_assert!(!parsed.errors.is_empty() || !parsed.households.is_empty());
    prop_assert!(parsed.errors.len() <= 6 * app::import::MAX_SHOWN_PER_KIND + 1);
    for h in &parsed.households {
        prop_assert!(h.household_no.chars().count() <= 30);
        prop_assert!(!h.payment_reference.chars().any(domain::text::is_hidden));
    }
    Ok(())
}

/// Text a clerk (or an attacker) might put in a cell.
fn cell_text() -> impl Strategy<Value = String> {
    prop_oneof![
        // The vocabulary of the templates, so that rows get past the header.
        prop::sample::select(vec![
            "370323104201",
            "0001",
            "王丽",
            "户主",
            "城乡居民医保",
            "现金",
            "已故",
            "37032319600315001X",
            "13812345678",
            "2024-01-01",
        ])
        .prop_map(str::to_string),
        // Anything, including controls and invisible characters.
        "\\PC{0,40}",
        prop::collection::vec(
            prop::sample::select(vec![
                '王', 'a', ' ', '\0', '\n', '\u{202E}', '\u{200B}', '\u{FEFF}', '\u{2066}', '·',
            ]),
            0..12
        )
        .prop_map(|v| v.into_iter().collect()),
        // Long, around the cell limit and far beyond it.
        (190usize..2000).prop_map(|n| "长".repeat(n)),
    ]
}

/// A row, mostly near the top, sometimes anywhere on the sheet.
fn row() -> impl Strategy<Value = u32> {
    prop_oneof![
        6 => 1u32..50,
        1 => 199_990u32..200_010,
        1 => 0u32..1_048_576,
    ]
}

fn column() -> impl Strategy<Value = u16> {
    prop_oneof![
        8 => 0u16..12,
        1 => 90u16..110,
        1 => 0u16..16_384,
    ]
}

#[derive(Debug, Clone)]
enum Value {
    Text(String),
    Number(f64),
    Bool(bool),
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => cell_text().prop_map(Value::Text),
        1 => any::<f64>().prop_map(Value::Number),
        1 => (0i64..1_000_000_000_000_000_000).prop_map(|n| Value::Number(n as f64)),
        1 => any::<bool>().prop_map(Value::Bool),
    ]
}

/// A workbook as rust_xlsxwriter writes it: a header row (roster or enrolment, sometimes none)
/// and cells anywhere.
fn well_formed() -> impl Strategy<Value = Vec<u8>> {
    (
        0u8..3,
        prop::collection::vec((row(), column(), value()), 0..40),
    )
        .prop_map(|(header, cells)| {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            let names: &[&str] = match header {
                0 => &COLUMNS,
                1 => &ENROL_COLUMNS,
                _ => &[],
            };
            for (i, h) in names.iter().enumerate() {
                ws.write_string(0, i as u16, *h).unwrap();
            }
            for (r, c, v) in cells {
                let _ = match v {
                    Value::Text(s) => ws.write_string(r, c, s).map(|_| ()),
                    Value::Number(n) => ws.write_number(r, c, n).map(|_| ()),
                    Value::Bool(b) => ws.write_boolean(r, c, b).map(|_| ()),
                };
            }
            wb.save_to_buffer().unwrap()
        })
}

/// A cell reference: valid, far, lower-case, overflowing or not a reference at all.
fn reference() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => (1u32..40, 0u32..12).prop_map(|(r, c)| cell_ref(r, c)),
        1 => (0u32..1_048_576, 0u32..16_384).prop_map(|(r, c)| cell_ref(r, c)),
        1 => Just("ZZZZZZZZ99999999999".to_string()),
        1 => Just("a1".to_string()),
        1 => "[A-Z]{0,4}[0-9]{0,12}",
        1 => "\\PC{0,6}",
    ]
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Cut the sheet XML at this fraction of its length.
    Truncate(f64),
    /// Put these bytes at this fraction of the sheet XML.
    Inject(f64, String),
    /// A run of blanks before `</sheetData>` (the XML parser would buffer it whole).
    Blanks(u64),
    /// Flip a byte of the zip at this fraction of its length.
    FlipZipByte(f64, u8),
    /// Cut the zip.
    TruncateZip(f64),
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        4 => Just(Damage::None),
        1 => (0.0f64..1.0).prop_map(Damage::Truncate),
        1 => (
            0.0f64..1.0,
            prop::sample::select(vec![
                "<", ">", "</row>", "<row>", "<c r=\"A1\">", "<![CDATA[", "<!--", "&amp", "&#0;",
                "<!DOCTYPE x>", "\u{0}", "<?x", "\"",
            ])
        )
            .prop_map(|(at, s)| Damage::Inject(at, s.to_string())),
        1 => (0u64..3_000_000).prop_map(Damage::Blanks),
        1 => (0.0f64..1.0, any::<u8>()).prop_map(|(at, b)| Damage::FlipZipByte(at, b)),
        1 => (0.0f64..1.0).prop_map(Damage::TruncateZip),
    ]
}

/// A workbook built by hand: header, cells with chosen references and types, a dimension tag
/// and a shared-string count that may lie, then some damage.
fn hostile() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::option::of(prop_oneof![
            Just("A1:XFD1048576".to_string()),
            Just("A1".to_string()),
            reference().prop_map(|r| format!("A1:{r}")),
        ]),
        prop::collection::vec(
            (
                reference(),
                prop::sample::select(vec!["s", "inlineStr", "n", "b", "e", "str", "d", "x"]),
                prop_oneof![
                    cell_text(),
                    (0u64..10).prop_map(|n| n.to_string()),
                    Just("99999999999999999999".to_string()),
                    Just("-1".to_string()),
                ],
            ),
            0..30,
        ),
        prop::collection::vec(cell_text(), 0..5),
        prop_oneof![
            Just(None),
            Just(Some(4_000_000_000u64)),
            (0u64..10).prop_map(Some)
        ],
        damage(),
    )
        .prop_map(|(dimension, cells, strings, declared, damage)| {
            let mut xml = String::from(
                r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
            );
            if let Some(d) = dimension {
                xml.push_str(&format!(r#"<dimension ref="{}"/>"#, escape(&d)));
            }
            xml.push_str(r#"<sheetData><row r="1">"#);
            for (i, h) in COLUMNS.iter().enumerate() {
                xml.push_str(&format!(
                    r#"<c r="{}" t="inlineStr"><is><t>{h}</t></is></c>"#,
                    cell_ref(0, i as u32)
                ));
            }
            xml.push_str("</row>");
            for (r, t, v) in &cells {
                let r = escape(r);
                let v = escape(v);
                if *t == "inlineStr" {
                    xml.push_str(&format!(
                        r#"<row><c r="{r}" t="inlineStr"><is><t>{v}</t></is></c></row>"#
                    ));
                } else {
                    xml.push_str(&format!(r#"<row><c r="{r}" t="{t}"><v>{v}</v></c></row>"#));
                }
            }
            xml.push_str("</sheetData></worksheet>");
            let mut sheet = xml.into_bytes();
            let mut blanks = 0;
            match &damage {
                Damage::Truncate(at) => sheet.truncate((sheet.len() as f64 * at) as usize),
                Damage::Inject(at, s) => {
                    let i = (sheet.len() as f64 * at) as usize;
                    sheet.splice(i..i, s.bytes());
                }
                Damage::Blanks(n) => blanks = *n,
                _ => {}
            }
            let sheet = if blanks > 0 {
                let text = String::from_utf8_lossy(&sheet).to_string();
                let cut = text.find("</sheetData>").unwrap_or(text.len());
                Body::Repeat {
                    head: text.as_bytes()[..cut].to_vec(),
                    fill: b" ".to_vec(),
                    len: blanks,
                    tail: text.as_bytes()[cut..].to_vec(),
                }
            } else {
                Body::Bytes(sheet)
            };
            let refs: Vec<&str> = strings.iter().map(String::as_str).collect();
            let shared = if strings.is_empty() && declared.is_none() {
                None
            } else {
                Some(Body::Bytes(shared_strings_xml(&refs, declared)))
            };
            let mut file = xlsx(sheet, shared);
            match damage {
                Damage::FlipZipByte(at, b) => {
                    let i = ((file.len() as f64 * at) as usize).min(file.len() - 1);
                    file[i] ^= b;
                }
                Damage::TruncateZip(at) => file.truncate((file.len() as f64 * at) as usize),
                _ => {}
            }
            file
        })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn well_formed_workbooks_are_read_within_bounds(file in well_formed()) {
        let _one = one_at_a_time();
        check_both(&file, &keys())?;
    }

    #[test]
    fn hand_built_hostile_workbooks_are_read_or_refused_within_bounds(file in hostile()) {
        let _one = one_at_a_time();
        // calamine may panic on some of these (the reader refuses the file); keep the test's
        // output readable.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let out = check_both(&file, &keys());
        std::panic::set_hook(hook);
        out?;
    }
}
