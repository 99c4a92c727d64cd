//! End to end with the real registry (Debian's `docker-registry`, config
//! written by `portcullis registry config`) and skopeo, on SQLite and
//! PostgreSQL: an admin pushes an image built offline, customers pull or are
//! refused in words, every decision reaches the audit log, the registry's
//! notifications come back as pulls, tags and "last pulled", and the signing
//! key rotates without breaking pulls (and without restarting the portal).

use app::domain::{
    access::{EntitlementSource, EntitlementStatus},
    catalogue::ProductStatus,
    Role,
};
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, credentials, customers, entitlements};
use app::backend::services::catalogue::ProductInput;
use app::domain::credential::CredentialKind as Kind;
use app::backend::db::audit::AuditRow;
use app::backend::services::entitlements::{Change, Grant};
use app::backend::web::RequestMeta;
use app::views::NewCredential;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{Duration, Utc};
use crate::support::{self, Backend, TestApp, PASSWORD};
use crate::support::registry::{self as harness, eventually, Registry, Skopeo};
use std::time::Duration as StdDuration;

on_both_backends!(pulls_are_decided_by_the_portal_on_the_real_registry, signing_keys_rotate_without_breaking_pulls);

const REPO_TAG: &str = "acme/widget:1.0";

fn meta() -> RequestMeta {
    RequestMeta::default()
}

fn creds(c: &NewCredential) -> (&str, &str) {
    (c.username.as_str(), c.secret.as_str())
}

/// The catalogue of both tests: product "widget" (`acme/widget`), published;
/// a customer entitled to it for 30 days, one who is not, and an admin.
struct World {
    admin_id: i64,
    entitled_id: i64,
    entitlement_id: i64,
    other_id: i64,
}

