//! Tamper evidence for the audit log: a hash chain over `audit_events` in id
//! order, sealed after commit by one task at a time, so writers never wait
//! for each other (the token service's batches included). Each event's hash
//! is its row in `audit_seals` (events themselves are never updated).
//!
//! ```text
//! hash(e) = hex(SHA-256("portcullis.audit.v1\n" || prev || "\n" ||
//!           f(id) f(occurred_at) f(actor_user_id) f(actor) f(action)
//!           f(target_type) f(target_id) f(outcome) f(ip) f(user_agent)
//!           f(details) f(subject_user_id) [f(subject_org_id)]))
//! f(NULL) = "~";  f(v) = <byte length of v, decimal> ":" v
//! ```
//! `f(subject_org_id)` is appended only when the event names an
//! organisation (events from before organisations keep their hashes).
//! ```text
//! ```
//! `prev` is the previous event's hash (64 hex digits); for the first event
//! after a retention cut it is `audit_chain.anchor_hash`, the hash of the
//! last archived event (64 zeros before any cut). Times are UTC
//! `YYYY-MM-DDTHH:MM:SS.ffffffZ`, integers decimal, `details` compact JSON.
//! Editing an event breaks its own link; deleting one breaks the next.
//! Sealing also counts each event once into `audit_daily` (the charts) and
//! widens its hour's id range in `audit_hours` (time filters).

use crate::backend::db;
use crate::backend::db::audit::AuditRow;
use crate::backend::db::audit_chain::ChainState;
use crate::backend::db::Db;
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// Events hashed a transaction. SQLite's sealer holds the one write lock
/// meanwhile, so its batches are smaller (writers wait at most one batch).
const BATCH: i64 = 5_000;
const SQLITE_BATCH: i64 = 1_000;

/// The link of `row` after `prev`.
pub fn link_hash(prev: &str, row: &AuditRow) -> String {
    let mut h = Sha256::new();
    h.update(b"portcullis.audit.v1\n");
    h.update(prev.as_bytes());
    h.update(b"\n");
    let time = row.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
    let details = row.details.0.to_string();
    let fields: [Option<String>; 12] = [
        Some(row.id.to_string()),
        Some(time),
        row.actor_user_id.map(|v| v.to_string()),
        Some(row.actor.clone()),
        Some(row.action.clone()),
        row.target_type.clone(),
        row.target_id.clone(),
        Some(row.outcome.clone()),
        row.ip.clone(),
        row.user_agent.clone(),
        Some(details),
        row.subject_user_id.map(|v| v.to_string()),
    ];
    let org = row.subject_org_id.map(|v| v.to_string());
    let extra: &[Option<String>] = if org.is_some() { std::slice::from_ref(&org) } else { &[] };
    for f in fields.iter().chain(extra) {
        match f {
            None => h.update(b"~"),
            Some(v) => {
                h.update(v.len().to_string().as_bytes());
                h.update(b":");
                h.update(v.as_bytes());
            }
        }
    }
    hex::encode(h.finalize())
}

/// Seals every event that can be sealed now (see `db::audit_chain::horizon`);
/// returns how many were sealed. Safe to run from several places at once.
pub async fn seal_pending(db: &Db) -> Result<u64, sqlx::Error> {
    let Some(top) = db::audit_chain::horizon(db, Duration::from_secs(2)).await? else { return Ok(0) };
    let mut sealed = 0;
    loop {
        let mut tx = db.begin().await?;
        let state = db::audit_chain::lock_state(&mut tx).await?;
        if state.sealed_id >= top {
            return Ok(sealed);
        }
        let batch = if matches!(db, Db::Sqlite(_)) { SQLITE_BATCH } else { BATCH };
        let rows = db::audit_chain::rows_between_in(&mut tx, state.sealed_id, top, batch).await?;
        let Some(last) = rows.last().map(|r| r.id) else {
            return Ok(sealed);
        };
        let mut prev = state.sealed_hash.clone();
        let mut hashes = Vec::with_capacity(rows.len());
        for r in &rows {
            if r.chain_hash.is_some() {
                // Only a hand-made seal could exist already: the insert fails
                // (primary key), sealing stops, and verify names the event.
                tracing::error!(id = r.id, "audit event has a seal before it was sealed");
            }
            prev = link_hash(&prev, r);
            hashes.push((r.id, prev.clone()));
        }
        db::audit_chain::set_hashes(&mut tx, &hashes).await?;
        db::audit_chain::add_daily(&mut tx, &daily_counts(&rows)).await?;
        db::audit_chain::add_hours(&mut tx, &hour_ranges(&rows)).await?;
        db::audit_chain::set_sealed(&mut tx, last, &prev).await?;
        tx.commit().await?;
        sealed += hashes.len() as u64;
    }
}

/// The per-day counts the charts read (`audit_daily`): pulls keep their
/// repository, other actions do not (to keep the table small).
fn daily_counts(rows: &[AuditRow]) -> Vec<(String, String, String, String, i64)> {
    let mut counts: std::collections::BTreeMap<(String, String, String, String), i64> = Default::default();
    for r in rows {
        let target = if r.action == "registry.pull" { r.target_id.clone().unwrap_or_default() } else { String::new() };
        let key = (r.occurred_at.format("%Y-%m-%d").to_string(), r.action.clone(), r.outcome.clone(), target);
        *counts.entry(key).or_default() += 1;
    }
    counts.into_iter().map(|((d, a, o, t), n)| (d, a, o, t, n)).collect()
}

