//! Billing that converges with Stripe, against the stand-in on SQLite and
//! PostgreSQL: webhooks lost for a renewal and an expired checkout are
//! repaired by the reconciliation (the job's code, and the command line);
//! a refunded renewal ends the period it paid for (a partial refund changes
//! nothing); a dispute suspends, and restores if won, ends if lost; a plan
//! switch moves the entitlement to the other product without a gap. Each
//! with its events delivered twice and in reverse.

use crate::support::billing::{self, Shop, KEY};
use crate::support::{json, Backend, TestApp};
use app::backend::services::registry::Decider;
use app::domain::access::Decision;
use app::domain::Role;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

on_both_backends!(
    missed_webhooks_are_repaired_by_reconciliation,
    a_refunded_renewal_ends_the_period_it_paid_for,
    disputes_suspend_and_settle,
    a_plan_switch_moves_the_entitlement,
);

async fn may_pull(app: &TestApp, customer_id: i64, repo: &str, at: DateTime<Utc>) -> bool {
    matches!(Decider::new(app.db.clone(), std::time::Duration::ZERO).may_pull(customer_id, repo, at).await.unwrap(), Decision::Granted { .. })
}

fn at(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}"))).unwrap().with_timezone(&Utc)
}

/// Every entitlement of a customer, oldest first.
async fn entitlements(app: &TestApp, customer_id: i64) -> Vec<Value> {
    let filter = app::views::EntitlementFilter { customer_id: Some(customer_id), ..Default::default() };
    let mut list = app::backend::services::entitlements::list(&app.db, &filter, 10, 0).await.unwrap();
    list.sort_by_key(|e| e.id);
    list.iter().map(|e| serde_json::to_value(e).unwrap()).collect()
}

/// Audited changes made by one reconciliation run.
async fn repairs(app: &TestApp, run: i64) -> Vec<String> {
    app.audit().await.into_iter().filter(|e| e.4["reconciliation"] == run).map(|e| e.0).collect()
}

/// Delivers every event the stand-in recorded about `about`, signed, newest
/// first and twice (as a lost delivery finally arriving, late and again).
async fn redeliver_reversed(shop: &Shop, about: &str) {
    let events: Vec<Value> = shop.standin_get("test/events").await["data"].as_array().cloned().unwrap_or_default();
    let bodies: Vec<String> = events.iter().map(billing::event_body).filter(|b| b.contains(about)).collect();
    assert!(!bodies.is_empty(), "events about {about}");
    let now = Utc::now().timestamp();
    for b in bodies.iter().rev().chain(bodies.iter()) {
        let res = shop.deliver(b, Some(&billing::sign(b, billing::WHSEC, now))).await;
        assert_eq!(res.0, 200, "{:?}", res.1);
    }
}

