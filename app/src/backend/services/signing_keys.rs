//! The registry's token-signing keys as rules (the cryptography, the
//! signer and the key-encryption keys are the `server` crate's `signing`
//! module, which hands this module sealed values only). Keys live in the
//! database (`db::signing_keys`), so every replica signs with the same key
//! and follows a rotation within a poll:
//!
//! - exactly one key is active (signs); `add` makes a pending key (in the
//!   registry's bundle, not signing); `activate` demotes the active key to
//!   pending (still in the bundle: its tokens stay valid) and promotes the
//!   new one in one transaction; the active key cannot be retired; a retired
//!   key has left the bundle for good and cannot come back;
//! - the bundle is every key not retired (`bundle`);
//! - the first start stores a key folder's keys (audited) or a generated
//!   one, and the events secret (`bootstrap`), once, whoever comes first;
//! - `rewrap` re-seals everything under the current key-encryption key.
//!
//! Every change takes the keys' lock (`db::signing_keys::lock`) and is
//! audited (`registry.key.*`) in its own transaction.

use crate::backend::db;
use crate::backend::db::Db;
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::domain::signing_key::{KeyState, Sealable, Sealed};
use crate::error::AppError;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;

pub use crate::backend::db::signing_keys::KeyRow;

/// The name of the registry-notification secret in `registry_secrets`.
pub const EVENTS_SECRET: &str = "events";

/// A key to store: generated, or read from a key folder.
pub struct NewKey {
    pub kid: String,
    pub state: KeyState,
    pub sealed: Sealed,
    pub cert_pem: String,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl NewKey {
    fn row(&self) -> KeyRow {
        KeyRow {
            kid: self.kid.clone(),
            state: self.state,
            kek_id: self.sealed.kek_id.clone(),
            nonce: self.sealed.nonce.clone(),
            sealed: self.sealed.ciphertext.clone(),
            cert_pem: self.cert_pem.clone(),
            created_at: self.created_at,
            activated_at: self.activated_at,
            retired_at: self.retired_at,
        }
    }
}

/// What a first start stores when the database has no key (or no events
/// secret): a folder's keys (exactly one active) or one generated key.
pub struct Initial {
    pub keys: Vec<NewKey>,
    /// The folder the keys were read from; `None` = generated.
    pub imported_from: Option<String>,
    pub events_secret: Sealed,
    /// Whether the events secret came from the folder (else generated).
    pub events_secret_imported: bool,
}

/// What `bootstrap` stored (nothing when another process came first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bootstrapped {
    pub keys: usize,
    pub events_secret: bool,
}

/// Whether the database lacks keys or the events secret (a first start).
pub async fn needs_bootstrap(db: &Db) -> Result<bool, AppError> {
    Ok(db::signing_keys::list(db).await?.is_empty() || db::signing_keys::secret(db, EVENTS_SECRET).await?.is_none())
}

