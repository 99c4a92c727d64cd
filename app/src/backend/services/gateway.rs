//! The pull gateway's decisions (its HTTP side is `server::routes::gateway`):
//! which manifest, blob and tag a credential may pull, by the version rule
//! (`domain::release::version_allowed`) over its organisation's
//! entitlements (`registry::Decider::versions`: the token service's cache
//! and product limits), with release times from `db::releases` (first
//! sight, or set by an admin), and the audit record of each decision,
//! written before the answer leaves.
//!
//! A manifest by digest is allowed when its own release is within what the
//! customer may pull, or when an allowed index lists it, or when it is a
//! signature, attestation or SBOM (`subject`) of an allowed manifest. A blob
//! is allowed when an allowed manifest refers to it (references read from
//! the manifests themselves, `db::releases::note_refs`).

use crate::backend::db::{self, Db};
use crate::backend::db::releases::{RefKind, ReleaseSource};
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::services::entitlements::AccessEntry;
use crate::backend::services::registry::Decider;
use crate::backend::web::request::RequestMeta;
use crate::domain::access::Denial;
use crate::domain::release::{version_allowed, Licence, References, VersionDenial};
use crate::domain::time::rfc3339;
use chrono::{DateTime, Utc};
use serde_json::json;

/// The decisions over one database: what the gateway's HTTP side holds
/// (routes never reach the database themselves).
#[derive(Clone, Debug)]
pub struct Versions {
    db: Db,
}

impl Versions {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn released_at(&self, repository: &str, digest: &str, tag: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, sqlx::Error> {
        released_at(&self.db, repository, digest, tag, now).await
    }

    pub async fn remember(&self, repository: &str, digest: &str, refs: &References) -> Result<(), sqlx::Error> {
        remember(&self.db, repository, digest, refs).await
    }

    pub async fn manifest(&self, who: &Puller, repository: &str, digest: &str, what: &str, now: DateTime<Utc>) -> Result<(), GatewayError> {
        manifest(&self.db, who, repository, digest, what, now).await
    }

    pub async fn blob(&self, who: &Puller, repository: &str, digest: &str, now: DateTime<Utc>) -> Result<(), GatewayError> {
        blob(&self.db, who, repository, digest, now).await
    }

    pub async fn visible(&self, who: &Puller, repository: &str, tags: &[(String, String)], now: DateTime<Utc>) -> Result<Vec<String>, sqlx::Error> {
        visible(&self.db, who, repository, tags, now).await
    }

    pub async fn record(&self, who: &Puller, d: &Decision<'_>, meta: &RequestMeta, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
        record(&self.db, who, d, meta, at).await
    }

    /// The digest a tag pointed to at its last push notification.
    pub async fn tag_digest(&self, repository: &str, tag: &str) -> Result<Option<String>, sqlx::Error> {
        db::releases::tag_digest(&self.db, repository, tag).await
    }
}

/// How far the decision follows parents (index → manifest, subject → referrer).
const DEPTH: u8 = 2;
/// At most this many parents are looked at for one digest.
const PARENTS: i64 = 50;

/// Who is pulling: a credential the token named (the gateway), or a
/// member signed in to the portal (an offline download), with what their
/// organisation may pull of one repository.
pub struct Puller {
    pub user_id: i64,
    pub email: String,
    pub organisation_id: i64,
    /// The credential's id and user name (none for a download).
    pub credential: Option<(i64, String)>,
    pub entries: Vec<AccessEntry>,
}

impl Puller {
    /// The puller of credential `username` on `repository`, or why there is none.
    pub async fn of(decider: &Decider, username: &str, repository: &str, at: DateTime<Utc>) -> Result<Puller, GatewayError> {
        match decider.versions(username, repository, at).await? {
            Some((c, entries)) => Ok(Puller {
                user_id: c.owner_user_id,
                email: c.owner_email.clone(),
                organisation_id: c.organisation_id.unwrap_or(c.owner_user_id),
                credential: Some((c.id, c.username.clone())),
                entries,
            }),
            None => Err(GatewayError::Denied {
                code: "credential_unusable",
                message: "this credential can no longer be used (revoked, expired or its holder left): log in again with a current one".into(),
            }),
        }
    }

