//! The registry token service and the events endpoint over real HTTP, on
//! SQLite and PostgreSQL: what each credential is granted per scope, the
//! words a denied client shows, changes seen on the very next request, the
//! token's shape and signature, every decision in the audit log (also across
//! a clean shutdown), and notifications de-duplicated into pulls and tags.
//! The real registry and skopeo are exercised in `registry.rs`.

use app::domain::access::{EntitlementSource, EntitlementStatus};
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, credentials, customers, entitlements};
use app::backend::services::catalogue::ProductInput;
use app::domain::credential::CredentialKind as Kind;
use app::backend::services::entitlements::{Change, Grant};
use app::backend::web::RequestMeta;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{Duration, Utc};
use crate::support::{json, Backend, TestApp, PASSWORD};
use serde_json::{json, Value};

on_both_backends!(
    scopes_are_decided_per_credential_and_entitlement,
    changes_apply_to_the_next_request,
    every_decision_is_audited_including_at_shutdown,
    events_are_authenticated_deduplicated_and_recorded,
    a_repeated_grant_reuses_its_token_and_each_request_is_audited,
);

async fn a_repeated_grant_reuses_its_token_and_each_request_is_audited(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let (s1, first) = token(&app, Some(&w.pull), &["repository:acme/widget:pull"]).await;
    let (s2, again) = token(&app, Some(&w.pull), &["repository:acme/widget:pull"]).await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first["token"], again["token"], "the same grant moments later: the same token");
    assert!(again["expires_in"].as_i64().unwrap() <= first["expires_in"].as_i64().unwrap());
    // Another grant (another scope) is signed anew.
    let (_, other) = token(&app, Some(&w.pull), &["repository:acme/widget-extra:pull"]).await;
    assert_ne!(other["token"], first["token"]);
    // A revocation changes the decision: nothing is reused.
    credentials::revoke(&app.db, w.pull_id, Some(w.customer), Actor::System, &meta()).await.unwrap();
    assert_eq!(token(&app, Some(&w.pull), &["repository:acme/widget:pull"]).await.0, 401);
    let rows = app::backend::db::audit::list_recent(&app.db, None, 100).await.unwrap();
    let granted: Vec<_> = rows.iter().filter(|r| r.action == "registry.token" && r.outcome == "success").collect();
    assert_eq!(granted.len(), 3, "every request has its own row");
    assert_eq!(granted.iter().filter(|r| r.details.0["reused"] == true).count(), 1);
}

fn meta() -> RequestMeta {
    RequestMeta::default()
}

struct World {
    customer: i64,
    entitlement: i64,
    pull: (String, String),
    stranger: (String, String),
    push: (String, String),
    pull_id: i64,
}

