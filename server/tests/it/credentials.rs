//! Registry credentials through the server functions, the pages and the REST
//! API, on SQLite and PostgreSQL: create, list, rotate, revoke; one customer
//! never reaches another's; auditors read but never write; secrets appear
//! only in the create and rotate answers (never in lists, pages or the audit
//! log); every change is audited against the customer it concerns.

use app::domain::Role;
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, customers, entitlements};
use app::backend::services::catalogue::ProductInput;
use app::backend::db;
use app::backend::services::entitlements::Grant;
use app::backend::web::{secrets, RequestMeta};
use chrono::Utc;
use crate::support::{
    api::{assert_error, Api},
    client, json, Backend, Options, TestApp, PASSWORD,
};
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

on_both_backends!(
    customers_create_list_rotate_and_revoke_their_own,
    customers_never_reach_each_others_credentials,
    admins_manage_and_auditors_only_read,
    the_pages_show_snippets_and_real_tags,
    the_rest_api_creates_lists_rotates_and_revokes,
);

const HOST: &str = "registry.example.test:5000";

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, Options { registry_host: Some(HOST.into()), ..Options::default() }).await
}

/// A customer (by the service, as the admin UI makes them) and a client
/// logged in as them.
async fn customer(app: &TestApp, email: &str) -> (i64, Client) {
    let id = customers::create(&app.db, email, Some("Customer Ltd"), Some(PASSWORD), Actor::System, &RequestMeta::default())
        .await
        .unwrap()
        .id;
    let c = client();
    let res = app.call(&c, "login", &[("email", email), ("password", PASSWORD)]).await;
    assert!(res.status().is_success(), "login: {}", res.status());
    (id, c)
}

/// Calls a server function; returns the status and the JSON answer.
async fn call(app: &TestApp, c: &Client, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = app.call(c, endpoint, form).await;
    let status = res.status();
    (status, json(res).await)
}

/// The credential audit rows: (action, actor, subject, details), oldest first.
async fn credential_audit(app: &TestApp) -> Vec<(String, String, Option<i64>, Value)> {
    let rows = db::audit::list_recent(&app.db, None, 1000).await.unwrap();
    rows.into_iter()
        .rev()
        .filter(|r| r.action.starts_with("credential."))
        .map(|r| (r.action, r.actor, r.subject_user_id, r.details.0))
        .collect()
}

/// The whole audit log as text, to look for secrets in it.
async fn audit_text(app: &TestApp) -> String {
    let rows = db::audit::list_recent(&app.db, None, 1000).await.unwrap();
    rows.iter().map(|r| format!("{} {} {:?} {}", r.action, r.actor, r.target_id, r.details.0)).collect::<Vec<_>>().join("\n")
}

async fn stored_hash(app: &TestApp, id: i64) -> String {
    let sql = format!("SELECT secret_hash FROM registry_credentials WHERE id = {id}");
    match &app.db {
        db::Db::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        db::Db::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
    }
}

