//! The claim page: status and deadline, the member as a claim needs them (masked), the stay and
//! its money, possible duplicates, the documents with a viewer (page, zoom, rotate: links, no
//! script needed), the history, and the forms of whoever may act now: the coder's coding with the
//! DRG, trace and subsidy beside it, the reviewer's decision, re-opening, added documents. Also
//! the coder's code search.

use super::{claim_id, deadline_text};
use crate::error::WebResult;
use crate::pages::{render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::claims::{ClaimView, Evaluation};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use domain::{ClaimId, ClaimStatus};
use serde::Deserialize;

/// The coder's fields as typed (kept when the form is refused).
#[derive(Debug, Clone, Default)]
pub struct CodingForm {
    pub principal: String,
    pub secondary: String,
    pub procedures: String,
    pub mode: String,
    pub exclusions: Vec<String>,
}

impl CodingForm {
    fn stored(v: &ClaimView) -> CodingForm {
        let c = &v.claim.coding;
        CodingForm {
            principal: c.principal_dx.clone(),
            secondary: c.secondary_dx.join(" "),
            procedures: c.procedures.join(" "),
            mode: c.discharge_mode.max(1).to_string(),
            exclusions: c.exclusions.clone(),
        }
    }
}

/// What the query string may ask of the page: a notice after a redirect, the document in the
/// viewer, its rotation and zoom.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ShowParams {
    #[serde(default)]
    notice: String,
    #[serde(default)]
    doc: String,
    #[serde(default)]
    rot: String,
    #[serde(default)]
    zoom: String,
}

/// Whatever a handler adds to the page as stored.
#[derive(Default)]
pub(crate) struct Extra {
    pub notice: Option<String>,
    pub error: Option<String>,
    pub coding: Option<CodingForm>,
    /// The figures of the form as typed, not saved (计算预览).
    pub preview: Option<Evaluation>,
    pub params: ShowParams,
}

pub struct Choice {
    pub code: String,
    pub label: String,
    pub selected: bool,
}

pub struct DocLine {
    pub id: i64,
    pub role: &'static str,
    pub pages: i64,
    pub has_thumb: bool,
    pub is_pdf: bool,
    pub current: bool,
}

pub struct Viewer {
    pub src: String,
    pub role: &'static str,
    pub is_pdf: bool,
    pub class: String,
    pub position: String,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub left: String,
    pub right: String,
    pub zoom_in: Option<String>,
    pub zoom_out: Option<String>,
}

pub struct EventLine {
    pub at: String,
    pub by: String,
    pub kind: &'static str,
    pub change: String,
    pub note: String,
}

pub struct FlagLine {
    pub kind: &'static str,
    pub other: i64,
    pub other_no: String,
}

#[derive(Template)]
#[template(path = "claim.html")]
pub(crate) struct ClaimPage {
    nav: Option<Nav>,
    csrf: String,
    v: ClaimView,
    status: &'static str,
    deadline: String,
    overdue: bool,
    sex: &'static str,
    los_days: i64,
    notice: Option<String>,
    error: Option<String>,
    flags: Vec<FlagLine>,
    documents: Vec<DocLine>,
    viewer: Option<Viewer>,
    events: Vec<EventLine>,
    coding: CodingForm,
    modes: Vec<Choice>,
    exclusions: Vec<Choice>,
    eval: Evaluation,
    preview: bool,
    proposal: String,
    can_code: bool,
    can_review: bool,
    can_reopen: bool,
    can_add_docs: bool,
    /// A reviewer may find a paid subsidy obtained by fraud (追回, `crate::payout`).
    can_recover: bool,
    /// The reviewer coded this claim (the app refuses; the page says why there is no form).
    own_coding: bool,
}

/// 离院方式 as the settlement list codes it.
const DISCHARGE_MODES: [(&str, &str); 6] = [
    ("1", "医嘱离院"),
    ("2", "医嘱转院"),
    ("3", "医嘱转社区卫生服务机构/乡镇卫生院"),
    ("4", "非医嘱离院"),
    ("5", "死亡"),
    ("9", "其他"),
];

