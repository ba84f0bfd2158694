//! Hostile spreadsheets against the upload reader shared by the roster import and the bulk
//! enrolment (`app::import::sheet`), with every allocation of this test binary counted: each
//! file must be read or refused, with a Chinese message, within a few megabytes.
//!
//! Before the reader was hardened: a 1.8 KB file with one cell at XFD1048576 aborted the
//! process asking for 549,755,813,888 bytes (XFD60000: 31,457,280,000); a declared shared-string
//! count of 4,000,000,000 asked for 96 GB; a 294 KB file with one 300 MB shared string took
//! 959 MB; a 1.9 MB file with 2 GB of blanks in the sheet took 2 GB.

use app::enrol_import::{parse_enrolment_xlsx, COLUMNS as ENROL_COLUMNS};
use app::import::sheet::{self, read_first_sheet, SheetRow};
use app::import::testing::*;
use app::import::COLUMNS;
use app::PiiKeys;
mod support;

use support::{one_at_a_time, peak_during, MB};

/// What the roster import's reader makes of a file: the data rows, or the whole-file refusal.
fn roster_rows(bytes: &[u8]) -> Result<Vec<SheetRow<11>>, String> {
    let mut rows = Vec::new();
    read_first_sheet(bytes, &COLUMNS, |_| Ok(()), |r| rows.push(r)).map(|_| rows)
}

fn keys() -> PiiKeys {
    PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap()
}

/// The roster header row, then `cells`.
fn roster_with(cells: Vec<(u32, u32, Cell)>) -> Vec<(u32, u32, Cell)> {
    let mut all = header_cells(&COLUMNS);
    all.extend(cells);
    all
}

fn enrolment_with(cells: Vec<(u32, u32, Cell)>) -> Vec<(u32, u32, Cell)> {
    let mut all = header_cells(&ENROL_COLUMNS);
    all.extend(cells);
    all
}

fn text(s: &str) -> Cell {
    Cell::Inline(s.to_string())
}

/// Sheet XML whose `<sheetData>` holds `len` blanks after the header row.
fn blanks_in_sheet(len: u64) -> Body {
    let full = String::from_utf8(sheet_xml(None, &header_cells(&COLUMNS))).unwrap();
    let (head, tail) = full.split_at(full.find("</sheetData>").unwrap());
    Body::Repeat {
        head: head.as_bytes().to_vec(),
        fill: b" ".to_vec(),
        len,
        tail: tail.as_bytes().to_vec(),
    }
}

#[test]
fn far_cells_are_refused_without_allocating_the_grid() {
    let _one = one_at_a_time();
    let k = keys();
    for (row, col, expect) in [
        (
            1_048_575,
            16_383,
            "表格超过100列（单元格 XFD1048576 有内容）",
        ),
        (59_999, 16_383, "表格超过100列（单元格 XFD60000 有内容）"),
        (1_048_575, 0, "表格超过200000行（第1048576行有内容）"),
        (200_001, 3, "表格超过200000行（第200002行有内容）"),
    ] {
        let file = xlsx(
            Body::Bytes(sheet_xml(None, &roster_with(vec![(row, col, text("x"))]))),
            None,
        );
        assert!(file.len() < 2500, "a tiny file: {}", file.len());
        let (out, peak) = peak_during(|| roster_rows(&file));
        let err = out.err().expect("refused");
        assert!(err.contains(expect), "{err}");
        assert!(peak < 4 * MB, "{expect}: held {peak} bytes");

        let file = xlsx(
            Body::Bytes(sheet_xml(
                None,
                &enrolment_with(vec![(row, col, text("x"))]),
            )),
            None,
        );
        let (parsed, peak) = peak_during(|| parse_enrolment_xlsx(&file, &k));
        assert_eq!(parsed.errors.len(), 1, "{:?}", parsed.errors);
        assert_eq!(parsed.errors[0].row, 0);
        assert!(
            parsed.errors[0].message.contains(expect),
            "{:?}",
            parsed.errors
        );
        assert!(peak < 4 * MB, "enrolment {expect}: held {peak} bytes");
    }
}

