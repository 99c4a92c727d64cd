//! The signing keys in the database (the rules: `services::signing_keys`),
//! sealed with the key-encryption keys (`kek.rs`): the first start's import
//! of a key folder or generation of a key (`ensure`), what the token service
//! starts with (`open`), the operator's changes (`add`, `activate`,
//! `retire`, `rewrap`), and `follow`, which keeps every replica signing with
//! the active key: it polls the active kid every `FOLLOW_EVERY` (a one-row
//! read) and swaps the signer when it changed.

use crate::config::RegistryConfig;
use crate::signing::folder::{self, FolderKey};
use crate::signing::kek::Keks;
use crate::signing::keys::{generate, ActiveSigner, KeyError, Signer};
use app::backend::db::Db;
use app::backend::services::audit::Actor;
use app::backend::services::signing_keys::{self as rules, Activated, Initial, KeyRow, NewKey, EVENTS_SECRET};
use app::domain::signing_key::{KeyState, Sealable, Sealed};
use app::error::AppError;
use chrono::Utc;
use std::{
    path::Path,
    sync::{Arc, Weak},
    time::Duration,
};

/// How often a replica reads which key is active.
pub const FOLLOW_EVERY: Duration = Duration::from_secs(2);

/// What the token service starts with.
pub struct SigningKeys {
    /// The key that signs now, swapped by `follow`.
    pub signer: Arc<ActiveSigner>,
    /// `PORTCULLIS_REGISTRY_EVENTS_SECRET`, else the one in the database.
    pub events_secret: String,
}

/// Makes sure the database has keys (`ensure`), opens the active one and
/// the events secret, and starts following activations.
pub async fn open(db: &Db, settings: &RegistryConfig) -> Result<SigningKeys, KeyError> {
    ensure(db, &settings.keks, &settings.key_dir, Actor::System).await?;
    warn_about_seals(db, &settings.keks).await;
    let signer = Arc::new(ActiveSigner::new(load_active(db, &settings.keks).await?));
    let events_secret = match &settings.events_secret {
        Some(s) => s.expose().to_owned(),
        None => events_secret(db, &settings.keks).await?,
    };
    follow(db.clone(), settings.keks.clone(), Arc::downgrade(&signer));
    tracing::info!(kid = %signer.current().kid, kek = %settings.keks.current_id(), "registry token service ready");
    Ok(SigningKeys { signer, events_secret })
}

fn sealed_key(keks: &Keks, k: &FolderKey) -> Result<NewKey, KeyError> {
    let at = |state: KeyState| if k.state == state { k.changed_at } else { None };
    Ok(NewKey {
        kid: k.kid.clone(),
        state: k.state,
        sealed: keks.seal(Sealable::Key(&k.kid), &k.pkcs8_der)?,
        cert_pem: k.cert_pem.clone(),
        created_at: k.created_at,
        activated_at: at(KeyState::Active),
        retired_at: at(KeyState::Retired),
    })
}

/// A first start (the database has no key or no events secret): imports
/// the key folder at `dir` if it has keys, else generates a key; the
/// folder's events secret, else a new one. Whoever comes first stores its
/// set (`services::signing_keys::bootstrap`); the folder is left as it is.
pub async fn ensure(db: &Db, keks: &Keks, dir: &Path, actor: Actor) -> Result<(), KeyError> {
    if !rules::needs_bootstrap(db).await? {
        note_unimported(db, dir).await;
        return Ok(());
    }
    let folder = folder::read(dir)?.filter(|f| f.keys.iter().any(|k| k.state == KeyState::Active));
    let now = Utc::now();
    let (keys, imported_from) = match &folder {
        Some(f) => (f.keys.iter().map(|k| sealed_key(keks, k)).collect::<Result<Vec<_>, _>>()?, Some(dir.display().to_string())),
        None => {
            let k = generate()?;
            let sealed = keks.seal(Sealable::Key(&k.kid), &k.pkcs8_der)?;
            let key = NewKey { kid: k.kid, state: KeyState::Active, sealed, cert_pem: k.cert_pem, created_at: now, activated_at: Some(now), retired_at: None };
            (vec![key], None)
        }
    };
    let folder_secret = match &folder {
        Some(f) => f.events_secret.clone(),
        None => folder::read(dir)?.and_then(|f| f.events_secret),
    };
    let events_secret_imported = folder_secret.is_some();
    let secret = folder_secret.unwrap_or_else(|| app::backend::web::session::random_token(48));
    let events_secret = keks.seal(Sealable::Secret(EVENTS_SECRET), secret.as_bytes())?;
    let kids: Vec<String> = keys.iter().map(|k| k.kid.clone()).collect();
    let initial = Initial { keys, imported_from, events_secret, events_secret_imported };
    let done = rules::bootstrap(db, initial, actor).await?;
    if done.keys > 0 {
        match &folder {
            Some(_) => tracing::info!(
                keys = done.keys, folder = %dir.display(),
                "imported the key folder's signing keys into the database; the folder is no longer read (keep it as a backup, or remove it)"
            ),
            None => tracing::info!(kid = %kids[0], "generated the first registry signing key"),
        }
    }
    Ok(())
}

