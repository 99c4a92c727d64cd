//! `GET /registry/token`: Docker Registry v2 token authentication as
//! Distribution 2.8 speaks it, the HTTP part: Basic auth and the query are
//! read into a `TokenRequest`, `services::registry::Decider` decides (who is
//! asking, what each scope gets; see there for the rules), and the answer is
//! signed (`crate::signing::jwt`) and sent: 200 with the token, 401 with the
//! reason in words (the client prints it), 503 when the portal cannot decide.
//! Every request is queued for the audit log, however it was answered.

use crate::routes::registry::RegistryService;
use crate::signing::jwt::{sign_token, TokenSpec};
use app::backend::services::registry::{Grant, Refusal, TokenRecord, TokenRequest, Trail, INTERNAL_ERROR};
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

pub async fn token(
    State(svc): State<Arc<RegistryService>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let request = read_request(&svc, peer, &headers, query.as_deref().unwrap_or_default());
    let (answer, trail) = svc.services.tokens.decide(&request, &svc.settings.service).await;
    let (response, record) = match answer {
        Ok(grant) => sign_and_respond(&svc, grant, trail, &request),
        Err(refusal) => (refused(&refusal), trail.refused(refusal.reason())),
    };
    svc.services.audit.push(record).await;
    response
}

/// The request as the decision takes it: the Basic auth login, the
/// `service` and every `scope` (each may hold several, space-separated).
fn read_request(svc: &RegistryService, peer: SocketAddr, headers: &HeaderMap, query: &str) -> TokenRequest {
    let meta = RequestMeta::from_parts(headers, Some(peer), svc.client_ip_header.as_deref());
    let mut service = None;
    let mut scopes = Vec::new();
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "service" => service = Some(v.into_owned()),
            "scope" => scopes.extend(v.split(' ').filter(|s| !s.is_empty()).map(str::to_owned)),
            _ => {}
        }
    }
    TokenRequest { at: Utc::now(), login: basic_auth(headers), service, scopes, ip: meta.ip_string(), user_agent: meta.user_agent }
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

/// Signs the grant; the token is valid from `request.at`.
fn sign_and_respond(svc: &RegistryService, grant: Grant, trail: Trail, request: &TokenRequest) -> (Response, TokenRecord) {
    let jti = uuid::Uuid::new_v4().simple().to_string();
    let signed = sign_token(
        &svc.signer,
        &TokenSpec {
            issuer: &svc.settings.issuer,
            subject: &grant.subject,
            audience: &svc.settings.service,
            issued_at: request.at.timestamp(),
            ttl_secs: svc.settings.token_ttl_secs as i64,
            jti: &jti,
            access: &grant.access,
        },
    );
    let token = match signed {
        Ok(token) => token,
        Err(e) => {
            tracing::error!(error = %e, "registry token: signing failed");
            return ((StatusCode::INTERNAL_SERVER_ERROR, "signing failed").into_response(), trail.refused(INTERNAL_ERROR));
        }
    };
    let body = json!({
        "token": token,
        "access_token": token,
        "expires_in": svc.settings.token_ttl_secs,
        "issued_at": request.at.to_rfc3339_opts(SecondsFormat::Secs, true),
    });
    ((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")], Json(body)).into_response(), trail.issued(grant))
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
            Json(json!({ "errors": [{ "code": "UNAVAILABLE", "message": "the portal cannot decide right now; try again" }] })),
        )
            .into_response(),
    }
}
