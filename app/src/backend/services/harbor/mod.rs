//! Harbor provisioning: with `PORTCULLIS_HARBOR_URL` set, every pull
//! credential is a Harbor robot account (system level, pull on the Harbor
//! projects of the products its owner may pull now), and Harbor's own token
//! service enforces access. The portal keeps the robots in step:
//!
//! ```text
//!  entitlement / credential / account / product change
//!     └─(database trigger, same transaction)─▶ harbor_outbox row (customer)
//!  job harbor.provision (every 2 s, once across the fleet)
//!     ├─ window and grace ends due ─▶ outbox rows (harbor_robots.next_check_at)
//!     ├─ due rows ─▶ converge::customer: read the customer's state now,
//!     │     look each robot up by its deterministic name, create / update /
//!     │     refresh the secret / delete, audit, forget the delivered secret
//!     │     (failure: retried with backoff, the rows say why)
//!  job harbor.reconcile (every PORTCULLIS_HARBOR_RECONCILE_EVERY): page
//!     through Harbor's robots, repair drift, delete robots of ours it no
//!     longer knows
//! ```
//!
//! The rules (what robot a credential should have) are `domain::harbor`.

pub mod client;
pub mod converge;
pub mod provision;

use crate::backend::db;
use crate::backend::db::Db;
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::web::request::RequestMeta;
use crate::backend::web::sealer::Sealer;
use crate::backend::web::session::random_token;
use crate::domain::harbor::{secret_acceptable, SecretPurpose};
use crate::domain::signing_key::Sealable;
use crate::error::AppError;
use crate::views::{NewCredential, ProvisioningView};
use chrono::Utc;
use serde_json::json;
use std::time::Duration;

/// The deployment's Harbor: how to reach its API, its robot prefix, the
/// host customers pull from, how often the reconciler runs.
#[derive(Debug)]
pub struct Harbor {
    pub client: client::Client,
    /// Harbor's robot name prefix (`robot$` unless changed in Harbor).
    pub prefix: String,
    /// The registry host customers log in to (Harbor's).
    pub registry_host: String,
    pub reconcile_every: Duration,
}

impl Harbor {
    /// A robot's full name in Harbor, which is also the credential's login.
    pub fn login(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

/// What a new or rotated pull credential needs under Harbor: the login
/// prefix and the seal for its secret until Harbor has it.
#[derive(Clone, Copy)]
pub struct Robots<'a> {
    pub prefix: &'a str,
    pub sealer: &'a dyn Sealer,
}

/// A fresh robot secret Harbor accepts (ours are 43 letters and digits;
/// Harbor wants a lower-case and an upper-case letter and a digit).
pub fn new_secret() -> String {
    loop {
        let s = random_token(43);
        if secret_acceptable(&s) {
            return s;
        }
    }
}

/// Seals `secret` for `credential` and keeps it for `purpose`.
pub async fn keep_secret(
    tx: &mut db::Tx,
    sealer: &dyn Sealer,
    credential: i64,
    purpose: SecretPurpose,
    secret: &str,
    reason: Option<&str>,
) -> Result<(), AppError> {
    let sealed = sealer.seal(Sealable::RobotSecret(credential, purpose), secret.as_bytes()).map_err(AppError::internal)?;
    db::harbor::put_secret(tx, credential, purpose, &sealed, reason, Utc::now()).await?;
    Ok(())
}

/// Shows a recreated robot's new secret to its owner, once: opened,
/// forgotten and audited in one transaction.
pub async fn reveal(
    db: &Db,
    sealer: &dyn Sealer,
    credential_id: i64,
    reach: crate::backend::services::credentials::Reach,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<NewCredential, AppError> {
    let cred = crate::backend::services::credentials::get(db, credential_id, reach).await?;
    let row = db::harbor::secret(db, credential_id, SecretPurpose::Reveal).await?.ok_or_else(|| {
        AppError::conflict("id", "there is no new secret to show for this credential (it is shown once)")
    })?;
    let secret = sealer
        .open(Sealable::RobotSecret(credential_id, SecretPurpose::Reveal), &row.secret())
        .map_err(AppError::internal)?;
    let secret = String::from_utf8(secret).map_err(AppError::internal)?;
    let mut tx = db.begin().await?;
    if !db::harbor::forget_secret(&mut tx, credential_id, SecretPurpose::Reveal, &row.nonce).await? {
        return Err(AppError::conflict("id", "the secret was shown or replaced meanwhile"));
    }
    let event = AuditEvent::new(actor, "credential.reveal", Outcome::Success)
        .target("credential", credential_id)
        .subject(cred.owner_id)
        .meta(meta)
        .details(json!({ "name": cred.name, "username": cred.username, "reason": row.reason }));
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    let username = cred.username.clone();
    Ok(NewCredential { credential: cred, username, secret })
}

/// Provisioning health for the dashboard: the outbox, the robots, the
/// last reconcile.
pub async fn health(db: &Db) -> Result<ProvisioningView, AppError> {
    let (stats, last_error) = db::harbor::outbox_stats(db).await?;
    let robots = db::harbor::robot_counts(db).await?;
    let last = db::harbor::last_run(db).await?;
    let count = |s| robots.iter().find(|(st, _)| *st == s).map_or(0, |(_, n)| *n);
    use crate::domain::harbor::RobotState;
    Ok(ProvisioningView {
        pending: stats.pending,
        failing: stats.failing,
        oldest_pending: stats.oldest.map(crate::domain::time::rfc3339),
        last_error,
        robots_enabled: count(RobotState::Enabled),
        robots_disabled: count(RobotState::Disabled),
        robots_pending: count(RobotState::Pending),
        last_reconcile: last.as_ref().and_then(|r| r.finished_at).map(crate::domain::time::rfc3339),
        last_checked: last.as_ref().map_or(0, |r| r.checked),
        last_repaired: last.as_ref().map_or(0, |r| r.repaired),
        last_failed: last.as_ref().map_or(0, |r| r.failed),
        last_reconcile_error: last.and_then(|r| r.error),
    })
}
