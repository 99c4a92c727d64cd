//! What the token service reads on every request, cached in memory and kept
//! exact by the database's access epoch: every change that can alter a
//! decision (entitlements, product repositories and status, account role or
//! disabled flag, credentials) bumps `access_epoch` in its own transaction,
//! by trigger. Each request reads the epoch (one primary-key lookup) and the
//! cache drops everything when it moved, so a revocation or suspension
//! committed before a token request is always seen by it, on every replica.
//! Windows are never cached as decisions: `decide` runs per request with the
//! request's time, so an entitlement ending at T stops at T.
//!
//! The epoch read itself is skipped while nothing in this process has
//! committed a write since the last read (`db::local_commits`) and that read
//! is younger than `max_age` (`PORTCULLIS_REGISTRY_CACHE_MS`): changes made
//! through this portal are seen by the next request; changes made by another
//! process or replica within `max_age`. `max_age` 0 reads it every time.

use crate::backend::db;
use crate::backend::db::credentials::CredentialAuthRow;
use crate::backend::db::Db;
use crate::backend::services::entitlements::{access_entries, AccessEntry};
use crate::domain::catalogue::RepoPattern;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

/// An organisation's entitlements as the decision takes them.
pub type Entitlements = Arc<Vec<AccessEntry>>;

#[derive(Default)]
struct Inner {
    epoch: i64,
    /// `db::local_commits()` and the time just before the epoch was last read.
    checked: Option<(u64, Instant)>,
    /// Credentials that exist, by user name; a name that names none is
    /// never cached (the caller chose it).
    credentials: HashMap<String, Arc<CredentialAuthRow>>,
    entitlements: HashMap<i64, Entitlements>,
    push_patterns: Option<Arc<Vec<RepoPattern>>>,
}

/// Bounds memory: past this many entries of a kind, new entries are not
/// cached (read from the database each time) rather than evicting others.
/// Only what authenticated callers need is cached (credentials that exist,
/// entitlements of their owners), so the bound is reached only by a vendor
/// with that many live credentials or customers, never by a caller's
/// choice of names.
const MAX_ENTRIES: usize = 200_000;

pub struct AccessCache {
    inner: RwLock<Inner>,
    max_age: Duration,
}

/// A view of the cache at one epoch, for one request.
pub struct Snapshot<'a> {
    cache: &'a AccessCache,
    epoch: i64,
}

impl AccessCache {
    pub fn new(max_age: Duration) -> Self {
        Self { inner: RwLock::new(Inner::default()), max_age }
    }

    /// How many credentials and customers' entitlements are cached.
    pub fn entries(&self) -> (usize, usize) {
        let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
        (inner.credentials.len(), inner.entitlements.len())
    }

    /// A snapshot valid at the current epoch (clearing stale entries).
    pub async fn snapshot(&self, db: &Db) -> Result<Snapshot<'_>, sqlx::Error> {
        let local = db::local_commits();
        let started = Instant::now();
        {
            let inner = self.inner.read().unwrap_or_else(|e| e.into_inner());
            if let Some((seen, at)) = inner.checked {
                if seen == local && started.duration_since(at) < self.max_age {
                    return Ok(Snapshot { cache: self, epoch: inner.epoch });
                }
            }
        }
        let epoch = db::registry::epoch(db).await?;
        let mut inner = self.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.epoch < epoch {
            *inner = Inner { epoch, ..Inner::default() };
        }
        if inner.epoch == epoch && inner.checked.is_none_or(|(_, at)| at <= started) {
            inner.checked = Some((local, started));
        }
        Ok(Snapshot { cache: self, epoch })
    }
}

impl Snapshot<'_> {
    /// Stores only if the cache is still at the epoch read before loading, so
    /// data loaded before a change can never outlive it.
    fn store(&self, f: impl FnOnce(&mut Inner)) {
        let mut inner = self.cache.inner.write().unwrap_or_else(|e| e.into_inner());
        if inner.epoch == self.epoch {
            f(&mut inner);
        }
    }

    pub async fn credential(&self, db: &Db, username: &str) -> Result<Option<Arc<CredentialAuthRow>>, sqlx::Error> {
        if let Some(hit) = self.cache.inner.read().unwrap_or_else(|e| e.into_inner()).credentials.get(username) {
            return Ok(Some(hit.clone()));
        }
        let Some(row) = db::credentials::auth_by_username(db, username).await?.map(Arc::new) else {
            return Ok(None);
        };
        self.store(|inner| {
            if inner.credentials.len() < MAX_ENTRIES {
                inner.credentials.insert(username.to_owned(), row.clone());
            }
        });
        Ok(Some(row))
    }

    pub async fn entitlements(&self, db: &Db, customer_id: i64) -> Result<Entitlements, sqlx::Error> {
        if let Some(hit) = self.cache.inner.read().unwrap_or_else(|e| e.into_inner()).entitlements.get(&customer_id) {
            return Ok(hit.clone());
        }
        let value: Entitlements = Arc::new(access_entries(db, customer_id).await?);
        self.store(|inner| {
            if inner.entitlements.len() < MAX_ENTRIES {
                inner.entitlements.insert(customer_id, value.clone());
            }
        });
        Ok(value)
    }

    /// Every product's repository patterns (what push credentials cover).
    pub async fn push_patterns(&self, db: &Db) -> Result<Arc<Vec<RepoPattern>>, sqlx::Error> {
        if let Some(hit) = &self.cache.inner.read().unwrap_or_else(|e| e.into_inner()).push_patterns {
            return Ok(hit.clone());
        }
        let patterns: Vec<RepoPattern> =
            db::registry::all_patterns(db).await?.iter().filter_map(|p| RepoPattern::parse(p).ok()).collect();
        let value = Arc::new(patterns);
        self.store(|inner| inner.push_patterns = Some(value.clone()));
        Ok(value)
    }
}
