//! Roster import from .xlsx: the whole file is checked first and every bad row is reported, in
//! Chinese, row by row; a file with any error changes nothing. A good file is written in one
//! transaction, together with the job's outcome. Rows already registered in the same household
//! are recognised and skipped, so importing the same file twice adds nothing the second time.
//!
//! Files are read by [`sheet`] (shared with the bulk enrolment) within fixed limits; the error
//! report is bounded ([`MAX_SHOWN_PER_KIND`] per column, with counts of the rest); at most
//! [`MAX_CONCURRENT_UPLOADS`] uploads are read and checked at once, off the async runtime, and a
//! panic while reading ends as a failed job, not a failed server.

use crate::crypto::HashKind;
use crate::{Actor, App, AppError, AppResult, RosterWriter};
use chrono::NaiveDate;
use domain::{
    AuditAction, InsuranceType, PersonName, Phone, Relation, ResidentIdNumber, SpecialStatus,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub mod sheet;
#[doc(hidden)]
pub mod testing;

pub use sheet::{MAX_CELL_CHARS, MAX_COLUMNS, MAX_DATA_ROWS, MAX_FILE_BYTES};

/// The template's columns, in order. Reading matches by header text, so a clerk may reorder
/// columns; either the village code or the village name is enough.
pub const COLUMNS: [&str; 11] = [
    "村（社区）代码",
    "村（社区）名称",
    "户编号",
    "姓名",
    "身份证号",
    "与户主关系",
    "手机号",
    "医保类型",
    "特殊身份",
    "身份认定日期",
    "家庭住址",
];

const C_VCODE: usize = 0;
const C_VNAME: usize = 1;
const C_HNO: usize = 2;
const C_NAME: usize = 3;
const C_ID: usize = 4;
const C_REL: usize = 5;
const C_PHONE: usize = 6;
const C_INS: usize = 7;
const C_STATUS: usize = 8;
const C_SINCE: usize = 9;
const C_ADDR: usize = 10;

/// Longest household address kept (characters).
pub const MAX_ADDRESS_CHARS: usize = 100;
/// Longest household number (characters).
pub const MAX_HOUSEHOLD_NO_CHARS: usize = 30;
/// How many errors of one kind (one column, or the file as a whole) a report lists; the others
/// are counted. 200,000 bad rows used to be stored as 1,000,000 errors (57 MB in one row).
pub const MAX_SHOWN_PER_KIND: usize = 100;
/// Uploads (roster imports and bulk enrolments) read and checked at the same time; the others
/// wait their turn. Each may take a few hundred megabytes at the limits.
pub const MAX_CONCURRENT_UPLOADS: usize = 2;

static UPLOAD_SLOTS: tokio::sync::Semaphore =
    tokio::sync::Semaphore::const_new(MAX_CONCURRENT_UPLOADS);

/// Waits for a turn to read and check an upload (see [`MAX_CONCURRENT_UPLOADS`]).
pub(crate) async fn upload_slot() -> tokio::sync::SemaphorePermit<'static> {
    UPLOAD_SLOTS
        .acquire()
        .await
        .expect("the upload semaphore is never closed")
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RowError {
    /// Spreadsheet row number as the clerk sees it (header is row 1).
    pub row: usize,
    pub column: String,
    pub message: String,
}

/// Errors of one kind that a bounded report does not list.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Omitted {
    /// The column (empty: the file as a whole).
    pub column: String,
    pub count: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportOutcome {
    pub total_rows: usize,
    pub added_households: usize,
    pub added_members: usize,
    pub unchanged_rows: usize,
    /// The listed errors: at most [`MAX_SHOWN_PER_KIND`] per column, the lowest rows first.
    pub errors: Vec<RowError>,
    /// All errors found, listed or not.
    pub error_total: usize,
    /// Per column, how many errors `errors` leaves out.
    pub omitted: Vec<Omitted>,
}

impl ImportOutcome {
    fn refused(total_rows: usize, report: ErrorReport) -> ImportOutcome {
        ImportOutcome {
            total_rows,
            errors: report.shown,
            error_total: report.total,
            omitted: report.omitted,
            ..Default::default()
        }
    }
}

/// Collects a file's errors within a bound: per kind (column), the [`MAX_SHOWN_PER_KIND`]
/// lowest rows are kept and the rest only counted, so a file of 200,000 bad rows costs a few
/// hundred kept errors however many it has.
#[derive(Default)]
pub(crate) struct Errors {
    kinds: HashMap<String, (usize, Vec<RowError>)>,
    total: usize,
}

/// A finished, bounded error report.
pub(crate) struct ErrorReport {
    pub(crate) shown: Vec<RowError>,
    pub(crate) total: usize,
    pub(crate) omitted: Vec<Omitted>,
}

impl Errors {
    pub(crate) fn push(&mut self, e: RowError) {
        self.total += 1;
        let kind = match self.kinds.get_mut(&e.column) {
            Some(k) => k,
            None => self.kinds.entry(e.column.clone()).or_default(),
        };
        kind.0 += 1;
        kind.1.push(e);
        if kind.1.len() >= 2 * MAX_SHOWN_PER_KIND {
            kind.1.sort_by_key(|e| e.row);
            kind.1.truncate(MAX_SHOWN_PER_KIND);
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.total == 0
    }

    pub(crate) fn finish(self) -> ErrorReport {
        let mut shown = Vec::new();
        let mut omitted = Vec::new();
        for (column, (count, mut kept)) in self.kinds {
            kept.sort_by_key(|e| e.row);
            kept.truncate(MAX_SHOWN_PER_KIND);
            if count > kept.len() {
                omitted.push(Omitted {
                    column,
                    count: count - kept.len(),
                });
            }
            shown.extend(kept);
        }
        shown.sort_by(|a, b| (a.row, &a.column).cmp(&(b.row, &b.column)));
        omitted.sort_by(|a, b| a.column.cmp(&b.column));
        ErrorReport {
            shown,
            total: self.total,
            omitted,
        }
    }
}

/// Longest file name kept with a job and in the audit log (characters).
pub const MAX_FILENAME_CHARS: usize = 100;

/// The uploaded file's name as it is stored and shown: the browser sends any bytes it likes, so
/// hidden characters (NUL would break PostgreSQL) are dropped and the length is bounded.
pub fn shown_filename(name: &str) -> String {
    let kept: String = name
        .chars()
        .filter(|c| !domain::text::is_hidden(*c))
        .take(MAX_FILENAME_CHARS)
        .collect();
    let kept = kept.trim();
    if kept.is_empty() {
        "花名册.xlsx".to_string()
    } else {
        kept.to_string()
    }
}

/// A clerk's text quoted back in an error message, shortened (cells may be 200 characters).
pub(crate) fn quoted(s: &str) -> String {
    const SHOWN: usize = 24;
    if s.chars().count() > SHOWN {
        let head: String = s.chars().take(SHOWN).collect();
        format!("“{head}…”")
    } else {
        format!("“{s}”")
    }
}

/// How long a job without an outcome counts as running after its last progress or heartbeat.
/// Past it the job is shown as interrupted (中断) and is ended by the next reconciliation; its
/// lease is not renewed and its outcome not written any more (see `store::imports`), so what the
/// page says stays true. The longest silence of a live job is its own write transaction (no
/// progress is written meanwhile, see [`App::start_import`]): about 10 s for the largest file.
pub const JOB_LEASE: std::time::Duration = std::time::Duration::from_secs(120);
/// A running job writes its progress at most this often ...
pub const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_millis(250);
/// ... and, when nothing changes (waiting for a turn, reading a large file), a heartbeat this
/// often.
pub const HEARTBEAT_EVERY: std::time::Duration = std::time::Duration::from_secs(15);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    pub phase: Phase,
    pub done: usize,
    pub total: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a turn (other uploads are being read).
    #[default]
    Waiting,
    Reading,
    Checking,
    Writing,
    /// The import has ended; its outcome is being stored (retried until the database answers).
    Recording,
}

impl Phase {
    pub const ALL: [Phase; 5] = [
        Phase::Waiting,
        Phase::Reading,
        Phase::Checking,
        Phase::Writing,
        Phase::Recording,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Phase::Waiting => "正在排队等待",
            Phase::Reading => "正在读取文件",
            Phase::Checking => "正在逐行检查",
            Phase::Writing => "正在写入",
            Phase::Recording => "正在保存导入结果",
        }
    }

    /// The stored form (`import_jobs.phase`).
    pub fn code(self) -> &'static str {
        match self {
            Phase::Waiting => "waiting",
            Phase::Reading => "reading",
            Phase::Checking => "checking",
            Phase::Writing => "writing",
            Phase::Recording => "recording",
        }
    }

    pub fn from_code(code: &str) -> Option<Phase> {
        Phase::ALL.into_iter().find(|p| p.code() == code)
    }
}

