//! The REST API over real HTTP on both databases: each resource's routes,
//! unknown ids and methods, internal errors, key use, and the OpenAPI
//! document. Authentication and input checks are in `api_guard.rs`.

use app::domain::Role;
use app::backend::services::api_keys;
use crate::support::{
    self,
    api::{assert_error, seed, Api},
    Backend,
};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use server::routes::rest::ROUTES;

on_both_backends!(
    products_can_be_created_listed_patched_and_priced,
    a_patch_that_changes_nothing_writes_nothing,
    customers_can_be_created_searched_and_read,
    customers_can_be_disabled_reset_and_logged_out,
    entitlements_can_be_granted_listed_and_changed,
    unknown_ids_routes_and_methods_are_json_404_and_405,
    internal_errors_carry_a_request_id_and_no_cause,
    keys_record_their_last_use,
    the_openapi_document_lists_every_route,
);

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
    // Its state forbids it: 409, not a bad request.
    assert_error(&api.patch(&bare_path, json!({ "name": "Renamed", "status": "published" })).await, StatusCode::CONFLICT, "conflict", Some("status"));
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

async fn a_patch_that_changes_nothing_writes_nothing(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let product = format!("/api/v1/products/{}", s.product);
    let entitlement = format!("/api/v1/entitlements/{}", s.entitlement);
    let (_, p) = api.get(&product).await;
    let (_, e) = api.get(&entitlement).await;
    let audit = api.app.audit().await.len();
    let same_product = [
        json!({}),
        json!({ "name": p["name"], "slug": p["slug"], "status": p["status"] }),
        json!({ "repositories": ["acme/widget-*", "acme/widget", "acme/widget"], "contact_sales": p["contact_sales"], "description": p["description"] }),
    ];
    for body in same_product {
        let (st, got) = api.patch(&product, body.clone()).await;
        assert_eq!((st, &got), (StatusCode::OK, &p), "{body}");
    }
    for body in [json!({}), json!({ "status": "active" }), json!({ "ends_at": null, "status": "active" })] {
        let (st, got) = api.patch(&entitlement, body.clone()).await;
        assert_eq!(st, StatusCode::OK, "{body}: {got}");
        assert_eq!((got["status"].as_str(), &got["starts_at"], &got["ends_at"]), (Some("active"), &e["starts_at"], &e["ends_at"]), "{body}");
    }
    assert_eq!(api.app.audit().await.len(), audit, "no audit event for a change of nothing");
    // A real change is still written and audited.
    assert_eq!(api.patch(&product, json!({ "name": "Widget Max" })).await.0, StatusCode::OK);
    assert_eq!(api.patch(&entitlement, json!({ "status": "suspended" })).await.0, StatusCode::OK);
    let actions: Vec<String> = api.app.audit().await[audit..].iter().map(|e| e.0.clone()).collect();
    assert_eq!(actions, ["product.update", "entitlement.suspend"]);
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
    let admin_id = api.app.create_user("staff@example.com", support::PASSWORD, Role::Admin).await;
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
    // Before the stored start: the entitlement's state (409); both ends in the request: the request's fault (422).
    assert_error(&api.patch(&path, json!({ "ends_at": "2000-01-01T00:00:00Z" })).await, StatusCode::CONFLICT, "conflict", Some("ends_at"));
    let both = json!({ "starts_at": "2030-01-02T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z" });
    assert_error(&api.patch(&path, both).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ends_at"));
    assert_error(&api.patch(&path, json!({ "ends_at": "next tuesday" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("ends_at"));
    assert_error(&api.patch(&path, json!({ "suspended_reason": "x" })).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some("suspended_reason"));
    assert_eq!(api.patch(&path, json!({ "status": "revoked" })).await.0, StatusCode::OK);
    assert_error(&api.patch(&path, json!({ "status": "active" })).await, StatusCode::CONFLICT, "conflict", Some("status"));

    // A record the body names that does not exist: 404 naming the field (a staff account is no customer).
    let admin_id = api.app.create_user("staff@example.com", support::PASSWORD, Role::Admin).await;
    for (body, field) in [
        (json!({ "customer_id": 999999, "product_id": s.product }), "customer_id"),
        (json!({ "customer_id": admin_id, "product_id": s.product }), "customer_id"),
        (json!({ "customer_id": s.customer, "product_id": 999999 }), "product_id"),
    ] {
        assert_error(&api.post("/api/v1/entitlements", body).await, StatusCode::NOT_FOUND, "not_found", Some(field));
    }
    // Whole numbers written with a fraction are integers, as JSON Schema counts them.
    let (st, e) = api.post("/api/v1/entitlements", json!({ "customer_id": s.customer as f64, "product_id": s.product as f64 })).await;
    assert_eq!(st, StatusCode::CREATED, "{e}");

    let bad_grants = [
        (json!({ "customer_id": s.customer, "product_id": s.product, "source": "gift" }), "source"),
        (json!({ "customer_id": s.customer, "product_id": s.product, "note": "a\u{0}b" }), "note"),
        (json!({ "customer_id": s.customer as f64 + 0.5, "product_id": s.product }), "customer_id"),
        (json!({ "customer_id": s.customer, "product_id": s.product, "starts_at": "2030-13-01" }), "starts_at"),
        (json!({ "product_id": s.product }), "customer_id"),
    ];
    for (body, field) in bad_grants {
        assert_error(&api.post("/api/v1/entitlements", body).await, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", Some(field));
    }
    assert_error(&api.get("/api/v1/entitlements?status=gone").await, StatusCode::BAD_REQUEST, "bad_request", Some("status"));
    assert_error(&api.get("/api/v1/entitlements?customer_id=abc").await, StatusCode::BAD_REQUEST, "bad_request", Some("customer_id"));
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
    let doc = support::json(res).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    for r in ROUTES {
        let op = &doc["paths"][r.path][r.method];
        assert!(op.is_object(), "{} {} is documented", r.method, r.path);
        assert!(op["responses"].is_object());
    }
    for schema in ["ProductView", "CustomerView", "EntitlementView", "ErrorBody", "NewProduct", "EntitlementPatch", "PriceInput"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
    assert_eq!(server::routes::rest::schema::dangling_refs(&doc), Vec::<String>::new());
    for r in ROUTES {
        assert_eq!(doc["paths"][r.path][r.method]["x-required-role"], r.access.as_str(), "{} {}", r.method, r.path);
    }
    assert_eq!(doc["paths"]["/api/v1/credentials/{id}"]["get"]["x-required-role"], "admin or auditor");
    assert_eq!(doc["paths"]["/api/v1/credentials/{id}/rotate"]["post"]["x-required-role"], "admin");
    assert_eq!(doc["paths"]["/api/v1/openapi.json"]["get"]["x-required-role"], "public");
}

async fn customers_can_be_disabled_reset_and_logged_out(backend: Backend) {
    let api = Api::spawn(backend).await;
    let id = api.app.create_user("managed@example.com", support::PASSWORD, Role::Customer).await;
    let c = support::client();
    assert!(api.app.call(&c, "login", &[("email", "managed@example.com"), ("password", support::PASSWORD)]).await.status().is_success());
    let path = format!("/api/v1/customers/{id}");

    let (status, body) = api.patch(&path, json!({ "disabled": true })).await;
    assert_eq!((status, body["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(support::json(api.app.call(&c, "current_user", &[]).await).await, Value::Null, "the session ended");
    let res = api.app.call(&support::client(), "login", &[("email", "managed@example.com"), ("password", support::PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let audit_len = api.app.audit().await.len();
    assert_eq!(api.patch(&path, json!({ "disabled": true })).await.0, StatusCode::OK);
    assert_eq!(api.app.audit().await.len(), audit_len, "a patch that changes nothing records nothing");
    assert_eq!(api.patch(&path, json!({ "disabled": false })).await.1["disabled"], false);

    let (status, _) = api.call(Some(&api.admin), Method::POST, &format!("{path}/password-reset"), None).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let mails = app::backend::db::mail::recent(&api.app.db, None, 5).await.unwrap();
    assert_eq!((mails[0].kind, mails[0].user_id), (app::domain::mail::MailKind::PasswordReset, id));

    let c = support::client();
    assert!(api.app.call(&c, "login", &[("email", "managed@example.com"), ("password", support::PASSWORD)]).await.status().is_success());
    let c2 = support::client();
    assert!(api.app.call(&c2, "login", &[("email", "managed@example.com"), ("password", support::PASSWORD)]).await.status().is_success());
    // The sessions, one ended, then all.
    let (status, list) = api.call(Some(&api.auditor), Method::GET, &format!("{path}/sessions"), None).await;
    assert_eq!((status, list.as_array().map(Vec::len)), (StatusCode::OK, Some(2)), "{list}");
    let one = list[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(api.call(Some(&api.admin), Method::DELETE, &format!("{path}/sessions/{one}"), None).await.0, StatusCode::OK);
    assert_eq!(api.call(Some(&api.admin), Method::DELETE, &format!("{path}/sessions/{one}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.get(&format!("{path}/sessions")).await.1.as_array().map(Vec::len), Some(1));
    assert_eq!(api.call(Some(&api.admin), Method::DELETE, &format!("{path}/sessions"), None).await.0, StatusCode::OK);
    assert_eq!(support::json(api.app.call(&c, "current_user", &[]).await).await, Value::Null);
    assert_eq!(support::json(api.app.call(&c2, "current_user", &[]).await).await, Value::Null);

    // Staff accounts are not customers: the same 404 as a missing id.
    let staff = api.app.create_user("staff@example.com", support::PASSWORD, Role::Admin).await;
    let got = api.patch(&format!("/api/v1/customers/{staff}"), json!({ "disabled": true })).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", None);
    let got = api.patch(&path, json!({ "disabled": "yes" })).await;
    assert_eq!(got.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.1);
    let actions: Vec<String> = api.app.audit().await.into_iter().map(|e| e.0).collect();
    for a in ["user.disable", "user.enable", "user.reset_sent", "user.sessions_ended"] {
        assert!(actions.iter().any(|x| x == a), "{a}: {actions:?}");
    }
}
