//! Filing a claim (申请补助) and adding documents to one. Staff and, later, residents' phones call
//! the same use case; each check at intake refuses with a Chinese reason the clerk can act on,
//! and nothing is written unless every check passes. Possible duplicates are not refused but
//! flagged to the coder.

use super::changed_meanwhile;
use crate::access::{Actor, ClaimIntake};
use crate::sms::{self, SmsMessage};
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::{
    AuditAction, ClaimChannel, ClaimEventKind, ClaimId, ClaimStatus, DocumentRole, DuplicateKind,
    Fen, InsuranceType,
};
use store::claims::{NewClaim, StayMoney};

/// The stay as the settlement sheet states it, parsed at the edge.
#[derive(Debug, Clone)]
pub struct StayInput {
    pub hospital_id: i64,
    pub admission: NaiveDate,
    pub discharge: NaiveDate,
    /// The member's insurance at the time; `None` takes the one recorded at enrolment.
    pub insurance: Option<InsuranceType>,
    pub total: Fen,
    pub basic: Fen,
    pub serious: Fen,
    pub assistance: Fen,
    pub settlement_no: String,
}

impl StayInput {
    /// Out of pocket: total − basic insurance − 大病保险 − 医疗救助.
    pub fn out_of_pocket(&self) -> Option<Fen> {
        self.total
            .checked_sub(self.basic)?
            .checked_sub(self.serious)?
            .checked_sub(self.assistance)
    }
}

/// One uploaded file: which document it is (a document may have several pages, each a file).
#[derive(Debug, Clone)]
pub struct Upload {
    pub role: DocumentRole,
    pub bytes: Vec<u8>,
}

/// An upload checked, cleaned and written (encrypted) to the document store.
struct Stored {
    role: DocumentRole,
    prepared: documents::Prepared,
    object: String,
    thumb: Option<String>,
}

/// At most this many files on one claim (three documents of several pages each, and more).
pub const MAX_FILES_PER_CLAIM: usize = 30;