fn local_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&app::TZ)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

fn notice_text(code: &str, v: &ClaimView) -> Option<String> {
    Some(match code {
        "filed" => format!(
            "申请已受理，申请编号 {}。已向申请人登记的手机号发送受理短信（未登记手机号的不发送）。",
            v.claim.application_no
        ),
        "coded" => "编码已保存，病组和补助金额已按新编码计算。".into(),
        "proposed" => "已提交审核。".into(),
        "requested" => "已要求补件，办结期限暂停计算，并已短信通知申请人。".into(),
        "reviewed" => format!("审核完成：{}。", v.claim.status.label_zh()),
        "reopened" => "申请已重新打开，退回编码员处理。".into(),
        "documents" => "材料已补交。".into(),
        _ => return None,
    })
}

fn viewer(id: ClaimId, docs: &[DocLine], p: &ShowParams) -> Option<Viewer> {
    let index = docs.iter().position(|d| d.current)?;
    let d = &docs[index];
    let rot = match p.rot.as_str() {
        "90" => 90,
        "180" => 180,
        "270" => 270,
        _ => 0,
    };
    let zoom = match p.zoom.as_str() {
        "2" => 2,
        "3" => 3,
        _ => 1,
    };
    let href = |doc: i64, rot: i32, zoom: i32| {
        format!("/claims/{id}?doc={doc}&rot={rot}&zoom={zoom}#viewer")
    };
    Some(Viewer {
        src: format!("/claims/{id}/documents/{}", d.id),
        role: d.role,
        is_pdf: d.is_pdf,
        class: format!("rot{rot} zoom{zoom}"),
        position: format!("第 {} / {} 份", index + 1, docs.len()),
        prev: index.checked_sub(1).map(|i| href(docs[i].id, 0, 1)),
        next: docs.get(index + 1).map(|n| href(n.id, 0, 1)),
        left: href(d.id, (rot + 270) % 360, zoom),
        right: href(d.id, (rot + 90) % 360, zoom),
        zoom_in: (zoom < 3).then(|| href(d.id, rot, zoom + 1)),
        zoom_out: (zoom > 1).then(|| href(d.id, rot, zoom - 1)),
    })
}

