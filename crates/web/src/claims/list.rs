//! The claims list (`/claims`): a coder's 待编码 queue, a reviewer's 待审核 queue (both by
//! deadline), everyone else's area newest first; filters, open-state tabs, pages, the export;
//! and the short lists on the member and household pages.

use super::deadline_text;
use crate::error::WebResult;
use crate::pages::{render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::claims::{ClaimList, ListQuery};
use app::AppError;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use domain::ClaimStatus;
use serde::Deserialize;

/// One line of a claims list.
pub struct ClaimRow {
    pub id: i64,
    pub application_no: String,
    pub member_name: String,
    pub village_name: String,
    pub hospital_name: String,
    pub status: &'static str,
    pub received_on: String,
    pub discharge: String,
    pub drg_code: String,
    pub amount: String,
    pub deadline: String,
    pub overdue: bool,
}

fn rows(list: ClaimList) -> Vec<ClaimRow> {
    list.lines
        .into_iter()
        .map(|l| {
            let (deadline, overdue) = deadline_text(l.days_left, l.line.status);
            let decided = l.line.status.is_decided();
            ClaimRow {
                id: l.line.id.0,
                application_no: l.line.application_no,
                member_name: l.line.member_name,
                village_name: l.line.village_name,
                hospital_name: l.line.hospital_name,
                status: l.line.status.label_zh(),
                received_on: l.line.received_on.to_string(),
                discharge: l.line.discharge.to_string(),
                drg_code: l.line.drg_code,
                amount: if decided {
                    l.line.amount.to_string()
                } else {
                    String::new()
                },
                deadline,
                overdue,
            }
        })
        .collect()
}

/// A member's or a household's claims, every state, newest first (first page).
pub(crate) async fn member_claims(
    state: &AppState,
    staff: &Staff,
    member_id: Option<i64>,
    household_id: Option<i64>,
) -> WebResult<Vec<ClaimRow>> {
    let q = ListQuery {
        all_statuses: true,
        member_id,
        household_id,
        ..Default::default()
    };
    Ok(rows(state.app.claims_list(staff.actor(), &q).await?))
}

/// The list's query string, as typed (kept on the form and in the links).
#[derive(Deserialize, Default, Clone)]
pub struct ListParams {
    #[serde(default)]
    status: String,
    #[serde(default)]
    village: String,
    #[serde(default)]
    month: String,
    #[serde(default)]
    due: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    page: String,
}

impl ListParams {
    fn query(&self) -> Result<ListQuery, String> {
        let mut problems = Vec::new();
        let (status, all_statuses) = match self.status.trim() {
            "" => (None, false),
            "all" => (None, true),
            s => match ClaimStatus::from_code(s) {
                Some(s) => (Some(s), true),
                None => {
                    problems.push("未知的状态".to_string());
                    (None, false)
                }
            },
        };
        let village = match self.village.trim() {
            "" => None,
            v => match domain::RegionCode::parse(v) {
                Ok(c) => Some(c),
                Err(_) => {
                    problems.push("村（社区）代码应为 6、9 或 12 位数字".to_string());
                    None
                }
            },
        };
        let month = match self.month.trim() {
            "" => None,
            m => match chrono::NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d") {
                Ok(d) => {
                    use chrono::Datelike;
                    Some((d.year(), d.month()))
                }
                Err(_) => {
                    problems.push("受理月份格式应为 2026-12".to_string());
                    None
                }
            },
        };
        let due_within_days = match self.due.trim() {
            "overdue" => Some(-1),
            "3" => Some(3),
            _ => None,
        };
        let name = self.name.trim();
        if name.chars().count() > 30 || name.chars().any(domain::text::is_hidden) {
            problems.push("姓名过长或含有不可见字符".to_string());
        }
        let page = self
            .page
            .trim()
            .parse::<i64>()
            .unwrap_or(0)
            .clamp(0, 100_000);
        if !problems.is_empty() {
            return Err(problems.join("；"));
        }
        Ok(ListQuery {
            status,
            all_statuses,
            village,
            month,
            due_within_days,
            member_name: (!name.is_empty()).then(|| name.to_string()),
            page,
            ..Default::default()
        })
    }

    /// The query string of these filters on `page` (without the page when 0).
    fn link(&self, status: &str, page: i64) -> String {
        let mut parts = Vec::new();
        for (k, v) in [
            ("status", status),
            ("village", self.village.trim()),
            ("month", self.month.trim()),
            ("due", self.due.trim()),
            ("name", self.name.trim()),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k}={}", encode(v)));
            }
        }
        if page > 0 {
            parts.push(format!("page={page}"));
        }
        parts.join("&")
    }
}