impl App {
    /// Files a claim for a member in the intake's area; returns its id. The member gets an SMS
    /// ("…已受理…") through the outbox, committed with the claim.
    pub async fn file_claim(
        &self,
        intake: &ClaimIntake,
        actor: &Actor,
        member_id: i64,
        stay: StayInput,
        uploads: Vec<Upload>,
    ) -> AppResult<ClaimId> {
        let mut conn = self.db.acquire().await?;
        let member = store::roster::get_member(&mut conn, intake.scope(), member_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let checked = self
            .check_intake(&mut conn, &member, &stay, &uploads)
            .await?;
        drop(conn);
        let prepared = prepare_all(uploads).await?;
        let stored = self.store_documents(prepared).await?;
        let result = self
            .write_claim(actor, &member, &stay, &checked, &stored)
            .await;
        if result.is_err() {
            self.forget_documents(&stored).await;
        }
        result
    }

    /// Adds documents to a claim (pages the coder asked for, or forgotten ones). A claim waiting
    /// for documents goes back to the coder and its clock restarts with the days it had left.
    pub async fn add_claim_documents(
        &self,
        intake: &ClaimIntake,
        actor: &Actor,
        id: ClaimId,
        uploads: Vec<Upload>,
    ) -> AppResult<()> {
        if uploads.is_empty() {
            return Err(AppError::Invalid("请选择要上传的材料".into()));
        }
        let prepared = prepare_all(uploads).await?;
        let stored = self.store_documents(prepared).await?;
        let result = self.attach_documents(intake, actor, id, &stored).await;
        if result.is_err() {
            self.forget_documents(&stored).await;
        }
        result
    }

    async fn attach_documents(
        &self,
        intake: &ClaimIntake,
        actor: &Actor,
        id: ClaimId,
        stored: &[Stored],
    ) -> AppResult<()> {
        let mut tx = self.db.begin_write().await?;
        let claim = store::claims::get(&mut tx, intake.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        if claim.status.is_decided() {
            return Err(AppError::Conflict(
                "该申请已作出决定，不能再补交材料；如需更正请由审核员重新打开".into(),
            ));
        }
        let existing = store::claims::documents(&mut tx, id).await?.len();
        if existing + stored.len() > MAX_FILES_PER_CLAIM {
            return Err(AppError::Invalid(format!(
                "每件申请最多 {MAX_FILES_PER_CLAIM} 个文件，已有 {existing} 个"
            )));
        }
        let now = self.now_text();
        record_documents(&mut tx, &claim.pool_code, id, stored, &actor.username, &now).await?;
        let mut to = claim.status;
        if claim.status == ClaimStatus::AwaitingDocuments {
            let year = load_year(&mut tx, &store::Scope::all(), claim.year_id).await?;
            let left = claim
                .days_left_paused
                .unwrap_or(year.rules.decision_working_days);
            let due = year.rules.calendar.add_working_days(self.today(), left);
            let t = store::claims::Transition {
                due_on: Some(due),
                paused: Some(None),
                ..Default::default()
            };
            to = ClaimStatus::Received;
            if !store::claims::transition(&mut tx, id, claim.status, claim.revision, to, &t).await?
            {
                return Err(changed_meanwhile());
            }
        }
        let note = format!("补交 {} 个文件", stored.len());
        event(
            &mut tx,
            id,
            &now,
            actor,
            ClaimEventKind::DocumentsAdded,
            claim.status,
            to,
            &note,
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            &claim.village_code,
            AuditAction::ClaimAddDocuments,
            &format!("claim:{id}"),
            &note,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }

    /// Every check that can refuse an application, all reported at once.
    async fn check_intake(
        &self,
        conn: &mut store::Conn,
        member: &store::roster::Member,
        stay: &StayInput,
        uploads: &[Upload],
    ) -> AppResult<Checked> {
        let mut problems = stay_problems(stay, self.today());
        // Only a hospital of the member's own county's register (the register's area rule).
        let village = domain::RegionCode::parse(&member.village_code).map_err(|e| {
            AppError::Internal(anyhow::anyhow!("village {}: {e}", member.village_code))
        })?;
        let id = domain::HospitalId(stay.hospital_id);
        let hospital = store::hospitals::get(conn, &store::Scope::region(&village), id).await?;
        match &hospital {
            None => problems.push("请从医院名录中选择住院医院".into()),
            Some(h) if !h.active => problems.push(format!("{} 已停用，请选择其他医院", h.name)),
            Some(_) => {}
        }
        problems.extend(missing_documents(uploads));
        let Some((year_id, pool_code)) =
            store::claims::year_covering(conn, &member.village_code, stay.admission).await?
        else {
            problems.push(format!(
                "入院日期 {} 不在任何互助年度的保障期内",
                stay.admission
            ));
            return Err(AppError::Invalid(problems.join("；")));
        };
        let year = load_year(conn, &store::Scope::all(), year_id).await?;
        let line = store::claims::enrolment_line(conn, year_id, member.id).await?;
        let (consecutive, insurance) = match line {
            Some((c, ins, true)) => (c, stay.insurance.unwrap_or(ins)),
            _ => {
                problems.push(format!(
                    "{} 未参加 {}（或参保登记已冲正），不能申请补助",
                    member.name, year.row.label
                ));
                (1, stay.insurance.unwrap_or(InsuranceType::Resident))
            }
        };
        if line.is_some() && !village_counted(conn, &year, &member.village_code).await? {
            problems.push("所在村参保率未达到本年度规定的比例，该村成员本年度不享受补助".into());
        }
        if let Some(oop) = stay.out_of_pocket() {
            let t = year.rules.thresholds.get(insurance);
            if !t.is_met(stay.total, oop) {
                problems.push(format!(
                    "未达到起付线：{}的起付线为{}（本次总费用 {} 元，个人自付 {} 元）",
                    insurance.label_zh(),
                    t.label_zh(),
                    stay.total,
                    oop
                ));
            }
        }
        if !problems.is_empty() {
            return Err(AppError::Invalid(problems.join("；")));
        }
        Ok(Checked {
            year,
            pool_code,
            consecutive,
            insurance,
            hospital: hospital.expect("checked above"),
        })
    }

    async fn store_documents(
        &self,
        prepared: Vec<(DocumentRole, documents::Prepared)>,
    ) -> AppResult<Vec<Stored>> {
        let mut stored = Vec::with_capacity(prepared.len());
        for (role, p) in prepared {
            let object = documents::new_object_name();
            let thumb = p.thumbnail.as_ref().map(|_| documents::new_object_name());
            let s = Stored {
                role,
                object,
                thumb,
                prepared: p,
            };
            let put = async {
                self.documents.put(&s.object, &s.prepared.bytes).await?;
                if let (Some(name), Some(bytes)) = (&s.thumb, &s.prepared.thumbnail) {
                    self.documents.put(name, bytes).await?;
                }
                Ok::<(), documents::StoreError>(())
            }
            .await;
            stored.push(s);
            if let Err(e) = put {
                self.forget_documents(&stored).await;
                return Err(AppError::Internal(anyhow::anyhow!("document store: {e}")));
            }
        }
        Ok(stored)
    }

    /// Removes objects whose claim was not written (best effort: an object left behind is
    /// ciphertext that no row names).
    async fn forget_documents(&self, stored: &[Stored]) {
        for s in stored {
            for name in std::iter::once(&s.object).chain(s.thumb.as_ref()) {
                if let Err(e) = self.documents.delete(name).await {
                    tracing::warn!("could not remove unused document {name}: {e}");
                }
            }
        }
    }

    async fn write_claim(
        &self,
        actor: &Actor,
        member: &store::roster::Member,
        stay: &StayInput,
        checked: &Checked,
        stored: &[Stored],
    ) -> AppResult<ClaimId> {
        let now = self.now_text();
        let today = self.today();
        let rules = &checked.year.rules;
        let due = rules
            .calendar
            .add_working_days(today, rules.decision_working_days);
        let money = StayMoney {
            total: stay.total,
            basic: stay.basic,
            serious: stay.serious,
            assistance: stay.assistance,
            out_of_pocket: stay
                .out_of_pocket()
                .ok_or_else(|| AppError::Invalid("金额有误".into()))?,
        };
        let mut tx = self.db.begin_write().await?;
        let mut inserted = None;
        for _ in 0..8 {
            let no = application_no(today);
            let new = NewClaim {
                application_no: &no,
                year_id: checked.year.row.id,
                pool_code: &checked.pool_code,
                member_id: member.id,
                household_id: member.household_id,
                village_code: &member.village_code,
                channel: ClaimChannel::Staff,
                hospital_id: stay.hospital_id,
                admission: stay.admission,
                discharge: stay.discharge,
                insurance: checked.insurance,
                consecutive_years: checked.consecutive,
                money,
                settlement_no: &stay.settlement_no,
                received_at: &now,
                received_on: today,
                received_by: &actor.username,
                due_on: due,
            };
            if let Some(id) = store::claims::insert(&mut tx, &new).await? {
                inserted = Some((id, no));
                break;
            }
        }
        let (id, no) = inserted
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no free application number")))?;
        record_documents(
            &mut tx,
            &checked.pool_code,
            id,
            stored,
            &actor.username,
            &now,
        )
        .await?;
        flag_duplicates(&mut tx, id, member.id, stay, &checked.pool_code).await?;
        let note = format!(
            "{}，{} 至 {}",
            checked.hospital.name, stay.admission, stay.discharge
        );
        event(
            &mut tx,
            id,
            &now,
            actor,
            ClaimEventKind::Received,
            ClaimStatus::Received,
            ClaimStatus::Received,
            &note,
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            &member.village_code,
            AuditAction::ClaimReceive,
            &format!("claim:{id}"),
            &no,
        )
        .await?;
        self.notify(
            &mut tx,
            member,
            id,
            &SmsMessage::ClaimReceived { application_no: no },
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(id)
    }

    /// Queues an SMS to the member, if a phone is on the roster (inside the caller's
    /// transaction). No SMS ever names a diagnosis.
    pub(crate) async fn notify(
        &self,
        conn: &mut store::Conn,
        member: &store::roster::Member,
        id: ClaimId,
        message: &SmsMessage,
    ) -> AppResult<()> {
        let Some(cipher) = &member.phone_cipher else {
            return Ok(());
        };
        let phone = domain::Phone::parse(&self.keys.decrypt(cipher)?)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("stored phone: {e}")))?;
        sms::enqueue(
            conn,
            &self.keys,
            &phone,
            &member.village_code,
            &format!("claim:{id}"),
            message,
            self.now(),
        )
        .await?;
        Ok(())
    }
}

struct Checked {
    year: Year,
    pool_code: String,
    consecutive: u32,
    insurance: InsuranceType,
    hospital: domain::Hospital,
}

fn stay_problems(stay: &StayInput, today: NaiveDate) -> Vec<String> {
    let mut p = Vec::new();
    if stay.discharge < stay.admission {
        p.push("出院日期早于入院日期".to_string());
    }
    if stay.discharge > today || stay.admission > today {
        p.push("住院日期不能晚于今天".to_string());
    }
    if stay.total <= Fen::ZERO {
        p.push("住院总费用应大于 0".to_string());
    }
    if stay.basic < Fen::ZERO || stay.serious < Fen::ZERO || stay.assistance < Fen::ZERO {
        p.push("报销金额不能为负数".to_string());
    }
    match stay.out_of_pocket() {
        Some(oop) if oop >= Fen::ZERO => {}
        _ => p.push("统筹支付、大病保险和医疗救助之和超过了住院总费用".to_string()),
    }
    if stay.settlement_no.trim().is_empty() {
        p.push("请填写医保结算单号".to_string());
    }
    p
}

fn missing_documents(uploads: &[Upload]) -> Vec<String> {
    DocumentRole::REQUIRED
        .into_iter()
        .filter(|r| !uploads.iter().any(|u| u.role == *r && !u.bytes.is_empty()))
        .map(|r| format!("缺少{}（请拍照或选择文件上传）", r.label_zh()))
        .collect()
}

/// Checks and cleans every upload off the async threads; all problems reported at once.
async fn prepare_all(uploads: Vec<Upload>) -> AppResult<Vec<(DocumentRole, documents::Prepared)>> {
    if uploads.len() > MAX_FILES_PER_CLAIM {
        return Err(AppError::Invalid(format!(
            "每件申请最多 {MAX_FILES_PER_CLAIM} 个文件"
        )));
    }
    let total: usize = uploads.iter().map(|u| u.bytes.len()).sum();
    if total > documents::MAX_CLAIM_BYTES {
        return Err(AppError::Invalid(format!(
            "材料合计超过 {} MB，请减少页数或降低照片分辨率",
            documents::MAX_CLAIM_BYTES / 1024 / 1024
        )));
    }
    // Photos are decoded and re-encoded (seconds for a 12-megapixel picture): at most
    // `MAX_CONCURRENT_UPLOADS` uploads are processed at once, as for spreadsheets.
    let _turn = crate::import::upload_slot().await;
    let results = tokio::task::spawn_blocking(move || {
        uploads
            .into_iter()
            .enumerate()
            .map(|(i, u)| (i, u.role, documents::prepare(&u.bytes)))
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| AppError::Internal(anyhow::anyhow!("document check: {e}")))?;
    let mut ok = Vec::new();
    let mut problems = Vec::new();
    for (i, role, r) in results {
        match r {
            Ok(p) => ok.push((role, p)),
            Err(e) => problems.push(format!(
                "{}（第 {} 个文件）：{}",
                role.label_zh(),
                i + 1,
                e.message_zh()
            )),
        }
    }
    if problems.is_empty() {
        Ok(ok)
    } else {
        Err(AppError::Invalid(problems.join("；")))
    }
}

async fn record_documents(
    conn: &mut store::Conn,
    pool_code: &str,
    id: ClaimId,
    stored: &[Stored],
    by: &str,
    at: &str,
) -> AppResult<()> {
    for s in stored {
        let kind = s.prepared.kind.as_str();
        store::claims::insert_document(
            conn,
            &store::claims::NewDocument {
                claim_id: id,
                pool_code,
                role: s.role,
                kind,
                object_name: &s.object,
                thumb_name: s.thumb.as_deref(),
                bytes: s.prepared.bytes.len() as i64,
                pages: i64::from(s.prepared.pages),
                sha256: &s.prepared.sha256,
                uploaded_by: by,
                uploaded_at: at,
            },
        )
        .await?;
        for other in store::claims::same_document(conn, pool_code, &s.prepared.sha256, id).await? {
            store::claims::insert_flag(conn, id, DuplicateKind::SameDocument, other).await?;
        }
    }
    Ok(())
}

async fn flag_duplicates(
    conn: &mut store::Conn,
    id: ClaimId,
    member_id: i64,
    stay: &StayInput,
    pool_code: &str,
) -> AppResult<()> {
    for other in
        store::claims::overlapping(conn, member_id, stay.admission, stay.discharge, id).await?
    {
        store::claims::insert_flag(conn, id, DuplicateKind::OverlappingStay, other).await?;
    }
    for other in
        store::claims::same_settlement(conn, pool_code, stay.settlement_no.trim(), id).await?
    {
        store::claims::insert_flag(conn, id, DuplicateKind::SameSettlementNo, other).await?;
    }
    // A member who had a subsidy recovered for fraud: every later claim says so to the coder.
    for other in store::payout::member_recoveries(conn, member_id).await? {
        store::claims::insert_flag(conn, id, DuplicateKind::PriorRecovery, other).await?;
    }
    Ok(())
}

/// Appends a line to the claim's history.
// The history line is what it is: who, when, what, from where to where, why.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn event(
    conn: &mut store::Conn,
    id: ClaimId,
    at: &str,
    actor: &Actor,
    kind: ClaimEventKind,
    from: ClaimStatus,
    to: ClaimStatus,
    note: &str,
) -> AppResult<()> {
    store::claims::insert_event(
        conn,
        &store::claims::NewEvent {
            claim_id: id,
            at,
            by: &actor.display_name,
            kind,
            from,
            to,
            note,
        },
    )
    .await?;
    Ok(())
}

/// Whether the village's members are in the pool this year (a village below the participation
/// threshold is left out where the rules say so). Reads the kept per-village figures of one
/// village, so its cost does not grow with the pool.
async fn village_counted(
    conn: &mut store::Conn,
    year: &Year,
    village_code: &str,
) -> AppResult<bool> {
    if !year.rules.below_threshold_excluded {
        return Ok(true);
    }
    let code = domain::RegionCode::parse(village_code)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("village {village_code}: {e}")))?;
    let scope = store::Scope::region(&code);
    let counts = store::roster::counts_by_village(conn, &scope).await?;
    let enrolled = store::enrolment::village_figures(conn, year.row.id, &scope).await?;
    let region = store::regions::get(conn, &scope, village_code).await?;
    let c = counts.get(village_code).cloned().unwrap_or_default();
    let e = enrolled
        .into_iter()
        .find(|v| v.village_code == village_code)
        .unwrap_or_default();
    let input = scheme::VillageInput {
        code: village_code.to_string(),
        name: String::new(),
        registered: c.members as u64,
        enrolled: e.members as u64,
        registered_households: c.households as u64,
        enrolled_households: e.households as u64,
        enrolled_by_statuses: Vec::new(),
        special: region.is_some_and(|r| r.is_virtual),
    };
    let figures = scheme::pool_figures(&year.rules, &[input]);
    Ok(figures.villages.first().is_some_and(|v| v.counted))
}

/// A new application number: the day received and six random digits (not guessable from
/// another claim's, so a resident's number reveals nothing of others').
fn application_no(today: NaiveDate) -> String {
    use rand::Rng;
    let n: u32 = rand::thread_rng().gen_range(0..1_000_000);
    format!("{}{n:06}", today.format("%Y%m%d"))
}
