//! The registry's notifications (what `POST /registry/events` receives, once
//! its shared secret checked out): which events matter and what they change.
//! Events are de-duplicated on their id (the registry retries the same id
//! until it gets a 2xx). Kept: manifest pushes (they give each repository its
//! tags) and manifest GETs (downloads: HEAD requests and blob fetches also
//! raise `pull` events and are ignored). A pull updates the credential's
//! `last_pulled_at` and is audited as `registry.pull`; a push is audited as
//! `registry.push`. The token service's own records stay the authoritative
//! access log; these are enrichment.

use crate::backend::db;
use crate::backend::db::Db;
use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::web::request::RequestMeta;
use crate::domain::audit_fields::{clean_text, IP_MAX, TARGET_MAX, USER_AGENT_MAX};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::json;
use std::net::IpAddr;

#[derive(Debug, Deserialize)]
pub struct Envelope {
    pub events: Vec<Event>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Event {
    pub id: String,
    pub timestamp: Option<DateTime<Utc>>,
    pub action: String,
    pub target: Target,
    pub request: Request,
    pub actor: ActorField,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Target {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Request {
    pub addr: Option<String>,
    pub method: Option<String>,
    pub useragent: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ActorField {
    pub name: Option<String>,
}

impl Event {
    /// The event with every text cut and cleaned as the audit log's fields
    /// are (`domain::audit_fields`): the registry forwards what its clients
    /// sent (user agents, tags), and one bad byte must not fail the whole
    /// delivery, which the registry would then send again for ever.
    fn cleaned(&self) -> Event {
        let text = |s: &str, max| clean_text(s, max).into_owned();
        let opt = |s: &Option<String>, max| s.as_deref().map(|s| text(s, max));
        Event {
            id: text(&self.id, 128),
            timestamp: self.timestamp,
            action: text(&self.action, 32),
            target: Target {
                media_type: text(&self.target.media_type, 256),
                digest: opt(&self.target.digest, 160),
                repository: text(&self.target.repository, TARGET_MAX),
                tag: opt(&self.target.tag, 128),
            },
            request: Request {
                addr: opt(&self.request.addr, IP_MAX),
                method: opt(&self.request.method, 16),
                useragent: opt(&self.request.useragent, USER_AGENT_MAX),
            },
            actor: ActorField { name: opt(&self.actor.name, 64) },
        }
    }
}

fn is_manifest(media_type: &str) -> bool {
    media_type.contains("manifest") || media_type == "application/vnd.oci.image.index.v1+json"
}

/// What an event means to the portal, if anything.
#[derive(Debug, PartialEq, Eq)]
pub enum Kind {
    Pull,
    Push,
}

pub fn classify(e: &Event) -> Option<Kind> {
    if e.id.is_empty() || e.target.repository.is_empty() || !is_manifest(&e.target.media_type) {
        return None;
    }
    match e.action.as_str() {
        "pull" if e.request.method.as_deref() == Some("GET") => Some(Kind::Pull),
        "push" => Some(Kind::Push),
        _ => None,
    }
}

/// `request.addr` is `host:port` (or `[v6]:port`), as the registry saw it.
fn addr_ip(addr: &str) -> Option<IpAddr> {
    addr.parse::<std::net::SocketAddr>().map(|s| s.ip()).ok().or_else(|| addr.parse().ok())
}

/// Records a delivery of notifications, in one transaction: on an error
/// none is kept and the registry, answered with a non-2xx, sends them again.
#[derive(Clone)]
pub struct Notifications {
    db: Db,
}

impl Notifications {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn record(&self, events: &[Event]) -> Result<(), sqlx::Error> {
        let now = Utc::now();
        let mut tx = self.db.begin().await?;
        for e in events {
            let e = &e.cleaned();
            let Some(kind) = classify(e) else { continue };
            let at = e.timestamp.unwrap_or(now);
            let actor_name = e.actor.name.as_deref().filter(|n| !n.is_empty());
            let credential = match actor_name {
                Some(n) => db::credentials::find_by_username(&mut tx, n).await?,
                None => None,
            };
            let ip = e.request.addr.as_deref().and_then(addr_ip).map(|ip| ip.to_string());
            let new = db::registry::insert_event(
                &mut tx,
                &db::registry::NewEventRow {
                    event_id: &e.id,
                    received_at: now,
                    occurred_at: at,
                    action: &e.action,
                    repository: &e.target.repository,
                    tag: e.target.tag.as_deref(),
                    digest: e.target.digest.as_deref(),
                    media_type: Some(&e.target.media_type),
                    method: e.request.method.as_deref(),
                    actor: actor_name,
                    credential_id: credential.as_ref().map(|c| c.0),
                    ip: ip.as_deref(),
                    user_agent: e.request.useragent.as_deref(),
                },
            )
            .await?;
            if !new {
                continue;
            }
            let action = match kind {
                Kind::Pull => {
                    if let Some(name) = actor_name {
                        db::credentials::touch_pulled(&mut tx, name, at).await?;
                    }
                    if let Some((id, owner, _)) = &credential {
                        pulled(&mut tx, e, *id, *owner, at).await?;
                    }
                    "registry.pull"
                }
                Kind::Push => {
                    if let (Some(tag), Some(digest)) = (e.target.tag.as_deref(), e.target.digest.as_deref()) {
                        db::registry::upsert_tag(&mut tx, &e.target.repository, tag, digest, at, actor_name).await?;
                    }
                    // A digest's first push is its release (the gateway's versions).
                    if let Some(digest) = e.target.digest.as_deref().filter(|d| crate::domain::release::valid_digest(d)) {
                        let source = db::releases::ReleaseSource::Push;
                        db::releases::note_in(&mut tx, &e.target.repository, digest, at, source, e.target.tag.as_deref()).await?;
                    }
                    "registry.push"
                }
            };
            let actor = match &credential {
                Some((_, owner, email)) => Actor::User { id: *owner, email: email.clone() },
                None => Actor::Anonymous { claimed: actor_name.map(str::to_owned) },
            };
            let mut event = AuditEvent::new(actor, action, Outcome::Success)
                .at(at)
                .target("repository", &e.target.repository)
                .meta(&RequestMeta { ip: ip.as_deref().and_then(|i| i.parse().ok()), user_agent: e.request.useragent.clone(), request_id: None })
                .details(json!({
                    "event_id": e.id, "tag": e.target.tag, "digest": e.target.digest,
                    "media_type": e.target.media_type, "credential": actor_name,
                    "credential_id": credential.as_ref().map(|c| c.0), "source": "registry notification",
                }));
            if let Some((_, owner, _)) = &credential {
                event = event.subject(*owner);
            }
            audit::record(&mut tx, &event).await?;
        }
        tx.commit().await
    }
}

/// A customer's pull the registry reported: into the organisation's pull
/// history, with the client address and user agent of the token request
/// that allowed it (the registry's `request.addr` can be spoofed by the
/// client through `X-Forwarded-For`). Pulls with push credentials (the
/// vendor's CI, the gateway's own upstream credential) are no customer's.
async fn pulled(tx: &mut crate::backend::db::Tx, e: &Event, credential: i64, owner: i64, at: chrono::DateTime<Utc>) -> Result<(), sqlx::Error> {
    let Some(row) = db::credentials::find_in(tx, credential).await? else { return Ok(()) };
    let Some(org) = row.organisation_id else { return Ok(()) };
    let origin = db::pulls::token_origin(tx, owner, &row.username, &e.target.repository, at).await?;
    let (ip, user_agent) = origin.unwrap_or((None, e.request.useragent.clone()));
    let pull = db::pulls::NewPull {
        at,
        organisation_id: org,
        user_id: Some(owner),
        credential_id: Some(credential),
        credential: Some(&row.username),
        repository: &e.target.repository,
        tag: e.target.tag.as_deref(),
        digest: e.target.digest.as_deref(),
        ip: ip.as_deref(),
        user_agent: user_agent.as_deref(),
        source: crate::domain::pull::PullSource::Registry,
        event_id: Some(&e.id),
    };
    db::pulls::insert(tx, &pull).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str, media: &str, method: &str) -> Event {
        Event {
            id: "e1".into(),
            action: action.into(),
            target: Target { media_type: media.into(), repository: "acme/widget".into(), ..Default::default() },
            request: Request { method: Some(method.into()), ..Default::default() },
            ..Default::default()
        }
    }

    #[test]
    fn only_manifest_gets_count_as_pulls() {
        let m = "application/vnd.oci.image.manifest.v1+json";
        assert_eq!(classify(&event("pull", m, "GET")), Some(Kind::Pull));
        assert_eq!(classify(&event("pull", m, "HEAD")), None);
        assert_eq!(classify(&event("pull", "application/octet-stream", "GET")), None);
        assert_eq!(classify(&event("push", "application/vnd.docker.distribution.manifest.v2+json", "PUT")), Some(Kind::Push));
        assert_eq!(classify(&event("mount", m, "POST")), None);
        assert_eq!(addr_ip("127.0.0.1:5000").map(|i| i.to_string()).as_deref(), Some("127.0.0.1"));
        assert_eq!(addr_ip("[::1]:5000").map(|i| i.to_string()).as_deref(), Some("::1"));
    }

    #[test]
    fn hostile_fields_are_cut_and_cleaned() {
        let mut e = event("push", "application/vnd.oci.image.manifest.v1+json", "PUT");
        e.target.tag = Some("v1\0\x1b".into());
        e.request.useragent = Some("x".repeat(100_000));
        let c = e.cleaned();
        assert_eq!(c.target.tag.as_deref(), Some("v1\u{FFFD}\u{FFFD}"));
        assert_eq!(c.request.useragent.as_deref().unwrap().chars().count(), USER_AGENT_MAX);
        assert_eq!(classify(&c), Some(Kind::Push));
    }
}
