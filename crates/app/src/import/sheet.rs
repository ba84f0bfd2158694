//! The one way an uploaded spreadsheet is read (roster import and bulk enrolment): in fixed
//! memory and bounded time, whatever the file claims about itself.
//!
//! An .xlsx is a zip of XML parts. Three things in it used to be trusted and must not be:
//!
//! - **sizes**: a part can unpack a thousand times larger than it is packed (a 300 KB file held
//!   one 300 MB shared string; a 2 MB file held 2 GB of blanks), and a zip header can lie about
//!   how large an entry is;
//! - **the grid**: the sheet's `<dimension>` tag and its cell references say how large the grid
//!   is, and reading the sheet as a grid allocates rows × columns cells (a header plus one cell
//!   at `XFD1048576` asked for 549,755,813,888 bytes and aborted the server);
//! - **counts**: the shared-strings part says how many strings it has, and the reader reserves
//!   room for that many before reading one (`uniqueCount="4000000000"` asked for 96 GB).
//!
//! So before calamine sees the file, [`preflight`] walks the zip: it refuses too many entries
//! (from the end-of-central-directory record, before the directory is parsed), then unpacks
//! every entry through a counting reader that stops at the entry's limit and at the file's
//! total, so neither a deflate bomb nor a lying header can exceed them; while it unpacks it
//! checks that no XML token (a tag, a run of text, a comment) is longer than
//! [`MAX_XML_TOKEN_BYTES`], which bounds what the XML parser buffers at once; and it checks the
//! shared-strings count. Then the first sheet is **streamed** cell by cell (calamine's
//! `XlsxCellReader`, no grid), and a non-empty cell beyond [`MAX_DATA_ROWS`] rows or
//! [`MAX_COLUMNS`] columns stops the read the moment it appears. Only the columns the caller
//! asked for are copied, each cell at most [`MAX_CELL_CHARS`] characters (the length is checked
//! before anything is copied), and all kept text together at most [`MAX_TEXT_BYTES`].
//!
//! The limits come from real use: a 100,019-member county roster written by rust_xlsxwriter is
//! 4.6 MB packed, its sheet part 27.5 MB and its shared strings 5.9 MB unpacked (Excel and WPS
//! add style attributes, about half as much again), and its kept text about 9 MB. The limits
//! admit a 200,000-row file with room to spare and keep the worst case of one read under about
//! 300 MB (shared strings ≤ 32 MB of XML, kept text ≤ 64 MB, 200,000 rows of cell slots).

use calamine::{DataRef, DataType, Reader, Xlsx};
use std::io::{Cursor, Read};

/// Largest upload accepted, as sent (packed). A 100,000-member roster is about 5 MB.
pub const MAX_FILE_BYTES: usize = 30 * 1024 * 1024;
/// Most data rows in one file (below the header row). A county of more people is imported
/// town by town.
pub const MAX_DATA_ROWS: u32 = 200_000;
/// Most columns with content. The templates have 11 and 6; clerks add a few of their own.
pub const MAX_COLUMNS: u32 = 100;
/// Longest cell kept (characters). Names, addresses and references are far shorter; each field
/// has its own, smaller limit checked with the row.
pub const MAX_CELL_CHARS: usize = 200;
/// All kept cell text of one file together (bytes).
pub const MAX_TEXT_BYTES: usize = 64 * 1024 * 1024;
/// Most entries in the zip (a workbook has about ten; a few hundred with images and sheets).
pub const MAX_ZIP_ENTRIES: u64 = 1000;
/// Largest unpacked worksheet part.
pub const MAX_SHEET_PART_BYTES: u64 = 256 * 1024 * 1024;
/// Largest unpacked shared-strings part: calamine keeps every shared string in memory.
pub const MAX_SHARED_STRINGS_PART_BYTES: u64 = 32 * 1024 * 1024;
/// Most shared strings a file may declare (calamine reserves room for the declared count).
pub const MAX_SHARED_STRINGS: u64 = 2_000_000;
/// Largest unpacked other part (workbook, styles, relationships, images, …).
pub const MAX_OTHER_PART_BYTES: u64 = 8 * 1024 * 1024;
/// All unpacked parts together.
pub const MAX_TOTAL_UNPACKED_BYTES: u64 = 320 * 1024 * 1024;
/// Longest XML token (one tag, one run of text, one comment): what the XML parser holds at once.
pub const MAX_XML_TOKEN_BYTES: usize = 1024 * 1024;

