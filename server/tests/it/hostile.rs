//! Hostile input at every unauthenticated path, on SQLite and PostgreSQL,
//! as an attacker sends it: oversized values, NUL and control bytes,
//! invalid UTF-8, malformed base64, thousands of scopes, floods of unknown
//! names, slow clients. Each gets a 4xx (never a 5xx or a hang); the token
//! cache holds only what real credentials need; attempts that authenticate
//! nothing become a few counting audit rows, not one row each; and the
//! audit writer keeps writing other rows at once.

use crate::support::{client, json, Backend, Options, TestApp, PASSWORD};
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, credentials, customers, entitlements};
use app::backend::services::catalogue::ProductInput;
use app::backend::web::RequestMeta;
use app::domain::access::EntitlementSource;
use app::domain::audit_fields::DETAILS_MAX_BYTES;
use app::domain::credential::CredentialKind;
use base64::{engine::general_purpose::STANDARD, Engine};
use chrono::{Duration, Utc};
use app::domain::Role;
use reqwest::{header, StatusCode};
use std::{num::NonZeroU32, time::Duration as StdDuration};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

on_both_backends!(
    token_requests_are_bounded_and_cleaned_before_any_lookup,
    unknown_names_are_counted_not_cached_or_recorded_one_by_one,
    token_failures_are_limited_per_network_with_retry_after,
    notifications_and_webhooks_refuse_hostile_bodies,
    login_and_signup_refuse_hostile_fields,
    slow_clients_cannot_hold_the_listener,
    the_audit_log_stores_hostile_fields_cut_and_clean,
    free_text_with_control_characters_is_refused_on_its_field,
);

/// A NUL (which PostgreSQL refuses in text) or another control character in
/// a description, a note or a reason is a 422 on its field from the pages'
/// server functions as from the REST API, never a 500; line breaks stay.
async fn free_text_with_control_characters_is_refused_on_its_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in(Role::Admin).await;
    let saved = app
        .call(&admin, "admin/save_product", &[("name", "Widget"), ("slug", "widget"), ("repositories", "acme/widget"), ("description", "a\0b")])
        .await;
    assert_eq!(saved.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(saved.text().await.unwrap().contains("description"));
    let saved = app
        .call(&admin, "admin/save_product", &[("name", "Widget"), ("slug", "widget"), ("repositories", "acme/widget"), ("description", "line one\nline\ttwo")])
        .await;
    assert_eq!(saved.status(), StatusCode::OK);
    let product = json(saved).await["id"].as_i64().unwrap().to_string();
    let customer = app.create_user("buyer@example.com", PASSWORD, Role::Customer).await.to_string();
    let granted = app.call(&admin, "admin/grant", &[("customer_id", &customer), ("product_id", &product), ("note", "deal\u{1b}[31m")]).await;
    assert_eq!(granted.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(granted.text().await.unwrap().contains("note"));
}

async fn the_audit_log_stores_hostile_fields_cut_and_clean(backend: Backend) {
    use app::backend::services::audit::{record_alone, AuditEvent, Outcome};
    let app = TestApp::spawn(backend).await;
    let meta = RequestMeta { ip: None, user_agent: Some(format!("ua\u{0}{}", "u".repeat(100_000))), request_id: None };
    let scopes: Vec<String> = (0..10_000).map(|i| format!("repository:a{i}\u{0}:pull")).collect();
    let event = AuditEvent::new(Actor::Anonymous { claimed: Some("x".repeat(200_000)) }, "registry.token", Outcome::Denied)
        .target("repository", "a\u{0}b")
        .meta(&meta)
        .details(serde_json::json!({ "username": "y".repeat(200_000), "scopes": scopes }));
    let id = record_alone(&app.db, &event).await.expect("stored on both databases");
    let row = app::backend::db::audit::list_recent(&app.db, None, 10).await.unwrap().into_iter().find(|r| r.id == id).unwrap();
    let stored = row.actor.len() + row.user_agent.as_deref().unwrap_or("").len() + serde_json::to_string(&row.details.0).unwrap().len();
    assert!(stored < DETAILS_MAX_BYTES + 2_000, "{stored} bytes for a 400 KB request");
    assert_eq!(row.target_id.as_deref(), Some("a\u{FFFD}b"));
    assert!(!serde_json::to_string(&row.details.0).unwrap().contains("\\u0000"));
}

/// A customer entitled to `acme/widget` with a pull credential.
async fn entitled(app: &TestApp) -> (String, String) {
    let db = &app.db;
    let meta = RequestMeta::default();
    let c = customers::create(db, "buyer@example.com", None, Some(PASSWORD), Actor::System, &meta).await.unwrap().id;
    let input = ProductInput {
        name: "Widget".into(),
        slug: None,
        description: String::new(),
        contact_sales: false,
        repositories: vec!["acme/widget".into()],
    };
    let product = catalogue::create(db, &input, &[], Actor::System, &meta).await.unwrap();
    let grant = entitlements::Grant {
        customer_id: c,
        product_id: product.id,
        source: EntitlementSource::Manual,
        starts_at: Utc::now() - Duration::days(1),
        ends_at: None,
        note: None,
    };
    entitlements::grant(db, &grant, Actor::System, &meta).await.unwrap();
    let n = credentials::create(db, c, CredentialKind::Pull, "ci", None, None, Actor::System, &meta).await.unwrap();
    (n.username, n.secret)
}

/// `GET /registry/token?{query}` with a raw `Authorization` header.
async fn token_raw(app: &TestApp, query: &str, authorization: Option<&[u8]>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}?{query}", app.url("/registry/token")));
    if let Some(a) = authorization {
        req = req.header(header::AUTHORIZATION, header::HeaderValue::from_bytes(a).unwrap());
    }
    req.send().await.expect("an answer")
}

