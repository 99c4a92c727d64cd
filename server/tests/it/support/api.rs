//! Helpers for the REST API tests: an app with an admin and an auditor key,
//! JSON calls, error assertions, and a small seeded catalogue.

use super::{Backend, TestApp};
use app::domain::Role;
use app::backend::services::{api_keys, catalogue, customers, entitlements};
use app::backend::services::audit::Actor;
use app::backend::web::RequestMeta;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub struct Api {
    pub app: TestApp,
    pub admin: String,
    pub auditor: String,
}

pub async fn key(app: &TestApp, name: &str, role: Role) -> String {
    api_keys::create(&app.db, name, role, Actor::System, &RequestMeta::default()).await.unwrap().secret
}

impl Api {
    pub async fn spawn(backend: Backend) -> Self {
        let app = TestApp::spawn(backend).await;
        let admin = key(&app, "erp", Role::Admin).await;
        let auditor = key(&app, "reporting", Role::Auditor).await;
        Self { app, admin, auditor }
    }

    /// Sends `body` (if any) as JSON with `key` as bearer token; returns the
    /// status and the JSON body (every API answer is JSON).
    pub async fn call(&self, key: Option<&str>, method: Method, path: &str, body: Option<&Value>) -> (StatusCode, Value) {
        let mut req = self.app.client.request(method, self.app.url(path));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        (status, super::json(res).await)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(Some(&self.admin), Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(&self.admin), Method::POST, path, Some(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Some(&self.admin), Method::PATCH, path, Some(&body)).await
    }

    /// Everything the write routes could change, to compare before and after.
    pub async fn snapshot(&self) -> Value {
        let db = &self.app.db;
        let products = catalogue::list(db, None).await.unwrap();
        let (customers, _) = customers::list(db, None, None, 200, 0).await.unwrap();
        let ents = entitlements::list(db, &app::views::EntitlementFilter::default(), 200, 0).await.unwrap();
        let requests = app::backend::services::requests::list(db, None).await.unwrap();
        json!({ "products": products, "customers": customers, "entitlements": ents, "requests": requests })
    }
}

/// Asserts an error answer: status, stable code and (if given) the field.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, field: Option<&str>) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"]["code"], code, "{}", got.1);
    assert!(got.1["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", got.1);
    if let Some(f) = field {
        assert_eq!(got.1["error"]["field"], f, "{}", got.1);
    }
}

/// A product with a price, a customer and an entitlement, made through the API.
pub struct Seed {
    pub product: i64,
    pub price: i64,
    pub customer: i64,
    pub entitlement: i64,
}

pub async fn seed(api: &Api) -> Seed {
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