const MB: u64 = 1024 * 1024;

/// Why a whole file is refused, in Chinese for the clerk.
pub type FileError = String;

fn unreadable(what: &str) -> FileError {
    format!("无法读取文件：{what}。请上传用 Excel 或 WPS 保存的 .xlsx 文件（可先下载模板）")
}

fn too_large_unpacked() -> FileError {
    format!(
        "文件解压后过大（上限{}MB），可能不是正常的表格文件。请删除多余的工作表、图片和格式后另存为 .xlsx 再上传，或分成几个文件导入",
        MAX_TOTAL_UNPACKED_BYTES / MB
    )
}

/// Refuses what cannot be read safely, before any spreadsheet reader allocates for it.
pub fn preflight(bytes: &[u8]) -> Result<(), FileError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(format!(
            "文件过大（上限{}MB），请分成几个文件导入",
            MAX_FILE_BYTES as u64 / MB
        ));
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        // An OLE compound file: an old .xls, or an .xlsx saved with an opening password.
        return Err(
            "文件是旧版 .xls 格式或设置了打开密码，请用 Excel 或 WPS 另存为 .xlsx（不设密码）后再上传"
                .into(),
        );
    }
    if !bytes.starts_with(b"PK") {
        return Err(unreadable("文件不是 .xlsx 格式"));
    }
    check_directory(bytes)?;
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|_| unreadable("文件已损坏或不是 .xlsx 格式"))?;
    if zip.len() as u64 > MAX_ZIP_ENTRIES {
        return Err(unreadable(&format!(
            "文件包含的部件过多（上限{MAX_ZIP_ENTRIES}个），不是正常的表格文件"
        )));
    }
    let mut total: u64 = 0;
    let mut buf = vec![0u8; 64 * 1024];
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .map_err(|_| unreadable("文件已损坏或已加密"))?;
        let name = entry
            .name()
            .map_err(|_| unreadable("文件已损坏"))?
            .to_ascii_lowercase();
        let is_shared_strings = name.ends_with("sharedstrings.xml");
        let limit = if is_shared_strings {
            MAX_SHARED_STRINGS_PART_BYTES
        } else if name.contains("worksheets/") {
            MAX_SHEET_PART_BYTES
        } else {
            MAX_OTHER_PART_BYTES
        };
        let part_too_large = || {
            if is_shared_strings {
                format!(
                    "文件中的文字内容过多（共享字符串解压后超过{}MB），请分成几个文件导入",
                    limit / MB
                )
            } else if name.contains("worksheets/") {
                format!(
                    "工作表解压后过大（上限{}MB），请删除多余的行、列和格式，或分成几个文件导入",
                    limit / MB
                )
            } else {
                too_large_unpacked()
            }
        };
        // What the header declares, then what the data really is: stop one byte past the limit.
        if entry.size() > limit {
            return Err(part_too_large());
        }
        let mut scanner = TokenScanner::default();
        let mut head: Vec<u8> = Vec::new();
        let mut size: u64 = 0;
        loop {
            let n = match entry.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(_) => return Err(unreadable("文件已损坏")),
            };
            size += n as u64;
            total += n as u64;
            if size > limit {
                return Err(part_too_large());
            }
            if total > MAX_TOTAL_UNPACKED_BYTES {
                return Err(too_large_unpacked());
            }
            scanner.feed(&buf[..n])?;
            if is_shared_strings && head.len() < SST_HEAD_BYTES {
                let take = n.min(SST_HEAD_BYTES - head.len());
                head.extend_from_slice(&buf[..take]);
            }
        }
        if is_shared_strings {
            check_shared_strings_head(&head, size)?;
        }
    }
    Ok(())
}

