//! The pull gateway from the environment (`PORTCULLIS_GATEWAY_*`; the
//! README's table lists them). Setting `PORTCULLIS_GATEWAY_UPSTREAM` turns
//! it on: `/v2/` on the portal's own address (or on
//! `PORTCULLIS_GATEWAY_LISTEN`) serves pulls from that registry, deciding
//! each version. `Debug` never shows the upstream password.

use crate::config::{err, ConfigError, Env, Secret};
use url::Url;

pub const DEFAULT_SERVICE: &str = "portcullis-gateway";
pub const DEFAULT_CONCURRENCY: usize = 64;

#[derive(Clone, Debug)]
pub struct GatewayConfig {
    /// The registry the gateway pulls from (`https://registry.example.com`).
    pub upstream: Url,
    /// Its credential (Basic, or for its token service); none: anonymous.
    pub user: Option<String>,
    pub password: Option<Secret>,
    /// The `service` of the gateway's tokens (their audience).
    pub service: String,
    /// Where the gateway listens on its own; `None`: `/v2/` on the portal's address.
    pub listen: Option<std::net::SocketAddr>,
    /// The gateway's address as customers name it (snippets); default: the portal's host.
    pub host: Option<String>,
    /// At most this many requests to the upstream at once.
    pub concurrency: usize,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn gateway(&self) -> Result<Option<GatewayConfig>, ConfigError> {
        let Some(raw) = self.get("PORTCULLIS_GATEWAY_UPSTREAM").filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let upstream = match Url::parse(&raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.username().is_empty() && u.password().is_none() => u,
            _ => return Err(err("PORTCULLIS_GATEWAY_UPSTREAM", format!("expected an http(s) URL without user or password, got {raw:?}"))),
        };
        let user = self.get("PORTCULLIS_GATEWAY_UPSTREAM_USER").filter(|v| !v.is_empty());
        let password = self.get("PORTCULLIS_GATEWAY_UPSTREAM_PASSWORD").filter(|v| !v.is_empty()).map(Secret::new);
        if user.is_some() != password.is_some() {
            return Err(err("PORTCULLIS_GATEWAY_UPSTREAM_PASSWORD", "set both PORTCULLIS_GATEWAY_UPSTREAM_USER and _PASSWORD, or neither"));
        }
        let service = self.get("PORTCULLIS_GATEWAY_SERVICE").filter(|v| !v.is_empty()).unwrap_or_else(|| DEFAULT_SERVICE.into());
        if service.len() > 100 || service.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"') {
            return Err(err("PORTCULLIS_GATEWAY_SERVICE", "expected a short name without spaces or quotes"));
        }
        let listen = match self.get("PORTCULLIS_GATEWAY_LISTEN").filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(v.parse().map_err(|_| err("PORTCULLIS_GATEWAY_LISTEN", format!("expected an address such as 0.0.0.0:5001, got {v:?}")))?),
        };
        let host = self.get("PORTCULLIS_GATEWAY_HOST").filter(|v| !v.is_empty());
        if host.as_ref().is_some_and(|h| h.contains('/') || h.chars().any(char::is_whitespace)) {
            return Err(err("PORTCULLIS_GATEWAY_HOST", "expected a host[:port]"));
        }
        let concurrency = match self.get("PORTCULLIS_GATEWAY_CONCURRENCY") {
            None => DEFAULT_CONCURRENCY,
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=10_000).contains(n))
                .ok_or_else(|| err("PORTCULLIS_GATEWAY_CONCURRENCY", format!("expected 1 to 10000, got {v:?}")))?,
        };
        Ok(Some(GatewayConfig { upstream, user, password, service, listen, host, concurrency }))
    }
}
