//! Per-request facts for server functions: who is calling from where (for the
//! audit log and rate limits), the request id, and how errors become HTTP
//! statuses.

use crate::backend::web::state::AppState;
use crate::error::AppError;
use axum::{extract::ConnectInfo, http::HeaderMap};
use leptos::prelude::*;
use leptos_axum::ResponseOptions;
use std::net::{IpAddr, SocketAddr};

/// The request id header set by the router (tower-http `SetRequestId`).
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Where a request came from, as recorded in the audit log.
#[derive(Clone, Debug, Default)]
pub struct RequestMeta {
    pub ip: Option<IpAddr>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
}

impl RequestMeta {
    /// Reads the caller's address, user agent and request id. With a client IP
    /// header configured (behind a proxy that overwrites it), that header
    /// wins over the TCP peer.
    pub fn from_parts(headers: &HeaderMap, peer: Option<SocketAddr>, ip_header: Option<&str>) -> Self {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let forwarded = ip_header
            .and_then(header)
            .and_then(|v| v.split(',').next().and_then(|s| s.trim().parse::<IpAddr>().ok()));
        Self {
            ip: forwarded.or(peer.map(|p| p.ip())),
            user_agent: header("user-agent").map(|ua| ua.chars().take(512).collect()),
            request_id: header(REQUEST_ID_HEADER),
        }
    }

    /// The metadata of the request a server function is answering.
    pub async fn current() -> Self {
        let state = use_context::<AppState>();
        let ip_header = state.as_ref().and_then(|s| s.auth.client_ip_header.clone());
        let headers: HeaderMap = leptos_axum::extract().await.unwrap_or_default();
        let peer = leptos_axum::extract::<ConnectInfo<SocketAddr>>().await.ok().map(|c| c.0);
        Self::from_parts(&headers, peer, ip_header.as_deref())
    }

    pub fn ip_string(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_string())
    }
}

/// The request id a request carries (set by the router's first layer), or
/// `unknown`: for the boundaries that log under it.
pub fn request_id_of(headers: &HeaderMap) -> String {
    headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("unknown").to_owned()
}

/// The request id of the request being answered, for error messages.
pub fn current_request_id() -> String {
    use_context::<axum::http::request::Parts>()
        .and_then(|p| p.headers.get(REQUEST_ID_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

/// An internal failure (`AppError::internal`): logged by the boundary.
pub fn internal(err: impl std::fmt::Display) -> AppError {
    AppError::internal(err)
}

/// Ends a server function, the boundary of its request: an internal
/// failure is logged under the request id, and an error sets the response
/// status to match it.
pub fn respond<T>(result: Result<T, AppError>) -> Result<T, AppError> {
    result.map_err(|e| {
        let e = e.logged(&current_request_id());
        if let Some(opts) = use_context::<ResponseOptions>() {
            opts.set_status(axum::http::StatusCode::from_u16(e.status()).unwrap_or_default());
            if let AppError::RateLimited { retry_after_secs } = &e {
                opts.insert_header(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*retry_after_secs));
            }
        }
        e
    })
}

/// The app state, provided to every server function by the router.
pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal("AppState missing from context"))
}

impl From<sqlx::Error> for AppError {
    fn from(err: sqlx::Error) -> Self {
        internal(err)
    }
}

/// An audit read stopped at its time limit is the caller's to narrow (422);
/// any other database failure is internal.
impl From<crate::backend::db::bounded::QueryError> for AppError {
    fn from(err: crate::backend::db::bounded::QueryError) -> Self {
        match err {
            crate::backend::db::bounded::QueryError::TooBroad(_) => AppError::SearchTooBroad,
            crate::backend::db::bounded::QueryError::Db(e) => internal(e),
        }
    }
}

impl From<crate::backend::web::password::HashError> for AppError {
    fn from(err: crate::backend::web::password::HashError) -> Self {
        internal(err)
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(err: tower_sessions::session::Error) -> Self {
        internal(err)
    }
}
