//! Stripe billing end to end against the project's Stripe stand-in, on SQLite
//! and PostgreSQL: a customer checks out, the signed webhooks (and only they)
//! grant; renewals extend; a failed renewal runs into grace and then stops;
//! payment resumes; cancellation ends at the period end; a refund revokes a
//! one-time purchase; duplicates and reordering change nothing twice.

use app::domain::{access::Decision, Role};
use app::backend::services::registry::Decider;
use crate::support::billing::{self, Shop, WHSEC};
use chrono::{Duration, Utc};
use crate::support::{json, Backend, TestApp};
use serde_json::{json, Value};

on_both_backends!(
    webhook_signatures_are_checked_and_events_processed_once,
    without_stripe_the_portal_says_so,
    a_subscription_grants_renews_lapses_into_grace_and_resumes,
    cancellation_ends_access_at_the_period_end,
    a_lapsed_subscription_gets_no_unpaid_period_and_vendor_suspensions_stand,
    a_refund_revokes_a_one_time_purchase,
    duplicates_and_reordering_change_nothing_twice,
    events_in_any_order_settle_on_stripes_state,
    the_catalogue_is_kept_in_step_with_stripe,
);

async fn webhook_signatures_are_checked_and_events_processed_once(backend: Backend) {
    let shop = Shop::open(backend).await;
    let body = json!({
        "id": "evt_test_unknown_1", "object": "event", "api_version": "2026-09-30.endive", "created": Utc::now().timestamp(),
        "livemode": false, "pending_webhooks": 1, "request": { "id": null, "idempotency_key": null },
        "type": "portcullis.something_new", "data": { "object": { "object": "thing", "id": "thing_1" } }
    })
    .to_string();
    let now = Utc::now().timestamp();

    let ok = shop.deliver(&body, Some(&billing::sign(&body, WHSEC, now))).await;
    assert_eq!(ok.0, 200, "{:?}", ok.1);
    assert_eq!(ok.1["outcome"], "ignored", "an unknown event type is acknowledged and ignored");
    let again = shop.deliver(&body, Some(&billing::sign(&body, WHSEC, now))).await;
    assert_eq!((again.0, again.1["outcome"].as_str()), (200, Some("duplicate")));

    let wrong = shop.deliver(&body, Some(&billing::sign(&body, "whsec_someone_else", now))).await;
    assert_eq!(wrong.0, 400);
    assert!(wrong.1["error"].as_str().unwrap().contains("signature"), "{:?}", wrong.1);
    let stale = shop.deliver(&body, Some(&billing::sign(&body, WHSEC, now - 600))).await;
    assert_eq!(stale.0, 400);
    assert!(stale.1["error"].as_str().unwrap().contains("tolerance"), "{:?}", stale.1);
    let tampered = body.replace("thing_1", "thing_2");
    assert_eq!(shop.deliver(&tampered, Some(&billing::sign(&body, WHSEC, now))).await.0, 400);
    assert_eq!(shop.deliver(&body, None).await.0, 400);

    // Unsigned deliveries authenticate nothing: counted per network, reason and minute.
    shop.app.flush_attempts().await;
    let denied: Vec<_> = shop.app.audit().await.into_iter().filter(|e| e.0 == "billing.webhook" && e.1 == "denied").collect();
    let count = |reason: &str| denied.iter().filter(|e| e.4["reason"] == reason).map(|e| e.4["count"].as_u64().unwrap()).sum::<u64>();
    assert_eq!((count("bad_signature"), count("stale_signature"), count("no_signature")), (2, 1, 1), "{denied:?}");

    // The admin dashboard tells the vendor the webhook is arriving, and what it refused.
    let (admin, _) = shop.app.logged_in(Role::Admin).await;
    let status = json(shop.app.call(&admin, "admin/billing_status", &[]).await).await;
    assert_eq!((status["online_payment"].as_bool(), status["grace"].as_str()), (Some(true), Some("3 days")), "{status}");
    assert_eq!((status["events_24h"].as_i64(), status["refused_24h"].as_i64()), (Some(1), Some(4)), "{status}");
    let page = shop.app.get(&admin, "/admin").await.text().await.unwrap();
    assert!(page.contains("4 webhook deliveries refused"), "the dashboard says so");
}

