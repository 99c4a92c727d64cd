//! Attempts that authenticate nothing: an unknown registry user name or a
//! wrong secret, a malformed `Authorization` header, a failed or throttled
//! log-in, a bad webhook signature, a wrong notification secret. They are
//! not decisions about anyone's access, and an attacker can send millions,
//! so they do not get a row each: they are counted per action, reason,
//! client network (`domain::net::ClientNetwork`: IPv4 address, IPv6 /64)
//! and window (a minute by default), and each count becomes one audit row
//! (`outcome` as given, `ip` the network, `details`: `aggregated`, `reason`,
//! `count`, the window, the first and last time, and the first attempt's
//! details as `sample`) when its window closes, all of a window in one
//! transaction. A decision about a valid credential or session keeps a row
//! of its own, written as before.
//!
//! Memory is bounded: past [`MAX_KEYS`] open counts, new networks are
//! counted under the network `other` (per action and reason), so a flood
//! from many networks still shows, with its size, and evicts nothing.
//! A failed write keeps the counts for the next flush; a clean shutdown
//! writes every open count. A crash loses at most the open windows' counts
//! (`Tally`s not yet written), never a decision about a credential.

use crate::backend::db::audit::NewAuditRow;
use crate::backend::db::{self, Db};
use crate::backend::services::audit::Outcome;
use crate::domain::net::ClientNetwork;
use crate::domain::time::rfc3339;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

/// Open counts kept at most; see the module text.
pub const MAX_KEYS: usize = 10_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Network {
    Known(ClientNetwork),
    /// No address was known (never the case behind the listener).
    Unknown,
    /// Counted after [`MAX_KEYS`] was reached.
    Other,
}

impl Network {
    fn label(self) -> String {
        match self {
            Self::Known(n) => n.to_string(),
            Self::Unknown => "unknown".into(),
            Self::Other => "other".into(),
        }
    }
}

/// What was attempted and how it ended: the audit row's `action`,
/// `outcome` and `details.reason`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Attempt {
    pub action: &'static str,
    pub outcome: Outcome,
    pub reason: &'static str,
}

impl Attempt {
    /// Refused by policy (a limit, an unknown credential, a bad signature).
    pub const fn denied(action: &'static str, reason: &'static str) -> Self {
        Self { action, outcome: Outcome::Denied, reason }
    }

    /// The caller's input was wrong (a log-in's password or e-mail).
    pub const fn failed(action: &'static str, reason: &'static str) -> Self {
        Self { action, outcome: Outcome::Failure, reason }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    what: Attempt,
    network: Network,
    /// The window's start, in seconds since the epoch.
    window: i64,
}

/// One count as it will be written.
#[derive(Clone, Debug)]
struct Tally {
    count: u64,
    first_at: DateTime<Utc>,
    last_at: DateTime<Utc>,
    sample: Value,
}

/// The counts of the open windows; one per process, shared by every route
/// that meets such attempts.
pub struct Attempts {
    open: Mutex<HashMap<Key, Tally>>,
    window_secs: i64,
}

impl Attempts {
    /// `window`: how long one count runs (a minute in production; tests
    /// shorten it), at least a second.
    pub fn new(window: Duration) -> Self {
        Self { open: Mutex::new(HashMap::new()), window_secs: window.as_secs().max(1) as i64 }
    }

    /// Counts one attempt. `sample` is called only for the first attempt of
    /// its count; what it returns is cleaned and cut like any audit detail.
    pub fn note(&self, what: Attempt, ip: Option<IpAddr>, at: DateTime<Utc>, sample: impl FnOnce() -> Value) {
        let window = at.timestamp().div_euclid(self.window_secs) * self.window_secs;
        let network = ip.map_or(Network::Unknown, |ip| Network::Known(ClientNetwork::of(ip)));
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let mut key = Key { what, network, window };
        if !open.contains_key(&key) && open.len() >= MAX_KEYS {
            key.network = Network::Other;
        }
        open.entry(key)
            .and_modify(|t| {
                t.count += 1;
                t.last_at = t.last_at.max(at);
            })
            .or_insert_with(|| Tally { count: 1, first_at: at, last_at: at, sample: sample() });
    }

    /// How many counts are open (for tests and metrics).
    pub fn open_counts(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Removes and returns the counts whose window has ended by `now` (all
    /// of them with `now` `None`).
    fn take(&self, now: Option<DateTime<Utc>>) -> Vec<(Key, Tally)> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let closed = |k: &Key| now.is_none_or(|now| k.window + self.window_secs <= now.timestamp());
        let keys: Vec<Key> = open.keys().filter(|k| closed(k)).copied().collect();
        keys.into_iter().filter_map(|k| open.remove(&k).map(|t| (k, t))).collect()
    }

    /// Puts counts back after a failed write (merging with any counted since).
    fn restore(&self, taken: Vec<(Key, Tally)>) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        for (k, t) in taken {
            open.entry(k)
                .and_modify(|o| {
                    o.count += t.count;
                    o.first_at = o.first_at.min(t.first_at);
                    o.last_at = o.last_at.max(t.last_at);
                    o.sample = t.sample.clone();
                })
                .or_insert(t);
        }
    }

