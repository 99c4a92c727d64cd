//! The harness: a stand-in plus a webhook receiver on loopback, HTTP
//! helpers that check every Stripe object they see (async-stripe's own
//! decoder, and exactly the fixture's top-level keys), and event checks.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::Value;
use stripe_standin::{Config, StandIn};

pub const KEY: &str = "sk_test_standin_suite_0001";
pub const SECRET: &str = "whsec_standin_suite";

/// One POST the receiver got.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub body: String,
    pub signature: String,
    pub content_type: String,
    /// What the receiver answered.
    pub status: u16,
}

/// A webhook receiver on 127.0.0.1:0 that answers 500 to its first
/// `fail_first` requests, then 200.
pub struct Receiver {
    pub url: String,
    seen: Arc<Mutex<Vec<Delivery>>>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Self {
        let seen: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let failures = Arc::new(AtomicUsize::new(fail_first));
        let (log, left) = (seen.clone(), failures);
        let app = axum::Router::new().route(
            "/hook",
            post(move |headers: HeaderMap, body: String| {
                let (log, left) = (log.clone(), left.clone());
                async move {
                    let fail = left
                        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok();
                    let status = if fail {
                        StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        StatusCode::OK
                    };
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string()
                    };
                    log.lock().unwrap().push(Delivery {
                        body,
                        signature: header("stripe-signature"),
                        content_type: header("content-type"),
                        status: status.as_u16(),
                    });
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { url, seen }
    }

    /// Every request received (failed ones too).
    pub fn all(&self) -> Vec<Delivery> {
        self.seen.lock().unwrap().clone()
    }

    /// The requests answered 200.
    pub fn accepted(&self) -> Vec<Delivery> {
        self.all().into_iter().filter(|d| d.status == 200).collect()
    }
}

pub struct World {
    pub standin: StandIn,
    pub hooks: Receiver,
    /// Plain HTTP, no redirects followed.
    pub http: reqwest::Client,
    /// async-stripe's own client, pointed at the stand-in.
    pub stripe: stripe::Client,
}

pub async fn world() -> World {
    world_with(0).await
}

pub async fn world_with(fail_first: usize) -> World {
    let hooks = Receiver::start(fail_first).await;
    let standin = stripe_standin::spawn(Config {
        api_key: KEY.into(),
        webhook_url: Some(hooks.url.clone()),
        webhook_secret: SECRET.into(),
        ..Config::default()
    })
    .await
    .unwrap();
    assert!(standin.base_url.starts_with("http://127.0.0.1:") && standin.base_url.ends_with('/'));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let stripe = stripe::ClientBuilder::new(KEY)
        .url(standin.base_url.clone())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    World {
        standin,
        hooks,
        http,
        stripe,
    }
}

impl World {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.standin.base_url, path.trim_start_matches('/'))
    }

    /// An API call; answers (status, body) with the body checked.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .request(method.clone(), self.url(path))
            .bearer_auth(KEY);
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        if method == reqwest::Method::POST {
            request = request.form(form);
        } else if !form.is_empty() {
            request = request.query(form);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        check_body(&body);
        (status, serde_json::from_str(&body).unwrap())
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let (status, body) = self.call(reqwest::Method::POST, path, form, None).await;
        assert_eq!(status, 200, "POST {path}: {body}");
        body
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(reqwest::Method::GET, path, &[], None).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        body
    }

    /// A `/test/` control; checks any Stripe object in the answer.
    pub async fn control(&self, path: &str, json: Option<Value>) -> Value {
        let mut request = self.http.post(self.url(path));
        if let Some(json) = json {
            request = request.json(&json);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, 200, "POST {path}: {body}");
        check_tree(&body);
        body
    }

    /// A `/test/` control that must fail: (status, its `error`), checked as a
    /// Stripe error. `json`: a JSON body; `form`: a form body.
    pub async fn control_err(
        &self,
        path: &str,
        json: Option<Value>,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let mut request = self.http.post(self.url(path));
        if let Some(json) = json {
            request = request.json(&json);
        } else if !form.is_empty() {
            request = request.form(form);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        check_body(&body);
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body["error"]["message"].is_string(), "POST {path}: {body}");
        (status, body["error"].clone())
    }

    /// An API call that must fail: (status, its `error`).
    pub async fn api_err(
        &self,
        method: reqwest::Method,
        path: &str,
        form: &[(&str, &str)],
    ) -> (u16, Value) {
        let (status, body) = self.call(method, path, form, None).await;
        assert!(body["error"]["message"].is_string(), "{path}: {body}");
        (status, body["error"].clone())
    }

    /// A paid monthly subscription (20.00 USD): (customer, price, subscription).
    pub async fn paid_subscription(&self) -> (String, String, String) {
        let (customer, price, session) = crate::lifecycle::subscription_session(
            self,
            stripe_product::price::CreatePriceRecurringInterval::Month,
        )
        .await;
        let paid = self
            .standin
            .controls()
            .pay_checkout_session(&session)
            .unwrap();
        check_tree(&paid);
        let sub = paid["subscription"].as_str().unwrap().to_string();
        (customer, price, sub)
    }

    pub async fn control_get(&self, path: &str) -> Value {
        let body: Value = self
            .http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        check_tree(&body);
        body
    }

    /// Waits for the delivery queue to drain.
    pub async fn flush(&self) -> Value {
        let counts = self
            .control("/test/webhooks/flush?timeout_ms=25000", None)
            .await;
        assert_eq!(counts["timed_out"], false, "{counts}");
        assert_eq!(counts["queued"], 0, "{counts}");
        counts
    }

    /// Every accepted delivery, verified with the real secret and decoded
    /// as the portal does; answers the raw JSON bodies in arrival order.
    pub async fn verified_events(&self) -> Vec<Value> {
        self.flush().await;
        self.hooks.accepted().iter().map(verify_delivery).collect()
    }

    /// The event types received (accepted) since the `skip`-th.
    pub async fn event_types_since(&self, skip: usize) -> Vec<String> {
        let all = self.verified_events().await;
        all.iter()
            .skip(skip)
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Checks one delivery: header, signature, async-stripe's event parsing,
/// the typed object variant, and the shapes.
pub fn verify_delivery(d: &Delivery) -> Value {
    assert_eq!(d.content_type, "application/json");
    assert!(
        d.signature.starts_with("t=") && d.signature.contains(",v1="),
        "{}",
        d.signature
    );
    let event = stripe_webhook::Webhook::construct_event(&d.body, &d.signature, SECRET)
        .unwrap_or_else(|e| panic!("construct_event: {e:?}\n{}", d.body));
    let raw: Value = serde_json::from_str(&d.body).unwrap();
    check_tree(&raw);
    assert_eq!(event.id.as_str(), raw["id"].as_str().unwrap());
    assert_eq!(event.type_.as_str(), raw["type"].as_str().unwrap());
    assert_eq!(raw["api_version"], stripe_standin::API_VERSION);
    assert_eq!(
        event.api_version.as_ref().map(|v| v.as_str().to_string()),
        Some(stripe_standin::API_VERSION.to_string())
    );
    let object_id = raw["data"]["object"]["id"].as_str().unwrap().to_string();
    use stripe_webhook::EventObject as O;
    let typed_id = match (raw["type"].as_str().unwrap(), event.data.object) {
        ("checkout.session.completed", O::CheckoutSessionCompleted(s)) => s.id.to_string(),
        ("checkout.session.expired", O::CheckoutSessionExpired(s)) => s.id.to_string(),
        ("customer.subscription.created", O::CustomerSubscriptionCreated(s)) => s.id.to_string(),
        ("customer.subscription.updated", O::CustomerSubscriptionUpdated(s)) => s.id.to_string(),
        ("customer.subscription.deleted", O::CustomerSubscriptionDeleted(s)) => s.id.to_string(),
        ("invoice.paid", O::InvoicePaid(i)) => i.id.unwrap().to_string(),
        ("invoice.payment_failed", O::InvoicePaymentFailed(i)) => i.id.unwrap().to_string(),
        ("charge.refunded", O::ChargeRefunded(c)) => c.id.to_string(),
        ("charge.dispute.created", O::ChargeDisputeCreated(d)) => d.id.to_string(),
        ("charge.dispute.funds_withdrawn", O::ChargeDisputeFundsWithdrawn(d)) => d.id.to_string(),
        ("charge.dispute.funds_reinstated", O::ChargeDisputeFundsReinstated(d)) => d.id.to_string(),
        ("charge.dispute.closed", O::ChargeDisputeClosed(d)) => d.id.to_string(),
        (kind, other) => panic!("{kind}: unexpected variant {other:?}"),
    };
    assert_eq!(typed_id, object_id);
    raw
}

static FIXTURE_KEYS: &str = include_str!("../fixture_keys.json");

fn fixture_keys(resource: &str) -> BTreeSet<String> {
    let all: Value = serde_json::from_str(FIXTURE_KEYS).unwrap();
    let keys = all["resources"][resource]
        .as_array()
        .unwrap_or_else(|| panic!("no fixture keys for `{resource}`"));
    keys.iter()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// Exactly the fixture's top-level keys: none missing, none extra.
pub fn assert_keys(resource: &str, value: &Value) {
    let have: BTreeSet<String> = value.as_object().unwrap().keys().cloned().collect();
    let want = fixture_keys(resource);
    let missing: Vec<_> = want.difference(&have).collect();
    let extra: Vec<_> = have.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{resource}: missing {missing:?}, extra {extra:?}"
    );
}

/// Decodes with miniserde exactly like async-stripe's client
/// (`miniserde::json::from_str::<T>`); on failure asks serde for the path.
pub fn decode<T: miniserde::Deserialize + serde::de::DeserializeOwned>(
    body: &str,
    what: &str,
) -> T {
    match miniserde::json::from_str::<T>(body) {
        Ok(value) => value,
        Err(_) => {
            let mut de = serde_json::Deserializer::from_str(body);
            let why = match serde_path_to_error::deserialize::<_, T>(&mut de) {
                Err(e) => e.to_string(),
                Ok(_) => "serde accepts it".into(),
            };
            panic!("{what}: async-stripe's decoder rejects it ({why}):\n{body}");
        }
    }
}

/// Checks a raw API body: a Stripe object, a list or an error.
pub fn check_body(body: &str) {
    let value: Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"));
    if value.get("error").is_some() {
        let err: stripe_shared::Error = decode(body, "error");
        assert!(err.error.message.is_some());
        return;
    }
    check_tree(&value);
}

/// Checks every Stripe object in `value` (recursing into control answers).
pub fn check_tree(value: &Value) {
    match value.get("object").and_then(Value::as_str) {
        Some(kind) => check_object(kind, value),
        None => {
            if let Some(map) = value.as_object() {
                map.values().for_each(check_tree);
            } else if let Some(items) = value.as_array() {
                items.iter().for_each(check_tree);
            }
        }
    }
}

fn check_object(kind: &str, v: &Value) {
    let body = v.to_string();
    match kind {
        "list" => {
            let data = v["data"].as_array().unwrap();
            let all = |kind: &str| data.iter().all(|d| d["object"] == kind);
            if all("checkout.session") {
                let _: stripe_types::List<stripe_shared::CheckoutSession> = decode(&body, "list");
            }
            if all("dispute") {
                let _: stripe_types::List<stripe_shared::Dispute> = decode(&body, "list");
            }
            if all("invoice_payment") {
                let _: stripe_types::List<stripe_shared::InvoicePayment> = decode(&body, "list");
            }
            data.iter().for_each(check_tree);
            return;
        }
        "event" => {
            let _: stripe_shared::Event = decode(&body, "event");
            check_tree(&v["data"]["object"]);
        }
        "checkout.session" => {
            decode::<stripe_shared::CheckoutSession>(&body, kind);
        }
        "billing_portal.session" => {
            decode::<stripe_billing::BillingPortalSession>(&body, kind);
        }
        "customer" => {
            decode::<stripe_shared::Customer>(&body, kind);
        }
        "product" => {
            decode::<stripe_shared::Product>(&body, kind);
        }
        "price" => {
            decode::<stripe_shared::Price>(&body, kind);
        }
        "payment_intent" => {
            decode::<stripe_shared::PaymentIntent>(&body, kind);
        }
        "refund" => {
            decode::<stripe_shared::Refund>(&body, kind);
        }
        "dispute" => {
            decode::<stripe_shared::Dispute>(&body, kind);
        }
        "invoice_payment" => {
            decode::<stripe_shared::InvoicePayment>(&body, kind);
        }
        "charge" => {
            let _: stripe_shared::Charge = decode(&body, kind);
            v["refunds"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(|r| check_object("refund", r));
        }
        "subscription" => {
            let _: stripe_shared::Subscription = decode(&body, kind);
            for item in v["items"]["data"].as_array().unwrap() {
                assert_keys("subscription_item", item);
                assert_keys("plan", &item["plan"]);
                check_object("price", &item["price"]);
            }
        }
        "invoice" => {
            let _: stripe_shared::Invoice = decode(&body, kind);
            v["lines"]["data"]
                .as_array()
                .unwrap()
                .iter()
                .for_each(|l| assert_keys("line_item", l));
        }
        other => panic!("unexpected object `{other}`"),
    }
    assert_keys(kind, v);
}
