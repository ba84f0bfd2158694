//! The bank batch file: what the finance office uploads to the bank's 企业网银 (CSV or xlsx in
//! the bank's layout) and prints for signatures (the xlsx cover sheet).
//!
//! Rendering is deterministic — the same batch gives the same bytes — so a file can be
//! re-rendered for checking and compared with what was uploaded.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use domain::Fen;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook};
use sha2::{Digest, Sha256};

use crate::layout::{fill_placeholders, CsvEncoding, Field, FileKind, Layout};

/// The batch as a whole: who pays, which batch, who prepared and approved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchHeader {
    pub batch_no: String,
    pub pool_name: String,
    pub payer_account_name: String,
    pub created_on: NaiveDate,
    pub prepared_by: String,
    pub approved_by: String,
}

/// One payment to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayLine {
    pub seq: u32,
    pub line_ref: String,
    pub holder_name: String,
    /// Parsed at the edge (see [`crate::BankCardNumber`]); here spaces and hyphens are
    /// dropped and only digits are required, because some rural accounts paid through a
    /// 农信社 are passbook account numbers rather than Luhn card numbers.
    pub card_number: String,
    pub bank_name: String,
    pub id_number: String,
    pub amount: Fen,
    pub memo: String,
}

/// What is wrong with one line, by its sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProblem {
    pub seq: u32,
    pub message: String,
}

impl fmt::Display for LineProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "第{}笔：{}", self.seq, self.message)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("代发批次没有明细")]
    Empty,
    #[error("代发金额合计超出范围")]
    Overflow,
    #[error("代发格式“{layout}”不支持生成{kind}文件")]
    Unsupported { layout: String, kind: &'static str },
    #[error("代发明细有{}处错误：{}", .0.len(), join(.0))]
    Lines(Vec<LineProblem>),
    #[error("文件表头含GBK无法表示的字符，请改用UTF-8格式")]
    HeaderNotGbk,
    #[error("生成CSV文件失败：{0}")]
    Csv(String),
    #[error("生成Excel文件失败：{0}")]
    Xlsx(String),
}

