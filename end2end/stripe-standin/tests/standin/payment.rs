//! One-time payments through the hosted page, refunds, and the billing portal.

use stripe_billing::billing_portal_session::CreateBillingPortalSession;
use stripe_checkout::checkout_session::ListCheckoutSession;
use stripe_product::price::CreatePriceRecurringInterval;

use crate::support::{world, World};

/// A one-time price of 12.50 EUR and an open payment session, via raw form posts.
async fn payment_session(w: &World) -> (String, String) {
    let customer = w
        .post(
            "/v1/customers",
            &[
                ("email", "payer@example.com"),
                ("metadata[portcullis_user_id]", "9"),
            ],
        )
        .await;
    let product = w
        .post(
            "/v1/products",
            &[
                ("name", "Harbor <Lifetime>"),
                ("metadata[portcullis_product_id]", "4"),
            ],
        )
        .await;
    let price = w
        .post(
            "/v1/prices",
            &[
                ("product", product["id"].as_str().unwrap()),
                ("currency", "eur"),
                ("unit_amount", "1250"),
                ("metadata[portcullis_price_id]", "8"),
            ],
        )
        .await;
    assert_eq!(
        (price["type"].as_str(), price["recurring"].is_null()),
        (Some("one_time"), true)
    );
    let session = w
        .post(
            "/v1/checkout/sessions",
            &[
                ("mode", "payment"),
                ("customer", customer["id"].as_str().unwrap()),
                ("line_items[0][price]", price["id"].as_str().unwrap()),
                ("line_items[0][quantity]", "1"),
                (
                    "success_url",
                    "http://portal.invalid/checkout/done?session_id={CHECKOUT_SESSION_ID}",
                ),
                ("cancel_url", "http://portal.invalid/catalogue/harbor"),
                ("metadata[portcullis_order_id]", "21"),
                ("payment_intent_data[metadata][portcullis_order_id]", "21"),
                ("payment_intent_data[metadata][portcullis_user_id]", "9"),
            ],
        )
        .await;
    assert_eq!(session["amount_total"], 1250);
    assert_eq!(session["currency"], "eur");
    assert!(session["payment_intent"].is_null());
    (
        session["id"].as_str().unwrap().to_string(),
        session["url"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn payment_through_the_hosted_page_then_refund() {
    let w = world().await;
    let (session, url) = payment_session(&w).await;

    let page = w.http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Harbor &lt;Lifetime&gt;"), "{html}");
    assert!(html.contains("12.50 EUR"), "{html}");
    assert!(
        html.contains("<button type=\"submit\">Pay</button>"),
        "{html}"
    );
    assert!(
        html.contains("href=\"http://portal.invalid/catalogue/harbor\">Cancel</a>"),
        "{html}"
    );

    let paid = w.http.post(format!("{url}/pay")).send().await.unwrap();
    assert_eq!(paid.status(), 303);
    let location = paid.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(
        location,
        format!("http://portal.invalid/checkout/done?session_id={session}")
    );

    let done = w.get(&format!("/v1/checkout/sessions/{session}")).await;
    assert_eq!(
        (done["status"].as_str(), done["payment_status"].as_str()),
        (Some("complete"), Some("paid"))
    );
    assert!(done["url"].is_null() && done["subscription"].is_null());
    let pi_id = done["payment_intent"].as_str().unwrap().to_string();

    // The portal finds the session by its payment intent, with the real client.
    let found = ListCheckoutSession::new()
        .payment_intent(pi_id.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(found.data.len(), 1);
    assert_eq!(found.data[0].id.as_str(), session);
    let raw = w
        .call(
            reqwest::Method::GET,
            "/v1/checkout/sessions",
            &[("payment_intent", &pi_id)],
            None,
        )
        .await
        .1;
    assert_eq!(
        (raw["object"].as_str(), raw["has_more"].as_bool()),
        (Some("list"), Some(false))
    );
    let none = w
        .call(
            reqwest::Method::GET,
            "/v1/checkout/sessions",
            &[("payment_intent", "pi_nope")],
            None,
        )
        .await
        .1;
    assert_eq!(none["data"].as_array().unwrap().len(), 0);

    let pi = w.get(&format!("/v1/payment_intents/{pi_id}")).await;
    assert_eq!(pi["metadata"]["portcullis_order_id"], "21");
    assert_eq!(pi["amount_received"], 1250);
    let charge_id = pi["latest_charge"].as_str().unwrap().to_string();
    let charge = w.get(&format!("/v1/charges/{charge_id}")).await;
    assert_eq!(charge["metadata"]["portcullis_user_id"], "9");
    assert_eq!(charge["payment_intent"], pi_id.as_str());

    let refunded = w
        .control(&format!("/test/payment_intents/{pi_id}/refund"), None)
        .await;
    assert_eq!(
        (
            refunded["refunded"].as_bool(),
            refunded["amount_refunded"].as_i64()
        ),
        (Some(true), Some(1250))
    );
    let again = w
        .http
        .post(w.url(&format!("/test/payment_intents/{pi_id}/refund")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);

    let events = w.verified_events().await;
    let types: Vec<_> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["checkout.session.completed", "charge.refunded"]);
    let refund_event = &events[1]["data"];
    assert_eq!(refund_event["object"]["payment_intent"], pi_id.as_str());
    assert_eq!(
        refund_event["object"]["metadata"]["portcullis_order_id"],
        "21"
    );
    assert_eq!(refund_event["previous_attributes"]["refunded"], false);
    assert_eq!(
        events[0]["data"]["object"]["payment_intent"],
        pi_id.as_str()
    );
}

#[tokio::test]
async fn partial_refund_through_the_api_and_expiry() {
    let w = world().await;
    let (session, _) = payment_session(&w).await;
    let paid = w.standin.controls().pay_checkout_session(&session).unwrap();
    let pi = paid["payment_intent"].as_str().unwrap();
    let refund = w
        .post("/v1/refunds", &[("payment_intent", pi), ("amount", "250")])
        .await;
    assert_eq!(
        (refund["amount"].as_i64(), refund["status"].as_str()),
        (Some(250), Some("succeeded"))
    );
    let charge = w
        .get(&format!(
            "/v1/charges/{}",
            refund["charge"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (
            charge["refunded"].as_bool(),
            charge["amount_refunded"].as_i64()
        ),
        (Some(false), Some(250))
    );
    let rest = w
        .post("/v1/refunds", &[("charge", charge["id"].as_str().unwrap())])
        .await;
    assert_eq!(rest["amount"], 1000);

    let (other, url) = payment_session(&w).await;
    let expired = w
        .post(&format!("/v1/checkout/sessions/{other}/expire"), &[])
        .await;
    assert_eq!(
        (expired["status"].as_str(), expired["url"].is_null()),
        (Some("expired"), true)
    );
    let html = w.http.get(&url).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("no longer active"));
    let pay = w.http.post(format!("{url}/pay")).send().await.unwrap();
    assert_eq!(pay.status(), 400);
    let types: Vec<_> = w
        .verified_events()
        .await
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        types,
        [
            "checkout.session.completed",
            "charge.refunded",
            "charge.refunded",
            "checkout.session.expired"
        ]
    );
    let events = w.verified_events().await;
    assert!(events[1]["request"]["id"]
        .as_str()
        .unwrap()
        .starts_with("req_"));
}

#[tokio::test]
async fn billing_portal_cancels_at_once_and_returns() {
    let w = world().await;
    let (customer, _, session) =
        crate::lifecycle::subscription_session(&w, CreatePriceRecurringInterval::Month).await;
    let paid = w
        .control(&format!("/test/checkout/sessions/{session}/pay"), None)
        .await;
    let sub_id = paid["subscription"].as_str().unwrap().to_string();
    let portal = CreateBillingPortalSession::new()
        .customer(customer.as_str())
        .return_url("http://portal.invalid/account")
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(portal.customer, customer);
    let raw = w
        .post("/v1/billing_portal/sessions", &[("customer", &customer)])
        .await;
    assert!(raw["return_url"].is_null());

    let html = w
        .http
        .get(&portal.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Harbor Pro") && html.contains("active"),
        "{html}"
    );
    assert!(
        html.contains("<button type=\"submit\">Cancel subscription</button>"),
        "{html}"
    );
    assert!(
        html.contains("href=\"http://portal.invalid/account\">Return</a>"),
        "{html}"
    );
    let action = format!("{}/subscriptions/{sub_id}/cancel", portal.url);
    assert!(html.contains(&format!("action=\"{action}\"")), "{html}");
    let canceled = w.http.post(&action).send().await.unwrap();
    assert_eq!(canceled.status(), 303);
    assert_eq!(canceled.headers()["location"].to_str().unwrap(), portal.url);
    let html = w
        .http
        .get(&portal.url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("canceled") && !html.contains("Cancel subscription"),
        "{html}"
    );
    let sub = w.get(&format!("/v1/subscriptions/{sub_id}")).await;
    assert_eq!(sub["status"], "canceled");
    assert_eq!(
        sub["cancellation_details"]["reason"],
        "cancellation_requested"
    );
    assert_eq!(
        w.event_types_since(3).await,
        ["customer.subscription.deleted"]
    );
}
