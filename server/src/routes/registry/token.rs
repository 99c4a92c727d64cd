//! `GET /registry/token`: Docker Registry v2 token authentication as
//! Distribution 2.8 speaks it. Basic auth with a registry credential; each
//! requested scope is decided at the moment of the request:
//! - pull credentials (customers): `pull` where `entitlements::decide` grants
//!   it, nothing else (never push, never `registry:catalog:*`);
//! - push credentials (admins): `pull`/`push` on every product's
//!   repositories, and the catalog.
//!
//! No scope (a `login`) → 200 with empty access for good credentials. Some
//! scope granted → 200 with what was granted (a cross-repository mount the
//! pusher may not read is simply left out). Nothing granted → 401 with the
//! reason in words (the client prints it); a denial never tells a missing
//! repository from one not bought. Every request is queued for the audit log.

use crate::routes::registry::batch::Decision as Logged;
use crate::routes::registry::{scope, RegistryService};
use crate::routes::registry::scope::{Access, Scope, TokenSpec};
use app::domain::access::{decide, Decision, Denial};
use app::backend::web::secrets::{constant_time_eq, hash_secret};
use app::backend::web::RequestMeta;
use axum::{
    extract::{ConnectInfo, RawQuery, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{SecondsFormat, Utc};
use serde_json::json;
use std::{net::SocketAddr, sync::Arc};

/// Who is asking, once the credential checked out.
struct Caller {
    owner_id: i64,
    username: String,
    push: bool,
}

fn unauthorized(message: &str) -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Basic realm=\"Portcullis registry\"")],
        Json(json!({ "errors": [{ "code": "UNAUTHORIZED", "message": message }] })),
    )
        .into_response()
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (user, secret) = decoded.split_once(':')?;
    Some((user.to_owned(), secret.to_owned()))
}

/// The per-scope outcome: what is granted, or why not.
fn decide_scope(
    caller: &Caller,
    scope: &Scope,
    entitlements: &crate::routes::registry::cache::Entitlements,
    push_patterns: &[app::domain::catalogue::RepoPattern],
    now: chrono::DateTime<Utc>,
) -> Result<Vec<String>, String> {
    match scope.kind.as_str() {
        "registry" if scope.name == "catalog" => {
            if caller.push {
                Ok(vec!["*".into()])
            } else {
                Err("listing the registry's catalog is not available with a pull credential".into())
            }
        }
        "repository" => {
            if !app::domain::catalogue::valid_repository_name(&scope.name) {
                return Err(format!("{}: not a valid repository name", scope.name));
            }
            if caller.push {
                if !push_patterns.iter().any(|p| p.matches(&scope.name)) {
                    return Err(format!("{}: no product includes this repository; add it to a product first", scope.name));
                }
                let granted: Vec<String> =
                    ["pull", "push"].into_iter().filter(|a| scope.wants(a)).map(String::from).collect();
                return if granted.is_empty() {
                    Err(format!("{}: push credentials may pull and push, nothing else", scope.name))
                } else {
                    Ok(granted)
                };
            }
            if !scope.wants("pull") {
                return Err(format!("{}: a pull credential can only pull", scope.name));
            }
            let items = entitlements.iter().map(|(id, w, p)| (*id, w, p.as_slice()));
            match decide(items, &scope.name, now) {
                Decision::Granted { .. } => Ok(vec!["pull".into()]),
                Decision::Denied(d) => Err(denial_text(&scope.name, &d)),
            }
        }
        _ => Err(format!("{}:{}: this kind of access is not offered", scope.kind, scope.name)),
    }
}

fn denial_text(repo: &str, d: &Denial) -> String {
    format!("{repo}: {} ({})", d.message(), d.code())
}

pub async fn token(
    State(svc): State<Arc<RegistryService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let now = Utc::now();
    let meta = RequestMeta::from_parts(&headers, Some(peer), svc.client_ip_header.as_deref());
    let query = query.unwrap_or_default();
    let mut service_param = None;
    let mut raw_scopes = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "service" => service_param = Some(v.into_owned()),
            "scope" => raw_scopes.extend(v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned)),
            _ => {}
        }
    }
    let (scopes, bad_scopes) = scope::parse_all(raw_scopes.iter().map(String::as_str));
    let target = scopes.iter().find(|s| s.kind == "repository").map(|s| s.name.clone());
    let mut log = Logged {
        at: now,
        actor_user_id: None,
        actor: "anonymous".into(),
        target_id: target,
        outcome: "denied",
        ip: meta.ip_string(),
        user_agent: meta.user_agent.clone(),
        details: serde_json::Value::Null,
        subject_user_id: None,
        credential_id: None,
    };
    let mut notes = Notes::default();
    let request = Request { service: service_param.as_deref(), scopes: &scopes, bad_scopes: &bad_scopes, now };
    let result = answer(&svc, &headers, &request, &mut log, &mut notes).await;
    let (response, granted, reason) = match result {
        Ok((response, granted)) => (response, granted, None),
        Err((response, reason)) => (response, Vec::new(), Some(reason)),
    };
    log.details = json!({
        "service": service_param,
        "scopes": raw_scopes,
        "granted": granted,
        "reason": reason,
        "username": notes.username,
        "denied": (!notes.denied.is_empty()).then_some(notes.denied),
    });
    svc.audit.push(log).await;
    response
}

