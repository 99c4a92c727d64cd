//! Tamper evidence, on both databases: the hash chain is sealed in id order
//! even with concurrent writers and the token service's batches; verify (the
//! service and `portcullis audit verify`) names the first broken link after a
//! row is edited or deleted directly in the database; the triggers refuse
//! tampering through SQL; retention archives, deletes, and verify still
//! passes across the cut.

use app::backend::services::audit::{Outcome, chain as audit_chain, retention as audit_retention};
use app::backend::db::Db;
use crate::support::audit::{record, token_batch, Ev};
use chrono::{Duration, Utc};
use crate::support::{Backend, TestApp};
use std::process::Command;

on_both_backends!(
    concurrent_writers_are_chained_in_id_order,
    an_edited_or_deleted_row_breaks_the_chain_where_it_was,
    the_database_refuses_tampering,
    retention_archives_then_deletes_and_the_chain_still_verifies,
);

/// Runs raw SQL with the audit triggers switched off, as an attacker with
/// the database owner's rights could.
async fn bypassing_triggers(app: &TestApp, backend: Backend, sql: &str) {
    match backend {
        Backend::Sqlite => {
            for t in ["audit_events_no_update", "audit_events_no_delete", "audit_seals_no_update"] {
                app.exec(&format!("DROP TRIGGER IF EXISTS {t}")).await.unwrap();
            }
            app.exec(sql).await.unwrap();
        }
        Backend::Postgres => {
            app.exec("ALTER TABLE audit_events DISABLE TRIGGER USER").await.unwrap();
            app.exec("ALTER TABLE audit_seals DISABLE TRIGGER USER").await.unwrap();
            app.exec(sql).await.unwrap();
            app.exec("ALTER TABLE audit_events ENABLE TRIGGER USER").await.unwrap();
            app.exec("ALTER TABLE audit_seals ENABLE TRIGGER USER").await.unwrap();
        }
    }
}

async fn sealed_and_verified(db: &Db) -> audit_chain::Verification {
    audit_chain::seal_pending(db).await.unwrap();
    audit_chain::verify(db).await.unwrap()
}

fn cli_verify(app: &TestApp) -> (bool, String) {
    cli(app, &["audit", "verify"])
}

fn cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_LOG", "error")
        .env("PORTCULLIS_DATABASE_URL", &app.database_url)
        .output()
        .unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

const UNSEALED: &str = "SELECT COUNT(*) FROM audit_events LEFT JOIN audit_seals ON event_id = id WHERE hash IS NULL";

async fn concurrent_writers_are_chained_in_id_order(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = app.db.clone();
    let mut tasks = Vec::new();
    for w in 0..6 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..40 {
                if i % 10 == 0 {
                    token_batch(&db, 200, Utc::now(), &format!("pull-w{w}"), "192.0.2.1").await;
                } else {
                    record(&db, Ev::new("auth.login", Outcome::Failure, Utc::now())).await;
                }
            }
        }));
    }
    // A sealer runs throughout, besides the application's own. It is told
    // to stop and awaited (not aborted: an aborted sealer could leave its
    // transaction rolling back while the final seal below begins).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let sealer = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            for _ in 0..200 {
                if stop.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                audit_chain::seal_pending(&db).await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
    };
    for t in tasks {
        t.await.unwrap();
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    sealer.await.unwrap();
    let v = sealed_and_verified(&db).await;
    let total = app.audit().await.len();
    assert!(v.ok(), "{v:?}");
    assert_eq!(v.unsealed, 0);
    let count: i64 = match &db {
        Db::Sqlite(p) => sqlx::query_scalar(UNSEALED).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(UNSEALED).fetch_one(p).await.unwrap(),
    };
    assert_eq!(count, 0, "every event is sealed");
    let sql = "SELECT CAST((SELECT SUM(n) FROM audit_daily) AS BIGINT) - (SELECT COUNT(*) FROM audit_events)";
    let diff: i64 = match &db {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    };
    assert_eq!(diff, 0, "the charts' daily counts hold each event exactly once");
    assert!(v.checked >= 6 * (4 * 200 + 36) as u64, "{} of at least {}", v.checked, total);
    let (ok, out) = cli_verify(&app);
    assert!(ok && out.contains("audit chain OK"), "{out}");
}

