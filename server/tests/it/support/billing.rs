//! A portal wired to the Stripe stand-in (in process, on loopback), and the
//! steps the billing tests take: publish a product, log a customer in, check
//! out, drive Stripe through the stand-in's test controls, read the result.

use super::{json, Backend, Options, TestApp, PASSWORD};
use app::domain::Role;
use app::domain::order::EndAccess;
use reqwest::Client;
use serde_json::{json, Value};
use server::config::{Secret, StripeConfig};
use std::time::Duration;

pub const KEY: &str = "sk_test_portcullis_billing";
pub const WHSEC: &str = "whsec_portcullis_billing_tests";

pub struct Shop {
    pub app: TestApp,
    pub standin: stripe_standin::StandIn,
    http: Client,
}

/// `Stripe-Signature` for `body` at `t`, as Stripe computes it.
pub fn sign(body: &str, secret: &str, t: i64) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mac = ring::hmac::sign(&key, format!("{t}.{body}").as_bytes());
    format!("t={t},v1={}", hex::encode(mac.as_ref()))
}

/// An id field that may be expanded (an object with `id`) or not (a string).
pub fn id_of(v: &Value, field: &str) -> String {
    let f = &v[field];
    f.as_str().or_else(|| f["id"].as_str()).unwrap_or_else(|| panic!("no {field} in {v}")).to_owned()
}

/// The JSON text of an event as the stand-in recorded it.
pub fn event_body(e: &Value) -> String {
    match e.get("body").or_else(|| e.get("event")) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => e.to_string(),
    }
}

/// The portal's Stripe settings against the stand-in at `api_base`.
pub fn stripe_config(api_base: &str) -> StripeConfig {
    StripeConfig {
        secret_key: Secret::new(KEY),
        webhook_secret: Secret::new(WHSEC),
        api_base: api_base.to_owned(),
        grace: Duration::from_secs(3 * 86_400),
        end_access: EndAccess::PeriodEnd,
        reconcile_every: Duration::from_secs(86_400),
    }
}

impl Shop {
    pub async fn open(backend: Backend) -> Self {
        Self::open_with(backend, Options::default()).await
    }

    /// With `opts`; its `stripe`, if set, gives the grace period (the rest
    /// points at this shop's stand-in).
    pub async fn open_with(backend: Backend, mut opts: Options) -> Self {
        let standin = stripe_standin::spawn(stripe_standin::Config {
            api_key: KEY.into(),
            webhook_secret: WHSEC.into(),
            ..stripe_standin::Config::default()
        })
        .await
        .expect("stand-in starts");
        let mut stripe = stripe_config(&standin.base_url);
        if let Some(given) = opts.stripe.take() {
            stripe.grace = given.grace;
        }
        let app = TestApp::spawn_with(backend, Options { stripe: Some(stripe), ..opts }).await;
        let shop = Self { app, standin, http: Client::new() };
        shop.standin_post("test/webhooks", json!({ "url": shop.app.url("/stripe/webhook") })).await;
        // The reconciliation job's first run (at start, with nothing to
        // read) is over before a test makes orders; the next is a day away.
        let waited = std::time::Instant::now();
        while app::backend::db::orders::last_reconcile(&shop.app.db, true).await.unwrap().is_none() {
            assert!(waited.elapsed() < Duration::from_secs(20), "the reconciliation job never ran");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        shop
    }

    /// Runs a reconciliation as the command line does.
    pub async fn reconcile(&self, since: Option<chrono::DateTime<chrono::Utc>>) -> app::backend::db::orders::ReconcileRow {
        let billing = server::startup::billing_from(
            &stripe_config(&self.standin.base_url),
            &url::Url::parse(&self.app.base).unwrap(),
        )
        .unwrap();
        app::backend::services::billing::reconcile::run(
            &billing,
            &self.app.db,
            app::domain::order::ReconcileCause::Cli,
            since,
            app::backend::services::audit::Actor::Cli,
            &Default::default(),
        )
        .await
        .expect("reconciliation runs")
    }

    /// A second published product, on acme/other, with a monthly price:
    /// (product id, monthly price id).
    pub async fn other_product(&self) -> (i64, i64) {
        let (admin, _) = self.app.logged_in(Role::Admin).await;
        let p = json(self.app.call(&admin, "admin/save_product", &[("name", "Acme Other"), ("repositories", "acme/other")]).await).await;
        let id = p["id"].as_i64().expect("product id");
        let form = [("product_id", id.to_string()), ("kind", "monthly".into()), ("amount", "99".into()), ("currency", "usd".into()), ("duration", String::new())];
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let v = json(self.app.call(&admin, "admin/add_price", &form).await).await;
        let monthly = v["prices"].as_array().expect("prices").last().expect("a price")["id"].as_i64().expect("price id");
        let published = json(self.app.call(&admin, "admin/product_status", &[("id", &id.to_string()), ("status", "published")]).await).await;
        assert!(published["slug"].is_string(), "{published}");
        (id, monthly)
    }

    pub async fn standin_post(&self, path: &str, body: Value) -> Value {
        let res = self.http.post(format!("{}{path}", self.standin.base_url)).json(&body).send().await.expect("stand-in answers");
        let status = res.status();
        let v = json(res).await;
        assert!(status.is_success(), "stand-in {path}: {status} {v}");
        v
    }

    pub async fn standin_get(&self, path: &str) -> Value {
        json(self.http.get(format!("{}{path}", self.standin.base_url)).send().await.expect("stand-in answers")).await
    }

    /// POSTs a form to the stand-in's Stripe API (as the portal's key).
    pub async fn http_form(&self, path: &str, form: &[(&str, &str)]) -> Value {
        let res = self.http.post(format!("{}{path}", self.standin.base_url)).bearer_auth(KEY).form(form).send().await.expect("stand-in answers");
        let status = res.status();
        let v = json(res).await;
        assert!(status.is_success(), "stand-in {path}: {status} {v}");
        v
    }

    /// Reads an object through the stand-in's Stripe API (as the portal's key).
    pub async fn stripe_get(&self, path: &str) -> Value {
        json(self.http.get(format!("{}{path}", self.standin.base_url)).bearer_auth(KEY).send().await.expect("stand-in answers")).await
    }

    /// Waits until every event the stand-in emitted was delivered.
    pub async fn flush(&self) {
        self.standin_post("test/webhooks/flush", json!({})).await;
    }

    /// POSTs a webhook delivery to the portal: (status, JSON answer).
    pub async fn deliver(&self, body: &str, signature: Option<&str>) -> (u16, Value) {
        let mut req = self.app.client.post(self.app.url("/stripe/webhook")).header("content-type", "application/json").body(body.to_owned());
        if let Some(sig) = signature {
            req = req.header("stripe-signature", sig);
        }
        let res = req.send().await.expect("portal answers");
        (res.status().as_u16(), json(res).await)
    }

    /// A published product on acme/widget with a monthly and a 12-month
    /// one-time price: ((id, slug), monthly price id, one-time price id).
    pub async fn product(&self) -> ((i64, String), i64, i64) {
        let (admin, _) = self.app.logged_in(Role::Admin).await;
        let p = json(self.app.call(&admin, "admin/save_product", &[("name", "Acme Widget"), ("repositories", "acme/widget")]).await).await;
        let id = p["id"].as_i64().expect("product id");
        let id_s = id.to_string();
        let price = |kind: &'static str, amount: &'static str, duration: &'static str| {
            let id_s = id_s.clone();
            let admin = admin.clone();
            async move {
                let form = [("product_id", id_s.as_str()), ("kind", kind), ("amount", amount), ("currency", "usd"), ("duration", duration)];
                let v = json(self.app.call(&admin, "admin/add_price", &form).await).await;
                v["prices"].as_array().expect("prices").last().expect("a price")["id"].as_i64().expect("price id")
            }
        };
        let monthly = price("monthly", "49", "").await;
        let one_time = price("one_time", "990", "12").await;
        let published = json(self.app.call(&admin, "admin/product_status", &[("id", &id_s), ("status", "published")]).await).await;
        let slug = published["slug"].as_str().unwrap_or_else(|| panic!("published: {published}")).to_owned();
        ((id, slug), monthly, one_time)
    }

