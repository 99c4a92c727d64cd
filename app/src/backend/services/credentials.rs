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
use crate::domain::net::{format_cidrs, parse_cidrs};
use crate::domain::organisation::{Capability, CredentialHolder, MemberRole};
use crate::views::{CredentialProduct, CredentialView, NewCredential, RegistryAccessView, RepositoryView, RobotView, TagView};
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
        organisation_id: r.organisation_id,
        holder: r.holder,
        products: r.products.into_iter().map(|(id, name)| CredentialProduct { id, name }).collect(),
        networks: r.networks.split_whitespace().map(str::to_owned).collect(),
    }
}

/// Which credentials a caller may reach: any (admins, the API, the CLI),
/// their own (a member), or every pull credential of an organisation (its
/// owners). Anything else is `NotFound`, so ids reveal nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    Any,
    Own(i64),
    Organisation(i64),
}

impl From<Option<i64>> for Reach {
    /// `Some(user)`: that user's own; `None`: any.
    fn from(owner: Option<i64>) -> Self {
        owner.map_or(Reach::Any, Reach::Own)
    }
}

impl Reach {
    /// What a member of `org` with `role` reaches.
    pub fn of_member(user: i64, org: i64, role: MemberRole) -> Self {
        if role.may(Capability::ManageCredentials) {
            Reach::Organisation(org)
        } else {
            Reach::Own(user)
        }
    }

    fn admits(self, r: &CredentialRow) -> bool {
        match self {
            Reach::Any => true,
            Reach::Own(user) => r.owner_user_id == user,
            Reach::Organisation(org) => r.kind == CredentialKind::Pull && r.organisation_id == Some(org),
        }
    }
}

/// How a new pull credential is narrowed and who holds it.
#[derive(Clone, Debug, Default)]
pub struct Limits {
    /// `None`: the organisation's (what admins, the API and the CLI make).
    pub holder: Option<CredentialHolder>,
    /// Product ids of the organisation's entitlements (empty: all).
    pub products: Vec<i64>,
    /// Address ranges as typed (`domain::net::parse_cidrs`; empty: anywhere).
    pub networks: String,
}

/// Fills in each row's product limits (one query for all).
async fn with_products(db: &Db, mut rows: Vec<CredentialRow>) -> Result<Vec<CredentialRow>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    for (credential, id, name) in db::credentials::products_of_many(db, &ids).await? {
        if let Some(r) = rows.iter_mut().find(|r| r.id == credential) {
            r.products.push((id, name));
        }
    }
    Ok(rows)
}

/// Every pull credential of an organisation with its limits (the rows
/// Harbor provisioning converges).
pub async fn rows_of_organisation(db: &Db, org: i64) -> Result<Vec<CredentialRow>, sqlx::Error> {
    with_products(db, db::credentials::list_for_organisation(db, org).await?).await
}

/// Adds each credential's Harbor robot (when provisioning made one).
async fn with_robots(db: &Db, org: i64, mut views: Vec<CredentialView>) -> Result<Vec<CredentialView>, AppError> {
    let robots = db::harbor::robots_of(db, org).await?;
    if robots.is_empty() {
        return Ok(views);
    }
    let reveals: BTreeMap<i64, Option<String>> = db::harbor::reveals_of(db, org).await?.into_iter().collect();
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

/// Creates a credential for `owner_id` with no limits: a pull credential is
/// its organisation's (`create_limited`).
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
    create_limited(db, owner_id, kind, name, expires_at, &Limits::default(), robots, actor, meta).await
}

