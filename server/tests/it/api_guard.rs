//! What the REST API refuses, on both databases: missing or bad keys (401),
//! the auditor on every write route (walked from the route table, so a new
//! route without a role check fails here), push credentials to any key (404,
//! as a missing id), bad input named by field, and injection attempts kept
//! as plain data.

use app::domain::Role;
use app::backend::services::{api_keys, catalogue, credentials};
use app::backend::services::audit::Actor;
use app::backend::web::RequestMeta;
use crate::support::{
    self,
    api::{assert_error, seed, Api, Seed},
    Backend,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::routes::rest::{write_routes, Access, ROUTES};

on_both_backends!(
    bad_keys_get_401_json,
    an_auditor_is_refused_every_write_route,
    no_api_key_reaches_a_push_credential,
    bad_input_is_refused_naming_the_field,
    injection_attempts_are_plain_data,
);

async fn bad_keys_get_401_json(backend: Backend) {
    let api = Api::spawn(backend).await;
    let revoked = api_keys::create(&api.app.db, "old", Role::Admin, Actor::System, &RequestMeta::default()).await.unwrap();
    api_keys::revoke(&api.app.db, revoked.key.id, Actor::System, &RequestMeta::default()).await.unwrap();
    // The real key with its last character changed (to another one: a key
    // ending in `x` once made this "forgery" the key itself).
    let last = if api.admin.ends_with('x') { "y" } else { "x" };
    let forged = format!("{}{last}", &api.admin[..api.admin.len() - 1]);
    let c = &api.app.client;
    let url = api.app.url("/api/v1/products");
    let requests = [
        c.get(&url),
        c.get(&url).header("authorization", format!("Basic {}", api.admin)),
        c.get(&url).header("authorization", api.admin.clone()),
        c.get(&url).bearer_auth("pc_aaaaaaaaaaaa_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        c.get(&url).bearer_auth(&forged),
        c.get(&url).bearer_auth("'; DROP TABLE api_keys; --"),
        c.get(&url).bearer_auth(&revoked.secret),
        c.post(&url).json(&json!({ "name": "x" })),
    ];
    for req in requests {
        let res = req.send().await.unwrap();
        let challenge = res.headers().get("www-authenticate").cloned();
        let got = (res.status(), support::json(res).await);
        assert_eq!(challenge.as_ref().and_then(|v| v.to_str().ok()), Some("Bearer realm=\"portcullis\""), "{}", got.1);
        assert_error(&got, StatusCode::UNAUTHORIZED, "unauthenticated", None);
    }
    assert_eq!(api.get("/api/v1/products").await.0, StatusCode::OK, "the real key still works");
    assert_eq!(catalogue::list(&api.app.db, None).await.unwrap().len(), 0);
}

/// A valid body for each write route (an admin sending it succeeds: checked
/// below, so the auditor's 403 is the role check and not bad input).
fn sample_body(route: &str, s: &Seed) -> Option<Value> {
    Some(match route {
        "post /api/v1/products" => json!({ "name": "Loop", "repositories": ["acme/loop"], "contact_sales": true }),
        "patch /api/v1/products/{id}" => json!({ "name": "Renamed", "status": "published" }),
        "post /api/v1/products/{id}/prices" => json!({ "kind": "yearly", "amount_cents": 10000, "currency": "eur" }),
        "post /api/v1/customers" => json!({ "email": "loop@example.com" }),
        "post /api/v1/entitlements" => json!({ "customer_id": s.customer, "product_id": s.product }),
        "patch /api/v1/entitlements/{id}" => json!({ "status": "suspended", "suspended_reason": "loop" }),
        "post /api/v1/customers/{id}/credentials" => json!({ "name": "loop" }),
        "post /api/v1/requests/{id}/answer" => json!({ "action": "reply", "reply": "We will call you." }),
        // A new route gets `{}`: without a role check it answers 2xx or 4xx, never 403.
        _ => return (!route.starts_with("delete")).then(|| json!({})),
    })
}

/// `credential`: a live credential of the seeded customer; `request`: its
/// open request for sales.
fn concrete(path: &str, s: &Seed, credential: i64, request: i64) -> String {
    let id = if path.starts_with("/api/v1/entitlements") {
        s.entitlement
    } else if path.starts_with("/api/v1/credentials") {
        credential
    } else if path.starts_with("/api/v1/requests") {
        request
    } else if path.starts_with("/api/v1/customers") {
        s.customer
    } else {
        s.product
    };
    path.replace("{id}", &id.to_string()).replace("{price_id}", &s.price.to_string()).replace("{session_id}", GUARD_SESSION)
}

/// A session of the seeded customer, for the routes that end one.
const GUARD_SESSION: &str = "guardsession";

async fn an_auditor_is_refused_every_write_route(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let now = chrono::Utc::now();
    let session = app::backend::db::sessions::SessionRow {
        id: GUARD_SESSION.into(),
        user_id: s.customer,
        created_at: now,
        last_seen_at: now,
        ip: None,
        user_agent: None,
    };
    app::backend::db::sessions::insert(&api.app.db, &session).await.unwrap();
    let cred = credentials::create(&api.app.db, s.customer, app::domain::credential::CredentialKind::Pull, "guard", None, None, Actor::System, &RequestMeta::default())
        .await
        .unwrap()
        .credential
        .id;
    let asked = app::backend::db::requests::NewRequest {
        organisation_id: s.customer,
        requested_by: s.customer,
        product_id: s.product,
        kind: app::domain::request::RequestKind::Contact,
        message: "",
    };
    let mut tx = api.app.db.begin().await.unwrap();
    let request = app::backend::db::requests::insert(&mut tx, &asked, now).await.unwrap().expect("an open request");
    tx.commit().await.unwrap();
    let before = api.snapshot().await;
    let denied_before = api.app.audit().await.iter().filter(|e| e.0 == "authz.denied").count();
    let routes: Vec<_> = write_routes().collect();
    assert!(routes.len() >= 7, "{routes:?}");
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let method = Method::from_bytes(r.method.to_uppercase().as_bytes()).unwrap();
        let got = api.call(Some(&api.auditor), method, &concrete(r.path, &s, cred, request), sample_body(&name, &s).as_ref()).await;
        assert_eq!(got.0, StatusCode::FORBIDDEN, "{name}: {}", got.1);
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden", None);
    }
    assert_eq!(api.snapshot().await, before, "an auditor changed nothing");
    let audit = api.app.audit().await;
    let denied: Vec<_> = audit.iter().filter(|e| e.0 == "authz.denied").collect();
    assert_eq!(denied.len() - denied_before, routes.len());
    assert!(denied.iter().all(|e| e.1 == "denied" && e.2.contains("reporting") && e.4["role"] == "auditor"));
    assert!(denied.iter().any(|e| e.4["path"] == format!("/api/v1/products/{}", s.product) && e.4["method"] == "PATCH"));

    // The auditor reads every route that is not an admin's.
    for r in ROUTES.iter().filter(|r| r.access != Access::Admin) {
        let got = api.call(Some(&api.auditor), Method::GET, &concrete(r.path, &s, cred, request), None).await;
        assert_eq!(got.0, StatusCode::OK, "GET {}: {}", r.path, got.1);
    }
    // The same requests with the admin key succeed: the bodies were valid.
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let method = Method::from_bytes(r.method.to_uppercase().as_bytes()).unwrap();
        let got = api.call(Some(&api.admin), method, &concrete(r.path, &s, cred, request), sample_body(&name, &s).as_ref()).await;
        assert!(got.0.is_success(), "{name} as admin: {} {}", got.0, got.1);
    }
}

