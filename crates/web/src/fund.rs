//! The fund's books: trial balance at a date, the journal, and the forms that record money.

use crate::error::WebResult;
use crate::forms::{parse_date, parse_money, yuan};
use crate::pages::{parse_id, render, CsrfOnly, Nav};
use crate::session::Staff;
use crate::AppState;
use app::fund::Receipt;
use app::year::Year;
use app::AppError;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

pub struct BalanceLine {
    pub code: String,
    pub name: String,
    pub kind: &'static str,
    pub debits: String,
    pub credits: String,
    pub balance: String,
}

pub struct JournalLine {
    pub seq: i64,
    pub entry_no: i64,
    pub date: String,
    pub kind: &'static str,
    pub account: String,
    pub debit: String,
    pub credit: String,
    pub memo: String,
    pub by: String,
}

#[derive(Template)]
#[template(path = "fund.html")]
struct FundPage {
    nav: Option<Nav>,
    year: Year,
    as_of: String,
    this_year_only: bool,
    lines: Vec<BalanceLine>,
    total_debits: String,
    total_credits: String,
    balanced: bool,
    cash: String,
    fund_balance: String,
    income: String,
    reserve: String,
    service_fee: String,
    available: String,
    journal: Vec<JournalLine>,
    next_page: Option<i64>,
    head: Option<(i64, String)>,
    can_manage: bool,
    payers: Vec<(&'static str, &'static str)>,
    today: String,
    pending: Vec<PendingLine>,
    review_above: String,
    /// The last receipt was held for review (after the redirect).
    held: bool,
    me: String,
}

pub struct PendingLine {
    pub id: i64,
    pub kind: &'static str,
    pub who: String,
    pub amount: String,
    pub on: String,
    pub by: String,
    pub at: String,
}

impl PendingLine {
    fn of(p: app::fund::PendingReceipt) -> PendingLine {
        let (kind, who) = match &p.receipt {
            Receipt::Donation { donor_name, .. } => ("社会捐赠", donor_name.to_string()),
            Receipt::Remittance { payer, .. } => ("出资到账", payer.label_zh().to_string()),
            Receipt::Interest { .. } => ("利息收入", String::new()),
            Receipt::Opening { .. } => ("期初余额", String::new()),
        };
        PendingLine {
            id: p.id,
            kind,
            who,
            amount: p.receipt.amount().to_string(),
            on: p.on.to_string(),
            by: p.recorded_by,
            at: app::display_time(&p.recorded_at),
        }
    }
}

#[derive(Deserialize)]
pub struct FundQuery {
    as_of: Option<String>,
    year_only: Option<String>,
    before: Option<i64>,
    held: Option<String>,
}

