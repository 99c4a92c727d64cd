//! Delivery: signatures, retries, the duplicates and out-of-order switches,
//! and recording without a URL.

use std::time::Duration;

use serde_json::json;
use stripe_product::price::CreatePriceRecurringInterval;
use stripe_webhook::{Webhook, WebhookError};

use crate::lifecycle::subscription_session;
use crate::support::{verify_delivery, world, world_with, SECRET};

#[tokio::test]
async fn signatures_verify_only_with_the_right_secret() {
    let w = world().await;
    let (_, _, session) = subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    w.control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    w.flush().await;
    let deliveries = w.hooks.accepted();
    assert_eq!(deliveries.len(), 3);
    for d in &deliveries {
        verify_delivery(d);
        let wrong = Webhook::construct_event(&d.body, &d.signature, "whsec_wrong");
        assert!(
            matches!(wrong, Err(WebhookError::BadSignature)),
            "{wrong:?}"
        );
        let tampered = d
            .body
            .replacen("\"livemode\":false", "\"livemode\":true", 1);
        assert!(Webhook::construct_event(&tampered, &d.signature, SECRET).is_err());
    }
    // The library's own signer agrees with the stand-in's.
    let body = &deliveries[0].body;
    assert_eq!(
        stripe_standin::signature_header(SECRET, 1_700_000_000, body),
        Webhook::generate_test_header(body, SECRET, Some(1_700_000_000)),
    );
}

#[tokio::test]
async fn failed_deliveries_are_retried_with_backoff() {
    let w = world_with(3).await;
    let (_, _, session) = subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    w.control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    let events = w.verified_events().await;
    let types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    // Still in order: the first event is retried before the next is sent.
    assert_eq!(
        types,
        [
            "customer.subscription.created",
            "invoice.paid",
            "checkout.session.completed"
        ]
    );
    let all = w.hooks.all();
    assert_eq!(all.len(), 6);
    assert!(all[..3]
        .iter()
        .all(|d| d.status == 500 && d.body == all[3].body));
    let record = w.control_get("/test/events").await;
    let first = &record["data"][0];
    assert_eq!(
        (first["attempts"].as_u64(), first["delivered"].as_bool()),
        (Some(4), Some(true))
    );
    assert_eq!(first["last_status"], 200);
    assert_eq!(record["data"][1]["attempts"], 1);

    // Connection errors are retried too: a URL nobody listens on, then the receiver.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_url = format!("http://{}/hook", dead.local_addr().unwrap());
    drop(dead);
    w.standin
        .controls()
        .set_webhooks(stripe_standin::WebhookSwitches {
            url: Some(dead_url),
            ..Default::default()
        });
    let sub = events[0]["data"]["object"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    w.standin.controls().advance(&sub).unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let stuck = w.control_get("/test/events").await;
    let renewal = &stuck["data"][3];
    assert!(renewal["attempts"].as_u64().unwrap() >= 2, "{renewal}");
    assert!(
        renewal["last_status"].is_null() && renewal["last_error"].is_string(),
        "{renewal}"
    );
    w.control("/test/webhooks", Some(json!({ "url": w.hooks.url })))
        .await;
    assert_eq!(
        w.event_types_since(3).await,
        ["invoice.paid", "customer.subscription.updated"]
    );
}

#[tokio::test]
async fn duplicates_deliver_every_event_twice() {
    let w = world().await;
    let settings = w
        .control("/test/webhooks", Some(json!({ "duplicates": true })))
        .await;
    assert_eq!(
        (
            settings["duplicates"].as_bool(),
            settings["out_of_order"].as_bool()
        ),
        (Some(true), Some(false))
    );
    let (_, _, session) = subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    w.control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    let events = w.verified_events().await;
    let ids: Vec<_> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 6);
    assert_eq!(ids[..3], ids[3..]);
    let record = w.control_get("/test/events").await;
    for e in record["data"].as_array().unwrap() {
        assert_eq!(
            (e["copies"].as_u64(), e["deliveries"].as_u64()),
            (Some(2), Some(2)),
            "{e}"
        );
    }
}

#[tokio::test]
async fn held_events_wait_until_released() {
    let w = world().await;
    let settings = w.control("/test/webhooks", Some(json!({ "hold": true }))).await;
    assert_eq!(settings["hold"].as_bool(), Some(true));
    let (_, _, session) = subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    w.control(&format!("/test/checkout/sessions/{session}/pay"), None).await;
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let record = w.control_get("/test/events").await;
    assert!(record["data"].as_array().unwrap().iter().all(|e| e["attempts"] == 0), "nothing sent while held: {record}");
    assert_eq!(record["queued"].as_u64(), Some(3));
    w.control("/test/webhooks", Some(json!({ "hold": false }))).await;
    assert_eq!(w.verified_events().await.len(), 3, "released in order");
}

#[tokio::test]
async fn out_of_order_reverses_each_actions_events() {
    let w = world().await;
    w.control("/test/webhooks", Some(json!({ "out_of_order": true })))
        .await;
    let (_, _, session) = subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    let paid = w
        .control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    let sub = paid["subscription"].as_str().unwrap();
    w.control(&format!("/test/subscriptions/{sub}/advance"), None)
        .await;
    let types = w.event_types_since(0).await;
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "invoice.paid",
            "customer.subscription.created",
            "customer.subscription.updated",
            "invoice.paid",
        ]
    );
    // `created` stays in emission order: the portal must not trust arrival.
    let events = w.verified_events().await;
    assert!(events[0]["created"].as_i64() >= events[2]["created"].as_i64());
}

#[tokio::test]
async fn without_a_url_events_are_only_recorded() {
    let standin = stripe_standin::spawn(stripe_standin::Config::default())
        .await
        .unwrap();
    let controls = standin.controls();
    let http = reqwest::Client::new();
    let key = standin.api_key().to_string();
    let post = |path: &str, form: Vec<(&'static str, String)>| {
        http.post(format!("{}{path}", standin.base_url))
            .bearer_auth(&key)
            .form(&form)
            .send()
    };
    let product: serde_json::Value = post("v1/products", vec![("name", "P".into())])
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let price: serde_json::Value = post(
        "v1/prices",
        vec![
            ("product", product["id"].as_str().unwrap().into()),
            ("currency", "usd".into()),
            ("unit_amount", "500".into()),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let session: serde_json::Value = post(
        "v1/checkout/sessions",
        vec![
            ("mode", "payment".into()),
            ("line_items[0][price]", price["id"].as_str().unwrap().into()),
            ("line_items[0][quantity]", "2".into()),
            ("success_url", "http://x.invalid/ok".into()),
        ],
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(session["amount_total"], 1000);
    let paid = controls
        .pay_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    assert!(
        paid["customer"].is_null(),
        "payment mode without customer creates none"
    );
    let counts = controls.flush(Duration::from_secs(5)).await;
    assert_eq!(counts["queued"], 0);
    let events = controls.events();
    let first = &events["data"][0];
    assert_eq!(
        (first["type"].as_str(), first["copies"].as_u64()),
        (Some("checkout.session.completed"), Some(0))
    );
    assert_eq!(first["event"]["pending_webhooks"], 0);
    assert_eq!(controls.event_bodies().len(), 1);
    standin.shutdown().await;
}