pub(crate) async fn build(
    state: &AppState,
    staff: &Staff,
    id: ClaimId,
    extra: Extra,
) -> WebResult<ClaimPage> {
    let v = state.app.claim(staff.actor(), id).await?;
    let a = staff.actor();
    let status = v.claim.status;
    let (deadline, overdue) = deadline_text(v.days_left, status);
    let current_doc = extra.params.doc.parse::<i64>().ok();
    // In the order of the form: discharge record, cost list, settlement, others; pages as
    // uploaded.
    let mut ordered: Vec<_> = v.documents.iter().collect();
    ordered.sort_by_key(|d| (d.role, d.id));
    let documents: Vec<DocLine> = ordered
        .into_iter()
        .map(|d| DocLine {
            id: d.id,
            role: d.role.label_zh(),
            pages: d.pages,
            has_thumb: d.thumb_name.is_some(),
            is_pdf: d.kind == "pdf",
            current: current_doc == Some(d.id),
        })
        .collect();
    let coding = extra.coding.unwrap_or_else(|| CodingForm::stored(&v));
    let modes = DISCHARGE_MODES
        .iter()
        .map(|(code, label)| Choice {
            code: code.to_string(),
            label: format!("{code} {label}"),
            selected: coding.mode.trim() == *code,
        })
        .collect();
    let exclusions = v
        .exclusion_choices
        .iter()
        .map(|e| Choice {
            code: e.code().to_string(),
            label: e.label_zh().to_string(),
            selected: coding.exclusions.iter().any(|c| c == e.code()),
        })
        .collect();
    let notice = extra
        .notice
        .or_else(|| notice_text(&extra.params.notice, &v));
    let preview = extra.preview.is_some();
    let eval = extra.preview.unwrap_or_else(|| v.evaluation.clone());
    let own_coding = v.claim.coded_by.as_deref() == Some(a.username.as_str());
    Ok(ClaimPage {
        nav: Nav::of(staff),
        csrf: staff.csrf().to_string(),
        status: status.label_zh(),
        deadline,
        overdue,
        sex: match v.member.sex {
            domain::Sex::Male => "男",
            domain::Sex::Female => "女",
        },
        los_days: (v.claim.discharge - v.claim.admission).num_days(),
        notice,
        error: extra.error,
        flags: v
            .flags
            .iter()
            .map(|f| FlagLine {
                kind: f.kind.label_zh(),
                other: f.other.0,
                other_no: f.other_application_no.clone(),
            })
            .collect(),
        viewer: viewer(id, &documents, &extra.params),
        documents,
        events: v
            .events
            .iter()
            .map(|e| EventLine {
                at: local_time(&e.at),
                by: e.by.clone(),
                kind: e.kind.label_zh(),
                change: if e.from == e.to {
                    String::new()
                } else {
                    format!("{} → {}", e.from.label_zh(), e.to.label_zh())
                },
                note: e.note.clone(),
            })
            .collect(),
        coding,
        modes,
        exclusions,
        eval,
        preview,
        proposal: match v.claim.proposal {
            Some(p) if v.claim.proposal_note.is_empty() => p.label_zh().to_string(),
            Some(p) => format!("{}：{}", p.label_zh(), v.claim.proposal_note),
            None => String::new(),
        },
        can_code: a.claim_coder().is_some() && status == ClaimStatus::Received,
        can_review: a.claim_reviewer().is_some() && status == ClaimStatus::Proposed && !own_coding,
        can_reopen: a.claim_reopener().is_some() && status.is_decided(),
        can_add_docs: a.claim_intake().is_some() && !status.is_decided(),
        can_recover: a.claim_reviewer().is_some() && status == ClaimStatus::Paid,
        own_coding: own_coding && a.claim_reviewer().is_some(),
        v,
    })
}

pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Query(params): Query<ShowParams>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let extra = Extra {
        params,
        ..Default::default()
    };
    let page = build(&state, &staff, id, extra).await?;
    Ok(render(StatusCode::OK, &page))
}

/// The claim page again with a refusal of the app shown on it (422).
pub(crate) async fn page_with_error(
    state: &AppState,
    staff: &Staff,
    id: ClaimId,
    error: String,
) -> WebResult<Response> {
    let extra = Extra {
        error: Some(error),
        ..Default::default()
    };
    let page = build(state, staff, id, extra).await?;
    Ok(render(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Deserialize)]
pub struct CodeQuery {
    #[serde(default)]
    q: String,
}

pub struct CodeLine {
    pub kind: &'static str,
    pub code: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "claim_codes.html")]
struct CodesPage {
    nav: Option<Nav>,
    id: ClaimId,
    application_no: String,
    version: String,
    q: String,
    hits: Vec<CodeLine>,
}

/// The coder's code search: diagnoses and procedures of the claim's DRG version by Chinese name
/// or code prefix.
pub async fn codes(
    State(state): State<AppState>,
    staff: Staff,
    Path(claim): Path<String>,
    Query(cq): Query<CodeQuery>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let v = state.app.claim(staff.actor(), id).await?;
    let q: String = cq.q.trim().chars().take(40).collect();
    let version = v.evaluation.drg_version.clone();
    let hits = state
        .app
        .search_codes(&version, &q, 50)
        .into_iter()
        .map(|h| CodeLine {
            kind: h.kind,
            code: h.code,
            name: h.name,
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &CodesPage {
            nav: Nav::of(&staff),
            id,
            application_no: v.claim.application_no,
            version,
            q,
            hits,
        },
    ))
}
