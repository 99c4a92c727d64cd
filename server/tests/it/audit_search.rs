//! The audit log's text search on both databases:
//! every answer of `GET /api/v1/audit?q=` equals a plain scan in Rust over
//! the same events with the same rule (`domain::audit_search`), for short
//! and long, upper- and lowercase, non-ASCII and wildcard-looking queries,
//! combined with other filters and paged; a search past the time limit is
//! answered `search_too_broad`; the back-fill indexes events that predate
//! the search table, exactly once.

use crate::support::audit::{event_ids, record, search_rows, token_batch, Ev};
use crate::support::{
    self,
    api::{key, Api},
    Backend, Options, TestApp,
};
use app::backend::db::{
    self,
    audit::{AuditRow, NewAuditRow},
    Db,
};
use app::backend::services::audit::Outcome;
use app::domain::{audit_search::matches, Role};
use chrono::{Duration, TimeZone, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(
    text_search_answers_what_a_scan_answers,
    a_search_past_the_time_limit_asks_to_be_narrowed,
    the_backfill_indexes_older_events_once,
);

/// Detail values that trip naive matching: case beyond ASCII, LIKE and GLOB
/// wildcards, quotes, backslashes, FTS syntax, numbers, nesting.
fn nasty(i: usize) -> Value {
    let values = [
        json!({ "name": "Hans Müller", "city": "ÉCOLE de Paris" }),
        json!({ "note": "日本語のテキスト", "n": 42 }),
        json!({ "reason": "100% sure_thing" }),
        json!({ "quote": "it's \"quoted\" here", "path": "C:\\Temp\\x" }),
        json!({ "glob": "star*and?mark[1]", "fts": "a OR b NOT c NEAR(d)" }),
        json!({ "nested": { "deep": ["İstanbul", "STRASSE ẞ", { "greek": "ΣΑΣ" }] }, "ratio": 3.5 }),
        json!({ "secretkey": "value-only", "flag": true, "nothing": null }),
        json!({ "username": "pull-aaa", "tag": "1.2.3" }),
    ];
    values[i % values.len()].clone()
}

/// A few hundred events through both insert paths (one at a time and in a
/// batch), with chosen actors, user agents, IPs and targets.
async fn seed(db: &Db) {
    let t0 = Utc.with_ymd_and_hms(2026, 5, 1, 0, 0, 0).unwrap();
    for i in 0..120 {
        let ev = Ev {
            repo: (i % 3 == 0).then_some("acme/Widget"),
            ip: Some(["203.0.113.7", "2001:db8::1"][i % 2]),
            subject: Some(7 + (i % 4) as i64),
            details: nasty(i),
            ..Ev::new(["registry.token", "auth.login", "credential.create"][i % 3], Outcome::Success, t0 + Duration::minutes(i as i64))
        };
        record(db, ev).await;
    }
    let details: Vec<Value> = (0..180).map(nasty).collect();
    let actors = ["Åsa Öberg <asa@example.com>", "api key ERP (#3)", "system"];
    let agents = ["Docker/27.0 (Linux)", "Mozilla/5.0 \"quoted\" 50%_off"];
    let rows: Vec<NewAuditRow<'_>> = details
        .iter()
        .enumerate()
        .map(|(i, d)| NewAuditRow {
            occurred_at: t0 + Duration::hours(3 + i as i64),
            actor_user_id: None,
            actor: actors[i % 3],
            action: if i % 2 == 0 { "registry.token" } else { "registry.pull" },
            target_type: Some("repository"),
            target_id: Some(["acme/Gadget", "acme/日本"][i % 2]),
            outcome: if i % 5 == 0 { "denied" } else { "success" },
            ip: Some("198.51.100.4"),
            user_agent: Some(agents[i % 2]),
            details: d,
            subject_user_id: Some(9),
            subject_org_id: None,
        })
        .collect();
    let mut tx = db.begin().await.unwrap();
    db::audit::insert_many(&mut tx, &rows).await.unwrap();
    tx.commit().await.unwrap();
}

/// Every event, newest first, with its search text (the reference scan's input).
async fn all_events(db: &Db) -> Vec<(AuditRow, String)> {
    let rows = db::audit::list_recent(db, None, 10_000).await.unwrap();
    rows.into_iter()
        .map(|r| {
            let t = r.search_text();
            (r, t)
        })
        .collect()
}

/// Every id the API returns for `query`, newest first, following
/// `next_before` page by page.
async fn api_ids(api: &Api, query: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut before = String::new();
    for _ in 0..200 {
        let (status, page) = api.get(&format!("/api/v1/audit?{query}{before}")).await;
        assert_eq!(status, StatusCode::OK, "{query}: {page}");
        ids.extend(page["items"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()));
        match page["next_before"].as_i64() {
            Some(b) => before = format!("&before={b}"),
            None => return ids,
        }
    }
    panic!("{query}: paging does not end");
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn text_search_answers_what_a_scan_answers(backend: Backend) {
    let api = Api::spawn(backend).await;
    let db = &api.app.db;
    seed(db).await;
    let events = all_events(db).await;
    assert!(events.len() >= 300);
    let queries = [
        // One and two characters: a scan, still exact.
        "ü", "Ü", "7", "%", "_", "'", "\"", "\\", "*", "?", "[", "日", "日本", "a_", "%_", "ẞ",
        // Three and more: the trigram index.
        "müller", "MÜLLER", "école", "ÉCOLE", "日本語", "acme/日本", "100%", "% s", "sure_thing", "e_t", "it's",
        "\"quoted\"", "c:\\temp", "\\x", "star*", "*and?", "mark[1]", "[1]", "r*a", "a or b", "near(", "İSTANBUL",
        "i̇stanbul", "strasse ß", "σας", "ΣΑΣ", "3.5", "42", "1.2.3", "pull-aaa", "PULL-", "åsa öberg", "(#3)",
        "docker/27", "50%_off", "acme/widget", "2001:DB8", "203.0.113", "198.51.100.4",
        // Keys, booleans and nulls are not searched; no hit at all.
        "secretkey", "true", "null", "zzzz-not-there", "ü\u{301}",
    ];
    for q in queries {
        let expected: Vec<i64> = events.iter().filter(|(_, t)| matches(t, q)).map(|(r, _)| r.id).collect();
        let got = api_ids(&api, &format!("q={}&limit=1000", enc(q))).await;
        assert_eq!(got, expected, "q={q:?}");
        // Combined with another filter, paged seven at a time.
        let combined: Vec<i64> = events
            .iter()
            .filter(|(r, t)| matches(t, q) && r.action == "registry.token")
            .map(|(r, _)| r.id)
            .collect();
        let got = api_ids(&api, &format!("q={}&action=registry.token&limit=7", enc(q))).await;
        assert_eq!(got, combined, "q={q:?} & action=registry.token");
    }
    // Sanity: the rule really does find things, and the usual kinds of hit.
    let hits = |q: &str| events.iter().filter(|(_, t)| matches(t, q)).count();
    assert!(hits("müller") > 10 && hits("%") > 10 && hits("[") > 10 && hits("secretkey") == 0);
    // A time range (ids through the sealer's hours) and a person, with text.
    app::backend::services::audit::chain::seal_pending(db).await.unwrap();
    let from = Utc.with_ymd_and_hms(2026, 5, 2, 0, 0, 0).unwrap();
    let to = Utc.with_ymd_and_hms(2026, 5, 5, 0, 0, 0).unwrap();
    for q in ["日本", "müller", "%", "acme/gadget"] {
        let expected: Vec<i64> = events
            .iter()
            .filter(|(r, t)| matches(t, q) && r.occurred_at >= from && r.occurred_at < to && r.subject_user_id == Some(9))
            .map(|(r, _)| r.id)
            .collect();
        let got = api_ids(&api, &format!("q={}&from=2026-05-02&to=2026-05-04&member=9&limit=5", enc(q))).await;
        assert_eq!(got, expected, "q={q:?} in a time range");
        assert!(!expected.is_empty(), "q={q:?} finds something in the range");
    }
    // The auditor page's server function applies the same rule.
    let (auditor, _) = api.app.logged_in(Role::Auditor).await;
    let res = api.app.call(&auditor, "audit/search", &[("filter[q]", "ÉCOLE")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = support::json(res).await;
    let expected: Vec<i64> = events.iter().filter(|(_, t)| matches(t, "école")).map(|(r, _)| r.id).take(50).collect();
    let got: Vec<i64> = page["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(got, expected);
}

async fn a_search_past_the_time_limit_asks_to_be_narrowed(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options { audit_query_timeout: std::time::Duration::from_millis(1), ..Default::default() }).await;
    let (admin, auditor) = (key(&app, "erp", Role::Admin).await, key(&app, "reporting", Role::Auditor).await);
    let api = Api { app, admin, auditor };
    // Enough events that scanning them for a two-letter text takes well
    // over a millisecond.
    for _ in 0..4 {
        token_batch(&api.app.db, 10_000, Utc::now(), "pull-many", "192.0.2.1").await;
    }
    let (status, body) = api.get("/api/v1/audit?q=zq").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "search_too_broad", "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("narrow your search"), "{body}");
    // An export that cannot read its first page answers the same, before any byte.
    let res = api.app.client.get(api.app.url("/api/v1/audit?q=zq&format=csv")).bearer_auth(&api.auditor).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(support::json(res).await["error"]["code"], "search_too_broad");
    // The auditor page says it in words, and its server function answers 422.
    let (auditor, _) = api.app.logged_in(Role::Auditor).await;
    let res = api.app.call(&auditor, "audit/search", &[("filter[q]", "zq")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = api.app.get(&auditor, "/audit?q=zq").await.text().await.unwrap();
    assert!(html.contains("narrow your search"), "{html}");
    // The pool is not poisoned: a cheap read on the same connections works.
    // (With a 1 ms limit even that may be stopped; a stopped read is a 422,
    // never a 500.)
    for _ in 0..10 {
        let (status, body) = api.get("/api/v1/audit?limit=1").await;
        assert!(status == StatusCode::OK || body["error"]["code"] == "search_too_broad", "{status} {body}");
    }
}

async fn the_backfill_indexes_older_events_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    seed(db).await;
    let rows = search_rows(db).await;
    assert_eq!(rows.iter().map(|r| r.0).collect::<Vec<_>>(), event_ids(db).await, "every insert path writes its search row");
    // Pretend a third of the events predate the search table: their rows
    // gone, the back-fill's mark back at the start.
    let forget = match backend {
        Backend::Sqlite => "DELETE FROM audit_search WHERE rowid % 3 = 0",
        Backend::Postgres => "DELETE FROM audit_search WHERE event_id % 3 = 0",
    };
    let forgotten = app.exec(forget).await.unwrap();
    assert!(forgotten >= 90);
    app.exec("UPDATE audit_search_backfill SET done_upto = 0").await.unwrap();
    // Two replicas starting at once: together they index each event once.
    let (a, b) = tokio::join!(db::audit_search::index_pending(db), db::audit_search::index_pending(db));
    assert_eq!(a.unwrap() + b.unwrap(), forgotten);
    let expected: Vec<(i64, String)> = {
        let mut all: Vec<(i64, String)> = all_events(db).await.into_iter().map(|(r, t)| (r.id, t)).collect();
        all.sort();
        all
    };
    assert_eq!(search_rows(db).await, expected, "a row for every event, with the text the rule gives");
    assert_eq!(db::audit_search::index_pending(db).await.unwrap(), 0, "a second run finds nothing to do");
    // And the search finds the re-indexed events.
    let hit = expected.iter().find(|(id, t)| id % 3 == 0 && t.contains("müller")).expect("a re-indexed Müller");
    let found = db::audit::search(db, &db::audit::Filter { text: Some("MÜLLER".into()), before: Some(hit.0 + 1), ..Default::default() }, 1, db::audit::DEFAULT_QUERY_TIMEOUT)
        .await
        .unwrap();
    assert_eq!(found.first().map(|r| r.id), Some(hit.0));
}
