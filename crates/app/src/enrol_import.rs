//! Bulk enrolment from .xlsx: one row per household to enrol (the household is named as the
//! roster names it: village code and household number), with how the personal part was paid
//! and, when some registered members stay out, their ID numbers and reasons.
//!
//! As with the roster import, the whole file is checked first and every problem is reported in
//! Chinese, row by row; a file with any problem enrols nobody. Malformed cells are found here;
//! what only the database can tell (unknown household, already enrolled, a left-out ID that is
//! not in the household, outside the payment window) is found by [`App::enrol_bulk`], and both
//! kinds come back together in one report.

use crate::crypto::HashKind;
use crate::enrol::{BulkHousehold, BulkOutcome, LeaveOut, PaymentMethod, RowError};
use crate::import::{quoted, sheet, upload_slot, Errors, MAX_FILE_BYTES};
use crate::{Actor, App, AppError, AppResult, Enroller, PiiKeys};
use domain::ResidentIdNumber;

/// The template's columns, in order. Reading matches by header text, so a clerk may reorder
/// them; the last three may be left out of the sheet altogether.
pub const COLUMNS: [&str; 6] = [
    "村（社区）代码",
    "户编号",
    "缴费方式",
    "缴费凭证号",
    "不参加成员身份证号",
    "不参加原因",
];

const C_VCODE: usize = 0;
const C_HNO: usize = 1;
const C_METHOD: usize = 2;
const C_REF: usize = 3;
const C_IDS: usize = 4;
const C_REASONS: usize = 5;
const REQUIRED: [usize; 3] = [C_VCODE, C_HNO, C_METHOD];

/// Several left-out members (and their reasons) in one cell are separated by these.
const SEPARATORS: [char; 2] = [';', '；'];

/// Longest receipt or transfer reference accepted.
pub const MAX_REFERENCE_CHARS: usize = 64;

/// Most problems one refusal lists (the lowest rows); the others are counted in a last line.
pub const MAX_SHOWN_PROBLEMS: usize = 200;

/// The rows of a file that are well-formed, and the problems of the others.
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub households: Vec<BulkHousehold>,
    /// Row 0 means the whole file (unreadable, wrong header, no data).
    pub errors: Vec<RowError>,
    /// Problems found but not listed in `errors` (beyond the first of their column).
    pub unlisted: usize,
}

fn labels<T: Copy>(all: &[T], label: impl Fn(T) -> &'static str) -> String {
    all.iter().map(|x| label(*x)).collect::<Vec<_>>().join("、")
}

fn method_labels() -> String {
    labels(&PaymentMethod::ALL, PaymentMethod::label_zh)
}

fn reason_labels() -> String {
    labels(&LeaveOut::ALL, LeaveOut::label_zh)
}