async fn an_edited_or_deleted_row_breaks_the_chain_where_it_was(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let mut ids = Vec::new();
    for i in 0..10 {
        let ev = Ev { ip: Some("203.0.113.7"), details: serde_json::json!({ "n": i }), ..Ev::new("auth.login", Outcome::Failure, Utc::now()) };
        ids.push(record(&app.db, ev).await);
    }
    assert!(sealed_and_verified(&app.db).await.ok());

    // An edit breaks the edited event's own link.
    let edited = ids[4];
    bypassing_triggers(&app, backend, &format!("UPDATE audit_events SET ip = '198.51.100.66' WHERE id = {edited}")).await;
    let v = audit_chain::verify(&app.db).await.unwrap();
    assert_eq!(v.broken.as_ref().map(|b| b.0), Some(edited), "{v:?}");
    let (ok, out) = cli_verify(&app);
    assert!(!ok && out.contains(&format!("BROKEN at event {edited}")), "{out}");
    bypassing_triggers(&app, backend, &format!("UPDATE audit_events SET ip = '203.0.113.7' WHERE id = {edited}")).await;
    assert!(audit_chain::verify(&app.db).await.unwrap().ok(), "restored, it verifies again");

    // A deletion breaks the next event's link.
    // So does a forged seal.
    let forged = ids[5];
    bypassing_triggers(&app, backend, &format!("UPDATE audit_seals SET hash = '{}' WHERE event_id = {forged}", "ab".repeat(32))).await;
    let v = audit_chain::verify(&app.db).await.unwrap();
    assert_eq!(v.broken.as_ref().map(|b| b.0), Some(forged), "{v:?}");
    let get = |id: i64| app::backend::db::audit::get(&app.db, id, app::backend::db::audit::DEFAULT_QUERY_TIMEOUT);
    let rehash = audit_chain::link_hash(get(ids[4]).await.unwrap().unwrap().chain_hash.as_deref().unwrap(), &get(forged).await.unwrap().unwrap());
    bypassing_triggers(&app, backend, &format!("UPDATE audit_seals SET hash = '{rehash}' WHERE event_id = {forged}")).await;
    assert!(audit_chain::verify(&app.db).await.unwrap().ok(), "restored, it verifies again");

    let deleted = ids[6];
    bypassing_triggers(&app, backend, &format!("DELETE FROM audit_events WHERE id = {deleted}")).await;
    let v = audit_chain::verify(&app.db).await.unwrap();
    assert_eq!(v.broken.as_ref().map(|b| b.0), Some(ids[7]), "{v:?}");
    assert!(v.broken.as_ref().unwrap().1.contains("removed"), "{v:?}");
    let (ok, out) = cli_verify(&app);
    assert!(!ok && out.contains(&format!("BROKEN at event {}", ids[7])), "{out}");
}

async fn the_database_refuses_tampering(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let id = record(&app.db, Ev::new("auth.login", Outcome::Failure, Utc::now())).await;
    let unsealed = record(&app.db, Ev::new("auth.login", Outcome::Failure, Utc::now())).await;
    // Seal only the first: the second stays unsealed for the checks below.
    let db = &app.db;
    let v = {
        audit_chain::seal_pending(db).await.unwrap();
        audit_chain::verify(db).await.unwrap()
    };
    assert!(v.ok());
    for sql in [
        format!("UPDATE audit_events SET ip = '1.2.3.4' WHERE id = {id}"),
        format!("UPDATE audit_events SET id = id + 1000 WHERE id = {unsealed}"),
        format!("UPDATE audit_seals SET hash = 'x' WHERE event_id = {id}"),
        format!("DELETE FROM audit_events WHERE id = {id}"),
        format!("DELETE FROM audit_seals WHERE event_id = {id}"),
        "DELETE FROM audit_events".to_owned(),
        "DELETE FROM audit_seals".to_owned(),
        "UPDATE audit_chain SET sealed_id = 0".to_owned(),
        format!("UPDATE audit_chain SET anchor_id = {id}, anchor_hash = 'forged'"),
        "DELETE FROM audit_chain".to_owned(),
        "INSERT INTO audit_chain (id, sealed_id, sealed_hash, anchor_id, anchor_hash) VALUES (2, 0, '', 0, '')".to_owned(),
    ] {
        assert!(app.exec(&sql).await.is_err(), "refused: {sql}");
    }
    if backend == Backend::Postgres {
        assert!(app.exec("TRUNCATE audit_events").await.is_err());
        assert!(app.exec("TRUNCATE audit_seals").await.is_err());
    }
    assert!(audit_chain::verify(db).await.unwrap().ok());
}

