//! A claim's document (or its thumbnail), found only through a claim in the viewer's area:
//! never cached, shown inline, its type as stored (the upload was checked and re-encoded at
//! intake), no sniffing.

use super::claim_id;
use crate::error::WebResult;
use crate::pages::parse_id;
use crate::session::Staff;
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

#[derive(Deserialize)]
pub struct DocumentQuery {
    #[serde(default)]
    thumb: String,
}

pub async fn document(
    State(state): State<AppState>,
    staff: Staff,
    Path((claim, document)): Path<(String, String)>,
    Query(q): Query<DocumentQuery>,
) -> WebResult<Response> {
    let id = claim_id(&claim)?;
    let document = parse_id(&document)?;
    let thumbnail = q.thumb == "1";
    let (bytes, mime) = state
        .app
        .claim_document(staff.actor(), id, document, thumbnail)
        .await?;
    // A PDF is stored as uploaded (its scripts and metadata are not rewritten), so it is
    // downloaded and opened by the phone's own viewer, never rendered inside the site's origin.
    let disposition = if mime == "application/pdf" {
        "attachment; filename=\"document.pdf\""
    } else {
        "inline"
    };
    Ok((
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        bytes,
    )
        .into_response())
}
