//! Health and metrics, for load balancers and monitoring:
//! - `GET /livez`: 200 while the process serves; touches nothing (liveness,
//!   and the cheapest route, the benchmark's baseline);
//! - `GET /readyz` (and `/healthz`, its old name): 200 when the database
//!   answers within 2 s, 503 otherwise (readiness: HAProxy's check);
//! - `GET /metrics`: Prometheus text (`app::backend::web::metrics` plus what
//!   is read here: job lag, database pool, open attempt counts), only with
//!   `Authorization: Bearer <PORTCULLIS_METRICS_TOKEN>`; 404 when unset.

use app::backend::services::jobs;
use app::backend::web::secrets::constant_time_eq;
use app::backend::web::AppState;
use axum::{
    extract::State,
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use chrono::Utc;
use std::time::Duration;

pub async fn livez() -> &'static str {
    "ok"
}

pub async fn readyz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    match tokio::time::timeout(Duration::from_secs(2), state.db.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok"),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "readiness: database unreachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database too slow"),
    }
}

/// The bearer secret `/metrics` wants (`None`: metrics are off).
#[derive(Clone)]
pub struct MetricsAccess(pub Option<String>);

pub async fn metrics(State(state): State<AppState>, axum::Extension(access): axum::Extension<MetricsAccess>, headers: HeaderMap) -> Response {
    let Some(token) = access.0.as_deref() else {
        return (StatusCode::NOT_FOUND, "metrics are off: set PORTCULLIS_METRICS_TOKEN").into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !constant_time_eq(presented.trim().as_bytes(), token.as_bytes()) {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "missing or wrong metrics token").into_response();
    }
    let mut gauges: Vec<(&str, &str, String, f64)> = Vec::new();
    let (size, idle) = state.db.pool_use();
    gauges.push(("portcullis_db_connections", "Database pool connections on this replica.", "state=\"open\"".into(), size as f64));
    gauges.push(("portcullis_db_connections", "Database pool connections on this replica.", "state=\"idle\"".into(), idle as f64));
    gauges.push(("portcullis_audit_attempt_counts_open", "Counts of unauthenticated attempts not yet written.", String::new(), state.attempts.open_counts() as f64));
    match jobs::status(&state.db).await {
        Ok(rows) => {
            let now = Utc::now();
            for j in &rows {
                let lag = (now - j.next_run_at).num_milliseconds().max(0) as f64 / 1000.0;
                gauges.push(("portcullis_job_lag_seconds", "How overdue each fleet job is (0 when on time).", format!("job=\"{}\"", j.name), lag));
            }
            for j in &rows {
                let ok = match j.last_ok { Some(true) => 1.0, Some(false) => 0.0, None => -1.0 };
                gauges.push(("portcullis_job_last_ok", "Whether each fleet job's last run succeeded (-1: never ran).", format!("job=\"{}\"", j.name), ok));
            }
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot read the jobs"),
    }
    let body = state.metrics.render(&gauges);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body).into_response()
}