/// Each UTC hour's smallest and largest id among `rows` (`audit_hours`).
fn hour_ranges(rows: &[AuditRow]) -> Vec<(String, i64, i64)> {
    let mut hours: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for r in rows {
        let e = hours.entry(hour_key(r.occurred_at)).or_insert((r.id, r.id));
        *e = (e.0.min(r.id), e.1.max(r.id));
    }
    hours.into_iter().map(|(h, (lo, hi))| (h, lo, hi)).collect()
}

/// `YYYY-MM-DDTHH` (UTC), the key of `audit_hours`.
pub fn hour_key(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H").to_string()
}

/// What `verify` found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verification {
    pub state: ChainState,
    /// Events whose link was checked.
    pub checked: u64,
    /// Events newer than the sealed head (not yet sealed).
    pub unsealed: u64,
    /// The first broken link: the event's id and what is wrong.
    pub broken: Option<(i64, String)>,
}

impl Verification {
    pub fn ok(&self) -> bool {
        self.broken.is_none()
    }
}

/// Walks the chain from the retention anchor to the sealed head and names
/// the first broken link. Reads only.
pub async fn verify(db: &Db) -> Result<Verification, sqlx::Error> {
    let state = db::audit_chain::state(db).await?;
    let mut prev = state.anchor_hash.clone();
    let mut cursor = state.anchor_id;
    let mut checked = 0u64;
    let mut broken = None;
    'walk: loop {
        let rows = db::audit_chain::rows_between(db, cursor, state.sealed_id, BATCH).await?;
        if rows.is_empty() {
            break;
        }
        for r in &rows {
            let expected = link_hash(&prev, r);
            match &r.chain_hash {
                None => {
                    broken = Some((r.id, "no hash, yet inside the sealed part of the chain (inserted afterwards)".into()));
                    break 'walk;
                }
                Some(h) if *h != expected => {
                    broken = Some((r.id, "hash does not match: this event was altered, or the event before it was removed".into()));
                    break 'walk;
                }
                Some(_) => {}
            }
            prev = expected;
            cursor = r.id;
            checked += 1;
        }
    }
    if broken.is_none() && (cursor != state.sealed_id || prev != state.sealed_hash) {
        let reason = format!("the sealed head is event {} but the chain ends at {cursor}: events at the end were removed", state.sealed_id);
        broken = Some((state.sealed_id, reason));
    }
    let unsealed = count_after(db, state.sealed_id).await?;
    Ok(Verification { state, checked, unsealed, broken })
}

async fn count_after(db: &Db, id: i64) -> Result<u64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM audit_events WHERE id > $1";
    let n: i64 = crate::on_db!(db, |pool| sqlx::query_scalar(sql).bind(id).fetch_one(pool).await)?;
    Ok(n.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn row() -> AuditRow {
        AuditRow {
            id: 7,
            occurred_at: chrono::Utc.with_ymd_and_hms(2026, 3, 4, 9, 0, 0).single().unwrap_or_default(),
            actor_user_id: None,
            actor: "system".into(),
            action: "auth.login".into(),
            target_type: None,
            target_id: None,
            outcome: "failure".into(),
            ip: Some("203.0.113.7".into()),
            user_agent: None,
            details: sqlx::types::Json(serde_json::json!({ "reason": "wrong_password" })),
            subject_user_id: Some(42),
            subject_org_id: None,
            organisation_id: None,
            chain_hash: None,
        }
    }

    #[test]
    fn the_link_is_the_documented_sha256() {
        // Spelled out as in the module docs and the README.
        let input = format!(
            "portcullis.audit.v1\n{GENESIS}\n1:7{}~6:system10:auth.login~~7:failure11:203.0.113.7~{}2:42",
            "27:2026-03-04T09:00:00.000000Z", "27:{\"reason\":\"wrong_password\"}"
        );
        assert_eq!(link_hash(GENESIS, &row()), hex::encode(Sha256::digest(input.as_bytes())));
    }

    #[test]
    fn every_field_and_the_previous_hash_count() {
        let base = link_hash(GENESIS, &row());
        let mut other = row();
        other.ip = None;
        assert_ne!(link_hash(GENESIS, &other), base, "NULL differs from a value");
        let mut other = row();
        other.user_agent = Some(String::new());
        assert_ne!(link_hash(GENESIS, &other), base, "empty differs from NULL");
        let mut other = row();
        other.actor = "system1".into();
        other.action = "0:auth.login".into();
        assert_ne!(link_hash(GENESIS, &other), base, "lengths keep fields apart");
        assert_ne!(link_hash(&base, &row()), base, "the previous hash is part of it");
        assert_eq!(hour_ranges(&[row()]), vec![("2026-03-04T09".to_owned(), 7, 7)]);
        assert_eq!(daily_counts(&[row(), row()]), vec![("2026-03-04".into(), "auth.login".into(), "failure".into(), String::new(), 2)]);
    }
}
