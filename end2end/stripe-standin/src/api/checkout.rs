//! Checkout and billing-portal sessions.

use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde_json::Value;

use super::{int, limit, page, query, reply, required, write, AppState};
use crate::actions::{self, act};
use crate::error::ApiError;
use crate::form::Params;
use crate::objects;
use crate::state::{new_id, now, PortalSession, Session};

pub async fn create_session(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(&shared, &headers, "/v1/checkout/sessions", &body, |p, _| {
        let mode = required(p, "mode")?.to_string();
        if mode != "payment" && mode != "subscription" {
            return Err(ApiError::bad_param(
                "mode",
                format!("The stand-in does not emulate `{mode}` mode."),
            ));
        }
        let success_url = required(p, "success_url")?.to_string();
        let items = p
            .get("line_items")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if items == 0 {
            return Err(ApiError::missing_param("line_items"));
        }
        if items > 1 {
            return Err(ApiError::bad_param(
                "line_items",
                "The stand-in supports one line item per session.",
            ));
        }
        let price_id = required(p, "line_items.0.price")?.to_string();
        let quantity = int(p, "line_items.0.quantity")?.ok_or_else(|| {
            ApiError::invalid(
                "Quantity is required. Add `quantity` to `line_items[0]`",
                Some("line_items[0][quantity]"),
            )
        })?;
        if quantity < 1 {
            return Err(ApiError::bad_param(
                "line_items[0][quantity]",
                "Quantity must be at least 1.",
            ));
        }
        let customer = p.str("customer").map(str::to_string);
        let customer_email = p.str("customer_email").map(str::to_string);
        if customer.is_some() && customer_email.is_some() {
            return Err(ApiError::invalid(
                "You may only specify one of these parameters: customer, customer_email.",
                Some("customer_email"),
            ));
        }
        let payment = mode == "payment";
        if payment && p.get("subscription_data").is_some() {
            return Err(ApiError::invalid(
                "You can not pass `subscription_data` in `payment` mode.",
                Some("subscription_data"),
            ));
        }
        if !payment && p.get("payment_intent_data").is_some() {
            return Err(ApiError::invalid(
                "You can not pass `payment_intent_data` in `subscription` mode.",
                Some("payment_intent_data"),
            ));
        }
        let creation = p.str("customer_creation").map(str::to_string);
        if creation.is_some() && !payment {
            return Err(ApiError::invalid(
                "`customer_creation` can only be used in `payment` mode.",
                Some("customer_creation"),
            ));
        }
        let mut store = shared.lock();
        let price = store
            .prices
            .get(&price_id)
            .ok_or_else(|| ApiError::no_such_param("price", &price_id, "line_items[0][price]"))?;
        if !price.active {
            return Err(ApiError::bad_param(
                "line_items[0][price]",
                "The price specified is inactive. This field only accepts active prices.",
            ));
        }
        match (payment, price.recurring.is_some()) {
            (true, true) => {
                return Err(ApiError::invalid(
                    "You specified `payment` mode but passed a recurring price. Either switch to \
                     `subscription` mode or use only one-time prices.",
                    Some("line_items[0][price]"),
                ))
            }
            (false, false) => {
                return Err(ApiError::invalid(
                    "You must provide at least one recurring price in `subscription` mode when using prices.",
                    Some("line_items[0][price]"),
                ))
            }
            _ => {}
        }
        if let Some(id) = &customer {
            if !store.customers.contains_key(id) {
                return Err(ApiError::no_such_param("customer", id, "customer"));
            }
        }
        let id = new_id("cs_test_", 58);
        let created = now();
        let expires_at = int(p, "expires_at")?.unwrap_or(created + 24 * 3600);
        let session = Session {
            seq: store.next_seq(),
            id: id.clone(),
            created,
            expires_at,
            mode,
            status: "open".into(),
            customer_creation: match (&customer, creation) {
                (Some(_), _) => None,
                (None, Some(c)) => Some(c),
                (None, None) => Some(if payment { "if_required" } else { "always" }.into()),
            },
            customer,
            customer_email,
            client_reference_id: p.str("client_reference_id").map(str::to_string),
            success_url,
            cancel_url: p.str("cancel_url").map(str::to_string),
            metadata: p.metadata("metadata"),
            price: price_id,
            quantity,
            subscription_metadata: p.metadata("subscription_data.metadata"),
            payment_intent_metadata: p.metadata("payment_intent_data.metadata"),
            subscription: None,
            payment_intent: None,
            invoice: None,
            completed_at: None,
        };
        let json = objects::checkout_session(&store, &shared.public_base, &session);
        store.sessions.insert(id, session);
        Ok(json)
    })
}

pub async fn get_session(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    reply(
        store
            .sessions
            .get(&id)
            .map(|s| objects::checkout_session(&store, &shared.public_base, s))
            .ok_or_else(|| ApiError::no_such("checkout.session", &id, Some("session"))),
    )
}

/// `GET /v1/checkout/sessions?payment_intent=…|subscription=…|customer=…|status=…&limit=…`
pub async fn list_sessions(State(shared): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let result = (|| {
        let q = query(raw.as_deref())?;
        let p = Params(&q);
        let limit = limit(&p)?;
        let store = shared.lock();
        let mut found: Vec<&Session> = store
            .sessions
            .values()
            .filter(|s| {
                p.str("payment_intent")
                    .is_none_or(|v| s.payment_intent.as_deref() == Some(v))
            })
            .filter(|s| {
                p.str("subscription")
                    .is_none_or(|v| s.subscription.as_deref() == Some(v))
            })
            .filter(|s| {
                p.str("customer")
                    .is_none_or(|v| s.customer.as_deref() == Some(v))
            })
            .filter(|s| p.str("status").is_none_or(|v| s.status == v))
            .collect();
        found.sort_by_key(|s| std::cmp::Reverse(s.seq));
        let found = found
            .into_iter()
            .map(|s| objects::checkout_session(&store, &shared.public_base, s))
            .collect();
        Ok(page("/v1/checkout/sessions", found, limit))
    })();
    reply(result)
}

pub async fn expire_session(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(
        &shared,
        &headers,
        &format!("/v1/checkout/sessions/{id}/expire"),
        &body,
        |_, request| {
            act(&shared, request, |store, batch| {
                actions::expire_session(store, batch, &shared.public_base, &id)?;
                let s = store
                    .sessions
                    .get(&id)
                    .ok_or_else(|| ApiError::no_such("checkout.session", &id, None))?;
                Ok(objects::checkout_session(store, &shared.public_base, s))
            })
        },
    )
}

pub async fn create_portal_session(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(
        &shared,
        &headers,
        "/v1/billing_portal/sessions",
        &body,
        |p, _| {
            let customer = required(p, "customer")?.to_string();
            let mut store = shared.lock();
            if !store.customers.contains_key(&customer) {
                return Err(ApiError::no_such_param("customer", &customer, "customer"));
            }
            let session = PortalSession {
                id: new_id("bps_", 24),
                created: now(),
                customer,
                return_url: p.str("return_url").map(str::to_string),
            };
            let json = objects::portal_session(&shared.public_base, &session);
            store.portal_sessions.insert(session.id.clone(), session);
            Ok(json)
        },
    )
}
