//! The auditor's view of the audit log, on both databases: every filter of
//! `GET /api/v1/audit` (the page's server function shares the parser),
//! keyset pages that stay put while events arrive, the detail view, and the
//! CSV / JSON Lines exports (REST and the page's download link); the text
//! search and the time limit in `audit_search.rs`.

use app::domain::Role;
use app::backend::services::audit::Outcome;
use crate::support::audit::{record, token_batch, Ev};
use chrono::{Duration, TimeZone, Utc};
use crate::support::{self, api::Api, Backend};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

on_both_backends!(
    every_filter_selects_exactly_its_events,
    keyset_pages_stay_put_while_events_arrive,
    exports_stream_every_matching_event,
    the_page_the_detail_and_the_download_link_work_for_auditors_only,
    charts_count_pulls_per_product_and_denials_per_day,
    a_product_is_found_by_name_and_the_download_holds_what_the_page_lists,
);

struct Seeded {
    ids: Vec<i64>,
}

/// Nine events with distinct fields, at fixed times in 2026-03.
async fn seed(api: &Api) -> Seeded {
    let db = &api.app.db;
    let t = |d: u32, h: u32| Utc.with_ymd_and_hms(2026, 3, d, h, 0, 0).unwrap();
    let mut ids = Vec::new();
    let events = [
        Ev { repo: Some("acme/widget"), ip: Some("203.0.113.7"), subject: Some(7), details: json!({ "username": "pull-aaa", "scopes": ["pull"] }), ..Ev::new("registry.token", Outcome::Success, t(1, 9)) },
        Ev { repo: Some("acme/widget"), ip: Some("203.0.113.8"), subject: Some(7), details: json!({ "username": "pull-aaa", "reason": "expired" }), ..Ev::new("registry.token", Outcome::Denied, t(2, 9)) },
        Ev { repo: Some("acme/gadget"), ip: Some("203.0.113.7"), subject: Some(8), details: json!({ "username": "pull-bbb", "reason": "no entitlement" }), ..Ev::new("registry.token", Outcome::Denied, t(3, 9)) },
        Ev { repo: Some("acme/widget"), ip: Some("2001:db8::1"), subject: Some(7), details: json!({ "credential": "pull-aaa", "tag": "1.2.3" }), ..Ev::new("registry.pull", Outcome::Success, t(4, 9)) },
        Ev { repo: Some("acme/gadget"), ip: Some("198.51.100.1"), subject: None, details: json!({ "credential": "push-ci", "tag": "2.0" }), ..Ev::new("registry.push", Outcome::Success, t(5, 9)) },
        Ev { subject: Some(8), details: json!({ "username": "pull-bbb", "name": "laptop" }), ..Ev::new("credential.create", Outcome::Success, t(6, 9)) },
        Ev { ip: Some("203.0.113.7"), details: json!({ "reason": "bad password 100%_sure" }), ..Ev::new("auth.login", Outcome::Failure, t(7, 9)) },
        Ev { subject: Some(7), details: json!({ "product": "Widget" }), ..Ev::new("entitlement.grant", Outcome::Success, t(8, 9)) },
        Ev { ip: Some("203.0.113.9"), details: json!({ "path": "/fn/admin/x", "role": "auditor" }), ..Ev::new("authz.denied", Outcome::Denied, t(9, 9)) },
    ];
    for e in events {
        ids.push(record(db, e).await);
    }
    Seeded { ids }
}