    /// Writes the closed counts (every count when `now` is `None`) in one
    /// transaction; on failure they stay for the next flush.
    pub async fn flush(&self, db: &Db, now: Option<DateTime<Utc>>) -> Result<usize, sqlx::Error> {
        let taken = self.take(now);
        if taken.is_empty() {
            return Ok(0);
        }
        match write(db, &taken, self.window_secs).await {
            Ok(()) => Ok(taken.len()),
            Err(e) => {
                self.restore(taken);
                Err(e)
            }
        }
    }
}

async fn write(db: &Db, taken: &[(Key, Tally)], window_secs: i64) -> Result<(), sqlx::Error> {
    let rows: Vec<(String, Value, &Key, &Tally)> = taken
        .iter()
        .map(|(k, t)| {
            let start = DateTime::from_timestamp(k.window, 0).unwrap_or_default();
            let end = DateTime::from_timestamp(k.window + window_secs, 0).unwrap_or_default();
            let network = k.network.label();
            let details = json!({
                "aggregated": true,
                "reason": k.what.reason,
                "count": t.count,
                "network": network,
                "window_start": rfc3339(start),
                "window_end": rfc3339(end),
                "first_at": rfc3339(t.first_at),
                "last_at": rfc3339(t.last_at),
                "sample": t.sample,
            });
            (network, details, k, t)
        })
        .collect();
    let new_rows: Vec<NewAuditRow<'_>> = rows
        .iter()
        .map(|(network, details, k, t)| NewAuditRow {
            occurred_at: t.last_at,
            actor_user_id: None,
            actor: "anonymous",
            action: k.what.action,
            target_type: None,
            target_id: None,
            outcome: k.what.outcome.as_str(),
            ip: Some(network),
            user_agent: None,
            details,
            subject_user_id: None,
            subject_org_id: None,
        })
        .collect();
    let mut tx = db.begin().await?;
    db::audit::insert_many(&mut tx, &new_rows).await?;
    tx.commit().await
}

/// Flushes closed counts every `every` until `stop`, then every open count.
pub async fn run_flusher(db: Db, attempts: Arc<Attempts>, every: Duration, stop: tokio::sync::oneshot::Receiver<()>) {
    crate::backend::services::periodic::run_every("writing counted attempts", every, stop, |last| {
        let (db, attempts) = (db.clone(), attempts.clone());
        async move { attempts.flush(&db, (!last).then(Utc::now)).await.map(|_| ()) }
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const TOKEN: Attempt = Attempt::denied("registry.token", "bad_credentials");

    fn at(s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, 12, 0, 0).single().unwrap() + chrono::Duration::seconds(s as i64)
    }

    #[test]
    fn attempts_from_one_network_in_one_minute_are_one_count() {
        let a = Attempts::new(Duration::from_secs(60));
        for i in 0..100u32 {
            let ip: IpAddr = format!("2001:db8::{i:x}").parse().unwrap();
            a.note(TOKEN, Some(ip), at(i % 60), || json!({ "username": i }));
        }
        assert_eq!(a.open_counts(), 1);
        assert!(a.take(Some(at(59))).is_empty(), "the minute is still open");
        let taken = a.take(Some(at(60)));
        assert_eq!(taken.len(), 1);
        assert_eq!(taken[0].1.count, 100);
        assert_eq!(taken[0].1.sample, json!({ "username": 0 }));
        assert_eq!(taken[0].0.network.label(), "2001:db8::/64");
    }

    #[test]
    fn reasons_actions_and_minutes_count_apart() {
        let a = Attempts::new(Duration::from_secs(60));
        let ip = Some("203.0.113.7".parse().unwrap());
        a.note(TOKEN, ip, at(1), || Value::Null);
        a.note(Attempt::denied("registry.token", "malformed"), ip, at(1), || Value::Null);
        a.note(Attempt::failed("auth.login", "bad_credentials"), ip, at(1), || Value::Null);
        a.note(TOKEN, ip, at(61), || Value::Null);
        assert_eq!(a.open_counts(), 4);
    }

    #[test]
    fn past_the_bound_new_networks_count_as_other_and_nothing_is_evicted() {
        let a = Attempts::new(Duration::from_secs(60));
        for i in 0..(MAX_KEYS as u32 + 500) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            a.note(TOKEN, Some(ip), at(0), || Value::Null);
        }
        assert_eq!(a.open_counts(), MAX_KEYS + 1);
        let taken = a.take(None);
        let other = taken.iter().find(|(k, _)| k.network == Network::Other).unwrap();
        assert_eq!(other.1.count, 500);
        assert_eq!(taken.iter().map(|(_, t)| t.count).sum::<u64>(), MAX_KEYS as u64 + 500);
    }

    #[test]
    fn restored_counts_merge_with_new_ones() {
        let a = Attempts::new(Duration::from_secs(60));
        let ip = Some("203.0.113.7".parse().unwrap());
        a.note(TOKEN, ip, at(1), || Value::Null);
        let taken = a.take(None);
        a.note(TOKEN, ip, at(2), || Value::Null);
        a.restore(taken);
        let again = a.take(None);
        assert_eq!(again.len(), 1);
        assert_eq!(again[0].1.count, 2);
    }
}
