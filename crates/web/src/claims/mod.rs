//! Claims pages (补助申请), a file per feature: `list` the list and queues every staff role
//! starts from, and the export; `intake` the application form, filing and added documents;
//! `page` the claim page (facts, documents and viewer, history, the coder's and reviewer's
//! forms) and the code search; `actions` the coder's, reviewer's and re-opener's POSTs;
//! `documents` a document's bytes. The handlers are re-exported here for the route table.

pub mod actions;
pub mod documents;
pub mod intake;
pub mod list;
pub mod page;

pub use actions::{coding, propose, reopen, request_documents, review};
pub use documents::document;
pub use intake::{add_documents, file, new_form};
pub use list::{export, list};
pub use page::{codes, show};

use crate::error::WebResult;
use crate::pages::parse_id;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use domain::ClaimId;

pub(crate) use list::{member_claims, ClaimRow};

/// A claim id from the path: anything but a number is not found.
pub(crate) fn claim_id(s: &str) -> WebResult<ClaimId> {
    parse_id(s).map(ClaimId)
}

/// Working days left as a person reads them, and whether the claim is overdue.
pub(crate) fn deadline_text(days_left: Option<i64>, status: domain::ClaimStatus) -> (String, bool) {
    match days_left {
        Some(n) if n >= 0 => (format!("剩余 {n} 个工作日"), false),
        Some(n) => (format!("已超期 {} 天", -n), true),
        None if status == domain::ClaimStatus::AwaitingDocuments => {
            ("待补件，期限暂停计算".into(), false)
        }
        None => (String::new(), false),
    }
}

/// The small script of the claim pages (live out-of-pocket on the form, the viewer's keys);
/// every page works without it.
pub async fn script() -> impl IntoResponse {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("claims.js"),
    )
}
