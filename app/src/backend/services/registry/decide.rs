//! The token decision: who is asking (a registry credential, looked up
//! through the cache and judged by `domain::credential::usable`), what each
//! requested scope gets, and the audit record of the answer. The route reads
//! the HTTP request into a `TokenRequest`, signs what `decide` grants and
//! queues the `Trail`'s record; everything in between is here.
//!
//! - pull credentials (customers): `pull` where `domain::access::decide`
//!   grants it, nothing else (never push, never `registry:catalog:*`);
//! - push credentials (admins): `pull`/`push` on every product's
//!   repositories, and the catalog.
//!
//! No scope (a `login`) → a grant of nothing for good credentials. Some
//! scope granted → what was granted (a cross-repository mount the pusher may
//! not read is simply left out), the rest noted as denied. Nothing granted →
//! refused with the reasons in words (the client prints them); a denial never
//! tells a missing repository from one not bought.

use super::batch::TokenRecord;
use super::cache::{AccessCache, Entitlements, Snapshot};
use crate::backend::db::credentials::CredentialAuthRow;
use crate::backend::db::Db;
use crate::backend::web::secrets::{constant_time_eq, hash_secret};
use crate::domain::access::{decide, Decision, Denial};
use crate::domain::catalogue::{valid_repository_name, RepoPattern};
use crate::domain::credential::{plausible_username, usable, CredentialKind, SECRET_MAX};
use crate::domain::registry::{parse_all, Access, Scope, ScopeTarget};
use crate::domain::net::{format_cidrs, parse_cidrs};
use crate::backend::services::entitlements::AccessEntry;
use crate::domain::access::Window;
use crate::domain::release::Licence;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::{net::IpAddr, sync::Arc, time::Duration};

/// The audit reason of a request the portal could not answer (the database
/// failed, or signing did).
pub const INTERNAL_ERROR: &str = "internal_error";

/// A token request as the route read it.
pub struct TokenRequest {
    pub at: DateTime<Utc>,
    /// The Basic auth user name and secret, when the header was readable.
    pub login: Option<(String, String)>,
    /// The `service` parameter, if sent.
    pub service: Option<String>,
    /// Every `scope` value as sent, split at spaces (the audit record keeps
    /// them verbatim, also the ones that do not parse).
    pub scopes: Vec<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Whom the token is for: the registry, or the portal's pull gateway.
    pub audience: Audience,
}

/// Whom a token is for. The registry gets nothing on a product delivered
/// through the gateway (so the gateway cannot be bypassed); the gateway
/// gets repository access for a perpetual licence after its updates ended
/// (it decides each version itself, `domain::release::version_allowed`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Audience {
    #[default]
    Registry,
    Gateway,
}

/// What the route signs.
#[derive(Debug)]
pub struct Grant {
    /// The token's subject: the credential's user name.
    pub subject: String,
    /// Empty for a login without scopes.
    pub access: Vec<Access>,
    /// Scopes refused while others were granted, in words.
    pub denied: Vec<String>,
}

#[derive(Debug)]
pub enum Refusal {
    /// 401 with `message` for the client; `reason` goes to the audit log.
    Unauthorized { message: String, reason: String },
    /// The database failed: 503, the client may try again.
    Unavailable,
}

impl Refusal {
    fn unauthorized(message: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Unauthorized { message: message.into(), reason: reason.into() }
    }

    /// What the audit record gives as the reason.
    pub fn reason(&self) -> &str {
        match self {
            Self::Unauthorized { reason, .. } => reason,
            Self::Unavailable => INTERNAL_ERROR,
        }
    }

    /// The reason as a fixed code, for counting refusals that authenticated
    /// nothing (`services::audit::attempts`): the codes of refusals made
    /// before a secret matched, else `denied`.
    pub fn code(&self) -> &'static str {
        match self.reason() {
            NO_CREDENTIALS => NO_CREDENTIALS,
            WRONG_SERVICE => WRONG_SERVICE,
            BAD_CREDENTIALS => BAD_CREDENTIALS,
            INTERNAL_ERROR => INTERNAL_ERROR,
            _ => "denied",
        }
    }
}

