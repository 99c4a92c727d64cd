//! HTTP-level protections that apply to every route: security headers, the
//! cross-site request check, and a panic catcher that answers with the
//! request id instead of a dropped connection.

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Method, StatusCode},
    middleware::Next,
    response::{Html, IntoResponse, Response},
};
use futures::FutureExt;
use std::{panic::AssertUnwindSafe, sync::Arc};

/// The policy for responses that set none of their own (the HTML shell sets
/// one with a per-request script nonce, see `app::shell`).
const DEFAULT_CSP: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.entry(header::CONTENT_SECURITY_POLICY).or_insert(HeaderValue::from_static(DEFAULT_CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("strict-origin-when-cross-origin"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    h.insert("permissions-policy", HeaderValue::from_static("camera=(), microphone=(), geolocation=()"));
    res
}

/// The origins a state-changing request may come from.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    /// `scheme://host[:port]` of the public base URL.
    pub public_origin: String,
}

/// Refuses cross-site state-changing requests (CSRF), on top of the
/// SameSite=Lax session cookie. A browser always sends `Origin` on a POST;
/// it must be the portal's own origin (the public base URL, or the Host the
/// request was sent to). Requests without `Origin` and without
/// `Sec-Fetch-Site: cross-site` are not from a browser page and pass.
pub async fn same_origin_writes(State(policy): State<Arc<OriginPolicy>>, req: Request, next: Next) -> Response {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) || is_cross_site_allowed(&req) {
        return next.run(req).await;
    }
    if origin_ok(req.headers(), &policy.public_origin) {
        next.run(req).await
    } else {
        tracing::warn!(path = %req.uri().path(), "refused a cross-site write");
        (StatusCode::FORBIDDEN, "cross-site request refused").into_response()
    }
}

/// Machine-to-machine routes authenticated by headers, never by cookies.
fn is_cross_site_allowed(req: &Request) -> bool {
    let path = req.uri().path();
    path.starts_with("/api/v1/") || path.starts_with("/registry/") || path.starts_with("/stripe/")
}

fn origin_ok(headers: &HeaderMap, public_origin: &str) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match get("origin") {
        Some(origin) => {
            origin == public_origin
                || get("host").is_some_and(|host| {
                    origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://")) == Some(host)
                })
        }
        None => get("sec-fetch-site") != Some("cross-site"),
    }
}

/// Turns a panic in a handler into the 500 page with the request id.
/// Every request body is at most `MAX_BODY` bytes (server functions, the
/// REST API, webhooks, notifications): a larger `Content-Length` is answered
/// 413 before anything reads the body (in the REST API's JSON error shape
/// under its prefix); a body that streams past it fails the read (axum's
/// extractors answer 413, server functions 400).
pub async fn bounded_bodies(req: Request, next: Next) -> Response {
    use crate::startup::MAX_BODY;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY as u64) {
        if req.uri().path().starts_with(crate::routes::rest::PREFIX) {
            return crate::routes::rest::error::ApiError::PayloadTooLarge.into_response();
        }
        return (StatusCode::PAYLOAD_TOO_LARGE, format!("the body is larger than {MAX_BODY} bytes")).into_response();
    }
    next.run(req.map(|body| axum::body::Body::new(http_body_util::Limited::new(body, MAX_BODY)))).await
}

pub async fn catch_panic(req: Request, next: Next) -> Response {
    let request_id = app::backend::web::request::request_id_of(req.headers());
    match AssertUnwindSafe(next.run(req)).catch_unwind().await {
        Ok(res) => res,
        Err(_) => {
            tracing::error!(request_id = %request_id, "handler panicked");
            internal_error_page(&request_id)
        }
    }
}

/// A minimal, dependency-free 500 page (the app itself may be what failed),
/// unstyled: it goes out under the default CSP (`security_headers` wraps
/// the panic catcher), which allows no inline style.
pub fn internal_error_page(request_id: &str) -> Response {
    let id: String = request_id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '-').collect();
    let body = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Something went wrong · Portcullis</title></head>\
         <body>\
         <h1>Something went wrong</h1><p>The problem is on our side, not yours. If it keeps happening, \
         tell support this request id:</p><p><code data-testid=\"request-id\">{id}</code></p><p><a href=\"/\">Back to the start page</a></p></body></html>"
    );
    let mut res = (StatusCode::INTERNAL_SERVER_ERROR, Html(body)).into_response();
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}


#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn same_origin_passes_and_foreign_origin_fails() {
        let public = "https://portal.example.com";
        assert!(origin_ok(&headers(&[("origin", "https://portal.example.com")]), public));
        assert!(origin_ok(&headers(&[("origin", "http://127.0.0.1:3000"), ("host", "127.0.0.1:3000")]), public));
        assert!(!origin_ok(&headers(&[("origin", "https://evil.example"), ("host", "portal.example.com")]), public));
        assert!(!origin_ok(&headers(&[("origin", "null")]), public));
    }

    #[test]
    fn no_origin_passes_unless_the_browser_says_cross_site() {
        let public = "https://portal.example.com";
        assert!(origin_ok(&headers(&[]), public));
        assert!(!origin_ok(&headers(&[("sec-fetch-site", "cross-site")]), public));
    }
}
