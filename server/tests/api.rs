//! The REST API over real HTTP on both databases: each resource's routes,
//! API key authentication, the auditor refused on every write route (walked
//! from the route table, so a new route without a role check fails here),
//! bad input named by field, injection attempts kept as plain data, and the
//! OpenAPI document.

mod common;

use app::{
    domain::Role,
    server::{api_keys, audit::Actor, catalogue, customers, db, entitlements, RequestMeta},
};
use common::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::routes::api::{write_routes, ROUTES};

on_both_backends!(
    products_can_be_created_listed_patched_and_priced,
    customers_can_be_created_searched_and_read,
    entitlements_can_be_granted_listed_and_changed,
    bad_keys_get_401_json,
    an_auditor_is_refused_every_write_route,
    bad_input_is_refused_naming_the_field,
    injection_attempts_are_plain_data,
    unknown_ids_routes_and_methods_are_json_404_and_405,
    internal_errors_carry_a_request_id_and_no_cause,
    keys_record_their_last_use,
    the_openapi_document_lists_every_route,
);

struct Api {
    app: TestApp,
    admin: String,
    auditor: String,
}

async fn key(app: &TestApp, name: &str, role: Role) -> String {
    api_keys::create(&app.db, name, role, Actor::System, &RequestMeta::default()).await.unwrap().secret
}

impl Api {
    async fn spawn(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let admin = key(&app, "erp", Role::Admin).await;
        let auditor = key(&app, "reporting", Role::Auditor).await;
        Self { app, admin, auditor }
    }

    /// Sends `body` (if any) as JSON with `key` as bearer token; returns the
    /// status and the JSON body (every API answer is JSON).
    async fn call(&self, key: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut req = self.app.client.request(method, self.app.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, common::json(res).await)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Some(&self.admin), Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(&self.admin), Method::POST, path, Some(&body)).await
    }

    async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(&self.admin), Method::PATCH, path, Some(&body)).await
    }

    /// Everything the write routes could change, to compare before and after.
    async fn snapshot(&self) -> Value {
        let db = &self.app.db;
        let products = catalogue::list(db, None).await.unwrap();
        let (customers, _) = customers::list(db, None, 200, 0).await.unwrap();
        let ents = entitlements::list(db, &db::entitlements::Filter::default(), 200, 0).await.unwrap();
        json!({ "products": products, "customers": customers, "entitlements": ents })
    }
}

/// Asserts an error answer: status, stable code and (if given) the field.
#[track_caller]
fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
    if let Some(f) = field {
        assert_eq!(got.1["error"]["field"], f, "{}", got.1);
    }
}

/// A product with a price, a customer and an entitlement, made through the API.
struct Seed {
    product: i64,
    price: i64,
    customer: i64,
    entitlement: i64,
}

async fn seed(api: &Api) -> Seed {
    let body = json!({ "name": "Widget Pro", "repositories": ["acme/widget", "acme/widget-*"],
        "prices": [{ "kind": "monthly", "amount_cents": 4900, "currency": "eur" }] });
    let (s, p) = api.post("/api/v1/products", body).await;
    assert_eq!(s, StatusCode::CREATED, "{p}");
    let (s, c) = api.post("/api/v1/customers", json!({ "email": "buyer@example.com", "name": "Buyer Ltd" })).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    let (s, e) = api.post("/api/v1/entitlements", json!({ "customer_id": c["id"], "product_id": p["id"] })).await;
    assert_eq!(s, StatusCode::CREATED, "{e}");
    Seed {
        product: p["id"].as_i64().unwrap(),
        price: p["prices"][0]["id"].as_i64().unwrap(),
        customer: c["id"].as_i64().unwrap(),
        entitlement: e["id"].as_i64().unwrap(),
    }
}

