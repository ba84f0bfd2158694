//! The bank's result file (代发结果): which lines were paid and which bounced, and why.
//!
//! Banks return the upload with a status column appended, or their own table; either way as
//! CSV (UTF-8, UTF-8 with BOM, or GBK) or xlsx, with Chinese headers that differ from bank to
//! bank. Columns are therefore found by header name, with the synonyms banks use, and every
//! bad row is reported at once so the office fixes the file in one pass.

use std::fmt;
use std::io::{Cursor, Read, Seek};

use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
use domain::Fen;

/// Larger files are refused before parsing: a month's payout is thousands of lines.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// More data rows than this are refused.
pub const MAX_ROWS: usize = 100_000;
/// The most an xlsx's parts may declare uncompressed, so a small zip cannot inflate into
/// gigabytes inside calamine.
const MAX_XLSX_UNCOMPRESSED: u64 = 200 * 1024 * 1024;
/// How far down the header row may be (banks put titles and summaries above it).
const HEADER_SEARCH_ROWS: usize = 20;

/// One line of the result file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResultLine {
    /// The row in the file, 1-based as a spreadsheet shows it.
    pub row: usize,
    /// The batch line's sequence number: from the 序号 column, or — when the bank returns the
    /// upload without one — the data row's position (1, 2, …). Callers match on it and must
    /// cross-check `card_last4` and `amount` before marking a line paid.
    pub seq: u32,
    pub card_last4: Option<String>,
    pub amount: Option<Fen>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Paid,
    Failed { reason: String },
}

/// A bad row: its 1-based row number and what is wrong, in Chinese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowProblem {
    pub row: usize,
    pub message: String,
}

impl fmt::Display for RowProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第{}行：{}", self.row, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResultsError {
    #[error("结果文件过大（{}MB），上限为20MB", .0 / (1024 * 1024))]
    TooLarge(usize),
    #[error("Excel文件解压后过大（{}MB），上限为200MB", .0 / (1024 * 1024))]
    Inflated(u64),
    #[error("结果文件超过{MAX_ROWS}行，请核对是否选错了文件")]
    TooManyRows,
    #[error("不支持旧版Excel（.xls）文件，请在Excel中另存为.xlsx或CSV后再上传")]
    Xls,
    #[error("无法识别文件编码：请使用UTF-8或GBK编码的CSV文件，或xlsx文件")]
    Encoding,
    #[error("无法读取Excel文件：{0}")]
    Xlsx(String),
    #[error("无法读取CSV文件：{0}")]
    Csv(String),
    #[error("找不到表头：结果文件需要“状态”（或“处理结果”“交易状态”）列")]
    NoHeader,
    #[error("结果文件没有明细行")]
    Empty,
    #[error("结果文件有{}处错误：\n{}", .0.len(), join(.0))]
    Rows(Vec<RowProblem>),
}

fn join(problems: &[RowProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Parses a result file. `file_name` only decides the kind (".xlsx" or CSV); the content is
/// checked regardless.
pub fn parse_results(bytes: &[u8], file_name: &str) -> Result<Vec<ResultLine>, ResultsError> {
    if bytes.len() > MAX_BYTES {
        return Err(ResultsError::TooLarge(bytes.len()));
    }
    let lower = file_name.trim().to_lowercase();
    let rows = if bytes.starts_with(b"\xD0\xCF\x11\xE0") || lower.ends_with(".xls") {
        return Err(ResultsError::Xls);
    } else if bytes.starts_with(b"PK\x03\x04") || lower.ends_with(".xlsx") {
        xlsx_rows(bytes)?
    } else {
        csv_rows(&decode_text(bytes)?)?
    };
    lines_from_rows(&rows)
}

/// UTF-8 (with or without BOM) if the bytes are valid UTF-8, else GBK if they decode cleanly.
fn decode_text(bytes: &[u8]) -> Result<String, ResultsError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(s.to_string());
    }
    let (text, had_errors) = encoding_rs::GBK.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(ResultsError::Encoding);
    }
    Ok(text.into_owned())
}

