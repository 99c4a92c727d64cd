//! Stripe and the vendor's billing settings from the environment
//! (`PORTCULLIS_STRIPE_*`, `PORTCULLIS_BILLING_*`; the README's table lists
//! them). Both secrets or neither: half a configuration is an error.

use crate::config::{err, ConfigError, Env, Secret};
use url::Url;

pub const DEFAULT_STRIPE_API_BASE: &str = "https://api.stripe.com/";
pub const DEFAULT_BILLING_GRACE: &str = "7d";
pub const DEFAULT_RECONCILE_EVERY: &str = "1d";

/// Stripe and the vendor's billing settings. `Debug` never shows the secrets.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    pub secret_key: Secret,
    pub webhook_secret: Secret,
    /// Stripe's API (or a stand-in's, in tests).
    pub api_base: String,
    /// How long access continues after a renewal payment fails.
    pub grace: std::time::Duration,
    pub end_access: app::domain::order::EndAccess,
    /// How often the reconciliation re-reads Stripe (it also runs soon after
    /// refused webhook deliveries).
    pub reconcile_every: std::time::Duration,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    /// Both Stripe secrets or neither: half a configuration is an error, not
    /// a portal that sells without granting.
    pub fn stripe(&self) -> Result<Option<StripeConfig>, ConfigError> {
        let key = self.get("PORTCULLIS_STRIPE_SECRET_KEY").filter(|v| !v.is_empty());
        let hook = self.get("PORTCULLIS_STRIPE_WEBHOOK_SECRET").filter(|v| !v.is_empty());
        let (key, hook) = match (key, hook) {
            (None, None) => return Ok(None),
            (Some(k), Some(h)) => (k, h),
            (Some(_), None) => return Err(err("PORTCULLIS_STRIPE_WEBHOOK_SECRET", "not set: the webhook signing secret (whsec_…) is needed with PORTCULLIS_STRIPE_SECRET_KEY")),
            (None, Some(_)) => return Err(err("PORTCULLIS_STRIPE_SECRET_KEY", "not set: the secret API key (sk_… or rk_…) is needed with PORTCULLIS_STRIPE_WEBHOOK_SECRET")),
        };
        if !(key.starts_with("sk_") || key.starts_with("rk_")) || key.chars().any(char::is_whitespace) {
            return Err(err("PORTCULLIS_STRIPE_SECRET_KEY", "expected a secret key starting with sk_ or rk_"));
        }
        if !hook.starts_with("whsec_") || hook.chars().any(char::is_whitespace) {
            return Err(err("PORTCULLIS_STRIPE_WEBHOOK_SECRET", "expected a signing secret starting with whsec_"));
        }
        let api_base = self.get("PORTCULLIS_STRIPE_API_BASE").unwrap_or_else(|| DEFAULT_STRIPE_API_BASE.into());
        match Url::parse(&api_base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => return Err(err("PORTCULLIS_STRIPE_API_BASE", format!("expected an http(s) URL, got {api_base:?}"))),
        }
        let grace_text = self.get("PORTCULLIS_BILLING_GRACE").unwrap_or_else(|| DEFAULT_BILLING_GRACE.into());
        let grace = app::backend::services::billing::parse_duration(&grace_text)
            .ok_or_else(|| err("PORTCULLIS_BILLING_GRACE", format!("expected a duration such as 7d, 36h, 90m or 30s, got {grace_text:?}")))?;
        let end_access = match self.get("PORTCULLIS_BILLING_END_ACCESS") {
            None => app::domain::order::EndAccess::PeriodEnd,
            Some(v) => app::domain::order::EndAccess::parse(&v)
                .ok_or_else(|| err("PORTCULLIS_BILLING_END_ACCESS", format!("expected period_end or immediately, got {v:?}")))?,
        };
        let every_text = self.get("PORTCULLIS_BILLING_RECONCILE_EVERY").unwrap_or_else(|| DEFAULT_RECONCILE_EVERY.into());
        let reconcile_every = app::backend::services::billing::parse_duration(&every_text)
            .filter(|d| d.as_secs() >= 60)
            .ok_or_else(|| err("PORTCULLIS_BILLING_RECONCILE_EVERY", format!("expected a duration of at least 1m such as 1d, 12h or 90m, got {every_text:?}")))?;
        Ok(Some(StripeConfig { secret_key: Secret::new(key), webhook_secret: Secret::new(hook), api_base, grace, end_access, reconcile_every }))
    }

}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::order::EndAccess;
    use std::collections::HashMap;
    use std::time::Duration;

    fn env(pairs: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env(move |k: &str| map.get(k).cloned())
    }

    const KEY: (&str, &str) = ("PORTCULLIS_STRIPE_SECRET_KEY", "sk_test_abc");
    const HOOK: (&str, &str) = ("PORTCULLIS_STRIPE_WEBHOOK_SECRET", "whsec_abc");

    #[test]
    fn stripe_is_off_unless_both_secrets_are_set() {
        assert!(env(&[]).stripe().unwrap().is_none());
        assert_eq!(env(&[KEY]).stripe().unwrap_err().variable, "PORTCULLIS_STRIPE_WEBHOOK_SECRET");
        assert_eq!(env(&[HOOK]).stripe().unwrap_err().variable, "PORTCULLIS_STRIPE_SECRET_KEY");
        let c = env(&[KEY, HOOK]).stripe().unwrap().unwrap();
        assert_eq!((c.api_base.as_str(), c.grace, c.end_access), (DEFAULT_STRIPE_API_BASE, Duration::from_secs(7 * 86_400), EndAccess::PeriodEnd));
        assert!(!format!("{c:?}").contains("sk_test_abc") && !format!("{c:?}").contains("whsec_abc"), "secrets never in Debug");
    }

    #[test]
    fn bad_stripe_values_name_their_variable() {
        let bad = |pair: (&'static str, &'static str)| env(&[KEY, HOOK, pair]).stripe().unwrap_err().variable;
        assert_eq!(bad(("PORTCULLIS_STRIPE_SECRET_KEY", "pk_test_public")), "PORTCULLIS_STRIPE_SECRET_KEY");
        assert_eq!(bad(("PORTCULLIS_STRIPE_WEBHOOK_SECRET", "secret")), "PORTCULLIS_STRIPE_WEBHOOK_SECRET");
        assert_eq!(bad(("PORTCULLIS_STRIPE_API_BASE", "ftp://x")), "PORTCULLIS_STRIPE_API_BASE");
        assert_eq!(bad(("PORTCULLIS_BILLING_GRACE", "a week")), "PORTCULLIS_BILLING_GRACE");
        assert_eq!(bad(("PORTCULLIS_BILLING_END_ACCESS", "never")), "PORTCULLIS_BILLING_END_ACCESS");
        assert_eq!(bad(("PORTCULLIS_BILLING_RECONCILE_EVERY", "30s")), "PORTCULLIS_BILLING_RECONCILE_EVERY");
        assert_eq!(env(&[KEY, HOOK]).stripe().unwrap().unwrap().reconcile_every, Duration::from_secs(86_400));
        let c = env(&[KEY, HOOK, ("PORTCULLIS_BILLING_GRACE", "36h"), ("PORTCULLIS_BILLING_END_ACCESS", "immediately")]).stripe().unwrap().unwrap();
        assert_eq!((c.grace, c.end_access), (Duration::from_secs(36 * 3600), EndAccess::Immediately));
    }
}
