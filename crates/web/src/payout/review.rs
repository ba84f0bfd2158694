//! The reviewers' queues and the member page's bank cards: objections to a notice (upheld takes
//! the line out, dismissed keeps it; the objector gets an SMS either way), bank-card changes
//! waiting for a second person, and the clerk's card form on the member page.

use super::{batch_id, card_id, local_time, objection_id};
use crate::error::WebResult;
use crate::pages::{parse_id, render, Nav};
use crate::session::Staff;
use crate::AppState;
use app::payout::CardInput;
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use domain::{BatchId, CardStatus, HolderReason, ObjectionStatus};
use serde::Deserialize;
use std::collections::hash_map::{Entry, HashMap};

pub struct ObjectionLine {
    pub id: i64,
    pub batch: BatchId,
    pub batch_no: String,
    pub seq: i64,
    pub village: String,
    pub name: String,
    pub amount: String,
    pub claim: i64,
    pub phone: String,
    pub text: String,
    pub at: String,
    pub status: &'static str,
    pub open: bool,
    pub decision: String,
}

#[derive(Template)]
#[template(path = "payout_objections.html")]
struct ObjectionsPage {
    nav: Option<Nav>,
    csrf: String,
    rows: Vec<ObjectionLine>,
    notice: Option<String>,
    error: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct DoneQuery {
    #[serde(default)]
    done: String,
}

async fn objections_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let reviewer = staff.actor().claim_reviewer().ok_or(AppError::Forbidden)?;
    let list = state.app.objections(&reviewer).await?;
    let mut views = HashMap::new();
    let mut rows = Vec::with_capacity(list.len());
    for o in list {
        let v = match views.entry(o.batch_id) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => e.insert(state.app.batch(staff.actor(), o.batch_id).await?),
        };
        let Some(l) = v.lines.iter().find(|l| l.id == o.line_id) else {
            continue;
        };
        rows.push(ObjectionLine {
            id: o.id.0,
            batch: o.batch_id,
            batch_no: v.batch.batch_no.clone(),
            seq: l.seq,
            village: l.village_name.clone(),
            name: l.name_masked.clone(),
            amount: l.amount.to_string(),
            claim: l.claim_id.0,
            phone: o.phone_masked.clone(),
            text: o.text.clone(),
            at: local_time(&o.created_at),
            status: o.status.label_zh(),
            open: o.status == ObjectionStatus::Open,
            decision: o.decision_note.clone(),
        });
    }
    Ok(render(
        status,
        &ObjectionsPage {
            nav: Nav::of(staff),
            csrf: staff.csrf().to_string(),
            rows,
            notice,
            error,
        },
    ))
}