async fn missed_webhooks_are_repaired_by_reconciliation(backend: Backend) {
    let shop = Shop::open(backend).await;
    let (_, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("renews@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let first_end = at(&shop.entitlement(customer_id).await["ends_at"]);

    // The endpoint is gone (an outage past Stripe's retries): a renewal is
    // paid, another customer's checkout expires, nobody is told.
    shop.standin_post("test/webhooks", json!({ "url": "" })).await;
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    let (_, period_end) = shop.period(&sub).await;
    let (late, _) = shop.customer("abandons@example.com").await;
    let abandoned = shop.checkout(&late, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{abandoned}/expire"), json!({})).await;
    assert_eq!(at(&shop.entitlement(customer_id).await["ends_at"]), first_end, "nothing arrived");
    assert!(!may_pull(&shop.app, customer_id, "acme/widget", first_end + chrono::Duration::minutes(1)).await, "access would lapse");
    assert_eq!(shop.orders(&late).await[0]["status"], "pending");

    // The reconciliation re-reads Stripe and repairs both, saying so.
    let run = shop.reconcile(None).await;
    assert_eq!((run.checked, run.repaired, run.failed), (2, 2, 0), "{run:?}");
    let renewed = shop.entitlement(customer_id).await;
    assert!(at(&renewed["ends_at"]) >= period_end, "access to the new period's end: {renewed}");
    assert!(may_pull(&shop.app, customer_id, "acme/widget", first_end + chrono::Duration::minutes(1)).await);
    assert_eq!(shop.orders(&late).await[0]["status"], "expired");
    let changes = repairs(&shop.app, run.id).await;
    assert!(changes.contains(&"entitlement.extend".to_owned()) && changes.contains(&"billing.order".to_owned()), "{changes:?}");
    let summary = shop.app.audit().await.into_iter().rfind(|e| e.0 == "billing.reconcile").unwrap();
    assert_eq!((summary.4["cause"].as_str(), summary.4["repaired"].as_i64()), (Some("cli"), Some(2)), "{:?}", summary.4);

    // The dashboard's payment card shows the run and its repairs.
    let (admin, _) = shop.app.logged_in(Role::Admin).await;
    let status = json(shop.app.call(&admin, "admin/billing_status", &[]).await).await;
    let last = &status["last_reconcile"];
    assert_eq!((last["cause"].as_str(), last["checked"].as_i64(), last["repaired"].as_i64()), (Some("cli"), Some(2), Some(2)), "{status}");
    let page = shop.app.get(&admin, "/admin").await.text().await.unwrap();
    assert!(page.contains("2 orders re-read, 2 repaired"), "the dashboard says so");

    // Nothing more to repair; the lost events arriving late (reversed,
    // twice) change nothing either.
    let again = shop.reconcile(None).await;
    assert_eq!((again.checked, again.repaired), (1, 0), "the expired checkout is settled: {again:?}");
    let before = shop.app.audit().await.into_iter().filter(|e| e.0.starts_with("entitlement.")).count();
    redeliver_reversed(&shop, &sub).await;
    let after = shop.app.audit().await.into_iter().filter(|e| e.0.starts_with("entitlement.")).count();
    assert_eq!(before, after, "late deliveries changed nothing");

    // The command line does the same, and --since re-reads settled orders too.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["stripe", "reconcile", "--since", "2000-01-01"])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_LOG", "error")
        .env("PORTCULLIS_DATABASE_URL", &shop.app.database_url)
        .env("PORTCULLIS_STRIPE_SECRET_KEY", KEY)
        .env("PORTCULLIS_STRIPE_WEBHOOK_SECRET", billing::WHSEC)
        .env("PORTCULLIS_STRIPE_API_BASE", &shop.standin.base_url)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("2 orders re-read from Stripe, 0 repaired"), "{stdout}");
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["stripe", "reconcile", "--since", "last week"])
        .env_clear()
        .env("PORTCULLIS_DATABASE_URL", &shop.app.database_url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--since"), "names the bad argument");
}

async fn a_refunded_renewal_ends_the_period_it_paid_for(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.standin_post("test/webhooks", json!({ "duplicates": true, "out_of_order": true })).await;
    let (_, monthly, _) = shop.product().await;
    let (customer, customer_id) = shop.customer("refund@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    let payments = shop.standin_get(&format!("test/subscriptions/{sub}")).await["payments"].as_array().cloned().expect("payments");
    assert_eq!(payments.len(), 2, "{payments:?}");
    let renewal_pi = payments[1]["payment_intent"].as_str().unwrap().to_owned();

    // A partial refund leaves access.
    let partial = shop.http_form("v1/refunds", &[("payment_intent", &renewal_pi), ("amount", "100")]).await;
    assert_eq!(partial["status"], "succeeded", "{partial}");
    shop.flush().await;
    assert!(may_pull(&shop.app, customer_id, "acme/widget", Utc::now()).await);
    assert!(shop.orders(&customer).await[0]["payment_issue"].is_null());

    // The rest refunded: the period it paid for ends (at its start, or now
    // if that is later: the stand-in's renewals start when the period would
    // have ended), in words.
    let refunded_at = Utc::now();
    shop.http_form("v1/refunds", &[("payment_intent", &renewal_pi)]).await;
    shop.flush().await;
    let e = shop.entitlement(customer_id).await;
    assert!(at(&e["ends_at"]) <= Utc::now() && at(&e["ends_at"]) >= refunded_at - chrono::Duration::seconds(1), "{e}");
    assert!(!may_pull(&shop.app, customer_id, "acme/widget", Utc::now()).await);
    let order = &shop.orders(&customer).await[0];
    assert_eq!((order["status"].as_str(), order["payment_issue"].as_str()), (Some("active"), Some("refunded")), "{order}");
    let mine = json(shop.app.call(&customer, "my/entitlements", &[]).await).await;
    assert!(mine[0]["summary"].as_str().unwrap().contains("the payment was refunded"), "{mine}");
    let page = shop.app.get(&customer, "/account/orders").await.text().await.unwrap();
    assert!(page.contains("payment refunded: the period it paid for has ended"), "the orders page says so");

    // The next renewal is paid: access again.
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    assert!(may_pull(&shop.app, customer_id, "acme/widget", Utc::now()).await);
    assert!(shop.orders(&customer).await[0]["payment_issue"].is_null());
}

async fn disputes_suspend_and_settle(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.standin_post("test/webhooks", json!({ "duplicates": true, "out_of_order": true })).await;
    let (_, monthly, one_time) = shop.product().await;

    // A one-time purchase disputed: suspended while open, restored when won.
    let (buyer, buyer_id) = shop.customer("won@example.com").await;
    let session = shop.checkout(&buyer, one_time).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let window = at(&shop.entitlement(buyer_id).await["ends_at"]);
    let pi = billing::id_of(&shop.standin_get(&format!("test/checkout/sessions/{session}")).await, "payment_intent");
    let dispute = shop.standin_post(&format!("test/payment_intents/{pi}/dispute"), json!({})).await;
    shop.flush().await;
    let e = shop.entitlement(buyer_id).await;
    assert_eq!((e["status"].as_str(), e["suspended_reason"].as_str()), (Some("suspended"), Some("the payment is disputed with your bank")), "{e}");
    assert!(!may_pull(&shop.app, buyer_id, "acme/widget", Utc::now()).await);
    assert_eq!(shop.orders(&buyer).await[0]["payment_issue"], "disputed");
    let page = shop.app.get(&buyer, "/account/orders").await.text().await.unwrap();
    assert!(page.contains("payment disputed: access is paused"), "the orders page says so");
    let id = dispute["id"].as_str().expect("dispute id");
    shop.standin_post(&format!("test/disputes/{id}/close"), json!({ "outcome": "won" })).await;
    shop.flush().await;
    let e = shop.entitlement(buyer_id).await;
    assert_eq!((e["status"].as_str(), at(&e["ends_at"])), (Some("active"), window), "restored as it was: {e}");
    assert!(shop.orders(&buyer).await[0]["payment_issue"].is_null());

    // A subscription's dispute lost: the period it paid for ends.
    let (subscriber, subscriber_id) = shop.customer("lost@example.com").await;
    let session = shop.checkout(&subscriber, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let sub = shop.subscription_of(&session).await;
    let (period_start, _) = shop.period(&sub).await;
    let payments = shop.standin_get(&format!("test/subscriptions/{sub}")).await["payments"].as_array().cloned().expect("payments");
    let pi = payments[0]["payment_intent"].as_str().unwrap().to_owned();
    assert!(period_start <= Utc::now());
    let dispute = shop.standin_post(&format!("test/payment_intents/{pi}/dispute"), json!({})).await;
    shop.flush().await;
    assert_eq!(shop.entitlement(subscriber_id).await["status"], "suspended");
    let id = dispute["id"].as_str().expect("dispute id");
    shop.standin_post(&format!("test/disputes/{id}/close"), json!({ "outcome": "lost" })).await;
    shop.flush().await;
    let e = shop.entitlement(subscriber_id).await;
    assert_eq!((e["status"].as_str(), at(&e["ends_at"])), (Some("active"), period_start), "ended: {e}");
    assert!(!may_pull(&shop.app, subscriber_id, "acme/widget", Utc::now()).await);
    assert_eq!(shop.orders(&subscriber).await[0]["payment_issue"], "dispute_lost");

    // Delivered again, newest first: the same end state, no new change.
    let before = shop.app.audit().await.len();
    redeliver_reversed(&shop, &pi).await;
    shop.app.flush_attempts().await;
    assert_eq!(shop.app.audit().await.len(), before, "nothing changed twice");
    assert_eq!(shop.entitlement(subscriber_id).await["status"], "active");
}

async fn a_plan_switch_moves_the_entitlement(backend: Backend) {
    let shop = Shop::open(backend).await;
    shop.standin_post("test/webhooks", json!({ "duplicates": true, "out_of_order": true })).await;
    let (_, monthly, _) = shop.product().await;
    let (other, other_monthly) = shop.other_product().await;
    let (customer, customer_id) = shop.customer("switch@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;
    let sub = shop.subscription_of(&session).await;
    let (_, period_end) = shop.period(&sub).await;

    let price = shop.stripe_price_id(other_monthly).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/switch"), json!({ "price": price })).await;
    shop.flush().await;
    let list = entitlements(&shop.app, customer_id).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let (old, new) = (&list[0], &list[1]);
    assert_eq!(new["product_id"].as_i64(), Some(other), "{new}");
    assert_eq!(at(&old["ends_at"]), at(&new["starts_at"]), "no gap, no overlap: {old} {new}");
    assert!(at(&new["ends_at"]) >= period_end, "{new}");
    let now = Utc::now();
    assert!(may_pull(&shop.app, customer_id, "acme/other", now).await);
    assert!(!may_pull(&shop.app, customer_id, "acme/widget", now).await, "the old product is not kept");
    let order = &shop.orders(&customer).await[0];
    assert_eq!((order["product_id"].as_i64(), order["amount_cents"].as_i64()), (Some(other), Some(9900)), "{order}");
    let mine = json(shop.app.call(&customer, "my/entitlements", &[]).await).await;
    assert!(mine.to_string().contains("moved to another product"), "{mine}");

    // Renewals extend the new product's entitlement only.
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    let list = entitlements(&shop.app, customer_id).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(at(&list[1]["ends_at"]) > at(&new["ends_at"]));
    assert_eq!(list[0]["ends_at"], old["ends_at"]);
    // A reconciliation agrees.
    assert_eq!(shop.reconcile(None).await.repaired, 0);
}
