//! Auth, Stripe-shaped errors, validation, idempotency, and the binary.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use stripe::StripeRequest as _;
use stripe_billing::subscription::RetrieveSubscription;
use stripe_product::price::{CreatePriceRecurringInterval, UpdatePrice};

use crate::lifecycle::subscription_session;
use crate::support::{world, World, KEY};

async fn error(
    w: &World,
    method: Method,
    path: &str,
    form: &[(&str, &str)],
) -> (u16, serde_json::Value) {
    let (status, body) = w.call(method, path, form, None).await;
    assert!(body["error"]["message"].is_string(), "{body}");
    (status, body["error"].clone())
}

#[tokio::test]
async fn api_key_is_required() {
    let w = world().await;
    let none = w.http.post(w.url("/v1/customers")).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let body = none.text().await.unwrap();
    crate::support::check_body(&body);
    let wrong = stripe::ClientBuilder::new("sk_test_wrong")
        .url(w.standin.base_url.clone())
        .build()
        .unwrap();
    match RetrieveSubscription::new("sub_x").send(&wrong).await {
        Err(stripe::StripeError::Stripe(err, 401)) => {
            assert_eq!(err.type_, stripe_shared::ApiErrorsType::InvalidRequestError);
            assert!(err.message.unwrap().contains("Invalid API Key"));
        }
        other => panic!("{other:?}"),
    }
    // The test controls need no key.
    assert_eq!(
        w.http
            .get(w.url("/test/events"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn missing_objects_and_bad_params_are_stripe_errors() {
    let w = world().await;
    match RetrieveSubscription::new("sub_missing")
        .send(&w.stripe)
        .await
    {
        Err(stripe::StripeError::Stripe(err, 404)) => {
            assert_eq!(
                err.code,
                Some(stripe_shared::ApiErrorsCode::ResourceMissing)
            );
            assert_eq!(
                err.message.as_deref(),
                Some("No such subscription: 'sub_missing'")
            );
        }
        other => panic!("{other:?}"),
    }
    let (status, e) = error(&w, Method::GET, "/v1/checkout/sessions/cs_test_nope", &[]).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let (status, e) = error(&w, Method::GET, "/v1/nothing/here", &[]).await;
    assert_eq!(
        (status, e["type"].as_str()),
        (404, Some("invalid_request_error"))
    );
    let (status, e) = error(&w, Method::POST, "/v1/products", &[]).await;
    assert_eq!(
        (status, e["code"].as_str(), e["param"].as_str()),
        (400, Some("parameter_missing"), Some("name"))
    );
    let (status, e) = error(
        &w,
        Method::POST,
        "/v1/prices",
        &[
            ("product", "prod_x"),
            ("currency", "usd"),
            ("unit_amount", "1"),
        ],
    )
    .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("resource_missing"))
    );
    let (_, e) = error(
        &w,
        Method::POST,
        "/v1/billing_portal/sessions",
        &[("customer", "cus_nope")],
    )
    .await;
    assert_eq!(e["param"], "customer");
    let (status, _) = error(&w, Method::POST, "/v1/customers", &[("a[b", "1")]).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn checkout_validates_like_stripe() {
    let w = world().await;
    let (customer, monthly, _) =
        subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    let product = w.post("/v1/products", &[("name", "One-off")]).await;
    let once = w
        .post(
            "/v1/prices",
            &[
                ("product", product["id"].as_str().unwrap()),
                ("currency", "usd"),
                ("unit_amount", "900"),
            ],
        )
        .await;
    let once = once["id"].as_str().unwrap();
    let base = |mode: &'static str, price: &str| -> Vec<(String, String)> {
        vec![
            ("mode".into(), mode.into()),
            ("customer".into(), customer.clone()),
            ("line_items[0][price]".into(), price.into()),
            ("line_items[0][quantity]".into(), "1".into()),
            ("success_url".into(), "http://x.invalid/ok".into()),
        ]
    };
    let world = &w;
    let send = |form: Vec<(String, String)>| async move {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        error(world, Method::POST, "/v1/checkout/sessions", &pairs).await
    };
    let (_, e) = send(base("payment", &monthly)).await;
    assert!(
        e["message"].as_str().unwrap().contains("recurring price"),
        "{e}"
    );
    let (_, e) = send(base("subscription", once)).await;
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("at least one recurring price"),
        "{e}"
    );
    let mut no_success = base("payment", once);
    no_success.retain(|(k, _)| k != "success_url");
    let (_, e) = send(no_success).await;
    assert_eq!(e["param"], "success_url");
    let mut stranger = base("payment", once);
    stranger[1].1 = "cus_stranger".into();
    let (status, e) = send(stranger).await;
    assert_eq!(
        (status, e["code"].as_str(), e["param"].as_str()),
        (400, Some("resource_missing"), Some("customer"))
    );
    let mut unknown = base("payment", "price_unknown");
    unknown.truncate(4);
    unknown.push(("success_url".into(), "http://x.invalid/ok".into()));
    let (_, e) = send(unknown).await;
    assert_eq!(e["param"], "line_items[0][price]");
    let mut wrong_data = base("payment", once);
    wrong_data.push(("subscription_data[metadata][a]".into(), "b".into()));
    let (_, e) = send(wrong_data).await;
    assert_eq!(e["param"], "subscription_data");

    let inactive = UpdatePrice::new(monthly.as_str())
        .active(false)
        .send(&w.stripe)
        .await
        .unwrap();
    assert!(!inactive.active);
    let (_, e) = send(base("subscription", &monthly)).await;
    assert!(e["message"].as_str().unwrap().contains("inactive"), "{e}");
}

#[tokio::test]
async fn idempotency_keys_replay_the_first_answer() {
    let w = world().await;
    let form = [("email", "same@example.com"), ("metadata[k]", "v")];
    let (s1, first) = w
        .call(Method::POST, "/v1/customers", &form, Some("key-1"))
        .await;
    let (s2, again) = w
        .call(Method::POST, "/v1/customers", &form, Some("key-1"))
        .await;
    assert_eq!((s1, s2), (200, 200));
    assert_eq!(first, again);
    let (s3, other) = w
        .call(Method::POST, "/v1/customers", &form, Some("key-2"))
        .await;
    assert_eq!(s3, 200);
    assert_ne!(other["id"], first["id"]);
    let (s4, clash) = w
        .call(
            Method::POST,
            "/v1/customers",
            &[("email", "else@example.com")],
            Some("key-1"),
        )
        .await;
    assert_eq!(
        (s4, clash["error"]["type"].as_str()),
        (400, Some("idempotency_error"))
    );
    // The real client's idempotent strategy sends the `Idempotency-Key` header.
    let create = || {
        let key: stripe::IdempotencyKey = "typed-key-1".to_string().try_into().unwrap();
        stripe_core::customer::CreateCustomer::new()
            .email("typed@example.com")
            .customize()
            .request_strategy(stripe::RequestStrategy::Idempotent(key))
            .send(&w.stripe)
    };
    let (a, b) = (create().await.unwrap(), create().await.unwrap());
    assert_eq!(a.id, b.id);
    assert_eq!(a.email.as_deref(), Some("typed@example.com"));
}

#[test]
fn the_binary_prints_its_address_and_serves() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stripe-standin"))
        .args([
            "--addr",
            "127.0.0.1:0",
            "--api-key",
            KEY,
            "--webhook-secret",
            "whsec_bin",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let started = Instant::now();
    let line = rx.recv_timeout(Duration::from_secs(20)).unwrap_or_default();
    let base = line
        .trim()
        .strip_prefix("stripe-standin listening on ")
        .map(str::to_string);
    let result = base.as_ref().map(|base| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let client = reqwest::Client::new();
            let denied = client
                .post(format!("{base}v1/customers"))
                .send()
                .await
                .unwrap()
                .status();
            let ok = client
                .post(format!("{base}v1/customers"))
                .bearer_auth(KEY)
                .send()
                .await
                .unwrap()
                .status();
            (denied.as_u16(), ok.as_u16())
        })
    });
    child.kill().unwrap();
    child.wait().unwrap();
    let base = base.unwrap_or_else(|| {
        panic!(
            "unexpected first line {line:?} after {:?}",
            started.elapsed()
        )
    });
    assert!(
        base.starts_with("http://127.0.0.1:") && base.ends_with('/'),
        "{base}"
    );
    assert_eq!(result, Some((401, 200)));
}

#[tokio::test]
async fn non_loopback_addresses_are_refused() {
    let config = stripe_standin::Config {
        addr: "0.0.0.0:0".parse().unwrap(),
        ..Default::default()
    };
    let err = stripe_standin::spawn(config).await.err().unwrap();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}