    /// A member of `organisation_id` signed in to the portal, on `repository`.
    pub async fn member(decider: &Decider, user_id: i64, email: &str, organisation_id: i64, repository: &str) -> Result<Puller, sqlx::Error> {
        let entries = decider.entries_of(organisation_id, repository).await?;
        Ok(Puller { user_id, email: email.to_owned(), organisation_id, credential: None, entries })
    }

    fn actor(&self) -> Actor {
        Actor::User { id: self.user_id, email: self.email.clone() }
    }
}

#[derive(Debug)]
pub enum GatewayError {
    /// Refused, with a code for the audit log and words for the client.
    Denied { code: &'static str, message: String },
    Db(sqlx::Error),
}

impl From<sqlx::Error> for GatewayError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// When `digest` was released (its first sight is now if the portal has
/// not seen it before; recorded).
async fn released_at(db: &Db, repository: &str, digest: &str, tag: Option<&str>, now: DateTime<Utc>) -> Result<DateTime<Utc>, sqlx::Error> {
    if let Some(r) = db::releases::find(db, repository, digest).await? {
        return Ok(r.released_at);
    }
    db::releases::note(db, repository, digest, now, ReleaseSource::Gateway, tag).await?;
    Ok(db::releases::find(db, repository, digest).await?.map_or(now, |r| r.released_at))
}

/// Keeps what a manifest the gateway read refers to, and its size.
async fn remember(db: &Db, repository: &str, digest: &str, refs: &References) -> Result<(), sqlx::Error> {
    db::releases::note_refs(db, repository, digest, refs).await?;
    if refs.blob_bytes > 0 {
        db::releases::note_size(db, repository, digest, refs.blob_bytes.min(i64::MAX as u64) as i64).await?;
    }
    Ok(())
}

/// May `who` pull the manifest `digest` of `repository`? `what` names it in
/// the answer (`acme/widget:2.0`).
async fn manifest(db: &Db, who: &Puller, repository: &str, digest: &str, what: &str, now: DateTime<Utc>) -> Result<(), GatewayError> {
    match allowed(db, who, repository, digest, now, DEPTH).await? {
        Ok(()) => Ok(()),
        Err(d) => Err(GatewayError::Denied { code: d.code(), message: d.message(what) }),
    }
}

/// The version rule for one digest, then its parents.
async fn allowed(db: &Db, who: &Puller, repository: &str, digest: &str, now: DateTime<Utc>, depth: u8) -> Result<Result<(), VersionDenial>, sqlx::Error> {
    if who.entries.is_empty() {
        return Ok(Err(VersionDenial::Access(Denial::NoEntitlement)));
    }
    let released = released_at(db, repository, digest, None, now).await?;
    let own = decide(&who.entries, released, now);
    if own.is_ok() || depth == 0 {
        return Ok(own);
    }
    // An index that lists it, or the manifest it signs or describes.
    let mut parents = db::releases::referring(db, repository, digest, RefKind::Child, PARENTS).await?;
    parents.extend(db::releases::targets(db, repository, digest, RefKind::Subject).await?);
    for p in parents {
        if Box::pin(allowed(db, who, repository, &p, now, depth - 1)).await?.is_ok() {
            return Ok(Ok(()));
        }
    }
    Ok(own)
}

/// The most telling answer over both licences' entitlements.
fn decide(entries: &[AccessEntry], released: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), VersionDenial> {
    let mut denial: Option<VersionDenial> = None;
    for licence in Licence::ALL {
        let windows: Vec<_> = entries.iter().filter(|e| e.licence == licence).map(|e| &e.window).collect();
        if windows.is_empty() {
            continue;
        }
        match version_allowed(licence, &windows, released, now) {
            Ok(()) => return Ok(()),
            Err(d @ VersionDenial::ReleasedAfterUpdates { .. }) => denial = Some(d),
            Err(d) if denial.is_none() => denial = Some(d),
            Err(_) => {}
        }
    }
    Err(denial.unwrap_or(VersionDenial::Access(Denial::NoEntitlement)))
}

/// May `who` fetch the blob `digest`: does an allowed manifest refer to it?
async fn blob(db: &Db, who: &Puller, repository: &str, digest: &str, now: DateTime<Utc>) -> Result<(), GatewayError> {
    let manifests = db::releases::referring(db, repository, digest, RefKind::Blob, PARENTS).await?;
    let mut last = None;
    for m in &manifests {
        match allowed(db, who, repository, m, now, DEPTH).await? {
            Ok(()) => return Ok(()),
            Err(d) => last = Some(d),
        }
    }
    Err(GatewayError::Denied {
        code: last.as_ref().map_or("unknown_blob", VersionDenial::code),
        message: match last {
            Some(d) => format!("{repository}@{digest}: this blob belongs only to versions you may not pull ({})", d.message("the version")),
            None => format!("{repository}@{digest}: no version you may pull refers to this blob: pull its manifest first"),
        },
    })
}

/// Which of `tags` (with their digests) `who` may see in a tag list.
async fn visible(db: &Db, who: &Puller, repository: &str, tags: &[(String, String)], now: DateTime<Utc>) -> Result<Vec<String>, sqlx::Error> {
    let mut out = Vec::new();
    for (tag, digest) in tags {
        if released_at(db, repository, digest, Some(tag), now).await.is_ok() && allowed(db, who, repository, digest, now, DEPTH).await?.is_ok() {
            out.push(tag.clone());
        }
    }
    Ok(out)
}

/// What the gateway answered, for the audit log: `gateway.pull` (a manifest
/// GET: a pull), `gateway.check` (a manifest HEAD), `gateway.blob` (a
/// refused blob), `gateway.tags` (a tag list). Written and committed before
/// the answer leaves.
pub struct Decision<'a> {
    pub action: &'static str,
    pub repository: &'a str,
    pub reference: &'a str,
    pub digest: Option<&'a str>,
    /// The refusal's code and words.
    pub outcome: Result<(), (&'static str, String)>,
}

async fn record(db: &Db, who: &Puller, d: &Decision<'_>, meta: &RequestMeta, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let (outcome, code, message) = match &d.outcome {
        Ok(()) => (Outcome::Success, None, None),
        Err((code, message)) => (Outcome::Denied, Some(*code), Some(message.as_str())),
    };
    let org = who.organisation_id;
    let event = AuditEvent::new(who.actor(), d.action, outcome)
        .at(at)
        .target("repository", d.repository)
        .subject(who.user_id)
        .organisation(org)
        .meta(meta)
        .details(json!({
            "credential": who.credential.as_ref().map(|c| &c.1), "credential_id": who.credential.as_ref().map(|c| c.0),
            "reference": d.reference, "digest": d.digest, "reason": code, "message": message,
            "at": rfc3339(at), "source": "gateway",
        }));
    let mut tx = db.begin().await?;
    audit::record(&mut tx, &event).await?;
    // A manifest GET that was allowed is a pull: the organisation's history.
    if d.action == "gateway.pull" && d.outcome.is_ok() {
        let tag = (!crate::domain::release::valid_digest(d.reference)).then_some(d.reference);
        let ip = meta.ip_string();
        let pull = db::pulls::NewPull {
            at,
            organisation_id: org,
            user_id: Some(who.user_id),
            credential_id: who.credential.as_ref().map(|c| c.0),
            credential: who.credential.as_ref().map(|c| c.1.as_str()),
            repository: d.repository,
            tag,
            digest: d.digest,
            ip: ip.as_deref(),
            user_agent: meta.user_agent.as_deref(),
            source: crate::domain::pull::PullSource::Gateway,
            event_id: None,
        };
        db::pulls::insert(&mut tx, &pull).await?;
    }
    tx.commit().await
}

/// A vendor admin sets (or backdates) when `digest` of `repository` was
/// released; audited as `release.set` with the time it had.
pub async fn set_release(db: &Db, repository: &str, digest: &str, at: DateTime<Utc>, actor: Actor, meta: &RequestMeta) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    if !crate::domain::catalogue::valid_repository_name(repository) {
        return Err(AppError::invalid("repository", "a repository name such as acme/widget"));
    }
    if !crate::domain::release::valid_digest(digest) {
        return Err(AppError::invalid("digest", "a digest such as sha256:… (64 hex digits)"));
    }
    let now = Utc::now();
    if at > now + chrono::Duration::days(1) {
        return Err(AppError::invalid("released_at", "a release time cannot lie in the future"));
    }
    let before = db::releases::find(db, repository, digest).await?;
    let mut tx = db.begin().await?;
    db::releases::set(&mut tx, repository, digest, at, &actor.label(), now).await?;
    let event = AuditEvent::new(actor, "release.set", Outcome::Success)
        .target("repository", repository)
        .meta(meta)
        .details(json!({ "digest": digest, "released_at": rfc3339(at), "was": before.map(|b| rfc3339(b.released_at)) }));
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(())
}