/// The blank enrolment template: the header row, drop-downs for the payment method and the
/// reason, and an instructions sheet.
pub fn enrolment_template_xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{DataValidation, DataValidationErrorStyle, Format, Workbook};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = Workbook::new();
        let text = Format::new().set_num_format("@");
        let head = Format::new().set_bold().set_background_color("#DCE6F1");
        let ws = wb.add_worksheet().set_name("参保登记")?;
        for (i, h) in COLUMNS.iter().enumerate() {
            let col = i as u16;
            ws.write_string_with_format(0, col, *h, &head)?;
            // Text format keeps village codes, household numbers such as 0001 and 18-digit ID
            // numbers exact (Excel would drop leading zeros and round long numbers).
            ws.set_column_format(col, &text)?;
            ws.set_column_width(col, if i == C_IDS { 42 } else { 16 })?;
        }
        let methods: Vec<&str> = PaymentMethod::ALL.iter().map(|m| m.label_zh()).collect();
        ws.add_data_validation(
            1,
            C_METHOD as u16,
            200_000,
            C_METHOD as u16,
            &DataValidation::new()
                .allow_list_strings(&methods)?
                .set_error_title("缴费方式")?
                .set_error_message("请从下拉列表中选择缴费方式")?,
        )?;
        // Several reasons may share a cell ("已故；户籍迁出"), which a list validation cannot
        // express: warn instead of refusing, the upload checks each reason anyway.
        let reasons: Vec<&str> = LeaveOut::ALL.iter().map(|r| r.label_zh()).collect();
        ws.add_data_validation(
            1,
            C_REASONS as u16,
            200_000,
            C_REASONS as u16,
            &DataValidation::new()
                .allow_list_strings(&reasons)?
                .set_error_style(DataValidationErrorStyle::Warning)
                .set_error_title("不参加原因")?
                .set_error_message(format!(
                    "不参加原因应为{}；多名成员不参加时按身份证号的顺序用“；”分隔",
                    reason_labels()
                ))?,
        )?;
        let help = wb.add_worksheet().set_name("填写说明")?;
        let lines = [
            "一行一户：整户参加，填写该户在花名册中的“村（社区）代码”（12位）和“户编号”（如0001，请保持文本格式，不要去掉前面的0）。".to_string(),
            format!("缴费方式：{}。该户成员的个人出资全部由他人代缴时填“无需个人缴费”。", method_labels()),
            format!("缴费凭证号：收据号、转账流水号或线上支付单号，可不填，最多{MAX_REFERENCE_CHARS}个字符。"),
            "不参加成员身份证号：该户登记成员中不参加的人的18位身份证号，可不填；多人用“；”分隔。".into(),
            format!("不参加原因：{}；每名不参加成员一个原因，按身份证号的顺序用“；”分隔。只有这些原因可以不参加（整户参加）。", reason_labels()),
            "已参加本年度的户、不在缴费期内、不在您管辖范围内的户会被拒绝；个人缴费一经登记不予退还，录入错误请在系统中冲正。".into(),
            "文件有任何错误时不会登记任何一户，请按错误报告（行号）修改后重新上传。".into(),
            "示例：370323104201 | 0001 | 现金 | 2026-000123 | 37032319500101001X；370323198001010026 | 已故；户籍迁出".into(),
        ];
        for (i, l) in lines.iter().enumerate() {
            help.write_string(i as u32, 0, l)?;
        }
        help.set_column_width(0, 120)?;
        wb.save_to_buffer()
    };
    build().expect("the fixed enrolment template is valid")
}

/// Writes an enrolment .xlsx from rows of cells in `COLUMNS` order (tests, benchmarks, sample
/// files).
pub fn enrolment_xlsx(rows: &[[String; COLUMNS.len()]]) -> Vec<u8> {
    use rust_xlsxwriter::Workbook;
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (i, h) in COLUMNS.iter().enumerate() {
            ws.write_string(0, i as u16, *h)?;
        }
        for (r, row) in rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                if !v.is_empty() {
                    ws.write_string(r as u32 + 1, c as u16, v)?;
                }
            }
        }
        wb.save_to_buffer()
    };
    build().expect("writing strings to a new workbook cannot fail")
}

fn whole_file(message: impl Into<String>) -> Parsed {
    Parsed {
        households: Vec::new(),
        errors: vec![RowError {
            row: 0,
            message: message.into(),
        }],
        unlisted: 0,
    }
}

fn split_list(s: &str) -> Vec<&str> {
    s.split(SEPARATORS)
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .collect()
}

/// Reads an enrolment file: every well-formed row as a [`BulkHousehold`] (left-out members by
/// the keyed hash of their ID number) and every problem by row and column. The file is read by
/// the same bounded reader as the roster import, and the problems are bounded the same way
/// (the first of each column, then a count).
pub fn parse_enrolment_xlsx(bytes: &[u8], keys: &PiiKeys) -> Parsed {
    let mut out = Parsed::default();
    let mut errors = Errors::default();
    let read = sheet::read_first_sheet(
        bytes,
        &COLUMNS,
        |map| {
            let missing: Vec<&str> = REQUIRED
                .into_iter()
                .filter(|c| map[*c].is_none())
                .map(|c| COLUMNS[c])
                .collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "表头缺少列：{}。请使用参保登记模板（第一行为表头）",
                    missing.join("、")
                ))
            }
        },
        |r| {
            let row = r.row;
            let mut failed = !r.errors.is_empty();
            for (c, message) in r.errors {
                errors.push(crate::import::RowError {
                    row,
                    column: COLUMNS[c].to_string(),
                    message,
                });
            }
            if !failed && r.cells.iter().all(String::is_empty) {
                return; // blank lines in the middle of a sheet are common and harmless
            }
            let parsed = parse_row(&r.cells, row, keys, &mut |col, message| {
                failed = true;
                errors.push(crate::import::RowError {
                    row,
                    column: COLUMNS[col].to_string(),
                    message,
                })
            });
            match parsed {
                Some(h) if !failed => out.households.push(h),
                _ => {}
            }
        },
    );
    if let Err(message) = read {
        return whole_file(message);
    }
    let report = errors.finish();
    out.errors = report
        .shown
        .into_iter()
        .map(|e| RowError {
            row: e.row,
            message: format!("{}：{}", e.column, e.message),
        })
        .collect();
    out.unlisted = report.total - out.errors.len();
    if out.households.is_empty() && out.errors.is_empty() {
        return whole_file("文件中没有数据行");
    }
    out
}