async fn world(app: &TestApp) -> World {
    let db = &app.db;
    let c = customers::create(db, "buyer@example.com", Some("Buyer"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    let s = customers::create(db, "stranger@example.com", None, Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    let admin = app.create_user("vendor@example.com", PASSWORD, app::domain::Role::Admin).await;
    let input = ProductInput {
        name: "Widget".into(),
        slug: None,
        description: String::new(),
        contact_sales: false,
        repositories: vec!["acme/widget".into(), "acme/widget-*".into()],
    };
    let product = catalogue::create(db, &input, &[], Actor::System, &meta()).await.unwrap();
    let now = Utc::now();
    let grant = Grant {
        customer_id: c,
        product_id: product.id,
        source: EntitlementSource::Manual,
        starts_at: now - Duration::days(1),
        ends_at: Some(now + Duration::days(30)),
        note: None,
    };
    let e = entitlements::grant(db, &grant, Actor::System, &meta()).await.unwrap();
    let mk = |owner, kind| async move {
        let n = credentials::create(db, owner, kind, "cluster", None, None, Actor::System, &meta()).await.unwrap();
        (n.credential.id, (n.username, n.secret))
    };
    let (pull_id, pull) = mk(c, Kind::Pull).await;
    let (_, stranger) = mk(s, Kind::Pull).await;
    let (_, push) = mk(admin, Kind::Push).await;
    World { customer: c, entitlement: e.id, pull, stranger, push, pull_id }
}

/// `GET /registry/token` with these scopes (each a repeated `scope=`).
async fn token(app: &TestApp, creds: Option<&(String, String)>, scopes: &[&str]) -> (u16, Value) {
    let mut q: Vec<(&str, &str)> = vec![("service", "portcullis-registry")];
    q.extend(scopes.iter().map(|s| ("scope", *s)));
    let mut req = app.client.get(app.url("/registry/token")).query(&q).header("user-agent", "skopeo/1.9.3 test");
    if let Some((u, p)) = creds {
        req = req.basic_auth(u, Some(p));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, json(res).await)
}

fn message(body: &Value) -> String {
    body["errors"][0]["message"].as_str().unwrap_or_default().to_owned()
}

/// Decodes the JWT and checks its ES256 signature against the active key.
fn verify(app: &TestApp, body: &Value) -> (Value, Value) {
    let jwt = body["token"].as_str().expect("token");
    assert_eq!(body["access_token"], body["token"]);
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    let signer = app.registry.signer.current();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(crate::support::token_kid(&header), signer.kid, "the active key's certificate rides in x5c");
    let public = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, signer.public_key());
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
    assert_eq!(signature.len(), 64, "JOSE r||s, not DER");
    public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature).expect("signature verifies");
    (header, claims)
}

async fn scopes_are_decided_per_credential_and_entitlement(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;

    // A login (no scope): 200 with empty access for good credentials only.
    let (status, body) = token(&app, Some(&w.pull), &[]).await;
    assert_eq!(status, 200, "{body}");
    let (_, claims) = verify(&app, &body);
    assert_eq!(claims["access"], json!([]));
    assert_eq!(claims["aud"], "portcullis-registry", "aud is a string");
    assert_eq!(claims["iss"], "portcullis");
    assert_eq!(claims["sub"], w.pull.0.as_str());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 300);
    assert_eq!(body["expires_in"], 300);
    let (status, body) = token(&app, None, &[]).await;
    assert_eq!((status, body["errors"][0]["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let wrong = (w.pull.0.clone(), "not-the-secret".to_owned());
    let (status, body) = token(&app, Some(&wrong), &["repository:acme/widget:pull"]).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("invalid user name or secret"), "{body}");

    // Repeated, duplicated scopes: one grant of pull; push is never a customer's.
    let (status, body) = token(
        &app,
        Some(&w.pull),
        &["repository:acme/widget:pull", "repository:acme/widget:pull", "repository:acme/widget:pull,push"],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, claims) = verify(&app, &body);
    assert_eq!(claims["access"], json!([{ "type": "repository", "name": "acme/widget", "actions": ["pull"] }]));
    let (status, body) = token(&app, Some(&w.pull), &["repository:acme/widget-extras:pull"]).await;
    assert_eq!(status, 200, "prefix patterns grant: {body}");

    // The catalog is never a customer's; a stranger learns nothing about what exists.
    let (status, body) = token(&app, Some(&w.pull), &["registry:catalog:*"]).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("catalog"), "{body}");
    let (status, exists) = token(&app, Some(&w.stranger), &["repository:acme/widget:pull"]).await;
    assert_eq!(status, 401);
    let (_, missing) = token(&app, Some(&w.stranger), &["repository:acme/nothing-here:pull"]).await;
    assert!(message(&exists).contains("no entitlement"), "{exists}");
    assert_eq!(message(&exists).replace("acme/widget", "R"), message(&missing).replace("acme/nothing-here", "R"));

    // Push credentials: pull and push on product repositories; a mount from
    // elsewhere is left out rather than failing the push; the catalog is theirs.
    let (status, body) = token(
        &app,
        Some(&w.push),
        &["repository:acme/widget:pull,push", "repository:elsewhere/thing:pull"],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, claims) = verify(&app, &body);
    assert_eq!(claims["access"], json!([{ "type": "repository", "name": "acme/widget", "actions": ["pull", "push"] }]));
    let (status, body) = token(&app, Some(&w.push), &["repository:elsewhere/thing:push"]).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("no product includes"), "{body}");
    let (status, _) = token(&app, Some(&w.push), &["registry:catalog:*"]).await;
    assert_eq!(status, 200);

    // A host:port in the name is split at the last colon, and fails the name grammar cleanly.
    let (status, body) = token(&app, Some(&w.pull), &["repository:localhost:5000/acme/widget:pull"]).await;
    assert_eq!(status, 401, "{body}");
    // The wrong service is refused.
    let res = app
        .client
        .get(app.url("/registry/token?service=someone-else&scope=repository:acme/widget:pull"))
        .basic_auth(&w.pull.0, Some(&w.pull.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    let _ = w.customer;
}

async fn changes_apply_to_the_next_request(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let db = &app.db;
    let pull = ["repository:acme/widget:pull"];
    assert_eq!(token(&app, Some(&w.pull), &pull).await.0, 200);

    let suspend = Change {
        status: Some(EntitlementStatus::Suspended),
        suspended_reason: Some("payment overdue".into()),
        ..Default::default()
    };
    entitlements::change(db, w.entitlement, &suspend, Actor::System, &meta()).await.unwrap();
    let (status, body) = token(&app, Some(&w.pull), &pull).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("suspended"), "{body}");

    let resume = Change { status: Some(EntitlementStatus::Active), ..Default::default() };
    entitlements::change(db, w.entitlement, &resume, Actor::System, &meta()).await.unwrap();
    assert_eq!(token(&app, Some(&w.pull), &pull).await.0, 200);

    let end = Change { ends_at: Some(Some(Utc::now() - Duration::seconds(1))), ..Default::default() };
    entitlements::change(db, w.entitlement, &end, Actor::System, &meta()).await.unwrap();
    let (status, body) = token(&app, Some(&w.pull), &pull).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("expired"), "{body}");

    let extend = Change { ends_at: Some(None), ..Default::default() };
    entitlements::change(db, w.entitlement, &extend, Actor::System, &meta()).await.unwrap();
    assert_eq!(token(&app, Some(&w.pull), &pull).await.0, 200);

    // Rotation: the old secret stops at once, the new one works.
    let rotated = credentials::rotate(db, w.pull_id, None, None, Actor::System, &meta()).await.unwrap();
    assert_eq!(token(&app, Some(&w.pull), &pull).await.0, 401);
    let fresh = (rotated.username.clone(), rotated.secret.clone());
    assert_eq!(token(&app, Some(&fresh), &pull).await.0, 200);

    credentials::revoke(db, w.pull_id, None, Actor::System, &meta()).await.unwrap();
    let (status, body) = token(&app, Some(&fresh), &pull).await;
    assert_eq!(status, 401);
    assert!(message(&body).contains("revoked"), "{body}");

    // A disabled account's credentials stop too.
    app.exec(&format!("UPDATE users SET disabled = TRUE WHERE id = {}", w.customer)).await.unwrap();
    let other = credentials::create(db, w.customer, Kind::Pull, "second", None, None, Actor::System, &meta()).await;
    assert!(other.is_err(), "no new credentials for a disabled account");
}