/// What a stored job amounts to at a given moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobState {
    /// No outcome yet, and its process wrote progress within [`JOB_LEASE`].
    Running(Progress),
    /// No outcome, and no sign of life within [`JOB_LEASE`]: the process running it stopped
    /// (on this server or another) and wrote nothing, since the data commits with the outcome.
    Interrupted,
    /// The outcome is stored (`status`, counts, errors, message).
    Ended,
}

impl JobState {
    pub fn of(job: &store::imports::Job, now: chrono::DateTime<chrono::Utc>) -> JobState {
        if job.finished_at.is_some() {
            return JobState::Ended;
        }
        let lease = chrono::Duration::from_std(JOB_LEASE).expect("a short lease");
        match store::parse_timestamp(&job.updated_at) {
            Some(t) if now - t <= lease => JobState::Running(Progress {
                phase: Phase::from_code(&job.phase).unwrap_or_default(),
                done: job.phase_done.max(0) as usize,
                total: job.phase_total.max(0) as usize,
            }),
            _ => JobState::Interrupted,
        }
    }
}

/// A running job as its import sees it. Its progress reporter writes only while holding `gate`;
/// the import holds it from just before its write transaction begins until it ends, so that on
/// SQLite no progress write queues for the write lock the import itself holds.
#[derive(Clone)]
struct JobLease {
    id: i64,
    gate: Arc<tokio::sync::Mutex<()>>,
}

