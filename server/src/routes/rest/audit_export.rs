//! Streams the events matching a filter as CSV or JSON Lines: newest first,
//! read in keyset pages of 1,000, so the whole set is never in memory and a
//! download of ten million rows holds no long transaction. Events added
//! while the download runs are not in it (they have larger ids).
//!
//! Shared by `GET /api/v1/audit?format=csv|jsonl` and the auditor page's
//! download links (`GET /audit/export`, session login).
//!
//! Each page read runs under the audit time limit. The first page is read
//! before the answer starts, so a search too broad for it answers 422
//! `search_too_broad` like a page would; a later page that fails ends the
//! download cut short (the client sees an incomplete body, never a file
//! that looks whole).

use super::error::ApiError;
use app::backend::services::audit::read::{self, AuditRow, Filter};
use app::backend::web::AppState;
use app::backend::services::audit::retention::row_json;
use app::domain::text::csv_field;
use axum::{
    body::{Body, Bytes},
    http::{header, HeaderValue},
    response::{IntoResponse, Response},
};
use chrono::Utc;

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One page of JSON (default).
    Json,
    /// All matching events, streamed.
    Csv,
    /// All matching events, streamed, one JSON object a line.
    Jsonl,
}

const PAGE: i64 = 1_000;
pub const CSV_COLUMNS: &str =
    "id,occurred_at,actor,actor_user_id,action,outcome,target_type,target_id,subject_user_id,ip,user_agent,details,chain_hash,organisation_id";

fn csv_line(r: &AuditRow) -> String {
    let opt = |v: &Option<String>| v.as_deref().map(csv_field).unwrap_or_default();
    let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
    [
        r.id.to_string(),
        r.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        csv_field(&r.actor),
        num(r.actor_user_id),
        csv_field(&r.action),
        csv_field(&r.outcome),
        opt(&r.target_type),
        opt(&r.target_id),
        num(r.subject_user_id),
        opt(&r.ip),
        opt(&r.user_agent),
        csv_field(&r.details.0.to_string()),
        opt(&r.chain_hash),
        num(r.organisation_id),
    ]
    .join(",")
        + "\r\n"
}

struct Cursor {
    st: AppState,
    filter: Filter,
    format: Format,
    /// The first page, read before the answer started.
    first: Option<Vec<AuditRow>>,
    done: bool,
}

async fn next_chunk(mut c: Cursor) -> Option<(Result<Bytes, std::io::Error>, Cursor)> {
    if c.done {
        return None;
    }
    let mut out = String::new();
    let first = c.first.take();
    if first.is_some() && c.format == Format::Csv {
        out.push_str(CSV_COLUMNS);
        out.push_str("\r\n");
    }
    let page = match first {
        Some(rows) => Ok(rows),
        None => read::search(&c.st, &c.filter, PAGE).await,
    };
    let rows = match page {
        Ok(rows) => rows,
        Err(e) => {
            tracing::error!(error = %e, "audit export failed part-way; the download is cut short");
            c.done = true;
            return Some((Err(std::io::Error::other("audit export failed")), c));
        }
    };
    c.done = (rows.len() as i64) < PAGE;
    if let Some(last) = rows.last() {
        c.filter.before = Some(last.id);
    }
    for r in &rows {
        match c.format {
            Format::Csv => out.push_str(&csv_line(r)),
            _ => {
                out.push_str(&row_json(r).to_string());
                out.push('\n');
            }
        }
    }
    Some((Ok(Bytes::from(out)), c))
}

/// The streamed download of everything `filter` matches (below `filter.before`, if set).
pub async fn stream(st: AppState, mut filter: Filter, format: Format) -> Response {
    // Fix the upper end now, so the export is one consistent set.
    // A failure before the answer starts is the API's JSON error: 422
    // `search_too_broad`, or 500 with the request id (the cause logged under
    // it by `log_internal_errors`).
    if filter.before.is_none() {
        match read::newest_id(&st).await {
            Ok(top) => filter.before = Some(top.saturating_add(1)),
            Err(e) => return ApiError::from(e).into_response(),
        }
    }
    let first = match read::search(&st, &filter, PAGE).await {
        Ok(rows) => rows,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let (content_type, ext) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        _ => ("application/jsonl; charset=utf-8", "jsonl"),
    };
    let name = format!("attachment; filename=\"portcullis-audit-{}.{ext}\"", Utc::now().format("%Y%m%dT%H%M%SZ"));
    let cursor = Cursor { st, filter, format, first: Some(first), done: false };
    let body = Body::from_stream(futures::stream::unfold(cursor, next_chunk));
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&name) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
