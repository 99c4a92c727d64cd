//! Subscriptions, invoices, payments and refunds.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{boolean, int, reply, write, AppState};
use crate::actions::{self, act};
use crate::error::ApiError;
use crate::objects;
use crate::state::now;

pub async fn get_subscription(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    reply(
        store
            .subscriptions
            .get(&id)
            .map(|s| objects::subscription(&store, s))
            .ok_or_else(|| ApiError::no_such("subscription", &id, Some("id"))),
    )
}

/// `POST /v1/subscriptions/{id}`: `cancel_at_period_end` (both ways) and `metadata`.
pub async fn update_subscription(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(
        &shared,
        &headers,
        &format!("/v1/subscriptions/{id}"),
        &body,
        |p, request| {
            let cancel_at_period_end = boolean(p, "cancel_at_period_end")?;
            let metadata = p.metadata_update("metadata");
            act(&shared, request, |store, batch| {
                let before = actions::sub_json(store, &id);
                let sub = actions::live_sub(store, &id)?;
                match cancel_at_period_end {
                    Some(true) if !sub.cancel_at_period_end => {
                        sub.cancel_at_period_end = true;
                        sub.cancel_at = Some(sub.period_end);
                        sub.canceled_at = Some(now());
                        sub.cancel_reason = Some("cancellation_requested".into());
                    }
                    Some(false) if sub.cancel_at_period_end => {
                        sub.cancel_at_period_end = false;
                        sub.cancel_at = None;
                        sub.canceled_at = None;
                        sub.cancel_reason = None;
                    }
                    _ => {}
                }
                for (key, value) in metadata.unwrap_or_default() {
                    if value.is_empty() {
                        sub.metadata.remove(&key);
                    } else {
                        sub.metadata.insert(key, value.into());
                    }
                }
                if actions::sub_json(store, &id) != before {
                    actions::emit_updated(store, batch, &id, &before);
                }
                Ok(actions::sub_json(store, &id))
            })
        },
    )
}

/// `DELETE /v1/subscriptions/{id}`: cancels at once.
pub async fn cancel_subscription(
    State(shared): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    reply(act(&shared, (None, None), |store, batch| {
        actions::cancel(store, batch, &id, false)?;
        Ok(actions::sub_json(store, &id))
    }))
}

pub async fn get_invoice(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let found = store.invoices.get(&id).map(|i| objects::invoice(&store, i));
    reply(found.ok_or_else(|| ApiError::no_such("invoice", &id, Some("id"))))
}

pub async fn get_payment_intent(
    State(shared): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let store = shared.lock();
    let found = store.payment_intents.get(&id).map(objects::payment_intent);
    reply(found.ok_or_else(|| ApiError::no_such("payment_intent", &id, Some("intent"))))
}

pub async fn get_charge(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let found = store
        .charges
        .get(&id)
        .map(|c| objects::charge(&shared.public_base, c));
    reply(found.ok_or_else(|| ApiError::no_such("charge", &id, Some("charge"))))
}

/// `POST /v1/refunds` with `payment_intent` or `charge`, optional `amount`.
pub async fn create_refund(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(&shared, &headers, "/v1/refunds", &body, |p, request| {
        let amount = int(p, "amount")?;
        let pi_id = match (p.str("payment_intent"), p.str("charge")) {
            (Some(pi), None) => pi.to_string(),
            (None, Some(charge)) => {
                let store = shared.lock();
                let c = store
                    .charges
                    .get(charge)
                    .ok_or_else(|| ApiError::no_such_param("charge", charge, "charge"))?;
                c.payment_intent.clone()
            }
            _ => {
                return Err(ApiError::invalid(
                    "You must pass exactly one of `payment_intent` or `charge`.",
                    Some("payment_intent"),
                ))
            }
        };
        act(&shared, request, |store, batch| {
            if !store.payment_intents.contains_key(&pi_id) {
                return Err(ApiError::no_such_param(
                    "payment_intent",
                    &pi_id,
                    "payment_intent",
                ));
            }
            let (charge_id, refund_id) =
                actions::refund(store, batch, &shared.public_base, &pi_id, amount)?;
            let charge = store
                .charges
                .get(&charge_id)
                .ok_or_else(|| ApiError::no_such("charge", &charge_id, None))?;
            let refund = charge.refunds.iter().find(|r| r.id == refund_id);
            refund
                .map(|r| objects::refund(charge, r))
                .ok_or_else(|| ApiError::no_such("refund", &refund_id, None))
        })
    })
}
