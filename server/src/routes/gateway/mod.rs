//! The pull gateway's HTTP side: the pull half of the OCI distribution API
//! (`/v2/`, manifests and blobs by tag and digest with GET and HEAD,
//! `tags/list`, the OCI 1.1 referrers API) in front of an upstream registry
//! (`upstream.rs`), with the registry token dance: without a token the
//! client is sent to the portal's `/registry/token` with the gateway's
//! `service`, whose tokens (ES256, the gateway's audience) it verifies here.
//! Each manifest, blob and tag list is decided by
//! `app::backend::services::gateway` (versions) and audited before the
//! answer leaves; pushes are refused (vendors push upstream). Blobs stream
//! with backpressure and are never held whole; an upstream redirect to
//! object storage goes to the client.

pub mod download;
pub mod upstream;

use crate::config::gateway::GatewayConfig;
use crate::signing::jwt::{verify_token, Verified};
use crate::signing::keys::ActiveSigner;
use app::backend::services::gateway::{self as decide, Decision, GatewayError, Puller};
use app::backend::services::registry::Decider;
use app::backend::web::RequestMeta;
use app::domain::catalogue::valid_repository_name;
use app::domain::release::{references, tag_subject, valid_digest, valid_tag};
use axum::{
    body::Body,
    extract::{ConnectInfo, Path, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    routing::any,
    Router,
};
use chrono::Utc;
use futures::StreamExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::{net::SocketAddr, sync::Arc};
use upstream::{Upstream, UpstreamError};

/// The largest manifest, tag list or referrers index read (4 MiB, as
/// Distribution's own manifest limit).
const DOCUMENT_MAX: usize = 4 * 1024 * 1024;
/// At most this many tags of one list are resolved to digests by asking the upstream.
const TAG_LOOKUPS: usize = 1_000;
/// Manifest types a client that sends no `Accept` gets.
const MANIFEST_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

pub struct Gateway {
    pub upstream: Upstream,
    /// The tokens' audience.
    pub service: String,
    /// Where clients get tokens: the portal's `/registry/token`.
    pub realm: String,
    pub signer: Arc<ActiveSigner>,
    pub versions: decide::Versions,
    pub client_ip_header: Option<String>,
    registry: Arc<crate::routes::registry::RegistryService>,
}

impl Gateway {
    pub fn new(
        config: &GatewayConfig,
        base_url: &str,
        versions: decide::Versions,
        registry: Arc<crate::routes::registry::RegistryService>,
        client_ip_header: Option<String>,
    ) -> Arc<Self> {
        Arc::new(Self {
            upstream: Upstream::new(config),
            service: config.service.clone(),
            realm: format!("{}/registry/token", base_url.trim_end_matches('/')),
            signer: registry.signer.clone(),
            versions,
            client_ip_header,
            registry,
        })
    }

    fn decider(&self) -> &Decider {
        &self.registry.services.tokens
    }
}

/// `/v2/` and everything under it.
pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new().route("/v2/", any(root)).route("/v2", any(root)).route("/v2/{*rest}", any(v2)).with_state(gateway)
}

/// An OCI error answer.
fn oci(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({ "errors": [{ "code": code, "message": message, "detail": null }] });
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
    res
}