async fn customers_create_list_rotate_and_revoke_their_own(backend: Backend) {
    let app = spawn(backend).await;
    let (me, c) = customer(&app, "buyer@example.com").await;

    let (s, made) = call(&app, &c, "my/create_credential", &[("name", " prod cluster "), ("expires_at", "2099-01-31")]).await;
    assert_eq!(s, StatusCode::OK, "{made}");
    let (id, user, secret) = (made["credential"]["id"].as_i64().unwrap(), made["username"].as_str().unwrap(), made["secret"].as_str().unwrap());
    assert!(user.starts_with("pull-") && secret.len() >= 22, "{made}");
    assert_eq!(made["credential"]["name"], "prod cluster");
    assert_eq!(made["credential"]["expires_at"], "2099-01-31T23:59:59Z");
    assert_eq!((made["credential"]["status"].as_str(), made["credential"]["owner_id"].as_i64()), (Some("active"), Some(me)));
    // Stored as a hash only.
    assert_eq!(stored_hash(&app, id).await, secrets::hash_secret(secret));

    // Refusals name the field and write nothing.
    for (form, field, status) in [
        (vec![("name", "prod cluster")], "name", StatusCode::CONFLICT),
        (vec![("name", "")], "name", StatusCode::UNPROCESSABLE_ENTITY),
        (vec![("name", "x"), ("expires_at", "next week")], "expires_at", StatusCode::UNPROCESSABLE_ENTITY),
        (vec![("name", "x"), ("expires_at", "2001-01-01")], "expires_at", StatusCode::UNPROCESSABLE_ENTITY),
    ] {
        let (s, err) = call(&app, &c, "my/create_credential", &form).await;
        assert_eq!(s, status, "{form:?}: {err}");
        let kind = if status == StatusCode::CONFLICT { "Conflict" } else { "Invalid" };
        assert_eq!(err[kind]["field"], field, "{err}");
    }
    let (s, second) = call(&app, &c, "my/create_credential", &[("name", "laptop")]).await;
    assert_eq!((s, second["credential"]["expires_at"].clone()), (StatusCode::OK, Value::Null));

    // The list: newest first, never a secret.
    let res = app.call(&c, "my/credentials", &[]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.text().await.unwrap();
    assert!(!text.contains(secret) && !text.contains(second["secret"].as_str().unwrap()) && !text.contains("\"secret\""), "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(list.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect::<Vec<_>>(), ["laptop", "prod cluster"]);

    // Rotate: same user name, new secret.
    let (s, rotated) = call(&app, &c, "my/rotate_credential", &[("id", &id.to_string())]).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap();
    assert_eq!(rotated["username"], user);
    assert_ne!(new_secret, secret);
    assert!(rotated["credential"]["rotated_at"].is_string());
    assert_eq!(stored_hash(&app, id).await, secrets::hash_secret(new_secret));

    // Revoke; again is a conflict, and a revoked credential cannot rotate.
    let (s, revoked) = call(&app, &c, "my/revoke_credential", &[("id", &id.to_string())]).await;
    assert_eq!((s, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")), "{revoked}");
    assert!(revoked["revoked_at"].is_string() && revoked.get("secret").is_none());
    assert_eq!(call(&app, &c, "my/revoke_credential", &[("id", &id.to_string())]).await.0, StatusCode::CONFLICT);
    assert_eq!(call(&app, &c, "my/rotate_credential", &[("id", &id.to_string())]).await.0, StatusCode::CONFLICT);
    // A revoked name may be used again.
    assert_eq!(call(&app, &c, "my/create_credential", &[("name", "prod cluster")]).await.0, StatusCode::OK);

    // Audited against the customer, without secrets.
    let audit = credential_audit(&app).await;
    let actions: Vec<&str> = audit.iter().map(|a| a.0.as_str()).collect();
    assert_eq!(actions, ["credential.create", "credential.create", "credential.rotate", "credential.revoke", "credential.create"]);
    assert!(audit.iter().all(|a| a.1 == "buyer@example.com" && a.2 == Some(me)), "{audit:?}");
    assert_eq!(audit[0].3["username"], user);
    let log = audit_text(&app).await;
    assert!(!log.contains(secret) && !log.contains(new_secret), "{log}");

    // Anonymous callers are asked to log in.
    assert_eq!(call(&app, &client(), "my/credentials", &[]).await.0, StatusCode::UNAUTHORIZED);
}

async fn customers_never_reach_each_others_credentials(backend: Backend) {
    let app = spawn(backend).await;
    let (_, alice) = customer(&app, "alice@example.com").await;
    let (_, bob) = customer(&app, "bob@example.com").await;
    let (_, made) = call(&app, &alice, "my/create_credential", &[("name", "prod")]).await;
    let id = made["credential"]["id"].as_i64().unwrap().to_string();

    for endpoint in ["my/revoke_credential", "my/rotate_credential"] {
        let (s, body) = call(&app, &bob, endpoint, &[("id", &id)]).await;
        assert_eq!((s, body), (StatusCode::NOT_FOUND, json!("NotFound")), "{endpoint}");
    }
    assert_eq!(call(&app, &bob, "my/credentials", &[]).await.1, json!([]));
    // The admin endpoints refuse customers.
    for (endpoint, form) in [
        ("admin/revoke_credential", vec![("id", id.as_str())]),
        ("admin/rotate_credential", vec![("id", id.as_str())]),
        ("admin/customer_credentials", vec![("customer_id", "1")]),
        ("admin/push_credentials", vec![]),
        ("admin/create_push_credential", vec![("name", "sneaky")]),
    ] {
        assert_eq!(call(&app, &bob, endpoint, &form).await.0, StatusCode::FORBIDDEN, "{endpoint}");
    }
    let (_, list) = call(&app, &alice, "my/credentials", &[]).await;
    assert_eq!(list[0]["status"], "active", "untouched");
    assert_eq!(credential_audit(&app).await.len(), 1, "only the create");
}

async fn admins_manage_and_auditors_only_read(backend: Backend) {
    let app = spawn(backend).await;
    let (cust, cust_client) = customer(&app, "buyer@example.com").await;
    let (admin, admin_email) = app.logged_in(Role::Admin).await;
    let (auditor, _) = app.logged_in(Role::Auditor).await;
    let cust_id = cust.to_string();

    let (s, made) = call(&app, &admin, "admin/create_credential", &[("customer_id", &cust_id), ("name", "by phone"), ("expires_at", "")]).await;
    assert_eq!(s, StatusCode::OK, "{made}");
    let id = made["credential"]["id"].as_i64().unwrap().to_string();
    assert_eq!((made["credential"]["owner_id"].as_i64(), made["credential"]["created_by"].as_str()), (Some(cust), Some(admin_email.as_str())));
    // The customer sees it as their own.
    assert_eq!(call(&app, &cust_client, "my/credentials", &[]).await.1[0]["name"], "by phone");
    // Pull credentials belong to customers: staff ids are not found.
    let admin_id = db::users::find_by_email(&app.db, &app::domain::Email::parse(&admin_email).unwrap()).await.unwrap().unwrap().id;
    let (s, _) = call(&app, &admin, "admin/create_credential", &[("customer_id", &admin_id.to_string()), ("name", "x")]).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Auditors read both lists, change nothing.
    let (s, list) = call(&app, &auditor, "admin/customer_credentials", &[("customer_id", &cust_id)]).await;
    assert_eq!((s, list.as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "{list}");
    assert_eq!(call(&app, &auditor, "admin/push_credentials", &[]).await.0, StatusCode::OK);
    for (endpoint, form) in [
        ("admin/create_credential", vec![("customer_id", cust_id.as_str()), ("name", "audit")]),
        ("admin/revoke_credential", vec![("id", id.as_str())]),
        ("admin/rotate_credential", vec![("id", id.as_str())]),
        ("admin/create_push_credential", vec![("name", "audit")]),
        ("my/create_credential", vec![("name", "audit")]),
    ] {
        assert_eq!(call(&app, &auditor, endpoint, &form).await.0, StatusCode::FORBIDDEN, "{endpoint}");
    }

    // Push credentials: the admin's own, listed with the owner.
    let (s, push) = call(&app, &admin, "admin/create_push_credential", &[("name", "release pipeline")]).await;
    assert_eq!(s, StatusCode::OK, "{push}");
    assert!(push["username"].as_str().unwrap().starts_with("push-"));
    let (_, pushes) = call(&app, &auditor, "admin/push_credentials", &[]).await;
    assert_eq!((pushes[0]["owner_email"].as_str(), pushes[0]["kind"].as_str()), (Some(admin_email.as_str()), Some("push")));
    assert!(!pushes.to_string().contains(push["secret"].as_str().unwrap()));
    assert_eq!(call(&app, &admin, "admin/customer_credentials", &[("customer_id", &cust_id)]).await.1.as_array().map(Vec::len), Some(1), "push credentials are not the customer's");

    // Admins rotate and revoke any credential.
    let push_id = push["credential"]["id"].as_i64().unwrap().to_string();
    let (s, rotated) = call(&app, &admin, "admin/rotate_credential", &[("id", &push_id)]).await;
    assert_eq!((s, rotated["username"].clone()), (StatusCode::OK, push["username"].clone()));
    let (s, revoked) = call(&app, &admin, "admin/revoke_credential", &[("id", &id)]).await;
    assert_eq!((s, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")));

    let audit = credential_audit(&app).await;
    let summary: Vec<(&str, Option<i64>)> = audit.iter().map(|a| (a.0.as_str(), a.2)).collect();
    assert_eq!(summary, [("credential.create", Some(cust)), ("credential.create", Some(admin_id)), ("credential.rotate", Some(admin_id)), ("credential.revoke", Some(cust))]);
    assert!(audit.iter().all(|a| a.1 == admin_email));
    let log = audit_text(&app).await;
    for s in [&made["secret"], &push["secret"], &rotated["secret"]] {
        assert!(!log.contains(s.as_str().unwrap()));
    }
}

/// A published product over `acme/widget` and `acme/tools-*`, granted to
/// `customer_id` when given.
async fn widget(app: &TestApp, customer_id: Option<i64>) -> String {
    let input = ProductInput {
        name: "Acme Widget".into(),
        slug: None,
        description: String::new(),
        contact_sales: true,
        repositories: vec!["acme/widget".into(), "acme/tools-*".into()],
    };
    let p = catalogue::create(&app.db, &input, &[], Actor::System, &RequestMeta::default()).await.unwrap();
    catalogue::set_status(&app.db, p.id, app::domain::catalogue::ProductStatus::Published, Actor::System, &RequestMeta::default())
        .await
        .unwrap();
    if let Some(c) = customer_id {
        let grant = Grant {
            customer_id: c,
            product_id: p.id,
            source: app::domain::access::EntitlementSource::Manual,
            starts_at: Utc::now() - chrono::Duration::days(1),
            ends_at: None,
            note: None,
        };
        entitlements::grant(&app.db, &grant, Actor::System, &RequestMeta::default()).await.unwrap();
    }
    p.slug
}

async fn push_tag(app: &TestApp, repo: &str, tag: &str, ago_secs: i64) {
    let mut tx = app.db.begin().await.unwrap();
    let at = Utc::now() - chrono::Duration::seconds(ago_secs);
    db::registry::upsert_tag(&mut tx, repo, tag, "sha256:0123", at, Some("push-ci")).await.unwrap();
    tx.commit().await.unwrap();
}

async fn the_pages_show_snippets_and_real_tags(backend: Backend) {
    let app = spawn(backend).await;
    let (cust, c) = customer(&app, "buyer@example.com").await;
    let slug = widget(&app, Some(cust)).await;

    // Before any push: exact names show, honestly untagged.
    let (_, access) = call(&app, &c, "my/registry_access", &[]).await;
    assert_eq!(access["host"], HOST);
    assert_eq!(access["repositories"], json!([{ "name": "acme/widget", "product_name": "Acme Widget", "tags": [], "via_gateway": false }]));
    let page = app.get(&client(), &format!("/catalogue/{slug}")).await.text().await.unwrap();
    assert!(page.contains("acme/widget") && page.contains("no image pushed yet"), "{page}");

    push_tag(&app, "acme/widget", "latest", 60).await;
    push_tag(&app, "acme/widget", "1.0", 0).await;
    push_tag(&app, "acme/tools-cli", "2.1", 0).await;
    push_tag(&app, "other/thing", "9", 0).await;
    let (_, tags) = call(&app, &client(), "catalogue/tags", &[("slug", &slug)]).await;
    let names = |pattern: &str| -> Vec<String> {
        let p = tags.as_array().unwrap().iter().find(|p| p["pattern"] == pattern).unwrap();
        p["repositories"].as_array().unwrap().iter().map(|r| r[0].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!((names("acme/widget"), names("acme/tools-*")), (vec!["acme/widget".into()], vec!["acme/tools-cli".into()]), "{tags}");
    let page = app.get(&client(), &format!("/catalogue/{slug}")).await.text().await.unwrap();
    assert!(page.contains("tags: 1.0, latest") && page.contains("acme/tools-cli") && !page.contains("other/thing"), "{page}");
    assert_eq!(call(&app, &client(), "catalogue/tags", &[("slug", "no-such-product")]).await.0, StatusCode::NOT_FOUND);

    // The credentials page: the snippets name the host, the newest tag and
    // the credential's user name, never its secret.
    let (_, made) = call(&app, &c, "my/create_credential", &[("name", "prod")]).await;
    let user = made["username"].as_str().unwrap();
    let res = app.get(&c, "/account/credentials").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = res.text().await.unwrap();
    for needle in [
        format!("docker login {HOST} -u {user}"),
        format!("docker pull {HOST}/acme/widget:1.0"),
        format!("docker pull {HOST}/acme/tools-cli:2.1"),
        format!("--docker-server={HOST}"),
        "--docker-password=&lt;secret".to_string(),
        "imagePullSecrets:".to_string(),
        "tags: 1.0, latest".to_string(),
    ] {
        assert!(page.contains(&needle), "{needle} missing");
    }
    assert!(!page.contains(made["secret"].as_str().unwrap()));

    // Who may see which page.
    let (admin, _) = app.logged_in(Role::Admin).await;
    let (auditor, _) = app.logged_in(Role::Auditor).await;
    assert_eq!(app.get(&admin, "/account/credentials").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&c, "/admin/push-credentials").await.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.get(&auditor, "/admin/push-credentials").await.status(), StatusCode::OK);
    let detail = app.get(&admin, &format!("/admin/customers/{cust}")).await.text().await.unwrap();
    assert!(detail.contains("customer-credentials") && detail.contains(user), "the customer page lists the credential");
}

async fn the_rest_api_creates_lists_rotates_and_revokes(backend: Backend) {
    let api = Api::spawn(backend).await;
    let (s, c) = api.post("/api/v1/customers", json!({ "email": "buyer@example.com" })).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let cust = c["id"].as_i64().unwrap();
    let path = format!("/api/v1/customers/{cust}/credentials");

    let (s, made) = api.post(&path, json!({ "name": "prod", "expires_at": "2099-06-30T12:00:00Z" })).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let secret = made["secret"].as_str().unwrap().to_owned();
    assert!(made["username"].as_str().unwrap().starts_with("pull-"));
    assert_eq!((made["credential"]["expires_at"].as_str(), made["credential"]["owner_id"].as_i64()), (Some("2099-06-30T12:00:00Z"), Some(cust)));
    let id = made["credential"]["id"].as_i64().unwrap();

    assert_error(&api.post(&path, json!({ "name": "prod" })).await, StatusCode::CONFLICT, "conflict", Some("name"));
    assert_error(&api.post(&path, json!({})).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("name"));
    assert_error(&api.post(&path, json!({ "name": "x", "colour": 1 })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("colour"));
    assert_error(&api.post(&path, json!({ "name": "x", "expires_at": "soon" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("expires_at"));
    assert_error(&api.post("/api/v1/customers/999999/credentials", json!({ "name": "x" })).await, StatusCode::NOT_FOUND, "not_found", None);
    let staff = api.app.create_user("staff@example.com", PASSWORD, Role::Admin).await;
    assert_error(&api.post(&format!("/api/v1/customers/{staff}/credentials"), json!({ "name": "x" })).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&api.get(&format!("/api/v1/customers/{staff}/credentials")).await, StatusCode::NOT_FOUND, "not_found", None);

    // Lists and reads never carry the secret; auditors may read them.
    for key in [&api.admin, &api.auditor] {
        let (s, list) = api.call(Some(key), Method::GET, &path, None).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        assert_eq!(list["items"].as_array().unwrap().len(), 1);
        assert!(!list.to_string().contains(&secret) && list["items"][0].get("secret").is_none());
        let (s, one) = api.call(Some(key), Method::GET, &format!("/api/v1/credentials/{id}"), None).await;
        assert_eq!((s, one["name"].as_str()), (StatusCode::OK, Some("prod")));
    }
    // Auditors write nothing.
    let one = format!("/api/v1/credentials/{id}");
    let rotate = format!("{one}/rotate");
    for (method, p, body) in [(Method::POST, &path, Some(json!({ "name": "audit" }))), (Method::POST, &rotate, None), (Method::DELETE, &one, None)] {
        assert_error(&api.call(Some(&api.auditor), method, p, body.as_ref()).await, StatusCode::FORBIDDEN, "forbidden", None);
    }

    let (s, rotated) = api.call(Some(&api.admin), Method::POST, &rotate, None).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    assert_ne!(rotated["secret"].as_str().unwrap(), secret);
    let (s, revoked) = api.call(Some(&api.admin), Method::DELETE, &one, None).await;
    assert_eq!((s, revoked["status"].as_str()), (StatusCode::OK, Some("revoked")), "{revoked}");
    assert!(revoked.get("secret").is_none());
    assert_error(&api.call(Some(&api.admin), Method::DELETE, &one, None).await, StatusCode::CONFLICT, "conflict", None);
    assert_error(&api.call(Some(&api.admin), Method::POST, &rotate, None).await, StatusCode::CONFLICT, "conflict", None);
    assert_error(&api.call(Some(&api.admin), Method::DELETE, "/api/v1/credentials/999999", None).await, StatusCode::NOT_FOUND, "not_found", None);

    // Audited as the API key, against the customer, without secrets.
    let audit = credential_audit(&api.app).await;
    let summary: Vec<(&str, Option<i64>)> = audit.iter().map(|a| (a.0.as_str(), a.2)).collect();
    assert_eq!(summary, [("credential.create", Some(cust)), ("credential.rotate", Some(cust)), ("credential.revoke", Some(cust))]);
    assert!(audit.iter().all(|a| a.1.starts_with("api key erp")), "{audit:?}");
    let log = audit_text(&api.app).await;
    assert!(!log.contains(&secret) && !log.contains(rotated["secret"].as_str().unwrap()));

    // The OpenAPI document describes the routes.
    let (_, doc) = api.get("/api/v1/openapi.json").await;
    assert!(doc["paths"]["/api/v1/customers/{id}/credentials"]["post"].is_object());
    assert!(doc["paths"]["/api/v1/credentials/{id}"]["delete"].is_object());
}