    /// A customer account with that e-mail, logged in: (client, user id).
    pub async fn customer(&self, email: &str) -> (Client, i64) {
        let id = self.app.create_user(email, PASSWORD, Role::Customer).await;
        let c = super::client();
        let res = self.app.call(&c, "login", &[("email", email), ("password", PASSWORD)]).await;
        assert!(res.status().is_success());
        (c, id)
    }

    pub async fn stripe_price_id(&self, price_id: i64) -> String {
        let row = app::backend::db::orders::price_stripe_id(&self.app.db, price_id).await.unwrap();
        row.unwrap_or_else(|| panic!("price {price_id} has no Stripe id"))
    }

    /// Starts a Checkout Session as the customer: its id (from Stripe's URL).
    pub async fn checkout(&self, customer: &Client, price_id: i64) -> String {
        let res = self.app.call(customer, "my/start_checkout", &[("price_id", &price_id.to_string())]).await;
        let status = res.status();
        let url = json(res).await;
        assert!(status.is_success(), "checkout: {status} {url}");
        let url = url.as_str().expect("a URL").to_owned();
        assert!(url.starts_with(&self.standin.base_url), "{url}");
        let id = url.rsplit('/').next().expect("a session id").to_owned();
        assert!(id.starts_with("cs_"), "{url}");
        id
    }

    pub async fn subscription_of(&self, session: &str) -> String {
        id_of(&self.standin_get(&format!("test/checkout/sessions/{session}")).await, "subscription")
    }

    /// The subscription's current period, as Stripe has it.
    pub async fn period(&self, sub: &str) -> (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) {
        let s = self.stripe_get(&format!("v1/subscriptions/{sub}")).await;
        let item = &s["items"]["data"][0];
        let t = |f: &str| chrono::DateTime::from_timestamp(item[f].as_i64().unwrap_or_else(|| panic!("{f} in {s}")), 0).unwrap();
        (t("current_period_start"), t("current_period_end"))
    }

    pub async fn status(&self, customer: &Client, session: &str) -> Value {
        json(self.app.call(customer, "my/checkout_status", &[("session_id", session)]).await).await
    }

    pub async fn orders(&self, customer: &Client) -> Vec<Value> {
        json(self.app.call(customer, "my/orders", &[]).await).await.as_array().cloned().expect("orders")
    }

    /// The customer's one entitlement, as the admin API shows it.
    pub async fn entitlement(&self, customer_id: i64) -> Value {
        let filter = app::views::EntitlementFilter { customer_id: Some(customer_id), ..Default::default() };
        let list = app::backend::services::entitlements::list(&self.app.db, &filter, 10, 0).await.unwrap();
        assert_eq!(list.len(), 1, "one entitlement: {list:?}");
        serde_json::to_value(&list[0]).unwrap()
    }
}