/// The releases of a product's exact repositories, newest first.
pub async fn releases_of(db: &Db, repositories: &[String], limit: i64) -> Result<Vec<crate::views::ReleaseView>, sqlx::Error> {
    let exact: Vec<String> = repositories.iter().filter(|r| !r.ends_with('*')).cloned().collect();
    Ok(db::releases::list(db, &exact, limit)
        .await?
        .into_iter()
        .map(|r| crate::views::ReleaseView {
            repository: r.repository,
            digest: r.digest,
            tag: r.tag,
            released_at: rfc3339(r.released_at),
            source: r.source,
            set_by: r.set_by,
        })
        .collect())
}

/// The versions of a product's exact repositories as its page shows them:
/// release, digest, size, whether a signature was pushed, and for a member
/// of organisation `viewer`, whether they may pull it and until when (the
/// gateway's rule, over the organisation's entitlements read now).
pub async fn versions(db: &Db, repositories: &[String], viewer: Option<i64>, limit: i64, now: DateTime<Utc>) -> Result<Vec<crate::views::VersionView>, sqlx::Error> {
    let exact: Vec<String> = repositories.iter().filter(|r| !r.ends_with('*')).cloned().collect();
    let entries = match viewer {
        Some(org) => Some(crate::backend::services::entitlements::access_entries(db, org).await?),
        None => None,
    };
    let mut out = Vec::new();
    for repo in &exact {
        let signed: Vec<String> = db::releases::subject_tags(db, repo).await?.iter().filter_map(|t| crate::domain::release::tag_subject(t)).collect();
        for r in db::releases::list(db, std::slice::from_ref(repo), limit).await? {
            // Signatures, attestations and SBOMs are not versions of their own.
            if r.tag.as_deref().is_some_and(|t| crate::domain::release::tag_subject(t).is_some()) {
                continue;
            }
            let access = entries.as_ref().map(|all| {
                let mine: Vec<AccessEntry> = all.iter().filter(|e| e.patterns.iter().any(|p| p.matches(repo))).cloned().collect();
                access_text(&mine, r.released_at, now)
            });
            out.push(crate::views::VersionView {
                repository: r.repository.clone(),
                tag: r.tag.clone(),
                signed: signed.contains(&r.digest),
                digest: r.digest,
                released_at: rfc3339(r.released_at),
                size: r.size,
                allowed: access.as_ref().map(|a| a.0),
                access: access.map(|a| a.1),
            });
        }
    }
    out.sort_by(|a, b| b.released_at.cmp(&a.released_at));
    out.truncate(limit.max(0) as usize);
    Ok(out)
}

