//! Registry credentials: pull credentials (a customer's, one per cluster, say)
//! and push credentials (an admin's, for the vendor's CI). The user name is
//! public; the secret (256 bits) is shown once and stored as SHA-256 (fast to
//! check on every token request, and brute force is hopeless at that
//! entropy). Create, rotate (new secret, same user name) and revoke are
//! audited in the same transaction; the token service sees the change at
//! once through the access epoch (see `db::registry::epoch`).

use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::services::harbor;
use crate::domain::harbor::SecretPurpose;
use crate::backend::db;
use crate::backend::db::credentials::CredentialRow;
use crate::backend::db::Db;
use crate::backend::web::request::RequestMeta;
use crate::backend::web::secrets::hash_secret;
use crate::backend::web::session::random_token;
use crate::domain::time::{rfc3339, parse_time, BareDate};
use crate::domain::credential::{self, CredentialKind, CredentialStatus};
use crate::domain::{access::standing, catalogue::RepoPattern};
use crate::error::AppError;
use crate::views::{CredentialView, NewCredential, RegistryAccessView, RepositoryView, RobotView, TagView};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;

const USERNAME_RANDOM_LEN: usize = 14;
const SECRET_LEN: usize = 43;

pub fn view(r: CredentialRow, now: DateTime<Utc>) -> CredentialView {
    let status = CredentialStatus::of(&r.facts(), now);
    CredentialView {
        id: r.id,
        kind: r.kind,
        name: r.name,
        username: r.username,
        owner_id: r.owner_user_id,
        owner_email: r.owner_email,
        created_by: r.created_by,
        created_at: rfc3339(r.created_at),
        expires_at: r.expires_at.map(rfc3339),
        rotated_at: r.rotated_at.map(rfc3339),
        last_used_at: r.last_used_at.map(rfc3339),
        last_pulled_at: r.last_pulled_at.map(rfc3339),
        revoked_at: r.revoked_at.map(rfc3339),
        status,
        robot: None,
    }
}

/// Adds each credential's Harbor robot (when provisioning made one).
async fn with_robots(db: &Db, owner_id: i64, mut views: Vec<CredentialView>) -> Result<Vec<CredentialView>, AppError> {
    let robots = db::harbor::robots_of(db, owner_id).await?;
    if robots.is_empty() {
        return Ok(views);
    }
    let reveals: BTreeMap<i64, Option<String>> = db::harbor::reveals_of(db, owner_id).await?.into_iter().collect();
    for v in &mut views {
        if let Some(r) = robots.iter().find(|r| r.credential_id == v.id) {
            v.robot = Some(RobotView {
                state: r.state.as_str().into(),
                state_text: r.state.describe().into(),
                projects: r.projects.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect(),
                synced_at: r.synced_at.map(rfc3339),
                new_secret_reason: reveals.get(&v.id).map(|r| r.clone().unwrap_or_else(|| "the robot was made again".into())),
            });
        }
    }
    Ok(views)
}

fn check_name(name: &str) -> Result<&str, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "1–100 characters, no control characters"));
    }
    Ok(name)
}

/// Creates a credential for `owner_id`. Pull credentials belong to customers,
/// push credentials to admins; the name must be unique among the owner's
/// live credentials; an expiry must lie in the future. With `robots`
/// (Harbor provisioning), a pull credential is a Harbor robot.
#[allow(clippy::too_many_arguments)]
pub async fn create(
    db: &Db,
    owner_id: i64,
    kind: CredentialKind,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    robots: Option<harbor::Robots<'_>>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<NewCredential, AppError> {
    let name = check_name(name)?;
    let now = Utc::now();
    if credential::expired(expires_at, now).is_some() {
        return Err(AppError::invalid("expires_at", "the expiry must be in the future"));
    }
    let owner = db::users::find_by_id(db, owner_id).await?.ok_or(AppError::NotFound)?;
    if owner.role != kind.owner_role() {
        return Err(AppError::invalid("owner", kind.wrong_owner()));
    }
    if owner.disabled {
        return Err(AppError::invalid("owner", "the account is disabled"));
    }
    // Under Harbor a pull credential is a robot: its login carries Harbor's
    // prefix, its secret Harbor's character rules.
    let robot = robots.filter(|_| kind == CredentialKind::Pull);
    let robot_name = format!("{}-{}", kind.as_str(), random_token(USERNAME_RANDOM_LEN).to_ascii_lowercase());
    let username = robot.map_or_else(|| robot_name.clone(), |r| format!("{}{robot_name}", r.prefix));
    let secret = if robot.is_some() { harbor::new_secret() } else { random_token(SECRET_LEN) };
    let mut tx = db.begin().await?;
    if db::credentials::count_live_with_name(&mut tx, owner_id, name).await? > 0 {
        return Err(AppError::conflict("name", "a live credential already has this name"));
    }
    let id = db::credentials::insert(
        &mut tx,
        &db::credentials::NewCredentialRow {
            owner_user_id: owner_id,
            kind,
            name,
            username: &username,
            secret_hash: &hash_secret(&secret),
            created_by: &actor.label(),
            created_at: now,
            expires_at,
        },
    )
    .await?;
    if let Some(r) = robot {
        // The robot is made by the job `harbor.provision` (the trigger queued
        // it); its secret waits sealed until Harbor has it.
        db::harbor::insert_robot(&mut tx, id, owner_id, &robot_name, now).await?;
        harbor::keep_secret(&mut tx, r.sealer, id, SecretPurpose::Deliver, &secret, None).await?;
    }
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "credential.create", Outcome::Success)
            .target("credential", id)
            .subject(owner_id)
            .meta(meta)
            .details(json!({
                "name": name, "kind": kind.as_str(), "username": username,
                "owner": owner.email, "expires_at": expires_at,
            })),
    )
    .await?;
    let row = db::credentials::find_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(NewCredential { credential: view(row, now), username, secret })
}

