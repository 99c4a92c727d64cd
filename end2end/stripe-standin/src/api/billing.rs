//! Subscriptions, invoices, payments and refunds.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{boolean, int, reply, write, AppState};
use crate::actions::{self, act};
use crate::error::ApiError;
use crate::form::Params;
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

/// `items[0]` of an update: the subscription's item, a new price, a new quantity.
struct ItemChange<'a> {
    id: &'a str,
    price: Option<&'a str>,
    quantity: Option<i64>,
}

/// `items[0][id]` with `items[0][price]` and/or `items[0][quantity]` (one item only).
fn item_change<'a>(p: &Params<'a>) -> Result<Option<ItemChange<'a>>, ApiError> {
    let Some(items) = p.get("items") else {
        return Ok(None);
    };
    if items.as_array().map_or(0, Vec::len) != 1 {
        return Err(ApiError::bad_param(
            "items",
            "The stand-in supports one item per subscription: pass `items[0][id]`.",
        ));
    }
    let id = p.str("items.0.id").ok_or_else(|| {
        ApiError::bad_param(
            "items[0][id]",
            "The stand-in supports one item per subscription: pass the subscription's item as \
             `items[0][id]`.",
        )
    })?;
    let quantity = int(p, "items.0.quantity")?;
    if quantity.is_some_and(|q| q < 1) {
        return Err(ApiError::bad_param(
            "items[0][quantity]",
            "Quantity must be at least 1.",
        ));
    }
    Ok(Some(ItemChange {
        id,
        price: p.str("items.0.price"),
        quantity,
    }))
}

/// `POST /v1/subscriptions/{id}`: `cancel_at_period_end` (both ways),
/// `metadata`, and a plan change (`items[0][id]` with `items[0][price]`
/// and/or `items[0][quantity]`; `proration_behavior` accepted, no
/// prorations made).
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
            let change = item_change(p)?;
            if let Some(b) = p
                .str("proration_behavior")
                .filter(|b| !actions::PRORATION_BEHAVIORS.contains(b))
            {
                return Err(ApiError::bad_param(
                    "proration_behavior",
                    format!(
                        "Invalid proration_behavior: must be one of always_invoice, \
                         create_prorations, or none (not `{b}`)."
                    ),
                ));
            }
            act(&shared, request, |store, batch| {
                let before = actions::sub_json(store, &id);
                if let Some(change) = &change {
                    actions::check_item(store, &id, change.id, "items[0][id]")?;
                    if let Some(price) = change.price {
                        actions::check_price(store, &id, price, "items[0][price]")?;
                    }
                }
                let sub = actions::live_sub(store, &id)?;
                if let Some(change) = &change {
                    actions::set_item(sub, change.price, change.quantity);
                }
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