type Answer = Result<(Response, Vec<Access>), (Response, String)>;

/// What the client asked for.
struct Request<'a> {
    service: Option<&'a str>,
    scopes: &'a [Scope],
    bad_scopes: &'a [String],
    now: chrono::DateTime<Utc>,
}

/// What the audit details need beyond the answer.
#[derive(Default)]
struct Notes {
    username: Option<String>,
    /// Scopes refused while others were granted.
    denied: Vec<String>,
}

async fn answer(svc: &RegistryService, headers: &HeaderMap, req: &Request<'_>, log: &mut Logged, notes: &mut Notes) -> Answer {
    let Request { service, scopes, bad_scopes, now } = *req;
    let Some((username, secret)) = basic_auth(headers) else {
        return Err((unauthorized("log in with a Portcullis registry credential (user name and secret)"), "no_credentials".into()));
    };
    log.actor = format!("anonymous ({username})");
    notes.username = Some(username.clone());
    if let Some(s) = service {
        if s != svc.settings.service {
            let msg = format!("this token service serves {:?}, not {s:?}", svc.settings.service);
            return Err((unauthorized(&msg), "wrong_service".into()));
        }
    }
    let internal = |e: sqlx::Error| {
        tracing::error!(error = %e, "registry token: database error");
        (
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({ "errors": [{ "code": "UNAVAILABLE", "message": "the portal cannot decide right now; try again" }] })))
                .into_response(),
            "internal_error".to_owned(),
        )
    };
    let snapshot = svc.cache.snapshot(&svc.db).await.map_err(internal)?;
    let bad = "invalid user name or secret: use a current Portcullis registry credential";
    let row = snapshot.credential(&svc.db, &username).await.map_err(internal)?;
    let Some(row) = row.filter(|r| constant_time_eq(hash_secret(&secret).as_bytes(), r.secret_hash.as_bytes())) else {
        return Err((unauthorized(bad), "bad_credentials".into()));
    };
    log.actor = row.owner_email.clone();
    log.actor_user_id = Some(row.owner_user_id);
    log.subject_user_id = Some(row.owner_user_id);
    log.credential_id = Some(row.id);
    if row.revoked_at.is_some() {
        return Err((unauthorized("this credential was revoked: create a new one in the portal"), "credential_revoked".into()));
    }
    if let Some(exp) = row.expires_at.filter(|e| *e <= now) {
        let msg = format!("this credential expired on {}: create a new one in the portal", exp.format("%Y-%m-%d %H:%M UTC"));
        return Err((unauthorized(&msg), "credential_expired".into()));
    }
    if row.owner_disabled {
        return Err((unauthorized("the account this credential belongs to is disabled"), "account_disabled".into()));
    }
    let push = row.kind == "push";
    let wanted_role = if push { "admin" } else { "customer" };
    if row.owner_role != wanted_role {
        return Err((unauthorized("this credential's account can no longer use it"), "role_changed".into()));
    }
    let caller = Caller { owner_id: row.owner_user_id, username: row.username.clone(), push };
    let entitlements = if push { Default::default() } else { snapshot.entitlements(&svc.db, caller.owner_id).await.map_err(internal)? };
    let push_patterns = if push { snapshot.push_patterns(&svc.db).await.map_err(internal)? } else { Default::default() };

    let mut granted = Vec::new();
    let mut denials = Vec::new();
    for s in scopes {
        match decide_scope(&caller, s, &entitlements, &push_patterns, now) {
            Ok(actions) => granted.push(Access { kind: s.kind.clone(), name: s.name.clone(), actions }),
            Err(why) => denials.push(why),
        }
    }
    denials.extend(bad_scopes.iter().map(|b| format!("{b:?}: not a scope (expected type:name:actions)")));
    let asked = !scopes.is_empty() || !bad_scopes.is_empty();
    if asked && granted.is_empty() {
        let reason = denials.join("; ");
        return Err((unauthorized(&reason), reason));
    }
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let token = scope::sign_token(
        &svc.signer,
        &TokenSpec {
            issuer: &svc.settings.issuer,
            subject: &caller.username,
            audience: &svc.settings.service,
            issued_at: now.timestamp(),
            ttl_secs: svc.settings.token_ttl_secs as i64,
            jti: &jti,
            access: &granted,
        },
    )
    .map_err(|e| {
        tracing::error!(error = %e, "registry token: signing failed");
        ((StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response(), "internal_error".to_owned())
    })?;
    log.outcome = "success";
    notes.denied = denials;
    let body = json!({
        "token": token,
        "access_token": token,
        "expires_in": svc.settings.token_ttl_secs,
        "issued_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    Ok(((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response(), granted))
}