const NO_CREDENTIALS: &str = "no_credentials";
const WRONG_SERVICE: &str = "wrong_service";
const BAD_CREDENTIALS: &str = "bad_credentials";

fn unavailable(e: sqlx::Error) -> Refusal {
    tracing::error!(error = %e, "registry token: database error");
    Refusal::Unavailable
}

/// The audit record of one request: filled in as the decision learns who is
/// asking (a refused request names as much of the caller as was known), and
/// finished by the route once it knows how it answered.
pub struct Trail {
    record: TokenRecord,
    service: Option<String>,
    scopes: Vec<String>,
    username: Option<String>,
}

impl Trail {
    fn new(req: &TokenRequest, target: Option<String>) -> Self {
        Self {
            record: TokenRecord {
                at: req.at,
                actor_user_id: None,
                actor: "anonymous".into(),
                target_id: target,
                outcome: "denied",
                ip: req.ip.clone(),
                user_agent: req.user_agent.clone(),
                details: serde_json::Value::Null,
                subject_user_id: None,
                subject_org_id: None,
                credential_id: None,
            },
            service: req.service.clone(),
            scopes: req.scopes.clone(),
            username: None,
        }
    }

    /// Whether a secret matched: a refusal of such a request is a decision
    /// about a credential and gets its own audit row; any other is counted
    /// (`services::audit::attempts`) with `sample` as its example.
    pub fn is_authenticated(&self) -> bool {
        self.record.credential_id.is_some()
    }

    /// What a count of unauthenticated refusals shows of its first one.
    pub fn sample(&self) -> serde_json::Value {
        json!({
            "username": self.username,
            "service": self.service,
            "scopes": self.scopes.iter().take(4).collect::<Vec<_>>(),
            "user_agent": self.record.user_agent,
        })
    }

    /// A user name was presented (not yet checked).
    fn claimed(&mut self, username: &str) {
        self.record.actor = format!("anonymous ({username})");
        self.username = Some(username.to_owned());
    }

    /// The secret matched: the record names the owner and the credential,
    /// whatever the rest of the decision says.
    fn authenticated(&mut self, row: &CredentialAuthRow) {
        self.record.actor = row.owner_email.clone();
        self.record.actor_user_id = Some(row.owner_user_id);
        self.record.subject_user_id = Some(row.owner_user_id);
        self.record.subject_org_id = row.organisation_id;
        self.record.credential_id = Some(row.id);
    }

    /// The record of a token issued for `grant`.
    pub fn issued(self, grant: Grant) -> TokenRecord {
        self.finish("success", grant.access, None, grant.denied)
    }

    /// The record of a refusal (or of a failure to answer) for `reason`.
    pub fn refused(self, reason: &str) -> TokenRecord {
        self.finish("denied", Vec::new(), Some(reason), Vec::new())
    }

    fn finish(self, outcome: &'static str, granted: Vec<Access>, reason: Option<&str>, denied: Vec<String>) -> TokenRecord {
        let details = json!({
            "service": self.service,
            "scopes": self.scopes,
            "granted": granted,
            "reason": reason,
            "username": self.username,
            "denied": (!denied.is_empty()).then_some(denied),
        });
        TokenRecord { outcome, details, ..self.record }
    }
}

/// The token decision over the database, through the decision cache.
pub struct Decider {
    db: Db,
    cache: AccessCache,
}

impl Decider {
    /// `cache_max_age`: how long the cache may go without re-reading the
    /// access epoch (see `cache.rs`); zero re-reads it on every decision.
    pub fn new(db: Db, cache_max_age: Duration) -> Self {
        Self { db, cache: AccessCache::new(cache_max_age) }
    }

