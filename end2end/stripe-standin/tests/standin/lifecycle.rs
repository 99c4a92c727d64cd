//! A subscription's whole life, driven with async-stripe's own client where
//! the portal uses it and with the test controls for the rest.

use std::collections::HashMap;

use stripe_billing::subscription::RetrieveSubscription;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionSubscriptionData,
    RetrieveCheckoutSession,
};
use stripe_core::customer::CreateCustomer;
use stripe_product::price::{CreatePrice, CreatePriceRecurring, CreatePriceRecurringInterval};
use stripe_product::product::CreateProduct;
use stripe_shared::{
    CheckoutSessionMode, CheckoutSessionPaymentStatus, CheckoutSessionStatus, SubscriptionStatus,
};

use crate::support::{world, World};

fn meta(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Customer, product, monthly (or yearly) price and an open subscription
/// session, all through the typed client. Answers (customer, price, session) ids.
pub async fn subscription_session(
    w: &World,
    interval: CreatePriceRecurringInterval,
) -> (String, String, String) {
    let customer = CreateCustomer::new()
        .email("buyer@example.com")
        .name("Bea Buyer")
        .metadata(meta(&[("portcullis_user_id", "7")]))
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(customer.email.as_deref(), Some("buyer@example.com"));
    let product = CreateProduct::new("Harbor Pro")
        .description("Private images")
        .metadata(meta(&[("portcullis_product_id", "3")]))
        .send(&w.stripe)
        .await
        .unwrap();
    let price = CreatePrice::new(stripe_types::Currency::USD)
        .product(product.id.as_str())
        .unit_amount(2000)
        .recurring(CreatePriceRecurring::new(interval))
        .metadata(meta(&[("portcullis_price_id", "5")]))
        .send(&w.stripe)
        .await
        .unwrap();
    let mut item = CreateCheckoutSessionLineItems::new();
    item.price = Some(price.id.to_string());
    item.quantity = Some(1);
    let mut sub_data = CreateCheckoutSessionSubscriptionData::new();
    sub_data.metadata = Some(meta(&[
        ("portcullis_user_id", "7"),
        ("portcullis_order_id", "11"),
    ]));
    let session = CreateCheckoutSession::new()
        .mode(CheckoutSessionMode::Subscription)
        .customer(customer.id.as_str())
        .line_items(vec![item])
        .success_url("http://portal.invalid/checkout/done?session_id={CHECKOUT_SESSION_ID}")
        .cancel_url("http://portal.invalid/catalogue/harbor-pro")
        .client_reference_id("7")
        .metadata(meta(&[("portcullis_order_id", "11")]))
        .subscription_data(sub_data)
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(session.status, Some(CheckoutSessionStatus::Open));
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Unpaid);
    let url = session.url.clone().unwrap();
    assert_eq!(
        url,
        format!("{}checkout/{}", w.standin.base_url, session.id)
    );
    (
        customer.id.to_string(),
        price.id.to_string(),
        session.id.to_string(),
    )
}

