//! Login and sign-up throttling with `governor` (GCRA, keyed, in memory):
//! one bucket per client IP and one per account, so neither a single host
//! nor a botnet spraying one account gets unbounded guesses.

use governor::{clock::Clock, clock::DefaultClock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{net::IpAddr, num::NonZeroU32};

pub struct LoginLimiter {
    by_ip: DefaultKeyedRateLimiter<IpAddr>,
    by_account: DefaultKeyedRateLimiter<String>,
}

/// Attempts allowed per minute (the burst is the same number).
#[derive(Clone, Copy, Debug)]
pub struct LoginLimits {
    pub per_ip_per_minute: NonZeroU32,
    pub per_account_per_minute: NonZeroU32,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self {
            per_ip_per_minute: NonZeroU32::new(30).expect("non-zero"),
            per_account_per_minute: NonZeroU32::new(10).expect("non-zero"),
        }
    }
}

impl LoginLimiter {
    pub fn new(limits: LoginLimits) -> Self {
        Self {
            by_ip: RateLimiter::keyed(Quota::per_minute(limits.per_ip_per_minute)),
            by_account: RateLimiter::keyed(Quota::per_minute(limits.per_account_per_minute)),
        }
    }

    /// Takes one attempt from the IP's bucket and, if given, the account's.
    /// On refusal returns the seconds until the next attempt is allowed.
    pub fn check(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), u64> {
        let now = DefaultClock::default().now();
        if let Some(ip) = ip {
            self.by_ip.check_key(&ip).map_err(|n| n.wait_time_from(now).as_secs().max(1))?;
        }
        if let Some(account) = account {
            self.by_account
                .check_key(&account.to_string())
                .map_err(|n| n.wait_time_from(now).as_secs().max(1))?;
        }
        Ok(())
    }

    /// Drops buckets that are full again, bounding memory.
    pub fn prune(&self) {
        self.by_ip.retain_recent();
        self.by_account.retain_recent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_per_account_limit_but_not_other_accounts() {
        let l = LoginLimiter::new(LoginLimits {
            per_ip_per_minute: NonZeroU32::new(100).unwrap(),
            per_account_per_minute: NonZeroU32::new(3).unwrap(),
        });
        let ip = Some("127.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.check(ip, Some("a@example.com")).is_ok());
        }
        let wait = l.check(ip, Some("a@example.com")).unwrap_err();
        assert!((1..=60).contains(&wait));
        assert!(l.check(ip, Some("b@example.com")).is_ok());
    }

    #[test]
    fn refuses_past_the_per_ip_limit_whatever_the_account() {
        let l = LoginLimiter::new(LoginLimits {
            per_ip_per_minute: NonZeroU32::new(2).unwrap(),
            per_account_per_minute: NonZeroU32::new(100).unwrap(),
        });
        let ip = Some("10.0.0.1".parse().unwrap());
        assert!(l.check(ip, Some("a@example.com")).is_ok());
        assert!(l.check(ip, Some("b@example.com")).is_ok());
        assert!(l.check(ip, Some("c@example.com")).is_err());
        assert!(l.check(Some("10.0.0.2".parse().unwrap()), Some("c@example.com")).is_ok());
    }
}