/// Stores `initial`'s keys if the database has none, and its events secret
/// if it has none, in one transaction under the keys' lock: replicas
/// starting together end with one set of keys, one active. An import is
/// audited (`registry.key.import`).
pub async fn bootstrap(db: &Db, initial: Initial, actor: Actor) -> Result<Bootstrapped, AppError> {
    let active = initial.keys.iter().filter(|k| k.state == KeyState::Active).count();
    if active != 1 {
        return Err(AppError::invalid("keys", format!("exactly one key must be active, not {active}")));
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    db::signing_keys::lock(&mut tx).await?;
    let mut done = Bootstrapped::default();
    if db::signing_keys::list_in(&mut tx).await?.is_empty() {
        for key in &initial.keys {
            db::signing_keys::insert(&mut tx, &key.row()).await?;
        }
        done.keys = initial.keys.len();
    }
    done.events_secret = db::signing_keys::insert_secret(&mut tx, EVENTS_SECRET, &initial.events_secret, now).await?;
    // An import is recorded; a first start's generated key and secret are
    // part of the installation, like the schema (logged, not audited: the
    // audit log starts empty).
    if let (Some(folder), true) = (&initial.imported_from, done != Bootstrapped::default()) {
        let secret = match (done.events_secret, initial.events_secret_imported) {
            (false, _) => "kept",
            (true, true) => "imported",
            (true, false) => "generated",
        };
        let keys: Vec<_> = initial.keys.iter().take(done.keys).map(|k| json!({ "kid": k.kid, "state": k.state.as_str() })).collect();
        let event = AuditEvent::new(actor, "registry.key.import", Outcome::Success)
            .details(json!({ "from": folder, "keys": keys, "events_secret": secret }));
        audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(done)
}

/// Every key, oldest first.
pub async fn list(db: &Db) -> Result<Vec<KeyRow>, AppError> {
    Ok(db::signing_keys::list(db).await?)
}

/// The key that signs.
pub async fn active(db: &Db) -> Result<Option<KeyRow>, AppError> {
    Ok(db::signing_keys::active(db).await?)
}

/// The kid of the key that signs (one short read: what replicas poll).
pub async fn active_kid(db: &Db) -> Result<Option<String>, AppError> {
    Ok(db::signing_keys::active_kid(db).await?)
}

/// The registry's bundle: the certificates of every key not retired.
pub async fn bundle(db: &Db) -> Result<String, AppError> {
    let keys = db::signing_keys::list(db).await?;
    Ok(keys.into_iter().filter(|k| k.state.in_bundle()).map(|k| k.cert_pem).collect())
}

/// The sealed events secret.
pub async fn events_secret(db: &Db) -> Result<Option<Sealed>, AppError> {
    Ok(db::signing_keys::secret(db, EVENTS_SECRET).await?.map(|s| s.sealed()))
}

/// How many sealed values (keys and secrets) each key-encryption key holds.
pub async fn seals_by_kek(db: &Db) -> Result<BTreeMap<String, i64>, AppError> {
    Ok(db::signing_keys::kek_counts(db).await?.into_iter().collect())
}

fn compact(kid: &str) -> String {
    kid.trim().replace(':', "").to_ascii_uppercase()
}

/// The key a person names: its kid, with or without colons, or a unique
/// prefix of at least 4 characters.
pub async fn find(db: &Db, wanted: &str) -> Result<KeyRow, AppError> {
    let wanted = compact(wanted);
    if wanted.len() < 4 {
        return Err(AppError::invalid("kid", "give at least 4 characters of the key id"));
    }
    let mut matches: Vec<KeyRow> =
        db::signing_keys::list(db).await?.into_iter().filter(|k| compact(&k.kid).starts_with(&wanted)).collect();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(AppError::invalid("kid", format!("no key matches {wanted:?} (see `portcullis registry key list`)"))),
        _ => Err(AppError::invalid("kid", format!("{wanted:?} matches several keys: give more of the id"))),
    }
}

/// Adds a pending key: in the bundle, not signing.
pub async fn add(db: &Db, key: NewKey, actor: Actor) -> Result<(), AppError> {
    if key.state != KeyState::Pending {
        return Err(AppError::invalid("state", "a new key starts pending"));
    }
    let mut tx = db.begin().await?;
    db::signing_keys::lock(&mut tx).await?;
    db::signing_keys::insert(&mut tx, &key.row()).await?;
    let event = AuditEvent::new(actor, "registry.key.add", Outcome::Success)
        .target("signing_key", &key.kid)
        .details(json!({ "kid": key.kid, "state": key.state.as_str(), "kek": key.sealed.kek_id }));
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// The key's row in `tx`, by its exact kid.
async fn key_in(tx: &mut db::Tx, kid: &str) -> Result<KeyRow, AppError> {
    db::signing_keys::list_in(tx).await?.into_iter().find(|k| k.kid == kid).ok_or(AppError::NotFound)
}

/// What `activate` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Activated {
    /// The key signed already; nothing changed.
    Already,
    /// The key signs now, instead of `previous`.
    Now { previous: Option<String> },
}

/// Makes the pending key `kid` the signing key; the one that signed
/// stays in the bundle as pending. One transaction: there is never a
/// moment without, or with two, active keys.
pub async fn activate(db: &Db, kid: &str, actor: Actor) -> Result<Activated, AppError> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    db::signing_keys::lock(&mut tx).await?;
    match key_in(&mut tx, kid).await?.state {
        KeyState::Active => return Ok(Activated::Already),
        KeyState::Retired => {
            return Err(AppError::invalid("kid", "this key was retired: the registry no longer trusts it; add a new key"))
        }
        KeyState::Pending => {}
    }
    let previous = db::signing_keys::demote_active(&mut tx).await?;
    if !db::signing_keys::leave_pending(&mut tx, kid, KeyState::Active, now).await? {
        return Err(AppError::conflict("kid", "the key changed meanwhile: try again"));
    }
    let event = AuditEvent::new(actor, "registry.key.activate", Outcome::Success)
        .target("signing_key", kid)
        .details(json!({ "kid": kid, "previous": previous }));
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(Activated::Now { previous })
}