/// The end-of-central-directory record says how many entries there are and how large the
/// directory is; refuse before the zip reader allocates a table for them. Every candidate
/// record in the tail is checked (a reader might pick any of them).
fn check_directory(bytes: &[u8]) -> Result<(), FileError> {
    const EOCD: [u8; 4] = [0x50, 0x4b, 0x05, 0x06];
    const EOCD64: [u8; 4] = [0x50, 0x4b, 0x06, 0x06];
    let tail_start = bytes.len().saturating_sub(22 + 65_535 + 20 + 56);
    let tail = &bytes[tail_start..];
    let too_many = || {
        unreadable(&format!(
            "文件包含的部件过多（上限{MAX_ZIP_ENTRIES}个），不是正常的表格文件"
        ))
    };
    let u16_at = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
    let u32_at =
        |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
    let u64_at = |b: &[u8], i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(a)
    };
    let max_directory = MAX_ZIP_ENTRIES * (46 + 1024);
    let mut found = false;
    for i in 0..tail.len().saturating_sub(3) {
        // Where this candidate sits in the file: a record whose directory would start after
        // it is not used by the zip reader either (the signature was a chance match in packed
        // data); every other candidate is held to the limits.
        let at = (tail_start + i) as u64;
        if tail[i..i + 4] == EOCD && i + 22 <= tail.len() {
            let entries = u16_at(tail, i + 10).max(u16_at(tail, i + 8));
            let directory = u32_at(tail, i + 12);
            let offset = u32_at(tail, i + 16);
            let zip64 = entries == 0xFFFF || directory == 0xFFFF_FFFF || offset == 0xFFFF_FFFF;
            if !zip64 && offset >= at {
                continue;
            }
            found = true;
            if entries > MAX_ZIP_ENTRIES && entries != 0xFFFF {
                return Err(too_many());
            }
            if directory > max_directory && directory != 0xFFFF_FFFF {
                return Err(too_many());
            }
        } else if tail[i..i + 4] == EOCD64 && i + 56 <= tail.len() {
            let entries = u64_at(tail, i + 24).max(u64_at(tail, i + 32));
            let directory = u64_at(tail, i + 40);
            let offset = u64_at(tail, i + 48);
            if offset >= at {
                continue;
            }
            if entries > MAX_ZIP_ENTRIES || directory > max_directory {
                return Err(too_many());
            }
        }
    }
    if !found {
        return Err(unreadable("文件已损坏或不是 .xlsx 格式"));
    }
    Ok(())
}

const SST_HEAD_BYTES: usize = 64 * 1024;

/// The shared-strings part must begin with its `<sst>` element, and what it declares must fit
/// the limit and the part (each string takes at least a few bytes of XML).
fn check_shared_strings_head(head: &[u8], part_size: u64) -> Result<(), FileError> {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_reader(head);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                if e.local_name().as_ref() != "sst" {
                    return Err(unreadable("文件中的共享字符串部件格式异常"));
                }
                for a in e.attributes().flatten() {
                    if a.key.local_name().as_ref() == "uniqueCount" {
                        let declared: Option<u64> = a.value.trim().parse().ok();
                        match declared {
                            Some(n) if n <= MAX_SHARED_STRINGS && n <= part_size / 4 + 1 => {}
                            _ => {
                                return Err(format!(
                                    "文件声明的文字条目数异常（上限{MAX_SHARED_STRINGS}条），不是正常的表格文件，请用 Excel 或 WPS 另存为后再上传"
                                ))
                            }
                        }
                    }
                }
                return Ok(());
            }
            Ok(Event::Eof) | Err(_) => {
                return Err(unreadable("文件中的共享字符串部件格式异常"));
            }
            Ok(_) => {}
        }
    }
}

/// Finds the longest XML token in a stream fed chunk by chunk: a tag (quotes respected, so a
/// `>` inside an attribute does not end it), a run of text, a comment, CDATA section or
/// processing instruction. A document type declaration (never in OOXML) is refused outright.
#[derive(Default)]
struct TokenScanner {
    state: ScanState,
    run: usize,
    /// The first bytes after `<`, to tell a comment or CDATA from a tag.
    head: Vec<u8>,
    /// The last bytes seen, to find `-->`, `]]>` and `?>` across chunks.
    last: [u8; 2],
}

#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum ScanState {
    #[default]
    Text,
    /// Just after `<`: not yet known what kind of markup.
    Open,
    Tag {
        quote: u8,
    },
    Comment,
    CData,
    Pi,
}