/// The vendor's push credential (an admin's, for CI: it may push to every
/// repository) is out of the API's reach: an admin key gets the same 404 as
/// for an id that does not exist, for reading, rotating and revoking, and
/// the credential keeps working unchanged.
async fn no_api_key_reaches_a_push_credential(backend: Backend) {
    use app::domain::credential::CredentialKind;
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let vendor = api.app.create_user("ci@example.com", support::PASSWORD, Role::Admin).await;
    let push = credentials::create(&api.app.db, vendor, CredentialKind::Push, "ci", None, None, Actor::System, &RequestMeta::default())
        .await
        .unwrap();
    let id = push.credential.id;
    let before = credentials::get(&api.app.db, id, None).await.unwrap();
    let audit_before = api.app.audit().await.len();
    let missing = 999_999;
    for key in [&api.admin, &api.auditor] {
        for path in [format!("/api/v1/credentials/{id}"), format!("/api/v1/credentials/{missing}")] {
            let got = api.call(Some(key), Method::GET, &path, None).await;
            assert_error(&got, StatusCode::NOT_FOUND, "not_found", None);
        }
    }
    let same_as_missing = |got: &(StatusCode, Value), other: &(StatusCode, Value)| {
        assert_error(got, StatusCode::NOT_FOUND, "not_found", None);
        assert_eq!(got, other, "a push credential answers exactly as a missing id");
    };
    for (method, suffix) in [(Method::POST, "/rotate"), (Method::DELETE, "")] {
        let got = api.call(Some(&api.admin), method.clone(), &format!("/api/v1/credentials/{id}{suffix}"), None).await;
        let none = api.call(Some(&api.admin), method, &format!("/api/v1/credentials/{missing}{suffix}"), None).await;
        same_as_missing(&got, &none);
    }
    // Nor does it show among any customer's credentials.
    let (status, list) = api.get(&format!("/api/v1/customers/{}/credentials", s.customer)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert!(list["items"].as_array().unwrap().iter().all(|c| c["kind"] == "pull" && c["id"] != id), "{list}");
    assert_error(&api.get(&format!("/api/v1/customers/{vendor}/credentials")).await, StatusCode::NOT_FOUND, "not_found", None);

    // Unchanged, nothing audited, and its secret still gets push tokens.
    assert_eq!(credentials::get(&api.app.db, id, None).await.unwrap(), before);
    let audit = api.app.audit().await;
    assert!(audit[audit_before..].iter().all(|e| !e.0.starts_with("credential.")), "{:?}", &audit[audit_before..]);
    let res = api
        .app
        .client
        .get(api.app.url("/registry/token"))
        .query(&[("service", "portcullis-registry"), ("scope", "repository:acme/widget:pull,push")])
        .basic_auth(&push.username, Some(&push.secret))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let token = support::json(res).await;
    let claims = token["token"].as_str().and_then(|t| t.split('.').nth(1)).unwrap_or_default();
    use base64::Engine as _;
    let claims: Value = serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap()).unwrap();
    assert_eq!(claims["access"], json!([{ "type": "repository", "name": "acme/widget", "actions": ["pull", "push"] }]), "{claims}");
}

