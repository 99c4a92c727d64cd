//! `GET /registry/token`: Docker Registry v2 token authentication as
//! Distribution 2.8 speaks it, the HTTP part: Basic auth and the query are
//! read into a `TokenRequest`, `services::registry::Decider` decides (who is
//! asking, what each scope gets; see there for the rules), and the answer is
//! signed (`crate::signing::jwt`) and sent: 200 with the token, 401 with the
//! reason in words (the client prints it), 503 when the portal cannot decide.
//! A token is sent only after its audit record is committed (group commit,
//! `services::registry::batch`); a decision not made within `DECIDE_LIMIT`,
//! or a record not committed within `ANSWER_LIMIT` of the request's
//! arrival, is answered 503 with `Retry-After: 1`.
//! Bounds first: a network past its failures gets 429 (`Retry-After`)
//! before anything is read; a request outside `domain::registry::limits`, or
//! with bytes that are not clean UTF-8, gets 400 before any look-up. Every
//! answer about a credential whose secret matched is queued for the audit
//! log as a row of its own; refusals that authenticated nothing are counted
//! per network and minute (`services::audit::attempts`).

use crate::routes::registry::RegistryService;
use crate::signing::jwt::{sign_token, TokenSpec};
use crate::signing::reuse::Issued;
use app::backend::services::registry::{Audience, Grant, Refusal, TokenRecord, TokenRequest, Trail, INTERNAL_ERROR};
use app::backend::services::audit::attempts::Attempt;
use app::backend::web::metrics::TokenOutcome;
use app::backend::web::RequestMeta;
use app::domain::{audit_fields::is_unsafe, registry::limits};
use axum::{
    extract::{ConnectInfo, RawQuery, State},
    http::{header, HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{DateTime, SecondsFormat, Utc};
use percent_encoding::percent_decode_str;
use serde_json::json;
use std::{net::SocketAddr, sync::Arc, time::Duration};

pub async fn token(
    State(svc): State<Arc<RegistryService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let started = std::time::Instant::now();
    let meta = RequestMeta::from_parts(&headers, Some(peer), svc.client_ip_header.as_deref());
    let at = Utc::now();
    let registry = &svc.services;
    let done = |outcome: TokenOutcome, response: Response| {
        registry.metrics.token(outcome, started.elapsed());
        response
    };
    if let Err(wait) = registry.failures.check(meta.ip) {
        registry.attempts.note(Attempt::denied(ACTION, "rate_limited"), meta.ip, at, || json!({ "user_agent": meta.user_agent }));
        return done(TokenOutcome::Limited, too_many(wait));
    }
    let ip = meta.ip;
    let request = match read_request(&headers, query.as_deref().unwrap_or_default(), meta, at) {
        Ok(mut request) => {
            // A token for the pull gateway (its own `service`) when it is on.
            if svc.gateway_service.is_some() && request.service == svc.gateway_service {
                request.audience = Audience::Gateway;
            }
            request
        }
        Err(problem) => {
            registry.failures.failed(ip).await;
            registry.attempts.note(Attempt::denied(ACTION, "malformed"), ip, at, || json!({ "problem": problem }));
            return done(TokenOutcome::Malformed, malformed(problem));
        }
    };
    // A decision that needs the database while it is away is cut off
    // (503 at once rather than a wait for the pool); what is left of the
    // answer's bound goes to the commit.
    let serves = match request.audience {
        Audience::Gateway => svc.gateway_service.as_deref().unwrap_or(&svc.settings.service),
        Audience::Registry => &svc.settings.service,
    };
    let decided = tokio::time::timeout(DECIDE_LIMIT, registry.tokens.decide(&request, serves)).await;
    let Ok((answer, trail)) = decided else {
        tracing::warn!("registry token: no decision within {DECIDE_LIMIT:?} (is the database reachable?)");
        registry.attempts.note(Attempt::failed(ACTION, "unavailable"), ip, at, || json!({ "user_agent": request.user_agent }));
        return done(TokenOutcome::Unavailable, refused(&Refusal::Unavailable));
    };
    let commit_limit = ANSWER_LIMIT.saturating_sub(started.elapsed());
    match answer {
        Ok(grant) => {
            let (response, record) = sign_and_respond(&svc, grant, trail, &request);
            // The token leaves only once its record is committed.
            if registry.audit.commit(record, commit_limit).await {
                done(TokenOutcome::Granted, response)
            } else {
                done(TokenOutcome::Unavailable, refused(&Refusal::Unavailable))
            }
        }
        Err(refusal) if trail.is_authenticated() => {
            // A refusal grants nothing; it is answered once recorded (or
            // once recording gave up).
            registry.audit.commit(trail.refused(refusal.reason()), commit_limit).await;
            let outcome = if matches!(refusal, Refusal::Unavailable) { TokenOutcome::Unavailable } else { TokenOutcome::Denied };
            done(outcome, refused(&refusal))
        }
        Err(refusal) => {
            // Nothing was authenticated: counted, not recorded one by one.
            if !matches!(refusal, Refusal::Unavailable) {
                registry.failures.failed(ip).await;
            }
            registry.attempts.note(Attempt::denied(ACTION, refusal.code()), ip, at, || trail.sample());
            let outcome = if matches!(refusal, Refusal::Unavailable) { TokenOutcome::Unavailable } else { TokenOutcome::Unauthenticated };
            done(outcome, refused(&refusal))
        }
    }
}

/// How long a request may take, its decision and its record's commit
/// together, before it answers 503 (the record may still be written; a
/// token never leaves without it).
const ANSWER_LIMIT: Duration = Duration::from_secs(5);

/// How long the decision may take (it reads the database only to refresh
/// its caches) before the request answers 503.
const DECIDE_LIMIT: Duration = Duration::from_secs(2);

/// The audit action of token requests.
const ACTION: &str = "registry.token";

/// The request as the decision takes it: the Basic auth login, the
/// `service` and every `scope` (each may hold several, space-separated),
/// each within `domain::registry::limits`, valid UTF-8 without control
/// characters; otherwise the fixed words of what is wrong (never the bytes
/// sent).
fn read_request(headers: &HeaderMap, query: &str, meta: RequestMeta, at: DateTime<Utc>) -> Result<TokenRequest, &'static str> {
    if query.len() > limits::QUERY_BYTES {
        return Err("the query string is too long");
    }
    let mut service = None;
    let mut scopes = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let value = || -> Result<String, &'static str> {
            let plus = v.replace('+', " ");
            let decoded = percent_decode_str(&plus).decode_utf8().map_err(|_| "a query parameter is not UTF-8")?;
            if decoded.chars().any(is_unsafe) {
                return Err("a query parameter holds control characters");
            }
            Ok(decoded.into_owned())
        };
        match k {
            "service" => {
                let v = value()?;
                if v.len() > limits::SERVICE_BYTES {
                    return Err("the service parameter is too long");
                }
                service = Some(v);
            }
            "scope" => {
                for s in value()?.split(' ').filter(|s| !s.is_empty()) {
                    if s.len() > limits::SCOPE_BYTES {
                        return Err("a scope is too long");
                    }
                    if scopes.len() == limits::SCOPES {
                        return Err("too many scopes");
                    }
                    scopes.push(s.to_owned());
                }
            }
            _ => {}
        }
    }
    let login = basic_auth(headers)?;
    Ok(TokenRequest { at, login, service, scopes, ip: meta.ip_string(), user_agent: meta.user_agent, audience: Audience::Registry })
}