/// The delimiter banks use most in the first lines: comma, tab, '|' or ';'.
fn sniff_delimiter(text: &str) -> u8 {
    let head: String = text.lines().take(HEADER_SEARCH_ROWS).collect();
    [b',', b'\t', b'|', b';']
        .into_iter()
        .max_by_key(|d| head.bytes().filter(|b| b == d).count())
        .unwrap_or(b',')
}

fn csv_rows(text: &str) -> Result<Vec<Vec<String>>, ResultsError> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(sniff_delimiter(text))
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| ResultsError::Csv(e.to_string()))?;
        if rows.len() > MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(ResultsError::TooManyRows);
        }
        rows.push(rec.iter().map(|s| s.trim().to_string()).collect());
    }
    Ok(rows)
}

fn xlsx_rows(bytes: &[u8]) -> Result<Vec<Vec<String>>, ResultsError> {
    check_zip_sizes(Cursor::new(bytes))?;
    let mut wb: Xlsx<_> = open_workbook_from_rs(Cursor::new(bytes))
        .map_err(|e: calamine::XlsxError| ResultsError::Xlsx(e.to_string()))?;
    // The first sheet with a recognisable header row: banks sometimes put a summary sheet
    // first (and our own files start with the cover sheet).
    for name in wb.sheet_names() {
        let range = wb
            .worksheet_range(&name)
            .map_err(|e| ResultsError::Xlsx(e.to_string()))?;
        if range.height() > MAX_ROWS + HEADER_SEARCH_ROWS {
            return Err(ResultsError::TooManyRows);
        }
        // Rows as a spreadsheet numbers them: pad for a range not starting at A1.
        let (top, left) = range.start().unwrap_or((0, 0));
        let mut rows: Vec<Vec<String>> = vec![Vec::new(); top as usize];
        for r in range.rows() {
            let mut row = vec![String::new(); left as usize];
            row.extend(r.iter().map(cell_text));
            rows.push(row);
        }
        if find_header(&rows).is_some() {
            return Ok(rows);
        }
    }
    Err(ResultsError::NoHeader)
}

fn check_zip_sizes<R: Read + Seek>(r: R) -> Result<(), ResultsError> {
    let mut zip = zip::ZipArchive::new(r).map_err(|e| ResultsError::Xlsx(e.to_string()))?;
    let mut sum = 0u64;
    for i in 0..zip.len() {
        let f = zip
            .by_index_raw(i)
            .map_err(|e| ResultsError::Xlsx(e.to_string()))?;
        sum = sum.saturating_add(f.size());
    }
    if sum > MAX_XLSX_UNCOMPRESSED {
        return Err(ResultsError::Inflated(sum));
    }
    Ok(())
}

/// A cell as text. Integers print without ".0"; card numbers stored as numbers beyond
/// 15 significant digits were already rounded by Excel, so they become "#" (unusable) rather
/// than a wrong last four.
fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) if f.abs() >= 1e15 => "#".to_string(),
        Data::Float(f) => format!("{f}"),
        other => other.to_string(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Seq,
    Card,
    Name,
    Amount,
    Status,
    Reason,
}

/// Header synonyms in priority order: the first that matches a header wins for its column.
const SYNONYMS: &[(Col, &[&str])] = &[
    (Col::Seq, &["序号", "流水号", "明细序号", "顺序号", "编号"]),
    (
        Col::Card,
        &[
            "卡号",
            "账号",
            "收款账号",
            "收款人账号",
            "银行卡号",
            "收款卡号",
            "帐号",
        ],
    ),
    (
        Col::Name,
        &["户名", "姓名", "收款人户名", "收款户名", "收款人"],
    ),
    (
        Col::Amount,
        &["金额", "交易金额", "代发金额", "金额（元）", "金额(元)"],
    ),
    (
        Col::Status,
        &[
            "状态",
            "处理结果",
            "交易状态",
            "处理状态",
            "结果",
            "代发结果",
        ],
    ),
    (
        Col::Reason,
        &["失败原因", "错误信息", "原因", "返回信息", "备注", "说明"],
    ),
];

