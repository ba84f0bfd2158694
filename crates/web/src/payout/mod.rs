//! The monthly payout's staff pages (每月发放), a file per feature: `batches` the list, a new
//! batch (preview and creation), the batch page and its approval; `bank` the bank's file, the
//! bank's results (upload, or line by line); `review` the reviewers' queues (objections, bank
//! card changes) and the member page's bank cards; `recovery` recovery of a paid subsidy (the
//! claim page's form, the list, the page with its receipts, the printable announcement). The
//! handlers are re-exported here for the route table.
//!
//! Decisions on an objection, a card change or a line name their parent in the path (the batch,
//! the member): the parent is looked up in the caller's area first, so anything outside answers
//! 404 before any role is asked about, and the thing must belong to its parent.

pub mod bank;
pub mod batches;
pub mod recovery;
pub mod review;

pub use bank::{file, line_result, results};
pub use batches::{approve, batch, batches, create, new_form};
pub use recovery::{announcement, print_css, receipt, recover, recoveries, recovery};
pub use review::{cards, decide_card, decide_objection, objections, record_card};

pub(crate) use review::CardSection;

use crate::error::WebResult;
use crate::pages::parse_id;
use axum::extract::DefaultBodyLimit;
use domain::{BatchId, CardId, LineId, ObjectionId, RecoveryId};

pub(crate) fn batch_id(s: &str) -> WebResult<BatchId> {
    parse_id(s).map(BatchId)
}
pub(crate) fn line_id(s: &str) -> WebResult<LineId> {
    parse_id(s).map(LineId)
}
pub(crate) fn objection_id(s: &str) -> WebResult<ObjectionId> {
    parse_id(s).map(ObjectionId)
}
pub(crate) fn card_id(s: &str) -> WebResult<CardId> {
    parse_id(s).map(CardId)
}
pub(crate) fn recovery_id(s: &str) -> WebResult<RecoveryId> {
    parse_id(s).map(RecoveryId)
}

/// The body limit of the bank's result upload: the largest result file plus the form.
pub(crate) fn results_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::max(payout::results::MAX_BYTES + crate::FORM_BODY_LIMIT)
}

/// A stored instant as people read it (local time, to the minute).
pub(crate) fn local_time(at: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(at)
        .map(|t| {
            t.with_timezone(&app::TZ)
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| at.to_string())
}

/// The revision a form was rendered with (a missing one is a form to refresh).
pub(crate) fn revision(submitted: &str) -> WebResult<i64> {
    submitted
        .trim()
        .parse::<i64>()
        .map_err(|_| app::AppError::Invalid("表单缺少版本信息，请刷新页面后重试".into()).into())
}
