//! `GET /account/download?repository=acme/widget&reference=1.0`: a version
//! as an OCI archive (`.tar`: `skopeo copy oci-archive:…`, `podman load`)
//! for a signed-in member whose organisation may pull it (the gateway's
//! version rule), audited as `gateway.download` before a byte leaves. The
//! archive is laid out from the manifest (`domain::oci_archive`), so its
//! length is known, byte ranges are served (a broken download resumes with
//! `Range`), and each blob streams from the upstream into its place.

use super::{judged, oci, unavailable, upstream_failed, Gateway, MANIFEST_TYPES};
use app::backend::services::gateway::{Decision, Puller};
use app::backend::web::AppState;
use app::domain::catalogue::valid_repository_name;
use app::domain::oci_archive::{parse_range, Entry, Layout, Piece};
use app::domain::release::{valid_digest, valid_tag};
use axum::{
    body::{Body, Bytes},
    extract::State,
    http::{header, HeaderValue, Method, StatusCode},
    response::{IntoResponse, Response},
    Extension,
};
use chrono::Utc;
use futures::{stream, StreamExt};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::sync::Arc;

#[derive(Deserialize)]
struct Query {
    repository: String,
    reference: String,
}

/// Where an entry's bytes come from.
#[derive(Clone)]
enum Source {
    Inline(Bytes),
    Blob(String),
    Nothing,
}

const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

pub async fn download(State(st): State<AppState>, Extension(gw): Extension<Arc<Gateway>>, req: axum::extract::Request) -> Response {
    let (parts, _) = req.into_parts();
    // Authorised first: the query is read for members only.
    let (user, m, meta) = match crate::routes::pulls_export::signed_in_member(&st, &parts).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    let query = parts.uri.query().unwrap_or_default();
    let q: Query = match (query.len() <= 1024).then(|| serde_urlencoded::from_str(query).ok()).flatten() {
        Some(q) => q,
        None => return (StatusCode::BAD_REQUEST, "expected ?repository=…&reference=… (a tag or a digest)").into_response(),
    };
    if !valid_repository_name(&q.repository) || !(valid_tag(&q.reference) || valid_digest(&q.reference)) {
        return (StatusCode::BAD_REQUEST, "not a repository and a tag or digest").into_response();
    }
    let who = match Puller::member(&gw.registry.services.tokens, user.id, &user.email, m.organisation_id, &q.repository).await {
        Ok(p) => p,
        Err(e) => return unavailable(e),
    };
    let (name, reference) = (q.repository.as_str(), q.reference.as_str());
    let scope = format!("repository:{name}:pull");
    // The manifest: read, kept, decided and audited before anything is sent.
    let answer = match gw.upstream.send(Method::GET, &format!("/v2/{name}/manifests/{reference}"), &scope, Some(MANIFEST_TYPES), None).await {
        Ok(a) => a,
        Err(e) => return upstream_failed(e),
    };
    if !answer.response.status().is_success() {
        return oci(StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN", &format!("{name}:{reference} is not in the registry"));
    }
    let media_type = answer.response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = match super::read_bounded(answer.response, super::DOCUMENT_MAX).await {
        Ok(b) => b,
        Err(m) => return oci(StatusCode::BAD_GATEWAY, "UNAVAILABLE", m),
    };
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    let manifest: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    if manifest.get("manifests").is_some() {
        return (StatusCode::UNPROCESSABLE_ENTITY, "this version is a multi-platform index: download one platform's manifest by its digest").into_response();
    }
    let now = Utc::now();
    let tag = valid_tag(reference).then_some(reference);
    if let Err(e) = gw.versions.released_at(name, &digest, tag, now).await {
        return unavailable(e);
    }
    if let Ok(refs) = app::domain::release::references(&body) {
        if let Err(e) = gw.versions.remember(name, &digest, &refs).await {
            return unavailable(e);
        }
    }
    let what = if tag.is_some() { format!("{name}:{reference}") } else { format!("{name}@{reference}") };
    let outcome = match judged(gw.versions.manifest(&who, name, &digest, &what, now).await) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let range_header = parts.headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let decision = Decision { action: "gateway.download", repository: name, reference, digest: Some(&digest), outcome };
    if let Err(r) = super::decided(&gw, &who, decision, &meta).await {
        return r;
    }

    // The layout: oci-layout, index.json, the directories, the manifest, its blobs.
    let hex_of = |d: &str| d.split_once(':').map(|(_, h)| h.to_owned()).unwrap_or_default();
    let mut blobs: Vec<(String, u64)> = Vec::new();
    for d in std::iter::once(&manifest["config"]).chain(manifest["layers"].as_array().into_iter().flatten()) {
        if let (Some(dg), Some(size)) = (d["digest"].as_str().filter(|d| valid_digest(d) && d.starts_with("sha256:")), d["size"].as_u64()) {
            if !blobs.iter().any(|(b, _)| b == dg) {
                blobs.push((dg.to_owned(), size));
            }
        }
    }
    let mut descriptor = serde_json::json!({ "mediaType": if media_type.is_empty() { "application/vnd.oci.image.manifest.v1+json" } else { media_type.as_str() }, "digest": digest, "size": body.len() });
    if let Some(t) = tag {
        descriptor["annotations"] = serde_json::json!({ "org.opencontainers.image.ref.name": t });
    }
    let index = serde_json::to_vec(&serde_json::json!({ "schemaVersion": 2, "manifests": [descriptor] })).unwrap_or_default();
    let mut entries = vec![Entry::file("oci-layout", OCI_LAYOUT.len() as u64), Entry::file("index.json", index.len() as u64), Entry::dir("blobs/"), Entry::dir("blobs/sha256/")];
    let mut sources = vec![Source::Inline(Bytes::from_static(OCI_LAYOUT)), Source::Inline(Bytes::from(index)), Source::Nothing, Source::Nothing];
    entries.push(Entry::file(format!("blobs/sha256/{}", hex_of(&digest)), body.len() as u64));
    sources.push(Source::Inline(Bytes::from(body)));
    for (d, size) in &blobs {
        entries.push(Entry::file(format!("blobs/sha256/{}", hex_of(d)), *size));
        sources.push(Source::Blob(d.clone()));
    }
    let layout = match Layout::new(entries) {
        Ok(l) => Arc::new(l),
        Err(e) => return (StatusCode::BAD_GATEWAY, e).into_response(),
    };
    let total = layout.total();
    let etag = format!("\"{digest}\"");
    // A range only while the version is the same (`If-Range`).
    let if_range_ok = parts.headers.get(header::IF_RANGE).is_none_or(|v| v.to_str().is_ok_and(|v| v == etag));
    let (status, start, end) = match range_header.as_deref().filter(|_| if_range_ok).and_then(|h| parse_range(h, total)) {
        None => (StatusCode::OK, 0, total),
        Some(Ok((a, b))) => (StatusCode::PARTIAL_CONTENT, a, b),
        Some(Err(())) => {
            let mut res = (StatusCode::RANGE_NOT_SATISFIABLE, "the range lies outside the archive").into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("bytes */{total}")) {
                res.headers_mut().insert(header::CONTENT_RANGE, v);
            }
            return res;
        }
    };
    let pieces = layout.pieces(start, end);
    let (gw2, layout2, sources) = (gw.clone(), layout.clone(), Arc::new(sources));
    let repository = name.to_owned();
    let bytes = stream::iter(pieces)
        .map(move |p| piece(gw2.clone(), layout2.clone(), sources.clone(), repository.clone(), p))
        .flatten();
    let mut res = Response::new(Body::from_stream(bytes));
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-tar"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&digest) {
        h.insert("docker-content-digest", v);
    }
    let file = format!("{}-{}.tar", name.replace('/', "_"), if tag.is_some() { reference.to_owned() } else { hex_of(&digest)[..12].to_owned() });
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{}/{total}", end - 1)) {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    res
}