async fn retention_archives_then_deletes_and_the_chain_still_verifies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let old = Utc::now() - Duration::days(400);
    let mut old_ids = Vec::new();
    for i in 0..30 {
        let ev = Ev { details: serde_json::json!({ "n": i }), ..Ev::new("registry.token", Outcome::Success, old + Duration::minutes(i)) };
        old_ids.push(record(&app.db, ev).await);
    }
    token_batch(&app.db, 1_200, old, "pull-old", "192.0.2.9").await;
    let late = record(&app.db, Ev::new("auth.login", Outcome::Failure, Utc::now() - Duration::days(10))).await;
    // Stamped old but written after a recent one: kept, so nothing recent goes early.
    let stray = record(&app.db, Ev::new("auth.login", Outcome::Failure, old)).await;
    let before = sealed_and_verified(&app.db).await;
    assert!(before.ok(), "{before:?}");

    let dir = tempfile::tempdir().unwrap();
    let r = audit_retention::retain(&app.db, Utc::now() - Duration::days(365), dir.path()).await.unwrap();
    let archive = r.archive.clone().expect("an archive");
    let (head_id, head_hash) = r.head.clone().unwrap();
    assert_eq!(head_id, late - 1, "the cut is just before the first recent event");
    assert!(r.deleted >= 1_230, "{r:?}");
    let (n, head) = audit_retention::verify_archive(&archive).unwrap();
    assert_eq!((n, head.clone()), (r.deleted, (head_id, head_hash.clone())));
    let text = std::fs::read_to_string(&archive).unwrap();
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(first["prev_hash"], audit_chain::GENESIS);
    assert!(text.lines().last().unwrap().contains(&head_hash), "the footer names the chain head at the cut");

    let remaining = app.audit().await;
    assert!(remaining.iter().all(|e| e.4.get("n").is_none()), "the old events are gone");
    let searchable: Vec<i64> = crate::support::audit::search_rows(&app.db).await.into_iter().map(|r| r.0).collect();
    assert_eq!(searchable, crate::support::audit::event_ids(&app.db).await, "their search rows went with them");
    assert!(remaining.iter().any(|e| e.0 == "audit.retention" && e.4["chain_head"]["hash"] == head_hash.as_str()), "retention is audited");
    let _ = stray;

    // More events; verify passes across the cut, the CLI too.
    record(&app.db, Ev::new("auth.login", Outcome::Failure, Utc::now())).await;
    let v = sealed_and_verified(&app.db).await;
    assert!(v.ok(), "{v:?}");
    assert_eq!((v.state.anchor_id, v.state.anchor_hash.as_str()), (head_id, head_hash.as_str()));
    let (ok, out) = cli_verify(&app);
    assert!(ok && out.contains("audit chain OK"), "{out}");

    // Deleting past the anchor is still refused; a second run finds nothing old.
    assert!(app.exec(&format!("DELETE FROM audit_events WHERE id = {late}")).await.is_err());
    let again = audit_retention::retain(&app.db, Utc::now() - Duration::days(365), dir.path()).await.unwrap();
    assert_eq!((again.archive, again.deleted), (None, 0));
    let dir_arg = dir.path().to_string_lossy().into_owned();
    let (ok, out) = cli(&app, &["audit", "retain", "--days", "365", "--archive-dir", &dir_arg]);
    assert!(ok && out.contains("no events older than"), "{out}");
    let archive_arg = archive.to_string_lossy().into_owned();
    let (ok, out) = cli(&app, &["audit", "verify", "--archive", &archive_arg]);
    assert!(ok && out.contains(&format!("{} events, chain head at event {head_id}", r.deleted)) && out.contains("audit chain OK"), "{out}");

    // A tampered archive is noticed.
    let forged = text.replacen("192.0.2.9", "192.0.2.10", 1);
    let path = dir.path().join("forged.jsonl");
    std::fs::write(&path, forged).unwrap();
    assert!(audit_retention::verify_archive(&path).unwrap_err().contains("hash does not match"));
    let (ok, out) = cli(&app, &["audit", "verify", "--archive", &path.to_string_lossy()]);
    assert!(!ok && out.contains("hash does not match"), "{out}");
}