fn basic(user: &str, secret: &str) -> Vec<u8> {
    format!("Basic {}", STANDARD.encode(format!("{user}:{secret}"))).into_bytes()
}

/// A body over the limit is answered 413 from its `Content-Length`, before
/// it is read; the server may close the connection while the client is
/// still writing, which the client then sees as a broken pipe.
fn refused_as_too_large(sent: reqwest::Result<reqwest::Response>) -> bool {
    match sent {
        Ok(res) => res.status() == 413,
        Err(e) => e.is_request() && format!("{e:?}").contains("BodyWrite"),
    }
}

/// Whether a granted token request's own row arrives within 2.5 s (the
/// token service's audit writer batches them).
async fn grant_recorded(app: &TestApp) -> bool {
    for _ in 0..50 {
        if token_rows(app).await.iter().any(|r| r.outcome == "success") {
            return true;
        }
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
    false
}

async fn token_rows(app: &TestApp) -> Vec<app::backend::db::audit::AuditRow> {
    let rows = app::backend::db::audit::list_recent(&app.db, None, 10_000).await.unwrap();
    rows.into_iter().filter(|r| r.action == "registry.token").collect()
}

async fn token_requests_are_bounded_and_cleaned_before_any_lookup(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, secret) = entitled(&app).await;
    let good = basic(&user, &secret);
    let scope = "service=portcullis-registry&scope=repository:acme/widget:pull";

    let huge_user = basic(&"x".repeat(2_000), "s");
    let mut not_utf8 = b"Basic ".to_vec();
    not_utf8.extend(STANDARD.encode([0xff, 0xfe, b':', b'x']).as_bytes());
    // 10,000 scopes in one parameter (space-separated), within hyper's head limit.
    let ten_thousand = format!("scope={}", vec!["r:a:p"; 10_000].join("+"));
    let forty = (0..40).map(|i| format!("scope=repository:r{i}:pull")).collect::<Vec<_>>().join("&");
    let cases: Vec<(&str, String, Option<Vec<u8>>)> = vec![
        ("a NUL in a scope", "scope=repository:a%00b:pull".into(), Some(good.clone())),
        ("a control byte in the service", "service=portcullis%1b[31m".into(), Some(good.clone())),
        ("invalid UTF-8 in a scope", "scope=repository:a%ffb:pull".into(), Some(good.clone())),
        ("10,000 scopes", ten_thousand, Some(good.clone())),
        ("40 scopes", forty, Some(good.clone())),
        ("a 600-byte scope", format!("scope=repository:{}:pull", "a".repeat(600)), Some(good.clone())),
        ("a 2 KB user name", scope.into(), Some(huge_user)),
        ("malformed base64", scope.into(), Some(b"Basic !!!not-base64!!!".to_vec())),
        ("credentials that are not UTF-8", scope.into(), Some(not_utf8)),
        ("credentials without a colon", scope.into(), Some(format!("Basic {}", STANDARD.encode("nocolon")).into_bytes())),
        ("a NUL in the user name", scope.into(), Some(basic("pull-a\0b", "x"))),
    ];
    for (what, query, auth) in &cases {
        let res = token_raw(&app, query, auth.as_deref()).await;
        assert_eq!(res.status(), 400, "{what}");
        let body = json(res).await;
        assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.len() < 100), "{what}: {body}");
    }
    // A 200 KB user name never reaches the portal's code: the head is too large.
    let res = token_raw(&app, scope, Some(&basic(&"x".repeat(200_000), "s"))).await;
    assert_eq!(res.status(), 431);
    // A user name no credential can have is refused unread, as a wrong one.
    let res = token_raw(&app, scope, Some(&basic("Robert'); DROP TABLE--", "x"))).await;
    assert_eq!(res.status(), 401);

    // The audit writer was not held up: a good request right after is
    // recorded at once, and the bad ones are counted in a few rows.
    let res = token_raw(&app, scope, Some(&good)).await;
    assert_eq!(res.status(), 200);
    assert!(grant_recorded(&app).await, "the granted request is in the audit log within 2.5 s");
    app.flush_attempts().await;
    let rows = token_rows(&app).await;
    let malformed: u64 = rows.iter().filter(|r| r.details.0["reason"] == "malformed").map(|r| r.details.0["count"].as_u64().unwrap()).sum();
    assert_eq!(malformed, cases.len() as u64, "{rows:?}");
    assert!(rows.len() <= 6, "a handful of rows, not one per attempt: {}", rows.len());
    for r in &rows {
        let details = serde_json::to_string(&r.details.0).unwrap();
        assert!(details.len() <= DETAILS_MAX_BYTES && !details.contains("\\u0000"), "{details}");
        assert_eq!(r.ip.as_deref(), Some("127.0.0.1"));
    }
}

