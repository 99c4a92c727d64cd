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
pub use decide::{Decider, Grant, Refusal, TokenRequest, Trail, INTERNAL_ERROR};
pub use events::Notifications;

use crate::backend::db::Db;
use std::time::Duration;

/// The services behind `/registry/token` and `/registry/events`.
pub struct Registry {
    pub tokens: Decider,
    /// Where token decisions queue for the audit log.
    pub audit: AuditQueue,
    pub events: Notifications,
}

impl Registry {
    /// Starts the audit writer. The returned `Drain` must be finished after
    /// the last request, so no queued decision is lost at shutdown.
    pub fn start(db: Db, cache_max_age: Duration) -> (Self, Drain) {
        let (audit, drain) = AuditQueue::start(db.clone());
        let registry =
            Self { tokens: Decider::new(db.clone(), cache_max_age), audit, events: Notifications::new(db) };
        (registry, drain)
    }
}