#[test]
fn the_last_allowed_row_and_column_are_read() {
    let _one = one_at_a_time();
    let file = xlsx(
        Body::Bytes(sheet_xml(
            None,
            &roster_with(vec![
                (200_000, 3, text("王丽")),
                (200_000, sheet::MAX_COLUMNS - 1, text("备注")),
            ]),
        )),
        None,
    );
    let rows = roster_rows(&file).expect("within the limits");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].row, 200_001);
    assert_eq!(rows[0].cells[3], "王丽");
}

#[test]
fn huge_declared_dimension_is_not_trusted() {
    let _one = one_at_a_time();
    let file = xlsx(
        Body::Bytes(sheet_xml(
            Some("A1:XFD1048576"),
            &roster_with(vec![(1, 0, text("370323104201")), (1, 3, text("王丽"))]),
        )),
        None,
    );
    let (rows, peak) = peak_during(|| roster_rows(&file));
    let rows = rows.expect("read");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].cells[0], "370323104201");
    assert_eq!(rows[0].cells[3], "王丽");
    assert!(peak < 4 * MB, "held {peak} bytes");
}

#[test]
fn huge_shared_string_is_refused_before_it_is_unpacked() {
    let _one = one_at_a_time();
    // The file: one 300 MB shared string, about 300 KB packed.
    let file = xlsx(
        Body::Bytes(sheet_xml(None, &roster_with(vec![(1, 3, Cell::Shared(0))]))),
        Some(huge_shared_string(300_000_000)),
    );
    assert!(file.len() < 400_000, "{}", file.len());
    let (out, peak) = peak_during(|| roster_rows(&file));
    let err = out.err().expect("refused");
    assert!(err.contains("文字内容过多"), "{err}");
    assert!(peak < 4 * MB, "held {peak} bytes");
}

#[test]
fn declared_shared_string_count_is_not_trusted() {
    let _one = one_at_a_time();
    for declared in [4_000_000_000u64, u64::MAX, 2_000_001] {
        let file = xlsx(
            Body::Bytes(sheet_xml(None, &roster_with(vec![(1, 3, Cell::Shared(0))]))),
            Some(Body::Bytes(shared_strings_xml(&["王丽"], Some(declared)))),
        );
        let (out, peak) = peak_during(|| roster_rows(&file));
        let err = out.err().expect("refused");
        assert!(err.contains("文字条目数异常"), "{err}");
        assert!(peak < 4 * MB, "{declared}: held {peak} bytes");
    }
    // The true count is fine.
    let file = xlsx(
        Body::Bytes(sheet_xml(None, &roster_with(vec![(1, 3, Cell::Shared(0))]))),
        Some(Body::Bytes(shared_strings_xml(&["王丽"], None))),
    );
    assert_eq!(roster_rows(&file).unwrap()[0].cells[3], "王丽");
}

#[test]
fn a_long_shared_string_in_every_row_is_measured_not_copied() {
    let _one = one_at_a_time();
    // Just under the XML token limit, referenced from 20,000 rows: copied, that would be 20 GB.
    let long = "长".repeat(300_000);
    let cells: Vec<(u32, u32, Cell)> = (1..=20_000).map(|r| (r, 10, Cell::Shared(0))).collect();
    let file = xlsx(
        Body::Bytes(sheet_xml(None, &roster_with(cells))),
        Some(Body::Bytes(shared_strings_xml(&[&long], None))),
    );
    let (rows, peak) = peak_during(|| roster_rows(&file));
    let rows = rows.expect("read");
    assert_eq!(rows.len(), 20_000);
    assert!(rows
        .iter()
        .all(|r| r.cells[10].is_empty() && r.errors[0].1.contains("内容过长（最多200个字）")));
    drop(rows);
    assert!(peak < 64 * MB, "held {peak} bytes");
}