/// Percent-encodes a query value (UTF-8 bytes outside the unreserved set).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub struct Tab {
    pub label: String,
    pub href: String,
    pub current: bool,
}

pub struct Choice {
    pub code: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct VillageChoice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

/// The most villages offered in the filter's select; a larger area gets the code box.
const VILLAGE_CHOICES: usize = 400;

#[derive(Template)]
#[template(path = "claims.html")]
struct ClaimsPage {
    nav: Option<Nav>,
    title: &'static str,
    rows: Vec<ClaimRow>,
    tabs: Vec<Tab>,
    statuses: Vec<Choice>,
    dues: Vec<Choice>,
    p: ListParams,
    /// The villages of the viewer's area for the filter (a code box when there are too many).
    villages: Vec<VillageChoice>,
    error: Option<String>,
    by_deadline: bool,
    prev: Option<String>,
    next: Option<String>,
    export: String,
    page: i64,
}

pub async fn list(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<ListParams>,
) -> WebResult<Response> {
    let (q, error) = match p.query() {
        Ok(q) => (q, None),
        Err(e) => (ListQuery::default(), Some(e)),
    };
    let list = state.app.claims_list(staff.actor(), &q).await?;
    let current = match (list.status, q.all_statuses) {
        (Some(s), _) => s.code(),
        (None, true) => "all",
        (None, false) => "",
    };
    let mut tabs = vec![Tab {
        label: "全部".into(),
        href: format!("/claims?{}", p.link("all", 0)),
        current: current == "all" || current.is_empty(),
    }];
    for (s, n) in &list.open_counts {
        tabs.push(Tab {
            label: format!("{}（{n}）", s.label_zh()),
            href: format!("/claims?{}", p.link(s.code(), 0)),
            current: current == s.code(),
        });
    }
    let title = match list.status {
        Some(ClaimStatus::Received) if q.status.is_none() => "待编码队列",
        Some(ClaimStatus::Proposed) if q.status.is_none() => "待审核队列",
        _ => "补助申请",
    };
    let statuses = std::iter::once(Choice {
        code: "all",
        label: "全部状态",
        selected: current == "all" || current.is_empty(),
    })
    .chain(ClaimStatus::ALL.into_iter().map(|s| Choice {
        code: s.code(),
        label: s.label_zh(),
        selected: current == s.code(),
    }))
    .collect();
    let dues = [("", "不限"), ("overdue", "已逾期"), ("3", "3 天内到期")]
        .into_iter()
        .map(|(code, label)| Choice {
            code,
            label,
            selected: p.due.trim() == code,
        })
        .collect();
    let mut villages: Vec<VillageChoice> = state
        .app
        .village_names(staff.actor())
        .await?
        .into_iter()
        .map(|(code, name)| VillageChoice {
            selected: p.village.trim() == code,
            label: format!("{name}（{code}）"),
            code,
        })
        .collect();
    villages.sort_by(|a, b| a.code.cmp(&b.code));
    let typed_elsewhere = !p.village.trim().is_empty() && !villages.iter().any(|v| v.selected);
    if villages.len() > VILLAGE_CHOICES || typed_elsewhere {
        villages.clear();
    }
    let page = list.page;
    let prev = (page > 0).then(|| format!("/claims?{}", p.link(current, page - 1)));
    let next = list
        .has_next
        .then(|| format!("/claims?{}", p.link(current, page + 1)));
    let export = format!("/claims/export.xlsx?{}", p.link(current, 0));
    let by_deadline = list.by_deadline;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &ClaimsPage {
            nav: Nav::of(&staff),
            title,
            rows: rows(list),
            tabs,
            statuses,
            dues,
            p,
            villages,
            error,
            by_deadline,
            prev,
            next,
            export,
            page,
        },
    ))
}

pub async fn export(
    State(state): State<AppState>,
    staff: Staff,
    Query(p): Query<ListParams>,
) -> WebResult<Response> {
    let q = p.query().map_err(AppError::Invalid)?;
    let bytes = state.app.claims_export(staff.actor(), &q).await?;
    let name = format!("claims-{}.xlsx", state.app.today());
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