/// One credential; with `owner` given, only if that account owns it (others
/// get `NotFound`, so ids reveal nothing).
pub async fn get(db: &Db, id: i64, owner: Option<i64>) -> Result<CredentialView, AppError> {
    let row = db::credentials::find(db, id).await?.ok_or(AppError::NotFound)?;
    if owner.is_some_and(|o| o != row.owner_user_id) {
        return Err(AppError::NotFound);
    }
    let owner_id = row.owner_user_id;
    let mut one = with_robots(db, owner_id, vec![view(row, Utc::now())]).await?;
    one.pop().ok_or(AppError::NotFound)
}

pub async fn list_for_owner(db: &Db, owner_id: i64) -> Result<Vec<CredentialView>, AppError> {
    let now = Utc::now();
    let views = db::credentials::list_for_owner(db, owner_id).await?.into_iter().map(|r| view(r, now)).collect();
    with_robots(db, owner_id, views).await
}

/// Every push credential (any admin's).
pub async fn list_push(db: &Db) -> Result<Vec<CredentialView>, AppError> {
    let now = Utc::now();
    Ok(db::credentials::list_kind(db, CredentialKind::Push).await?.into_iter().map(|r| view(r, now)).collect())
}

/// The credential, if it exists and (with `owner` given) that account owns it.
async fn owned(tx: &mut db::Tx, id: i64, owner: Option<i64>) -> Result<CredentialRow, AppError> {
    let row = db::credentials::find_in(tx, id).await?.ok_or(AppError::NotFound)?;
    if owner.is_some_and(|o| o != row.owner_user_id) {
        return Err(AppError::NotFound);
    }
    Ok(row)
}

/// Audits a change to `row` (in `tx`) and reads the changed row back.
async fn audited(
    tx: &mut db::Tx,
    row: &CredentialRow,
    action: &'static str,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<CredentialRow, AppError> {
    audit::record(
        tx,
        &AuditEvent::new(actor, action, Outcome::Success)
            .target("credential", row.id)
            .subject(row.owner_user_id)
            .meta(meta)
            .details(json!({ "name": row.name, "kind": row.kind, "username": row.username })),
    )
    .await?;
    db::credentials::find_in(tx, row.id).await?.ok_or(AppError::NotFound)
}

