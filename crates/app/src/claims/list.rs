//! The claims list every staff role starts from (`/claims`): a coder sees the claims waiting for
//! coding, a reviewer those waiting for review, both by deadline; other staff see their area's
//! claims newest first, with filters, and can export them.

use crate::access::Actor;
use crate::year::load_year;
use crate::{App, AppError, AppResult};
use chrono::NaiveDate;
use domain::{AuditAction, ClaimStatus, Role};
use std::collections::HashMap;
use store::claims::{Filter, Line};

/// The filters of the list, parsed at the edge.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `None`: the role's default (coder: 待编码, reviewer: 待审核, others: all).
    pub status: Option<ClaimStatus>,
    /// All statuses even for a coder or reviewer.
    pub all_statuses: bool,
    pub village: Option<domain::RegionCode>,
    /// Month received.
    pub month: Option<(i32, u32)>,
    /// Only claims due within this many calendar days (0: due today or overdue).
    pub due_within_days: Option<i64>,
    pub member_name: Option<String>,
    pub member_id: Option<i64>,
    pub household_id: Option<i64>,
    pub page: i64,
}

pub const PAGE_SIZE: i64 = 50;

/// A page of the list.
#[derive(Debug, Clone)]
pub struct ClaimList {
    pub lines: Vec<ListLine>,
    pub has_next: bool,
    pub page: i64,
    /// Claims in the open states in the viewer's area.
    pub open_counts: Vec<(ClaimStatus, i64)>,
    pub status: Option<ClaimStatus>,
    pub by_deadline: bool,
}

#[derive(Debug, Clone)]
pub struct ListLine {
    pub line: Line,
    /// Working days left (negative: overdue); `None` when the clock does not run.
    pub days_left: Option<i64>,
}

impl App {
    pub async fn claims_list(&self, actor: &Actor, q: &ListQuery) -> AppResult<ClaimList> {
        let (filter, status) = filter_for(actor, q, PAGE_SIZE, self.today())?;
        let mut conn = self.db.acquire().await?;
        let scope = actor.scope();
        let mut lines = store::claims::lines(&mut conn, &scope, &filter).await?;
        let has_next = lines.len() as i64 > PAGE_SIZE;
        lines.truncate(PAGE_SIZE as usize);
        let lines = self.with_days_left(&mut conn, lines).await?;
        Ok(ClaimList {
            lines,
            has_next,
            page: q.page.max(0),
            open_counts: store::claims::open_counts(&mut conn, &scope).await?,
            status,
            by_deadline: filter.by_deadline,
        })
    }

    async fn with_days_left(
        &self,
        conn: &mut store::Conn,
        lines: Vec<Line>,
    ) -> AppResult<Vec<ListLine>> {
        let today = self.today();
        let mut years = HashMap::new();
        let mut out = Vec::with_capacity(lines.len());
        for line in lines {
            let days_left = if line.status.clock_runs() {
                if let std::collections::hash_map::Entry::Vacant(e) = years.entry(line.year_id) {
                    e.insert(load_year(conn, &store::Scope::all(), line.year_id).await?);
                }
                Some(super::days_left(&years[&line.year_id], today, line.due_on))
            } else {
                None
            };
            out.push(ListLine { line, days_left });
        }
        Ok(out)
    }

    /// The filtered list as an .xlsx (at most 100,000 lines), audited.
    pub async fn claims_export(&self, actor: &Actor, q: &ListQuery) -> AppResult<Vec<u8>> {
        let (mut filter, _) = filter_for(actor, q, 100_000, self.today())?;
        filter.offset = 0;
        let mut conn = self.db.acquire().await?;
        let mut lines = store::claims::lines(&mut conn, &actor.scope(), &filter).await?;
        lines.truncate(100_000);
        let region = actor.audit_region();
        self.audit(
            &mut conn,
            actor,
            &region,
            AuditAction::ClaimExport,
            "claims",
            &format!("{} 条", lines.len()),
        )
        .await?;
        drop(conn);
        tokio::task::spawn_blocking(move || workbook(&lines))
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("export: {e}")))?
    }
}

fn filter_for(
    actor: &Actor,
    q: &ListQuery,
    limit: i64,
    today: NaiveDate,
) -> AppResult<(Filter, Option<ClaimStatus>)> {
    let role_default = match actor.role {
        Role::Coder => Some(ClaimStatus::Received),
        Role::Reviewer => Some(ClaimStatus::Proposed),
        _ => None,
    };
    let status = if q.all_statuses {
        q.status
    } else {
        q.status.or(role_default)
    };
    let by_deadline = q.due_within_days.is_some()
        || status.is_some_and(|s| s.clock_runs() || s == ClaimStatus::AwaitingDocuments);
    let month = match q.month {
        None => None,
        Some((y, m)) => {
            let first = NaiveDate::from_ymd_opt(y, m, 1)
                .ok_or_else(|| AppError::Invalid("月份格式应为 2026-12".into()))?;
            let next = first
                .checked_add_months(chrono::Months::new(1))
                .unwrap_or(first);
            Some((first, next.pred_opt().unwrap_or(first)))
        }
    };
    Ok((
        Filter {
            // A deadline filter is about claims whose clock runs: decided ones are not overdue.
            statuses: match (status, q.due_within_days) {
                (None, Some(_)) => vec![ClaimStatus::Received, ClaimStatus::Proposed],
                (s, _) => s.into_iter().collect(),
            },
            village_prefix: q.village.as_ref().map(|v| v.as_str().to_string()),
            month,
            due_by: q.due_within_days.map(|d| today + chrono::Duration::days(d)),
            member_name: q.member_name.clone().filter(|n| !n.is_empty()),
            member_id: q.member_id,
            household_id: q.household_id,
            by_deadline,
            offset: q.page.max(0) * PAGE_SIZE,
            limit,
        },
        status,
    ))
}

fn workbook(lines: &[Line]) -> AppResult<Vec<u8>> {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let header = [
        "申请编号",
        "姓名",
        "村",
        "医院",
        "状态",
        "受理日期",
        "办结期限",
        "出院日期",
        "病组",
        "补助金额（元）",
    ];
    let xl = |e: rust_xlsxwriter::XlsxError| AppError::Internal(anyhow::anyhow!("xlsx: {e}"));
    for (c, h) in header.iter().enumerate() {
        ws.write_string(0, c as u16, *h).map_err(xl)?;
    }
    for (i, l) in lines.iter().enumerate() {
        let r = i as u32 + 1;
        let cells = [
            l.application_no.clone(),
            l.member_name.clone(),
            l.village_name.clone(),
            l.hospital_name.clone(),
            l.status.label_zh().to_string(),
            l.received_on.to_string(),
            l.due_on.to_string(),
            l.discharge.to_string(),
            l.drg_code.clone(),
        ];
        for (c, v) in cells.iter().enumerate() {
            ws.write_string(r, c as u16, v).map_err(xl)?;
        }
        ws.write_number(r, 9, l.amount.0 as f64 / 100.0)
            .map_err(xl)?;
    }
    wb.save_to_buffer().map_err(xl)
}
