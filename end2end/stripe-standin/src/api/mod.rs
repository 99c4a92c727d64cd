//! The `/v1` API the portal calls: Bearer auth, form bodies with bracket
//! keys, `Idempotency-Key`, Stripe-shaped errors.

mod billing;
mod catalogue;
mod checkout;
mod disputes;
mod invoice_payments;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use crate::error::ApiError;
use crate::form::{self, Params};
use crate::state::{new_id, IdempotentReply, Shared};

pub type AppState = Arc<Shared>;

/// `request.id` and `request.idempotency_key` of the call (for events).
pub type RequestInfo = (Option<String>, Option<String>);

/// Where `authenticate` leaves the request id for the handlers.
const REQUEST_ID: &str = "x-standin-request-id";

pub fn router(shared: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/customers", post(catalogue::create_customer))
        .route(
            "/v1/customers/{id}",
            get(catalogue::get_customer).post(catalogue::update_customer),
        )
        .route("/v1/products", post(catalogue::create_product))
        .route(
            "/v1/products/{id}",
            get(catalogue::get_product).post(catalogue::update_product),
        )
        .route("/v1/prices", post(catalogue::create_price))
        .route(
            "/v1/prices/{id}",
            get(catalogue::get_price).post(catalogue::update_price),
        )
        .route(
            "/v1/checkout/sessions",
            post(checkout::create_session).get(checkout::list_sessions),
        )
        .route("/v1/checkout/sessions/{id}", get(checkout::get_session))
        .route(
            "/v1/checkout/sessions/{id}/expire",
            post(checkout::expire_session),
        )
        .route(
            "/v1/billing_portal/sessions",
            post(checkout::create_portal_session),
        )
        .route(
            "/v1/subscriptions/{id}",
            get(billing::get_subscription)
                .post(billing::update_subscription)
                .delete(billing::cancel_subscription),
        )
        .route("/v1/invoices/{id}", get(billing::get_invoice))
        .route(
            "/v1/invoice_payments",
            get(invoice_payments::list_invoice_payments),
        )
        .route(
            "/v1/invoice_payments/{id}",
            get(invoice_payments::get_invoice_payment),
        )
        .route("/v1/payment_intents/{id}", get(billing::get_payment_intent))
        .route("/v1/charges/{id}", get(billing::get_charge))
        .route("/v1/refunds", post(billing::create_refund))
        .route("/v1/disputes", get(disputes::list_disputes))
        .route("/v1/disputes/{id}", get(disputes::get_dispute))
        .route("/v1/{*rest}", axum::routing::any(unknown))
        .layer(middleware::from_fn_with_state(shared, authenticate))
}

async fn unknown(method: Method, uri: axum::http::Uri) -> ApiError {
    ApiError::not_found_route(method.as_str(), uri.path())
}

/// `Authorization: Bearer <api_key>`, else a 401 in Stripe's words.
async fn authenticate(State(shared): State<AppState>, request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return ApiError::unauthorized(
            "You did not provide an API key. You need to provide your API key in the \
             Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        )
        .into_response();
    };
    let key = header.strip_prefix("Bearer ").unwrap_or("").trim();
    if key != shared.api_key {
        let shown = key.get(key.len().saturating_sub(4)..).unwrap_or("");
        return ApiError::unauthorized(format!("Invalid API Key provided: sk_****{shown}"))
            .into_response();
    }
    let request_id = new_id("req_", 14);
    let mut request = request;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        request.headers_mut().insert(REQUEST_ID, value);
    }
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("request-id", value);
    }
    // Whatever `Stripe-Version` the client sent, objects are rendered at this one.
    response.headers_mut().insert(
        "stripe-version",
        HeaderValue::from_static(crate::objects::API_VERSION),
    );
    response
}

fn json_reply(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// A read: the object or a Stripe error.
pub fn reply(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(body) => json_reply(StatusCode::OK, body),
        Err(err) => err.into_response(),
    }
}

/// Parses a query string like a form body.
pub fn query(raw: Option<&str>) -> Result<Value, ApiError> {
    form::parse(raw.unwrap_or("")).map_err(|m| ApiError::invalid(m, None))
}

/// `limit` of a list call: 1 to 100, default 10.
pub fn limit(p: &Params<'_>) -> Result<usize, ApiError> {
    let limit = int(p, "limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::bad_param(
            "limit",
            "This value must be between 1 and 100.",
        ));
    }
    Ok(usize::try_from(limit).unwrap_or(10))
}

/// A list object of the first `limit` of `found` (already newest first);
/// `has_more` tells whether some were left off (no cursors).
pub fn page(url: &str, found: Vec<Value>, limit: usize) -> Value {
    let has_more = found.len() > limit;
    let data = found.into_iter().take(limit).collect();
    let mut list = crate::objects::list(url, data);
    list["has_more"] = Value::Bool(has_more);
    list
}

/// A write: parses the form, replays an `Idempotency-Key` it has seen with
/// the same parameters, else runs `f` and remembers its success.
pub fn write(
    shared: &Shared,
    headers: &HeaderMap,
    path: &str,
    body: &str,
    f: impl FnOnce(&Params<'_>, RequestInfo) -> Result<Value, ApiError>,
) -> Response {
    let parsed = match form::parse(body) {
        Ok(parsed) => parsed,
        Err(message) => return ApiError::invalid(message, None).into_response(),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .filter(|k| !k.is_empty())
        .map(str::to_string);
    let fingerprint = format!("{path}\n{parsed}");
    if let Some(key) = &key {
        let store = shared.lock();
        if let Some(seen) = store.idempotency.get(key) {
            if seen.fingerprint != fingerprint {
                return ApiError::idempotency(format!(
                    "Keys for idempotent requests can only be used with the same parameters they \
                     were first used with. Try using a key other than '{key}' if you meant to \
                     execute a different request."
                ))
                .into_response();
            }
            let status = StatusCode::from_u16(seen.status).unwrap_or(StatusCode::OK);
            let mut response = json_reply(status, seen.body.clone());
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return response;
        }
    }
    let request_id = headers
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let request = (request_id, key.clone());
    match f(&Params(&parsed), request) {
        Ok(value) => {
            if let Some(key) = key {
                let reply = IdempotentReply {
                    fingerprint,
                    status: 200,
                    body: value.clone(),
                };
                shared.lock().idempotency.insert(key, reply);
            }
            json_reply(StatusCode::OK, value)
        }
        Err(err) => err.into_response(),
    }
}

/// `line_items.0.price` → `line_items[0][price]` (Stripe's name for a parameter).
pub fn bracket(path: &str) -> String {
    let mut parts = path.split('.');
    let mut out = parts.next().unwrap_or("").to_string();
    for part in parts {
        out.push('[');
        out.push_str(part);
        out.push(']');
    }
    out
}

/// A required string parameter.
pub fn required<'a>(p: &Params<'a>, path: &str) -> Result<&'a str, ApiError> {
    p.str(path)
        .ok_or_else(|| ApiError::missing_param(&bracket(path)))
}

/// An optional integer parameter.
pub fn int(p: &Params<'_>, path: &str) -> Result<Option<i64>, ApiError> {
    p.int(path)
        .map_err(|m| ApiError::bad_param(&bracket(path), m))
}

/// An optional boolean parameter.
pub fn boolean(p: &Params<'_>, path: &str) -> Result<Option<bool>, ApiError> {
    p.bool(path)
        .map_err(|m| ApiError::bad_param(&bracket(path), m))
}
