//! What the portal grants anyone who can reach it, before it knows who they
//! are (`PORTCULLIS_MAX_CONNECTIONS`, `PORTCULLIS_HEADER_TIMEOUT_SECS`,
//! `PORTCULLIS_BODY_TIMEOUT_SECS`, `PORTCULLIS_REGISTRY_TOKEN_FAILURES_PER_MINUTE`,
//! `PORTCULLIS_AUDIT_ATTEMPT_WINDOW_SECS`); see `crate::listener` and
//! `app::backend::services::audit::attempts`.

use super::{err, ConfigError, Env};
use std::{num::NonZeroU32, time::Duration};

#[derive(Clone, Debug)]
pub struct EdgeConfig {
    /// Connections served at once; past it the listener stops accepting
    /// (the kernel's backlog queues the rest).
    pub max_connections: usize,
    /// A request's head (line and headers) must arrive within this, and an
    /// idle kept-alive connection is closed after it.
    pub header_timeout: Duration,
    /// A request's body must arrive within this.
    pub body_timeout: Duration,
    /// Failed registry token requests per client network and minute before
    /// the network is refused (429) until the minute ends.
    pub token_failures_per_minute: NonZeroU32,
    /// How long one count of unauthenticated attempts runs before it is
    /// written as one audit row.
    pub attempt_window: Duration,
}

impl Default for EdgeConfig {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            token_failures_per_minute: NonZeroU32::new(60).expect("non-zero"),
            attempt_window: Duration::from_secs(60),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn bounded(&self, key: &'static str, range: std::ops::RangeInclusive<u64>, unit: &str) -> Result<Option<u64>, ConfigError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => match v.parse::<u64>() {
                Ok(n) if range.contains(&n) => Ok(Some(n)),
                _ => Err(err(key, format!("expected {unit} from {} to {}, got {v:?}", range.start(), range.end()))),
            },
        }
    }

    pub fn edge(&self) -> Result<EdgeConfig, ConfigError> {
        let mut e = EdgeConfig::default();
        if let Some(n) = self.bounded("PORTCULLIS_MAX_CONNECTIONS", 1..=1_000_000, "connections")? {
            e.max_connections = n as usize;
        }
        if let Some(n) = self.bounded("PORTCULLIS_HEADER_TIMEOUT_SECS", 1..=300, "seconds")? {
            e.header_timeout = Duration::from_secs(n);
        }
        if let Some(n) = self.bounded("PORTCULLIS_BODY_TIMEOUT_SECS", 1..=3600, "seconds")? {
            e.body_timeout = Duration::from_secs(n);
        }
        if let Some(n) = self.bounded("PORTCULLIS_REGISTRY_TOKEN_FAILURES_PER_MINUTE", 1..=1_000_000, "failures")? {
            e.token_failures_per_minute = NonZeroU32::new(n as u32).expect("at least 1");
        }
        if let Some(n) = self.bounded("PORTCULLIS_AUDIT_ATTEMPT_WINDOW_SECS", 1..=3600, "seconds")? {
            e.attempt_window = Duration::from_secs(n);
        }
        Ok(e)
    }
}
