//! Enrolling whole households (整户参加), one at a time by a clerk or many from a spreadsheet or
//! a renewal, and reversing a clerical mistake. Every enrolment posts its money to the ledger
//! in the same transaction: the personal part received, the other payers' parts receivable.

use crate::access::{Actor, Enroller};
use crate::year::{load_year, Year};
use crate::{App, AppError, AppResult};
use chrono::{Datelike, NaiveDate};
use domain::{AuditAction, Fen, SpecialStatus};
use ledger::{Account, Entry, EntryKind};
use scheme::Payer;
use std::collections::{BTreeMap, HashMap};
use store::enrolment::{EnrolmentRow, MemberLine, NewEnrolment, NewMemberLine, RosterLine};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentMethod {
    Cash,
    Transfer,
    Online,
    /// Nothing to collect: every member's personal part is paid by someone else.
    NoneDue,
}

impl PaymentMethod {
    pub const ALL: [PaymentMethod; 4] = [Self::Cash, Self::Transfer, Self::Online, Self::NoneDue];
    pub fn code(self) -> &'static str {
        match self {
            Self::Cash => "cash",
            Self::Transfer => "transfer",
            Self::Online => "online",
            Self::NoneDue => "none",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Cash => "现金",
            Self::Transfer => "银行转账",
            Self::Online => "线上缴费",
            Self::NoneDue => "无需个人缴费",
        }
    }
    pub fn parse(s: &str) -> Option<PaymentMethod> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|m| m.code() == s || m.label_zh() == s)
            .or(match s {
                "转账" => Some(Self::Transfer),
                "线上" | "微信" | "支付宝" | "网上缴费" => Some(Self::Online),
                "无" | "免缴" => Some(Self::NoneDue),
                _ => None,
            })
    }
}

/// The only reasons a registered member may stay out of an enrolled household.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveOut {
    Deceased,
    MovedAway,
    EnrolledElsewhere,
    /// The year's rules exclude the member's special status (e.g. 海安: people covered by other
    /// schemes). Set by the system, never chosen by a clerk.
    Ineligible,
}

impl LeaveOut {
    /// The reasons a clerk may choose.
    pub const ALL: [LeaveOut; 3] = [Self::Deceased, Self::MovedAway, Self::EnrolledElsewhere];
    pub fn code(self) -> &'static str {
        match self {
            Self::Deceased => "deceased",
            Self::MovedAway => "moved_away",
            Self::EnrolledElsewhere => "enrolled_elsewhere",
            Self::Ineligible => "ineligible",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Deceased => "已故",
            Self::MovedAway => "户籍迁出",
            Self::EnrolledElsewhere => "已在他处参加",
            Self::Ineligible => "不属于本年度参加对象",
        }
    }
    pub fn parse(s: &str) -> Option<LeaveOut> {
        let s = s.trim();
        Self::ALL
            .into_iter()
            .find(|r| r.code() == s || r.label_zh() == s)
            .or(match s {
                "死亡" | "去世" => Some(Self::Deceased),
                "迁出" => Some(Self::MovedAway),
                "他处参加" | "异地参加" => Some(Self::EnrolledElsewhere),
                _ => None,
            })
    }
}

/// What the clerk submits for one household.
#[derive(Debug, Clone)]
pub struct EnrolHousehold {
    pub household_id: i64,
    pub left_out: Vec<(i64, LeaveOut)>,
    pub method: PaymentMethod,
    pub payment_reference: String,
}

/// The enrolment side of one page of a year's village list (`App::village_enrolment_page`).
#[derive(Debug, Clone)]
pub struct VillageEnrolments {
    /// Active enrolments of the page's households.
    pub active: Vec<EnrolmentRow>,
    /// Households of the whole village actively enrolled.
    pub active_households: i64,
    /// Reversed enrolments of the village, newest first.
    pub reversed: Vec<EnrolmentRow>,
}

/// An enrolment with its member lines, for the receipt and the household page.
#[derive(Debug, Clone)]
pub struct Enrolment {
    pub row: EnrolmentRow,
    pub lines: Vec<MemberLine>,
    pub year: Year,
}