    /// Decides a request made to the token service named `serves`. The
    /// trail is returned whatever the answer, for the route to finish.
    pub async fn decide(&self, req: &TokenRequest, serves: &str) -> (Result<Grant, Refusal>, Trail) {
        let (scopes, bad_scopes) = parse_all(req.scopes.iter().map(String::as_str));
        let target = scopes.iter().find(|s| s.target() == ScopeTarget::Repository).map(|s| s.name.clone());
        let mut trail = Trail::new(req, target);
        let answer = self.answer(req, serves, &scopes, &bad_scopes, &mut trail).await;
        (answer, trail)
    }

    async fn answer(
        &self,
        req: &TokenRequest,
        serves: &str,
        scopes: &[Scope],
        bad_scopes: &[String],
        trail: &mut Trail,
    ) -> Result<Grant, Refusal> {
        let Some((username, secret)) = &req.login else {
            return Err(Refusal::unauthorized("log in with a Portcullis registry credential (user name and secret)", NO_CREDENTIALS));
        };
        trail.claimed(username);
        if let Some(s) = req.service.as_deref().filter(|s| *s != serves) {
            return Err(Refusal::unauthorized(format!("this token service serves {serves:?}, not {s:?}"), WRONG_SERVICE));
        }
        let snapshot = self.cache.snapshot(&self.db).await.map_err(unavailable)?;
        let caller = self.authenticate(&snapshot, username, secret, req.at, trail).await?;
        within_networks(&caller, req.ip.as_deref())?;
        self.grant(&snapshot, &caller, scopes, bad_scopes, req.at, req.audience).await
    }

    /// The credential named `username`, if `secret` is its secret and the
    /// credential is usable at `at`.
    async fn authenticate(
        &self,
        snapshot: &Snapshot<'_>,
        username: &str,
        secret: &str,
        at: DateTime<Utc>,
        trail: &mut Trail,
    ) -> Result<Arc<CredentialAuthRow>, Refusal> {
        let wrong = || Refusal::unauthorized("invalid user name or secret: use a current Portcullis registry credential", BAD_CREDENTIALS);
        // A name no credential can have, or an overlong secret, is refused
        // without a look-up (so neither reaches the database or the cache).
        if !plausible_username(username) || secret.len() > SECRET_MAX {
            return Err(wrong());
        }
        let row = snapshot.credential(&self.db, username).await.map_err(unavailable)?;
        let Some(row) = row.filter(|r| constant_time_eq(hash_secret(secret).as_bytes(), r.secret_hash.as_bytes())) else {
            return Err(wrong());
        };
        trail.authenticated(&row);
        usable(&row.facts(), at).map_err(|u| Refusal::unauthorized(u.message(), u.code()))?;
        Ok(row)
    }

    /// Each scope's share for `caller`: granted if any scope is (or none was
    /// asked for), refused with every reason otherwise.
    async fn grant(
        &self,
        snapshot: &Snapshot<'_>,
        caller: &CredentialAuthRow,
        scopes: &[Scope],
        bad_scopes: &[String],
        at: DateTime<Utc>,
        audience: Audience,
    ) -> Result<Grant, Refusal> {
        let (entitlements, push_patterns) = match caller.kind {
            CredentialKind::Pull => {
                let org = caller.organisation_id.unwrap_or(caller.owner_user_id);
                (snapshot.entitlements(&self.db, org).await.map_err(unavailable)?, Default::default())
            }
            CredentialKind::Push => (Default::default(), snapshot.push_patterns(&self.db).await.map_err(unavailable)?),
        };
        let mut access = Vec::new();
        let mut denied = Vec::new();
        for s in scopes {
            match decide_scope(caller, s, &entitlements, &push_patterns, at, audience) {
                Ok(actions) => access.push(Access { kind: s.kind.clone(), name: s.name.clone(), actions }),
                Err(why) => denied.push(why),
            }
        }
        denied.extend(bad_scopes.iter().map(|b| format!("{b:?}: not a scope (expected type:name:actions)")));
        let asked = !scopes.is_empty() || !bad_scopes.is_empty();
        if asked && access.is_empty() {
            let reason = denied.join("; ");
            return Err(Refusal::Unauthorized { message: reason.clone(), reason });
        }
        Ok(Grant { subject: caller.username.clone(), access, denied })
    }

