//! Configuration from environment variables (and a `.env` file, loaded by
//! `main`). Every problem is reported as one line naming the variable.
//! The table in README.md lists every variable; keep the two in step.

pub mod edge;
pub mod fleet;
pub mod gateway;
pub mod harbor;
pub mod mail;
pub mod stripe;

pub use edge::EdgeConfig;
pub use fleet::FleetConfig;
pub use mail::MailConfig;

use app::backend::web::ratelimit::LoginLimits;
use std::{fmt, net::SocketAddr, num::NonZeroU32};
use url::Url;

pub use crate::config::stripe::StripeConfig;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/portcullis.db";
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
pub(crate) const MIN_SECRET_CHARS: usize = 32;

/// A bad or missing setting: which variable, and what is wrong with it.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

pub(crate) fn err(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

/// The session-signing secret. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Settings every command needs.
#[derive(Clone)]
pub struct DbConfig {
    pub database_url: String,
}

impl DbConfig {
    /// The URL with any password replaced, for logs.
    pub fn redacted_url(&self) -> String {
        match Url::parse(&self.database_url) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("redacted"));
                url.to_string()
            }
            _ => self.database_url.clone(),
        }
    }
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbConfig").field("database_url", &self.redacted_url()).finish()
    }
}

/// Settings for `serve`.
#[derive(Clone, Debug)]
pub struct Config {
    pub db: DbConfig,
    /// Where to listen (`LEPTOS_SITE_ADDR`).
    pub site_addr: SocketAddr,
    /// The URL users reach the portal at; `None` = `http://` + the bound address.
    pub base_url: Option<Url>,
    pub session_secret: Secret,
    /// Demo mode: seed demo accounts and print their passwords.
    pub demo: bool,
    pub client_ip_header: Option<String>,
    pub login_limits: LoginLimits,
    pub registry: RegistryConfig,
    /// Stripe (`PORTCULLIS_STRIPE_*`, `PORTCULLIS_BILLING_*`, see `config_stripe`); `None` = not set up.
    pub stripe: Option<StripeConfig>,
    /// Harbor provisioning (`PORTCULLIS_HARBOR_*`, `harbor.rs`); `None` = the token service decides.
    pub harbor: Option<harbor::HarborConfig>,
    /// The pull gateway (`PORTCULLIS_GATEWAY_*`, `gateway.rs`); `None` = off.
    pub gateway: Option<gateway::GatewayConfig>,
    /// The time limit of each audit read (`PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS`).
    pub audit_query_timeout: std::time::Duration,
    /// Connection limits, timeouts and the bounds on unauthenticated callers (`edge.rs`).
    pub edge: EdgeConfig,
    /// The metrics secret and the retention job (`fleet.rs`).
    pub fleet: FleetConfig,
    /// The SMTP server, the sender, the limits on mails visitors trigger (`mail.rs`).
    pub mail: MailConfig,
    /// Which roles must sign in with a second factor (`PORTCULLIS_REQUIRE_TWO_FACTOR`).
    pub two_factor: app::domain::two_factor::TwoFactorPolicy,
}

pub const DEFAULT_REGISTRY_KEY_DIR: &str = "data/registry-keys";
pub const DEFAULT_REGISTRY_SERVICE: &str = "portcullis-registry";
pub const DEFAULT_REGISTRY_ISSUER: &str = "portcullis";
pub const DEFAULT_REGISTRY_HOST: &str = "127.0.0.1:5000";
pub const DEFAULT_REGISTRY_TOKEN_TTL_SECS: u64 = 300;
pub const DEFAULT_REGISTRY_CACHE_MS: u64 = 250;

/// The registry token service's settings (`PORTCULLIS_REGISTRY_*`).
#[derive(Clone, Debug)]
pub struct RegistryConfig {
    /// A key folder of an earlier version, imported into the database at the first start.
    pub key_dir: std::path::PathBuf,
    /// What the signing keys are sealed with (`PORTCULLIS_KEY_ENCRYPTION_KEY`, see `signing::kek`).
    pub keks: crate::signing::kek::Keks,
    /// The registry's `auth.token.service`: the tokens' `aud`.
    pub service: String,
    /// The registry's `auth.token.issuer`: the tokens' `iss`.
    pub issuer: String,
    /// The registry's address as clients name it (snippets, demo).
    pub host: String,
    /// Lifetime of issued tokens.
    pub token_ttl_secs: u64,
    /// The shared secret of `/registry/events`; `None` = the one kept in the key dir.
    pub events_secret: Option<Secret>,
    /// How long the token service may trust its cache without re-reading the
    /// access epoch, when this process has written nothing (changes by other
    /// processes or replicas show within this bound).
    pub cache_max_age_ms: u64,
}

