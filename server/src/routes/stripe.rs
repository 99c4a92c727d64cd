//! `POST /stripe/webhook`: the HTTP face of `app::backend::services::billing::webhook`.
//! 200 after the change is committed (or for a duplicate / ignored event),
//! 400 for a bad signature or payload (counted per network, or audited
//! when signed; see `webhook::verify`), 500 when Stripe or the
//! database failed (Stripe retries), 404 when Stripe is not configured.

use app::backend::services::billing::webhook;
use app::backend::services::billing::webhook::{Handled, Rejected};
use app::backend::services::audit::attempts::Attempt;
use app::backend::web::{AppState, RequestMeta};
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;
use std::net::SocketAddr;

pub async fn webhook(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(billing) = st.billing.as_deref() else {
        return (StatusCode::NOT_FOUND, Json(json!({ "error": "Stripe is not configured on this portal" }))).into_response();
    };
    let meta = RequestMeta::from_parts(&headers, Some(peer), st.auth.client_ip_header.as_deref());
    let Ok(payload) = std::str::from_utf8(&body) else {
        st.attempts.note(Attempt::denied("billing.webhook", "malformed"), meta.ip, chrono::Utc::now(), || json!({ "user_agent": meta.user_agent }));
        return (StatusCode::BAD_REQUEST, Json(json!({ "error": "the body is not UTF-8" }))).into_response();
    };
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    match webhook::handle(billing, &st.db, &st.attempts, payload, signature, &meta).await {
        Ok(handled) => {
            let outcome = match handled {
                Handled::Applied => "applied",
                Handled::Duplicate => "duplicate",
                Handled::Ignored => "ignored",
            };
            st.metrics.webhook(outcome);
            (StatusCode::OK, Json(json!({ "received": true, "outcome": outcome }))).into_response()
        }
        Err(Rejected::Invalid(reason)) => {
            tracing::warn!(%reason, "refused a Stripe webhook delivery");
            st.metrics.webhook("refused");
            (StatusCode::BAD_REQUEST, Json(json!({ "error": reason }))).into_response()
        }
        Err(Rejected::Retry(e)) => {
            // The boundary: the cause is logged under the request id.
            let request_id = meta.request_id.as_deref().unwrap_or("unknown");
            tracing::error!(request_id, "a Stripe webhook could not be applied; Stripe will retry");
            st.metrics.webhook("failed");
            (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({ "error": e.logged(request_id).to_string() }))).into_response()
        }
    }
}