    /// How many credentials and customers' entitlements the cache holds.
    pub fn cached_entries(&self) -> (usize, usize) {
        self.cache.entries()
    }

    /// May `customer_id` pull `repository` at `at`? What a pull credential's
    /// token request decides for each repository scope, through the same
    /// cache and rule (`pull_decision`); for tests and the benchmark.
    pub async fn may_pull(&self, customer_id: i64, repository: &str, at: DateTime<Utc>) -> Result<Decision, sqlx::Error> {
        let snapshot = self.cache.snapshot(&self.db).await?;
        let entitlements = snapshot.entitlements(&self.db, customer_id).await?;
        Ok(pull_decision(&entitlements, &[], repository, at, Audience::Registry))
    }

    /// An organisation's entitlements covering `repository` (an offline
    /// download by a signed-in member: no credential, no product limits).
    pub async fn entries_of(&self, organisation_id: i64, repository: &str) -> Result<Vec<AccessEntry>, sqlx::Error> {
        let snapshot = self.cache.snapshot(&self.db).await?;
        let entitlements = snapshot.entitlements(&self.db, organisation_id).await?;
        Ok(entitlements.iter().filter(|e| e.patterns.iter().any(|p| p.matches(repository))).cloned().collect())
    }

    /// What the gateway needs to decide a version for the credential named
    /// `username` on `repository` at `at`: the credential's organisation's
    /// entitlements covering it (its product limits applied), each with its
    /// licence. `None` when the credential no longer exists or may not be
    /// used (revoked, expired, holder gone): the gateway refuses.
    pub async fn versions(
        &self,
        username: &str,
        repository: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<(Arc<CredentialAuthRow>, Vec<AccessEntry>)>, sqlx::Error> {
        let snapshot = self.cache.snapshot(&self.db).await?;
        let Some(row) = snapshot.credential(&self.db, username).await? else { return Ok(None) };
        if row.kind != CredentialKind::Pull || usable(&row.facts(), at).is_err() {
            return Ok(None);
        }
        let org = row.organisation_id.unwrap_or(row.owner_user_id);
        let entitlements = snapshot.entitlements(&self.db, org).await?;
        let limited = |product: &i64| row.products.is_empty() || row.products.iter().any(|(p, _)| p == product);
        let entries = entitlements.iter().filter(|e| limited(&e.product) && e.patterns.iter().any(|p| p.matches(repository))).cloned().collect();
        Ok(Some((row, entries)))
    }
}

/// A customer's access to one repository: the pure decision over their
/// (cached) entitlements, of `products` only when it names some. For the
/// registry, products delivered through the gateway grant nothing; for the
/// gateway, a perpetual licence's window does not end (the gateway bounds
/// the versions instead).
fn pull_decision(entitlements: &Entitlements, products: &[(i64, String)], repository: &str, at: DateTime<Utc>, audience: Audience) -> Decision {
    let allowed = |product: &i64| products.is_empty() || products.iter().any(|(p, _)| p == product);
    let windows: Vec<(i64, Window, &[RepoPattern])> = entitlements
        .iter()
        .filter(|e| allowed(&e.product))
        .filter(|e| audience == Audience::Gateway || !e.gateway)
        .map(|e| {
            let window = match (audience, e.licence) {
                (Audience::Gateway, Licence::Perpetual) => Window { ends_at: None, grace_until: None, ..e.window.clone() },
                _ => e.window.clone(),
            };
            (e.id, window, e.patterns.as_slice())
        })
        .collect();
    decide(windows.iter().map(|(id, w, p)| (*id, w, *p)), repository, at)
}

/// A credential limited to address ranges is refused from anywhere else,
/// saying which ranges (`domain::net::Cidr`); the address is the one the
/// token request came from, under the proxy-header rules.
fn within_networks(caller: &CredentialAuthRow, ip: Option<&str>) -> Result<(), Refusal> {
    let Ok(ranges) = parse_cidrs(&caller.networks) else {
        return Err(Refusal::unauthorized("this credential's address ranges are unreadable: ask the vendor", "network_limit"));
    };
    if ranges.is_empty() {
        return Ok(());
    }
    let ip: Option<IpAddr> = ip.and_then(|ip| ip.parse().ok());
    if ip.is_some_and(|ip| ranges.iter().any(|r| r.contains(ip))) {
        return Ok(());
    }
    let from = ip.map_or_else(|| "an unknown address".to_owned(), |ip| ip.to_string());
    Err(Refusal::unauthorized(
        format!("this credential is limited to {} (this request came from {from})", format_cidrs(&ranges).replace(' ', ", ")),
        "network_limit",
    ))
}

/// The per-scope outcome: the actions granted, or why none is.
fn decide_scope(
    caller: &CredentialAuthRow,
    scope: &Scope,
    entitlements: &Entitlements,
    push_patterns: &[RepoPattern],
    at: DateTime<Utc>,
    audience: Audience,
) -> Result<Vec<String>, String> {
    let kind = caller.kind;
    match scope.target() {
        ScopeTarget::Catalog => match kind {
            CredentialKind::Push => Ok(vec!["*".into()]),
            CredentialKind::Pull => Err("listing the registry's catalog is not available with a pull credential".into()),
        },
        ScopeTarget::Repository => {
            if !valid_repository_name(&scope.name) {
                return Err(format!("{}: not a valid repository name", scope.name));
            }
            match kind {
                CredentialKind::Push => push_scope(scope, push_patterns),
                CredentialKind::Pull => pull_scope(scope, entitlements, &caller.products, at, audience),
            }
        }
        ScopeTarget::Other => Err(format!("{}:{}: this kind of access is not offered", scope.kind, scope.name)),
    }
}

/// Push credentials may pull and push any repository a product includes.
fn push_scope(scope: &Scope, push_patterns: &[RepoPattern]) -> Result<Vec<String>, String> {
    if !push_patterns.iter().any(|p| p.matches(&scope.name)) {
        return Err(format!("{}: no product includes this repository; add it to a product first", scope.name));
    }
    let granted: Vec<String> = ["pull", "push"].into_iter().filter(|a| scope.wants(a)).map(String::from).collect();
    if granted.is_empty() {
        Err(format!("{}: push credentials may pull and push, nothing else", scope.name))
    } else {
        Ok(granted)
    }
}

/// Pull credentials may pull what the customer's entitlements grant now.
fn pull_scope(
    scope: &Scope,
    entitlements: &Entitlements,
    products: &[(i64, String)],
    at: DateTime<Utc>,
    audience: Audience,
) -> Result<Vec<String>, String> {
    if !scope.wants("pull") {
        return Err(format!("{}: a pull credential can only pull", scope.name));
    }
    let granted = |products: &[(i64, String)], audience| matches!(pull_decision(entitlements, products, &scope.name, at, audience), Decision::Granted { .. });
    match pull_decision(entitlements, products, &scope.name, at, audience) {
        Decision::Granted { .. } => Ok(vec!["pull".into()]),
        // The organisation may pull it, this credential may not: say so.
        Decision::Denied(_) if !products.is_empty() && granted(&[], audience) => {
            let names = products.iter().map(|(_, n)| n.as_str()).collect::<Vec<_>>().join(", ");
            Err(format!("{}: this credential is limited to {names} (product_limit)", scope.name))
        }
        // Delivered through the gateway: the registry itself grants nothing.
        Decision::Denied(_) if audience == Audience::Registry && granted(products, Audience::Gateway) => Err(format!(
            "{}: this product is delivered through the vendor's pull gateway: pull it from the gateway's address (gateway_only)",
            scope.name
        )),
        Decision::Denied(d) => Err(denial_text(&scope.name, &d)),
    }
}

fn denial_text(repo: &str, d: &Denial) -> String {
    format!("{repo}: {} ({})", d.message(), d.code())
}
