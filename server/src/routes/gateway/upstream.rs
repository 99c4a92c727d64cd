//! The gateway's side of the upstream registry: requests with the upstream
//! credential (Basic, or a bearer token from the upstream's token service,
//! cached per scope until shortly before it expires), at most
//! `PORTCULLIS_GATEWAY_CONCURRENCY` at once (a permit travels with a
//! streamed body until it ends), redirects never followed (a blob's
//! redirect to object storage goes to the client).

use crate::config::gateway::GatewayConfig;
use base64::{engine::general_purpose::STANDARD, Engine};
use reqwest::{header, Method, StatusCode};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for a permit before the client gets 503.
const PERMIT_WAIT: Duration = Duration::from_secs(30);
/// At most this many cached upstream tokens (one per repository and action).
const TOKENS_MAX: usize = 10_000;

pub struct Upstream {
    base: String,
    client: reqwest::Client,
    basic: Option<String>,
    tokens: Mutex<HashMap<String, (String, Instant)>>,
    permits: Arc<Semaphore>,
}

#[derive(Debug)]
pub enum UpstreamError {
    /// Every permit is taken (the client may try again).
    Busy,
    /// The upstream could not be reached or answered nonsense.
    Unreachable(String),
}

impl std::fmt::Display for UpstreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Busy => f.write_str("the upstream registry is busy"),
            Self::Unreachable(e) => write!(f, "the upstream registry is unreachable: {e}"),
        }
    }
}

/// An upstream answer and the permit it holds.
pub struct Answer {
    pub response: reqwest::Response,
    pub permit: OwnedSemaphorePermit,
}

impl Upstream {
    pub fn new(config: &GatewayConfig) -> Self {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .read_timeout(Duration::from_secs(60))
            .user_agent(concat!("portcullis-gateway/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the gateway's HTTP client builds");
        let basic = match (&config.user, &config.password) {
            (Some(u), Some(p)) => Some(format!("Basic {}", STANDARD.encode(format!("{u}:{}", p.expose())))),
            _ => None,
        };
        Self {
            base: config.upstream.as_str().trim_end_matches('/').to_owned(),
            client,
            basic,
            tokens: Mutex::new(HashMap::new()),
            permits: Arc::new(Semaphore::new(config.concurrency)),
        }
    }

    /// `method` on `path` (from `/v2/…`), authorised for `scope`
    /// (`repository:acme/widget:pull`), with the client's `Accept` and `Range`.
    pub async fn send(&self, method: Method, path: &str, scope: &str, accept: Option<&str>, range: Option<&str>) -> Result<Answer, UpstreamError> {
        let permit = tokio::time::timeout(PERMIT_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| UpstreamError::Busy)?
            .map_err(|_| UpstreamError::Busy)?;
        let url = format!("{}{path}", self.base);
        let cached = self.cached(scope);
        let first = self.request(&method, &url, accept, range, cached.as_deref().or(self.basic.as_deref())).await?;
        if first.status() != StatusCode::UNAUTHORIZED {
            return Ok(Answer { response: first, permit });
        }
        let challenge = first.headers().get(header::WWW_AUTHENTICATE).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let auth = if challenge.to_ascii_lowercase().starts_with("bearer") {
            match self.token(&challenge, scope).await? {
                Some(t) => t,
                None => return Ok(Answer { response: first, permit }),
            }
        } else if let Some(b) = &self.basic {
            b.clone()
        } else {
            return Ok(Answer { response: first, permit });
        };
        let response = self.request(&method, &url, accept, range, Some(&auth)).await?;
        Ok(Answer { response, permit })
    }

    async fn request(&self, method: &Method, url: &str, accept: Option<&str>, range: Option<&str>, auth: Option<&str>) -> Result<reqwest::Response, UpstreamError> {
        let mut req = self.client.request(method.clone(), url);
        if let Some(a) = accept {
            req = req.header(header::ACCEPT, a);
        }
        if let Some(r) = range {
            req = req.header(header::RANGE, r);
        }
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        req.send().await.map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))
    }

    fn cached(&self, scope: &str) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(scope).filter(|(_, until)| *until > Instant::now()).map(|(t, _)| t.clone())
    }

    /// A token from the upstream's token service for `scope`, as the
    /// challenge names it (realm, service), with the upstream credential.
    async fn token(&self, challenge: &str, scope: &str) -> Result<Option<String>, UpstreamError> {
        let params = challenge_params(challenge);
        let Some(realm) = params.get("realm") else { return Ok(None) };
        let mut req = self.client.get(realm).query(&[("scope", scope)]);
        if let Some(service) = params.get("service") {
            req = req.query(&[("service", service.as_str())]);
        }
        if let Some(b) = &self.basic {
            req = req.header(header::AUTHORIZATION, b);
        }
        let res = req.send().await.map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?;
        if !res.status().is_success() {
            return Ok(None);
        }
        let body: serde_json::Value = res.json().await.map_err(|e| UpstreamError::Unreachable(e.without_url().to_string()))?;
        let Some(token) = body["token"].as_str().or(body["access_token"].as_str()).map(str::to_owned) else { return Ok(None) };
        let ttl = body["expires_in"].as_u64().unwrap_or(60).clamp(10, 3600);
        let bearer = format!("Bearer {token}");
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if tokens.len() >= TOKENS_MAX {
            let now = Instant::now();
            tokens.retain(|_, (_, until)| *until > now);
        }
        if tokens.len() < TOKENS_MAX {
            tokens.insert(scope.to_owned(), (bearer.clone(), Instant::now() + Duration::from_secs(ttl - 5)));
        }
        Ok(Some(bearer))
    }
}

/// `Bearer realm="…",service="…",scope="…"` → its parameters.
fn challenge_params(challenge: &str) -> HashMap<String, String> {
    let rest = challenge.split_once(' ').map_or("", |(_, r)| r);
    let mut out = HashMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        let key: String = chars.by_ref().skip_while(|c| *c == ',' || c.is_whitespace()).take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let value: String = if chars.peek() == Some(&'"') {
            chars.next();
            chars.by_ref().take_while(|c| *c != '"').collect()
        } else {
            chars.by_ref().take_while(|c| *c != ',').collect()
        };
        out.insert(key.trim().to_ascii_lowercase(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn challenges_parse() {
        let p = super::challenge_params(r#"Bearer realm="http://127.0.0.1:9/registry/token",service="portcullis-registry",scope="repository:acme/widget:pull""#);
        assert_eq!(p["realm"], "http://127.0.0.1:9/registry/token");
        assert_eq!(p["service"], "portcullis-registry");
        assert_eq!(p["scope"], "repository:acme/widget:pull");
        assert!(super::challenge_params("Basic").is_empty());
    }
}