async fn bad_input_is_refused_naming_the_field(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let before = api.snapshot().await;
    let long = "x".repeat(10_000);
    let product = format!("/api/v1/products/{}", s.product);
    let entitlement = format!("/api/v1/entitlements/{}", s.entitlement);
    let cases = [
        ("/api/v1/products", Method::POST, json!({ "name": 5 }), "name"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "contact_sales": "yes" }), "contact_sales"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "repositories": "acme/x" }), "repositories"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "prices": [{ "kind": "monthly", "amount_cents": "10", "currency": "eur" }] }), "prices[0].amount_cents"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "price": 10 }), "price"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "prices": [{ "kind": "monthly", "amount_cents": 10, "currency": "eur", "vat": 1 }] }), "prices[0].vat"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "prices": [{ "kind": "weekly", "amount_cents": 10, "currency": "eur" }] }), "prices[0].kind"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "prices": [{ "kind": "one_time", "amount_cents": 10, "currency": "eur" }] }), "prices[0].duration"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "prices": [{ "kind": "monthly", "amount_cents": 10, "currency": "euros" }] }), "prices[0].currency"),
        ("/api/v1/products", Method::POST, json!({ "description": "no name" }), "name"),
        ("/api/v1/products", Method::POST, json!({ "name": long }), "name"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "slug": long }), "slug"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "description": "d".repeat(20_001) }), "description"),
        ("/api/v1/products", Method::POST, json!({ "name": "Gadget", "repositories": ["Acme/Not Valid"] }), "repositories"),
        ("/api/v1/products", Method::POST, json!({ "name": "\u{0}x" }), "name"),
        (&product, Method::PATCH, json!({ "name": null, "status": "sold" }), "status"),
        (&product, Method::PATCH, json!({ "name": long }), "name"),
        (&product, Method::PATCH, json!({ "contact_sales": 1 }), "contact_sales"),
        (&product, Method::PATCH, json!({ "id": 7 }), "id"),
        ("/api/v1/customers", Method::POST, json!({ "email": "not-an-address" }), "email"),
        ("/api/v1/customers", Method::POST, json!({ "email": format!("{long}@example.com") }), "email"),
        ("/api/v1/customers", Method::POST, json!({ "email": "n@example.com", "name": long }), "name"),
        ("/api/v1/customers", Method::POST, json!({ "email": "n@example.com", "password": "short" }), "password"),
        ("/api/v1/customers", Method::POST, json!({ "email": "n@example.com", "role": "admin" }), "role"),
        ("/api/v1/entitlements", Method::POST, json!({ "customer_id": "1", "product_id": s.product }), "customer_id"),
        ("/api/v1/entitlements", Method::POST, json!({ "customer_id": s.customer, "product_id": s.product, "note": long }), "note"),
        (&entitlement, Method::PATCH, json!({ "status": "suspended", "suspended_reason": long }), "suspended_reason"),
        (&entitlement, Method::PATCH, json!({ "status": "expired" }), "status"),
        (&entitlement, Method::PATCH, json!({ "ends_at": 20300101 }), "ends_at"),
        (&entitlement, Method::PATCH, json!({ "grace_until": null }), "grace_until"),
    ];
    for (path, method, body, field) in cases {
        let got = api.call(Some(&api.admin), method.clone(), path, Some(&body)).await;
        assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field));
    }
    assert_error(&api.get(&format!("/api/v1/customers?search={long}")).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("search"));
    assert_error(&api.get("/api/v1/products?status=all").await, StatusCode::BAD_REQUEST, "bad_request", Some("status"));

    // Not JSON, or not said to be JSON.
    let c = &api.app.client;
    let url = api.app.url("/api/v1/products");
    let broken = c.post(&url).bearer_auth(&api.admin).header("content-type", "application/json").body("{\"name\": ");
    let res = broken.send().await.unwrap();
    assert_error(&(res.status(), support::json(res).await), StatusCode::BAD_REQUEST, "bad_request", None);
    let form = c.post(&url).bearer_auth(&api.admin).form(&[("name", "x")]).send().await.unwrap();
    assert_error(&(form.status(), support::json(form).await), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
    // Its own client: the server answers before reading the whole body and
    // closes that connection, which must not be reused.
    let huge = support::client().post(&url).bearer_auth(&api.admin).json(&json!({ "name": "x".repeat(3_000_000) })).send().await.unwrap();
    assert_error(&(huge.status(), support::json(huge).await), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
    // Ids that are not integers.
    for path in ["/api/v1/products/abc", "/api/v1/customers/1.5", "/api/v1/entitlements/99999999999999999999"] {
        assert_error(&api.get(path).await, StatusCode::BAD_REQUEST, "bad_request", Some("id"));
    }
    let del = api.call(Some(&api.admin), Method::DELETE, &format!("{product}/prices/x"), None).await;
    assert_error(&del, StatusCode::BAD_REQUEST, "bad_request", Some("price_id"));
    assert_eq!(api.snapshot().await, before, "nothing was written");
}

async fn injection_attempts_are_plain_data(backend: Backend) {
    let api = Api::spawn(backend).await;
    let names = ["'; DROP TABLE products; --", "<script>alert(1)</script>", "Robert\"); DELETE FROM users; --"];
    for name in names {
        let body = json!({ "name": name, "slug": format!("p{}", name.len()), "description": format!("{name}\n\n<img src=x onerror=alert(1)>") });
        let (s, p) = api.post("/api/v1/products", body).await;
        assert_eq!(s, StatusCode::CREATED, "{p}");
        let (_, back) = api.get(&format!("/api/v1/products/{}", p["id"])).await;
        assert_eq!(back["name"], name, "the name round-trips unchanged");
        let html = back["description_html"].as_str().unwrap();
        assert!(!html.contains("<script") && !html.contains("onerror"), "{html}");
        let (s, c) = api.post("/api/v1/customers", json!({ "email": format!("x{}@example.com", name.len()), "name": name })).await;
        assert_eq!((s, c["name"].as_str()), (StatusCode::CREATED, Some(name)));
    }
    assert_eq!(api.get("/api/v1/products").await.1["items"].as_array().unwrap().len(), 3, "the table is still there");
    for search in ["'; DROP TABLE users; --", "' OR '1'='1", "%", "_", "<script>"] {
        let url = format!("/api/v1/customers?search={}", url_encode(search));
        let (s, page) = api.get(&url).await;
        assert_eq!(s, StatusCode::OK, "{search}: {page}");
        let expected = if search == "<script>" { 1 } else { names.iter().filter(|n| n.contains(search)).count() };
        assert_eq!(page["total"].as_i64(), Some(expected as i64), "{search}: {page}");
    }
    assert_eq!(api.get("/api/v1/customers").await.1["total"], 3);
    let bad = api.get("/api/v1/entitlements?status=active%27%20OR%20%271%27%3D%271").await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request", Some("status"));
    assert_error(&api.get("/api/v1/entitlements?customer_id=1%20OR%201=1").await, StatusCode::BAD_REQUEST, "bad_request", Some("customer_id"));
}

fn url_encode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