impl TokenScanner {
    fn feed(&mut self, chunk: &[u8]) -> Result<(), FileError> {
        // One pass over every unpacked byte of the file, so the common states (text, tags) skip
        // ahead in tight loops; the length is checked whenever a token ends and at the end of
        // each chunk. Only comments, CDATA and processing instructions need the bytes before
        // a `>` (`self.last`), and those states go byte by byte.
        let n = chunk.len();
        let mut i = 0;
        while i < n {
            let start = i;
            match self.state {
                ScanState::Text => {
                    while i < n && chunk[i] != b'<' {
                        i += 1;
                    }
                }
                ScanState::Tag { quote: 0 } => {
                    while i < n && !matches!(chunk[i], b'>' | b'"' | b'\'') {
                        i += 1;
                    }
                }
                ScanState::Tag { quote } => {
                    while i < n && chunk[i] != quote {
                        i += 1;
                    }
                }
                ScanState::Open | ScanState::Comment | ScanState::CData | ScanState::Pi => {}
            }
            self.run += i - start;
            if i == n {
                break;
            }
            let b = chunk[i];
            i += 1;
            self.run += 1;
            self.check_run()?;
            let before = self.state;
            self.step(b)?;
            let opened = before == ScanState::Open
                && matches!(
                    self.state,
                    ScanState::Comment | ScanState::CData | ScanState::Pi
                );
            // The opening's own bytes never end it (`step` reset `self.last`).
            if !opened {
                self.last = [self.last[1], b];
            }
        }
        self.check_run()
    }

    fn check_run(&self) -> Result<(), FileError> {
        if self.run > MAX_XML_TOKEN_BYTES {
            return Err(format!(
                "文件中有超长的内容（单个单元格或标记超过{}MB），不是正常的表格文件",
                MAX_XML_TOKEN_BYTES as u64 / MB
            ));
        }
        Ok(())
    }

    /// One byte that may change the state (`self.last` still holds the two bytes before it).
    fn step(&mut self, b: u8) -> Result<(), FileError> {
        match self.state {
            ScanState::Text => {
                if b == b'<' {
                    self.state = ScanState::Open;
                    self.head.clear();
                    self.run = 1;
                }
            }
            ScanState::Open => {
                self.head.push(b);
                let h = self.head.as_slice();
                // The bytes of the opening never count towards its end (`<!-->` is not closed),
                // so this scanner never ends a token before the XML parser does.
                if h == b"!--" {
                    self.state = ScanState::Comment;
                    self.last = [0, 0];
                    return Ok(());
                } else if h == b"![CDATA[" {
                    self.state = ScanState::CData;
                    self.last = [0, 0];
                    return Ok(());
                } else if h == b"?" {
                    self.state = ScanState::Pi;
                    self.last = [0, 0];
                    return Ok(());
                } else if h.len() >= 8 && h.eq_ignore_ascii_case(b"!DOCTYPE") {
                    return Err(unreadable("文件包含不允许的 XML 声明"));
                } else if !(b"!--".starts_with(h)
                    || b"![CDATA[".starts_with(h)
                    || (h.len() < 8 && b"!doctype".starts_with(&h.to_ascii_lowercase())))
                {
                    // An ordinary tag; this byte may already end or quote it.
                    self.state = ScanState::Tag { quote: 0 };
                    self.tag_byte(b);
                }
            }
            ScanState::Tag { .. } => self.tag_byte(b),
            ScanState::Comment => {
                if b == b'>' && self.last == *b"--" {
                    self.end_markup();
                }
            }
            ScanState::CData => {
                if b == b'>' && self.last == *b"]]" {
                    self.end_markup();
                }
            }
            ScanState::Pi => {
                if b == b'>' && self.last[1] == b'?' {
                    self.end_markup();
                }
            }
        }
        Ok(())
    }

    fn tag_byte(&mut self, b: u8) {
        let ScanState::Tag { quote } = self.state else {
            return;
        };
        if quote != 0 {
            if b == quote {
                self.state = ScanState::Tag { quote: 0 };
            }
        } else if b == b'"' || b == b'\'' {
            self.state = ScanState::Tag { quote: b };
        } else if b == b'>' {
            self.end_markup();
        }
    }

    fn end_markup(&mut self) {
        self.state = ScanState::Text;
        self.run = 0;
    }
}

/// One data row of the sheet: the wanted columns' text (empty where blank) and what was wrong
/// with any of its cells, by wanted column.
pub struct SheetRow<const N: usize> {
    /// The row number as the clerk sees it (header row 1 in a template).
    pub row: usize,
    pub cells: [String; N],
    pub errors: Vec<(usize, String)>,
}

/// Streams the first worksheet of a file that passed [`preflight`]. The first row with any
/// content is the header: `header` gets, for each wanted column name, the sheet column that
/// holds it (and may refuse the file). Every later row with content in a wanted column, or a
/// problem in one, goes to `row`, in sheet order.
pub fn read_first_sheet<const N: usize>(
    bytes: &[u8],
    wanted: &[&str; N],
    header: impl FnOnce(&[Option<u32>; N]) -> Result<(), FileError>,
    row: impl FnMut(SheetRow<N>),
) -> Result<(), FileError> {
    preflight(bytes)?;
    // calamine panics on some malformed files (an overlong cell reference overflows its
    // arithmetic); such a file is refused like any other damaged one.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        stream_first_sheet(bytes, wanted, header, row)
    }))
    .unwrap_or_else(|_| Err(unreadable("文件内容已损坏")))
}

