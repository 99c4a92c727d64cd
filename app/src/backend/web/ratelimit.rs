//! Throttling shared by every replica: fixed one-minute windows counted in
//! the database (`db::rate_limits`, one upsert per counted attempt), so
//! limits hold across replicas and restarts.
//! - `LoginLimiter`: log-in and sign-up attempts per client network and
//!   log-in attempts per account, so neither a single host nor a botnet
//!   spraying one account gets unbounded guesses;
//! - `MailLimiter`: mails a visitor can trigger, per address and per
//!   network and hour;
//! - `FailureLimiter`: failed registry token requests per client network.
//!   Only failures are counted in the database; once a failure finds its
//!   network at the limit, this replica refuses that network locally until
//!   the window ends (no database read on the token path), and every other
//!   replica does so at that network's next failure there: across N
//!   replicas a network gets at most the limit plus N failures a window.
//!
//! Every key is a `domain::net::ClientNetwork` (an IPv6 client counts as
//! its /64), and every refusal says when to come back (`Retry-After`: the
//! seconds to the window's end). A fixed window lets a client spend its
//! limit at the end of one minute and again at the start of the next.

use crate::backend::db::{self, Db};
use crate::domain::net::ClientNetwork;
use chrono::{DateTime, Utc};
use std::{collections::HashMap, net::IpAddr, num::NonZeroU32, sync::Mutex, time::Instant};

/// The length of every window, in seconds.
const WINDOW_SECS: i64 = 60;

/// Networks this replica refuses at most, kept before expired ones are
/// dropped; past it a new network is not refused locally (its failures
/// still count in the database) rather than forgetting one that is.
const MAX_BLOCKED: usize = 100_000;

/// How long counting a failed token request may wait for the database.
const COUNT_LIMIT: std::time::Duration = std::time::Duration::from_secs(1);

/// The length of the mail limits' windows, in seconds.
const HOUR_SECS: i64 = 3600;