/// One row's cells; `None` when any cell is malformed (each problem reported through `err`).
fn parse_row(
    c: &[String; COLUMNS.len()],
    row: usize,
    keys: &PiiKeys,
    err: &mut impl FnMut(usize, String),
) -> Option<BulkHousehold> {
    let mut ok = true;
    let mut fail = |col: usize, message: String| {
        ok = false;
        err(col, message);
    };
    let village_code = &c[C_VCODE];
    if village_code.is_empty() {
        fail(C_VCODE, "不能为空".into());
    } else if village_code.len() != 12 || !village_code.bytes().all(|b| b.is_ascii_digit()) {
        fail(
            C_VCODE,
            format!("{}不是12位数字的村（社区）代码", quoted(village_code)),
        );
    }
    let household_no = &c[C_HNO];
    if household_no.is_empty() {
        fail(C_HNO, "不能为空".into());
    } else if household_no.chars().count() > 30 {
        fail(C_HNO, "过长（最多30个字符）".into());
    }
    let method = if c[C_METHOD].is_empty() {
        fail(C_METHOD, format!("不能为空（应为{}）", method_labels()));
        None
    } else {
        let m = PaymentMethod::parse(&c[C_METHOD]);
        if m.is_none() {
            fail(
                C_METHOD,
                format!(
                    "无法识别{}（应为{}）",
                    quoted(&c[C_METHOD]),
                    method_labels()
                ),
            );
        }
        m
    };
    let reference = &c[C_REF];
    if reference.chars().count() > MAX_REFERENCE_CHARS {
        fail(C_REF, format!("过长（最多{MAX_REFERENCE_CHARS}个字符）"));
    }
    let ids = split_list(&c[C_IDS]);
    let mut hashes: Vec<Vec<u8>> = Vec::with_capacity(ids.len());
    let mut seen: Vec<String> = Vec::with_capacity(ids.len());
    for (i, raw) in ids.iter().enumerate() {
        // Which one, without repeating the full number in the report.
        let which = if ids.len() > 1 {
            format!("第{}个身份证号", i + 1)
        } else {
            "身份证号".to_string()
        };
        match ResidentIdNumber::parse(raw) {
            Ok(id) => {
                if let Some(j) = seen.iter().position(|s| s == id.as_str()) {
                    fail(C_IDS, format!("{which}与第{}个重复", j + 1));
                } else {
                    hashes.push(keys.hash(HashKind::IdNumber, id.as_str()));
                    seen.push(id.as_str().to_string());
                }
            }
            Err(e) => fail(C_IDS, format!("{which}无效：{e}")),
        }
    }
    let reason_texts = split_list(&c[C_REASONS]);
    let mut reasons = Vec::with_capacity(reason_texts.len());
    for r in &reason_texts {
        match LeaveOut::parse(r) {
            Some(x) => reasons.push(x),
            None => fail(
                C_REASONS,
                format!("无法识别{}（应为{}）", quoted(r), reason_labels()),
            ),
        }
    }
    if ids.is_empty() && !reason_texts.is_empty() {
        fail(
            C_REASONS,
            "填写了不参加原因，但没有填写不参加成员身份证号".into(),
        );
    } else if ids.len() != reason_texts.len() {
        fail(
            C_REASONS,
            format!(
                "填写了{}个不参加成员身份证号，但有{}个不参加原因（每名不参加成员须对应一个原因，按顺序用“；”分隔）",
                ids.len(),
                reason_texts.len()
            ),
        );
    }
    if !ok {
        return None;
    }
    Some(BulkHousehold {
        row,
        village_code: village_code.clone(),
        household_no: household_no.clone(),
        method: method?,
        payment_reference: reference.clone(),
        left_out: hashes.into_iter().zip(reasons).collect(),
    })
}