fn join(problems: &[LineProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("；")
}

impl From<rust_xlsxwriter::XlsxError> for FileError {
    fn from(e: rust_xlsxwriter::XlsxError) -> Self {
        FileError::Xlsx(e.to_string())
    }
}

/// The batch's check code (批次校验码): SHA-256, hex, over the batch number and, for every
/// line in order, its sequence number, reference, holder name, card digits and amount in fen.
///
/// Why: the finance office signs and stamps the printed cover sheet, not the file. The hash
/// printed on that sheet ties the signed paper to the exact content uploaded to the bank —
/// anyone can re-render the file from the stored batch and compare the code, and a line
/// changed after signing (a different card, an extra yuan) changes the code.
///
/// The serialisation is unambiguous: a version tag, then every text field as its byte length
/// (u64, big-endian) followed by its UTF-8 bytes, numbers as fixed-width big-endian integers,
/// and the line count up front. Bank name, ID number and memo are left out: they do not
/// decide who receives how much, and the bank may legitimately correct them.
pub fn batch_hash(header: &BatchHeader, lines: &[PayLine]) -> String {
    let mut h = Sha256::new();
    let text = |h: &mut Sha256, s: &str| {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    };
    text(&mut h, "shouwang-payout-batch-v1");
    text(&mut h, &header.batch_no);
    h.update((lines.len() as u64).to_be_bytes());
    for l in lines {
        h.update(l.seq.to_be_bytes());
        text(&mut h, &l.line_ref);
        text(&mut h, &l.holder_name);
        text(&mut h, &card_digits(&l.card_number));
        h.update(l.amount.fen().to_be_bytes());
    }
    hex::encode(h.finalize())
}

/// The batch total, or [`FileError::Overflow`] if it does not fit.
pub fn total(lines: &[PayLine]) -> Result<Fen, FileError> {
    Fen::checked_sum(lines.iter().map(|l| l.amount)).ok_or(FileError::Overflow)
}

/// The batch as a CSV file in `layout`: the layout's header rows, the column headers, one
/// record per line; CRLF line ends (bank importers run on Windows); UTF-8 with BOM or GBK.
pub fn render_csv(
    layout: &Layout,
    header: &BatchHeader,
    lines: &[PayLine],
) -> Result<Vec<u8>, FileError> {
    require_kind(layout, FileKind::Csv)?;
    let prepared = prepare(layout, header, lines)?;
    let mut w = csv::WriterBuilder::new()
        .delimiter(layout.csv.delimiter as u8)
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(Vec::with_capacity(lines.len() * 96 + 256));
    let csv_err = |e: csv::Error| FileError::Csv(e.to_string());
    for row in &prepared.header_rows {
        w.write_record(row).map_err(csv_err)?;
    }
    w.write_record(layout.columns.iter().map(|c| c.header.as_str()))
        .map_err(csv_err)?;
    let mut record: Vec<String> = Vec::with_capacity(layout.columns.len());
    for line in lines {
        record.clear();
        record.extend(
            layout
                .columns
                .iter()
                .map(|c| cell_text(c.field, header, line)),
        );
        w.write_record(&record).map_err(csv_err)?;
    }
    let utf8 = w.into_inner().map_err(|e| FileError::Csv(e.to_string()))?;
    match layout.csv.encoding {
        CsvEncoding::Utf8Bom => {
            let mut out = Vec::with_capacity(utf8.len() + 3);
            out.extend_from_slice(b"\xEF\xBB\xBF");
            out.extend_from_slice(&utf8);
            Ok(out)
        }
        CsvEncoding::Gbk => to_gbk(layout, &prepared, header, lines, &utf8),
    }
}

/// GBK bytes of the rendered UTF-8 text; if any character has no GBK code, the lines that
/// contain one are named (usually a rare character in a name: the person's bank record
/// then has it differently too, and someone has to look).
fn to_gbk(
    layout: &Layout,
    prepared: &Prepared,
    header: &BatchHeader,
    lines: &[PayLine],
    utf8: &[u8],
) -> Result<Vec<u8>, FileError> {
    let text = std::str::from_utf8(utf8).map_err(|e| FileError::Csv(e.to_string()))?;
    let (bytes, _, had_errors) = encoding_rs::GBK.encode(text);
    if !had_errors {
        return Ok(bytes.into_owned());
    }
    let not_gbk = |s: &str| {
        s.chars()
            .find(|&c| encoding_rs::GBK.encode(c.encode_utf8(&mut [0; 4])).2)
    };
    let mut problems = Vec::new();
    for line in lines {
        for c in &layout.columns {
            if let Some(ch) = not_gbk(&cell_text(c.field, header, line)) {
                problems.push(LineProblem {
                    seq: line.seq,
                    message: format!(
                        "{}中的“{ch}”无法用GBK编码表示，请与银行核对写法或改用UTF-8格式",
                        c.header
                    ),
                });
            }
        }
    }
    if !problems.is_empty() {
        return Err(FileError::Lines(problems));
    }
    // Not in a line, so in the layout's headers or the filled-in header rows.
    debug_assert!(layout
        .columns
        .iter()
        .map(|c| c.header.as_str())
        .chain(prepared.header_rows.iter().flatten().map(String::as_str))
        .any(|s| not_gbk(s).is_some()));
    Err(FileError::HeaderNotGbk)
}

/// The batch as an xlsx workbook: sheet "封面" to print, sign and stamp, and sheet "代发明细"
/// in the layout's columns. Card and ID numbers are text cells (as numbers Excel would keep
/// 15 significant digits and round the rest); yuan amounts are numbers shown with two
/// decimals. The document's creation date is the batch date, so the bytes are reproducible.
pub fn render_xlsx(
    layout: &Layout,
    header: &BatchHeader,
    lines: &[PayLine],
) -> Result<Vec<u8>, FileError> {
    require_kind(layout, FileKind::Xlsx)?;
    let prepared = prepare(layout, header, lines)?;
    let hash = batch_hash(header, lines);

    let mut wb = Workbook::new();
    let d = header.created_on;
    let created = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
    let props = DocProperties::new()
        .set_title(format!("代发批次 {}", header.batch_no))
        .set_author(&header.prepared_by)
        .set_comment(format!("批次校验码 {hash}"))
        .set_creation_datetime(&created);
    wb.set_properties(&props);

    let title = Format::new()
        .set_bold()
        .set_font_size(16)
        .set_align(FormatAlign::Center)
        .set_align(FormatAlign::VerticalCenter);
    let label = Format::new().set_bold().set_border(FormatBorder::Thin);
    let value = Format::new().set_border(FormatBorder::Thin).set_text_wrap();
    let money = Format::new()
        .set_border(FormatBorder::Thin)
        .set_num_format("#,##0.00")
        .set_align(FormatAlign::Left);
    let count_fmt = Format::new()
        .set_border(FormatBorder::Thin)
        .set_align(FormatAlign::Left);
    let text = Format::new().set_num_format("@");
    let two_dp = Format::new().set_num_format("0.00");
    let bold = Format::new().set_bold();

    let cover = wb.add_worksheet();
    cover.set_name("封面")?;
    cover.set_column_width(0, 22)?;
    cover.set_column_width(1, 70)?;
    cover.set_row_height(0, 32)?;
    cover.merge_range(0, 0, 0, 1, "资金代发批次封面", &title)?;
    let rows: [(&str, String); 6] = [
        ("批次号", header.batch_no.clone()),
        ("资金池", header.pool_name.clone()),
        ("付款单位", header.payer_account_name.clone()),
        ("代发格式", format!("{}（{}）", layout.name, layout.bank)),
        ("制表日期", chinese_date(d)),
        ("批次校验码", hash.clone()),
    ];
    let mut r = 1u32;
    for (k, v) in &rows {
        cover.write_string_with_format(r, 0, *k, &label)?;
        cover.write_string_with_format(r, 1, v, &value)?;
        r += 1;
    }
    cover.write_string_with_format(r, 0, "笔数", &label)?;
    cover.write_number_with_format(r, 1, lines.len() as f64, &count_fmt)?;
    r += 1;
    cover.write_string_with_format(r, 0, "金额合计（小写）", &label)?;
    cover.write_number_with_format(r, 1, yuan_f64(prepared.total), &money)?;
    r += 1;
    cover.write_string_with_format(r, 0, "金额合计（大写）", &label)?;
    cover.write_string_with_format(
        r,
        1,
        format!("人民币{}", yuan_in_capitals(prepared.total)),
        &value,
    )?;
    r += 2;
    let signatures = [
        ("制表人（签字）：", header.prepared_by.as_str()),
        ("审核人（签字）：", header.approved_by.as_str()),
        ("财务负责人（签字）：", ""),
        ("单位（盖章）：", ""),
    ];
    for (k, name) in signatures {
        cover.set_row_height(r, 30)?;
        cover.write_string_with_format(r, 0, k, &bold)?;
        cover.write_string(
            r,
            1,
            format!("{name}　　　　　　　　日期：　　年　　月　　日"),
        )?;
        r += 1;
    }

    let detail = wb.add_worksheet();
    detail.set_name("代发明细")?;
    let mut r = 0u32;
    if let Some(t) = &prepared.title {
        let last = (layout.columns.len() as u16).saturating_sub(1);
        if last == 0 {
            detail.write_string_with_format(0, 0, t, &title)?;
        } else {
            detail.merge_range(0, 0, 0, last, t, &title)?;
        }
        r += 1;
    }
    for row in &prepared.header_rows {
        for (c, cell) in row.iter().enumerate() {
            detail.write_string(r, c as u16, cell)?;
        }
        r += 1;
    }
    for (c, col) in layout.columns.iter().enumerate() {
        let c = c as u16;
        detail.write_string_with_format(r, c, &col.header, &bold)?;
        let width = match col.field {
            Field::CardNumber | Field::IdNumber => 24.0,
            Field::BankName | Field::Memo | Field::LineRef | Field::BatchNo => 22.0,
            Field::AmountYuan | Field::AmountFen => 14.0,
            Field::HolderName => 12.0,
            Field::Seq => 8.0,
        };
        detail.set_column_width(c, width)?;
        if matches!(col.field, Field::CardNumber | Field::IdNumber) {
            detail.set_column_format(c, &text)?;
        }
    }
    r += 1;
    for line in lines {
        for (c, col) in layout.columns.iter().enumerate() {
            let c = c as u16;
            match col.field {
                Field::Seq => {
                    detail.write_number(r, c, f64::from(line.seq))?;
                }
                Field::AmountYuan => {
                    detail.write_number_with_format(r, c, yuan_f64(line.amount), &two_dp)?;
                }
                Field::AmountFen => {
                    detail.write_number(r, c, line.amount.fen() as f64)?;
                }
                Field::CardNumber | Field::IdNumber => {
                    let s = cell_text(col.field, header, line);
                    detail.write_string_with_format(r, c, s, &text)?;
                }
                f => {
                    detail.write_string(r, c, cell_text(f, header, line))?;
                }
            }
        }
        r += 1;
    }
    Ok(wb.save_to_buffer()?)
}

/// Everything checked before a byte is written, so a bad batch produces no file at all.
struct Prepared {
    total: Fen,
    title: Option<String>,
    header_rows: Vec<Vec<String>>,
}

fn require_kind(layout: &Layout, kind: FileKind) -> Result<(), FileError> {
    if layout.supports(kind) {
        Ok(())
    } else {
        Err(FileError::Unsupported {
            layout: layout.name.clone(),
            kind: kind.label(),
        })
    }
}

/// Checks every line (all problems at once, so the office fixes them in one pass) and fills
/// the layout's placeholders.
fn prepare(
    layout: &Layout,
    header: &BatchHeader,
    lines: &[PayLine],
) -> Result<Prepared, FileError> {
    if lines.is_empty() {
        return Err(FileError::Empty);
    }
    let mut problems = Vec::new();
    let mut seqs = std::collections::HashSet::with_capacity(lines.len());
    for l in lines {
        let mut bad = |message: String| {
            problems.push(LineProblem {
                seq: l.seq,
                message,
            })
        };
        if !seqs.insert(l.seq) {
            bad("序号重复".to_string());
        }
        if l.amount <= Fen::ZERO {
            bad(format!("金额必须大于零（现为{}元）", l.amount));
        }
        let card = card_digits(&l.card_number);
        if card.is_empty() || card.len() > 32 || !card.bytes().all(|b| b.is_ascii_digit()) {
            bad("卡号（账号）只能是数字".to_string());
        }
        if l.holder_name.trim().is_empty() {
            bad("户名为空".to_string());
        }
        let texts = [
            ("户名", &l.holder_name),
            ("开户行", &l.bank_name),
            ("身份证号", &l.id_number),
            ("摘要", &l.memo),
            ("业务编号", &l.line_ref),
        ];
        for (name, s) in texts {
            if s.chars().any(char::is_control) {
                bad(format!("{name}含换行或控制字符"));
            }
        }
    }
    if !problems.is_empty() {
        return Err(FileError::Lines(problems));
    }
    let total = total(lines)?;
    let value = |p: &str| match p {
        "batch_no" => header.batch_no.clone(),
        "pool_name" => header.pool_name.clone(),
        "payer" => header.payer_account_name.clone(),
        "count" => lines.len().to_string(),
        "total_yuan" => yuan_plain(total),
        "total_fen" => total.fen().to_string(),
        "date" => header.created_on.format("%Y-%m-%d").to_string(),
        _ => String::new(),
    };
    Ok(Prepared {
        total,
        title: layout.title.as_deref().map(|t| fill_placeholders(t, value)),
        header_rows: layout
            .header_rows
            .iter()
            .map(|row| row.iter().map(|c| fill_placeholders(c, value)).collect())
            .collect(),
    })
}

/// A card number as the bank wants it: digits only.
fn card_digits(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '\u{3000}' | '-'))
        .collect()
}