fn stream_first_sheet<const N: usize>(
    bytes: &[u8],
    wanted: &[&str; N],
    header: impl FnOnce(&[Option<u32>; N]) -> Result<(), FileError>,
    mut row: impl FnMut(SheetRow<N>),
) -> Result<(), FileError> {
    let mut wb =
        Xlsx::new(Cursor::new(bytes)).map_err(|_| unreadable("文件已损坏或不是 .xlsx 格式"))?;
    let Some(first) = wb.sheet_names().first().cloned() else {
        return Err("文件中没有工作表".into());
    };
    let mut cells = wb
        .worksheet_cells_reader(&first)
        .map_err(|_| String::from("文件中没有工作表（第一个工作表无法读取）"))?;
    let mut header = Some(header);
    let mut map: [Option<u32>; N] = [None; N];
    let mut header_cells: Vec<(u32, String)> = Vec::new();
    let mut in_header = true;
    let mut current: Option<u32> = None;
    let mut pending: Option<SheetRow<N>> = None;
    let mut kept: usize = 0;
    let broken = |_| unreadable("文件内容已损坏");
    loop {
        let cell = cells.next_cell().map_err(broken)?;
        let Some(cell) = cell else { break };
        let (r, c) = cell.get_position();
        let value = cell.get_value();
        if value.is_empty() {
            continue; // a formatted but empty cell holds nothing, wherever it is
        }
        if c >= MAX_COLUMNS {
            return Err(format!(
                "表格超过{MAX_COLUMNS}列（单元格 {} 有内容），请删除多余的列后重新上传",
                cell_ref(r, c)
            ));
        }
        if r > MAX_DATA_ROWS {
            return Err(format!(
                "表格超过{MAX_DATA_ROWS}行（第{}行有内容），请分成几个文件导入",
                r as u64 + 1
            ));
        }
        if let Some(cur) = current {
            if r < cur {
                return Err(format!(
                    "文件中的行顺序错乱（第{}行出现在第{}行之后），请用 Excel 或 WPS 打开后另存为再上传",
                    r as u64 + 1,
                    cur as u64 + 1
                ));
            }
        }
        if current != Some(r) {
            if in_header && current.is_some() {
                // The header row is complete: map the wanted columns.
                for (i, name) in wanted.iter().enumerate() {
                    map[i] = header_cells
                        .iter()
                        .find(|(_, h)| h == name)
                        .map(|(col, _)| *col);
                }
                if let Some(h) = header.take() {
                    h(&map)?;
                }
                in_header = false;
                header_cells = Vec::new();
            }
            if let Some(done) = pending.take() {
                row(done);
            }
            current = Some(r);
        }
        if in_header {
            if let Ok(t) = cell_text(value) {
                header_cells.push((c, t));
            }
            continue;
        }
        let Some(i) = map.iter().position(|m| *m == Some(c)) else {
            continue; // a column nobody asked for
        };
        let p = pending.get_or_insert_with(|| SheetRow {
            row: r as usize + 1,
            cells: std::array::from_fn(|_| String::new()),
            errors: Vec::new(),
        });
        match cell_text(value) {
            Ok(t) => {
                kept += t.len();
                if kept > MAX_TEXT_BYTES {
                    return Err(format!(
                        "文件中的文字内容过多（上限{}MB），请分成几个文件导入",
                        MAX_TEXT_BYTES as u64 / MB
                    ));
                }
                p.cells[i] = t;
            }
            Err(e) => p.errors.push((i, e)),
        }
    }
    if in_header {
        if current.is_none() {
            return Err("文件是空的".into());
        }
        for (i, name) in wanted.iter().enumerate() {
            map[i] = header_cells
                .iter()
                .find(|(_, h)| h == name)
                .map(|(col, _)| *col);
        }
        if let Some(h) = header.take() {
            h(&map)?;
        }
    }
    if let Some(done) = pending.take() {
        row(done);
    }
    Ok(())
}