async fn every_decision_is_audited_including_at_shutdown(backend: Backend) {
    let mut app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    const N: usize = 200;
    let mut tasks = Vec::new();
    for i in 0..N {
        let (url, client) = (app.url("/registry/token"), app.client.clone());
        let creds = if i % 4 == 0 { w.stranger.clone() } else { w.pull.clone() };
        tasks.push(tokio::spawn(async move {
            client
                .get(url)
                .query(&[("service", "portcullis-registry"), ("scope", "repository:acme/widget:pull")])
                .header("user-agent", "skopeo/1.9.3 test")
                .basic_auth(creds.0, Some(creds.1))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }));
    }
    let mut granted = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            granted += 1;
        }
    }
    assert_eq!(granted, N - N / 4);
    // Stop at once: the queued decisions must still reach the database.
    app.stop().await;
    let rows = app::backend::db::audit::list_recent(&app.db, None, 10_000).await.unwrap();
    let decisions: Vec<_> = rows.iter().filter(|r| r.action == "registry.token").collect();
    assert_eq!(decisions.len(), N, "one audit row per request");
    let ok = decisions.iter().filter(|r| r.outcome == "success").count();
    assert_eq!(ok, granted);
    let sample = decisions.iter().find(|r| r.outcome == "denied").unwrap();
    assert_eq!(sample.ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(sample.user_agent.as_deref(), Some("skopeo/1.9.3 test"));
    assert_eq!(sample.target_id.as_deref(), Some("acme/widget"));
    assert_eq!(sample.details.0["username"], w.stranger.0.as_str());
    assert_eq!(sample.details.0["scopes"], json!(["repository:acme/widget:pull"]));
    assert!(sample.details.0["reason"].as_str().unwrap().contains("no_entitlement"), "{:?}", sample.details);
    let granted_row = decisions.iter().find(|r| r.outcome == "success").unwrap();
    assert_eq!(granted_row.subject_user_id, Some(w.customer));
    assert_eq!(granted_row.actor, "buyer@example.com");
    let cred = credentials::get(&app.db, w.pull_id, None).await.unwrap();
    assert!(cred.last_used_at.is_some(), "last use recorded");
}