/// The Basic auth user name and secret: `None` without an `Authorization`
/// header or with another scheme; an error when it is oversized, not
/// base64, not UTF-8, without a colon or with control characters.
fn basic_auth(headers: &HeaderMap) -> Result<Option<(String, String)>, &'static str> {
    let Some(value) = headers.get(header::AUTHORIZATION) else { return Ok(None) };
    if value.len() > limits::AUTHORIZATION_BYTES {
        return Err("the Authorization header is too long");
    }
    let value = value.to_str().map_err(|_| "the Authorization header is not ASCII")?;
    let Some((scheme, encoded)) = value.split_once(' ') else { return Ok(None) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| "the Basic credentials are not base64")?;
    let decoded = String::from_utf8(decoded).map_err(|_| "the Basic credentials are not UTF-8")?;
    if decoded.chars().any(is_unsafe) {
        return Err("the Basic credentials hold control characters");
    }
    let (user, secret) = decoded.split_once(':').ok_or("the Basic credentials have no colon")?;
    Ok(Some((user.to_owned(), secret.to_owned())))
}

/// Signs the grant (the token is valid from `request.at`), or sends again
/// the token signed moments ago for exactly this grant (`signing::reuse`).
fn sign_and_respond(svc: &RegistryService, grant: Grant, trail: Trail, request: &TokenRequest) -> (Response, TokenRecord) {
    let now = request.at.timestamp();
    let audience = match request.audience {
        Audience::Gateway => svc.gateway_service.as_deref().unwrap_or(&svc.settings.service),
        Audience::Registry => &svc.settings.service,
    };
    // A token is reused only for the same key and the same audience.
    let kid = format!("{}|{audience}", svc.signer.current().kid);
    let (issued, reused) = match svc.reuse.get(&kid, &grant.subject, &grant.access, now) {
        Some(issued) => (issued, true),
        None => {
            let jti = uuid::Uuid::new_v4().simple().to_string();
            let spec = TokenSpec {
                issuer: &svc.settings.issuer,
                subject: &grant.subject,
                audience,
                issued_at: now,
                ttl_secs: svc.settings.token_ttl_secs as i64,
                jti: &jti,
                access: &grant.access,
            };
            match sign_token(&svc.signer, &spec) {
                Ok(token) => {
                    let issued = Issued { token, jti, issued_at: now };
                    svc.reuse.put(&kid, &grant.subject, &grant.access, issued.clone());
                    (issued, false)
                }
                Err(e) => {
                    tracing::error!(error = %e, "registry token: signing failed");
                    return ((StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response(), trail.refused(INTERNAL_ERROR));
                }
            }
        }
    };
    let ttl = svc.settings.token_ttl_secs as i64;
    let issued_at = chrono::DateTime::from_timestamp(issued.issued_at, 0).unwrap_or(request.at);
    let body = json!({
        "token": issued.token,
        "access_token": issued.token,
        "expires_in": ttl - (now - issued.issued_at),
        "issued_at": issued_at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    let mut record = trail.issued(grant);
    // The token's id (a client's token can be matched to its record), and
    // whether it was sent again rather than signed for this request.
    if let Some(details) = record.details.as_object_mut() {
        details.insert("jti".into(), issued.jti.into());
        if reused {
            details.insert("reused".into(), true.into());
        }
    }
    ((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response(), record)
}

/// 400 for a request that is not a token request (`read_request`).
fn malformed(problem: &'static str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "errors": [{ "code": "BAD_REQUEST", "message": problem }] }))).into_response()
}

/// 429: this network failed too often; `Retry-After` says when to come back.
fn too_many(wait_secs: u64) -> Response {
    (
        StatusCode::TOO_MANY_REQUESTS,
        [(header::RETRY_AFTER, wait_secs.to_string())],
        Json(json!({ "errors": [{ "code": "TOOMANYREQUESTS", "message": format!("too many failed requests from your network: try again in {wait_secs} s") }] })),
    )
        .into_response()
}

fn refused(refusal: &Refusal) -> Response {
    match refusal {
        Refusal::Unauthorized { message, .. } => (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"Portcullis registry\"")],
            Json(json!({ "errors": [{ "code": "UNAUTHORIZED", "message": message }] })),
        )
            .into_response(),
        Refusal::Unavailable => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            Json(json!({ "errors": [{ "code": "UNAVAILABLE", "message": "the portal cannot decide right now; try again" }] })),
        )
            .into_response(),
    }
}