#[derive(Debug, Clone)]
pub struct PreviewMember {
    pub line: RosterLine,
    pub statuses: Vec<SpecialStatus>,
    pub dues: scheme::MemberDues,
}

#[derive(Debug, Clone)]
pub struct EnrolPreview {
    pub year: Year,
    pub household: store::roster::Household,
    pub members: Vec<PreviewMember>,
    pub history: Vec<EnrolmentRow>,
}

/// One household's enrolment, worked out before anything is written.
struct Planned {
    enrolment: NewEnrolment,
    lines: Vec<NewMemberLine>,
    entry: Entry,
}

fn age_on(birth: &str, on: NaiveDate) -> i64 {
    NaiveDate::parse_from_str(birth, "%Y-%m-%d")
        .map(|b| {
            let mut age = on.year() - b.year();
            if (on.month(), on.day()) < (b.month(), b.day()) {
                age -= 1;
            }
            age.max(0) as i64
        })
        .unwrap_or(0)
}

/// The context shared by every household of one enrolment run.
struct Run<'a> {
    year: &'a Year,
    today: NaiveDate,
    by: &'a str,
    at: &'a str,
    /// Consecutive-year counts of last year's members.
    previous: &'a HashMap<i64, i64>,
}

impl Run<'_> {
    /// Works out one household's enrolment, or says in Chinese why it cannot be made.
    fn plan(
        &self,
        members: &[&RosterLine],
        req: &EnrolHousehold,
        receipt_no: String,
    ) -> Result<Planned, String> {
        let rules = &self.year.rules;
        let Some(first) = members.first() else {
            return Err("该户没有登记成员".into());
        };
        let left: HashMap<i64, LeaveOut> = req.left_out.iter().cloned().collect();
        if let Some(stranger) = left
            .keys()
            .find(|id| !members.iter().any(|m| m.member_id == **id))
        {
            return Err(format!("成员 {stranger} 不属于该户"));
        }
        let mut lines = Vec::with_capacity(members.len());
        let mut due: BTreeMap<Payer, Fen> = BTreeMap::new();
        for m in members {
            let statuses: Vec<SpecialStatus> = m
                .statuses
                .iter()
                .filter_map(|s| SpecialStatus::from_code(s))
                .collect();
            let leave = match rules.ineligible_status(&statuses) {
                Some(_) => Some(&LeaveOut::Ineligible),
                None => left.get(&m.member_id),
            };
            let dues = if leave.is_some() {
                Vec::new()
            } else {
                rules.dues_for_member(&m.village_code, &statuses).parts
            };
            let of = |p: Payer| {
                dues.iter()
                    .filter(|(q, _)| *q == p)
                    .map(|(_, f)| *f)
                    .sum::<Fen>()
            };
            for (p, f) in &dues {
                *due.entry(*p).or_insert(Fen(0)) += *f;
            }
            lines.push(NewMemberLine {
                member_id: m.member_id,
                village_code: m.village_code.clone(),
                included: leave.is_none(),
                exclusion_reason: leave.map(|r| r.code().to_string()).unwrap_or_default(),
                consecutive_years: if leave.is_some() {
                    0
                } else {
                    self.previous.get(&m.member_id).copied().unwrap_or(0) + 1
                },
                age: age_on(&m.birth_date, rules.period_start),
                sex: m.sex,
                insurance: m.insurance.clone(),
                statuses: m.statuses.join(","),
                due_personal: of(Payer::Personal).fen(),
                due_village: of(Payer::VillageCollective).fen(),
                due_town: of(Payer::Town).fen(),
                due_county: of(Payer::County).fen(),
                due_charity: of(Payer::Charity).fen(),
            });
        }
        if !lines.iter().any(|l| l.included) {
            return Err("整户参加：户内没有可以参加的成员".into());
        }
        let personal = due.get(&Payer::Personal).copied().unwrap_or(Fen(0));
        let method = if personal.fen() == 0 {
            // Nothing was collected, whatever the form said.
            PaymentMethod::NoneDue
        } else if req.method == PaymentMethod::NoneDue {
            return Err(format!("该户个人应缴 {personal} 元，请选择缴费方式"));
        } else {
            req.method
        };
        let included = lines.iter().filter(|l| l.included).count();
        let total: Fen = due.values().copied().sum();
        let mut entry = Entry::new(
            EntryKind::Enrolment,
            self.today,
            format!(
                "{}户 {} 人参加，收据 {receipt_no}",
                first.household_no, included
            ),
            format!("household:{}", first.household_id),
        );
        for (payer, amount) in &due {
            entry = if *payer == Payer::Personal {
                entry.debit(Account::FundBank, *amount)
            } else {
                entry.debit(Account::Receivable(*payer), *amount)
            };
        }
        for (payer, amount) in &due {
            entry = entry.credit(Account::Contributions(*payer), *amount);
        }
        entry.check().map_err(|e| e.to_string())?;
        domain::text::check(req.payment_reference.trim(), PAYMENT_REFERENCE_MAX)
            .map_err(|e| format!("缴费凭证号{e}"))?;
        Ok(Planned {
            enrolment: NewEnrolment {
                year_id: self.year.row.id,
                rules_version: self.year.row.current_version,
                household_id: first.household_id,
                village_code: first.village_code.clone(),
                payment_method: method.code().to_string(),
                payment_reference: req.payment_reference.trim().to_string(),
                receipt_no,
                members: included as i64,
                personal_fen: personal.fen(),
                total_fen: total.fen(),
                entry_no: 0,
                enrolled_by: self.by.to_string(),
                enrolled_at: self.at.to_string(),
            },
            lines,
            entry,
        })
    }
}

