//! The registry side of the portal: the token service the Distribution
//! registry sends clients to (`token.rs`), its signing keys (`keys.rs`), the
//! notifications endpoint (`events.rs`), the configuration the registry runs
//! with (`config_file.rs`), the decision cache (`cache.rs`) and the batched
//! audit writer (`batch.rs`).

pub mod batch;
pub mod cache;
pub mod events;
pub mod scope;
pub mod token;

use crate::config::RegistryConfig;
use app::backend::db::Db;
use axum::{
    routing::{get, post},
    Router,
};
use std::sync::Arc;

/// Everything the two endpoints share.
pub struct RegistryService {
    pub db: Db,
    pub settings: RegistryConfig,
    pub signer: crate::signing::keys::Signer,
    pub events_secret: String,
    pub cache: cache::AccessCache,
    pub audit: batch::AuditQueue,
    pub client_ip_header: Option<String>,
}

/// Opens the key store (creating a first key), starts the audit writer.
pub fn start(
    db: &Db,
    settings: &RegistryConfig,
    client_ip_header: Option<String>,
) -> Result<(Arc<RegistryService>, batch::Drain), crate::signing::keys::KeyError> {
    let store = crate::signing::keys::KeyStore::open_or_init(&settings.key_dir)?;
    let signer = store.signer()?;
    let events_secret = match &settings.events_secret {
        Some(s) => s.expose().to_owned(),
        None => store.events_secret()?,
    };
    let (audit, drain) = batch::AuditQueue::start(db.clone());
    tracing::info!(kid = %signer.kid, key_dir = %settings.key_dir.display(), "registry token service ready");
    let svc = RegistryService {
        db: db.clone(),
        settings: settings.clone(),
        signer,
        events_secret,
        cache: cache::AccessCache::new(std::time::Duration::from_millis(settings.cache_max_age_ms)),
        audit,
        client_ip_header,
    };
    Ok((Arc::new(svc), drain))
}

/// `/token` and `/events`, to be nested under `/registry`.
pub fn router(svc: Arc<RegistryService>) -> Router {
    Router::new()
        .route("/token", get(token::token))
        .route("/events", post(events::events))
        .with_state(svc)
}