/// Takes the pending key `kid` out of the bundle for good; `false` if it
/// was retired already. The signing key cannot be retired.
pub async fn retire(db: &Db, kid: &str, actor: Actor) -> Result<bool, AppError> {
    let now = Utc::now();
    let mut tx = db.begin().await?;
    db::signing_keys::lock(&mut tx).await?;
    match key_in(&mut tx, kid).await?.state {
        KeyState::Active => return Err(AppError::invalid("kid", "this key signs tokens: activate another one first")),
        KeyState::Retired => return Ok(false),
        KeyState::Pending => {}
    }
    if !db::signing_keys::leave_pending(&mut tx, kid, KeyState::Retired, now).await? {
        return Err(AppError::conflict("kid", "the key changed meanwhile: try again"));
    }
    let event = AuditEvent::new(actor, "registry.key.retire", Outcome::Success)
        .target("signing_key", kid)
        .details(json!({ "kid": kid }));
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(true)
}

/// Re-seals every key and secret not sealed under `current_kek` with
/// `reseal` (which opens with whichever key-encryption key sealed it and
/// seals under the current one), in one transaction; how many changed.
pub async fn rewrap<F>(db: &Db, current_kek: &str, mut reseal: F, actor: Actor) -> Result<usize, AppError>
where
    F: FnMut(Sealable<'_>, &Sealed) -> Result<Sealed, AppError>,
{
    let mut tx = db.begin().await?;
    db::signing_keys::lock(&mut tx).await?;
    let mut from: BTreeMap<String, usize> = BTreeMap::new();
    let (mut keys, mut secrets) = (0, 0);
    for key in db::signing_keys::list_in(&mut tx).await? {
        if key.kek_id != current_kek {
            let sealed = reseal(Sealable::Key(&key.kid), &key.sealed())?;
            db::signing_keys::reseal(&mut tx, &key.kid, &sealed).await?;
            *from.entry(key.kek_id).or_insert(0) += 1;
            keys += 1;
        }
    }
    for secret in db::signing_keys::secrets_in(&mut tx).await? {
        if secret.kek_id != current_kek {
            let sealed = reseal(Sealable::Secret(&secret.name), &secret.sealed())?;
            db::signing_keys::reseal_secret(&mut tx, &secret.name, &sealed).await?;
            *from.entry(secret.kek_id).or_insert(0) += 1;
            secrets += 1;
        }
    }
    // The accounts' two-factor secrets are sealed with the same keys.
    let mut two_factor = 0;
    for row in db::two_factor::all_in(&mut tx).await? {
        if row.kek_id != current_kek {
            let sealed = reseal(Sealable::TwoFactor(row.user_id), &row.secret())?;
            db::two_factor::reseal(&mut tx, row.user_id, &sealed).await?;
            *from.entry(row.kek_id).or_insert(0) += 1;
            two_factor += 1;
        }
    }
    // And the Harbor robot secrets still waiting to be delivered or revealed.
    let mut robot_secrets = 0;
    for row in db::harbor::all_secrets_in(&mut tx).await? {
        if row.kek_id != current_kek {
            let sealed = reseal(Sealable::RobotSecret(row.credential_id, row.purpose), &row.secret())?;
            db::harbor::reseal_secret(&mut tx, row.credential_id, row.purpose, &sealed).await?;
            *from.entry(row.kek_id).or_insert(0) += 1;
            robot_secrets += 1;
        }
    }
    let total = keys + secrets + two_factor + robot_secrets;
    if total > 0 {
        let event = AuditEvent::new(actor, "registry.key.rewrap", Outcome::Success).details(json!({
            "kek": current_kek, "from": from, "keys": keys, "secrets": secrets, "two_factor_secrets": two_factor,
            "robot_secrets": robot_secrets,
        }));
        audit::record(&mut tx, &event).await?;
    }
    tx.commit().await?;
    Ok(total)
}