/// May a member pull a version released at `released`, and until when, in words.
fn access_text(entries: &[AccessEntry], released: DateTime<Utc>, now: DateTime<Utc>) -> (bool, String) {
    if entries.is_empty() {
        return (false, "not part of what your organisation bought".into());
    }
    match decide(entries, released, now) {
        Err(d) => (false, d.message("this version")),
        Ok(()) => {
            let day = |t: DateTime<Utc>| t.format("%-d %B %Y").to_string();
            let perpetual = entries.iter().any(|e| {
                e.licence == Licence::Perpetual && version_allowed(Licence::Perpetual, &[&e.window], released, now).is_ok()
            });
            if perpetual {
                return (true, "yours for good (released while your updates ran)".into());
            }
            let until = entries
                .iter()
                .filter(|e| crate::domain::access::standing(&e.window, now).is_ok())
                .map(|e| e.window.grace_until.or(e.window.ends_at))
                .max_by(|a, b| match (a, b) {
                    (None, _) | (_, None) => a.is_none().cmp(&b.is_none()),
                    (Some(x), Some(y)) => x.cmp(y),
                });
            match until.flatten() {
                Some(t) => (true, format!("while your access lasts: until {}", day(t))),
                None => (true, "while your subscription lasts".into()),
            }
        }
    }
}