async fn without_stripe_the_portal_says_so(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let info = json(app.call(&app.client, "billing/info", &[]).await).await;
    assert_eq!(info["online_payment"], false);
    let (customer, _) = app.logged_in(Role::Customer).await;
    let res = app.call(&customer, "my/start_checkout", &[("price_id", "1")]).await;
    assert_eq!(res.status(), 422);
    assert!(res.text().await.unwrap().contains("online payment is not set up"));
    let hook = app.client.post(app.url("/stripe/webhook")).body("{}").send().await.unwrap();
    assert_eq!(hook.status(), 404, "no webhook endpoint without Stripe");
    let (admin, _) = app.logged_in(Role::Admin).await;
    assert_eq!(json(app.call(&admin, "admin/billing_status", &[]).await).await["online_payment"], false);
}

async fn a_subscription_grants_renews_lapses_into_grace_and_resumes(backend: Backend) {
    let shop = Shop::open(backend).await;
    let (product, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("buyer@example.com").await;

    // Publishing synced the catalogue to Stripe.
    let stripe_price = shop.stripe_price_id(monthly).await;
    assert!(stripe_price.starts_with("price_"), "{stripe_price}");

    let session = shop.checkout(&customer, monthly).await;
    assert_eq!(shop.status(&customer, &session).await, json!("Pending"), "the redirect alone grants nothing");
    assert!(!may_pull(&shop.app, customer_id, Utc::now()).await);

    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    assert_eq!(shop.status(&customer, &session).await["Active"]["product_slug"], json!(product.1));
    let e = shop.entitlement(customer_id).await;
    assert_eq!((e["status"].as_str(), e["source"].as_str()), (Some("active"), Some("subscription")));
    let first_end = e["ends_at"].as_str().unwrap().to_owned();
    assert!(may_pull(&shop.app, customer_id, Utc::now()).await);
    let orders = shop.orders(&customer).await;
    assert_eq!((orders[0]["status"].as_str(), orders[0]["interval"].as_str()), (Some("active"), Some("month")));
    assert!(orders[0]["next_renewal"].is_string());

    // A renewal that is paid extends the window.
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    let renewed = shop.entitlement(customer_id).await;
    assert!(renewed["ends_at"].as_str().unwrap() > first_end.as_str(), "{renewed}");

    // A renewal that fails: access continues through the grace period, then stops.
    shop.standin_post(&format!("test/subscriptions/{sub}/fail_next_invoice"), json!({})).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    let overdue = shop.entitlement(customer_id).await;
    let grace = overdue["grace_until"].as_str().expect("grace set").to_owned();
    assert_eq!(shop.orders(&customer).await[0]["status"], "past_due");
    assert!(may_pull(&shop.app, customer_id, Utc::now()).await, "within grace");
    let after_grace = chrono::DateTime::parse_from_rfc3339(&grace).unwrap().with_timezone(&Utc) + Duration::seconds(1);
    match Decider::new(shop.app.db.clone(), std::time::Duration::ZERO).may_pull(customer_id, "acme/widget", after_grace).await.unwrap() {
        Decision::Denied(d) => assert_eq!(d.code(), "payment_overdue"),
        other => panic!("after grace: {other:?}"),
    }

    // Paying the open invoice resumes access with the new period.
    shop.standin_post(&format!("test/subscriptions/{sub}/pay_open_invoice"), json!({})).await;
    shop.flush().await;
    let resumed = shop.entitlement(customer_id).await;
    assert!(resumed["grace_until"].is_null(), "{resumed}");
    assert!(may_pull(&shop.app, customer_id, after_grace).await, "paid again: access resumes");

    // Every change was audited, by Stripe's event.
    let actions: Vec<String> = shop.app.audit().await.into_iter().filter(|e| e.0.starts_with("entitlement.")).map(|e| e.0).collect();
    assert_eq!(actions.iter().filter(|a| *a == "entitlement.grant").count(), 1, "{actions:?}");
    assert!(actions.contains(&"entitlement.extend".to_owned()) && actions.contains(&"entitlement.grace".to_owned()), "{actions:?}");
    let grant = shop.app.audit().await.into_iter().find(|e| e.0 == "entitlement.grant").unwrap();
    assert!(grant.4["stripe_event"].as_str().unwrap().starts_with("evt_"), "{:?}", grant.4);

    // A second subscription to the same product is refused.
    let again = shop.app.call(&customer, "my/start_checkout", &[("price_id", &monthly.to_string())]).await;
    assert_eq!(again.status(), 409);
}

async fn cancellation_ends_access_at_the_period_end(backend: Backend) {
    let shop = Shop::open(backend).await;
    let (_, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("leaver@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let sub = shop.subscription_of(&session).await;
    let (start, end) = shop.period(&sub).await;
    let live = at(&shop.entitlement(customer_id).await["ends_at"]);
    assert_eq!(live, end + Duration::hours(1), "a live subscription runs an hour past its period end");
    shop.standin_post(&format!("test/subscriptions/{sub}/cancel"), json!({ "at_period_end": false })).await;
    shop.flush().await;
    assert_eq!(at(&shop.entitlement(customer_id).await["ends_at"]), end, "paid to the period end (the vendor's default)");
    assert_eq!(shop.orders(&customer).await[0]["status"], "canceled");
    assert!(shop.orders(&customer).await[0]["next_renewal"].is_null());
    assert!(start < end);
}

/// Canceled after a failed renewal: the unpaid period is not given; and a
/// vendor's own suspension survives Stripe's renewals.
async fn a_lapsed_subscription_gets_no_unpaid_period_and_vendor_suspensions_stand(backend: Backend) {
    let shop = Shop::open(backend).await;
    let (_, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("lapsed@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/fail_next_invoice"), json!({})).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/cancel"), json!({ "at_period_end": false })).await;
    shop.flush().await;
    let (unpaid_start, _) = shop.period(&sub).await;
    let e = shop.entitlement(customer_id).await;
    assert_eq!(at(&e["ends_at"]), unpaid_start, "ends where the unpaid period began: {e}");
    assert!(e["grace_until"].is_null());

    let (other, other_id) = shop.customer("suspended@example.com").await;
    let session = shop.checkout(&other, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let id = shop.entitlement(other_id).await["id"].as_i64().unwrap();
    let change = app::backend::services::entitlements::Change {
        status: Some(app::domain::access::EntitlementStatus::Suspended),
        suspended_reason: Some("licence audit".into()),
        ..Default::default()
    };
    app::backend::services::entitlements::change(&shop.app.db, id, &change, app::backend::services::audit::Actor::System, &Default::default()).await.unwrap();
    let before = at(&shop.entitlement(other_id).await["ends_at"]);
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    let e = shop.entitlement(other_id).await;
    assert_eq!((e["status"].as_str(), e["suspended_reason"].as_str()), (Some("suspended"), Some("licence audit")), "{e}");
    assert!(at(&e["ends_at"]) > before, "the window still follows the renewal");
}

fn at(v: &Value) -> chrono::DateTime<Utc> {
    chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

async fn a_refund_revokes_a_one_time_purchase(backend: Backend) {
    let shop = Shop::open(backend).await;
    let (_, _, one_time) = shop.product().await;
    let (customer, customer_id) = shop.customer("once@example.com").await;
    let session = shop.checkout(&customer, one_time).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let e = shop.entitlement(customer_id).await;
    assert_eq!((e["status"].as_str(), e["source"].as_str()), (Some("active"), Some("one_time")));
    assert!(may_pull(&shop.app, customer_id, Utc::now() + Duration::days(360)).await, "12 months of access");
    assert!(!may_pull(&shop.app, customer_id, Utc::now() + Duration::days(370)).await);

    let pi = shop.standin_get(&format!("test/checkout/sessions/{session}")).await;
    let pi = billing::id_of(&pi, "payment_intent");
    shop.standin_post(&format!("test/payment_intents/{pi}/refund"), json!({})).await;
    shop.flush().await;
    assert_eq!(shop.entitlement(customer_id).await["status"], "revoked");
    assert!(!may_pull(&shop.app, customer_id, Utc::now()).await);
    assert_eq!(shop.orders(&customer).await[0]["status"], "refunded");
    assert_eq!(shop.status(&customer, &session).await["Failed"]["message"], "this payment was refunded");

    // The REST API shows the same orders to an auditor's key (read-only).
    let key = app::backend::services::api_keys::create(&shop.app.db, "crm", Role::Auditor, app::backend::services::audit::Actor::System, &Default::default()).await.unwrap();
    let url = shop.app.url(&format!("/api/v1/customers/{customer_id}/orders"));
    let list = json(shop.app.client.get(&url).bearer_auth(&key.secret).send().await.unwrap()).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!((items.len(), items[0]["status"].as_str(), items[0]["mode"].as_str()), (1, Some("refunded"), Some("payment")), "{list}");
    assert_eq!(items[0]["amount_cents"], 99_000);
    assert_eq!(shop.app.client.get(&url).send().await.unwrap().status(), 401);
    let staff = shop.app.url("/api/v1/customers/999999/orders");
    assert_eq!(shop.app.client.get(&staff).bearer_auth(&key.secret).send().await.unwrap().status(), 404);
}

async fn duplicates_and_reordering_change_nothing_twice(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.standin_post("test/webhooks", json!({ "duplicates": true, "out_of_order": true })).await;
    let (_, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("twice@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;

    let events: Vec<Value> = shop.standin_get("test/events").await["data"].as_array().cloned().unwrap_or_default();
    let paid = events.iter().filter(|e| e["type"] == "invoice.paid").count();
    assert!(paid >= 2, "two invoices were paid: {events:?}");
    let audit = shop.app.audit().await;
    let count = |a: &str| audit.iter().filter(|e| e.0 == a).count();
    assert_eq!(count("entitlement.grant"), 1, "one grant whatever the deliveries");
    assert_eq!(count("entitlement.extend"), 1, "one extension for one renewal");
    assert!(shop.entitlement(customer_id).await["grace_until"].is_null());
}

/// `customer.subscription.deleted` before `created`, `invoice.paid` twice:
/// each delivery re-reads the subscription, so the end state is Stripe's.
async fn events_in_any_order_settle_on_stripes_state(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.standin_post("test/webhooks", json!({ "url": "" })).await; // record only
    let (_, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("order@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/cancel"), json!({ "at_period_end": false })).await;

    let events: Vec<Value> = shop.standin_get("test/events").await["data"].as_array().cloned().unwrap_or_default();
    let body = |t: &str| -> String {
        let e = events.iter().find(|e| e["type"] == t).unwrap_or_else(|| panic!("no {t} in {events:?}"));
        billing::event_body(e)
    };
    let now = Utc::now().timestamp();
    for t in ["customer.subscription.deleted", "invoice.paid", "customer.subscription.created", "invoice.paid", "checkout.session.completed"] {
        let b = body(t);
        let res = shop.deliver(&b, Some(&billing::sign(&b, WHSEC, now))).await;
        assert_eq!(res.0, 200, "{t}: {:?}", res.1);
    }
    let e = shop.entitlement(customer_id).await;
    let order = &shop.orders(&customer).await[0];
    assert_eq!(order["status"], "canceled", "{order}");
    assert!(e["ends_at"].is_string(), "access ends: {e}");

    // All of a purchase's events at once (as Stripe may send them): one
    // order, one entitlement, one grant.
    let (second, second_id) = shop.customer("rush@example.com").await;
    let session = shop.checkout(&second, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    let events: Vec<Value> = shop.standin_get("test/events").await["data"].as_array().cloned().unwrap_or_default();
    let bodies: Vec<String> = events.iter().map(billing::event_body).filter(|b| b.contains(&sub) || b.contains(&session)).collect();
    assert!(bodies.len() >= 4, "{bodies:?}");
    let _ = &second_id;
    let signed: Vec<(String, String)> = bodies.into_iter().map(|b| (billing::sign(&b, WHSEC, now), b)).collect();
    let answers = futures::future::join_all(signed.iter().map(|(sig, b)| shop.deliver(b, Some(sig)))).await;
    assert!(answers.iter().all(|a| a.0 == 200), "{answers:?}");
    shop.entitlement(second_id).await; // exactly one
    assert_eq!(shop.orders(&second).await.len(), 1);
    let grants = shop.app.audit().await.into_iter().filter(|a| a.0 == "entitlement.grant" && a.4["customer_id"] == second_id).count();
    assert_eq!(grants, 1);
}

async fn the_catalogue_is_kept_in_step_with_stripe(backend: Backend) {
    let shop = Shop::open(backend).await;
    let ((product, _), monthly, one_time) = shop.product().await;
    let stripe_product = app::backend::db::orders::product_stripe_id(&shop.app.db, product).await.unwrap().expect("synced at publish");
    let price = shop.stripe_get(&format!("v1/prices/{}", shop.stripe_price_id(monthly).await)).await;
    assert_eq!((price["unit_amount"].as_i64(), price["currency"].as_str()), (Some(4900), Some("usd")));
    assert_eq!((price["recurring"]["interval"].as_str(), price["product"].as_str()), (Some("month"), Some(stripe_product.as_str())));
    let once = shop.stripe_get(&format!("v1/prices/{}", shop.stripe_price_id(one_time).await)).await;
    assert!(once["recurring"].is_null(), "one-time: {once}");

    // Renaming reaches the Stripe Product; a removed price is deactivated there.
    let (admin, _) = shop.app.logged_in(Role::Admin).await;
    let id = product.to_string();
    let saved = shop.app.call(&admin, "admin/save_product", &[("id", &id), ("name", "Acme Widget Pro"), ("repositories", "acme/widget")]).await;
    assert!(saved.status().is_success());
    assert_eq!(shop.stripe_get(&format!("v1/products/{stripe_product}")).await["name"], "Acme Widget Pro");
    let removed = shop.app.call(&admin, "admin/remove_price", &[("product_id", &id), ("price_id", &one_time.to_string())]).await;
    assert!(removed.status().is_success());
    assert_eq!(shop.stripe_get(&format!("v1/prices/{}", shop.stripe_price_id(one_time).await)).await["active"], false);

    // One Stripe customer per account, reused for every purchase.
    let (customer, customer_id) = shop.customer("twice-buyer@example.com").await;
    let first = shop.checkout(&customer, monthly).await;
    assert_eq!(shop.checkout(&customer, monthly).await, first, "a second click goes back to the same Stripe page");
    let yearly = json(shop.app.call(&admin, "admin/add_price", &[("product_id", &id), ("kind", "yearly"), ("amount", "490"), ("currency", "usd")]).await).await;
    let yearly = yearly["prices"].as_array().unwrap().last().unwrap()["id"].as_i64().unwrap();
    let again = shop.checkout(&customer, yearly).await;
    assert_ne!(again, first);
    let cus = |s: Value| billing::id_of(&s, "customer");
    let a = cus(shop.standin_get(&format!("test/checkout/sessions/{first}")).await);
    let b = cus(shop.standin_get(&format!("test/checkout/sessions/{again}")).await);
    assert_eq!(a, b, "one Stripe customer for both purchases");
    assert_eq!(app::backend::db::orders::stripe_customer_id(&shop.app.db, customer_id).await.unwrap(), Some(a));
    // A checkout left unpaid expires: its order says so, nothing is granted.
    shop.standin_post(&format!("test/checkout/sessions/{again}/expire"), json!({})).await;
    shop.flush().await;
    assert!(shop.status(&customer, &again).await["Failed"]["message"].as_str().unwrap().contains("expired"));
    assert!(!may_pull(&shop.app, customer_id, Utc::now()).await);
    // Stripe loses our objects (another account or mode, or deleted there):
    // the next checkout makes the product, its prices and the customer again.
    shop.app.exec("UPDATE products SET stripe_product_id = 'prod_gone'").await.unwrap();
    shop.app.exec("UPDATE prices SET stripe_price_id = 'price_gone_' || id").await.unwrap();
    shop.app.exec("UPDATE users SET stripe_customer_id = 'cus_gone' WHERE stripe_customer_id IS NOT NULL").await.unwrap();
    shop.app.exec("UPDATE orders SET status = 'expired'").await.unwrap();
    let (fresh_customer, _) = shop.customer("fresh@example.com").await;
    let s1 = shop.checkout(&fresh_customer, monthly).await;
    let s2 = shop.checkout(&customer, monthly).await;
    assert_ne!(s1, s2);
    let new_product = app::backend::db::orders::product_stripe_id(&shop.app.db, product).await.unwrap().unwrap();
    assert_ne!(new_product, "prod_gone");
    assert_eq!(shop.stripe_get(&format!("v1/prices/{}", shop.stripe_price_id(monthly).await)).await["product"], new_product.as_str());
    let cus = app::backend::db::orders::stripe_customer_id(&shop.app.db, customer_id).await.unwrap().unwrap();
    assert!(cus != "cus_gone" && cus.starts_with("cus_"), "{cus}");
    // A removed price is not sold.
    let gone = shop.app.call(&customer, "my/start_checkout", &[("price_id", &one_time.to_string())]).await;
    assert_eq!(gone.status(), 422);
}

async fn may_pull(app: &TestApp, customer_id: i64, at: chrono::DateTime<Utc>) -> bool {
    matches!(Decider::new(app.db.clone(), std::time::Duration::ZERO).may_pull(customer_id, "acme/widget", at).await.unwrap(), Decision::Granted { .. })
}