/// `A1`-style name of a cell (row and column from 0), for messages.
fn cell_ref(row: u32, col: u32) -> String {
    let mut letters = Vec::new();
    let mut c = col as u64 + 1;
    while c > 0 {
        letters.push(b'A' + ((c - 1) % 26) as u8);
        c = (c - 1) / 26;
    }
    letters.reverse();
    format!(
        "{}{}",
        String::from_utf8(letters).unwrap_or_default(),
        row as u64 + 1
    )
}

/// A cell as trimmed text, or what is wrong with it (shared by the roster and enrolment
/// uploads). Text is measured before it is copied.
pub fn cell_text(d: &DataRef<'_>) -> Result<String, String> {
    Ok(match d {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => text(s)?,
        DataRef::SharedString(s) => text(s)?,
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => {
            // Excel stores numbers as doubles: beyond 15 digits they are no longer exact, which
            // silently corrupts ID numbers typed as numbers. Refuse rather than guess.
            if !f.is_finite() || f.fract() != 0.0 || f.abs() >= 1e15 {
                return Err("数字格式不精确，请将该列设为“文本”格式后重新填写".into());
            }
            format!("{}", *f as i64)
        }
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(_) => match d.as_date() {
            Some(date) => date.format("%Y-%m-%d").to_string(),
            None => return Err("日期无效".into()),
        },
        DataRef::Error(_) => return Err("单元格包含公式错误".into()),
    })
}

/// Checks a text cell's length (bytes first, so a huge string is never counted or copied) and
/// refuses hidden characters: NUL and other controls, line breaks, zero-width characters and
/// bidirectional overrides change what a name or address means to a reader without showing.
fn text(s: &str) -> Result<String, String> {
    let too_long = || format!("内容过长（最多{MAX_CELL_CHARS}个字）");
    if s.len() > MAX_CELL_CHARS * 4 {
        return Err(too_long());
    }
    let t = s.trim();
    if t.chars().count() > MAX_CELL_CHARS {
        return Err(too_long());
    }
    if t.chars().any(domain::text::is_hidden) {
        return Err(
            "含有不可见字符（控制字符、换行、零宽字符或文字方向控制符），请删除后重新填写".into(),
        );
    }
    Ok(t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_scanner_measures_tags_text_and_comments() {
        let scan = |s: &[u8]| {
            let mut t = TokenScanner::default();
            t.feed(s).map(|_| t.run)
        };
        assert_eq!(scan(b"<a b=\"x>y\">text").unwrap(), 4);
        assert_eq!(scan(b"<!-- a > b -->x").unwrap(), 1);
        assert_eq!(scan(b"<![CDATA[ > ]]>xy").unwrap(), 2);
        assert_eq!(scan(b"<?xml version=\"1.0\"?><r/>").unwrap(), 0);
        // An opening is not its own end.
        assert_eq!(scan(b"<!-->ab").unwrap(), 7);
        assert_eq!(scan(b"<?>ab").unwrap(), 5);
        assert!(scan(b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>").is_err());
        // Across chunks.
        let mut t = TokenScanner::default();
        for piece in [&b"<!-"[..], b"- > -", b"->ab"] {
            t.feed(piece).unwrap();
        }
        assert_eq!(t.run, 2);
        let long = vec![b' '; MAX_XML_TOKEN_BYTES + 1];
        assert!(scan(&long).is_err());
        let mut quoted = b"<a b=\"".to_vec();
        quoted.extend(std::iter::repeat_n(b'>', MAX_XML_TOKEN_BYTES));
        assert!(scan(&quoted).is_err());
    }

    #[test]
    fn cell_names() {
        assert_eq!(cell_ref(0, 0), "A1");
        assert_eq!(cell_ref(1_048_575, 16_383), "XFD1048576");
        assert_eq!(cell_ref(9, 26), "AA10");
    }

    #[test]
    fn text_cells_are_bounded_and_visible() {
        assert_eq!(text("  王丽 ").unwrap(), "王丽");
        assert!(text(&"张".repeat(MAX_CELL_CHARS)).is_ok());
        assert!(text(&"张".repeat(MAX_CELL_CHARS + 1)).is_err());
        assert!(text(&"x".repeat(10_000_000)).is_err());
        for bad in [
            "王\0丽",
            "王\u{202E}丽",
            "王\u{200B}丽",
            "\u{FEFF}王丽",
            "新河村\n1组",
        ] {
            assert!(text(bad).unwrap_err().contains("不可见字符"), "{bad:?}");
        }
    }
}