/// Says so when the key folder holds keys the database lacks (a replica
/// that had a folder of its own before the keys moved to the database).
async fn note_unimported(db: &Db, dir: &Path) {
    let Ok(Some(folder)) = folder::read(dir) else { return };
    let Ok(stored) = rules::list(db).await else { return };
    let missing = folder.keys.iter().filter(|k| !stored.iter().any(|s| s.kid == k.kid)).count();
    if missing > 0 {
        tracing::warn!(
            folder = %dir.display(), keys = missing,
            "the key folder holds signing keys the database does not have; they are not imported (the database's keys sign)"
        );
    }
}

async fn warn_about_seals(db: &Db, keks: &Keks) {
    if keks.is_builtin() {
        tracing::warn!(
            "the registry signing keys are sealed with the built-in key-encryption key, which protects nothing: \
             set PORTCULLIS_KEY_ENCRYPTION_KEY (or PORTCULLIS_SESSION_SECRET) and run `portcullis registry key rewrap`"
        );
    }
    match rules::seals_by_kek(db).await {
        Ok(by) => {
            let stale: Vec<String> = by.iter().filter(|(id, _)| *id != keks.current_id()).map(|(id, n)| format!("{n} under {id}")).collect();
            if !stale.is_empty() {
                tracing::warn!(
                    kek = %keks.current_id(), stale = %stale.join(", "),
                    "registry signing keys or secrets are sealed with another key-encryption key: run `portcullis registry key rewrap`"
                );
            }
        }
        Err(e) => tracing::warn!(error = %e.for_log(), "cannot count the signing keys' seals"),
    }
}

/// Opens a stored key into a signer, checking the key is the row's.
fn signer_of(row: &KeyRow, keks: &Keks) -> Result<Signer, KeyError> {
    let der = keks.open(Sealable::Key(&row.kid), &row.sealed())?;
    let signer = Signer::from_pkcs8(&der).map_err(|e| KeyError::Invalid(format!("signing key {}: {e}", row.kid)))?.with_certificate(&row.cert_pem)?;
    if signer.kid != row.kid {
        return Err(KeyError::Invalid(format!("signing key {}: the sealed key is another key ({})", row.kid, signer.kid)));
    }
    Ok(signer)
}

/// The active key, opened.
pub async fn load_active(db: &Db, keks: &Keks) -> Result<Signer, KeyError> {
    let row = rules::active(db).await?.ok_or_else(|| {
        KeyError::Invalid("no registry signing key is active: `portcullis registry key list`, then `… activate KID`".into())
    })?;
    signer_of(&row, keks)
}

/// The events secret stored in the database, opened.
pub async fn events_secret(db: &Db, keks: &Keks) -> Result<String, KeyError> {
    let sealed = rules::events_secret(db).await?.ok_or_else(|| KeyError::Invalid("no registry events secret in the database".into()))?;
    let bytes = keks.open(Sealable::Secret(EVENTS_SECRET), &sealed)?;
    String::from_utf8(bytes).map_err(|_| KeyError::Invalid("the registry events secret is not text".into()))
}