#[test]
fn deflate_bombs_are_refused_while_unpacking() {
    let _one = one_at_a_time();
    // More than the sheet limit: refused from the declared size, or while counting.
    let file = xlsx(blanks_in_sheet(400_000_000), None);
    assert!(file.len() < 1_000_000, "{}", file.len());
    let (out, peak) = peak_during(|| roster_rows(&file));
    assert!(out.err().unwrap().contains("工作表解压后过大"));
    assert!(peak < 4 * MB, "held {peak} bytes");
    // Within the sheet limit, but one run of 100 MB of blanks the XML parser would buffer whole.
    let file = xlsx(blanks_in_sheet(100_000_000), None);
    let (out, peak) = peak_during(|| roster_rows(&file));
    assert!(out.err().unwrap().contains("超长的内容"));
    assert!(peak < 4 * MB, "held {peak} bytes");
    // The same inside one quoted attribute value, where `>` does not end the tag.
    let full = String::from_utf8(sheet_xml(None, &header_cells(&COLUMNS))).unwrap();
    let (head, tail) = full.split_at(full.find("</sheetData>").unwrap());
    let file = xlsx(
        Body::Repeat {
            head: format!("{head}<row r=\"2\" x=\"").into_bytes(),
            fill: b"<>".to_vec(),
            len: 2_000_000,
            tail: format!("\"/>{tail}").into_bytes(),
        },
        None,
    );
    let (out, peak) = peak_during(|| roster_rows(&file));
    assert!(out.err().unwrap().contains("超长的内容"));
    assert!(peak < 4 * MB, "held {peak} bytes");
}

#[test]
fn zip_header_lying_about_size_is_refused() {
    let _one = one_at_a_time();
    let mut file = xlsx(blanks_in_sheet(50_000_000), None);
    declare_size(&mut file, "xl/worksheets/sheet1.xml", 2000);
    let (out, peak) = peak_during(|| roster_rows(&file));
    let err = out.err().expect("refused");
    assert!(err.contains("无法读取文件"), "{err}");
    assert!(peak < 4 * MB, "held {peak} bytes");
}

#[test]
fn too_many_zip_entries_are_refused_before_the_directory_is_read() {
    let _one = one_at_a_time();
    let mut parts = workbook_parts(
        Body::Bytes(sheet_xml(None, &roster_with(vec![(1, 3, text("王丽"))]))),
        None,
    );
    for i in 0..5000 {
        parts.push(Part::new(&format!("junk/{i}"), Vec::new()));
    }
    let file = zip_parts(&parts);
    let (out, peak) = peak_during(|| roster_rows(&file));
    let err = out.err().expect("refused");
    assert!(err.contains("部件过多"), "{err}");
    assert!(peak < 2 * MB, "held {peak} bytes");
}

#[test]
fn broken_files_are_one_clear_error() {
    let _one = one_at_a_time();
    let good = xlsx(
        Body::Bytes(sheet_xml(None, &roster_with(vec![(1, 3, text("王丽"))]))),
        None,
    );
    let sheet =
        String::from_utf8(sheet_xml(None, &roster_with(vec![(1, 3, text("王丽"))]))).unwrap();
    let broken_sheets = [
        sheet[..sheet.len() / 2].to_string(),
        sheet.replace("</sheetData>", ""),
        sheet.replace("r=\"D2\"", "r=\"ZZZZZZZZ99999999999\""),
        sheet.replace("<row r=\"2\">", "<row r=\"99999999999999\">"),
        sheet.replace("<sheetData>", "<sheetData><row><c><v>1</c></v></row>"),
        format!(
            "<!DOCTYPE x [<!ENTITY a \"{}\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]>{}",
            "a".repeat(100),
            sheet.replace("王丽", "&b;")
        ),
        "not xml at all".to_string(),
        String::new(),
    ];
    for s in broken_sheets {
        let file = xlsx(Body::Bytes(s.clone().into_bytes()), None);
        // calamine panics on an overlong cell reference (in builds with overflow checks); the
        // reader turns that into a refusal. The panic hook's backtrace (RUST_BACKTRACE) would
        // allocate far more than the reader, so it is silenced while measuring.
        let hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let (out, peak) = peak_during(|| roster_rows(&file));
        std::panic::set_hook(hook);
        match out {
            Err(e) => assert!(!e.is_empty()),
            // Some damage is harmless to the reader; what it read is then checked row by row.
            Ok(rows) => assert!(rows.len() <= 1, "{s:.200}"),
        }
        assert!(peak < 4 * MB, "held {peak} bytes for {s:.200}");
    }
    for damaged in [
        good[..good.len() - 30].to_vec(),
        good[..good.len() / 2].to_vec(),
        b"PK\x03\x04 not really a zip".to_vec(),
        b"not a spreadsheet".to_vec(),
        Vec::new(),
    ] {
        let err = roster_rows(&damaged).err().expect("refused");
        assert!(err.contains("无法读取文件"), "{err}");
    }
    // An old .xls, or an .xlsx with an opening password (both OLE compound files).
    let mut ole = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    ole.resize(4096, 0);
    let err = roster_rows(&ole).err().expect("refused");
    assert!(err.contains("旧版 .xls 格式或设置了打开密码"), "{err}");
}