/// The reviewers' queue of objections, open ones first.
pub async fn objections(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> WebResult<Response> {
    let notice = (q.done == "1").then(|| "异议已处理，已短信告知异议人。".to_string());
    objections_page(&state, &staff, StatusCode::OK, notice, None).await
}

#[derive(Deserialize)]
pub struct DecideFields {
    #[serde(default)]
    csrf: String,
    /// Objections: "upheld" or "dismissed"; cards: "confirm" or "refuse".
    #[serde(default)]
    decision: String,
    #[serde(default)]
    note: String,
}

/// A reviewer decides an objection of the batch, with the 处理意见 the objector is sent.
pub async fn decide_objection(
    State(state): State<AppState>,
    staff: Staff,
    Path((batch, objection)): Path<(String, String)>,
    Form(f): Form<DecideFields>,
) -> WebResult<Response> {
    let id = batch_id(&batch)?;
    let oid = objection_id(&objection)?;
    let v = state.app.batch(staff.actor(), id).await?;
    if !v.objections.iter().any(|o| o.id == oid) {
        return Err(AppError::NotFound.into());
    }
    let reviewer = staff.actor().claim_reviewer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let upheld = match f.decision.trim() {
        "upheld" => Ok(true),
        "dismissed" => Ok(false),
        _ => Err(AppError::Invalid("请选择异议是否成立".into())),
    };
    let r = match upheld {
        Ok(upheld) => {
            state
                .app
                .decide_objection(&reviewer, staff.actor(), oid, upheld, &f.note)
                .await
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => Ok(Redirect::to("/payout/objections?done=1").into_response()),
        Err(AppError::Invalid(m)) => {
            objections_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(m),
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            objections_page(&state, &staff, StatusCode::CONFLICT, None, Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

pub struct CardLine {
    pub id: i64,
    pub member_id: i64,
    pub member_name: String,
    pub bank: String,
    pub masked: String,
    pub holder: String,
    pub reason: &'static str,
    pub status: &'static str,
    pub pending: bool,
    pub active: bool,
    pub note: String,
    pub created: String,
}

fn card_line(c: app::payout::CardView) -> CardLine {
    CardLine {
        id: c.id.0,
        member_id: c.member_id,
        member_name: c.member_name,
        bank: c.bank_name,
        masked: c.masked,
        holder: c.holder_name,
        reason: c.holder_reason.label_zh(),
        status: c.status.label_zh(),
        pending: c.status == CardStatus::Pending,
        active: c.status == CardStatus::Active,
        note: c.note,
        created: format!("{} {}", local_time(&c.created_at), c.created_by),
    }
}

#[derive(Template)]
#[template(path = "payout_cards.html")]
struct CardsPage {
    nav: Option<Nav>,
    csrf: String,
    rows: Vec<CardLine>,
    notice: Option<String>,
    error: Option<String>,
}

async fn cards_page(
    state: &AppState,
    staff: &Staff,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
) -> WebResult<Response> {
    let reviewer = staff.actor().claim_reviewer().ok_or(AppError::Forbidden)?;
    let rows = state
        .app
        .pending_cards(&reviewer)
        .await?
        .into_iter()
        .map(card_line)
        .collect();
    Ok(render(
        status,
        &CardsPage {
            nav: Nav::of(staff),
            csrf: staff.csrf().to_string(),
            rows,
            notice,
            error,
        },
    ))
}

/// Bank-card changes waiting for a reviewer (a card changed after money was sent).
pub async fn cards(
    State(state): State<AppState>,
    staff: Staff,
    Query(q): Query<DoneQuery>,
) -> WebResult<Response> {
    let notice = (q.done == "1").then(|| "银行卡变更已处理。".to_string());
    cards_page(&state, &staff, StatusCode::OK, notice, None).await
}

/// A reviewer confirms or refuses a member's pending card (never one they entered).
pub async fn decide_card(
    State(state): State<AppState>,
    staff: Staff,
    Path((member, card)): Path<(String, String)>,
    Form(f): Form<DecideFields>,
) -> WebResult<Response> {
    let member = parse_id(&member)?;
    let card = card_id(&card)?;
    let mine = state.app.member_cards(staff.actor(), member).await?;
    if !mine.iter().any(|c| c.id == card) {
        return Err(AppError::NotFound.into());
    }
    let reviewer = staff.actor().claim_reviewer().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let r = match f.decision.trim() {
        "confirm" => Ok(true),
        "refuse" => Ok(false),
        _ => Err(AppError::Invalid("请选择确认或不通过".into())),
    };
    let r = match r {
        Ok(confirm) => {
            state
                .app
                .decide_card(&reviewer, staff.actor(), card, confirm, &f.note)
                .await
        }
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => Ok(Redirect::to("/payout/cards?done=1").into_response()),
        Err(AppError::Forbidden) => {
            let m = "该银行卡由您登记，须由其他审核员确认".to_string();
            cards_page(&state, &staff, StatusCode::FORBIDDEN, None, Some(m)).await
        }
        Err(AppError::Invalid(m)) => {
            cards_page(
                &state,
                &staff,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                Some(m),
            )
            .await
        }
        Err(AppError::Conflict(m)) => {
            cards_page(&state, &staff, StatusCode::CONFLICT, None, Some(m)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// The member page's 银行卡 section: the cards (masked) and, for clerks and admins, the form.
pub(crate) struct CardSection {
    pub member_id: i64,
    pub cards: Vec<CardLine>,
    pub can_record: bool,
    /// Other members of the household who may hold the card for the member.
    pub holders: Vec<(i64, String)>,
    pub reasons: Vec<(&'static str, &'static str)>,
    pub notice: Option<String>,
    pub error: Option<String>,
    /// What was typed (kept when the form is refused; the card number never is).
    pub bank_name: String,
    pub holder: String,
    pub reason: String,
}

impl CardSection {
    pub(crate) async fn load(
        state: &AppState,
        staff: &Staff,
        view: &app::roster::MemberView,
        notice: &str,
    ) -> WebResult<CardSection> {
        let a = staff.actor();
        let id = view.member.id;
        let cards = state
            .app
            .member_cards(a, id)
            .await?
            .into_iter()
            .map(card_line)
            .collect();
        let can_record = a.card_keeper().is_some();
        let holders = if can_record {
            state
                .app
                .household_view(a, view.household.id)
                .await?
                .members
                .into_iter()
                .filter(|m| m.id != id)
                .map(|m| (m.id, m.name))
                .collect()
        } else {
            Vec::new()
        };
        Ok(CardSection {
            member_id: id,
            cards,
            can_record,
            holders,
            reasons: HolderReason::ALL
                .iter()
                .filter(|r| **r != HolderReason::Own)
                .map(|r| (r.code(), r.label_zh()))
                .collect(),
            notice: match notice {
                "active" => Some("银行卡已登记并生效。".into()),
                "pending" => {
                    Some("该成员已有补助发放到原银行卡，新卡须由审核员确认后生效。".into())
                }
                _ => None,
            },
            error: None,
            bank_name: String::new(),
            holder: String::new(),
            reason: String::new(),
        })
    }
}

#[derive(Deserialize)]
pub struct CardFields {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    bank_name: String,
    #[serde(default)]
    card_number: String,
    /// A household member's id, or empty for the member themself.
    #[serde(default)]
    holder: String,
    #[serde(default)]
    reason: String,
}

/// A clerk records a member's bank card; refusals come back next to the form.
pub async fn record_card(
    State(state): State<AppState>,
    staff: Staff,
    Path(member): Path<String>,
    Form(f): Form<CardFields>,
) -> WebResult<Response> {
    let id = parse_id(&member)?;
    state.app.member_view(staff.actor(), id).await?;
    let keeper = staff.actor().card_keeper().ok_or(AppError::Forbidden)?;
    staff.check_csrf(&f.csrf)?;
    let holder = match f.holder.trim() {
        "" => Ok(None),
        h => h
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AppError::Invalid("请选择代领的家庭成员".into())),
    };
    let reason = match f.reason.trim() {
        "" => Ok(None),
        r => HolderReason::from_code(r)
            .map(Some)
            .ok_or_else(|| AppError::Invalid("请选择代领原因".into())),
    };
    let r = match (holder, reason) {
        (Ok(holder_member_id), Ok(holder_reason)) => {
            let input = CardInput {
                holder_member_id,
                holder_reason: holder_reason.or(holder_member_id.map(|_| HolderReason::Own)),
                bank_name: f.bank_name.clone(),
                card_number: f.card_number.clone(),
            };
            state
                .app
                .record_card(&keeper, staff.actor(), id, &input)
                .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match r {
        Ok(status) => Ok(
            Redirect::to(&format!("/members/{id}?card={}#cards", status.code())).into_response(),
        ),
        Err(AppError::Invalid(m)) => {
            let typed = (
                f.bank_name.chars().take(40).collect(),
                f.holder.chars().take(20).collect(),
                f.reason.chars().take(20).collect(),
            );
            crate::pages::member_card_refused(&state, &staff, id, m, typed).await
        }
        Err(e) => Err(e.into()),
    }
}