/// Counts one hit of each key (with its limit) in the window starting at
/// `start`, in order, stopping at the first one past its limit: `true` if
/// one was (the keys after it are not counted).
async fn over(db: &Db, start: DateTime<Utc>, keys: impl IntoIterator<Item = (String, NonZeroU32)>) -> Result<bool, sqlx::Error> {
    for (key, limit) in keys {
        if db::rate_limits::hit(db, &key, start).await? > i64::from(limit.get()) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// The one-minute window `now` falls in, and the whole seconds left in it (≥ 1).
fn window(now: DateTime<Utc>) -> (DateTime<Utc>, u64) {
    window_of(now, WINDOW_SECS)
}

/// The window of `secs` seconds `now` falls in, and the seconds left in it.
fn window_of(now: DateTime<Utc>, secs: i64) -> (DateTime<Utc>, u64) {
    let start = now.timestamp().div_euclid(secs) * secs;
    let left = (start + secs - now.timestamp()).max(1) as u64;
    (DateTime::from_timestamp(start, 0).unwrap_or(now), left)
}

/// Attempts allowed per minute.
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

pub struct LoginLimiter {
    db: Db,
    limits: LoginLimits,
}

impl LoginLimiter {
    pub fn new(db: Db, limits: LoginLimits) -> Self {
        Self { db, limits }
    }

    /// Counts one attempt against the client's network and, if given, the
    /// account. `Ok(Err(seconds))`: refused, come back then.
    pub async fn check(&self, ip: Option<IpAddr>, account: Option<&str>) -> Result<Result<(), u64>, sqlx::Error> {
        let (start, left) = window(Utc::now());
        let net = ip.map(|ip| (format!("login:net:{}", ClientNetwork::of(ip)), self.limits.per_ip_per_minute));
        let account = account.map(|a| (format!("login:account:{a}"), self.limits.per_account_per_minute));
        Ok(if over(&self.db, start, net.into_iter().chain(account)).await? { Err(left) } else { Ok(()) })
    }
}

/// Mails a visitor can make the portal send ("Forgot password"), per hour.
#[derive(Clone, Copy, Debug)]
pub struct MailLimits {
    /// To one address, whether or not it has an account.
    pub per_address_per_hour: NonZeroU32,
    /// From one client network.
    pub per_network_per_hour: NonZeroU32,
}

impl Default for MailLimits {
    fn default() -> Self {
        Self {
            per_address_per_hour: NonZeroU32::new(5).expect("non-zero"),
            per_network_per_hour: NonZeroU32::new(20).expect("non-zero"),
        }
    }
}

/// Counts requests for mail in one-hour windows shared by every replica.
/// An address is counted whether or not it has an account, so a refusal
/// says nothing about accounts.
pub struct MailLimiter {
    db: Db,
    limits: MailLimits,
}

impl MailLimiter {
    pub fn new(db: Db, limits: MailLimits) -> Self {
        Self { db, limits }
    }

    /// Counts one request for mail to `address` from `ip`.
    /// `Ok(Err(seconds))`: refused, come back then.
    pub async fn check(&self, ip: Option<IpAddr>, address: &str) -> Result<Result<(), u64>, sqlx::Error> {
        let (start, left) = window_of(Utc::now(), HOUR_SECS);
        let net = ip.map(|ip| (format!("mail:net:{}", ClientNetwork::of(ip)), self.limits.per_network_per_hour));
        let address = (format!("mail:address:{}", address.to_lowercase()), self.limits.per_address_per_hour);
        Ok(if over(&self.db, start, net.into_iter().chain([address])).await? { Err(left) } else { Ok(()) })
    }
}

/// Failed token requests per client network (see the module text).
pub struct FailureLimiter {
    db: Db,
    per_minute: u32,
    /// Networks refused here, until the instant their window ends.
    blocked: Mutex<HashMap<ClientNetwork, Instant>>,
}

impl FailureLimiter {
    pub fn new(db: Db, per_minute: NonZeroU32) -> Self {
        Self { db, per_minute: per_minute.get(), blocked: Mutex::new(HashMap::new()) }
    }

    /// `Err(seconds to wait)` if `ip`'s network is refused: no database read.
    pub fn check(&self, ip: Option<IpAddr>) -> Result<(), u64> {
        let Some(ip) = ip else { return Ok(()) };
        let blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        match blocked.get(&ClientNetwork::of(ip)) {
            Some(until) => match until.checked_duration_since(Instant::now()) {
                Some(left) => Err(left.as_secs().max(1)),
                None => Ok(()),
            },
            None => Ok(()),
        }
    }

    /// Counts one failure of `ip`'s network (shared); from the limit on,
    /// the network is refused here until its window ends. A database error
    /// is logged and the failure not counted.
    pub async fn failed(&self, ip: Option<IpAddr>) {
        let Some(ip) = ip else { return };
        let net = ClientNetwork::of(ip);
        let (start, left) = window(Utc::now());
        // Counting is best effort: with the database away, the request is
        // answered rather than kept waiting for the pool.
        let key = format!("token:net:{net}");
        let hit = db::rate_limits::hit(&self.db, &key, start);
        let n = match tokio::time::timeout(COUNT_LIMIT, hit).await {
            Ok(Ok(n)) => n,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "could not count a failed token request");
                return;
            }
            Err(_) => {
                tracing::warn!("could not count a failed token request within {COUNT_LIMIT:?}");
                return;
            }
        };
        if n >= i64::from(self.per_minute) {
            self.block(net, Instant::now() + std::time::Duration::from_secs(left));
        }
    }

    fn block(&self, net: ClientNetwork, until: Instant) {
        let mut blocked = self.blocked.lock().unwrap_or_else(|e| e.into_inner());
        if !blocked.contains_key(&net) && blocked.len() >= MAX_BLOCKED {
            let now = Instant::now();
            blocked.retain(|_, u| *u > now);
            if blocked.len() >= MAX_BLOCKED {
                return;
            }
        }
        blocked.insert(net, until);
    }

    /// How many networks this replica refuses (for tests and metrics).
    pub fn blocked(&self) -> usize {
        self.blocked.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Deletes windows that ended over an hour ago (the `rate_limits.sweep` job).
pub async fn sweep(db: &Db) -> Result<u64, sqlx::Error> {
    db::rate_limits::sweep(db, Utc::now() - chrono::Duration::hours(1)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn db() -> (Db, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("t.db").display())).await.unwrap();
        db.migrate().await.unwrap();
        (db, dir)
    }

    fn limits(per_ip: u32, per_account: u32) -> LoginLimits {
        LoginLimits {
            per_ip_per_minute: NonZeroU32::new(per_ip).unwrap(),
            per_account_per_minute: NonZeroU32::new(per_account).unwrap(),
        }
    }

    #[test]
    fn windows_are_whole_minutes() {
        let t = DateTime::from_timestamp(1_699_999_997, 0).unwrap(); // 17 s into a minute
        let (start, left) = window(t);
        assert_eq!(start.timestamp() % 60, 0);
        assert_eq!((t.timestamp() - start.timestamp(), left), (17, 43));
    }

    #[tokio::test]
    async fn refuses_past_the_per_account_limit_but_not_other_accounts() {
        let (db, _dir) = db().await;
        let l = LoginLimiter::new(db, limits(100, 3));
        let ip = Some("127.0.0.1".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(l.check(ip, Some("a@example.com")).await.unwrap(), Ok(()));
        }
        let wait = l.check(ip, Some("a@example.com")).await.unwrap().unwrap_err();
        assert!((1..=60).contains(&wait));
        assert_eq!(l.check(ip, Some("b@example.com")).await.unwrap(), Ok(()));
    }

    #[tokio::test]
    async fn an_ipv6_client_cannot_step_around_the_limit_within_its_64() {
        let (db, _dir) = db().await;
        let l = LoginLimiter::new(db, limits(2, 100));
        for i in 1..=2 {
            assert!(l.check(Some(format!("2001:db8:1:2::{i}").parse().unwrap()), None).await.unwrap().is_ok());
        }
        assert!(l.check(Some("2001:db8:1:2:ffff::9".parse().unwrap()), None).await.unwrap().is_err());
        assert!(l.check(Some("2001:db8:1:3::1".parse().unwrap()), None).await.unwrap().is_ok());
    }

    #[tokio::test]
    async fn two_replicas_share_the_limits() {
        let (db, _dir) = db().await;
        let (a, b) = (LoginLimiter::new(db.clone(), limits(3, 100)), LoginLimiter::new(db.clone(), limits(3, 100)));
        let ip = Some("203.0.113.9".parse().unwrap());
        assert!(a.check(ip, None).await.unwrap().is_ok());
        assert!(b.check(ip, None).await.unwrap().is_ok());
        assert!(a.check(ip, None).await.unwrap().is_ok());
        assert!(b.check(ip, None).await.unwrap().is_err(), "the fourth attempt, on either replica");

        let (fa, fb) = (FailureLimiter::new(db.clone(), NonZeroU32::new(3).unwrap()), FailureLimiter::new(db, NonZeroU32::new(3).unwrap()));
        let ip = Some("2001:db8::1".parse().unwrap());
        fa.failed(ip).await;
        fb.failed(ip).await;
        assert!(fa.check(ip).is_ok() && fb.check(ip).is_ok());
        fa.failed(ip).await;
        assert!(fa.check(Some("2001:db8::2".parse().unwrap())).is_err(), "the /64 is refused where the limit was reached");
        assert!(fb.check(ip).is_ok(), "the other replica learns at the network's next failure there");
        fb.failed(ip).await;
        assert!(fb.check(ip).is_err());
        assert!(fa.check(Some("203.0.113.1".parse().unwrap())).is_ok());
    }
}