pub async fn fund(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Query(q): Query<FundQuery>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    let a = staff.actor();
    let year = state.app.year(a, id).await?;
    let reader = a.fund_reader().ok_or(AppError::Forbidden)?;
    let today = state.app.today();
    let as_of = match q.as_of.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(s) => parse_date("截至日期", s)?,
        None => today,
    };
    let this_year_only = q.year_only.is_some();
    let tb = state
        .app
        .trial_balance(&reader, id, as_of, this_year_only)
        .await?;
    let lines = tb
        .rows
        .iter()
        .filter(|r| r.debits.fen() != 0 || r.credits.fen() != 0)
        .map(|r| BalanceLine {
            code: r.account.code(),
            name: r.account.name_zh(),
            kind: r.account.kind().label_zh(),
            debits: r.debits.to_string(),
            credits: r.credits.to_string(),
            balance: r.balance().to_string(),
        })
        .collect();
    let money = state.app.money_available(a, id).await?;
    let postings = state.app.journal(&reader, id, q.before, 50).await?;
    let next_page = (postings.len() == 50)
        .then(|| postings.last().map(|p| p.seq))
        .flatten();
    let journal = postings
        .iter()
        .map(|p| JournalLine {
            seq: p.seq,
            entry_no: p.entry_no,
            date: p.effective_date.clone(),
            kind: ledger::EntryKind::from_code(&p.kind)
                .map(|k| k.label_zh())
                .unwrap_or("?"),
            account: ledger::Account::parse(&p.account)
                .map(|a| format!("{} {}", a.code(), a.name_zh()))
                .unwrap_or_else(|| p.account.clone()),
            debit: if p.amount_fen > 0 {
                yuan(p.amount_fen)
            } else {
                String::new()
            },
            credit: if p.amount_fen < 0 {
                yuan(-p.amount_fen)
            } else {
                String::new()
            },
            memo: p.memo.clone(),
            by: p.recorded_by.clone(),
        })
        .collect();
    let head = state.app.chain_head(a, id).await?;
    let pending = state
        .app
        .pending_receipts(&reader, id)
        .await?
        .into_iter()
        .map(PendingLine::of)
        .collect();
    Ok(render(
        StatusCode::OK,
        &FundPage {
            nav: Nav::of(&staff),
            as_of: as_of.to_string(),
            this_year_only,
            total_debits: tb.total_debits.to_string(),
            total_credits: tb.total_credits.to_string(),
            balanced: tb.is_balanced(),
            cash: tb.cash().to_string(),
            fund_balance: tb.fund_balance().to_string(),
            lines,
            income: money.income.to_string(),
            reserve: money.reserve.to_string(),
            service_fee: money.service_fee.to_string(),
            available: money.available.to_string(),
            journal,
            next_page,
            head,
            can_manage: year.is_open()
                && a.scheme_manager().is_some()
                && a.scope().contains(&year.row.pool_code),
            payers: scheme::Payer::ALL
                .iter()
                .filter(|p| !matches!(p, scheme::Payer::Personal | scheme::Payer::Charity))
                .map(|p| (p.code(), p.label_zh()))
                .collect(),
            today: today.to_string(),
            pending,
            review_above: year.rules.receipt_review_above.to_string(),
            held: q.held.is_some(),
            me: a.username.clone(),
            year,
        },
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ReceiptForm {
    csrf: String,
    kind: String,
    date: String,
    amount: String,
    donor: String,
    organisation: Option<String>,
    payer: String,
}

/// The longest donor name the form takes (a registered organisation's full name fits).
pub const DONOR_NAME_MAX: usize = 60;

pub async fn record(
    State(state): State<AppState>,
    staff: Staff,
    Path(id): Path<String>,
    Form(f): Form<ReceiptForm>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    state.app.year(staff.actor(), id).await?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let on = parse_date("日期", &f.date)?;
    let amount = parse_money("金额", &f.amount)?;
    let receipt = match f.kind.as_str() {
        "donation" => Receipt::Donation {
            donor_name: domain::Line::parse(&f.donor, DONOR_NAME_MAX)
                .map_err(|e| AppError::Invalid(format!("捐赠人或单位名称{e}")))?,
            organisation: f.organisation.is_some(),
            amount,
        },
        "interest" => Receipt::Interest { amount },
        "opening" => Receipt::Opening { amount },
        "remittance" => Receipt::Remittance {
            payer: scheme::Payer::from_code(&f.payer)
                .ok_or_else(|| AppError::Invalid("请选择出资方".into()))?,
            amount,
        },
        _ => return Err(AppError::Invalid("未知的收款类型".into()).into()),
    };
    let recorded = state
        .app
        .record_receipt(&mgr, staff.actor(), id, on, receipt)
        .await?;
    Ok(match recorded {
        app::fund::Recorded::Posted { .. } => Redirect::to(&format!("/years/{id}/fund")),
        app::fund::Recorded::AwaitingReview { .. } => {
            Redirect::to(&format!("/years/{id}/fund?held=1"))
        }
    }
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct DecideReceiptForm {
    csrf: String,
    decision: String,
    note: String,
}

/// A second manager confirms or rejects a held receipt.
pub async fn decide_pending(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, pending)): Path<(String, String)>,
    Form(f): Form<DecideReceiptForm>,
) -> WebResult<Response> {
    let (id, pending) = (parse_id(&id)?, parse_id(&pending)?);
    staff.check_csrf(&f.csrf)?;
    state.app.year(staff.actor(), id).await?;
    let mgr = staff.actor().scheme_manager().ok_or(AppError::Forbidden)?;
    let confirm = match f.decision.as_str() {
        "confirm" => true,
        "reject" => false,
        _ => return Err(AppError::Invalid("请选择复核入账或退回".into()).into()),
    };
    state
        .app
        .decide_receipt(&mgr, staff.actor(), id, pending, confirm, &f.note)
        .await?;
    Ok(Redirect::to(&format!("/years/{id}/fund")).into_response())
}

domain::coded_enum! {
    /// The one-button actions, by their path segment in `/years/{year}/fund/{action}`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum FundAction {
        Reward => ("reward", "计提政府奖补"),
        ServiceFee => ("service-fee", "支付服务费"),
        Close => ("close", "年度结转关闭"),
    }
}

/// The one-button actions: reward accrual, service fee, year close.
pub async fn action(
    State(state): State<AppState>,
    staff: Staff,
    Path((id, what)): Path<(String, String)>,
    Form(f): Form<CsrfOnly>,
) -> WebResult<Response> {
    let id = parse_id(&id)?;
    staff.check_csrf(&f.csrf)?;
    let a = staff.actor();
    state.app.year(a, id).await?;
    let mgr = a.scheme_manager().ok_or(AppError::Forbidden)?;
    match FundAction::from_code(&what).ok_or(AppError::NotFound)? {
        FundAction::Reward => {
            state.app.accrue_reward(&mgr, a, id).await?;
        }
        FundAction::ServiceFee => {
            state.app.charge_service_fee(&mgr, a, id).await?;
        }
        FundAction::Close => {
            state.app.close_year(&mgr, a, id).await?;
        }
    }
    Ok(Redirect::to(&format!("/years/{id}/fund")).into_response())
}

#[cfg(test)]
mod tests {
    use super::FundAction;

    /// The path segments are the routes' public spelling: they must not change.
    #[test]
    fn fund_actions_parse_their_path_segments_only() {
        assert_eq!(FundAction::from_code("reward"), Some(FundAction::Reward));
        assert_eq!(
            FundAction::from_code("service-fee"),
            Some(FundAction::ServiceFee)
        );
        assert_eq!(FundAction::from_code("close"), Some(FundAction::Close));
        for unknown in ["", "service_fee", "Reward", "close/", "delete"] {
            assert_eq!(FundAction::from_code(unknown), None, "{unknown}");
        }
    }
}
