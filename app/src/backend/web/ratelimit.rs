//! Throttling, in memory, per process (issue 13 moves it to the database):
//! - log-in and sign-up with `governor` (GCRA, keyed): one bucket per client
//!   network and one per account, so neither a single host nor a botnet
//!   spraying one account gets unbounded guesses;
//! - `FailureLimiter`: failed registry token requests per client network
//!   and minute; a network past its limit is refused before any look-up.
//!
//! Every key is a `domain::net::ClientNetwork` (an IPv6 client counts as its
//! /64), and every refusal says when to come back (`Retry-After`).

use crate::domain::net::ClientNetwork;
use governor::{clock::Clock, clock::DefaultClock, DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::{
    collections::HashMap,
    net::IpAddr,
    num::NonZeroU32,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Buckets kept before the idle ones are dropped at once (rather than at
/// the next minute's prune), bounding memory under a spray of networks.
const MAX_BUCKETS: usize = 100_000;

pub struct LoginLimiter {
    by_ip: DefaultKeyedRateLimiter<ClientNetwork>,
    by_account: DefaultKeyedRateLimiter<String>,
    pruned: Mutex<Instant>,
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
            pruned: Mutex::new(Instant::now()),
        }
    }

    /// Takes one attempt from the IP's bucket and, if given, the account's.
    /// On refusal returns the seconds until the next attempt is allowed.
    pub fn check(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<(), u64> {
        let now = DefaultClock::default().now();
        if self.by_ip.len() > MAX_BUCKETS || self.by_account.len() > MAX_BUCKETS {
            // At most once a second: a prune walks every bucket.
            let mut last = self.pruned.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() >= Duration::from_secs(1) {
                *last = Instant::now();
                drop(last);
                self.prune();
            }
        }
        if let Some(ip) = ip {
            self.by_ip.check_key(&ClientNetwork::of(ip)).map_err(|n| n.wait_time_from(now).as_secs().max(1))?;
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

/// Failures allowed per client network in a fixed window; checked before
/// the work a failure costs. Bounded: past `MAX_BUCKETS` networks, the
/// windows that ended are dropped; if none has, a new network is not
/// tracked (it is limited once there is room) rather than evicting one
/// that is being limited.
pub struct FailureLimiter {
    per_window: u32,
    window: Duration,
    buckets: Mutex<HashMap<ClientNetwork, (Instant, u32)>>,
}

impl FailureLimiter {
    pub fn new(per_minute: NonZeroU32) -> Self {
        Self::with_window(per_minute, Duration::from_secs(60))
    }

    pub fn with_window(per_window: NonZeroU32, window: Duration) -> Self {
        Self { per_window: per_window.get(), window, buckets: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` if `ip`'s network used up its failures.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        let Some(ip) = ip else { return Ok(()) };
        let now = Instant::now();
        let buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        match buckets.get(&ClientNetwork::of(ip)) {
            Some((start, n)) if *n >= self.per_window && now < *start + self.window => {
                Err((*start + self.window - now).as_secs().max(1))
            }
            _ => Ok(()),
        }
    }

    /// Counts one failure of `ip`'s network.
    pub fn failed(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip else { return };
        let now = Instant::now();
        let net = ClientNetwork::of(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&net) && buckets.len() >= MAX_BUCKETS {
            let window = self.window;
            buckets.retain(|_, (start, _)| now < *start + window);
            if buckets.len() >= MAX_BUCKETS {
                return;
            }
        }
        let bucket = buckets.entry(net).or_insert((now, 0));
        if now >= bucket.0 + self.window {
            *bucket = (now, 0);
        }
        bucket.1 = bucket.1.saturating_add(1);
    }

    /// Drops the windows that ended.
    pub fn prune(&self) {
        let now = Instant::now();
        let window = self.window;
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).retain(|_, (start, _)| now < *start + window);
    }

    pub fn tracked(&self) -> usize {
        self.buckets.lock().unwrap_or_else(|e| e.into_inner()).len()
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

    #[test]
    fn an_ipv6_client_cannot_step_around_the_limit_within_its_64() {
        let l = LoginLimiter::new(LoginLimits {
            per_ip_per_minute: NonZeroU32::new(2).unwrap(),
            per_account_per_minute: NonZeroU32::new(100).unwrap(),
        });
        for i in 1..=2 {
            assert!(l.check(Some(format!("2001:db8:1:2::{i}").parse().unwrap()), None).is_ok());
        }
        assert!(l.check(Some("2001:db8:1:2:ffff::9".parse().unwrap()), None).is_err());
        assert!(l.check(Some("2001:db8:1:3::1".parse().unwrap()), None).is_ok());
    }

    #[test]
    fn failures_past_the_limit_refuse_the_network_until_the_window_ends() {
        let l = FailureLimiter::with_window(NonZeroU32::new(3).unwrap(), Duration::from_millis(300));
        let ip = Some("2001:db8::1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.check(ip).is_ok());
            l.failed(ip);
        }
        assert_eq!(l.check(Some("2001:db8::2".parse().unwrap())), Err(1));
        assert!(l.check(Some("203.0.113.1".parse().unwrap())).is_ok());
        std::thread::sleep(Duration::from_millis(350));
        assert!(l.check(ip).is_ok());
    }

    #[test]
    fn a_spray_of_networks_is_bounded_and_evicts_no_limited_network() {
        let l = FailureLimiter::new(NonZeroU32::new(1).unwrap());
        let limited = Some("198.51.100.1".parse().unwrap());
        l.failed(limited);
        for i in 0..(MAX_BUCKETS as u32 + 10) {
            l.failed(Some(IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i))));
        }
        assert_eq!(l.tracked(), MAX_BUCKETS);
        assert!(l.check(limited).is_err());
    }
}