async fn products_can_be_created_listed_patched_and_priced(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let (status, p) = api.get(&format!("/api/v1/products/{}", s.product)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((p["slug"].as_str(), p["status"].as_str()), (Some("widget-pro"), Some("draft")));
    assert_eq!(p["prices"][0]["label"], "€49.00 / month");

    let (status, p) = api.patch(&format!("/api/v1/products/{}", s.product), json!({ "name": "Widget Max", "status": "published" })).await;
    assert_eq!(status, StatusCode::OK, "{p}");
    assert_eq!((p["name"].as_str(), p["status"].as_str(), p["slug"].as_str()), (Some("Widget Max"), Some("published"), Some("widget-pro")));
    assert_eq!(p["repositories"], json!(["acme/widget", "acme/widget-*"]), "untouched fields are kept");
    let (_, list) = api.get("/api/v1/products?status=published").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, drafts) = api.get("/api/v1/products?status=draft").await;
    assert_eq!(drafts["items"], json!([]));

    let path = format!("/api/v1/products/{}/prices", s.product);
    let (status, p) = api.post(&path, json!({ "kind": "one_time", "amount_cents": 50000, "currency": "usd", "duration": 12 })).await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["prices"].as_array().unwrap().len(), 2);
    let del = api.call(Some(&api.admin), Method::DELETE, &format!("{path}/{}", s.price), None).await;
    assert_eq!(del.0, StatusCode::OK, "{}", del.1);
    assert_eq!(del.1["prices"].as_array().unwrap().iter().filter(|p| p["active"] == true).count(), 1);

    // A draft with no repository cannot be published; nothing changes.
    let (_, bare) = api.post("/api/v1/products", json!({ "name": "Bare", "status": "draft" })).await;
    let bare_path = format!("/api/v1/products/{}", bare["id"]);
    assert_error(&api.patch(&bare_path, json!({ "name": "Renamed", "status": "published" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status"));
    assert_eq!(api.get(&bare_path).await.1["name"], "Bare");
    // Creating as published is refused (publish with PATCH), slugs are unique.
    let published = json!({ "name": "Now", "repositories": ["acme/now"], "contact_sales": true, "status": "published" });
    assert_error(&api.post("/api/v1/products", published).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status"));
    assert_error(&api.patch(&bare_path, json!({ "slug": "widget-pro" })).await, StatusCode::CONFLICT, "conflict", Some("slug"));
    // A bad second price: the whole create is refused, nothing written.
    let before = api.snapshot().await;
    let prices = json!([{ "kind": "monthly", "amount_cents": 100, "currency": "eur" }, { "kind": "trial", "amount_cents": 100, "currency": "eur", "duration": 14 }]);
    let got = api.post("/api/v1/products", json!({ "name": "Half", "prices": prices })).await;
    assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("prices[1].amount_cents"));
    assert_eq!(api.snapshot().await, before);
}

async fn customers_can_be_created_searched_and_read(backend: Backend) {
    let api = Api::spawn(backend).await;
    for i in 0..3 {
        let (s, c) = api.post("/api/v1/customers", json!({ "email": format!("c{i}@example.com"), "name": format!("Customer {i}") })).await;
        assert_eq!(s, StatusCode::CREATED, "{c}");
        assert!(c.get("password").is_none() && c.get("password_hash").is_none());
    }
    let (s, c) = api.post("/api/v1/customers", json!({ "email": "pw@example.com", "password": "a long enough password" })).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    assert_error(&api.post("/api/v1/customers", json!({ "email": "C1@example.com" })).await, StatusCode::CONFLICT, "conflict", Some("email"));

    let (s, page) = api.get("/api/v1/customers?limit=2&offset=1").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!((page["total"].as_i64(), page["limit"].as_i64(), page["offset"].as_i64()), (Some(4), Some(2), Some(1)));
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let (_, found) = api.get("/api/v1/customers?search=customer%202").await;
    assert_eq!(found["items"][0]["email"], "c2@example.com");
    assert_eq!(found["total"], 1);

    let id = c["id"].as_i64().unwrap();
    let (s, one) = api.get(&format!("/api/v1/customers/{id}")).await;
    assert_eq!((s, one["email"].as_str()), (StatusCode::OK, Some("pw@example.com")));
    // Staff accounts are not customers.
    let admin_id = api.app.create_user("staff@example.com", common::PASSWORD, Role::Admin).await;
    assert_error(&api.get(&format!("/api/v1/customers/{admin_id}")).await, StatusCode::NOT_FOUND, "not_found", None);
    for (q, field) in [("limit=0", "limit"), ("limit=201", "limit"), ("limit=ten", "limit"), ("offset=-1", "offset"), ("colour=red", "colour")] {
        assert_error(&api.get(&format!("/api/v1/customers?{q}")).await, StatusCode::BAD_REQUEST, "bad_request", Some(field));
    }
}

async fn entitlements_can_be_granted_listed_and_changed(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let path = format!("/api/v1/entitlements/{}", s.entitlement);
    let (_, e) = api.get(&path).await;
    assert_eq!((e["status"].as_str(), e["source"].as_str(), e["grants_access"].as_bool()), (Some("active"), Some("manual"), Some(true)));
    assert_eq!(e["ends_at"], Value::Null);

    let window = json!({ "customer_id": s.customer, "product_id": s.product, "source": "trial",
        "starts_at": "2030-01-01T00:00:00Z", "ends_at": "2030-01-15T00:00:00+02:00", "note": "trial via CRM" });
    let (st, later) = api.post("/api/v1/entitlements", window).await;
    assert_eq!(st, StatusCode::CREATED, "{later}");
    assert_eq!((later["ends_at"].as_str(), later["grants_access"].as_bool()), (Some("2030-01-14T22:00:00Z"), Some(false)));

    let (st, e) = api.patch(&path, json!({ "status": "suspended", "suspended_reason": "invoice unpaid" })).await;
    assert_eq!((st, e["status"].as_str(), e["suspended_reason"].as_str()), (StatusCode::OK, Some("suspended"), Some("invoice unpaid")));
    let (_, list) = api.get(&format!("/api/v1/entitlements?customer_id={}&status=suspended", s.customer)).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(api.get("/api/v1/entitlements?product_id=999999").await.1["items"], json!([]));

    let (st, e) = api.patch(&path, json!({ "status": "active", "ends_at": "2031-01-01T00:00:00Z" })).await;
    assert_eq!((st, e["ends_at"].as_str()), (StatusCode::OK, Some("2031-01-01T00:00:00Z")));
    let (_, e) = api.patch(&path, json!({ "ends_at": null })).await;
    assert_eq!(e["ends_at"], Value::Null, "null makes it open-ended");
    assert_error(&api.patch(&path, json!({ "ends_at": "2000-01-01T00:00:00Z" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ends_at"));
    assert_error(&api.patch(&path, json!({ "ends_at": "next tuesday" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ends_at"));
    assert_error(&api.patch(&path, json!({ "suspended_reason": "x" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("suspended_reason"));
    assert_eq!(api.patch(&path, json!({ "status": "revoked" })).await.0, StatusCode::OK);
    assert_error(&api.patch(&path, json!({ "status": "active" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("status"));

    let bad_grants = [
        (json!({ "customer_id": 999999, "product_id": s.product }), "customer_id"),
        (json!({ "customer_id": s.customer, "product_id": 999999 }), "product_id"),
        (json!({ "customer_id": s.customer, "product_id": s.product, "source": "gift" }), "source"),
        (json!({ "customer_id": s.customer, "product_id": s.product, "starts_at": "2030-13-01" }), "starts_at"),
        (json!({ "product_id": s.product }), "customer_id"),
    ];
    for (body, field) in bad_grants {
        assert_error(&api.post("/api/v1/entitlements", body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field));
    }
    assert_error(&api.get("/api/v1/entitlements?status=gone").await, StatusCode::BAD_REQUEST, "bad_request", Some("status"));
    assert_error(&api.get("/api/v1/entitlements?customer_id=abc").await, StatusCode::BAD_REQUEST, "bad_request", Some("customer_id"));
}

async fn bad_keys_get_401_json(backend: Backend) {
    let api = Api::spawn(backend).await;
    let revoked = api_keys::create(&api.app.db, "old", Role::Admin, Actor::System, &RequestMeta::default()).await.unwrap();
    api_keys::revoke(&api.app.db, revoked.key.id, Actor::System, &RequestMeta::default()).await.unwrap();
    let forged = format!("{}x", &api.admin[..api.admin.len() - 1]);
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
        let got = (res.status(), common::json(res).await);
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
        // A new route gets `{}`: without a role check it answers 2xx or 4xx, never 403.
        _ => return (!route.starts_with("delete")).then(|| json!({})),
    })
}

fn concrete(path: &str, s: &Seed) -> String {
    let id = if path.starts_with("/api/v1/entitlements") {
        s.entitlement
    } else if path.starts_with("/api/v1/customers") {
        s.customer
    } else {
        s.product
    };
    path.replace("{id}", &id.to_string()).replace("{price_id}", &s.price.to_string())
}

async fn an_auditor_is_refused_every_write_route(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let before = api.snapshot().await;
    let denied_before = api.app.audit().await.iter().filter(|e| e.0 == "authz.denied").count();
    let routes: Vec<_> = write_routes().collect();
    assert!(routes.len() >= 7, "{routes:?}");
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let method = Method::from_bytes(r.method.to_uppercase().as_bytes()).unwrap();
        let got = api.call(Some(&api.auditor), method, &concrete(r.path, &s), sample_body(&name, &s).as_ref()).await;
        assert_eq!(got.0, StatusCode::FORBIDDEN, "{name}: {}", got.1);
        assert_error(&got, StatusCode::FORBIDDEN, "forbidden", None);
    }
    assert_eq!(api.snapshot().await, before, "an auditor changed nothing");
    let audit = api.app.audit().await;
    let denied: Vec<_> = audit.iter().filter(|e| e.0 == "authz.denied").collect();
    assert_eq!(denied.len() - denied_before, routes.len());
    assert!(denied.iter().all(|e| e.1 == "denied" && e.2.contains("reporting") && e.4["role"] == "auditor"));
    assert!(denied.iter().any(|e| e.4["path"] == format!("/api/v1/products/{}", s.product) && e.4["method"] == "PATCH"));

    // The auditor reads every GET route.
    for r in ROUTES.iter().filter(|r| !r.is_write()) {
        let got = api.call(Some(&api.auditor), Method::GET, &concrete(r.path, &s), None).await;
        assert_eq!(got.0, StatusCode::OK, "GET {}: {}", r.path, got.1);
    }
    // The same requests with the admin key succeed: the bodies were valid.
    for r in &routes {
        let name = format!("{} {}", r.method, r.path);
        let method = Method::from_bytes(r.method.to_uppercase().as_bytes()).unwrap();
        let got = api.call(Some(&api.admin), method, &concrete(r.path, &s), sample_body(&name, &s).as_ref()).await;
        assert!(got.0.is_success(), "{name} as admin: {} {}", got.0, got.1);
    }
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
    assert_error(&(res.status(), common::json(res).await), StatusCode::BAD_REQUEST, "bad_request", None);
    let form = c.post(&url).bearer_auth(&api.admin).form(&[("name", "x")]).send().await.unwrap();
    assert_error(&(form.status(), common::json(form).await), StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", None);
    // Its own client: the server answers before reading the whole body and
    // closes that connection, which must not be reused.
    let huge = common::client().post(&url).bearer_auth(&api.admin).json(&json!({ "name": "x".repeat(3_000_000) })).send().await.unwrap();
    assert_error(&(huge.status(), common::json(huge).await), StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", None);
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

async fn unknown_ids_routes_and_methods_are_json_404_and_405(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    for path in ["/api/v1/products/999999", "/api/v1/customers/999999", "/api/v1/entitlements/999999", "/api/v1/nothing-here"] {
        assert_error(&api.get(path).await, StatusCode::NOT_FOUND, "not_found", None);
    }
    assert_error(&api.patch("/api/v1/products/999999", json!({ "name": "x" })).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&api.patch("/api/v1/entitlements/999999", json!({ "status": "revoked" })).await, StatusCode::NOT_FOUND, "not_found", None);
    assert_error(&api.post("/api/v1/products/999999/prices", json!({ "kind": "monthly", "amount_cents": 1, "currency": "eur" })).await, StatusCode::NOT_FOUND, "not_found", None);
    let del = api.call(Some(&api.admin), Method::DELETE, &format!("/api/v1/products/{}/prices/999999", s.product), None).await;
    assert_error(&del, StatusCode::NOT_FOUND, "not_found", None);
    let put = api.call(Some(&api.admin), Method::PUT, "/api/v1/products", Some(&json!({}))).await;
    assert_error(&put, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", None);
}

async fn internal_errors_carry_a_request_id_and_no_cause(backend: Backend) {
    let api = Api::spawn(backend).await;
    api.app.exec("ALTER TABLE entitlements RENAME TO entitlements_gone").await.unwrap();
    let res = api.app.client.get(api.app.url("/api/v1/entitlements")).bearer_auth(&api.admin).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = res.text().await.unwrap();
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["error"]["code"], "internal");
    assert_eq!(v["error"]["request_id"], request_id.as_str(), "the id in the answer is the request's (and the log's)");
    assert!(!body.contains("entitlements") && !body.to_lowercase().contains("sql"), "{body}");
}

async fn keys_record_their_last_use(backend: Backend) {
    let api = Api::spawn(backend).await;
    let unused = |keys: &[app::views::ApiKeyView], name: &str| keys.iter().find(|k| k.name == name).unwrap().last_used_at.is_none();
    let keys = api_keys::list(&api.app.db).await.unwrap();
    assert!(unused(&keys, "erp") && unused(&keys, "reporting"));
    assert_eq!(api.get("/api/v1/customers").await.0, StatusCode::OK);
    let keys = api_keys::list(&api.app.db).await.unwrap();
    assert!(!unused(&keys, "erp"), "used");
    assert!(unused(&keys, "reporting"), "not used");
}

async fn the_openapi_document_lists_every_route(backend: Backend) {
    let api = Api::spawn(backend).await;
    let res = api.app.client.get(api.app.url("/api/v1/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK, "public: no key needed");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let doc = common::json(res).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.method];
        assert!(op.is_object(), "{} {} is documented", r.method, r.path);
        assert!(op["responses"].is_object());
    }
    for schema in ["ProductView", "CustomerView", "EntitlementView", "ErrorBody", "NewProduct", "EntitlementPatch"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
