//! The Content-Security-Policy of HTML pages. leptos_axum provides a fresh
//! nonce for each render and writes it on the scripts it emits; the policy
//! allows exactly those scripts, our own files, and wasm compilation.

use leptos::{nonce::use_nonce, prelude::use_context};
use leptos_axum::ResponseOptions;

pub fn policy(nonce: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
         form-action 'self'; frame-ancestors 'none'"
    )
}

/// Sets the page's CSP header from the render's nonce. Called by the shell,
/// synchronously, so the header is in place before the response starts.
pub fn provide_nonce_and_policy() {
    if let (Some(nonce), Some(opts)) = (use_nonce(), use_context::<ResponseOptions>()) {
        if let Ok(value) = axum::http::HeaderValue::from_str(&policy(&nonce)) {
            opts.insert_header(axum::http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
}