struct Header {
    row: usize,
    cols: [Option<usize>; 6],
}

impl Header {
    fn get(&self, c: Col) -> Option<usize> {
        self.cols[c as usize]
    }
}

fn normalize_header(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '\u{feff}')
        .collect()
}

/// The first row (among the first few) with a status column.
fn find_header(rows: &[Vec<String>]) -> Option<Header> {
    rows.iter()
        .take(HEADER_SEARCH_ROWS)
        .enumerate()
        .find_map(|(i, row)| {
            let names: Vec<String> = row.iter().map(|c| normalize_header(c)).collect();
            let mut cols = [None; 6];
            for (col, words) in SYNONYMS {
                cols[*col as usize] = words.iter().find_map(|w| names.iter().position(|n| n == w));
            }
            cols[Col::Status as usize].map(|_| Header { row: i, cols })
        })
}

fn lines_from_rows(rows: &[Vec<String>]) -> Result<Vec<ResultLine>, ResultsError> {
    let header = find_header(rows).ok_or(ResultsError::NoHeader)?;
    let cell = |row: &[String], c: Col| -> String {
        header
            .get(c)
            .and_then(|i| row.get(i))
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut ordinal = 0u32;
    for (i, row) in rows.iter().enumerate().skip(header.row + 1) {
        let row_no = i + 1;
        if row.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        // Summary lines under the table ("合计", "总计").
        let first = row.iter().find(|c| !c.trim().is_empty()).map(|c| c.trim());
        if first.is_some_and(|f| f.starts_with("合计") || f.starts_with("总计")) {
            continue;
        }
        ordinal += 1;
        if out.len() + problems.len() >= MAX_ROWS {
            return Err(ResultsError::TooManyRows);
        }
        let mut bad = |message: String| {
            problems.push(RowProblem {
                row: row_no,
                message,
            })
        };
        let seq = match header.get(Col::Seq) {
            None => Some(ordinal),
            Some(_) => {
                let s = cell(row, Col::Seq);
                match s.parse::<u32>() {
                    Ok(v) if v > 0 => Some(v),
                    _ => {
                        bad(format!("序号“{s}”不是正整数"));
                        None
                    }
                }
            }
        };
        let card = cell(row, Col::Card);
        let digits: String = card.chars().filter(char::is_ascii_digit).collect();
        let card_last4 = (digits.len() >= 4 && !card.contains('#'))
            .then(|| digits[digits.len() - 4..].to_string());
        let amount_text = cell(row, Col::Amount);
        let amount = if amount_text.is_empty() {
            None
        } else {
            let t = amount_text.trim_start_matches(['¥', '￥']);
            match Fen::parse_yuan(t) {
                Ok(f) => Some(f),
                Err(_) => {
                    bad(format!("金额“{amount_text}”格式错误"));
                    None
                }
            }
        };
        let status = cell(row, Col::Status);
        let outcome = match classify(&status) {
            Some(true) => Some(Outcome::Paid),
            Some(false) => {
                let reason = cell(row, Col::Reason);
                Some(Outcome::Failed {
                    reason: if reason.is_empty() {
                        status.clone()
                    } else {
                        reason
                    },
                })
            }
            None if status.is_empty() => {
                bad("状态为空".to_string());
                None
            }
            None => {
                bad(format!("无法识别的状态“{status}”"));
                None
            }
        };
        if let (Some(seq), Some(outcome)) = (seq, outcome) {
            out.push(ResultLine {
                row: row_no,
                seq,
                card_last4,
                amount,
                outcome,
            });
        }
    }
    if !problems.is_empty() {
        return Err(ResultsError::Rows(problems));
    }
    if out.is_empty() {
        return Err(ResultsError::Empty);
    }
    Ok(out)
}

/// Some(true) paid, Some(false) failed, None unknown. Failure words are checked first, so
/// "未成功" is a failure, not a success. Anything still in progress ("处理中") is unknown on
/// purpose: the file is not final and must not be imported.
fn classify(status: &str) -> Option<bool> {
    let s = status.trim().to_lowercase();
    if s.is_empty() {
        return None;
    }
    const FAILED: &[&str] = &["失败", "退回", "退票", "退汇", "未成功", "拒绝", "作废"];
    if FAILED.iter().any(|w| s.contains(w)) || s.starts_with("fail") || s == "f" {
        return Some(false);
    }
    const PAID: &[&str] = &[
        "成功",
        "已成功",
        "交易成功",
        "处理成功",
        "代发成功",
        "入账成功",
        "已入账",
    ];
    if PAID.contains(&s.as_str()) || s == "success" || s == "succeeded" || s == "s" {
        return Some(true);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::tests::{card_for, header, lines};
    use crate::file::{render_csv, render_xlsx};
    use crate::layout::Layout;

    #[test]
    fn round_trip_from_generic_csv() {
        // Render the generic file, then build the bank's answer the way banks do: the upload
        // with 序号 in front and 处理结果/失败原因 appended.
        let g = Layout::get("generic").unwrap();
        let ls = lines(4);
        let out = render_csv(&g, &header(), &ls).unwrap();
        let text = std::str::from_utf8(&out[3..]).unwrap();
        let mut result = String::from("\u{feff}");
        for (i, line) in text.lines().enumerate() {
            let (seq, status, reason) = match i {
                0 => ("序号".to_string(), "处理结果", "失败原因"),
                3 => (i.to_string(), "交易失败", "户名与账号不符"),
                _ => (i.to_string(), "交易成功", ""),
            };
            result.push_str(&format!("{seq},{line},{status},{reason}\r\n"));
        }
        let parsed = parse_results(result.as_bytes(), "结果.csv").unwrap();
        assert_eq!(parsed.len(), 4);
        for (p, l) in parsed.iter().zip(&ls) {
            assert_eq!(p.seq, l.seq);
            assert_eq!(p.amount, Some(l.amount));
            assert_eq!(
                p.card_last4.as_deref(),
                Some(&l.card_number[l.card_number.len() - 4..])
            );
        }
        assert_eq!(parsed[0].row, 2);
        assert_eq!(parsed[0].outcome, Outcome::Paid);
        assert_eq!(
            parsed[2].outcome,
            Outcome::Failed {
                reason: "户名与账号不符".into()
            }
        );
    }

    #[test]
    fn gbk_tab_separated_with_title_and_summary() {
        let text = "代发结果查询\r\n流水号\t姓名\t账号\t交易金额\t交易状态\t错误信息\r\n\
                    1\t张三\t6214620000000001\t100.00\t成功\t\r\n\
                    2\t李四\t6214620000000002\t￥50.5\t退回\t\r\n\
                    合计\t\t\t150.50\t\t\r\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text);
        let parsed = parse_results(&gbk, "result.txt").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].row, 3);
        assert_eq!(parsed[1].amount, Some(Fen(5050)));
        assert_eq!(
            parsed[1].outcome,
            Outcome::Failed {
                reason: "退回".into()
            }
        );
        assert_eq!(parsed[1].card_last4.as_deref(), Some("0002"));
    }

    #[test]
    fn every_bad_row_is_reported() {
        let text = "序号,卡号,金额,状态\n1,6214620000000001,1.00,成功\n\
                    x,6214620000000002,1.00,成功\n3,,abc,失败\n4,,,\n5,,1.00,处理中\n";
        let err = parse_results(text.as_bytes(), "r.csv").unwrap_err();
        let ResultsError::Rows(p) = &err else {
            panic!("{err}")
        };
        let msgs: Vec<String> = p.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "第3行：序号“x”不是正整数",
                "第4行：金额“abc”格式错误",
                "第5行：状态为空",
                "第6行：无法识别的状态“处理中”",
            ]
        );
    }

    #[test]
    fn status_words() {
        for s in ["成功", "已成功", "交易成功", "SUCCESS", "success"] {
            assert_eq!(classify(s), Some(true), "{s}");
        }
        for s in ["失败", "交易失败", "退回", "fail", "FAILED", "未成功"] {
            assert_eq!(classify(s), Some(false), "{s}");
        }
        for s in ["处理中", "待处理", ""] {
            assert_eq!(classify(s), None, "{s}");
        }
    }

    #[test]
    fn reads_xlsx_and_skips_the_cover_sheet() {
        // Our own xlsx has no status column; add one with rust_xlsxwriter the way a bank
        // would return it, with the card as a number that Excel already rounded.
        let mut wb = rust_xlsxwriter::Workbook::new();
        let summary = wb.add_worksheet();
        summary.write_string(0, 0, "总笔数").unwrap();
        summary.write_number(0, 1, 2.0).unwrap();
        let s = wb.add_worksheet();
        for (c, h) in ["明细序号", "户名", "卡号", "金额", "状态", "失败原因"]
            .iter()
            .enumerate()
        {
            s.write_string(1, c as u16, *h).unwrap();
        }
        s.write_string(0, 0, "批量代发结果").unwrap();
        s.write_number(2, 0, 1.0).unwrap();
        s.write_string(2, 1, "张三").unwrap();
        s.write_string(2, 2, card_for(1)).unwrap();
        s.write_number(2, 3, 1234.51).unwrap();
        s.write_string(2, 4, "成功").unwrap();
        s.write_number(3, 0, 2.0).unwrap();
        s.write_number(3, 2, 6214620000000000123.0).unwrap();
        s.write_number(3, 3, 20.0).unwrap();
        s.write_string(3, 4, "失败").unwrap();
        s.write_string(3, 5, "账户已销户").unwrap();
        let bytes = wb.save_to_buffer().unwrap();
        let parsed = parse_results(&bytes, "结果.xlsx").unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[0].row, 3);
        assert_eq!(parsed[0].amount, Some(Fen(123_451)));
        assert_eq!(parsed[0].card_last4.as_deref(), Some(&card_for(1)[15..]));
        assert_eq!(parsed[1].card_last4, None);
        assert_eq!(parsed[1].amount, Some(Fen(2000)));
        assert_eq!(
            parsed[1].outcome,
            Outcome::Failed {
                reason: "账户已销户".into()
            }
        );

        // A workbook without any status column is refused with the header message.
        let ours = render_xlsx(&Layout::get("generic").unwrap(), &header(), &lines(2)).unwrap();
        assert_eq!(parse_results(&ours, "x.xlsx"), Err(ResultsError::NoHeader));
    }

    #[test]
    fn limits_and_bad_input() {
        let big = vec![b'a'; MAX_BYTES + 1];
        assert!(matches!(
            parse_results(&big, "a.csv"),
            Err(ResultsError::TooLarge(_))
        ));
        assert_eq!(
            parse_results(b"\xD0\xCF\x11\xE0rest", "a.xls"),
            Err(ResultsError::Xls)
        );
        assert_eq!(
            parse_results(&[0xFF, 0xFF, 0xFF], "a.csv"),
            Err(ResultsError::Encoding)
        );
        assert_eq!(
            parse_results("a,b\n1,2\n".as_bytes(), "a.csv"),
            Err(ResultsError::NoHeader)
        );
        let mut many = String::from("序号,状态\n");
        for i in 1..=MAX_ROWS + 1 {
            many.push_str(&format!("{i},成功\n"));
        }
        assert_eq!(
            parse_results(many.as_bytes(), "a.csv"),
            Err(ResultsError::TooManyRows)
        );
        assert!(matches!(
            parse_results(b"PK\x03\x04garbage", "a.xlsx"),
            Err(ResultsError::Xlsx(_))
        ));
    }
}