/// The ids (oldest first, as indexes into `seeded.ids`) a query returns.
async fn found(api: &Api, s: &Seeded, query: &str) -> Vec<usize> {
    let (status, body) = api.get(&format!("/api/v1/audit?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    let mut got: Vec<usize> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| s.ids.iter().position(|id| Some(*id) == e["id"].as_i64()))
        .collect();
    got.reverse();
    got
}

async fn every_filter_selects_exactly_its_events(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let seeded_only = "from=2026-03-01&to=2026-03-31";
    let cases: &[(&str, &[usize])] = &[
        ("", &[0, 1, 2, 3, 4, 5, 6, 7, 8]),
        ("from=2026-03-03&to=2026-03-05", &[2, 3, 4]),
        ("from=2026-03-03T09:00:00Z&to=2026-03-03T09:00:01Z", &[2]),
        ("to=2026-03-02T09:00", &[0]),
        ("customer=7", &[0, 1, 3, 7]),
        ("member=7", &[0, 1, 3, 7]),
        ("credential=pull-aaa", &[0, 1, 3]),
        ("credential=pull-bbb", &[2, 5]),
        ("credential=push-ci", &[4]),
        ("repository=acme/widget", &[0, 1, 3]),
        ("repository=acme/gadget", &[2, 4]),
        ("action=registry.token", &[0, 1, 2]),
        ("action=registry.*", &[0, 1, 2, 3, 4]),
        ("action=registry.", &[0, 1, 2, 3, 4]),
        ("outcome=granted", &[0, 3, 4, 5, 7]),
        ("outcome=denied", &[1, 2, 8]),
        ("outcome=failure", &[6]),
        ("ip=203.0.113.7", &[0, 2, 6]),
        ("ip=2001:DB8:0::1", &[3]),
        ("q=EXPIRED", &[1]),
        ("q=100%25_sure", &[6]),
        ("q=%25", &[6]),
        ("q=_", &[6]),
        ("q=laptop", &[5]),
        ("customer=7&outcome=denied&repository=acme/widget", &[1]),
        ("action=registry.token&ip=203.0.113.7&credential=pull-bbb", &[2]),
        ("q=nothing-like-this", &[]),
    ];
    // Time filters read sealed events through `audit_hours`, newer ones
    // directly: the answers must not depend on how far sealing has got.
    for round in ["as written", "sealed"] {
        if round == "sealed" {
            app::backend::services::audit::chain::seal_pending(&api.app.db).await.unwrap();
        }
        for (query, expected) in cases {
            let q = match *query {
                "" => seeded_only.to_owned(),
                q if q.contains("from=") || q.contains("to=") => q.to_owned(),
                q => format!("{seeded_only}&{q}"),
            };
            assert_eq!(found(&api, &s, &q).await, expected.to_vec(), "{round}: {query}");
        }
        // Paging a time range two at a time visits each event once, newest first.
        let mut seen = Vec::new();
        let mut before = String::new();
        for _ in 0..10 {
            let (_, page) = api.get(&format!("/api/v1/audit?{seeded_only}&limit=2{before}")).await;
            seen.extend(ids(&page));
            match page["next_before"].as_i64() {
                Some(b) => before = format!("&before={b}"),
                None => break,
            }
        }
        assert_eq!(seen, s.ids.iter().rev().copied().collect::<Vec<_>>(), "{round}");
    }
    // An event stamped inside the range but written after it was sealed.
    let late = record(&api.app.db, Ev::new("auth.login", Outcome::Failure, Utc.with_ymd_and_hms(2026, 3, 3, 12, 0, 0).unwrap())).await;
    let (_, page) = api.get("/api/v1/audit?from=2026-03-03&to=2026-03-03").await;
    assert_eq!(ids(&page), vec![late, s.ids[2]], "late events are found before and after sealing");
    app::backend::services::audit::chain::seal_pending(&api.app.db).await.unwrap();
    let (_, page) = api.get("/api/v1/audit?from=2026-03-03&to=2026-03-03").await;
    assert_eq!(ids(&page), vec![late, s.ids[2]]);
    // Bad values are refused, naming the field; nothing is spliced into SQL.
    for (query, field) in [
        ("from=last-week", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("customer=abc", "customer"),
        ("action=x%27%20OR%201=1", "action"),
        ("outcome=maybe", "outcome"),
        ("ip=300.1.1.1", "ip"),
        ("limit=0", "limit"),
        ("format=xml", "format"),
        ("colour=red", "colour"),
    ] {
        let (status, body) = api.get(&format!("/api/v1/audit?{query}")).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::UNPROCESSABLE_ENTITY, "{query}: {status} {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    // One event by id, for the auditor key too.
    let (status, one) = api.call(Some(&api.auditor), reqwest::Method::GET, &format!("/api/v1/audit/{}", s.ids[3]), None).await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!((one["action"].as_str(), one["ip"].as_str(), one["details"]["tag"].as_str()), (Some("registry.pull"), Some("2001:db8::1"), Some("1.2.3")));
    assert_eq!(one["occurred_at"], "2026-03-04T09:00:00.000000Z");
    assert_eq!(api.get("/api/v1/audit/999999999").await.0, StatusCode::NOT_FOUND);
}

async fn keyset_pages_stay_put_while_events_arrive(backend: Backend) {
    let api = Api::spawn(backend).await;
    let at = Utc::now() - Duration::hours(1);
    token_batch(&api.app.db, 250, at, "pull-page", "192.0.2.1").await;
    let q = "/api/v1/audit?credential=pull-page&limit=100";
    let (_, first) = api.get(q).await;
    let cursor = first["next_before"].as_i64().expect("a next page");
    // New events arrive between the pages: they do not shift the next one.
    token_batch(&api.app.db, 50, Utc::now(), "pull-page", "192.0.2.1").await;
    let mut seen: Vec<i64> = ids(&first);
    let mut next = Some(cursor);
    let mut pages = 1;
    while let Some(before) = next {
        let (status, page) = api.get(&format!("{q}&before={before}")).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        seen.extend(ids(&page));
        next = page["next_before"].as_i64();
        pages += 1;
        assert!(pages <= 5, "paging ends");
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 250, "exactly the events there were when paging began");
    assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
    let (_, now) = api.get(q).await;
    assert_eq!(ids(&now).len(), 100);
    assert!(ids(&now)[0] > seen[0], "the newest page now starts with the new events");
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect()
}

async fn exports_stream_every_matching_event(backend: Backend) {
    let api = Api::spawn(backend).await;
    let at = Utc.with_ymd_and_hms(2026, 4, 1, 12, 0, 0).unwrap();
    token_batch(&api.app.db, 2_345, at, "pull-export", "192.0.2.5").await;
    token_batch(&api.app.db, 10, at, "pull-other", "192.0.2.6").await;
    let nasty = Ev { ip: Some("192.0.2.5"), details: json!({ "username": "pull-export", "note": "=HYPERLINK(\"http://evil\"),\"quoted\"\nline" }), ..Ev::new("auth.login", Outcome::Failure, at) };
    let nasty_id = record(&api.app.db, nasty).await;

    let res = api.app.client.get(api.app.url("/api/v1/audit?credential=pull-export&format=csv")).bearer_auth(&api.auditor).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"portcullis-audit-"));
    let csv = res.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(lines.next(), Some("id,occurred_at,actor,actor_user_id,action,outcome,target_type,target_id,subject_user_id,ip,user_agent,details,chain_hash,organisation_id"));
    let rows: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    // More than one keyset page (1,000) of the export; the JSON escapes the newline.
    assert_eq!(rows.len(), 2_345 + 1, "{}", &csv[..300]);
    assert!(rows[0].starts_with(&format!("{nasty_id},2026-04-01T12:00:00.000000Z,system,,auth.login,failure,,,,192.0.2.5,test-agent/1.0,")), "{}", rows[0]);
    assert!(rows[0].contains("\"{\"\"note\"\":\"\"=HYPERLINK("), "the JSON is one quoted field: {}", rows[0]);
    assert!(rows[1].contains(",registry.token,") && rows[2].contains(",repository,acme/bulk,,192.0.2.5,docker/27,"), "{}", rows[1]);

    let res = api.app.client.get(api.app.url("/api/v1/audit?credential=pull-export&outcome=denied&format=jsonl")).bearer_auth(&api.admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/jsonl; charset=utf-8");
    let body = res.text().await.unwrap();
    let events: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 1_172, "the denied half");
    assert!(events.iter().all(|e| e["outcome"] == "denied" && e["details"]["username"] == "pull-export" && e["target_id"] == "acme/bulk"));
    assert!(events.windows(2).all(|w| w[0]["id"].as_i64() > w[1]["id"].as_i64()), "newest first, no repeats");
}

async fn the_page_the_detail_and_the_download_link_work_for_auditors_only(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let app = &api.app;
    let (auditor, _) = app.logged_in(Role::Auditor).await;
    let (customer, _) = app.logged_in(Role::Customer).await;

    let html = app.get(&auditor, "/audit?credential=pull-aaa&from=2026-03-01").await.text().await.unwrap();
    assert_eq!(html.matches("data-testid=\"audit-row\"").count(), 3, "{html}");
    assert!(html.contains(&format!("href=\"/audit/events/{}\"", s.ids[3])));
    assert!(html.contains("datetime=\"2026-03-04T09:00:00Z\""), "times carry their RFC 3339 form for the local-time hover");
    assert!(html.contains("/audit/export?credential=pull-aaa&amp;from=2026-03-01&amp;format=csv") || html.contains("/audit/export?from=2026-03-01&amp;credential=pull-aaa&amp;format=csv"), "the download keeps the filter");

    let detail = app.get(&auditor, &format!("/audit/events/{}", s.ids[1])).await.text().await.unwrap();
    assert!(detail.contains("expired") && detail.contains("203.0.113.8") && detail.contains("/audit?customer=7"), "{detail}");
    assert!(detail.contains("/audit?credential=pull-aaa") && detail.contains("/audit?repository=acme%2Fwidget"), "{detail}");

    // The server function: auditors read, customers are refused, bad filters are named.
    let ok = app.call(&auditor, "audit/search", &[("filter[action]", "registry.*"), ("filter[from]", "2026-03-01")]).await;
    assert_eq!(ok.status(), StatusCode::OK);
    let page = support::json(ok).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 5, "{page}");
    assert_eq!(app.call(&customer, "audit/search", &[]).await.status(), StatusCode::FORBIDDEN);
    // An empty filter is sent as nothing at all (as the hydrated page does).
    let all = app.call(&auditor, "audit/search", &[]).await;
    assert_eq!(all.status(), StatusCode::OK);
    assert!(support::json(all).await["events"].as_array().is_some_and(|e| e.len() >= 9));
    let bad = app.call(&auditor, "audit/search", &[("filter[ip]", "nope")]).await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.call(&customer, "audit/event", &[("id", &s.ids[0].to_string())]).await.status(), StatusCode::FORBIDDEN);

    // The page's download link: the session decides.
    let url = app.url("/audit/export?repository=acme/widget&from=2026-03-01&format=jsonl");
    let res = auditor.get(&url).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let lines: Vec<Value> = res.text().await.unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let got: BTreeSet<i64> = lines.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert_eq!(got, [0, 1, 3].iter().map(|i| s.ids[*i]).collect());
    assert_eq!(customer.get(&url).send().await.unwrap().status(), StatusCode::FORBIDDEN);
    assert_eq!(support::client().get(&url).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let exports: Vec<_> = app.audit().await.into_iter().filter(|e| e.0 == "audit.export").collect();
    assert_eq!(exports.len(), 1, "who exported what is recorded");
    assert_eq!(exports[0].4["filter"]["repository"], "acme/widget");
}

async fn charts_count_pulls_per_product_and_denials_per_day(backend: Backend) {
    let api = Api::spawn(backend).await;
    support::api::seed(&api).await; // "Widget Pro": acme/widget and acme/widget-*
    let db = &api.app.db;
    let now = Utc::now();
    let yesterday = now - Duration::days(1);
    for (repo, at, n) in [("acme/widget", now, 3), ("acme/widget-cli", now, 2), ("acme/unknown", now, 1), ("acme/widget", now - Duration::days(40), 7), ("acme/widget", yesterday, 4)] {
        for _ in 0..n {
            record(db, Ev { repo: Some(repo), ..Ev::new("registry.pull", Outcome::Success, at) }).await;
        }
    }
    for _ in 0..2 {
        record(db, Ev { repo: Some("acme/gadget"), ..Ev::new("registry.token", Outcome::Denied, yesterday) }).await;
    }
    app::backend::services::audit::chain::seal_pending(db).await.unwrap();
    let (auditor, _) = api.app.logged_in(Role::Auditor).await;
    let res = api.app.call(&auditor, "audit/charts", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let data = support::json(res).await;
    let days = data["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[29], now.format("%Y-%m-%d").to_string());
    let series = |name: &str| -> Vec<i64> {
        data["pulls"].as_array().unwrap().iter().find(|s| s[0] == name).map(|s| s[1].as_array().unwrap().iter().map(|v| v.as_i64().unwrap()).collect()).unwrap_or_default()
    };
    let widget = series("Widget Pro");
    assert_eq!((widget[29], widget[28], widget.iter().sum::<i64>()), (5, 4, 9), "{data}");
    assert_eq!(series("Other")[29], 1, "{data}");
    assert_eq!((data["denials"][28].as_i64(), data["denials"][29].as_i64()), (Some(2), Some(0)), "{data}");

    let html = api.app.get(&auditor, "/audit").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"chart-pulls\"") && html.contains("<svg"), "the audit page draws the charts");
    assert!(html.contains(&format!("{}: 5 pulls (Widget Pro)", now.format("%Y-%m-%d"))), "each bar says what it is");
    let (admin, _) = api.app.logged_in(Role::Admin).await;
    let html = api.app.get(&admin, "/admin").await.text().await.unwrap();
    assert!(html.contains("data-testid=\"chart-denials\""), "and so does the dashboard");
}

/// The product filter (REST by id, the page by name or slug) finds the
/// product's catalogue changes, the events naming it and the decisions on
/// its exact repositories; the page's download link reads the page's
/// spellings (a customer by e-mail, a product by name) and holds what the
/// page lists.
async fn a_product_is_found_by_name_and_the_download_holds_what_the_page_lists(backend: Backend) {
    let api = Api::spawn(backend).await;
    let app = &api.app;
    // Widget Pro (acme/widget, acme/widget-*), granted to buyer@example.com.
    let widget = support::api::seed(&api).await;
    let (status, gadget) = api.post("/api/v1/products", json!({ "name": "Gadget", "repositories": ["acme/gadget"] })).await;
    assert_eq!(status, StatusCode::CREATED, "{gadget}");
    let now = Utc::now();
    let token = |repo: &'static str| Ev { repo: Some(repo), subject: Some(widget.customer), ..Ev::new("registry.token", Outcome::Success, now) };
    let on_widget = record(&app.db, token("acme/widget")).await;
    let on_pattern = record(&app.db, token("acme/widget-extra")).await;
    let on_gadget = record(&app.db, token("acme/gadget")).await;

    let (status, page) = api.get(&format!("/api/v1/audit?product={}", widget.product)).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let items = page["items"].as_array().unwrap();
    let got: BTreeSet<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    let actions: BTreeSet<&str> = items.iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert!(actions.contains("product.create") && actions.contains("entitlement.grant") && actions.contains("registry.token"), "{actions:?}");
    assert!(got.contains(&on_widget), "a decision on its repository");
    assert!(!got.contains(&on_gadget) && !got.contains(&on_pattern), "not another product's, not a wildcard's: {page}");
    assert!(items.iter().all(|e| e["details"]["name"] != "Gadget"), "not the other product's creation");
    let (status, bad) = api.get("/api/v1/audit?product=widget").await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("product")), "{bad}");

    // The page takes the name (any case) or the slug, and names the field of one it does not know.
    let (auditor, _) = app.logged_in(Role::Auditor).await;
    let search = |pairs: Vec<(&str, &str)>| {
        let auditor = auditor.clone();
        let pairs: Vec<(String, String)> = pairs.into_iter().map(|(k, v)| (format!("filter[{k}]"), v.to_owned())).collect();
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let res = app.call(&auditor, "audit/search", &pairs).await;
            (res.status(), support::json(res).await)
        }
    };
    let ids = |page: &Value| -> BTreeSet<i64> { page["events"].as_array().unwrap().iter().map(|e| e["id"].as_i64().unwrap()).collect() };
    for name in ["widget pro", "widget-pro"] {
        let (status, page) = search(vec![("product", name)]).await;
        assert_eq!(status, StatusCode::OK, "{name}: {page}");
        assert_eq!(ids(&page), got, "{name}");
    }
    let (status, unknown) = search(vec![("product", "Sprocket")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown}");
    assert!(unknown.to_string().contains("product"), "{unknown}");

    // The download link of a page filtered by a member's address and the product's name.
    let filters = [("customer", "buyer@example.com"), ("product", "Widget Pro"), ("action", "registry.token")];
    let (status, listed) = search(filters.to_vec()).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    assert_eq!(ids(&listed), [on_widget].into_iter().collect(), "{listed}");
    let query: Vec<String> = filters.iter().map(|(k, v)| format!("{k}={}", app::views::urlencode(v))).collect();
    let res = auditor.get(app.url(&format!("/audit/export?{}&format=jsonl", query.join("&")))).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let exported: BTreeSet<i64> = res.text().await.unwrap().lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["id"].as_i64().unwrap()).collect();
    assert_eq!(exported, ids(&listed), "the file holds what the page lists");
    let res = auditor.get(app.url("/audit/export?customer=nobody@example.com&format=csv")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "an unknown address is refused, not an empty file");
    assert!(res.text().await.unwrap().contains("customer"));
    let exports: Vec<_> = app.audit().await.into_iter().filter(|e| e.0 == "audit.export").collect();
    assert_eq!(exports.len(), 1, "{exports:?}");
    assert_eq!(exports[0].4["filter"]["product"], "Widget Pro");
}
