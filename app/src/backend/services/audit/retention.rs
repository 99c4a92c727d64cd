//! Retention: events older than the retention period are written to a JSON
//! Lines archive, then deleted, and the chain's anchor moves to the last
//! archived event, so `verify` still passes on what remains.
//!
//! Archive file `audit-<first id>-<last id>.jsonl`: a header line
//! `{"archive":"portcullis.audit","version":1,"prev_hash":…,"first_id":…,"last_id":…}`,
//! one line per event (oldest first, every column and its `chain_hash`),
//! and a footer `{"chain_head":{"id":…,"hash":…}}`: the chain head at the cut.
//! The file is written to a temporary name, synced, then renamed; only then
//! are the events deleted (the database triggers allow deleting sealed
//! events up to the anchor and nothing else).

use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome, chain as audit_chain};
use crate::backend::db;
use crate::backend::db::audit::AuditRow;
use crate::backend::db::Db;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::{io::Write, path::{Path, PathBuf}};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("archive: {0}")]
    Io(#[from] std::io::Error),
    #[error("the chain is broken at event {0} ({1}); nothing was archived or deleted")]
    Broken(i64, String),
}

/// What one retention run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retained {
    /// `None` when nothing was old enough.
    pub archive: Option<PathBuf>,
    pub deleted: u64,
    pub head: Option<(i64, String)>,
}

/// One event as a JSON object (archive lines and the JSON Lines export).
pub fn row_json(r: &AuditRow) -> Value {
    json!({
        "id": r.id,
        "occurred_at": r.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        "actor_user_id": r.actor_user_id,
        "actor": r.actor,
        "action": r.action,
        "target_type": r.target_type,
        "target_id": r.target_id,
        "outcome": r.outcome,
        "ip": r.ip,
        "user_agent": r.user_agent,
        "details": r.details.0,
        "subject_user_id": r.subject_user_id,
        "subject_org_id": r.subject_org_id,
        "chain_hash": r.chain_hash,
    })
}

/// Archives and deletes the events before `cutoff` (those before the first
/// event at or after it, so a late-stamped event never goes early).
pub async fn retain(db: &Db, cutoff: DateTime<Utc>, dir: &Path) -> Result<Retained, RetentionError> {
    audit_chain::seal_pending(db).await?;
    let state = db::audit_chain::state(db).await?;
    let first_kept: Option<i64> = {
        let sql = "SELECT MIN(id) FROM audit_events WHERE id > $1 AND occurred_at >= $2";
        crate::on_db!(db, |pool| sqlx::query_scalar(sql).bind(state.anchor_id).bind(cutoff).fetch_one(pool).await)?
    };
    let cut = first_kept.map_or(state.sealed_id, |k| (k - 1).min(state.sealed_id));
    if cut <= state.anchor_id {
        return Ok(Retained { archive: None, deleted: 0, head: None });
    }
    std::fs::create_dir_all(dir)?;
    let name = format!("audit-{}-{cut}.jsonl", state.anchor_id + 1);
    let path = dir.join(&name);
    let partial = dir.join(format!(".{name}.partial"));
    let head = write_archive(db, &partial, state.anchor_id, &state.anchor_hash, cut).await?;
    std::fs::rename(&partial, &path)?;
    sync_dir(dir)?;

    let mut tx = db.begin().await?;
    let locked = db::audit_chain::lock_state(&mut tx).await?;
    if locked.anchor_id != state.anchor_id {
        // Another run cut meanwhile; its archive covers these events.
        return Ok(Retained { archive: Some(path), deleted: 0, head: Some(head) });
    }
    let deleted = db::audit_chain::cut(&mut tx, cut).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::Cli, "audit.retention", Outcome::Success).details(json!({
            "archive": name, "cutoff": cutoff.to_rfc3339(), "first_id": state.anchor_id + 1, "last_id": cut,
            "deleted": deleted, "chain_head": { "id": head.0, "hash": head.1 },
        })),
    )
    .await?;
    tx.commit().await?;
    Ok(Retained { archive: Some(path), deleted, head: Some(head) })
}

/// Writes events `after < id <= cut`, checking each link on the way; returns
/// the chain head at the cut.
async fn write_archive(db: &Db, path: &Path, after: i64, prev_hash: &str, cut: i64) -> Result<(i64, String), RetentionError> {
    let file = std::fs::File::create(path)?;
    let mut out = std::io::BufWriter::new(file);
    let header = json!({ "archive": "portcullis.audit", "version": 1, "prev_hash": prev_hash, "first_id": after + 1, "last_id": cut });
    writeln!(out, "{header}")?;
    let mut prev = prev_hash.to_owned();
    let mut cursor = after;
    let mut last = (after, prev.clone());
    loop {
        let rows = db::audit_chain::rows_between(db, cursor, cut, 5_000).await?;
        let Some(end) = rows.last().map(|r| r.id) else { break };
        for r in &rows {
            let expected = audit_chain::link_hash(&prev, r);
            if r.chain_hash.as_deref() != Some(expected.as_str()) {
                drop(out);
                let _ = std::fs::remove_file(path);
                return Err(RetentionError::Broken(r.id, "hash does not match".into()));
            }
            writeln!(out, "{}", row_json(r))?;
            prev = expected;
            last = (r.id, prev.clone());
        }
        cursor = end;
    }
    writeln!(out, "{}", json!({ "chain_head": { "id": last.0, "hash": last.1 } }))?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    Ok(last)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Checks an archive file on its own: every line's link, and the footer's
/// head. Returns (events, head).
pub fn verify_archive(path: &Path) -> Result<(u64, (i64, String)), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut lines = text.lines();
    let header: Value = lines.next().and_then(|l| serde_json::from_str(l).ok()).ok_or("no header line")?;
    let mut prev = header["prev_hash"].as_str().ok_or("header has no prev_hash")?.to_owned();
    let mut n = 0;
    let mut last_id = 0;
    for line in lines {
        let v: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 2))?;
        if let Some(head) = v.get("chain_head") {
            let ok = head["hash"].as_str() == Some(prev.as_str()) && head["id"].as_i64() == Some(last_id);
            return if ok { Ok((n, (last_id, prev))) } else { Err("the footer's chain head does not match the events".into()) };
        }
        let row = row_from_json(&v).ok_or_else(|| format!("line {}: not an event", n + 2))?;
        let expected = audit_chain::link_hash(&prev, &row);
        if row.chain_hash.as_deref() != Some(expected.as_str()) {
            return Err(format!("event {}: hash does not match", row.id));
        }
        prev = expected;
        last_id = row.id;
        n += 1;
    }
    Err("no chain_head footer: the archive is incomplete".into())
}

fn row_from_json(v: &Value) -> Option<AuditRow> {
    let s = |k: &str| v[k].as_str().map(str::to_owned);
    Some(AuditRow {
        id: v["id"].as_i64()?,
        occurred_at: DateTime::parse_from_rfc3339(v["occurred_at"].as_str()?).ok()?.with_timezone(&Utc),
        actor_user_id: v["actor_user_id"].as_i64(),
        actor: s("actor")?,
        action: s("action")?,
        target_type: s("target_type"),
        target_id: s("target_id"),
        outcome: s("outcome")?,
        ip: s("ip"),
        user_agent: s("user_agent"),
        details: sqlx::types::Json(v["details"].clone()),
        subject_user_id: v["subject_user_id"].as_i64(),
        subject_org_id: v["subject_org_id"].as_i64(),
        organisation_id: v["subject_org_id"].as_i64(),
        chain_hash: s("chain_hash"),
    })
}