/// The blank roster template, with an instructions sheet.
pub fn template_xlsx() -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::{DataValidation, Format, Workbook};
    let build = || -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
        let mut wb = Workbook::new();
        let text = Format::new().set_num_format("@");
        let head = Format::new().set_bold().set_background_color("#DCE6F1");
        let ws = wb.add_worksheet().set_name("花名册")?;
        for (i, h) in COLUMNS.iter().enumerate() {
            let col = i as u16;
            ws.write_string_with_format(0, col, *h, &head)?;
            // Text format keeps 18-digit ID numbers and phones exact (Excel would round numbers).
            ws.set_column_format(col, &text)?;
            ws.set_column_width(col, if i == C_ID { 22 } else { 14 })?;
        }
        let rel: Vec<&str> = Relation::ALL.iter().map(|r| r.label_zh()).collect();
        ws.add_data_validation(
            1,
            C_REL as u16,
            200_000,
            C_REL as u16,
            &DataValidation::new().allow_list_strings(&rel)?,
        )?;
        let ins: Vec<&str> = InsuranceType::ALL.iter().map(|r| r.label_zh()).collect();
        ws.add_data_validation(
            1,
            C_INS as u16,
            200_000,
            C_INS as u16,
            &DataValidation::new().allow_list_strings(&ins)?,
        )?;
        let help = wb.add_worksheet().set_name("填写说明")?;
        let lines = [
            "一行一人；同一户的成员填写相同的“村（社区）代码”（或名称）和“户编号”。",
            "每户必须有且只有一名“户主”。",
            "身份证号：18位，末位可为X；系统会校验校验位和出生日期。",
            "与户主关系：户主、配偶、子女、父母、孙子女、儿媳/女婿、兄弟姐妹、祖父母、其他。",
            "医保类型：城乡居民医保、城镇职工医保、未参保。",
            "手机号：11位手机号，可不填。",
            "特殊身份：脱贫享受政策、防返贫监测、低保、特困，多个用“、”分隔，可不填；填写时须填身份认定日期（如2024-01-01）。",
            "文件有任何错误时不会导入任何数据，请按错误报告修改后重新导入；重复导入同一文件不会重复登记。",
            "示例：320982106201 | 新河村 | 0001 | 王建国 | 32098219650315123X | 户主 | 13812345678 | 城乡居民医保 | 防返贫监测 | 2024-01-01 | 新河村1组5号",
        ];
        for (i, l) in lines.iter().enumerate() {
            help.write_string(i as u32, 0, *l)?;
        }
        help.set_column_width(0, 120)?;
        wb.save_to_buffer()
    };
    build().map_err(|e| AppError::Internal(e.into()))
}

/// One spreadsheet row as text cells, with its row number.
struct RawRow {
    row: usize,
    cells: [String; COLUMNS.len()],
}

/// Reads the roster's rows: the wanted columns of every row with content, or the file's
/// problems (bounded) when any cell is unreadable or the file as a whole is refused.
fn read_rows(bytes: &[u8]) -> Result<Vec<RawRow>, ErrorReport> {
    let mut errors = Errors::default();
    let whole = |message: String| {
        let mut e = Errors::default();
        e.push(RowError {
            row: 0,
            column: String::new(),
            message,
        });
        e.finish()
    };
    let mut out = Vec::new();
    let read = sheet::read_first_sheet(
        bytes,
        &COLUMNS,
        |map| {
            let missing: Vec<&str> = [C_HNO, C_NAME, C_ID, C_REL, C_INS]
                .into_iter()
                .filter(|c| map[*c].is_none())
                .map(|c| COLUMNS[c])
                .collect();
            let no_village = map[C_VCODE].is_none() && map[C_VNAME].is_none();
            if missing.is_empty() && !no_village {
                return Ok(());
            }
            let mut m = missing.join("、");
            if no_village {
                if !m.is_empty() {
                    m.push('、');
                }
                m.push_str("村（社区）代码或名称");
            }
            Err(format!("表头缺少列：{m}。请使用模板（第一行为表头）"))
        },
        |r| {
            for (c, message) in r.errors {
                errors.push(RowError {
                    row: r.row,
                    column: COLUMNS[c].to_string(),
                    message,
                });
            }
            // Once a cell is unreadable the file is refused: keep only what the report needs.
            if errors.is_empty() && r.cells.iter().any(|c| !c.is_empty()) {
                out.push(RawRow {
                    row: r.row,
                    cells: r.cells,
                });
            }
        },
    );
    if let Err(message) = read {
        return Err(whole(message));
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors.finish())
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    let s = s.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(s, f).ok())
}

/// A checked row, ready to write.
pub(crate) struct GoodRow {
    pub(crate) village_code: String,
    pub(crate) household_no: String,
    pub(crate) address: Option<String>,
    pub(crate) name: PersonName,
    pub(crate) id: ResidentIdNumber,
    pub(crate) id_hash: Vec<u8>,
    pub(crate) relation: Relation,
    pub(crate) phone: Option<Phone>,
    pub(crate) insurance: InsuranceType,
    pub(crate) statuses: Vec<(SpecialStatus, NaiveDate)>,
}

impl GoodRow {
    /// Encrypts and hashes the identifiers; the one place a person becomes a stored member.
    pub(crate) fn to_new_member(
        &self,
        keys: &crate::PiiKeys,
        household_id: i64,
    ) -> store::roster::NewMember {
        store::roster::NewMember {
            household_id,
            village_code: self.village_code.clone(),
            name: self.name.to_string(),
            id_cipher: keys.encrypt(self.id.as_str()),
            id_hash: self.id_hash.clone(),
            id_masked: self.id.masked(),
            birth_date: self.id.birth_date().format("%Y-%m-%d").to_string(),
            sex: i64::from(self.id.sex().code()),
            phone_cipher: self.phone.as_ref().map(|p| keys.encrypt(p.as_str())),
            phone_hash: self
                .phone
                .as_ref()
                .map(|p| keys.hash(HashKind::Phone, p.as_str())),
            phone_masked: self.phone.as_ref().map(Phone::masked),
            relation: self.relation.code().to_string(),
            insurance: self.insurance.code().to_string(),
            statuses: self
                .statuses
                .iter()
                .map(|(s, d)| (s.code().to_string(), d.format("%Y-%m-%d").to_string()))
                .collect(),
        }
    }
}