async fn world(app: &TestApp) -> World {
    let db = &app.db;
    let input = ProductInput {
        name: "Widget".into(),
        slug: Some("widget".into()),
        contact_sales: true,
        repositories: vec!["acme/widget".into()],
        ..Default::default()
    };
    let product = catalogue::create(db, &input, &[], Actor::System, &meta()).await.unwrap();
    catalogue::set_status(db, product.id, ProductStatus::Published, Actor::System, &meta()).await.unwrap();
    let admin_id = app.create_user("vendor@example.com", PASSWORD, Role::Admin).await;
    let customer = |email: &'static str| async move {
        customers::create(db, email, Some("Customer Ltd"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id
    };
    let entitled_id = customer("alice@example.com").await;
    let other_id = customer("bob@example.com").await;
    let now = Utc::now();
    let grant = Grant {
        customer_id: entitled_id,
        product_id: product.id,
        source: EntitlementSource::Manual,
        starts_at: now - Duration::days(1),
        ends_at: Some(now + Duration::days(30)),
        note: None,
    };
    let entitlement_id = entitlements::grant(db, &grant, Actor::System, &meta()).await.unwrap().id;
    World { admin_id, entitled_id, entitlement_id, other_id }
}

async fn credential(app: &TestApp, owner: i64, kind: Kind, name: &str) -> NewCredential {
    credentials::create(&app.db, owner, kind, name, None, None, Actor::System, &meta()).await.unwrap()
}

/// The registry, its config written by the CLI for the portal at `portal`.
async fn registry_for(app: &TestApp, dir: &std::path::Path, port: u16, portal: &str) -> Registry {
    let config = harness::write_config(app, dir, port, portal);
    Registry::start(&config, port).await
}

async fn audit_rows(app: &TestApp, action: &str) -> Vec<AuditRow> {
    let rows = app::backend::db::audit::list_recent(&app.db, None, 1000).await.unwrap();
    rows.into_iter().rev().filter(|r| r.action == action).collect()
}

/// Asserts a pull failed and skopeo's message says `words`.
fn assert_refused(out: &harness::Outcome, words: &[&str]) {
    assert!(!out.ok, "the pull should have been refused: {out:?}");
    for w in words {
        assert!(out.stderr.contains(w), "skopeo's message should contain {w:?}: {}", out.stderr);
    }
}

async fn pulls_are_decided_by_the_portal_on_the_real_registry(backend: Backend) {
    harness::require_tools();
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let w = world(&app).await;
    let push = credential(&app, w.admin_id, Kind::Push, "ci").await;
    let alice = credential(&app, w.entitled_id, Kind::Pull, "cluster-1").await;
    let bob = credential(&app, w.other_id, Kind::Pull, "cluster-1").await;

    let work = tempfile::tempdir().unwrap();
    let port = harness::free_port();
    let registry = registry_for(&app, &work.path().join("registry"), port, &app.base).await;
    let host = registry.host();
    let image = harness::build_image(&work.path().join("image"), "1.0", "widget 1.0\n");
    let skopeo = Skopeo::new(work.path());

    // The vendor's CI pushes; the entitled customer pulls.
    let out = skopeo.push(&image, "1.0", &host, REPO_TAG, creds(&push)).await;
    assert!(out.ok, "push: {}\nregistry: {}", out.stderr, registry.log_text());
    let out = skopeo.pull(&host, REPO_TAG, creds(&alice)).await;
    assert!(out.ok, "entitled pull: {}\nregistry: {}", out.stderr, registry.log_text());

    // A customer without the entitlement is told so, in the same words for a
    // repository that does not exist.
    let out = skopeo.pull(&host, REPO_TAG, creds(&bob)).await;
    assert_refused(&out, &["acme/widget: your account has no entitlement to this repository"]);
    let out = skopeo.pull(&host, "acme/does-not-exist:1.0", creds(&bob)).await;
    assert_refused(&out, &["acme/does-not-exist: your account has no entitlement to this repository"]);
    // Nor can a pull credential push.
    let out = skopeo.push(&image, "1.0", &host, "acme/widget:evil", creds(&alice)).await;
    assert!(!out.ok, "a pull credential pushed: {out:?}");

    // The grant is in the audit log with the client's IP and user agent
    // (batched: it arrives within moments).
    let (a, alice_user) = (&app, alice.username.as_str());
    let granted = eventually(StdDuration::from_secs(5), || async move {
        audit_rows(a, "registry.token")
            .await
            .into_iter()
            .find(|r| r.outcome == "success" && r.details.0["username"] == alice_user)
    })
    .await
    .expect("a registry.token success for the entitled customer's credential");
    assert_eq!(granted.ip.as_deref(), Some("127.0.0.1"));
    let ua = granted.user_agent.clone().unwrap_or_default();
    assert!(ua.contains("skopeo"), "user agent recorded: {ua:?}");
    assert_eq!(granted.actor, "alice@example.com");
    assert_eq!(granted.subject_user_id, Some(w.entitled_id));
    assert_eq!(granted.target_id.as_deref(), Some("acme/widget"));
    assert_eq!(granted.details.0["granted"][0]["actions"], serde_json::json!(["pull"]), "{:?}", granted.details.0);

    // The registry's notifications: the pull (manifest GET), the tag, "last pulled".
    let pulled = eventually(StdDuration::from_secs(10), || async move {
        audit_rows(a, "registry.pull").await.into_iter().find(|r| r.details.0["credential"] == alice_user)
    })
    .await
    .unwrap_or_else(|| panic!("no registry.pull event arrived\nregistry: {}", registry.log_text()));
    assert_eq!(pulled.target_id.as_deref(), Some("acme/widget"));
    assert_eq!(pulled.ip.as_deref(), Some("127.0.0.1"));
    assert!(pulled.user_agent.unwrap_or_default().contains("skopeo"));
    let alice_id = alice.credential.id;
    let last = eventually(StdDuration::from_secs(5), || async move {
        credentials::get(db, alice_id, None).await.unwrap().last_pulled_at
    })
    .await;
    assert!(last.is_some(), "last_pulled_at set");
    let tags = credentials::tags_by_repository(db).await.unwrap();
    assert_eq!(tags.get("acme/widget").map(|t| t.iter().map(|t| t.tag.as_str()).collect::<Vec<_>>()), Some(vec!["1.0"]));
    assert!(!audit_rows(&app, "registry.push").await.is_empty(), "the push is audited");

    // The window ends: the same credential is refused on its next pull.
    let entitlement = w.entitlement_id;
    let change = |c: Change| async move { entitlements::change(db, entitlement, &c, Actor::System, &meta()).await.unwrap() };
    change(Change { ends_at: Some(Some(Utc::now() - Duration::seconds(1))), ..Default::default() }).await;
    assert_refused(&skopeo.pull(&host, REPO_TAG, creds(&alice)).await, &["acme/widget: your access ended on"]);
    // Extended again: it pulls.
    change(Change { ends_at: Some(None), ..Default::default() }).await;
    let out = skopeo.pull(&host, REPO_TAG, creds(&alice)).await;
    assert!(out.ok, "after extension: {}", out.stderr);
    // Suspended: refused with the reason; resumed: pulls.
    change(Change {
        status: Some(EntitlementStatus::Suspended),
        suspended_reason: Some("invoice 42 unpaid".into()),
        ..Default::default()
    })
    .await;
    assert_refused(&skopeo.pull(&host, REPO_TAG, creds(&alice)).await, &["your access is suspended: invoice 42 unpaid"]);
    change(Change { status: Some(EntitlementStatus::Active), ..Default::default() }).await;
    assert!(skopeo.pull(&host, REPO_TAG, creds(&alice)).await.ok, "after resuming");

    // A wrong secret and a revoked credential: "invalid username/password".
    let out = skopeo.pull(&host, REPO_TAG, (&alice.username, "not-the-secret")).await;
    assert_refused(&out, &["invalid username/password", "invalid user name or secret"]);
    credentials::revoke(db, alice.credential.id, Some(w.entitled_id), Actor::System, &meta()).await.unwrap();
    let out = skopeo.pull(&host, REPO_TAG, creds(&alice)).await;
    assert_refused(&out, &["invalid username/password", "this credential was revoked"]);

    // Every refusal is in the audit log too, with its reason.
    let reasons = eventually(StdDuration::from_secs(5), || async move {
        let rows = audit_rows(a, "registry.token").await;
        let reasons: Vec<String> = rows
            .iter()
            .filter(|r| r.outcome == "denied")
            .filter_map(|r| r.details.0["reason"].as_str().map(str::to_owned))
            .collect();
        let all = ["no_entitlement", "expired", "suspended", "bad_credentials", "credential_revoked"]
            .iter()
            .all(|want| reasons.iter().any(|r| r.contains(want)));
        all.then_some(reasons)
    })
    .await;
    assert!(reasons.is_some(), "denials audited: {:?}", audit_rows(&app, "registry.token").await);
}

/// A pull token straight from a portal's token endpoint, and its `kid`.
async fn token(portal: &str, cred: &NewCredential) -> (String, String) {
    let res = support::client()
        .get(format!("{portal}/registry/token"))
        .query(&[("service", "portcullis-registry"), ("scope", "repository:acme/widget:pull")])
        .basic_auth(&cred.username, Some(&cred.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body = support::json(res).await;
    let jwt = body["token"].as_str().unwrap().to_owned();
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
    (jwt, support::token_kid(&header))
}

/// The registry's answer to a manifest GET with `token`.
async fn manifest_status(host: &str, jwt: &str) -> u16 {
    let accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
    support::client()
        .get(format!("http://{host}/v2/acme/widget/manifests/1.0"))
        .bearer_auth(jwt)
        .header("Accept", accept)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

fn cli(app: &TestApp, args: &[&str]) -> String {
    let out = harness::portcullis(app, args, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "portcullis {args:?}: {}{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The distinct key ids (48 characters and 11 colons) in `text`, in order.
fn kids(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == ':'))
        .filter(|w| w.len() == 59 && w.matches(':').count() == 11)
        .fold(Vec::new(), |mut v: Vec<String>, w| {
            if !v.iter().any(|k| k == w) {
                v.push(w.to_owned());
            }
            v
        })
}

async fn signing_keys_rotate_without_breaking_pulls(backend: Backend) {
    harness::require_tools();
    let app = TestApp::spawn(backend).await;
    let w = world(&app).await;
    let push = credential(&app, w.admin_id, Kind::Push, "ci").await;
    let alice = credential(&app, w.entitled_id, Kind::Pull, "cluster-1").await;
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("registry");
    let port = harness::free_port();
    let mut registry = registry_for(&app, &dir, port, &app.base).await;
    let host = registry.host();
    let image = harness::build_image(&work.path().join("image"), "1.0", "widget 1.0\n");
    let skopeo = Skopeo::new(work.path());
    assert!(skopeo.push(&image, "1.0", &host, REPO_TAG, creds(&push)).await.ok);

    let listed = cli(&app, &["registry", "key", "list"]);
    let old = kids(&listed);
    assert_eq!(old.len(), 1, "one key at first start: {listed}");
    let old = old[0].clone();
    let (old_token, kid) = token(&app.base, &alice).await;
    assert_eq!(kid, old);
    assert_eq!(manifest_status(&host, &old_token).await, 200);

    // 1. A new key joins the bundle; the registry restarts with both.
    let added = kids(&cli(&app, &["registry", "key", "add"]));
    assert_eq!(added.len(), 1, "`registry key add` names the new key");
    let new = added[0].clone();
    assert_ne!(new, old);
    registry.stop();
    registry = registry_for(&app, &dir, port, &app.base).await;
    assert_eq!(std::fs::read_to_string(dir.join("bundle.pem")).unwrap().matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(manifest_status(&host, &old_token).await, 200, "a token signed with the old key still works");
    assert!(skopeo.pull(&host, REPO_TAG, creds(&alice)).await.ok, "the running portal still signs with the old key");

    // 2. Activated, the new key signs within seconds, without a restart.
    cli(&app, &["registry", "key", "activate", &new]);
    let (a, cred, want) = (&app, &alice, &new);
    let new_token = eventually(StdDuration::from_secs(4), || async move {
        let (jwt, kid) = token(&a.base, cred).await;
        (kid == *want).then_some(jwt)
    })
    .await
    .expect("the running portal signs with the activated key within 4 s");
    assert_eq!(manifest_status(&host, &new_token).await, 200);
    assert_eq!(manifest_status(&host, &old_token).await, 200, "old tokens live until they expire");
    let out = skopeo.pull(&host, REPO_TAG, creds(&alice)).await;
    assert!(out.ok, "pull with the new key: {}\nregistry: {}", out.stderr, registry.log_text());

    // 3. Retired, the old key leaves the bundle and its tokens stop working.
    cli(&app, &["registry", "key", "retire", &old]);
    registry.stop();
    registry = registry_for(&app, &dir, port, &app.base).await;
    assert_eq!(std::fs::read_to_string(dir.join("bundle.pem")).unwrap().matches("BEGIN CERTIFICATE").count(), 1);
    assert_eq!(manifest_status(&host, &old_token).await, 401, "a retired key's tokens are refused");
    assert_eq!(manifest_status(&host, &new_token).await, 200);
    assert!(skopeo.pull(&host, REPO_TAG, creds(&alice)).await.ok);
    drop(registry);
}