#[test]
fn hidden_characters_and_overlong_cells_are_row_errors() {
    let _one = one_at_a_time();
    let k = keys();
    // rust_xlsxwriter writes control characters the way Excel does (`_x0000_`); the reader
    // unescapes them, so NUL reaches the check.
    let rows: Vec<[String; 11]> = [
        "王\0丽",
        "王\u{202E}丽",
        "王\u{200B}丽",
        "\u{FEFF}王丽",
        "王\n丽",
    ]
    .iter()
    .map(|name| {
        let mut r: [String; 11] = Default::default();
        r[0] = "370323104201".into();
        r[3] = name.to_string();
        r
    })
    .collect();
    let file = app::import::roster_xlsx(&rows).unwrap();
    let read = roster_rows(&file).unwrap();
    assert_eq!(read.len(), 5);
    for r in &read {
        assert_eq!(r.errors.len(), 1, "row {}: {:?}", r.row, r.cells);
        assert_eq!(r.errors[0].0, 3);
        assert!(r.errors[0].1.contains("不可见字符"), "{:?}", r.errors);
        assert!(r.cells[3].is_empty());
    }
    let mut long: [String; 11] = Default::default();
    long[3] = "王".repeat(201);
    long[10] = "x".repeat(30_000);
    let read = roster_rows(&app::import::roster_xlsx(&[long]).unwrap()).unwrap();
    assert_eq!(read[0].errors.len(), 2, "{:?}", read[0].errors);
    assert!(read[0]
        .errors
        .iter()
        .all(|(_, m)| m.contains("内容过长（最多200个字）")));

    let cell = |s: &str| s.to_string();
    let p = parse_enrolment_xlsx(
        &app::enrol_import::enrolment_xlsx(&[[
            cell("370323104201"),
            cell("0001"),
            cell("现金"),
            cell("R\u{202E}-1"),
            cell(""),
            cell(""),
        ]]),
        &k,
    );
    assert!(p.households.is_empty());
    assert!(
        p.errors[0]
            .message
            .starts_with("缴费凭证号：含有不可见字符"),
        "{:?}",
        p.errors
    );
}

#[test]
fn a_file_of_bad_rows_gives_a_bounded_enrolment_report() {
    let _one = one_at_a_time();
    let cell = |s: &str| s.to_string();
    let rows: Vec<[String; 6]> = (0..5000)
        .map(|i| {
            [
                cell("3703"),
                format!("{i:04}"),
                cell("刷卡"),
                cell(""),
                cell(""),
                cell(""),
            ]
        })
        .collect();
    let p = parse_enrolment_xlsx(&app::enrol_import::enrolment_xlsx(&rows), &keys());
    assert!(p.households.is_empty());
    // Two columns wrong in every row: the first 100 of each are listed, the rest counted.
    assert_eq!(p.errors.len(), 200);
    assert_eq!(p.unlisted, 9800);
    assert_eq!(p.errors[0].row, 2);
    assert!(p.errors.iter().all(|e| e.row <= 101));
}