struct Plan {
    new_rows: Vec<GoodRow>,
    new_households: Vec<(String, String, Option<String>)>,
    unchanged: usize,
    total: usize,
}

/// What validation needs to know about the database, loaded once.
struct Known {
    /// Villages the actor may write to: code → name.
    villages: HashMap<String, String>,
    /// Village name → code (names unique within the scope; ambiguous names map to None).
    village_by_name: HashMap<String, Option<String>>,
    /// Registered ID hashes → their household key.
    ids: HashMap<Vec<u8>, (String, String)>,
    /// Existing households (village, number) in the scope.
    households: std::collections::HashSet<(String, String)>,
}

fn validate(
    rows: Vec<RawRow>,
    known: &Known,
    keys: &crate::PiiKeys,
    mut tick: impl FnMut(usize),
) -> Result<Plan, ErrorReport> {
    let total = rows.len();
    let mut errors = Errors::default();
    let mut good: Vec<(usize, GoodRow)> = Vec::new();
    let mut seen_ids: HashMap<String, usize> = HashMap::new();
    let mut unchanged = 0usize;
    for (i, raw) in rows.into_iter().enumerate() {
        if i % 2000 == 0 {
            tick(i);
        }
        let row = raw.row;
        let c = &raw.cells;
        let mut err = |col: usize, msg: String| {
            errors.push(RowError {
                row,
                column: COLUMNS[col].to_string(),
                message: msg,
            })
        };
        let village_code = if !c[C_VCODE].is_empty() {
            if known.villages.contains_key(&c[C_VCODE]) {
                Some(c[C_VCODE].clone())
            } else {
                err(
                    C_VCODE,
                    format!(
                        "村（社区）代码{}不存在或不在您的管辖范围内",
                        quoted(&c[C_VCODE])
                    ),
                );
                None
            }
        } else if !c[C_VNAME].is_empty() {
            match known.village_by_name.get(&c[C_VNAME]) {
                Some(Some(code)) => Some(code.clone()),
                Some(None) => {
                    err(
                        C_VNAME,
                        format!(
                            "村（社区）名称{}有重名，请填写村（社区）代码",
                            quoted(&c[C_VNAME])
                        ),
                    );
                    None
                }
                None => {
                    err(
                        C_VNAME,
                        format!(
                            "村（社区）{}不存在或不在您的管辖范围内",
                            quoted(&c[C_VNAME])
                        ),
                    );
                    None
                }
            }
        } else {
            err(C_VCODE, "村（社区）代码和名称不能都为空".into());
            None
        };
        if c[C_HNO].is_empty() {
            err(C_HNO, "户编号不能为空".into());
        } else if c[C_HNO].chars().count() > MAX_HOUSEHOLD_NO_CHARS {
            err(
                C_HNO,
                format!("户编号过长（最多{MAX_HOUSEHOLD_NO_CHARS}个字符）"),
            );
        }
        let address_ok = c[C_ADDR].chars().count() <= MAX_ADDRESS_CHARS;
        if !address_ok {
            err(
                C_ADDR,
                format!("家庭住址过长（最多{MAX_ADDRESS_CHARS}个字）"),
            );
        }
        let name = PersonName::parse(&c[C_NAME])
            .map_err(|e| err(C_NAME, e.to_string()))
            .ok();
        let id = if c[C_ID].is_empty() {
            err(C_ID, "身份证号不能为空".into());
            None
        } else {
            match ResidentIdNumber::parse(&c[C_ID]) {
                Ok(id) => {
                    if let Some(first) = seen_ids.get(id.as_str()) {
                        err(C_ID, format!("身份证号与第{first}行重复"));
                        None
                    } else {
                        seen_ids.insert(id.as_str().to_string(), row);
                        Some(id)
                    }
                }
                Err(e) => {
                    err(C_ID, e.to_string());
                    None
                }
            }
        };
        let relation = if c[C_REL].is_empty() {
            err(C_REL, "与户主关系不能为空".into());
            None
        } else {
            Relation::parse_zh(&c[C_REL]).or_else(|| {
                err(C_REL, format!("无法识别的与户主关系{}", quoted(&c[C_REL])));
                None
            })
        };
        let phone = if c[C_PHONE].is_empty() {
            Some(None)
        } else {
            Phone::parse(&c[C_PHONE])
                .map(Some)
                .map_err(|e| err(C_PHONE, e.to_string()))
                .ok()
        };
        let insurance = if c[C_INS].is_empty() {
            err(C_INS, "医保类型不能为空".into());
            None
        } else {
            InsuranceType::parse_zh(&c[C_INS]).or_else(|| {
                err(
                    C_INS,
                    format!(
                        "无法识别的医保类型{}（应为城乡居民医保、城镇职工医保或未参保）",
                        quoted(&c[C_INS])
                    ),
                );
                None
            })
        };
        let mut statuses = Vec::new();
        let mut status_ok = true;
        if !c[C_STATUS].is_empty() {
            let since = parse_date(&c[C_SINCE]);
            if since.is_none() {
                err(
                    C_SINCE,
                    "填写特殊身份时须填写有效的身份认定日期（如2024-01-01）".into(),
                );
                status_ok = false;
            }
            for part in c[C_STATUS]
                .split(['、', ',', '，', ';', '；'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                match (SpecialStatus::parse_zh(part), since) {
                    (Some(s), Some(d)) => statuses.push((s, d)),
                    (Some(_), None) => {}
                    (None, _) => {
                        err(C_STATUS, format!("无法识别的特殊身份{}", quoted(part)));
                        status_ok = false;
                    }
                }
            }
        }
        if let (
            Some(vc),
            Some(name),
            Some(id),
            Some(relation),
            Some(phone),
            Some(insurance),
            true,
            false,
        ) = (
            village_code,
            name,
            id,
            relation,
            phone,
            insurance,
            status_ok && address_ok,
            c[C_HNO].is_empty(),
        ) {
            let id_hash = keys.hash(HashKind::IdNumber, id.as_str());
            let household_no = c[C_HNO].clone();
            match known.ids.get(&id_hash) {
                Some((v, h)) if *v == vc && *h == household_no => {
                    unchanged += 1;
                    continue;
                }
                Some(_) => {
                    errors.push(RowError {
                        row,
                        column: COLUMNS[C_ID].to_string(),
                        message: "该身份证号已在其他家庭登记（一人只能属于一户）".into(),
                    });
                    continue;
                }
                None => {}
            }
            let address = Some(c[C_ADDR].clone()).filter(|a| !a.is_empty());
            good.push((
                row,
                GoodRow {
                    village_code: vc,
                    household_no,
                    address,
                    name,
                    id,
                    id_hash,
                    relation,
                    phone,
                    insurance,
                    statuses,
                },
            ));
        }
    }
    // Household rules: one head per household, counting what is already registered.
    // Per household: its rows (number, is head) and the first address given.
    type Rows = (Vec<(usize, bool)>, Option<String>);
    let mut by_household: BTreeMap<(String, String), Rows> = BTreeMap::new();
    for (row, g) in &good {
        let entry = by_household
            .entry((g.village_code.clone(), g.household_no.clone()))
            .or_default();
        entry.0.push((*row, g.relation == Relation::Head));
        if entry.1.is_none() {
            entry.1.clone_from(&g.address);
        }
    }
    let mut new_households = Vec::new();
    for (key, (rows, address)) in by_household {
        let exists = known.households.contains(&key);
        let heads: Vec<usize> = rows.iter().filter(|(_, h)| *h).map(|(r, _)| *r).collect();
        if exists {
            for r in heads {
                errors.push(RowError {
                    row: r,
                    column: COLUMNS[C_REL].to_string(),
                    message: format!("户编号“{}”已有户主，一户只能有一名户主", key.1),
                });
            }
        } else {
            match heads.len() {
                0 => errors.push(RowError {
                    row: rows[0].0,
                    column: COLUMNS[C_REL].to_string(),
                    message: format!("户编号“{}”没有户主（每户须有一名户主）", key.1),
                }),
                1 => {}
                _ => {
                    for r in &heads[1..] {
                        errors.push(RowError {
                            row: *r,
                            column: COLUMNS[C_REL].to_string(),
                            message: format!("户编号“{}”有多名户主", key.1),
                        });
                    }
                }
            }
            new_households.push((key.0, key.1, address));
        }
    }
    tick(total);
    if !errors.is_empty() {
        return Err(errors.finish());
    }
    Ok(Plan {
        new_rows: good.into_iter().map(|(_, g)| g).collect(),
        new_households,
        unchanged,
        total,
    })
}

impl App {
    async fn known_for_import(&self, writer: &RosterWriter) -> AppResult<Known> {
        let mut conn = self.db.acquire().await?;
        let villages: HashMap<String, String> = store::regions::villages(&mut conn, writer.scope())
            .await?
            .into_iter()
            .map(|r| (r.code, r.name))
            .collect();
        let mut village_by_name: HashMap<String, Option<String>> = HashMap::new();
        for (code, name) in &villages {
            village_by_name
                .entry(name.clone())
                .and_modify(|v| *v = None)
                .or_insert_with(|| Some(code.clone()));
        }
        let ids = store::roster::id_hash_index(&mut conn).await?;
        let households = ids
            .values()
            .filter(|(v, _)| writer.scope().contains(v))
            .cloned()
            .collect();
        Ok(Known {
            villages,
            village_by_name,
            ids,
            households,
        })
    }

    /// Checks and, if the whole file is good, writes a roster file. Errors in the file come back
    /// in the outcome (nothing written), not as `Err`.
    pub async fn import_roster(
        &self,
        writer: &RosterWriter,
        actor: &Actor,
        filename: &str,
        bytes: Vec<u8>,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> AppResult<ImportOutcome> {
        let _slot = upload_slot().await;
        self.import_roster_as(writer, actor, filename, bytes, progress, None)
            .await
    }

    /// The import itself; with a job, the job's outcome is written in the same transaction as
    /// the data when the file is good.
    async fn import_roster_as(
        &self,
        writer: &RosterWriter,
        actor: &Actor,
        filename: &str,
        bytes: Vec<u8>,
        progress: &(dyn Fn(Progress) + Send + Sync),
        job: Option<&JobLease>,
    ) -> AppResult<ImportOutcome> {
        if bytes.len() > MAX_FILE_BYTES {
            return Err(AppError::Invalid(format!(
                "文件过大（上限{}MB），请分成几个文件导入",
                MAX_FILE_BYTES / 1024 / 1024
            )));
        }
        let started = std::time::Instant::now();
        progress(Progress {
            phase: Phase::Reading,
            done: 0,
            total: 0,
        });
        let rows = tokio::task::spawn_blocking(move || read_rows(&bytes))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("reading the roster file: {e}")))?;
        let rows = match rows {
            Ok(r) => r,
            Err(report) => return Ok(ImportOutcome::refused(0, report)),
        };
        let total = rows.len();
        if total == 0 {
            let mut e = Errors::default();
            e.push(RowError {
                row: 0,
                column: String::new(),
                message: "文件中没有数据行".into(),
            });
            return Ok(ImportOutcome::refused(0, e.finish()));
        }
        let read_done = started.elapsed();
        let known = self.known_for_import(writer).await?;
        let keys = self.keys.clone();
        let (tx_p, mut rx_p) = tokio::sync::mpsc::unbounded_channel();
        let handle = tokio::task::spawn_blocking(move || {
            validate(rows, &known, &keys, |done| {
                let _ = tx_p.send(done);
            })
        });
        while let Some(done) = rx_p.recv().await {
            progress(Progress {
                phase: Phase::Checking,
                done,
                total,
            });
        }
        let plan = match handle
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("checking the roster rows: {e}")))?
        {
            Ok(p) => p,
            Err(report) => return Ok(ImportOutcome::refused(total, report)),
        };
        let checked = started.elapsed();
        let keys = self.keys.clone();
        let now = self.now_text();
        let writing = Progress {
            phase: Phase::Writing,
            done: 0,
            total: plan.new_rows.len(),
        };
        progress(writing);
        // A job's progress is not written while its write transaction is open (on SQLite it
        // would wait for the lock this import holds); the lease is renewed just before instead,
        // and a job whose lease has lapsed (shown as interrupted) writes nothing.
        let _gate = match job {
            Some(lease) => Some(self.renew_before_write(lease, writing).await?),
            None => None,
        };
        let mut tx = self.db.begin_write().await?;
        let household_ids =
            store::roster::insert_households(&mut tx, &plan.new_households, &now).await?;
        let mut existing: HashMap<(String, String), i64> = HashMap::new();
        let mut new_members = Vec::with_capacity(plan.new_rows.len());
        for g in &plan.new_rows {
            let key = (g.village_code.clone(), g.household_no.clone());
            let household_id = match household_ids.get(&key).or_else(|| existing.get(&key)) {
                Some(id) => *id,
                None => {
                    let h = store::roster::find_household(&mut tx, &key.0, &key.1)
                        .await?
                        .ok_or_else(|| {
                            AppError::Internal(anyhow::anyhow!("household vanished during import"))
                        })?;
                    existing.insert(key, h.id);
                    h.id
                }
            };
            new_members.push(g.to_new_member(&keys, household_id));
        }
        for (i, chunk) in new_members.chunks(4000).enumerate() {
            store::roster::insert_members(&mut tx, chunk, &now).await?;
            progress(Progress {
                phase: Phase::Writing,
                done: (i * 4000 + chunk.len()).min(new_members.len()),
                total: new_members.len(),
            });
        }
        let outcome = ImportOutcome {
            total_rows: plan.total,
            added_households: plan.new_households.len(),
            added_members: new_members.len(),
            unchanged_rows: plan.unchanged,
            ..Default::default()
        };
        let region = writer.scope().prefix().to_string();
        self.audit(
            &mut tx,
            actor,
            &region,
            AuditAction::RosterImport,
            filename,
            &format!(
                "新增{}户{}人，已登记未变{}行",
                outcome.added_households, outcome.added_members, outcome.unchanged_rows
            ),
        )
        .await?;
        if let Some(job) = job.map(|j| j.id) {
            // The outcome commits with the data: a job that reads "done" wrote its rows, and one
            // that does not wrote none, whenever the process stops. A job whose lease lapsed
            // meanwhile is not finished, and its data is rolled back.
            let recorded = store::imports::finish(
                &mut tx,
                job,
                &store::imports::Outcome {
                    status: "done",
                    total_rows: outcome.total_rows as i64,
                    added_members: outcome.added_members as i64,
                    unchanged_rows: outcome.unchanged_rows as i64,
                    errors_json: "[]",
                    error_total: 0,
                    errors_omitted_json: "[]",
                    message: "",
                },
                &self.now_text(),
                &self.lease_from(),
            )
            .await?;
            if !recorded {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "import job {job} already has an outcome or lost its lease"
                )));
            }
        }
        tx.commit().await.map_err(store::StoreError::from)?;
        tracing::info!(
            rows = plan.total,
            added = outcome.added_members,
            read_s = read_done.as_secs_f64(),
            check_s = (checked - read_done).as_secs_f64(),
            write_s = (started.elapsed() - checked).as_secs_f64(),
            "roster import"
        );
        Ok(outcome)
    }

    /// Starts an import in the background and returns its job number at once; the progress page
    /// follows it, on this server or any other sharing the database. A good file's outcome is
    /// stored with its data; a refused or failed one is stored when the job ends (retried until
    /// the database takes it, as long as the job holds its lease).
    ///
    /// Progress goes to the job's row, not to this process's memory: the import hands each step
    /// to a reporter task (a watch channel, never waiting), which writes the latest one at most
    /// every [`PROGRESS_EVERY`] and a heartbeat every [`HEARTBEAT_EVERY`], each as a statement of
    /// its own. While the import's write transaction is open the reporter waits (see
    /// [`JobLease`]); the import renews the lease itself just before.
    pub async fn start_import(
        &self,
        writer: RosterWriter,
        actor: Actor,
        filename: String,
        bytes: Vec<u8>,
    ) -> AppResult<i64> {
        let user_id = actor.user_id.ok_or(AppError::Forbidden)?;
        let region = writer.scope().prefix().to_string();
        let filename = shown_filename(&filename);
        let mut conn = self.db.acquire().await?;
        let job = store::imports::create(&mut conn, user_id, &region, &filename, &self.now_text())
            .await?;
        drop(conn);
        let lease = JobLease {
            id: job,
            gate: Arc::new(tokio::sync::Mutex::new(())),
        };
        let (report, reported) = tokio::sync::watch::channel(Progress::default());
        let report = Arc::new(report);
        tokio::spawn(self.clone().report_progress(lease.clone(), reported));
        let app = self.clone();
        tokio::spawn(async move {
            // The import runs as a task of its own, so that even a panic in it ends here, as a
            // failed job, instead of leaving the job running forever.
            let run = {
                let (app, report) = (app.clone(), report.clone());
                tokio::spawn(async move {
                    let _slot = upload_slot().await;
                    let progress = |x: Progress| {
                        report.send_replace(x);
                    };
                    app.import_roster_as(&writer, &actor, &filename, bytes, &progress, Some(&lease))
                        .await
                })
            };
            let result = match run.await {
                Ok(r) => r,
                Err(e) => Err(AppError::Internal(anyhow::anyhow!(
                    "import task ended: {e}"
                ))),
            };
            let (status, outcome, message) = match result {
                // Recorded in the data's transaction.
                Ok(o) if o.errors.is_empty() && o.error_total == 0 => return,
                Ok(o) => ("rejected", o, "文件有错误，未导入任何数据".to_string()),
                Err(AppError::Internal(e)) => {
                    tracing::error!(job, "import failed: {e:#}");
                    (
                        "failed",
                        ImportOutcome::default(),
                        "导入失败（系统错误），未写入任何数据，请稍后重新导入".to_string(),
                    )
                }
                Err(e) => ("failed", ImportOutcome::default(), e.to_string()),
            };
            let errors_json =
                serde_json::to_string(&outcome.errors).unwrap_or_else(|_| "[]".into());
            let omitted_json =
                serde_json::to_string(&outcome.omitted).unwrap_or_else(|_| "[]".into());
            let record = store::imports::Outcome {
                status,
                total_rows: outcome.total_rows as i64,
                added_members: 0,
                unchanged_rows: 0,
                errors_json: &errors_json,
                error_total: outcome.error_total as i64,
                errors_omitted_json: &omitted_json,
                message: &message,
            };
            report.send_replace(Progress {
                phase: Phase::Recording,
                done: 0,
                total: 0,
            });
            let mut wait = std::time::Duration::from_millis(200);
            loop {
                let attempt = async {
                    let mut conn = app.db.acquire().await?;
                    store::imports::finish(
                        &mut conn,
                        job,
                        &record,
                        &app.now_text(),
                        &app.lease_from(),
                    )
                    .await
                };
                match attempt.await {
                    // Recorded, or the job already ended (or lost its lease: it stays interrupted).
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(job, "could not record import outcome yet: {e}");
                        tokio::time::sleep(wait).await;
                        wait = (wait * 2).min(std::time::Duration::from_secs(30));
                    }
                }
            }
        });
        Ok(job)
    }

    /// Now minus the lease: jobs whose last sign of life is older have lapsed.
    fn lease_from(&self) -> String {
        store::timestamp(self.now() - chrono::Duration::from_std(JOB_LEASE).expect("short"))
    }

    /// Writes a job's progress to its row until the import ends (the sender is dropped), the job
    /// has an outcome, or its lease has lapsed. A failed write is retried with the next step.
    async fn report_progress(
        self,
        lease: JobLease,
        mut reported: tokio::sync::watch::Receiver<Progress>,
    ) {
        loop {
            // A new step, or a heartbeat when there is none.
            if let Ok(Err(_)) = tokio::time::timeout(HEARTBEAT_EVERY, reported.changed()).await {
                return;
            }
            let p = *reported.borrow_and_update();
            let gate = lease.gate.lock().await;
            let write = async {
                let mut conn = self.db.acquire().await?;
                store::imports::progress(
                    &mut conn,
                    lease.id,
                    p.phase.code(),
                    p.done as i64,
                    p.total as i64,
                    &self.now_text(),
                    &self.lease_from(),
                )
                .await
            };
            match write.await {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(job = lease.id, "could not record import progress: {e}"),
            }
            drop(gate);
            tokio::time::sleep(PROGRESS_EVERY).await;
        }
    }

    /// Takes the job's gate (no progress writes until it is dropped) and renews the lease with
    /// the writing step; an error when the job has ended or its lease has lapsed.
    async fn renew_before_write(
        &self,
        lease: &JobLease,
        writing: Progress,
    ) -> AppResult<tokio::sync::OwnedMutexGuard<()>> {
        let gate = lease.gate.clone().lock_owned().await;
        let mut conn = self.db.acquire().await?;
        let renewed = store::imports::progress(
            &mut conn,
            lease.id,
            writing.phase.code(),
            0,
            writing.total as i64,
            &self.now_text(),
            &self.lease_from(),
        )
        .await?;
        if !renewed {
            return Err(AppError::Internal(anyhow::anyhow!(
                "import job {} has ended or lost its lease before writing",
                lease.id
            )));
        }
        Ok(gate)
    }

    /// Ends the jobs whose process stopped (no outcome and no sign of life within
    /// [`JOB_LEASE`]) as failed; jobs of live processes, on this server or another sharing the
    /// database, are left alone. Run at start-up and from time to time.
    pub async fn end_interrupted_imports(&self) -> AppResult<u64> {
        let mut conn = self.db.acquire().await?;
        Ok(
            store::imports::fail_interrupted(&mut conn, &self.now_text(), &self.lease_from())
                .await?,
        )
    }

    /// An import job with its listed errors and, per column, how many more it left out.
    pub async fn import_job(
        &self,
        actor: &Actor,
        job: i64,
    ) -> AppResult<(store::imports::Job, Vec<RowError>, Vec<Omitted>)> {
        let mut conn = self.db.acquire().await?;
        let j = store::imports::get(&mut conn, &actor.scope(), job)
            .await?
            .ok_or(AppError::NotFound)?;
        let errors = serde_json::from_str(&j.errors_json).unwrap_or_default();
        let omitted = serde_json::from_str(&j.errors_omitted_json).unwrap_or_default();
        Ok((j, errors, omitted))
    }
}