/// The registry's bundle: the certificates of every key not retired.
pub async fn bundle_pem(db: &Db) -> Result<String, KeyError> {
    Ok(rules::bundle(db).await?)
}

/// The active key's certificate (PEM): for a registry that trusts one key.
pub async fn active_certificate(db: &Db) -> Result<String, KeyError> {
    let row = rules::active(db).await?.ok_or_else(|| KeyError::Invalid("no registry signing key is active".into()))?;
    Ok(row.cert_pem)
}

/// Generates a key and adds it to the bundle, not signing; its kid. Refused
/// unless this process opens the active key (a key sealed under a KEK the
/// portal lacks could never sign).
pub async fn add(db: &Db, keks: &Keks, actor: Actor) -> Result<String, KeyError> {
    load_active(db, keks).await?;
    let k = generate()?;
    let sealed = keks.seal(Sealable::Key(&k.kid), &k.pkcs8_der)?;
    let key = NewKey { kid: k.kid.clone(), state: KeyState::Pending, sealed, cert_pem: k.cert_pem, created_at: Utc::now(), activated_at: None, retired_at: None };
    rules::add(db, key, actor).await?;
    Ok(k.kid)
}

/// Makes the key named by `wanted` (a kid or a unique prefix) sign, once
/// this process has opened it; its kid and what it replaced.
pub async fn activate(db: &Db, keks: &Keks, wanted: &str, actor: Actor) -> Result<(String, Activated), KeyError> {
    let row = rules::find(db, wanted).await?;
    signer_of(&row, keks)?;
    let done = rules::activate(db, &row.kid, actor).await?;
    Ok((row.kid, done))
}

/// Takes the key named by `wanted` out of the bundle; its kid, and `false`
/// if it was retired already.
pub async fn retire(db: &Db, wanted: &str, actor: Actor) -> Result<(String, bool), KeyError> {
    let row = rules::find(db, wanted).await?;
    let done = rules::retire(db, &row.kid, actor).await?;
    Ok((row.kid, done))
}

/// Re-seals every key and secret under the current KEK; how many changed.
pub async fn rewrap(db: &Db, keks: &Keks, actor: Actor) -> Result<usize, KeyError> {
    let reseal = |what: Sealable<'_>, sealed: &Sealed| -> Result<Sealed, AppError> {
        let plain = keks.open(what, sealed).map_err(|e| AppError::invalid("kek", e))?;
        keks.seal(what, &plain).map_err(|e| AppError::invalid("kek", e))
    };
    Ok(rules::rewrap(db, keks.current_id(), reseal, actor).await?)
}

/// Swaps the active key into `active` if it is another one; its kid then.
pub async fn refresh(db: &Db, keks: &Keks, active: &ActiveSigner) -> Result<Option<String>, KeyError> {
    match rules::active_kid(db).await? {
        Some(kid) if kid != active.current().kid => {
            let signer = load_active(db, keks).await?;
            let kid = signer.kid.clone();
            active.replace(signer);
            Ok(Some(kid))
        }
        _ => Ok(None),
    }
}

/// Polls the active kid every `FOLLOW_EVERY` and swaps the signer when it
/// changed, until the service holding `signer` is gone. A key that cannot
/// be opened is logged once; the signer in use keeps signing meanwhile.
pub fn follow(db: Db, keks: Keks, signer: Weak<ActiveSigner>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(FOLLOW_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        let mut failing: Option<String> = None;
        loop {
            tick.tick().await;
            let Some(active) = signer.upgrade() else { return };
            match refresh(&db, &keks, &active).await {
                Ok(Some(kid)) => tracing::info!(%kid, "registry tokens are now signed with the newly activated key"),
                Ok(None) => {}
                Err(e) => {
                    let message = e.to_string();
                    if failing.as_deref() != Some(message.as_str()) {
                        tracing::error!(error = %message, "cannot switch to the active signing key; the previous one still signs");
                        failing = Some(message);
                    }
                    continue;
                }
            }
            failing = None;
        }
    });
}