#[tokio::test]
async fn subscription_lifecycle() {
    let w = world().await;
    let (customer, _price, session) =
        subscription_session(&w, CreatePriceRecurringInterval::Month).await;

    // The buyer pays; the test only knows the session id.
    let paid = w
        .control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    assert_eq!(paid["status"], "complete");
    assert_eq!(paid["payment_status"], "paid");
    let ids = w
        .control_get(&format!("/test/checkout/sessions/{session}"))
        .await;
    let sub_id = ids["subscription"].as_str().unwrap().to_string();
    assert!(ids["payment_intent"].as_str().unwrap().starts_with("pi_"));
    assert_eq!(ids["customer"], customer.as_str());

    // The portal re-reads the session and the subscription with its client.
    let s = RetrieveCheckoutSession::new(session.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(s.status, Some(CheckoutSessionStatus::Complete));
    assert_eq!(
        s.subscription.as_ref().map(|x| x.id().to_string()),
        Some(sub_id.clone())
    );
    assert_eq!(s.metadata.unwrap()["portcullis_order_id"], "11");
    let sub = RetrieveSubscription::new(sub_id.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Active);
    assert_eq!(sub.metadata["portcullis_order_id"], "11");
    assert_eq!(sub.customer.id().as_str(), customer);
    let item = &sub.items.data[0];
    let month = item.current_period_end - item.current_period_start;
    assert!((28 * 86400..=31 * 86400).contains(&month), "{month}");
    assert_eq!(
        w.event_types_since(0).await,
        [
            "customer.subscription.created",
            "invoice.paid",
            "checkout.session.completed",
        ]
    );
    let first = w.get(&format!("/v1/subscriptions/{sub_id}")).await;
    let invoice_id = first["latest_invoice"].as_str().unwrap();
    let invoice = w.get(&format!("/v1/invoices/{invoice_id}")).await;
    assert_eq!(invoice["billing_reason"], "subscription_create");
    assert_eq!(invoice["status"], "paid");
    assert_eq!(
        invoice["parent"]["subscription_details"]["subscription"],
        sub_id.as_str()
    );
    assert_eq!(
        invoice["parent"]["subscription_details"]["metadata"]["portcullis_order_id"],
        "11"
    );
    let pi = w
        .get(&format!(
            "/v1/payment_intents/{}",
            ids["payment_intent"].as_str().unwrap()
        ))
        .await;
    assert_eq!(pi["status"], "succeeded");
    let charge = w
        .get(&format!(
            "/v1/charges/{}",
            pi["latest_charge"].as_str().unwrap()
        ))
        .await;
    assert_eq!(charge["payment_intent"], pi["id"]);

    // A renewal that is paid.
    let old_end = item.current_period_end;
    let renewed = w
        .control(&format!("/test/subscriptions/{sub_id}/advance"), None)
        .await;
    assert_eq!(renewed["items"]["data"][0]["current_period_start"], old_end);
    assert!(
        renewed["items"]["data"][0]["current_period_end"]
            .as_i64()
            .unwrap()
            > old_end
    );
    assert_eq!(
        w.event_types_since(3).await,
        ["invoice.paid", "customer.subscription.updated"]
    );
    let events = w.verified_events().await;
    let updated = &events[4]["data"];
    assert!(
        updated["previous_attributes"]["items"].is_object(),
        "{updated}"
    );
    let renewal = &events[3]["data"]["object"];
    assert_eq!(renewal["billing_reason"], "subscription_cycle");
    assert_eq!(renewal["lines"]["data"][0]["period"]["start"], old_end);

    // A renewal that fails, then the card is fixed.
    w.control(
        &format!("/test/subscriptions/{sub_id}/fail_next_invoice"),
        None,
    )
    .await;
    let past_due = w
        .control(&format!("/test/subscriptions/{sub_id}/advance"), None)
        .await;
    assert_eq!(past_due["status"], "past_due");
    assert_eq!(
        w.event_types_since(5).await,
        ["invoice.payment_failed", "customer.subscription.updated"]
    );
    let events = w.verified_events().await;
    let failed = &events[5]["data"]["object"];
    assert_eq!(
        (failed["status"].as_str(), failed["attempted"].as_bool()),
        (Some("open"), Some(true))
    );
    assert_eq!(failed["attempt_count"], 1);
    assert_eq!(events[6]["data"]["previous_attributes"]["status"], "active");
    let fixed = w
        .control(
            &format!("/test/subscriptions/{sub_id}/pay_open_invoice"),
            None,
        )
        .await;
    assert_eq!(fixed["status"], "active");
    assert_eq!(
        w.event_types_since(7).await,
        ["invoice.paid", "customer.subscription.updated"]
    );
    let events = w.verified_events().await;
    assert_eq!(events[7]["data"]["object"]["id"], failed["id"]);
    assert_eq!(events[7]["data"]["object"]["status"], "paid");

    // Fails again; retries run out.
    w.control(
        &format!("/test/subscriptions/{sub_id}/fail_next_invoice"),
        None,
    )
    .await;
    w.control(&format!("/test/subscriptions/{sub_id}/advance"), None)
        .await;
    let unpaid = w
        .control(&format!("/test/subscriptions/{sub_id}/mark_unpaid"), None)
        .await;
    assert_eq!(unpaid["status"], "unpaid");
    assert_eq!(
        w.event_types_since(9).await,
        [
            "invoice.payment_failed",
            "customer.subscription.updated",
            "customer.subscription.updated",
        ]
    );
    let history = w
        .control_get(&format!("/test/subscriptions/{sub_id}"))
        .await;
    assert_eq!(history["invoices"].as_array().unwrap().len(), 4);

    // Canceled at period end, then the period ends.
    let ending = w
        .control(
            &format!("/test/subscriptions/{sub_id}/cancel"),
            Some(serde_json::json!({"at_period_end": true})),
        )
        .await;
    assert_eq!(ending["cancel_at_period_end"], true);
    assert_eq!(
        ending["cancel_at"],
        ending["items"]["data"][0]["current_period_end"]
    );
    let ended = w
        .control(&format!("/test/subscriptions/{sub_id}/advance"), None)
        .await;
    assert_eq!(ended["status"], "canceled");
    assert_eq!(
        ended["ended_at"],
        ending["items"]["data"][0]["current_period_end"]
    );
    assert_eq!(
        w.event_types_since(12).await,
        [
            "customer.subscription.updated",
            "customer.subscription.deleted"
        ]
    );
    let sub = RetrieveSubscription::new(sub_id.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(sub.status, SubscriptionStatus::Canceled);

    // Every event was delivered once, signed, and decodes in async-stripe.
    let events = w.control_get("/test/events").await;
    for e in events["data"].as_array().unwrap() {
        assert_eq!(
            (e["delivered"].as_bool(), e["attempts"].as_u64()),
            (Some(true), Some(1)),
            "{e}"
        );
    }
    assert_eq!(w.hooks.all().len(), 14);
    w.standin.shutdown().await;
}

#[tokio::test]
async fn yearly_price_renews_a_year_and_cancel_now_deletes() {
    let w = world().await;
    let (_, _, session) = subscription_session(&w, CreatePriceRecurringInterval::Year).await;
    let paid = w.standin.controls().pay_checkout_session(&session).unwrap();
    crate::support::check_tree(&paid);
    let sub_id = paid["subscription"].as_str().unwrap().to_string();
    let sub = w.get(&format!("/v1/subscriptions/{sub_id}")).await;
    let item = &sub["items"]["data"][0];
    let span = item["current_period_end"].as_i64().unwrap()
        - item["current_period_start"].as_i64().unwrap();
    assert!((365 * 86400..=366 * 86400).contains(&span), "{span}");
    let canceled = w
        .control(
            &format!("/test/subscriptions/{sub_id}/cancel?at_period_end=false"),
            None,
        )
        .await;
    assert_eq!(canceled["status"], "canceled");
    assert!(canceled["ended_at"].is_i64() && canceled["canceled_at"].is_i64());
    assert_eq!(
        w.event_types_since(3).await,
        ["customer.subscription.deleted"]
    );
    // Paying twice is a no-op; a canceled subscription cannot advance.
    w.control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    let r = w
        .http
        .post(w.url(&format!("/test/subscriptions/{sub_id}/advance")))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(w.verified_events().await.len(), 4);
}
