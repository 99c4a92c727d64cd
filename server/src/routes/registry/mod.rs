//! The registry's HTTP side: `GET /registry/token` (`token.rs`), the token
//! service the Distribution registry sends clients to, and
//! `POST /registry/events` (`events.rs`), its notifications. They read the
//! request, call `app::backend::services::registry`, sign (for tokens, with
//! `crate::signing`) and answer.

pub mod events;
pub mod token;

use crate::config::RegistryConfig;
use crate::signing::keys::{KeyError, KeyStore, Signer};
use app::backend::services::registry::Registry;
use axum::{
    routing::{get, post},
    Router,
};
use std::sync::Arc;

/// Everything the two endpoints share.
pub struct RegistryService {
    pub settings: RegistryConfig,
    pub signer: Signer,
    pub events_secret: String,
    pub client_ip_header: Option<String>,
    /// The token decision, its audit queue, the notifications.
    pub services: Registry,
}

/// Opens the key store (creating a first key) around the started `services`.
pub fn start(
    services: Registry,
    settings: &RegistryConfig,
    client_ip_header: Option<String>,
) -> Result<Arc<RegistryService>, KeyError> {
    let store = KeyStore::open_or_init(&settings.key_dir)?;
    let signer = store.signer()?;
    let events_secret = match &settings.events_secret {
        Some(s) => s.expose().to_owned(),
        None => store.events_secret()?,
    };
    tracing::info!(kid = %signer.kid, key_dir = %settings.key_dir.display(), "registry token service ready");
    Ok(Arc::new(RegistryService { settings: settings.clone(), signer, events_secret, client_ip_header, services }))
}

/// `/token` and `/events`, to be nested under `/registry`.
pub fn router(svc: Arc<RegistryService>) -> Router {
    Router::new()
        .route("/token", get(token::token))
        .route("/events", post(events::events))
        .with_state(svc)
}