async fn unknown_names_are_counted_not_cached_or_recorded_one_by_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, secret) = entitled(&app).await;
    let scope = "service=portcullis-registry&scope=repository:acme/widget:pull";
    let mut asked = Vec::new();
    for i in 0..300 {
        let name = format!("pull-guess{i:05}");
        let res = token_raw(&app, scope, Some(&basic(&name, "secret"))).await;
        assert_eq!(res.status(), 401);
        asked.push(name);
    }
    assert_eq!(token_raw(&app, scope, Some(&basic(&user, &secret))).await.status(), 200);
    let (credentials, entitlements) = app.registry.services.tokens.cached_entries();
    assert_eq!((credentials, entitlements), (1, 1), "only the real credential and its owner are cached");

    app.flush_attempts().await;
    let rows = token_rows(&app).await;
    let guesses: Vec<_> = rows.iter().filter(|r| r.details.0["reason"] == "bad_credentials").collect();
    assert_eq!(guesses.iter().map(|r| r.details.0["count"].as_u64().unwrap()).sum::<u64>(), 300);
    assert!(guesses.len() <= 2, "one row per network and minute (two if the minute turned): {}", guesses.len());
    let sample = &guesses[0].details.0["sample"];
    assert!(asked.iter().any(|n| sample["username"] == n.as_str()), "{sample}");
    assert!(grant_recorded(&app).await, "the grant has its own row");
}

async fn token_failures_are_limited_per_network_with_retry_after(backend: Backend) {
    let mut edge = crate::support::test_edge();
    edge.token_failures_per_minute = NonZeroU32::new(5).unwrap();
    let app = TestApp::spawn_with(backend, Options { edge, ..Options::default() }).await;
    let (user, secret) = entitled(&app).await;
    let scope = "service=portcullis-registry&scope=repository:acme/widget:pull";
    for _ in 0..5 {
        assert_eq!(token_raw(&app, scope, Some(&basic("pull-nobody", "x"))).await.status(), 401);
    }
    let res = token_raw(&app, scope, Some(&basic(&user, &secret))).await;
    assert_eq!(res.status(), 429, "the network is refused before any look-up, good credentials included");
    let wait: u64 = res.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(json(res).await["errors"][0]["message"].as_str().unwrap().contains("try again"));
    app.flush_attempts().await;
    assert!(token_rows(&app).await.iter().any(|r| r.details.0["reason"] == "rate_limited"));
}