/// Writes a roster .xlsx from rows of cells in `COLUMNS` order (demo data, tests, benchmarks).
pub fn roster_xlsx(rows: &[[String; COLUMNS.len()]]) -> AppResult<Vec<u8>> {
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
    build().map_err(|e| AppError::Internal(e.into()))
}

/// Roster rows for synthetic households (benchmarks, load tests, sample files), household
/// numbers counted per village.
pub fn population_rows(households: &[sim::Household]) -> Vec<[String; COLUMNS.len()]> {
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    let mut rows = Vec::new();
    for h in households {
        let n = numbers.entry(h.village_code.as_str()).or_default();
        *n += 1;
        for p in &h.members {
            let mut r: [String; COLUMNS.len()] = Default::default();
            r[C_VCODE] = h.village_code.clone();
            r[C_HNO] = format!("{:05}", n);
            r[C_NAME] = p.name.to_string();
            r[C_ID] = p.id_number.to_string();
            r[C_REL] = p.relation.label_zh().to_string();
            r[C_PHONE] = p
                .phone
                .as_ref()
                .map(|x| x.as_str().to_string())
                .unwrap_or_default();
            r[C_INS] = p.insurance.label_zh().to_string();
            if let Some((_, since)) = p.statuses.first() {
                r[C_STATUS] = p
                    .statuses
                    .iter()
                    .map(|(s, _)| s.label_zh())
                    .collect::<Vec<_>>()
                    .join("、");
                r[C_SINCE] = since.format("%Y-%m-%d").to_string();
            }
            rows.push(r);
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_common_spellings() {
        let d = NaiveDate::from_ymd_opt(2024, 1, 5).unwrap();
        for s in [
            "2024-01-05",
            "2024/1/5",
            "20240105",
            "2024年1月5日",
            "2024.01.05",
        ] {
            assert_eq!(parse_date(s), Some(d), "{s}");
        }
        assert_eq!(parse_date("2024-13-01"), None);
    }

    #[test]
    fn numbers_that_excel_cannot_hold_exactly_are_refused() {
        use calamine::DataRef;
        use sheet::cell_text;
        assert!(cell_text(&DataRef::Float(320982196503151234.0)).is_err());
        assert_eq!(
            cell_text(&DataRef::Float(13812345678.0)).unwrap(),
            "13812345678"
        );
    }

    #[test]
    fn file_names_are_shown_without_hidden_characters_and_bounded() {
        assert_eq!(shown_filename("花名册\0\u{202E}.xlsx"), "花名册.xlsx");
        assert_eq!(
            shown_filename(&"x".repeat(10_000)).len(),
            MAX_FILENAME_CHARS
        );
        assert_eq!(shown_filename("\0 "), "花名册.xlsx");
    }

    #[test]
    fn a_bounded_report_keeps_the_lowest_rows_of_each_kind_and_counts_the_rest() {
        let mut e = Errors::default();
        for row in (2..1_000_002).rev() {
            for column in ["姓名", "身份证号"] {
                e.push(RowError {
                    row,
                    column: column.into(),
                    message: "错".into(),
                });
            }
        }
        let r = e.finish();
        assert_eq!(r.total, 2_000_000);
        assert_eq!(r.shown.len(), 2 * MAX_SHOWN_PER_KIND);
        assert_eq!(r.shown[0].row, 2);
        assert_eq!(r.shown.last().unwrap().row, MAX_SHOWN_PER_KIND + 1);
        assert_eq!(
            r.omitted,
            vec![
                Omitted {
                    column: "姓名".into(),
                    count: 1_000_000 - MAX_SHOWN_PER_KIND
                },
                Omitted {
                    column: "身份证号".into(),
                    count: 1_000_000 - MAX_SHOWN_PER_KIND
                },
            ]
        );
    }

    #[test]
    fn template_has_the_header_row() {
        let bytes = template_xlsx().unwrap();
        let rows = read_rows(&bytes).ok().unwrap();
        assert!(rows.is_empty());
    }
}
