//! Spreadsheets built by hand, part by part, for tests of the upload readers: small well-formed
//! workbooks with a chosen sheet XML, and hostile ones (cells at the far corner of the sheet,
//! lying dimension tags, huge shared strings, deflate bombs, zip headers that lie about sizes,
//! broken XML). Only tests, fuzzing and measurements use this module.

use ::zip::write::SimpleFileOptions;
use ::zip::{CompressionMethod, ZipWriter};
use std::io::Write;

/// What goes into one zip entry.
pub enum Body {
    Bytes(Vec<u8>),
    /// `head`, then `fill` repeated `len` times, then `tail`: written in chunks, so a part of
    /// gigabytes costs the test no memory (it compresses to a few hundred kilobytes or less).
    Repeat {
        head: Vec<u8>,
        fill: Vec<u8>,
        len: u64,
        tail: Vec<u8>,
    },
}

pub struct Part {
    pub name: String,
    pub body: Body,
    pub stored: bool,
}

impl Part {
    pub fn new(name: &str, bytes: impl Into<Vec<u8>>) -> Part {
        Part {
            name: name.to_string(),
            body: Body::Bytes(bytes.into()),
            stored: false,
        }
    }
}

/// The parts of a one-sheet workbook around `sheet` (and shared strings when given).
pub fn workbook_parts(sheet: Body, shared_strings: Option<Body>) -> Vec<Part> {
    let mut rels = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>"#,
    );
    if shared_strings.is_some() {
        rels.push_str(r#"<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>"#);
    }
    rels.push_str("</Relationships>");
    let mut parts = vec![
        Part::new(
            "[Content_Types].xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>"#,
        ),
        Part::new(
            "_rels/.rels",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        Part::new(
            "xl/workbook.xml",
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        Part::new("xl/_rels/workbook.xml.rels", rels),
        Part {
            name: "xl/worksheets/sheet1.xml".into(),
            body: sheet,
            stored: false,
        },
    ];
    if let Some(s) = shared_strings {
        parts.push(Part {
            name: "xl/sharedStrings.xml".into(),
            body: s,
            stored: false,
        });
    }
    parts
}

/// Zips the parts (deflated unless a part says stored).
pub fn zip_parts(parts: &[Part]) -> Vec<u8> {
    let mut w = ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for p in parts {
        let method = if p.stored {
            CompressionMethod::Stored
        } else {
            CompressionMethod::Deflated
        };
        let big = matches!(&p.body, Body::Repeat { len, .. } if *len > u32::MAX as u64 / 2);
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(big);
        w.start_file(p.name.as_str(), options).expect("zip entry");
        match &p.body {
            Body::Bytes(b) => w.write_all(b).expect("zip write"),
            Body::Repeat {
                head,
                fill,
                len,
                tail,
            } => {
                w.write_all(head).expect("zip write");
                let chunk: Vec<u8> = fill
                    .iter()
                    .copied()
                    .cycle()
                    .take((1 << 20) / fill.len().max(1) * fill.len().max(1))
                    .collect();
                let per = (chunk.len() / fill.len().max(1)) as u64;
                let mut left = *len;
                while left > 0 {
                    let n = left.min(per);
                    w.write_all(&chunk[..n as usize * fill.len()])
                        .expect("zip write");
                    left -= n;
                }
                w.write_all(tail).expect("zip write");
            }
        }
    }
    w.finish().expect("zip finish").into_inner()
}

/// A one-sheet workbook.
pub fn xlsx(sheet: Body, shared_strings: Option<Body>) -> Vec<u8> {
    zip_parts(&workbook_parts(sheet, shared_strings))
}

/// One cell of a hand-written sheet.
pub enum Cell {
    Inline(String),
    Shared(usize),
    Number(f64),
}

/// A cell reference such as `A1` or `XFD1048576` (row and column from 0).
pub fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col + 1;
    while c > 0 {
        letters.push(b'A' + ((c - 1) % 26) as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!("{}{}", String::from_utf8(letters).expect("ascii"), row + 1)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Sheet XML with the given `<dimension>` (if any) and cells `(row, column, value)`, rows in
/// the order given.
pub fn sheet_xml(dimension: Option<&str>, cells: &[(u32, u32, Cell)]) -> Vec<u8> {
    let mut s = String::from(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">"#,
    );
    if let Some(d) = dimension {
        s.push_str(&format!(r#"<dimension ref="{d}"/>"#));
    }
    s.push_str("<sheetData>");
    let mut open: Option<u32> = None;
    for (r, c, v) in cells {
        if open != Some(*r) {
            if open.is_some() {
                s.push_str("</row>");
            }
            s.push_str(&format!(r#"<row r="{}">"#, r + 1));
            open = Some(*r);
        }
        let at = cell_ref(*r, *c);
        match v {
            Cell::Inline(t) => s.push_str(&format!(
                r#"<c r="{at}" t="inlineStr"><is><t>{}</t></is></c>"#,
                escape(t)
            )),
            Cell::Shared(i) => s.push_str(&format!(r#"<c r="{at}" t="s"><v>{i}</v></c>"#)),
            Cell::Number(n) => s.push_str(&format!(r#"<c r="{at}"><v>{n}</v></c>"#)),
        }
    }
    if open.is_some() {
        s.push_str("</row>");
    }
    s.push_str("</sheetData></worksheet>");
    s.into_bytes()
}

/// The header row of a template (`columns` in row 1, from column A).
pub fn header_cells(columns: &[&str]) -> Vec<(u32, u32, Cell)> {
    columns
        .iter()
        .enumerate()
        .map(|(i, h)| (0, i as u32, Cell::Inline(h.to_string())))
        .collect()
}

/// Shared-strings XML; `unique_count` is what the root element claims (the real count if
/// `None`).
pub fn shared_strings_xml(strings: &[&str], unique_count: Option<u64>) -> Vec<u8> {
    let n = unique_count.unwrap_or(strings.len() as u64);
    let mut s = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="{n}" uniqueCount="{n}">"#
    );
    for t in strings {
        s.push_str(&format!("<si><t>{}</t></si>", escape(t)));
    }
    s.push_str("</sst>");
    s.into_bytes()
}

/// A shared-strings part holding one string of `len` copies of "a" (huge when unpacked, a few
/// hundred kilobytes packed).
pub fn huge_shared_string(len: u64) -> Body {
    Body::Repeat {
        head: br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1"><si><t>"#
            .to_vec(),
        fill: b"a".to_vec(),
        len,
        tail: b"</t></si></sst>".to_vec(),
    }
}

/// Rewrites the uncompressed size that the local header and the central directory declare for
/// `name` (the data stays as it is): a zip that lies about how big an entry unpacks.
pub fn declare_size(zip: &mut [u8], name: &str, size: u32) {
    let name = name.as_bytes();
    let mut patched = 0;
    let mut i = 0;
    while i + 46 <= zip.len() {
        let sig = u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]);
        if sig == 0x0403_4b50 && i + 30 <= zip.len() {
            let n = u16::from_le_bytes([zip[i + 26], zip[i + 27]]) as usize;
            if zip.get(i + 30..i + 30 + n) == Some(name) {
                zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        } else if sig == 0x0201_4b50 {
            let n = u16::from_le_bytes([zip[i + 28], zip[i + 29]]) as usize;
            if zip.get(i + 46..i + 46 + n) == Some(name) {
                zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes());
                patched += 1;
            }
        }
        i += 1;
    }
    assert_eq!(
        patched,
        2,
        "entry {:?} not found",
        String::from_utf8_lossy(name)
    );
}
