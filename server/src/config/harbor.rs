//! Harbor provisioning from the environment (`PORTCULLIS_HARBOR_*`; the
//! README's table lists them). Setting `PORTCULLIS_HARBOR_URL` turns it on:
//! every pull credential is then a Harbor robot account. The admin user and
//! password are required with it; `Debug` never shows the password.

use crate::config::{err, ConfigError, Env, Secret};
use url::Url;

pub const DEFAULT_ROBOT_PREFIX: &str = "robot$";
pub const DEFAULT_RECONCILE_EVERY: &str = "10m";
pub const DEFAULT_TIMEOUT_SECS: u64 = 10;

#[derive(Clone, Debug)]
pub struct HarborConfig {
    /// Harbor's URL (`https://harbor.example.com`); its API is under `/api/v2.0/`.
    pub url: Url,
    pub user: String,
    pub password: Secret,
    /// Harbor's robot name prefix (its setting `robot_name_prefix`).
    pub prefix: String,
    /// The registry host customers log in to; default: the URL's host and port.
    pub registry_host: String,
    /// How often the reconciler pages through Harbor's robots.
    pub reconcile_every: std::time::Duration,
    /// The time limit of each call to Harbor.
    pub timeout: std::time::Duration,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn harbor(&self) -> Result<Option<HarborConfig>, ConfigError> {
        let Some(raw) = self.get("PORTCULLIS_HARBOR_URL").filter(|v| !v.is_empty()) else {
            return Ok(None);
        };
        let url = match Url::parse(&raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() && u.username().is_empty() && u.password().is_none() => u,
            _ => return Err(err("PORTCULLIS_HARBOR_URL", format!("expected an http(s) URL without user or password, got {raw:?}"))),
        };
        let url = if url.path().ends_with('/') { url } else { Url::parse(&format!("{url}/")).expect("a URL with a slash added") };
        let user = self
            .get("PORTCULLIS_HARBOR_USER")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| err("PORTCULLIS_HARBOR_USER", "not set: a Harbor account that may manage system robots is needed with PORTCULLIS_HARBOR_URL"))?;
        let password = self
            .get("PORTCULLIS_HARBOR_PASSWORD")
            .filter(|v| !v.is_empty())
            .ok_or_else(|| err("PORTCULLIS_HARBOR_PASSWORD", "not set: the password of PORTCULLIS_HARBOR_USER"))?;
        let prefix = self.get("PORTCULLIS_HARBOR_ROBOT_PREFIX").unwrap_or_else(|| DEFAULT_ROBOT_PREFIX.into());
        if prefix.is_empty() || prefix.len() > 32 || prefix.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("PORTCULLIS_HARBOR_ROBOT_PREFIX", "expected Harbor's robot name prefix, e.g. robot$"));
        }
        let default_host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let registry_host = self.get("PORTCULLIS_HARBOR_REGISTRY").filter(|v| !v.is_empty()).unwrap_or(default_host);
        if registry_host.contains('/') || registry_host.chars().any(char::is_whitespace) {
            return Err(err("PORTCULLIS_HARBOR_REGISTRY", format!("expected a host[:port], got {registry_host:?}")));
        }
        let every_text = self.get("PORTCULLIS_HARBOR_RECONCILE_EVERY").unwrap_or_else(|| DEFAULT_RECONCILE_EVERY.into());
        let reconcile_every = app::backend::services::billing::parse_duration(&every_text)
            .filter(|d| d.as_secs() >= 5)
            .ok_or_else(|| err("PORTCULLIS_HARBOR_RECONCILE_EVERY", format!("expected a duration of at least 5s such as 10m, 1h or 30s, got {every_text:?}")))?;
        let timeout = match self.get("PORTCULLIS_HARBOR_TIMEOUT_SECS") {
            None => DEFAULT_TIMEOUT_SECS,
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=300).contains(n))
                .ok_or_else(|| err("PORTCULLIS_HARBOR_TIMEOUT_SECS", format!("expected 1 to 300 seconds, got {v:?}")))?,
        };
        Ok(Some(HarborConfig {
            url,
            user,
            password: Secret::new(password),
            prefix,
            registry_host,
            reconcile_every,
            timeout: std::time::Duration::from_secs(timeout),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env(move |k: &str| map.get(k).cloned())
    }

    #[test]
    fn harbor_is_off_unless_its_url_is_set_and_then_needs_an_account() {
        assert!(env(&[]).harbor().unwrap().is_none());
        let e = env(&[("PORTCULLIS_HARBOR_URL", "https://harbor.example.com")]).harbor().unwrap_err();
        assert_eq!(e.variable, "PORTCULLIS_HARBOR_USER");
        let e = env(&[("PORTCULLIS_HARBOR_URL", "ftp://x"), ("PORTCULLIS_HARBOR_USER", "a"), ("PORTCULLIS_HARBOR_PASSWORD", "b")]).harbor().unwrap_err();
        assert_eq!(e.variable, "PORTCULLIS_HARBOR_URL");
        let c = env(&[
            ("PORTCULLIS_HARBOR_URL", "https://harbor.example.com:8443"),
            ("PORTCULLIS_HARBOR_USER", "admin"),
            ("PORTCULLIS_HARBOR_PASSWORD", "Harbor12345"),
        ])
        .harbor()
        .unwrap()
        .unwrap();
        assert_eq!(c.registry_host, "harbor.example.com:8443");
        assert_eq!(c.prefix, "robot$");
        assert_eq!(c.reconcile_every.as_secs(), 600);
        assert!(!format!("{c:?}").contains("Harbor12345"), "the password never shows");
        let e = env(&[
            ("PORTCULLIS_HARBOR_URL", "https://h.example.com"),
            ("PORTCULLIS_HARBOR_USER", "admin"),
            ("PORTCULLIS_HARBOR_PASSWORD", "x"),
            ("PORTCULLIS_HARBOR_RECONCILE_EVERY", "1s"),
        ])
        .harbor()
        .unwrap_err();
        assert_eq!(e.variable, "PORTCULLIS_HARBOR_RECONCILE_EVERY");
    }
}