/// Creates a credential for `owner_id`. Pull credentials belong to a
/// member of an organisation and to it (held by the member or by the
/// organisation), push credentials to admins; the name must be unique among
/// the organisation's (or admin's) live credentials; an expiry must lie in
/// the future; product limits name the organisation's products; address
/// ranges parse, and are refused under Harbor provisioning (a Harbor robot
/// accepts logins from anywhere). With `robots`, a pull credential is a
/// Harbor robot.
#[allow(clippy::too_many_arguments)]
pub async fn create_limited(
    db: &Db,
    owner_id: i64,
    kind: CredentialKind,
    name: &str,
    expires_at: Option<DateTime<Utc>>,
    limits: &Limits,
    robots: Option<harbor::Robots<'_>>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<NewCredential, AppError> {
    let name = check_name(name)?;
    let now = Utc::now();
    if credential::expired(expires_at, now).is_some() {
        return Err(AppError::invalid("expires_at", "the expiry must be in the future"));
    }
    let networks = parse_cidrs(&limits.networks).map_err(|m| AppError::invalid("networks", m))?;
    let owner = db::users::find_by_id(db, owner_id).await?.ok_or(AppError::NotFound)?;
    if owner.role != kind.owner_role() {
        return Err(AppError::invalid("owner", kind.wrong_owner()));
    }
    if owner.disabled {
        return Err(AppError::invalid("owner", "the account is disabled"));
    }
    let (organisation, holder) = match kind {
        CredentialKind::Pull => match (owner.organisation_id, owner.joined_at) {
            (Some(org), Some(_)) => (Some(org), Some(limits.holder.unwrap_or(CredentialHolder::Organisation))),
            _ => return Err(AppError::invalid("owner", "this account is not a member of an organisation")),
        },
        CredentialKind::Push if !limits.products.is_empty() => {
            return Err(AppError::invalid("products", "push credentials cover every product"));
        }
        CredentialKind::Push => (None, None),
    };
    let robot = robots.filter(|_| kind == CredentialKind::Pull);
    if robot.is_some() && !networks.is_empty() {
        return Err(AppError::invalid(
            "networks",
            "this portal provisions Harbor robot accounts, which Harbor lets log in from anywhere: address ranges cannot be enforced",
        ));
    }
    let mut products = limits.products.clone();
    products.sort_unstable();
    products.dedup();
    if let Some(org) = organisation.filter(|_| !products.is_empty()) {
        let owned: Vec<i64> = db::registry::entitled_patterns(db, org).await?.into_iter().map(|r| r.product_id).collect();
        if let Some(p) = products.iter().find(|p| !owned.contains(p)) {
            return Err(AppError::invalid("products", format!("product {p} is not one of your organisation's products")));
        }
    }
    // Under Harbor a pull credential is a robot: its login carries Harbor's
    // prefix, its secret Harbor's character rules.
    let robot_name = format!("{}-{}", kind.as_str(), random_token(USERNAME_RANDOM_LEN).to_ascii_lowercase());
    let username = robot.map_or_else(|| robot_name.clone(), |r| format!("{}{robot_name}", r.prefix));
    let secret = if robot.is_some() { harbor::new_secret() } else { random_token(SECRET_LEN) };
    let scope = organisation.unwrap_or(owner_id);
    let mut tx = db.begin().await?;
    if db::credentials::count_live_with_name(&mut tx, scope, name).await? > 0 {
        return Err(AppError::conflict("name", "a live credential already has this name"));
    }
    let networks_text = format_cidrs(&networks);
    let id = db::credentials::insert(
        &mut tx,
        &db::credentials::NewCredentialRow {
            owner_user_id: owner_id,
            organisation_id: organisation,
            holder,
            networks: &networks_text,
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
    db::credentials::limit_products(&mut tx, id, &products).await?;
    if let Some(r) = robot {
        // The robot is made by the job `harbor.provision` (the trigger queued
        // it); its secret waits sealed until Harbor has it.
        db::harbor::insert_robot(&mut tx, id, scope, &robot_name, now).await?;
        harbor::keep_secret(&mut tx, r.sealer, id, SecretPurpose::Deliver, &secret, None).await?;
    }
    let mut event = AuditEvent::new(actor, "credential.create", Outcome::Success)
        .target("credential", id)
        .subject(owner_id)
        .meta(meta)
        .details(json!({
            "name": name, "kind": kind.as_str(), "username": username,
            "owner": owner.email, "expires_at": expires_at,
            "holder": holder.map(CredentialHolder::as_str),
            "organisation": owner.organisation_name,
            "products": products, "networks": networks_text,
        }));
    if let Some(org) = organisation {
        event = event.organisation(org);
    }
    audit::record(&mut tx, &event).await?;
    let row = db::credentials::find_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    let row = with_products(db, vec![row]).await?.pop().ok_or(AppError::NotFound)?;
    Ok(NewCredential { credential: view(row, now), username, secret })
}

/// One credential, if `reach` admits it (others get `NotFound`, so ids
/// reveal nothing).
pub async fn get(db: &Db, id: i64, reach: impl Into<Reach>) -> Result<CredentialView, AppError> {
    let row = db::credentials::find(db, id).await?.ok_or(AppError::NotFound)?;
    if !reach.into().admits(&row) {
        return Err(AppError::NotFound);
    }
    let org = row.organisation_id.unwrap_or(row.owner_user_id);
    let rows = with_products(db, vec![row]).await?;
    let mut one = with_robots(db, org, rows.into_iter().map(|r| view(r, Utc::now())).collect()).await?;
    one.pop().ok_or(AppError::NotFound)
}

/// An organisation's pull credentials that `reach` admits, newest first:
/// all of them for owners and admins, a member's own for a member.
pub async fn list_for_organisation(db: &Db, org: i64, reach: Reach) -> Result<Vec<CredentialView>, AppError> {
    let now = Utc::now();
    let rows = rows_of_organisation(db, org).await?;
    let views = rows.into_iter().filter(|r| reach.admits(r)).map(|r| view(r, now)).collect();
    with_robots(db, org, views).await
}

/// Every push credential (any admin's).
pub async fn list_push(db: &Db) -> Result<Vec<CredentialView>, AppError> {
    let now = Utc::now();
    Ok(db::credentials::list_kind(db, CredentialKind::Push).await?.into_iter().map(|r| view(r, now)).collect())
}

/// The credential, if it exists and `reach` admits it.
async fn owned(tx: &mut db::Tx, id: i64, reach: Reach) -> Result<CredentialRow, AppError> {
    let row = db::credentials::find_in(tx, id).await?.ok_or(AppError::NotFound)?;
    if !reach.admits(&row) {
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
            .organisation_opt(row.organisation_id)
            .meta(meta)
            .details(json!({ "name": row.name, "kind": row.kind, "username": row.username, "holder": row.holder })),
    )
    .await?;
    db::credentials::find_in(tx, row.id).await?.ok_or(AppError::NotFound)
}

/// Revokes at once: the next token request with it is refused; only a
/// credential `reach` admits.
pub async fn revoke(
    db: &Db,
    id: i64,
    reach: impl Into<Reach>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<CredentialView, AppError> {
    let mut tx = db.begin().await?;
    let row = owned(&mut tx, id, reach.into()).await?;
    let now = Utc::now();
    if db::credentials::revoke(&mut tx, id, now).await?.is_none() {
        return Err(AppError::conflict("id", "this credential is already revoked"));
    }
    let row = audited(&mut tx, &row, "credential.revoke", actor, meta).await?;
    tx.commit().await?;
    let row = with_products(db, vec![row]).await?.pop().ok_or(AppError::NotFound)?;
    Ok(view(row, now))
}

/// A new secret for a live credential (same user name); the old secret stops
/// working at once.
pub async fn rotate(
    db: &Db,
    id: i64,
    reach: impl Into<Reach>,
    robots: Option<harbor::Robots<'_>>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<NewCredential, AppError> {
    let mut tx = db.begin().await?;
    let row = owned(&mut tx, id, reach.into()).await?;
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
    let row = with_products(db, vec![row]).await?.pop().ok_or(AppError::NotFound)?;
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
        // A perpetual licence keeps the versions of its updates after they end.
        let w = match r.licence {
            crate::domain::release::Licence::Perpetual => crate::domain::access::Window { ends_at: None, grace_until: None, ..w },
            crate::domain::release::Licence::Subscription => w,
        };
        if standing(&w, now).is_err() {
            continue;
        }
        for (name, tags) in expand(&r.pattern, &tags) {
            let view = RepositoryView { name: name.clone(), product_name: r.product_name.clone(), tags, via_gateway: r.gateway };
            repositories.entry(name).or_insert(view);
        }
    }
    Ok(RegistryAccessView { host: host.to_owned(), repositories: repositories.into_values().collect(), gateway_host: None })
}

/// Product ids as a form sends them: numbers separated by commas or spaces
/// (empty: none), at most 100.
pub fn parse_product_ids(raw: &str) -> Result<Vec<i64>, AppError> {
    let bad = || AppError::invalid("products", "product ids (numbers) separated by commas");
    let ids = raw
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(bad))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.len() > 100 {
        return Err(AppError::invalid("products", "at most 100 products"));
    }
    Ok(ids)
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
