//! Billing configuration: the Stripe client and the vendor's lifecycle
//! settings (grace period, when access ends on cancellation).

use crate::domain::order::EndAccess;
use std::fmt;
use std::time::Duration;

/// The vendor's settings for the subscription lifecycle.
#[derive(Clone, Debug)]
pub struct BillingSettings {
    /// How long access continues after a renewal payment fails.
    pub grace: Duration,
    pub end_access: EndAccess,
    /// The portal's public base URL (for Checkout's success and cancel URLs).
    pub public_base: url::Url,
}

/// A configured Stripe account: the API client, the webhook signing secret
/// and the lifecycle settings. `Debug` never shows the secrets.
pub struct Billing {
    pub client: stripe::Client,
    pub(crate) webhook_secret: String,
    pub settings: BillingSettings,
}

impl fmt::Debug for Billing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Billing").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Billing {
    /// `api_base` is Stripe's (`https://api.stripe.com/`) or a stand-in's.
    pub fn new(secret_key: &str, webhook_secret: &str, api_base: &str, settings: BillingSettings) -> Result<Self, String> {
        let mut base = api_base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let client = stripe::ClientBuilder::new(secret_key).url(base).build().map_err(|e| format!("stripe client: {e}"))?;
        Ok(Self { client, webhook_secret: webhook_secret.to_owned(), settings })
    }
}

/// Parses a grace period: `7d`, `36h`, `90m`, `30s` (a bare number is days;
/// at most 366 days).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => (&s[..i], &s[i..]),
        None => (s, "d"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "d" => n.checked_mul(86_400)?,
        "h" => n.checked_mul(3_600)?,
        "m" => n.checked_mul(60)?,
        "s" => n,
        _ => return None,
    };
    // A year at most: longer is a typo, and keeps every date sum in range.
    (secs <= 366 * 86_400).then(|| Duration::from_secs(secs))
}

/// A grace period in words: "7 days", "36 hours", "20 seconds".
pub fn describe_duration(d: Duration) -> String {
    let s = d.as_secs();
    let (n, unit) = match s {
        _ if s >= 86_400 && s % 86_400 == 0 => (s / 86_400, "day"),
        _ if s >= 3_600 && s % 3_600 == 0 => (s / 3_600, "hour"),
        _ if s >= 60 && s % 60 == 0 => (s / 60, "minute"),
        _ => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_periods_parse() {
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(parse_duration("36h"), Some(Duration::from_secs(36 * 3_600)));
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3 * 86_400)));
        assert_eq!(parse_duration("3w"), None);
        assert_eq!(parse_duration(""), None);
        assert_eq!(parse_duration("-1d"), None);
        assert_eq!(parse_duration("100000000d"), None);
        assert_eq!(describe_duration(Duration::from_secs(7 * 86_400)), "7 days");
        assert_eq!(describe_duration(Duration::from_secs(3_600)), "1 hour");
        assert_eq!(describe_duration(Duration::from_secs(20)), "20 seconds");
    }
}
