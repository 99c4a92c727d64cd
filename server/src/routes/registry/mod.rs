//! The registry's HTTP side: `GET /registry/token` (`token.rs`), the token
//! service the Distribution registry sends clients to, and
//! `POST /registry/events` (`events.rs`), its notifications. They read the
//! request, call `app::backend::services::registry`, sign (for tokens, with
//! `crate::signing`) and answer.

pub mod events;
pub mod token;

use crate::config::RegistryConfig;
use crate::signing::keys::ActiveSigner;
use crate::signing::reuse::Reuse;
use crate::signing::store::SigningKeys;
use app::backend::services::registry::Registry;
use axum::{
    routing::{get, post},
    Router,
};
use std::sync::Arc;

/// Everything the two endpoints share.
pub struct RegistryService {
    pub settings: RegistryConfig,
    /// The key that signs now: the database's active key, followed without
    /// a restart (`signing::store::follow`).
    pub signer: Arc<ActiveSigner>,
    pub events_secret: String,
    pub client_ip_header: Option<String>,
    /// The token decision, its audit queue, the notifications.
    pub services: Registry,
    /// Tokens signed moments ago, sent again for the same grant.
    pub reuse: Reuse,
    /// The pull gateway's `service` (its tokens' audience), when it is on.
    pub gateway_service: Option<String>,
}

/// The token service around the started `services` and the opened keys
/// (`signing::store::open`).
pub fn start(
    services: Registry,
    keys: SigningKeys,
    settings: &RegistryConfig,
    client_ip_header: Option<String>,
    gateway_service: Option<String>,
) -> Arc<RegistryService> {
    let SigningKeys { signer, events_secret } = keys;
    let reuse = Reuse::new(settings.token_ttl_secs);
    Arc::new(RegistryService { settings: settings.clone(), signer, events_secret, client_ip_header, services, reuse, gateway_service })
}

/// `/token` and `/events`, to be nested under `/registry`.
pub fn router(svc: Arc<RegistryService>) -> Router {
    Router::new()
        .route("/token", get(token::token))
        .route("/events", post(events::events))
        .with_state(svc)
}