/// Receipt numbers: year, household, and which enrolment of the household this is (a reversed
/// one keeps its number), so a receipt never names two enrolments.
fn receipt_no(year: &Year, household_id: i64, nth: usize) -> String {
    format!(
        "{}-{:07}-{}",
        year.rules.period_start.year(),
        household_id,
        nth
    )
}

impl App {
    /// Enrols one household. Refused outside the payment window, for a household already
    /// enrolled this year, or when a member is left out without a reason.
    pub async fn enrol_household(
        &self,
        w: &Enroller,
        actor: &Actor,
        year_id: i64,
        req: &EnrolHousehold,
    ) -> AppResult<i64> {
        let today = self.today();
        let mut tx = self.db.begin_write().await?;
        let year = load_year(&mut tx, w.scope(), year_id).await?;
        check_window(&year, today)?;
        let household = store::roster::get_household(&mut tx, w.scope(), req.household_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !household.village_code.starts_with(&year.row.pool_code) {
            return Err(AppError::Invalid(format!(
                "该户不属于{}互助基金的范围",
                year.row.pool_name
            )));
        }
        let history =
            store::enrolment::history_for_household(&mut tx, year_id, household.id).await?;
        if let Some(active) = history.iter().find(|e| e.active) {
            return Err(already_enrolled(active));
        }
        let roster = store::enrolment::roster_lines(
            &mut tx,
            w.scope(),
            Some(household.id),
            &today.to_string(),
        )
        .await?;
        let previous = previous_members(&mut tx, &year).await?;
        let now = self.now_text();
        let run = Run {
            year: &year,
            today,
            by: &actor.username,
            at: &now,
            previous: &previous,
        };
        let members: Vec<&RosterLine> = roster.iter().collect();
        let planned = run
            .plan(
                &members,
                req,
                receipt_no(&year, household.id, history.len() + 1),
            )
            .map_err(AppError::Invalid)?;
        let ids = write_planned(
            &mut tx,
            self.keys.chain_key(),
            &year,
            &actor.username,
            &now,
            vec![planned],
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            &household.village_code,
            AuditAction::EnrolHousehold,
            &format!("household:{}", household.id),
            &format!("year {year_id}, enrolment {}", ids[0]),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(ids[0])
    }

    /// What the enrolment form shows: the household's registered members with what each
    /// would owe under the year's current rules.
    pub async fn enrol_preview(
        &self,
        actor: &Actor,
        year_id: i64,
        household_id: i64,
    ) -> AppResult<EnrolPreview> {
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, &actor.scope(), year_id).await?;
        let household = store::roster::get_household(&mut conn, &actor.scope(), household_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if !household.village_code.starts_with(&year.row.pool_code) {
            return Err(AppError::NotFound);
        }
        let lines = store::enrolment::roster_lines(
            &mut conn,
            &actor.scope(),
            Some(household_id),
            &self.today().to_string(),
        )
        .await?;
        let history =
            store::enrolment::history_for_household(&mut conn, year_id, household_id).await?;
        let members = lines
            .into_iter()
            .map(|l| {
                let statuses: Vec<SpecialStatus> = l
                    .statuses
                    .iter()
                    .filter_map(|s| SpecialStatus::from_code(s))
                    .collect();
                let dues = year.rules.dues_for_member(&l.village_code, &statuses);
                PreviewMember {
                    line: l,
                    statuses,
                    dues,
                }
            })
            .collect();
        Ok(EnrolPreview {
            year,
            household,
            members,
            history,
        })
    }

    pub async fn enrolment(&self, actor: &Actor, id: i64) -> AppResult<Enrolment> {
        let mut conn = self.db.acquire().await?;
        let row = store::enrolment::get(&mut conn, &actor.scope(), id)
            .await?
            .ok_or(AppError::NotFound)?;
        let year = load_year(&mut conn, &actor.scope(), row.year_id).await?;
        let lines = store::enrolment::member_lines(&mut conn, id).await?;
        Ok(Enrolment { row, lines, year })
    }

    /// The household's enrolments in the year (active first, then reversed ones).
    pub async fn household_enrolments(
        &self,
        actor: &Actor,
        year_id: i64,
        household_id: i64,
    ) -> AppResult<Vec<EnrolmentRow>> {
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        store::roster::get_household(&mut conn, &actor.scope(), household_id)
            .await?
            .ok_or(AppError::NotFound)?;
        Ok(store::enrolment::history_for_household(&mut conn, year_id, household_id).await?)
    }

    /// Every enrolment of a village in a year (active and reversed), newest first.
    pub async fn village_enrolments(
        &self,
        actor: &Actor,
        year_id: i64,
        village_code: &str,
    ) -> AppResult<Vec<EnrolmentRow>> {
        if !actor.scope().contains(village_code) {
            return Err(AppError::NotFound);
        }
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        Ok(store::enrolment::for_village(&mut conn, year_id, village_code).await?)
    }

    /// What the year's village page shows beside one page of the village's households: the
    /// active enrolments of those households, how many households of the village are enrolled,
    /// and the village's reversed enrolments. Reads only the page's rows, not the village's.
    pub async fn village_enrolment_page(
        &self,
        actor: &Actor,
        year_id: i64,
        village_code: &str,
        household_ids: &[i64],
    ) -> AppResult<VillageEnrolments> {
        if !actor.scope().contains(village_code) {
            return Err(AppError::NotFound);
        }
        let mut conn = self.db.acquire().await?;
        load_year(&mut conn, &actor.scope(), year_id).await?;
        let active = store::enrolment::active_for_households(
            &mut conn,
            year_id,
            village_code,
            household_ids,
        )
        .await?;
        let active_households =
            store::enrolment::active_count(&mut conn, year_id, village_code).await?;
        let reversed =
            store::enrolment::reversed_for_village(&mut conn, year_id, village_code).await?;
        Ok(VillageEnrolments {
            active,
            active_households,
            reversed,
        })
    }

    /// Reverses an enrolment entered by mistake: the enrolment stays on record marked reversed
    /// and the ledger gets the exact negation of its entry. Fees are not refunded through this:
    /// it corrects the books, it does not hand money back.
    pub async fn reverse_enrolment(
        &self,
        w: &Enroller,
        actor: &Actor,
        enrolment_id: i64,
        reason: &str,
    ) -> AppResult<()> {
        let reason = &crate::error::typed_text("冲正原因", reason, Some("冲正须填写原因"))?;
        let mut tx = self.db.begin_write().await?;
        let row = store::enrolment::get(&mut tx, w.scope(), enrolment_id)
            .await?
            .ok_or(AppError::NotFound)?;
        let year = load_year(&mut tx, w.scope(), row.year_id).await?;
        if !year.is_open() {
            return Err(AppError::Invalid("年度已关闭，不能冲正".into()));
        }
        if !row.active {
            return Err(AppError::Conflict("该参保记录已冲正".into()));
        }
        let original = store::ledger::entry(&mut tx, &year.row.pool_code, row.entry_no).await?;
        let lines: Vec<ledger::Line> = original
            .iter()
            .map(|p| ledger::Line {
                account: Account::parse(&p.account).expect("verified account codes"),
                amount: Fen(p.amount_fen),
            })
            .collect();
        let entry = Entry::reversal_of(&lines, row.entry_no, self.today(), reason);
        let now = self.now_text();
        let numbers = store::ledger::append(
            &mut tx,
            &store::ledger::Recording {
                key: self.keys.chain_key(),
                pool_code: &year.row.pool_code,
                year_id: year.row.id,
                recorded_by: &actor.username,
                recorded_at: &now,
            },
            &[entry],
        )
        .await?;
        if !store::enrolment::reverse(&mut tx, row.id, &actor.username, &now, reason, numbers[0])
            .await?
        {
            return Err(AppError::Conflict("该参保记录已冲正".into()));
        }
        self.audit(
            &mut tx,
            actor,
            &row.village_code,
            AuditAction::EnrolReverse,
            &format!("enrolment:{}", row.id),
            reason,
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(())
    }
}

/// The longest payment reference (a bank's transaction number is 20–32 characters).
pub const PAYMENT_REFERENCE_MAX: usize = 64;

pub(crate) fn check_window(year: &Year, today: NaiveDate) -> AppResult<()> {
    if !year.is_open() {
        return Err(AppError::Invalid("该年度已关闭".into()));
    }
    if !year.rules.in_payment_window(today) {
        return Err(AppError::Invalid(format!(
            "不在缴费期内：本年度缴费期为 {} 至 {}",
            year.rules.payment_window_start, year.rules.payment_window_end
        )));
    }
    Ok(())
}

fn already_enrolled(e: &EnrolmentRow) -> AppError {
    AppError::Conflict(format!(
        "该户已于 {} 参加本年度互助（收据号 {}），不能重复参加",
        crate::display_time(&e.enrolled_at),
        e.receipt_no
    ))
}

async fn previous_members(conn: &mut store::Conn, year: &Year) -> AppResult<HashMap<i64, i64>> {
    Ok(match year.row.previous_year_id {
        Some(prev) => store::enrolment::consecutive_years(conn, prev).await?,
        None => HashMap::new(),
    })
}

/// Posts the entries and stores the enrolments; returns enrolment ids in order.
async fn write_planned(
    conn: &mut store::Conn,
    key: &ledger::ChainKey,
    year: &Year,
    by: &str,
    at: &str,
    mut planned: Vec<Planned>,
) -> AppResult<Vec<i64>> {
    let entries: Vec<Entry> = planned.iter().map(|p| p.entry.clone()).collect();
    let numbers = store::ledger::append(
        conn,
        &store::ledger::Recording {
            key,
            pool_code: &year.row.pool_code,
            year_id: year.row.id,
            recorded_by: by,
            recorded_at: at,
        },
        &entries,
    )
    .await?;
    for (p, n) in planned.iter_mut().zip(numbers) {
        p.enrolment.entry_no = n;
    }
    let rows: Vec<(NewEnrolment, Vec<NewMemberLine>)> = planned
        .into_iter()
        .map(|p| (p.enrolment, p.lines))
        .collect();
    store::enrolment::insert(conn, &rows)
        .await
        .map_err(|e| match e {
            store::StoreError::Conflict(_) => {
                AppError::Conflict("该户（或其中的成员）已参加本年度互助，不能重复参加".into())
            }
            other => other.into(),
        })
}

/// Bulk enrolment: one spreadsheet row (or one renewed household) that could not be enrolled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub row: usize,
    pub message: String,
}

/// A household to enrol in bulk, identified as a clerk would write it down.
#[derive(Debug, Clone)]
pub struct BulkHousehold {
    /// Spreadsheet row number (1-based, header is row 1), for error messages.
    pub row: usize,
    pub village_code: String,
    pub household_no: String,
    pub method: PaymentMethod,
    pub payment_reference: String,
    /// Left-out members by the keyed hash of their ID number.
    pub left_out: Vec<(Vec<u8>, LeaveOut)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkOutcome {
    /// Everything enrolled: households, members.
    Enrolled { households: usize, members: usize },
    /// Nothing written; every problem found.
    Refused(Vec<RowError>),
}

impl App {
    /// Enrols many households in one transaction: either all of them or, when any row has a
    /// problem, none (with every problem listed by row).
    pub async fn enrol_bulk(
        &self,
        w: &Enroller,
        actor: &Actor,
        year_id: i64,
        households: &[BulkHousehold],
    ) -> AppResult<BulkOutcome> {
        self.enrol_bulk_on(w, actor, year_id, households, self.today(), true, true)
            .await
    }

    /// The problems `enrol_bulk` would report for these households, without writing anything
    /// (a file whose other rows are malformed still gets its database checks).
    pub async fn bulk_problems(
        &self,
        w: &Enroller,
        actor: &Actor,
        year_id: i64,
        households: &[BulkHousehold],
    ) -> AppResult<Vec<RowError>> {
        let outcome = self
            .enrol_bulk_on(w, actor, year_id, households, self.today(), true, false)
            .await?;
        Ok(match outcome {
            BulkOutcome::Refused(errors) => errors,
            BulkOutcome::Enrolled { .. } => Vec::new(),
        })
    }

    /// `enrol_bulk` dated `today`; the demo loader records last year's enrolments with the
    /// window check off; `write: false` only checks.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn enrol_bulk_on(
        &self,
        w: &Enroller,
        actor: &Actor,
        year_id: i64,
        households: &[BulkHousehold],
        today: NaiveDate,
        enforce_window: bool,
        write: bool,
    ) -> AppResult<BulkOutcome> {
        // Everything is read and checked on a plain connection, before the write lock is asked
        // for: the check of a large file used to hold SQLite's write lock, so every other write
        // of the installation waited for it. What the check read may change before the write:
        // the unique indexes refuse a household or member enrolled meanwhile, and the year's
        // rules version and state are compared again inside the write transaction.
        let mut conn = self.db.acquire().await?;
        let year = load_year(&mut conn, w.scope(), year_id).await?;
        if enforce_window {
            check_window(&year, today)?;
        }
        let pool_scope = if w.scope().contains(&year.row.pool_code) {
            crate::year::pool_scope(&year)?
        } else {
            w.scope().clone()
        };
        let roster =
            store::enrolment::roster_lines(&mut conn, &pool_scope, None, &today.to_string())
                .await?;
        let mut by_household: HashMap<(&str, &str), Vec<&RosterLine>> = HashMap::new();
        for l in &roster {
            by_household
                .entry((l.village_code.as_str(), l.household_no.as_str()))
                .or_default()
                .push(l);
        }
        let enrolled: HashMap<i64, usize> = enrolment_counts(&mut conn, year_id).await?;
        let active: std::collections::HashSet<i64> =
            store::enrolment::enrolled_households(&mut conn, year_id, &pool_scope)
                .await?
                .into_iter()
                .map(|(id, _, _)| id)
                .collect();
        let previous = previous_members(&mut conn, &year).await?;
        drop(conn);
        let now = self.now_text();
        let run = Run {
            year: &year,
            today,
            by: &actor.username,
            at: &now,
            previous: &previous,
        };
        let mut errors = Vec::new();
        let mut planned = Vec::with_capacity(households.len());
        let mut seen: HashMap<i64, usize> = HashMap::new();
        let mut members_enrolled = 0;
        for h in households {
            let fail = |m: String| RowError {
                row: h.row,
                message: m,
            };
            if !w.scope().contains(&h.village_code) {
                errors.push(fail(format!(
                    "村代码 {} 不在您的管辖范围内",
                    h.village_code
                )));
                continue;
            }
            let Some(members) =
                by_household.get(&(h.village_code.as_str(), h.household_no.as_str()))
            else {
                errors.push(fail(format!(
                    "村代码 {} 下没有户编号为 {} 的登记户",
                    h.village_code, h.household_no
                )));
                continue;
            };
            let household_id = members[0].household_id;
            if let Some(first) = seen.insert(household_id, h.row) {
                errors.push(fail(format!("与第 {first} 行是同一户，重复")));
                continue;
            }
            if active.contains(&household_id) {
                errors.push(fail("该户已参加本年度互助，不能重复参加".into()));
                continue;
            }
            let mut left_out = Vec::new();
            for (hash, why) in &h.left_out {
                match members.iter().find(|m| &m.id_hash == hash) {
                    Some(m) => left_out.push((m.member_id, *why)),
                    None => errors.push(fail("不参加成员的身份证号不在该户登记成员中".into())),
                }
            }
            let req = EnrolHousehold {
                household_id,
                left_out,
                method: h.method,
                payment_reference: h.payment_reference.clone(),
            };
            let nth = enrolled.get(&household_id).copied().unwrap_or(0) + 1;
            match run.plan(members, &req, receipt_no(&year, household_id, nth)) {
                Ok(p) => {
                    members_enrolled += p.enrolment.members as usize;
                    planned.push(p);
                }
                Err(m) => errors.push(fail(m)),
            }
        }
        if !errors.is_empty() {
            return Ok(BulkOutcome::Refused(errors));
        }
        let count = planned.len();
        if !write {
            return Ok(BulkOutcome::Enrolled {
                households: count,
                members: members_enrolled,
            });
        }
        let mut tx = self.db.begin_write().await?;
        let current = store::years::get(&mut tx, w.scope(), year_id)
            .await?
            .ok_or(AppError::NotFound)?;
        if current.current_version != year.row.current_version || current.status != year.row.status
        {
            return Err(AppError::Conflict(
                "检查期间本年度的规则或状态有变更，本次没有登记任何一户，请重新提交".into(),
            ));
        }
        write_planned(
            &mut tx,
            self.keys.chain_key(),
            &year,
            &actor.username,
            &now,
            planned,
        )
        .await?;
        self.audit(
            &mut tx,
            actor,
            &year.row.pool_code,
            AuditAction::EnrolBulk,
            &format!("year:{year_id}"),
            &format!("{count} households, {members_enrolled} members"),
        )
        .await?;
        tx.commit().await.map_err(store::StoreError::from)?;
        Ok(BulkOutcome::Enrolled {
            households: count,
            members: members_enrolled,
        })
    }

    /// Renews last year's households of a village in one step: every household actively
    /// enrolled there in the previous year and not yet enrolled this year, with its current
    /// members, paid as `method`.
    pub async fn renew_households(
        &self,
        w: &Enroller,
        actor: &Actor,
        year_id: i64,
        village_code: &str,
        method: PaymentMethod,
        payment_reference: &str,
    ) -> AppResult<BulkOutcome> {
        let year = self.year(actor, year_id).await?;
        let village = domain::RegionCode::parse(village_code).map_err(|_| AppError::NotFound)?;
        if !w.scope().contains(village.as_str()) {
            return Err(AppError::NotFound);
        }
        let scope = store::Scope::region(&village);
        let Some(prev) = year.row.previous_year_id else {
            return Err(AppError::Invalid("该年度没有上一年度，无法续保".into()));
        };
        let mut conn = self.db.acquire().await?;
        let last = store::enrolment::enrolled_households(&mut conn, prev, &scope).await?;
        let now: std::collections::HashSet<i64> =
            store::enrolment::enrolled_households(&mut conn, year_id, &scope)
                .await?
                .into_iter()
                .map(|(id, _, _)| id)
                .collect();
        drop(conn);
        let list: Vec<BulkHousehold> = last
            .into_iter()
            .filter(|(id, _, _)| !now.contains(id))
            .enumerate()
            .map(|(i, (_, village_code, household_no))| BulkHousehold {
                row: i + 1,
                village_code,
                household_no,
                method,
                payment_reference: payment_reference.to_string(),
                left_out: Vec::new(),
            })
            .collect();
        if list.is_empty() {
            return Err(AppError::Invalid("上一年度的参保户都已续保".into()));
        }
        self.enrol_bulk(w, actor, year_id, &list).await
    }
}

/// How many enrolments (active or reversed) each household has in the year: the next receipt
/// number's suffix.
async fn enrolment_counts(conn: &mut store::Conn, year_id: i64) -> AppResult<HashMap<i64, usize>> {
    Ok(store::enrolment::counts_by_household(conn, year_id)
        .await?
        .into_iter()
        .map(|(h, n)| (h, n as usize))
        .collect())
}
