//! `/test/...`: the controls as JSON routes (no auth; loopback peers only).

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Path, RawQuery, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::Value;

use super::{Controls, WebhookSwitches};
use crate::api::AppState;
use crate::error::ApiError;
use crate::form::{self, Params};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/test/checkout/sessions/{id}", get(session))
        .route("/test/checkout/sessions/{id}/pay", post(pay))
        .route("/test/checkout/sessions/{id}/expire", post(expire))
        .route("/test/subscriptions/{id}", get(subscription))
        .route(
            "/test/subscriptions/{id}/fail_next_invoice",
            post(fail_next_invoice),
        )
        .route("/test/subscriptions/{id}/advance", post(advance))
        .route(
            "/test/subscriptions/{id}/pay_open_invoice",
            post(pay_open_invoice),
        )
        .route("/test/subscriptions/{id}/mark_unpaid", post(mark_unpaid))
        .route("/test/subscriptions/{id}/cancel", post(cancel))
        .route("/test/subscriptions/{id}/switch", post(switch))
        .route("/test/payment_intents/{id}/refund", post(refund))
        .route("/test/payment_intents/{id}/dispute", post(dispute))
        .route("/test/disputes/{id}/close", post(close_dispute))
        .route("/test/webhooks", get(get_webhooks).post(set_webhooks))
        .route("/test/webhooks/flush", post(flush))
        .route("/test/events", get(events))
        .layer(middleware::from_fn(loopback_only))
}

async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if peer.is_some_and(|ip| !ip.is_loopback()) {
        return ApiError {
            status: StatusCode::FORBIDDEN,
            ..ApiError::invalid("Test controls answer loopback peers only.", None)
        }
        .into_response();
    }
    next.run(request).await
}

fn controls(shared: AppState) -> Controls {
    Controls { shared }
}

fn answer(result: Result<Value, ApiError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(err) => err.into_response(),
    }
}

async fn session(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).checkout_session(&id))
}

async fn pay(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).pay_checkout_session(&id))
}

async fn expire(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).expire_checkout_session(&id))
}

async fn subscription(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).subscription(&id))
}

async fn fail_next_invoice(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).fail_next_invoice(&id))
}

async fn advance(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).advance(&id))
}

async fn pay_open_invoice(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).pay_open_invoice(&id))
}

async fn mark_unpaid(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).mark_unpaid(&id))
}

/// `name` from a JSON body, else a form body, else the query (a form's
/// value is a string). `None` when absent, null or empty.
fn param(raw: Option<&str>, body: &str, name: &str) -> Result<Option<Value>, ApiError> {
    let bad = |m: String| ApiError::bad_param(name, m);
    let trimmed = body.trim();
    if trimmed.starts_with('{') {
        let value: Value = serde_json::from_str(trimmed).map_err(|e| bad(e.to_string()))?;
        return Ok(value
            .get(name)
            .filter(|v| !v.is_null() && v.as_str() != Some(""))
            .cloned());
    }
    for source in [trimmed, raw.unwrap_or("")] {
        let parsed = form::parse(source).map_err(bad)?;
        if let Some(v) = Params(&parsed).str(name) {
            return Ok(Some(Value::from(v)));
        }
    }
    Ok(None)
}

/// A required string parameter (see [`param`]).
fn text(raw: Option<&str>, body: &str, name: &str) -> Result<String, ApiError> {
    match param(raw, body, name)? {
        Some(Value::String(s)) => Ok(s),
        None => Err(ApiError::missing_param(name)),
        Some(other) => Err(ApiError::bad_param(
            name,
            format!("Invalid string: {other}"),
        )),
    }
}

/// `at_period_end` (see [`param`]; default false).
fn at_period_end(raw: Option<&str>, body: &str) -> Result<bool, ApiError> {
    match param(raw, body, "at_period_end")? {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) if s == "true" => Ok(true),
        Some(Value::String(s)) if s == "false" => Ok(false),
        Some(other) => Err(ApiError::bad_param(
            "at_period_end",
            format!("Invalid boolean: {other}"),
        )),
    }
}

async fn cancel(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: String,
) -> Response {
    answer(at_period_end(raw.as_deref(), &body).and_then(|at_end| controls(s).cancel(&id, at_end)))
}

async fn refund(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).refund_payment_intent(&id))
}

/// `price` from a JSON body, a form body or the query.
async fn switch(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: String,
) -> Response {
    answer(
        text(raw.as_deref(), &body, "price")
            .and_then(|price| controls(s).switch_price(&id, &price)),
    )
}

async fn dispute(State(s): State<AppState>, Path(id): Path<String>) -> Response {
    answer(controls(s).dispute_payment_intent(&id))
}

/// `outcome=won|lost` from a JSON body, a form body or the query.
async fn close_dispute(
    State(s): State<AppState>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
    body: String,
) -> Response {
    let won = text(raw.as_deref(), &body, "outcome").and_then(|o| match o.as_str() {
        "won" => Ok(true),
        "lost" => Ok(false),
        _ => Err(ApiError::bad_param(
            "outcome",
            format!("Invalid outcome: must be won or lost (not `{o}`)."),
        )),
    });
    answer(won.and_then(|won| controls(s).close_dispute(&id, won)))
}

async fn get_webhooks(State(s): State<AppState>) -> Response {
    Json(controls(s).webhooks()).into_response()
}

async fn set_webhooks(State(s): State<AppState>, body: String) -> Response {
    let switches: WebhookSwitches = if body.trim().is_empty() {
        WebhookSwitches::default()
    } else {
        match serde_json::from_str(&body) {
            Ok(switches) => switches,
            Err(err) => {
                return ApiError::invalid(format!("Invalid JSON body: {err}"), None).into_response()
            }
        }
    };
    Json(controls(s).set_webhooks(switches)).into_response()
}

async fn events(State(s): State<AppState>) -> Response {
    Json(controls(s).events()).into_response()
}

/// `?timeout_ms=` (default and cap 30 000).
async fn flush(State(s): State<AppState>, RawQuery(raw): RawQuery) -> Response {
    let parsed = form::parse(raw.as_deref().unwrap_or("")).unwrap_or(Value::Null);
    let ms = Params(&parsed)
        .int("timeout_ms")
        .ok()
        .flatten()
        .unwrap_or(30_000)
        .clamp(0, 30_000);
    let limit = Duration::from_millis(u64::try_from(ms).unwrap_or(30_000));
    Json(controls(s).flush(limit).await).into_response()
}