async fn notifications_and_webhooks_refuse_hostile_bodies(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let secret = app.registry.events_secret.clone();
    // Fresh clients: after an unread body the server closes the connection.
    let post = |body: Vec<u8>, bearer: &str| {
        client()
            .post(app.url("/registry/events"))
            .header(header::AUTHORIZATION, format!("Bearer {bearer}"))
            .header(header::CONTENT_TYPE, "application/vnd.docker.distribution.events.v1+json")
            .body(body)
            .send()
    };
    // A wrong secret: 401, counted; the body is never read.
    assert_eq!(post(b"{}".to_vec(), "wrong").await.unwrap().status(), 401);
    // More than 1 MiB: 413, whoever sends it.
    assert!(refused_as_too_large(post(vec![b' '; (1 << 20) + 1], &secret).await));
    // Not JSON: 400, naming where, not echoing what.
    let res = post(b"{\"events\": [\"<script>\x01".to_vec(), &secret).await.unwrap();
    assert_eq!(res.status(), 400);
    assert!(!res.text().await.unwrap().contains("script"));
    // Fields a client chose (user agent, tag) with NUL and escape bytes: on
    // PostgreSQL too, the delivery is recorded, cleaned, not refused for ever.
    let hostile = serde_json::json!({ "events": [{
        "id": "evt-nul", "action": "push", "timestamp": "2026-11-22T10:00:00Z",
        "target": { "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:abc",
                    "repository": "acme/widget", "tag": "v1\u{0}\u{1b}[2J" },
        "request": { "addr": "127.0.0.1:4000", "method": "PUT", "useragent": format!("ua\u{0}{}", "x".repeat(5000)) },
        "actor": { "name": "push-x\u{0}" },
    }]});
    let res = post(serde_json::to_vec(&hostile).unwrap(), &secret).await.unwrap();
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let audit = app.audit().await;
    let push = audit.iter().find(|e| e.0 == "registry.push").expect("the push is audited");
    assert_eq!(push.4["tag"], "v1\u{FFFD}\u{FFFD}[2J");

    // The webhook: over 1 MiB is 413 before anything else; without Stripe, 404.
    let hook = |body: Vec<u8>| client().post(app.url("/stripe/webhook")).body(body).send();
    assert!(refused_as_too_large(hook(vec![b'x'; (1 << 20) + 1]).await));
    assert_eq!(hook(b"{}".to_vec()).await.unwrap().status(), 404);

    app.flush_attempts().await;
    let audit = app.audit().await;
    let bad = audit.iter().find(|e| e.0 == "registry.events").expect("the wrong secret is counted");
    assert_eq!((bad.1.as_str(), bad.4["reason"].as_str(), bad.4["count"].as_u64()), ("denied", Some("bad_secret"), Some(1)));
}

async fn login_and_signup_refuse_hostile_fields(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = client();
    let long = "a".repeat(10_000) + "@example.com";
    for (fields, want) in [
        (vec![("email", long.as_str()), ("password", "x")], 422),
        (vec![("email", "a\0b@example.com"), ("password", "x")], 422),
        (vec![("email", "a@example.com"), ("password", &*"p".repeat(10_000))], 422),
    ] {
        for endpoint in ["login", "signup"] {
            let res = app.call(&c, endpoint, &fields).await;
            assert_eq!(res.status().as_u16(), want, "{endpoint} {:?}", &fields[0].1[..fields[0].1.len().min(20)]);
        }
    }
    // Bytes that are not UTF-8, and bodies over 1 MiB.
    for endpoint in ["login", "signup"] {
        let res = c
            .post(app.url(&format!("/fn/{endpoint}")))
            .header(header::ORIGIN, &app.base)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(b"email=%ff%fe&password=x".to_vec())
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{endpoint}: {}", res.status());
        // A client of its own: the server closes the connection it did not read.
        let sent = client()
            .post(app.url(&format!("/fn/{endpoint}")))
            .header(header::ORIGIN, &app.base)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(format!("email=a%40example.com&password={}", "x".repeat(2 << 20)))
            .send()
            .await;
        assert!(refused_as_too_large(sent), "{endpoint}");
    }
    // Nothing above wrote an audit row of its own.
    assert!(app.audit().await.iter().all(|e| !e.0.starts_with("auth.")));
}

/// A client that never finishes its request head, and idle kept-alive
/// connections, are closed after the header timeout; with the connection
/// cap taken by such clients, a real request is still answered soon after.
async fn slow_clients_cannot_hold_the_listener(backend: Backend) {
    let mut edge = crate::support::test_edge();
    edge.header_timeout = StdDuration::from_secs(1);
    edge.max_connections = 2;
    let app = TestApp::spawn_with(backend, Options { edge, ..Options::default() }).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let mut slow = Vec::new();
    for _ in 0..2 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        slow.push(s);
    }
    let started = std::time::Instant::now();
    let res = tokio::time::timeout(StdDuration::from_secs(10), app.client.get(app.url("/healthz")).send()).await;
    assert_eq!(res.expect("answered within 10 s").unwrap().status(), 200);
    assert!(started.elapsed() >= StdDuration::from_millis(500), "the cap held the request until a slot freed");
    for mut s in slow {
        let mut buf = [0u8; 256];
        let n = tokio::time::timeout(StdDuration::from_secs(5), s.read(&mut buf)).await.expect("closed, not held");
        // hyper may answer 408 before closing; either way the slot is freed.
        let n = n.unwrap_or(0);
        assert!(n == 0 || String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"), "{:?}", String::from_utf8_lossy(&buf[..n]));
    }
}
