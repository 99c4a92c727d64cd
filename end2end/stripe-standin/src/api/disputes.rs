//! Disputes (chargebacks), opened and closed by the test controls.

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::{limit, page, query, reply, AppState};
use crate::error::ApiError;
use crate::form::Params;
use crate::objects;
use crate::state::Dispute;

pub async fn get_dispute(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let found = store.disputes.get(&id).map(objects::dispute);
    reply(found.ok_or_else(|| ApiError::no_such("dispute", &id, Some("dispute"))))
}

/// `GET /v1/disputes?charge=&payment_intent=&limit=`, newest first.
pub async fn list_disputes(State(shared): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let result = (|| {
        let q = query(raw.as_deref())?;
        let p = Params(&q);
        let limit = limit(&p)?;
        let store = shared.lock();
        let mut found: Vec<&Dispute> = store
            .disputes
            .values()
            .filter(|d| p.str("charge").is_none_or(|v| d.charge == v))
            .filter(|d| {
                p.str("payment_intent")
                    .is_none_or(|v| d.payment_intent == v)
            })
            .collect();
        found.sort_by_key(|d| std::cmp::Reverse(d.seq));
        let found = found.into_iter().map(objects::dispute).collect();
        Ok(page("/v1/disputes", found, limit))
    })();
    reply(result)
}
