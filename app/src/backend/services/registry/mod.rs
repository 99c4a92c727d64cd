//! The registry side's business, apart from HTTP and signing (which stay in
//! the `server` crate): the token decision (`decide.rs`), the decision cache
//! it reads through (`cache.rs`), the batched audit writer its records go to
//! (`batch.rs`), and what the registry's notifications change (`events.rs`).
//! `Registry` bundles the handles the routes hold.

pub mod batch;
pub mod cache;
pub mod decide;
pub mod events;

pub use batch::{AuditQueue, Drain, TokenRecord};
pub use decide::{Audience, Decider, Grant, Refusal, TokenRequest, Trail, INTERNAL_ERROR};
pub use events::Notifications;

use crate::backend::db::Db;
use crate::backend::services::audit::attempts::Attempts;
use crate::backend::web::metrics::Metrics;
use crate::backend::web::ratelimit::FailureLimiter;
use std::{sync::Arc, time::Duration};

/// The services behind `/registry/token` and `/registry/events`.
pub struct Registry {
    pub tokens: Decider,
    /// Where token decisions queue for the audit log.
    pub audit: AuditQueue,
    pub events: Notifications,
    /// Where refusals that authenticated nothing are counted.
    pub attempts: Arc<Attempts>,
    /// Failed token requests per client network.
    pub failures: FailureLimiter,
    pub metrics: Arc<Metrics>,
}

impl Registry {
    /// Starts the audit writer. The returned `Drain` must be finished after
    /// the last request, so no queued decision is lost at shutdown.
    pub fn start(
        db: Db,
        cache_max_age: Duration,
        attempts: Arc<Attempts>,
        failures: FailureLimiter,
        metrics: Arc<Metrics>,
    ) -> (Self, Drain) {
        let (audit, drain) = AuditQueue::start(db.clone(), metrics.clone());
        let registry = Self {
            tokens: Decider::new(db.clone(), cache_max_age),
            audit,
            events: Notifications::new(db),
            attempts,
            failures,
            metrics,
        };
        (registry, drain)
    }
}
