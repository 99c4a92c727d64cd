//! `POST /registry/events`: the registry's notifications. The shared secret
//! (a static `Authorization: Bearer …` header in the registry's config) is
//! checked first, then the body parsed; what the events change is
//! `app::backend::services::registry::events`.

use crate::routes::registry::RegistryService;
use app::backend::services::registry::events::Envelope;
use app::backend::web::secrets::constant_time_eq;
use app::backend::services::audit::attempts::Attempt;
use app::backend::web::RequestMeta;
use axum::{
    body::Bytes,
    extract::{ConnectInfo, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use chrono::Utc;
use serde_json::json;
use std::{net::SocketAddr, sync::Arc};

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": { "message": message } }))).into_response()
}

pub async fn events(
    State(svc): State<Arc<RegistryService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !constant_time_eq(presented.trim().as_bytes(), svc.events_secret.as_bytes()) {
        let meta = RequestMeta::from_parts(&headers, Some(peer), svc.client_ip_header.as_deref());
        svc.services.attempts.note(Attempt::denied("registry.events", "bad_secret"), meta.ip, Utc::now(), || {
            json!({ "user_agent": meta.user_agent, "bytes": body.len() })
        });
        return error(StatusCode::UNAUTHORIZED, "missing or wrong shared secret");
    }
    let envelope: Envelope = match serde_json::from_slice(&body) {
        Ok(e) => e,
        // Where it went wrong, not the bytes sent (serde quotes strings).
        Err(e) => {
            let at = format!("not a notification envelope (line {}, column {})", e.line(), e.column());
            return error(StatusCode::BAD_REQUEST, &at);
        }
    };
    match svc.services.events.record(&envelope.events).await {
        Ok(()) => StatusCode::OK.into_response(),
        Err(e) => {
            // A non-2xx makes the registry retry the same events later.
            tracing::error!(error = %e, "registry events: database error");
            error(StatusCode::SERVICE_UNAVAILABLE, "cannot record events now")
        }
    }
}