impl RegistryConfig {
    /// The defaults (the built-in key-encryption key), with `key_dir` (tests use a temp dir).
    pub fn with_key_dir(key_dir: impl Into<std::path::PathBuf>) -> Self {
        Self {
            key_dir: key_dir.into(),
            keks: crate::signing::kek::Keks::builtin(),
            service: DEFAULT_REGISTRY_SERVICE.into(),
            issuer: DEFAULT_REGISTRY_ISSUER.into(),
            host: DEFAULT_REGISTRY_HOST.into(),
            token_ttl_secs: DEFAULT_REGISTRY_TOKEN_TTL_SECS,
            events_secret: None,
            cache_max_age_ms: DEFAULT_REGISTRY_CACHE_MS,
        }
    }
}

/// Looks variables up through `get`, so tests need not touch the process env.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub(crate) fn get(&self, key: &str) -> Option<String> {
        (self.0)(key).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    fn flag(&self, key: &'static str) -> Result<Option<bool>, ConfigError> {
        match self.get(key).map(|v| v.to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(Some(true)),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(Some(false)),
            Some(v) => Err(err(key, format!("expected true or false, got {v:?}"))),
        }
    }

    fn per_minute(&self, key: &'static str, default: NonZeroU32) -> Result<NonZeroU32, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<NonZeroU32>()
                .map_err(|_| err(key, format!("expected a whole number of attempts per minute ≥ 1, got {v:?}"))),
        }
    }

    pub fn registry(&self) -> Result<RegistryConfig, ConfigError> {
        let mut r = RegistryConfig::with_key_dir(
            self.get("PORTCULLIS_REGISTRY_KEY_DIR").unwrap_or_else(|| DEFAULT_REGISTRY_KEY_DIR.into()),
        );
        r.keks = crate::signing::kek::Keks::from_env(|k| self.get(k))?;
        let plain = |v: &str| !v.is_empty() && v.len() <= 200 && v.chars().all(|c| c.is_ascii_graphic());
        if let Some(v) = self.get("PORTCULLIS_REGISTRY_SERVICE") {
            if !plain(&v) {
                return Err(err("PORTCULLIS_REGISTRY_SERVICE", "printable ASCII without spaces, at most 200 characters"));
            }
            r.service = v;
        }
        if let Some(v) = self.get("PORTCULLIS_REGISTRY_ISSUER") {
            if !plain(&v) {
                return Err(err("PORTCULLIS_REGISTRY_ISSUER", "printable ASCII without spaces, at most 200 characters"));
            }
            r.issuer = v;
        }
        if let Some(v) = self.get("PORTCULLIS_REGISTRY_HOST") {
            if !plain(&v) || v.contains('/') {
                return Err(err("PORTCULLIS_REGISTRY_HOST", format!("expected a host[:port] such as registry.example.com, got {v:?}")));
            }
            r.host = v;
        }
        if let Some(v) = self.get("PORTCULLIS_REGISTRY_TOKEN_TTL") {
            r.token_ttl_secs = match v.parse::<u64>() {
                Ok(n) if (30..=3600).contains(&n) => n,
                _ => return Err(err("PORTCULLIS_REGISTRY_TOKEN_TTL", format!("expected seconds between 30 and 3600, got {v:?}"))),
            };
        }
        if let Some(v) = self.get("PORTCULLIS_REGISTRY_CACHE_MS") {
            r.cache_max_age_ms = match v.parse::<u64>() {
                Ok(n) if n <= 60_000 => n,
                _ => return Err(err("PORTCULLIS_REGISTRY_CACHE_MS", format!("expected milliseconds from 0 to 60000, got {v:?}"))),
            };
        }
        if let Some(v) = self.get("PORTCULLIS_REGISTRY_EVENTS_SECRET") {
            if v.chars().count() < MIN_SECRET_CHARS || !plain(&v) {
                return Err(err(
                    "PORTCULLIS_REGISTRY_EVENTS_SECRET",
                    format!("at least {MIN_SECRET_CHARS} printable characters without spaces"),
                ));
            }
            r.events_secret = Some(Secret(v));
        }
        Ok(r)
    }

    /// `PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS`: 1 ms to 10 minutes.
    pub fn audit_query_timeout(&self) -> Result<std::time::Duration, ConfigError> {
        const KEY: &str = "PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS";
        match self.get(KEY) {
            None => Ok(app::backend::db::audit::DEFAULT_QUERY_TIMEOUT),
            Some(v) => match v.parse::<u64>() {
                Ok(ms) if (1..=600_000).contains(&ms) => Ok(std::time::Duration::from_millis(ms)),
                _ => Err(err(KEY, format!("expected milliseconds from 1 to 600000, got {v:?}"))),
            },
        }
    }

    pub fn db(&self) -> Result<DbConfig, ConfigError> {
        let database_url = self.get("PORTCULLIS_DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        app::backend::db::backend_of(&database_url).map_err(|m| err("PORTCULLIS_DATABASE_URL", m))?;
        Ok(DbConfig { database_url })
    }

    /// `demo_flag` is the `--demo` command-line switch; the variable can also set it.
    pub fn serve(&self, demo_flag: bool) -> Result<Config, ConfigError> {
        let demo = demo_flag || self.flag("PORTCULLIS_DEMO")?.unwrap_or(false);
        let site_addr = self.get("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_SITE_ADDR.into());
        let site_addr: SocketAddr = site_addr
            .parse()
            .map_err(|_| err("LEPTOS_SITE_ADDR", format!("expected IP:PORT such as 127.0.0.1:3000, got {site_addr:?}")))?;
        let base_url = match self.get("PORTCULLIS_BASE_URL") {
            None => None,
            Some(v) => {
                let url = Url::parse(&v).map_err(|e| err("PORTCULLIS_BASE_URL", format!("not a URL ({e}): {v:?}")))?;
                if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
                    return Err(err("PORTCULLIS_BASE_URL", "must be an http:// or https:// URL with a host"));
                }
                Some(url)
            }
        };
        let session_secret = match self.get("PORTCULLIS_SESSION_SECRET") {
            Some(s) if s.chars().count() >= MIN_SECRET_CHARS => Secret(s),
            Some(_) => {
                return Err(err("PORTCULLIS_SESSION_SECRET", format!("must be at least {MIN_SECRET_CHARS} characters")))
            }
            // Demo mode only: a random secret (sessions end at restart).
            None if demo => Secret(app::backend::web::session::random_token(64)),
            None => {
                return Err(err(
                    "PORTCULLIS_SESSION_SECRET",
                    format!("not set: give at least {MIN_SECRET_CHARS} random characters (e.g. `openssl rand -hex 32`), or run with --demo"),
                ))
            }
        };
        let client_ip_header = self.get("PORTCULLIS_CLIENT_IP_HEADER");
        if let Some(h) = &client_ip_header {
            axum::http::HeaderName::from_bytes(h.as_bytes())
                .map_err(|_| err("PORTCULLIS_CLIENT_IP_HEADER", format!("not a header name: {h:?}")))?;
        }
        let defaults = LoginLimits::default();
        let login_limits = LoginLimits {
            per_ip_per_minute: self.per_minute("PORTCULLIS_LOGIN_LIMIT_PER_IP", defaults.per_ip_per_minute)?,
            per_account_per_minute: self
                .per_minute("PORTCULLIS_LOGIN_LIMIT_PER_ACCOUNT", defaults.per_account_per_minute)?,
        };
        Ok(Config {
            db: self.db()?,
            site_addr,
            base_url,
            session_secret,
            demo,
            client_ip_header,
            login_limits,
            registry: self.registry()?,
            stripe: self.stripe()?,
            harbor: self.harbor()?,
            gateway: self.gateway()?,
            audit_query_timeout: self.audit_query_timeout()?,
            edge: self.edge()?,
            fleet: self.fleet()?,
            mail: self.mail()?,
            two_factor: self.two_factor(demo)?,
        })
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// `PORTCULLIS_REQUIRE_TWO_FACTOR`: `admin,auditor` (the default outside
    /// demo mode), a subset, or `none` (the default in demo mode).
    fn two_factor(&self, demo: bool) -> Result<app::domain::two_factor::TwoFactorPolicy, ConfigError> {
        use app::domain::two_factor::TwoFactorPolicy;
        let Some(v) = self.get("PORTCULLIS_REQUIRE_TWO_FACTOR") else {
            return Ok(if demo { TwoFactorPolicy::none() } else { TwoFactorPolicy::staff() });
        };
        if v.eq_ignore_ascii_case("none") {
            return Ok(TwoFactorPolicy::none());
        }
        let mut required = Vec::new();
        for r in v.split(',').map(str::trim) {
            let role: app::domain::Role = r.parse().map_err(|e| err("PORTCULLIS_REQUIRE_TWO_FACTOR", format!("{e} (or none)")))?;
            if !required.contains(&role) {
                required.push(role);
            }
        }
        Ok(TwoFactorPolicy { required })
    }
}

/// The process environment.
pub fn process_env() -> Env<impl Fn(&str) -> Option<String>> {
    Env(|k: &str| std::env::var(k).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env(move |k: &str| map.get(k).cloned())
    }

    const SECRET: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_apply_when_nothing_but_the_secret_is_set() {
        let c = env(&[("PORTCULLIS_SESSION_SECRET", SECRET)]).serve(false).unwrap();
        assert_eq!(c.db.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.site_addr.to_string(), DEFAULT_SITE_ADDR);
        assert!(c.base_url.is_none());
        assert!(!c.demo);
        assert_eq!(c.audit_query_timeout, std::time::Duration::from_secs(2));
    }

    #[test]
    fn a_missing_secret_outside_demo_mode_names_the_variable() {
        let e = env(&[]).serve(false).unwrap_err();
        assert_eq!(e.variable, "PORTCULLIS_SESSION_SECRET");
        let e = env(&[("PORTCULLIS_SESSION_SECRET", "short")]).serve(false).unwrap_err();
        assert_eq!(e.variable, "PORTCULLIS_SESSION_SECRET");
        assert!(env(&[]).serve(true).is_ok(), "demo mode makes its own secret");
        assert!(env(&[("PORTCULLIS_DEMO", "yes")]).serve(false).unwrap().demo);
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let cases: &[(&str, &str)] = &[
            ("PORTCULLIS_DATABASE_URL", "mysql://x"),
            ("LEPTOS_SITE_ADDR", "localhost"),
            ("PORTCULLIS_BASE_URL", "not a url"),
            ("PORTCULLIS_BASE_URL", "ftp://example.com"),
            ("PORTCULLIS_DEMO", "maybe"),
            ("PORTCULLIS_LOGIN_LIMIT_PER_IP", "0"),
            ("PORTCULLIS_LOGIN_LIMIT_PER_ACCOUNT", "ten"),
            ("PORTCULLIS_CLIENT_IP_HEADER", "bad header"),
            ("PORTCULLIS_REGISTRY_HOST", "https://registry.example.com/"),
            ("PORTCULLIS_REGISTRY_TOKEN_TTL", "5"),
            ("PORTCULLIS_REGISTRY_EVENTS_SECRET", "short"),
            ("PORTCULLIS_REGISTRY_SERVICE", "has space"),
            ("PORTCULLIS_REGISTRY_CACHE_MS", "soon"),
            ("PORTCULLIS_KEY_ENCRYPTION_KEY", "not32bytes"),
            ("PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS", "abcd"),
            ("PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS", "0"),
            ("PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS", "2s"),
            ("PORTCULLIS_MAX_CONNECTIONS", "0"),
            ("PORTCULLIS_HEADER_TIMEOUT_SECS", "forever"),
            ("PORTCULLIS_BODY_TIMEOUT_SECS", "0"),
            ("PORTCULLIS_REGISTRY_TOKEN_FAILURES_PER_MINUTE", "-1"),
            ("PORTCULLIS_AUDIT_ATTEMPT_WINDOW_SECS", "86400"),
            ("PORTCULLIS_METRICS_TOKEN", "short"),
        ];
        for (var, value) in cases {
            let e = env(&[("PORTCULLIS_SESSION_SECRET", SECRET), (var, value)]).serve(false).unwrap_err();
            assert_eq!(&e.variable, var, "{value}");
            assert!(e.to_string().starts_with(var));
        }
    }

    #[test]
    fn retention_needs_both_variables_and_whole_days() {
        let with = |pairs: &[(&str, &str)]| {
            let mut all = vec![("PORTCULLIS_SESSION_SECRET", SECRET)];
            all.extend_from_slice(pairs);
            env(&all).serve(false)
        };
        assert_eq!(with(&[("PORTCULLIS_AUDIT_RETENTION_DAYS", "30")]).unwrap_err().variable, "PORTCULLIS_AUDIT_ARCHIVE_DIR");
        assert_eq!(with(&[("PORTCULLIS_AUDIT_ARCHIVE_DIR", "/a")]).unwrap_err().variable, "PORTCULLIS_AUDIT_RETENTION_DAYS");
        let bad = with(&[("PORTCULLIS_AUDIT_RETENTION_DAYS", "0"), ("PORTCULLIS_AUDIT_ARCHIVE_DIR", "/a")]);
        assert_eq!(bad.unwrap_err().variable, "PORTCULLIS_AUDIT_RETENTION_DAYS");
        let ok = with(&[("PORTCULLIS_AUDIT_RETENTION_DAYS", "30"), ("PORTCULLIS_AUDIT_ARCHIVE_DIR", "/a")]).unwrap();
        assert_eq!(ok.fleet.retention, Some((30, "/a".into())));
        assert!(with(&[]).unwrap().fleet.retention.is_none());
    }

    #[test]
    fn a_postgres_url_is_accepted_and_the_secret_is_redacted() {
        let c = env(&[
            ("PORTCULLIS_SESSION_SECRET", SECRET),
            ("PORTCULLIS_DATABASE_URL", "postgres://u:p@127.0.0.1/db"),
            ("PORTCULLIS_BASE_URL", "https://portal.example.com"),
        ])
        .serve(false)
        .unwrap();
        assert_eq!(c.base_url.as_ref().unwrap().scheme(), "https");
        assert!(!format!("{:?}", c.session_secret).contains("0123"));
        let debug = format!("{c:?}");
        assert!(!debug.contains("0123") && !debug.contains(":p@"), "{debug}");
    }
}