fn envelope(id: &str, action: &str, media: &str, method: &str, tag: Option<&str>, actor: &str) -> Value {
    json!({ "events": [{
        "id": id, "timestamp": "2026-11-22T10:00:00.123456789Z", "action": action,
        "target": { "mediaType": media, "size": 528, "digest": "sha256:abc", "repository": "acme/widget",
                    "url": "http://127.0.0.1:5000/v2/acme/widget/manifests/sha256:abc", "tag": tag },
        "request": { "id": "r1", "addr": "127.0.0.1:40000", "host": "127.0.0.1:5000", "method": method,
                     "useragent": "skopeo/1.9.3" },
        "actor": { "name": actor },
        "source": { "addr": "host:5000", "instanceID": "x" }
    }]})
}

async fn events_are_authenticated_deduplicated_and_recorded(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let secret = app.registry.events_secret.clone();
    let post = |body: Value, bearer: String| {
        let req = app
            .client
            .post(app.url("/registry/events"))
            .header("content-type", "application/vnd.docker.distribution.events.v1+json")
            .header("authorization", format!("Bearer {bearer}"))
            .body(body.to_string());
        async move { req.send().await.unwrap().status().as_u16() }
    };
    let manifest = "application/vnd.oci.image.manifest.v1+json";
    let push = envelope("e-push", "push", manifest, "PUT", Some("1.0"), &w.push.0);
    assert_eq!(post(push.clone(), "wrong".into()).await, 401);
    assert_eq!(post(push.clone(), secret.clone()).await, 200);
    assert_eq!(post(push, secret.clone()).await, 200, "a retried event is accepted and ignored");
    let pull = envelope("e-pull", "pull", manifest, "GET", Some("1.0"), &w.pull.0);
    assert_eq!(post(pull.clone(), secret.clone()).await, 200);
    assert_eq!(post(pull, secret.clone()).await, 200);
    assert_eq!(post(envelope("e-head", "pull", manifest, "HEAD", Some("1.0"), &w.pull.0), secret.clone()).await, 200);
    assert_eq!(post(envelope("e-blob", "pull", "application/octet-stream", "GET", None, &w.pull.0), secret.clone()).await, 200);
    let res = app.client.post(app.url("/registry/events")).header("authorization", format!("Bearer {secret}")).body("{").send().await.unwrap();
    assert_eq!(res.status().as_u16(), 400);

    let audit = app.audit().await;
    let pulls: Vec<_> = audit.iter().filter(|a| a.0 == "registry.pull").collect();
    let pushes: Vec<_> = audit.iter().filter(|a| a.0 == "registry.push").collect();
    assert_eq!((pulls.len(), pushes.len()), (1, 1), "one each, duplicates and HEAD/blob events ignored");
    assert_eq!(pulls[0].2, "buyer@example.com");
    assert_eq!(pulls[0].3.as_deref(), Some("127.0.0.1"));
    assert_eq!(pushes[0].2, "vendor@example.com");
    let tags = credentials::tags_by_repository(&app.db).await.unwrap();
    assert_eq!(tags["acme/widget"][0].tag, "1.0");
    let cred = credentials::get(&app.db, w.pull_id, None).await.unwrap();
    assert!(cred.last_pulled_at.is_some());
    let access = credentials::registry_access(&app.db, w.customer, "registry.example.com").await.unwrap();
    assert_eq!(access.repositories[0].name, "acme/widget");
    assert_eq!(access.repositories[0].tags[0].tag, "1.0");

    // Distribution 3.x's v2 envelope: UUIDv7 ids, the target an OCI
    // descriptor (size, annotations, artifactType, platform), recorded the same way.
    let v2 = json!({ "events": [{
        "id": "01936f5e-8a1c-7b2e-9f00-5c1d2e3f4a5b", "timestamp": "2026-12-01T10:00:00.5Z", "action": "pull",
        "target": { "mediaType": manifest, "digest": "sha256:def", "size": 1024, "annotations": { "org.opencontainers.image.version": "2.0" },
                    "artifactType": "application/vnd.example+type", "platform": { "architecture": "amd64", "os": "linux" },
                    "repository": "acme/widget", "url": "http://127.0.0.1:5000/v2/acme/widget/manifests/2.0", "tag": "2.0" },
        "request": { "id": "r2", "addr": "127.0.0.1:40001", "host": "127.0.0.1:5000", "method": "GET", "useragent": "containerd/2.0" },
        "actor": { "name": w.pull.0 },
        "source": { "addr": "host:5000", "instanceID": "y" }
    }]});
    let res = app
        .client
        .post(app.url("/registry/events"))
        .header("content-type", "application/vnd.docker.distribution.events.v2+json")
        .header("authorization", format!("Bearer {secret}"))
        .body(v2.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let pulls = app.audit().await.into_iter().filter(|a| a.0 == "registry.pull").count();
    assert_eq!(pulls, 2, "the v2 envelope's pull is recorded");
}