fn cell_text(field: Field, header: &BatchHeader, line: &PayLine) -> String {
    match field {
        Field::Seq => line.seq.to_string(),
        Field::LineRef => line.line_ref.clone(),
        Field::HolderName => line.holder_name.trim().to_string(),
        Field::CardNumber => card_digits(&line.card_number),
        Field::AmountYuan => yuan_plain(line.amount),
        Field::AmountFen => line.amount.fen().to_string(),
        Field::BankName => line.bank_name.clone(),
        Field::IdNumber => line.id_number.trim().to_uppercase(),
        Field::Memo => line.memo.clone(),
        Field::BatchNo => header.batch_no.clone(),
    }
}

/// "1234.50": yuan, two decimals, no separators (bank importers reject "1,234.50").
fn yuan_plain(f: Fen) -> String {
    let sign = if f.fen() < 0 { "-" } else { "" };
    let a = f.fen().unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

/// For xlsx number cells only; the nearest double to a two-decimal amount, shown with two
/// decimals. CSV and every sum use integer fen.
fn yuan_f64(f: Fen) -> f64 {
    f.fen() as f64 / 100.0
}

fn chinese_date(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

const DIGITS: [&str; 10] = ["零", "壹", "贰", "叁", "肆", "伍", "陆", "柒", "捌", "玖"];

/// 人民币大写 (without the "人民币" prefix), following the rules for filling in bills and
/// vouchers: "元" after the integer part; "整" when there are no 分 (also after 角); one
/// "零" for any run of zeros inside the number, none for trailing zeros; "零" when the 元
/// digit is zero but 角 is not, and when 角 is zero but 分 is not. Amounts under one yuan
/// start with their 角 or 分 ("伍分"). Tens are written with "壹" ("壹拾万"), as banks do.
///
/// 1234.50 → 壹仟贰佰叁拾肆元伍角整; 0.05 → 伍分; 10000 → 壹万元整;
/// 1680.32 → 壹仟陆佰捌拾元零叁角贰分; 10005.04 → 壹万零伍元零肆分.
pub fn yuan_in_capitals(amount: Fen) -> String {
    let neg = amount.fen() < 0;
    let abs = amount.fen().unsigned_abs();
    let (yuan, jiao, fen) = (abs / 100, (abs / 10 % 10) as usize, (abs % 10) as usize);
    let mut out = String::new();
    if neg {
        out.push('负');
    }
    if yuan > 0 {
        out.push_str(&integer_words(yuan));
        out.push('元');
    }
    if jiao == 0 && fen == 0 {
        if yuan == 0 {
            return "零元整".to_string();
        }
        out.push('整');
        return out;
    }
    if jiao > 0 {
        if yuan % 10 == 0 && yuan > 0 {
            out.push('零');
        }
        out.push_str(DIGITS[jiao]);
        out.push('角');
    } else if yuan > 0 {
        out.push('零');
    }
    if fen > 0 {
        out.push_str(DIGITS[fen]);
        out.push('分');
    } else {
        out.push('整');
    }
    out
}

/// A positive integer in capitals, recursively by 亿 then 万.
fn integer_words(n: u64) -> String {
    const YI: u64 = 100_000_000;
    if n >= YI {
        let (hi, lo) = (n / YI, n % YI);
        let mut s = integer_words(hi);
        s.push('亿');
        if lo > 0 {
            if lo < YI / 10 {
                s.push('零');
            }
            s.push_str(&below_yi(lo));
        }
        s
    } else {
        below_yi(n)
    }
}

fn below_yi(n: u64) -> String {
    let (hi, lo) = (n / 10_000, n % 10_000);
    let mut s = String::new();
    if hi > 0 {
        s.push_str(&four_digits(hi));
        s.push('万');
    }
    if lo > 0 {
        if hi > 0 && lo < 1000 {
            s.push('零');
        }
        s.push_str(&four_digits(lo));
    }
    s
}

/// 1..=9999: "零" once for inner zeros, nothing for trailing ones.
fn four_digits(n: u64) -> String {
    const UNITS: [&str; 4] = ["仟", "佰", "拾", ""];
    let digits = [n / 1000 % 10, n / 100 % 10, n / 10 % 10, n % 10];
    let mut s = String::new();
    let (mut started, mut zero) = (false, false);
    for (d, unit) in digits.iter().zip(UNITS) {
        if *d == 0 {
            zero = started;
        } else {
            if zero {
                s.push('零');
            }
            s.push_str(DIGITS[*d as usize]);
            s.push_str(unit);
            started = true;
            zero = false;
        }
    }
    s
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::layout::Layout;

    pub(crate) fn header() -> BatchHeader {
        BatchHeader {
            batch_no: "DF-2026-11-001".into(),
            pool_name: "青山县乡村医疗互助金".into(),
            payer_account_name: "青山县医疗互助协会".into(),
            created_on: NaiveDate::from_ymd_opt(2026, 11, 30).unwrap(),
            prepared_by: "李会计".into(),
            approved_by: "王主任".into(),
        }
    }

    pub(crate) fn lines(n: u32) -> Vec<PayLine> {
        let names = ["张三明", "欧阳娜娜", "李四", "王秀英"];
        (1..=n)
            .map(|i| PayLine {
                seq: i,
                line_ref: format!("CL-{i:06}"),
                holder_name: names[(i as usize) % names.len()].into(),
                card_number: card_for(i),
                bank_name: "青山农村商业银行城关支行".into(),
                id_number: "11010519491231002x".into(),
                amount: Fen(123_450 + i64::from(i)),
                memo: "2026年11月互助金".into(),
            })
            .collect()
    }

    /// A valid 19-digit card number per line.
    pub(crate) fn card_for(i: u32) -> String {
        let body = format!("621462{i:012}");
        (0..10)
            .map(|d| format!("{body}{d}"))
            .find(|s| crate::BankCardNumber::parse(s).is_ok())
            .unwrap()
    }

    #[test]
    fn capitals_follow_the_bill_rules() {
        let cases = [
            (123_450, "壹仟贰佰叁拾肆元伍角整"),
            (5, "伍分"),
            (50, "伍角整"),
            (55, "伍角伍分"),
            (0, "零元整"),
            (1_000_000, "壹万元整"),
            (100, "壹元整"),
            (1_000, "壹拾元整"),
            (10_000_000, "壹拾万元整"),
            (168_032, "壹仟陆佰捌拾元零叁角贰分"),
            (32_504, "叁佰贰拾伍元零肆分"),
            (1_000_504, "壹万零伍元零肆分"),
            (10_700_053, "壹拾万柒仟元零伍角叁分"),
            (100_010_000, "壹佰万零壹佰元整"),
            (10_050_000, "壹拾万零伍佰元整"),
            (100_500, "壹仟零伍元整"),
            (10_000_000_000, "壹亿元整"),
            (10_010_000_000, "壹亿零壹拾万元整"),
            (1_200_000_000_000, "壹佰贰拾亿元整"),
            (600_700_000_000, "陆拾亿零柒佰万元整"),
            (100_000_005_000_000, "壹万亿零伍万元整"),
            (1_000_000_500_000_000, "壹拾万亿零伍佰万元整"),
            (-120, "负壹元贰角整"),
        ];
        for (fen, want) in cases {
            assert_eq!(yuan_in_capitals(Fen(fen)), want, "{fen}");
        }
        // Does not panic at the extremes.
        assert!(!yuan_in_capitals(Fen(i64::MAX)).is_empty());
        assert!(yuan_in_capitals(Fen(i64::MIN)).starts_with('负'));
    }

    #[test]
    fn hash_covers_what_decides_the_payment() {
        let h = header();
        let ls = lines(3);
        let base = batch_hash(&h, &ls);
        assert_eq!(base.len(), 64);
        assert_eq!(base, batch_hash(&h, &ls));
        let mut changed = ls.clone();
        changed[1].amount = Fen(changed[1].amount.fen() + 1);
        assert_ne!(base, batch_hash(&h, &changed));
        let mut changed = ls.clone();
        changed[2].card_number = card_for(99);
        assert_ne!(base, batch_hash(&h, &changed));
        let mut other = h.clone();
        other.batch_no.push('X');
        assert_ne!(base, batch_hash(&other, &ls));
        // Formatting of the card number does not matter; the memo is not hashed.
        let mut same = ls.clone();
        same[0].card_number = format!("{} {}", &ls[0].card_number[..4], &ls[0].card_number[4..]);
        same[0].memo = "改过的摘要".into();
        assert_eq!(base, batch_hash(&h, &same));
        // Length prefixes: moving a character between fields changes the hash.
        let mut a = ls.clone();
        a[0].line_ref = "CL-1".into();
        a[0].holder_name = "2张".into();
        let mut b = ls.clone();
        b[0].line_ref = "CL-12".into();
        b[0].holder_name = "张".into();
        assert_ne!(batch_hash(&h, &a), batch_hash(&h, &b));
    }

    #[test]
    fn total_is_checked() {
        assert_eq!(total(&lines(2)).unwrap(), Fen(123_451 + 123_452));
        let mut ls = lines(2);
        ls[0].amount = Fen(i64::MAX);
        assert_eq!(total(&ls), Err(FileError::Overflow));
    }

    #[test]
    fn generic_csv_is_utf8_with_bom_and_deterministic() {
        let g = Layout::get("generic").unwrap();
        let out = render_csv(&g, &header(), &lines(2)).unwrap();
        assert_eq!(out, render_csv(&g, &header(), &lines(2)).unwrap());
        assert!(out.starts_with(b"\xEF\xBB\xBF"));
        let text = std::str::from_utf8(&out[3..]).unwrap();
        let mut rows = text.split("\r\n");
        assert_eq!(rows.next().unwrap(), "户名,卡号,金额,开户行,身份证号,摘要");
        assert_eq!(
            rows.next().unwrap(),
            format!(
                "欧阳娜娜,{},1234.51,青山农村商业银行城关支行,11010519491231002X,2026年11月互助金",
                card_for(1)
            )
        );
    }

    #[test]
    fn rural_csv_is_gbk() {
        let r = Layout::get("rural_credit").unwrap();
        let out = render_csv(&r, &header(), &lines(2)).unwrap();
        let (text, _, bad) = encoding_rs::GBK.decode(&out);
        assert!(!bad);
        assert!(std::str::from_utf8(&out).is_err(), "should not be UTF-8");
        let mut rows = text.split("\r\n");
        assert_eq!(rows.next().unwrap(), "序号,账号,户名,金额,备注");
        assert_eq!(
            rows.next().unwrap(),
            format!("1,{},欧阳娜娜,1234.51,2026年11月互助金", card_for(1))
        );
    }

    #[test]
    fn characters_without_gbk_code_are_named() {
        let r = Layout::get("rural_credit").unwrap();
        let mut ls = lines(3);
        ls[1].holder_name = "王🀄".into();
        let err = render_csv(&r, &header(), &ls).unwrap_err();
        let FileError::Lines(p) = &err else {
            panic!("{err}")
        };
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].seq, 2);
        assert!(err
            .to_string()
            .contains("第2笔：户名中的“🀄”无法用GBK编码表示"));
    }

    #[test]
    fn bad_lines_are_all_reported() {
        let g = Layout::get("generic").unwrap();
        let mut ls = lines(4);
        ls[0].amount = Fen::ZERO;
        ls[2].card_number = "6214 62AB".into();
        ls[3].seq = 2;
        ls[1].memo = "a\nb".into();
        let Err(FileError::Lines(p)) = render_csv(&g, &header(), &ls) else {
            panic!()
        };
        let seqs: Vec<u32> = p.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, [1, 2, 3, 2]);
        assert_eq!(render_csv(&g, &header(), &[]), Err(FileError::Empty));
    }

    #[test]
    fn header_rows_and_placeholders() {
        let l = Layout::parse(
            "id='t'\nname='t'\nbank='t'\nkinds=['csv','xlsx']\ntitle='{payer}代发'\n\
             header_rows=[['总笔数','{count}','总金额','{total_yuan}']]\n\
             [csv]\nencoding='utf-8'\ndelimiter='|'\n\
             [[columns]]\nheader='序号'\nfield='seq'\n\
             [[columns]]\nheader='分'\nfield='amount_fen'\n\
             [[columns]]\nheader='批次'\nfield='batch_no'\n",
        )
        .unwrap();
        let out = render_csv(&l, &header(), &lines(2)).unwrap();
        let text = std::str::from_utf8(&out[3..]).unwrap();
        assert_eq!(
            text,
            "总笔数|2|总金额|2469.03\r\n序号|分|批次\r\n1|123451|DF-2026-11-001\r\n2|123452|DF-2026-11-001\r\n"
        );
        assert!(render_xlsx(&l, &header(), &lines(2)).is_ok());
        let csv_only = Layout {
            kinds: vec![FileKind::Csv],
            ..l
        };
        assert!(matches!(
            render_xlsx(&csv_only, &header(), &lines(1)),
            Err(FileError::Unsupported { .. })
        ));
    }

    #[test]
    fn xlsx_is_deterministic_and_keeps_numbers_as_text() {
        use calamine::{open_workbook_from_rs, Data, Reader, Xlsx};
        let g = Layout::get("generic").unwrap();
        let ls = lines(3);
        let a = render_xlsx(&g, &header(), &ls).unwrap();
        let b = render_xlsx(&g, &header(), &ls).unwrap();
        assert_eq!(a, b);

        let mut wb: Xlsx<_> = open_workbook_from_rs(std::io::Cursor::new(a)).unwrap();
        assert_eq!(wb.sheet_names(), ["封面", "代发明细"]);
        let detail = wb.worksheet_range("代发明细").unwrap();
        let rows: Vec<_> = detail.rows().collect();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0][1], Data::String("卡号".into()));
        assert_eq!(rows[1][1], Data::String(card_for(1)));
        assert_eq!(rows[1][2], Data::Float(1234.51));
        assert_eq!(rows[1][4], Data::String("11010519491231002X".into()));

        let cover = wb.worksheet_range("封面").unwrap();
        let cells: Vec<String> = cover.cells().map(|(_, _, c)| c.to_string()).collect();
        let total = yuan_in_capitals(total(&ls).unwrap());
        assert!(cells.contains(&format!("人民币{total}")));
        assert!(cells.contains(&batch_hash(&header(), &ls)));
        assert!(cells.iter().any(|c| c.starts_with("财务负责人")));
    }
}