impl App {
    /// Enrols every household of an uploaded file in one transaction, or nobody: problems in
    /// the file's cells and problems the database finds come back together, by row, in
    /// [`BulkOutcome::Refused`]. An `Err` is for what concerns the whole upload (file too
    /// large, year not found, outside the payment window).
    pub async fn enrol_from_xlsx(
        &self,
        w: &Enroller,
        actor: &Actor,
        year_id: i64,
        bytes: &[u8],
    ) -> AppResult<BulkOutcome> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(AppError::Invalid(format!(
                "文件过大（上限{}MB），请分成几个文件上传",
                MAX_FILE_BYTES / 1024 / 1024
            )));
        }
        // One of a few uploads at a time; the file is read and checked before the database's
        // write lock is asked for (see `App::enrol_bulk`).
        let _slot = upload_slot().await;
        let owned = bytes.to_vec();
        let keys = self.keys.clone();
        let parsed = tokio::task::spawn_blocking(move || parse_enrolment_xlsx(&owned, &keys))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the enrolment file: {e}")))?;
        if parsed.errors.is_empty() {
            return self.enrol_bulk(w, actor, year_id, &parsed.households).await;
        }
        let mut errors = parsed.errors;
        let mut unlisted = parsed.unlisted;
        let whole_file = errors.iter().any(|e| e.row == 0);
        if !whole_file && !parsed.households.is_empty() {
            errors.extend(
                self.bulk_problems(w, actor, year_id, &parsed.households)
                    .await?,
            );
        }
        // Stable: within a row, the cell problems come before the database's.
        errors.sort_by_key(|e| e.row);
        Ok(BulkOutcome::Refused(bounded(errors, &mut unlisted)))
    }
}