/// Revokes at once: the next token request with it is refused. With `owner`
/// given, only that account's credential.
pub async fn revoke(
    db: &Db,
    id: i64,
    owner: Option<i64>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<CredentialView, AppError> {
    let mut tx = db.begin().await?;
    let row = owned(&mut tx, id, owner).await?;
    let now = Utc::now();
    if db::credentials::revoke(&mut tx, id, now).await?.is_none() {
        return Err(AppError::conflict("id", "this credential is already revoked"));
    }
    let row = audited(&mut tx, &row, "credential.revoke", actor, meta).await?;
    tx.commit().await?;
    Ok(view(row, now))
}

/// A new secret for a live credential (same user name); the old secret stops
/// working at once.
pub async fn rotate(
    db: &Db,
    id: i64,
    owner: Option<i64>,
    robots: Option<harbor::Robots<'_>>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<NewCredential, AppError> {
    let mut tx = db.begin().await?;
    let row = owned(&mut tx, id, owner).await?;
    let now = Utc::now();
    if credential::expired(row.expires_at, now).is_some() {
        return Err(AppError::conflict("id", "this credential has expired: create a new one"));
    }
    let robot = match robots {
        Some(r) if db::harbor::has_robot(&mut tx, id).await? => Some(r),
        _ => None,
    };
    let secret = if robot.is_some() { harbor::new_secret() } else { random_token(SECRET_LEN) };
    if db::credentials::rotate(&mut tx, id, &hash_secret(&secret), now).await?.is_none() {
        return Err(AppError::conflict("id", "this credential is revoked: create a new one"));
    }
    if let Some(r) = robot {
        harbor::keep_secret(&mut tx, r.sealer, id, SecretPurpose::Deliver, &secret, None).await?;
        db::harbor::drop_secret(&mut tx, id, SecretPurpose::Reveal).await?;
    }
    let row = audited(&mut tx, &row, "credential.rotate", actor, meta).await?;
    tx.commit().await?;
    let username = row.username.clone();
    Ok(NewCredential { credential: view(row, now), username, secret })
}

/// Tags per repository from push events, newest first.
pub async fn tags_by_repository(db: &Db) -> Result<BTreeMap<String, Vec<TagView>>, AppError> {
    let mut map: BTreeMap<String, Vec<TagView>> = BTreeMap::new();
    for t in db::registry::all_tags(db).await? {
        map.entry(t.repository).or_default().push(TagView {
            tag: t.tag,
            digest: t.digest,
            pushed_at: rfc3339(t.pushed_at),
        });
    }
    Ok(map)
}

/// The repositories a pattern names: itself when exact; for a prefix, the
/// pushed repositories under it.
pub fn expand(pattern: &str, tags: &BTreeMap<String, Vec<TagView>>) -> Vec<(String, Vec<TagView>)> {
    let Ok(p) = RepoPattern::parse(pattern) else { return Vec::new() };
    if !pattern.ends_with('*') {
        return vec![(pattern.to_owned(), tags.get(pattern).cloned().unwrap_or_default())];
    }
    tags.iter().filter(|(repo, _)| p.matches(repo)).map(|(r, t)| (r.clone(), t.clone())).collect()
}

/// What a customer may pull right now, with real tags, for the snippets of
/// the credentials page. Repositories of entitlements not granting access
/// now (suspended, expired, not started) are left out.
pub async fn registry_access(db: &Db, customer_id: i64, host: &str) -> Result<RegistryAccessView, AppError> {
    let now = Utc::now();
    let tags = tags_by_repository(db).await?;
    let mut repositories: BTreeMap<String, RepositoryView> = BTreeMap::new();
    for r in db::registry::entitled_patterns(db, customer_id).await? {
        let w = crate::backend::services::entitlements::window(r.status, r.starts_at, r.ends_at, r.grace_until, &r.suspended_reason);
        if standing(&w, now).is_err() {
            continue;
        }
        for (name, tags) in expand(&r.pattern, &tags) {
            repositories.entry(name.clone()).or_insert(RepositoryView { name, product_name: r.product_name.clone(), tags });
        }
    }
    Ok(RegistryAccessView { host: host.to_owned(), repositories: repositories.into_values().collect() })
}

/// Parses an expiry given as a date (`2027-01-31`, end of that day UTC) or an
/// RFC 3339 time; empty means none.
pub fn parse_expiry(raw: &str) -> Result<Option<DateTime<Utc>>, AppError> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    parse_time(raw, BareDate::LastSecond).map(Some).map_err(|msg| AppError::invalid("expires_at", msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_accepts_dates_and_times_and_nothing() {
        assert_eq!(parse_expiry("").unwrap(), None);
        assert_eq!(parse_expiry("2027-01-31").unwrap().unwrap().to_rfc3339(), "2027-01-31T23:59:59+00:00");
        assert_eq!(parse_expiry("2027-01-31T10:00:00+01:00").unwrap().unwrap().to_rfc3339(), "2027-01-31T09:00:00+00:00");
        assert!(parse_expiry("next week").is_err());
    }

    #[test]
    fn prefix_patterns_expand_to_pushed_repositories_only() {
        let tag = |t: &str| TagView { tag: t.into(), digest: "sha256:x".into(), pushed_at: String::new() };
        let mut tags = BTreeMap::new();
        tags.insert("acme/widget-pro".to_string(), vec![tag("2.0")]);
        tags.insert("acme/widget".to_string(), vec![tag("1.0")]);
        tags.insert("other/thing".to_string(), vec![tag("1")]);
        let names = |v: Vec<(String, Vec<TagView>)>| v.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
        assert_eq!(names(expand("acme/widget-*", &tags)), ["acme/widget-pro"]);
        assert_eq!(names(expand("acme/widget", &tags)), ["acme/widget"]);
        assert_eq!(names(expand("acme/gadget", &tags)), ["acme/gadget"], "exact names show even before a push");
    }
}