/// 401 sending the client to the token service (for `scope`, if known).
fn challenge(gw: &Gateway, scope: Option<&str>, why: Option<&str>) -> Response {
    let mut value = format!(r#"Bearer realm="{}",service="{}""#, gw.realm, gw.service);
    if let Some(s) = scope {
        value.push_str(&format!(r#",scope="{s}""#));
    }
    if why.is_some() {
        value.push_str(r#",error="invalid_token""#);
    }
    let mut res = oci(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", why.unwrap_or("authentication required: log in with a Portcullis registry credential"));
    if let Ok(v) = HeaderValue::from_str(&value) {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    res
}

/// The verified token of the request, if any (an invalid one is an error).
fn token(gw: &Gateway, headers: &HeaderMap) -> Option<Result<Verified, &'static str>> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let t = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?;
    Some(verify_token(&gw.signer, t.trim(), &gw.service, Utc::now().timestamp()))
}

async fn root(State(gw): State<Arc<Gateway>>, headers: HeaderMap) -> Response {
    match token(&gw, &headers) {
        Some(Ok(_)) => {
            let mut res = (StatusCode::OK, axum::Json(json!({}))).into_response();
            res.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
            res
        }
        Some(Err(why)) => challenge(&gw, None, Some(why)),
        None => challenge(&gw, None, None),
    }
}

/// What a path under `/v2/` asks for.
#[derive(Debug, PartialEq, Eq)]
enum Route<'a> {
    Manifest { name: &'a str, reference: &'a str },
    Blob { name: &'a str, digest: &'a str },
    Tags { name: &'a str },
    Referrers { name: &'a str, digest: &'a str },
}

fn route(rest: &str) -> Option<Route<'_>> {
    if let Some(name) = rest.strip_suffix("/tags/list") {
        return Some(Route::Tags { name });
    }
    for (marker, kind) in [("/manifests/", 0), ("/blobs/", 1), ("/referrers/", 2)] {
        if let Some(at) = rest.rfind(marker) {
            let (name, reference) = (&rest[..at], &rest[at + marker.len()..]);
            if reference.is_empty() || reference.contains('/') {
                return None;
            }
            return Some(match kind {
                0 => Route::Manifest { name, reference },
                1 => Route::Blob { name, digest: reference },
                _ => Route::Referrers { name, digest: reference },
            });
        }
    }
    None
}

async fn v2(
    State(gw): State<Arc<Gateway>>,
    method: Method,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(rest): Path<String>,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return oci(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", "the pull gateway serves pulls only: vendors push to their registry");
    }
    if rest == "_catalog" {
        return oci(StatusCode::FORBIDDEN, "DENIED", "listing the catalog is not offered");
    }
    let Some(route) = route(&rest) else {
        return oci(StatusCode::NOT_FOUND, "NAME_UNKNOWN", "not a path of the distribution API");
    };
    let name = match &route {
        Route::Manifest { name, .. } | Route::Blob { name, .. } | Route::Tags { name } | Route::Referrers { name, .. } => *name,
    };
    if !valid_repository_name(name) {
        return oci(StatusCode::BAD_REQUEST, "NAME_INVALID", "not a valid repository name");
    }
    let scope = format!("repository:{name}:pull");
    let claims = match token(&gw, &headers) {
        Some(Ok(c)) if c.grants(name, "pull") => c,
        Some(Ok(_)) => return challenge(&gw, Some(&scope), None),
        Some(Err(why)) => return challenge(&gw, Some(&scope), Some(why)),
        None => return challenge(&gw, Some(&scope), None),
    };
    let meta = RequestMeta::from_parts(&headers, Some(peer), gw.client_ip_header.as_deref());
    let now = Utc::now();
    let who = match Puller::of(gw.decider(), &claims.sub, name, now).await {
        Ok(p) => p,
        Err(GatewayError::Denied { message, .. }) => return challenge(&gw, Some(&scope), Some(&message)),
        Err(GatewayError::Db(e)) => return unavailable(e),
    };
    let head = method == Method::HEAD;
    let result = match route {
        Route::Manifest { reference, .. } => manifest(&gw, &who, name, reference, &scope, &headers, head, &meta).await,
        Route::Blob { digest, .. } => blob(&gw, &who, name, digest, &scope, &headers, head, &meta).await,
        Route::Tags { .. } => tags(&gw, &who, name, &scope, &meta).await,
        Route::Referrers { digest, .. } => referrers(&gw, &who, name, digest, &scope, &headers, &meta).await,
    };
    result.unwrap_or_else(|e| e)
}

fn unavailable(e: sqlx::Error) -> Response {
    tracing::error!(error = %e, "gateway: database error");
    let mut res = oci(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", "the portal cannot decide right now: try again");
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

fn upstream_failed(e: UpstreamError) -> Response {
    tracing::warn!(error = %e, "gateway: upstream");
    let mut res = oci(StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE", &e.to_string());
    res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    res
}

/// The upstream's refusal or absence, passed on in its words.
async fn passed_on(res: reqwest::Response) -> Response {
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let status = if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        // The gateway's own credential was refused: not the client's fault.
        tracing::error!(%status, "gateway: the upstream refused the gateway's credential");
        return oci(StatusCode::BAD_GATEWAY, "UNAVAILABLE", "the upstream registry refused the gateway: tell the vendor");
    } else {
        status
    };
    let body = read_bounded(res, 64 * 1024).await.unwrap_or_default();
    let mut out = Response::new(Body::from(body));
    *out.status_mut() = status;
    out.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    out
}

/// The body, refused past `max` bytes.
async fn read_bounded(res: reqwest::Response, max: usize) -> Result<Vec<u8>, &'static str> {
    if res.content_length().is_some_and(|n| n as usize > max) {
        return Err("the upstream's answer is too large");
    }
    let mut out = Vec::new();
    let mut stream = res.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| "the upstream's answer broke off")?;
        if out.len() + chunk.len() > max {
            return Err("the upstream's answer is too large");
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn header_str<'a>(headers: &'a HeaderMap, name: header::HeaderName) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).filter(|v| v.len() <= 1024)
}

/// Records the decision (before the answer leaves) and turns a refusal into 403.
async fn decided(gw: &Gateway, who: &Puller, d: Decision<'_>, meta: &RequestMeta) -> Result<(), Response> {
    gw.versions.record(who, &d, meta, Utc::now()).await.map_err(unavailable)?;
    match &d.outcome {
        Ok(()) => Ok(()),
        Err((_, message)) => Err(oci(StatusCode::FORBIDDEN, "DENIED", message)),
    }
}

/// A verdict as the audit record takes it; the database failing is 503.
fn judged(verdict: Result<(), GatewayError>) -> Result<Result<(), (&'static str, String)>, Response> {
    match verdict {
        Ok(()) => Ok(Ok(())),
        Err(GatewayError::Denied { code, message }) => Ok(Err((code, message))),
        Err(GatewayError::Db(e)) => Err(unavailable(e)),
    }
}

/// A manifest by tag or digest: read from the upstream (small, bounded),
/// its digest and references kept, its release decided.
#[allow(clippy::too_many_arguments)]
async fn manifest(
    gw: &Gateway,
    who: &Puller,
    name: &str,
    reference: &str,
    scope: &str,
    headers: &HeaderMap,
    head: bool,
    meta: &RequestMeta,
) -> Result<Response, Response> {
    let by_digest = valid_digest(reference);
    if !by_digest && !valid_tag(reference) {
        return Err(oci(StatusCode::BAD_REQUEST, "MANIFEST_INVALID", "not a tag or a digest"));
    }
    let accept = header_str(headers, header::ACCEPT).unwrap_or(MANIFEST_TYPES);
    let path = format!("/v2/{name}/manifests/{reference}");
    let answer = gw.upstream.send(Method::GET, &path, scope, Some(accept), None).await.map_err(upstream_failed)?;
    if !answer.response.status().is_success() {
        return Err(passed_on(answer.response).await);
    }
    let content_type = answer.response.headers().get(header::CONTENT_TYPE).cloned();
    let body = read_bounded(answer.response, DOCUMENT_MAX).await.map_err(|m| oci(StatusCode::BAD_GATEWAY, "UNAVAILABLE", m))?;
    drop(answer.permit);
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    if by_digest && reference != digest && reference.starts_with("sha256:") {
        return Err(oci(StatusCode::BAD_GATEWAY, "UNAVAILABLE", "the upstream answered another manifest than the digest asked for"));
    }
    let now = Utc::now();
    let tag = (!by_digest).then_some(reference);
    gw.versions.released_at(name, &digest, tag, now).await.map_err(unavailable)?;
    if let Ok(refs) = references(&body) {
        gw.versions.remember(name, &digest, &refs).await.map_err(unavailable)?;
    }
    // A signature, attestation or SBOM tag follows what it is about (kept
    // as its subject, so its blobs follow too).
    let subject = tag.and_then(tag_subject);
    if let Some(s) = &subject {
        let refs = app::domain::release::References { subject: Some(s.clone()), ..Default::default() };
        gw.versions.remember(name, &digest, &refs).await.map_err(unavailable)?;
    }
    let what = if by_digest { format!("{name}@{reference}") } else { format!("{name}:{reference}") };
    let outcome = judged(gw.versions.manifest(who, name, subject.as_deref().unwrap_or(&digest), &what, now).await)?;
    let action = if head { "gateway.check" } else { "gateway.pull" };
    decided(gw, who, Decision { action, repository: name, reference, digest: Some(&digest), outcome }, meta).await?;
    let len = body.len();
    let mut res = Response::new(if head { Body::empty() } else { Body::from(body) });
    let h = res.headers_mut();
    if let Some(ct) = content_type {
        h.insert(header::CONTENT_TYPE, ct);
    }
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&digest) {
        h.insert("docker-content-digest", v.clone());
        h.insert(header::ETAG, v);
    }
    h.insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
    Ok(res)
}

/// A blob, when an allowed manifest refers to it: streamed from the
/// upstream (ranges passed on), or the upstream's redirect passed on.
#[allow(clippy::too_many_arguments)]
async fn blob(
    gw: &Gateway,
    who: &Puller,
    name: &str,
    digest: &str,
    scope: &str,
    headers: &HeaderMap,
    head: bool,
    meta: &RequestMeta,
) -> Result<Response, Response> {
    if !valid_digest(digest) {
        return Err(oci(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "not a digest"));
    }
    if let Err(refusal) = judged(gw.versions.blob(who, name, digest, Utc::now()).await)? {
        // Only refused blobs are recorded: an allowed one follows its manifest's pull.
        let d = Decision { action: "gateway.blob", repository: name, reference: digest, digest: Some(digest), outcome: Err(refusal) };
        decided(gw, who, d, meta).await?;
    }
    let method = if head { Method::HEAD } else { Method::GET };
    let range = header_str(headers, header::RANGE);
    let path = format!("/v2/{name}/blobs/{digest}");
    let answer = gw.upstream.send(method, &path, scope, None, range).await.map_err(upstream_failed)?;
    let status = answer.response.status();
    if status.is_redirection() {
        let location = answer.response.headers().get(header::LOCATION).cloned();
        let mut res = Response::new(Body::empty());
        *res.status_mut() = StatusCode::TEMPORARY_REDIRECT;
        if let Some(l) = location {
            res.headers_mut().insert(header::LOCATION, l);
        }
        return Ok(res);
    }
    if !status.is_success() {
        return Err(passed_on(answer.response).await);
    }
    let mut res = Response::new(Body::empty());
    *res.status_mut() = StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::OK);
    for name in [header::CONTENT_TYPE, header::CONTENT_LENGTH, header::CONTENT_RANGE, header::ACCEPT_RANGES, header::ETAG] {
        if let Some(v) = answer.response.headers().get(&name) {
            res.headers_mut().insert(name, v.clone());
        }
    }
    if let Ok(v) = HeaderValue::from_str(digest) {
        res.headers_mut().insert("docker-content-digest", v);
    }
    if !head {
        // The permit goes with the stream: released when the body ends.
        let permit = answer.permit;
        let stream = answer.response.bytes_stream().map(move |chunk| {
            let _held = &permit;
            chunk
        });
        *res.body_mut() = Body::from_stream(stream);
    }
    Ok(res)
}

/// The tag list, filtered to the versions `who` may pull.
async fn tags(gw: &Gateway, who: &Puller, name: &str, scope: &str, meta: &RequestMeta) -> Result<Response, Response> {
    let answer = gw.upstream.send(Method::GET, &format!("/v2/{name}/tags/list"), scope, None, None).await.map_err(upstream_failed)?;
    if !answer.response.status().is_success() {
        return Err(passed_on(answer.response).await);
    }
    let body = read_bounded(answer.response, DOCUMENT_MAX).await.map_err(|m| oci(StatusCode::BAD_GATEWAY, "UNAVAILABLE", m))?;
    drop(answer.permit);
    let listed: Vec<String> = serde_json::from_slice::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v["tags"].as_array().map(|t| t.iter().filter_map(|x| x.as_str()).filter(|t| valid_tag(t)).map(str::to_owned).collect()))
        .unwrap_or_default();
    let now = Utc::now();
    // Each tag's digest: from the push notifications, else from the upstream.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut lookups = 0;
    for tag in listed {
        if let Some(subject) = tag_subject(&tag) {
            pairs.push((tag, subject));
            continue;
        }
        let known = gw.versions.tag_digest(name, &tag).await.map_err(unavailable)?;
        let digest = match known {
            Some(d) => Some(d),
            None if lookups < TAG_LOOKUPS => {
                lookups += 1;
                head_digest(gw, name, &tag, scope).await
            }
            None => None,
        };
        if let Some(d) = digest {
            pairs.push((tag, d));
        }
    }
    let visible = gw.versions.visible(who, name, &pairs, now).await.map_err(unavailable)?;
    let count = visible.len().to_string();
    decided(gw, who, Decision { action: "gateway.tags", repository: name, reference: &count, digest: None, outcome: Ok(()) }, meta).await?;
    let mut res = (StatusCode::OK, axum::Json(json!({ "name": name, "tags": visible }))).into_response();
    res.headers_mut().insert("docker-distribution-api-version", HeaderValue::from_static("registry/2.0"));
    Ok(res)
}