/// The first [`MAX_SHOWN_PROBLEMS`] problems, and a last line saying how many more there are.
fn bounded(mut errors: Vec<RowError>, unlisted: &mut usize) -> Vec<RowError> {
    if errors.len() > MAX_SHOWN_PROBLEMS {
        *unlisted += errors.len() - MAX_SHOWN_PROBLEMS;
        errors.truncate(MAX_SHOWN_PROBLEMS);
    }
    if *unlisted > 0 {
        errors.push(RowError {
            row: 0,
            message: format!(
                "另有 {} 处问题未列出（共 {} 处），请先改正以上问题后重新上传",
                unlisted,
                errors.len() + *unlisted
            ),
        });
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn keys() -> PiiKeys {
        PiiKeys::from_base64(&PiiKeys::generate_base64()).unwrap()
    }

    fn id(seq: u16) -> String {
        ResidentIdNumber::from_parts("370323", NaiveDate::from_ymd_opt(1960, 3, 15).unwrap(), seq)
            .unwrap()
            .as_str()
            .to_string()
    }

    fn row(cells: [&str; 6]) -> [String; 6] {
        cells.map(str::to_string)
    }

    #[test]
    fn template_has_the_header_and_an_instructions_sheet() {
        let bytes = enrolment_template_xlsx();
        use calamine::Reader;
        let wb = calamine::Xlsx::new(std::io::Cursor::new(bytes.clone())).unwrap();
        assert_eq!(wb.sheet_names(), vec!["参保登记", "填写说明"]);
        let p = parse_enrolment_xlsx(&bytes, &keys());
        assert!(p.households.is_empty());
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].row, 0);
        assert!(p.errors[0].message.contains("没有数据行"), "{:?}", p.errors);
    }

    #[test]
    fn good_rows_become_households_with_hashed_left_out_members() {
        let k = keys();
        let bytes = enrolment_xlsx(&[
            row(["370323104201", "0001", "现金", "R-1", "", ""]),
            row([
                "370323104202",
                "0007",
                "银行转账",
                "",
                &format!("{}；{}", id(11), id(12).to_lowercase()),
                "已故; 户籍迁出",
            ]),
            row(["", "", "", "", "", ""]),
            row([
                "370323104203",
                "0003",
                "无需个人缴费",
                "",
                &id(13),
                "已在他处参加",
            ]),
        ]);
        let p = parse_enrolment_xlsx(&bytes, &k);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        assert_eq!(p.households.len(), 3);
        let h = &p.households[0];
        assert_eq!(
            (h.row, h.village_code.as_str(), h.household_no.as_str()),
            (2, "370323104201", "0001")
        );
        assert_eq!(h.method, PaymentMethod::Cash);
        assert_eq!(h.payment_reference, "R-1");
        assert!(h.left_out.is_empty());
        let h = &p.households[1];
        assert_eq!(h.method, PaymentMethod::Transfer);
        assert_eq!(
            h.left_out,
            vec![
                (k.hash(HashKind::IdNumber, &id(11)), LeaveOut::Deceased),
                (k.hash(HashKind::IdNumber, &id(12)), LeaveOut::MovedAway),
            ]
        );
        // The blank line is skipped but the rows keep the numbers the clerk sees.
        assert_eq!(p.households[2].row, 5);
        assert_eq!(p.households[2].method, PaymentMethod::NoneDue);
        assert_eq!(p.households[2].left_out[0].1, LeaveOut::EnrolledElsewhere);
    }

    #[test]
    fn every_malformed_cell_is_reported_by_row_and_good_rows_are_kept() {
        let mut bad_check = id(21);
        bad_check.pop();
        bad_check.push(if id(21).ends_with('0') { '1' } else { '0' });
        let bytes = enrolment_xlsx(&[
            row(["370323104201", "0001", "现金", "", "", ""]),
            row(["370323104201", "0002", "刷卡", "", "", ""]),
            row(["3703231042", "", "现金", "", "", ""]),
            row(["370323104201", "0004", "现金", "", &bad_check, "已故"]),
            row([
                "370323104201",
                "0005",
                "现金",
                "",
                &format!("{};{}", id(22), id(23)),
                "已故",
            ]),
            row(["370323104201", "0006", "现金", "", "", "已故"]),
            row(["370323104201", "0007", "现金", "", &id(24), "出嫁"]),
            row([
                "370323104201",
                "0008",
                "现金",
                "",
                &format!("{};{}", id(25), id(25)),
                "已故；已故",
            ]),
            row(["370323104201", "0009", "", &"x".repeat(65), "", ""]),
        ]);
        let p = parse_enrolment_xlsx(&bytes, &keys());
        assert_eq!(p.households.len(), 1);
        assert_eq!(p.households[0].row, 2);
        let rows: Vec<usize> = p.errors.iter().map(|e| e.row).collect();
        assert_eq!(
            rows,
            vec![3, 4, 4, 5, 6, 7, 8, 9, 10, 10],
            "{:#?}",
            p.errors
        );
        let msg = |r: usize| {
            p.errors
                .iter()
                .filter(|e| e.row == r)
                .map(|e| e.message.clone())
                .collect::<Vec<_>>()
                .join(" / ")
        };
        assert!(msg(3).starts_with("缴费方式：无法识别“刷卡”"), "{}", msg(3));
        assert!(msg(4).contains("村（社区）代码") && msg(4).contains("户编号：不能为空"));
        assert!(msg(5).contains("校验位"), "{}", msg(5));
        assert!(
            msg(6).contains("2个不参加成员身份证号，但有1个不参加原因"),
            "{}",
            msg(6)
        );
        assert!(msg(7).contains("没有填写不参加成员身份证号"), "{}", msg(7));
        assert!(msg(8).contains("无法识别“出嫁”"), "{}", msg(8));
        assert!(msg(9).contains("第2个身份证号与第1个重复"), "{}", msg(9));
        assert!(msg(10).contains("缴费方式：不能为空") && msg(10).contains("缴费凭证号：过长"));
        // The full ID number never appears in a report.
        assert!(!p.errors.iter().any(|e| e.message.contains(&bad_check)));
    }

    #[test]
    fn columns_may_be_reordered_and_optional_ones_left_out() {
        use rust_xlsxwriter::Workbook;
        let mut wb = Workbook::new();
        let ws = wb.add_worksheet();
        for (c, h) in ["缴费方式", "户编号", "村（社区）代码"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for (c, v) in ["线上缴费", "0012", "370323104205"].iter().enumerate() {
            ws.write_string(1, c as u16, *v).unwrap();
        }
        let p = parse_enrolment_xlsx(&wb.save_to_buffer().unwrap(), &keys());
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let h = &p.households[0];
        assert_eq!(h.village_code, "370323104205");
        assert_eq!(h.household_no, "0012");
        assert_eq!(h.method, PaymentMethod::Online);
    }

    #[test]
    fn wrong_files_are_one_whole_file_error() {
        let p = parse_enrolment_xlsx(b"not a spreadsheet", &keys());
        assert_eq!(p.errors.len(), 1);
        assert_eq!(p.errors[0].row, 0);
        // A roster file is not an enrolment file.
        let roster = crate::import::template_xlsx().unwrap();
        let p = parse_enrolment_xlsx(&roster, &keys());
        assert_eq!(p.errors.len(), 1);
        assert!(p.errors[0].message.contains("缴费方式"), "{:?}", p.errors);
    }

    #[test]
    fn numbers_excel_cannot_hold_exactly_are_refused() {
        use sheet::cell_text;
        assert!(cell_text(&calamine::DataRef::Float(370323196003150011.0)).is_err());
        assert_eq!(cell_text(&calamine::DataRef::Float(12.0)).unwrap(), "12");
    }
}