type Chunks = futures::stream::BoxStream<'static, Result<Bytes, std::io::Error>>;

fn broken(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The bytes of one piece: a header, zeros, inline data, or a blob's range
/// streamed from the upstream (its redirect to object storage followed).
fn piece(gw: Arc<Gateway>, layout: Arc<Layout>, sources: Arc<Vec<Source>>, repository: String, p: Piece) -> Chunks {
    match p {
        Piece::Header { index, from, to } => {
            let h = layout.header(index);
            stream::once(async move { Ok(Bytes::copy_from_slice(&h[from as usize..to as usize])) }).boxed()
        }
        Piece::Zeros(n) => stream::once(async move { Ok(Bytes::from(vec![0u8; n as usize])) }).boxed(),
        Piece::Data { index, from, to } => match sources.get(index).cloned() {
            Some(Source::Inline(b)) => stream::once(async move { Ok(b.slice(from as usize..to as usize)) }).boxed(),
            Some(Source::Blob(digest)) => stream::once(async move {
                let range = format!("bytes={from}-{}", to - 1);
                let scope = format!("repository:{repository}:pull");
                let answer = gw.upstream.send(Method::GET, &format!("/v2/{repository}/blobs/{digest}"), &scope, None, Some(&range)).await.map_err(broken)?;
                let (response, permit) = (answer.response, answer.permit);
                let response = if response.status().is_redirection() {
                    let location = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok()).ok_or_else(|| broken("a redirect without a location"))?;
                    reqwest::Client::new().get(location).header(header::RANGE, &range).send().await.map_err(broken)?
                } else {
                    response
                };
                let whole = response.status() == reqwest::StatusCode::OK;
                if !(response.status() == reqwest::StatusCode::PARTIAL_CONTENT || (whole && from == 0)) {
                    return Err(broken(format!("the upstream answered {} for a blob range", response.status())));
                }
                // An upstream that ignores the range sends the whole blob: cut it.
                let wanted = to - from;
                let mut sent = 0u64;
                let chunks = response.bytes_stream().map(move |c| {
                    let _held = &permit;
                    c.map_err(broken)
                });
                Ok::<_, std::io::Error>(
                    chunks
                        .map(move |c| {
                            c.map(|b| {
                                let left = wanted.saturating_sub(sent);
                                let b = if (b.len() as u64) > left { b.slice(..left as usize) } else { b };
                                sent += b.len() as u64;
                                b
                            })
                        })
                        .boxed(),
                )
            })
            .map(|r: Result<Chunks, std::io::Error>| match r {
                Ok(s) => s,
                Err(e) => stream::once(async move { Err(e) }).boxed(),
            })
            .flatten()
            .boxed(),
            Some(Source::Nothing) | None => stream::empty().boxed(),
        },
    }
}