/// A tag's digest as the upstream says it now.
async fn head_digest(gw: &Gateway, name: &str, tag: &str, scope: &str) -> Option<String> {
    let answer = gw.upstream.send(Method::HEAD, &format!("/v2/{name}/manifests/{tag}"), scope, Some(MANIFEST_TYPES), None).await.ok()?;
    let d = answer.response.headers().get("docker-content-digest")?.to_str().ok()?.to_owned();
    valid_digest(&d).then_some(d)
}

/// The OCI 1.1 referrers of an allowed manifest (all of them: what is about
/// a version one may pull may be pulled too); an upstream without the API
/// answers 404 and clients fall back to the tag schema.
async fn referrers(gw: &Gateway, who: &Puller, name: &str, digest: &str, scope: &str, headers: &HeaderMap, meta: &RequestMeta) -> Result<Response, Response> {
    if !valid_digest(digest) {
        return Err(oci(StatusCode::BAD_REQUEST, "DIGEST_INVALID", "not a digest"));
    }
    let what = format!("{name}@{digest}");
    let outcome = judged(gw.versions.manifest(who, name, digest, &what, Utc::now()).await)?;
    decided(gw, who, Decision { action: "gateway.referrers", repository: name, reference: digest, digest: Some(digest), outcome }, meta).await?;
    let accept = header_str(headers, header::ACCEPT);
    let answer = gw.upstream.send(Method::GET, &format!("/v2/{name}/referrers/{digest}"), scope, accept, None).await.map_err(upstream_failed)?;
    if !answer.response.status().is_success() {
        return Err(passed_on(answer.response).await);
    }
    let content_type = answer.response.headers().get(header::CONTENT_TYPE).cloned();
    let body = read_bounded(answer.response, DOCUMENT_MAX).await.map_err(|m| oci(StatusCode::BAD_GATEWAY, "UNAVAILABLE", m))?;
    // Each referrer is about `digest`: kept, so it may be pulled by digest.
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) {
        for m in v["manifests"].as_array().into_iter().flatten().take(1_000) {
            if let Some(r) = m["digest"].as_str().filter(|d| valid_digest(d)) {
                let refs = app::domain::release::References { subject: Some(digest.to_owned()), ..Default::default() };
                gw.versions.remember(name, r, &refs).await.map_err(unavailable)?;
            }
        }
    }
    let mut res = Response::new(Body::from(body));
    if let Some(ct) = content_type {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::{route, Route};

    #[test]
    fn paths_name_their_repository_from_the_end() {
        assert_eq!(route("acme/widget/manifests/1.0"), Some(Route::Manifest { name: "acme/widget", reference: "1.0" }));
        assert_eq!(route("a/manifests/b/manifests/2"), Some(Route::Manifest { name: "a/manifests/b", reference: "2" }));
        assert_eq!(route("acme/widget/blobs/sha256:ab"), Some(Route::Blob { name: "acme/widget", digest: "sha256:ab" }));
        assert_eq!(route("acme/widget/tags/list"), Some(Route::Tags { name: "acme/widget" }));
        assert_eq!(route("acme/widget/referrers/sha256:ab"), Some(Route::Referrers { name: "acme/widget", digest: "sha256:ab" }));
        assert_eq!(route("acme/widget/blobs/uploads/"), None);
        assert_eq!(route("acme/widget"), None);
    }
}
