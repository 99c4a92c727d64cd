//! The state every handler and server function reads (passed through the
//! router, never global, so tests can run several apps in one process).

use crate::backend::db::Db;
use crate::backend::web::ratelimit::LoginLimiter;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::{sync::Arc, time::Duration};

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub db: Db,
    pub auth: Arc<AuthSettings>,
    pub limiter: Arc<LoginLimiter>,
    pub registry: Arc<RegistrySettings>,
    /// Stripe, when configured; `None` = online payment is not set up.
    pub billing: Option<Arc<crate::backend::services::billing::Billing>>,
    /// How long one audit read may run before it is stopped and the caller
    /// asked to narrow the search (`PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS`).
    pub audit_query_timeout: Duration,
    /// Counts of attempts that authenticate nothing, written as aggregated
    /// audit rows (`services::audit::attempts`).
    pub attempts: Arc<crate::backend::services::audit::attempts::Attempts>,
    /// This process's counters (`GET /metrics`).
    pub metrics: Arc<crate::backend::web::metrics::Metrics>,
    /// Mail: how it leaves, the links' base URL, the limits on visitors'
    /// requests for it (`services::mail`).
    pub mail: Arc<crate::backend::services::mail::Mail>,
    /// Seals the accounts' TOTP secrets (the key-encryption keys).
    pub sealer: Arc<dyn crate::backend::web::sealer::Sealer>,
    /// Which roles must sign in with a second factor.
    pub two_factor: crate::domain::two_factor::TwoFactorPolicy,
    /// Harbor, when pull credentials are provisioned as Harbor robots
    /// (`services::harbor`); `None` = the portal's token service decides.
    pub harbor: Option<Arc<crate::backend::services::harbor::Harbor>>,
}

impl AppState {
    /// What a new or rotated pull credential needs under Harbor, if the
    /// deployment uses it.
    pub fn robots(&self) -> Option<crate::backend::services::harbor::Robots<'_>> {
        self.harbor.as_ref().map(|h| crate::backend::services::harbor::Robots { prefix: &h.prefix, sealer: self.sealer.as_ref() })
    }
}

/// What pages and services need to know about the registry (the token
/// service's signing keys live in the `server` crate, its decision and cache
/// in `services::registry`).
#[derive(Clone, Debug)]
pub struct RegistrySettings {
    /// The registry's host (and port) as clients name it, for snippets.
    pub host: String,
    /// The `service` the registry sends and the tokens' `aud`.
    pub service: String,
    /// The pull gateway's host (and port) as clients name it, when it is on:
    /// products delivered through it are pulled from there.
    pub gateway_host: Option<String>,
}

/// What the auth code needs from the configuration.
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// The public origin (`scheme://host[:port]`), for the CSRF origin check.
    pub public_origin: String,
    /// When set, the client IP is read from this header (only behind a proxy
    /// that overwrites it); otherwise the TCP peer address is used.
    pub client_ip_header: Option<String>,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
