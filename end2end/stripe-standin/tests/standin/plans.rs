//! Plan changes: the subscription's item moves to another price, through
//! the API (as the portal does) and through the controls.

use reqwest::Method;
use serde_json::json;
use stripe_billing::subscription::{
    RetrieveSubscription, UpdateSubscription, UpdateSubscriptionItems,
    UpdateSubscriptionProrationBehavior,
};

use crate::support::{world, World};

/// A bad update: its form, the parameter the error names, its code if any.
type Case<'a> = (Vec<(&'a str, &'a str)>, &'a str, Option<&'a str>);

/// A price of `product`'s: `recurring` an interval or one-time.
async fn price(
    w: &World,
    product: &str,
    currency: &str,
    amount: &str,
    recurring: Option<&str>,
) -> String {
    let mut form = vec![
        ("product", product),
        ("currency", currency),
        ("unit_amount", amount),
    ];
    if let Some(interval) = recurring {
        form.push(("recurring[interval]", interval));
    }
    w.post("/v1/prices", &form).await["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The product behind a price.
async fn product_of(w: &World, price: &str) -> String {
    w.get(&format!("/v1/prices/{price}")).await["product"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn switch_price_through_the_api() {
    let w = world().await;
    let (_, monthly, sub) = w.paid_subscription().await;
    let product = product_of(&w, &monthly).await;
    let yearly = price(&w, &product, "usd", "20000", Some("year")).await;
    let before = RetrieveSubscription::new(sub.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    let old_item = &before.items.data[0];

    let mut item = UpdateSubscriptionItems::new();
    item.id = Some(old_item.id.to_string());
    item.price = Some(yearly.clone());
    let updated = UpdateSubscription::new(sub.as_str())
        .items(vec![item])
        .proration_behavior(UpdateSubscriptionProrationBehavior::None)
        .send(&w.stripe)
        .await
        .unwrap();
    let new_item = &updated.items.data[0];
    assert_eq!(new_item.id, old_item.id);
    assert_eq!(new_item.price.id.as_str(), yearly);
    assert_eq!(new_item.plan.id.as_str(), yearly);
    assert_eq!(
        (new_item.current_period_start, new_item.current_period_end),
        (old_item.current_period_start, old_item.current_period_end)
    );
    assert_eq!(
        w.event_types_since(3).await,
        ["customer.subscription.updated"]
    );
    let events = w.verified_events().await;
    let data = &events[3]["data"];
    assert_eq!(
        data["object"]["items"]["data"][0]["price"]["id"],
        yearly.as_str()
    );
    assert_eq!(
        data["previous_attributes"]["items"]["data"][0]["price"]["id"],
        monthly.as_str()
    );

    // The next renewal bills the new price over its interval.
    let renewed = w
        .control(&format!("/test/subscriptions/{sub}/advance"), None)
        .await;
    let item = &renewed["items"]["data"][0];
    let span = item["current_period_end"].as_i64().unwrap()
        - item["current_period_start"].as_i64().unwrap();
    assert!((365 * 86400..=366 * 86400).contains(&span), "{span}");
    let invoice = w
        .get(&format!(
            "/v1/invoices/{}",
            renewed["latest_invoice"].as_str().unwrap()
        ))
        .await;
    assert_eq!(
        (invoice["amount_paid"].as_i64(), invoice["status"].as_str()),
        (Some(20000), Some("paid"))
    );

    // The same price again (raw form, the other proration behaviours): no event.
    let item_id = old_item.id.to_string();
    for behavior in ["always_invoice", "create_prorations"] {
        w.post(
            &format!("/v1/subscriptions/{sub}"),
            &[
                ("items[0][id]", item_id.as_str()),
                ("items[0][price]", yearly.as_str()),
                ("proration_behavior", behavior),
            ],
        )
        .await;
    }
    assert_eq!(w.verified_events().await.len(), 6);

    // A quantity alone; then a new price without one resets it to 1 (as Stripe does).
    let two = w
        .post(
            &format!("/v1/subscriptions/{sub}"),
            &[
                ("items[0][id]", item_id.as_str()),
                ("items[0][quantity]", "2"),
            ],
        )
        .await;
    assert_eq!(
        (
            two["items"]["data"][0]["quantity"].as_i64(),
            two["items"]["data"][0]["price"]["id"].as_str()
        ),
        (Some(2), Some(yearly.as_str()))
    );
    let one = w.standin.controls().switch_price(&sub, &monthly).unwrap();
    assert_eq!(one["items"]["data"][0]["quantity"], 1);
    assert_eq!(
        w.event_types_since(6).await,
        [
            "customer.subscription.updated",
            "customer.subscription.updated"
        ]
    );
}

#[tokio::test]
async fn switch_price_through_the_controls() {
    let w = world().await;
    let (_, monthly, sub) = w.paid_subscription().await;
    let product = product_of(&w, &monthly).await;
    let dearer = price(&w, &product, "usd", "3000", Some("month")).await;
    let switched = w
        .control(
            &format!("/test/subscriptions/{sub}/switch"),
            Some(json!({ "price": dearer })),
        )
        .await;
    assert_eq!(switched["items"]["data"][0]["price"]["id"], dearer.as_str());
    assert_eq!(switched["items"]["data"][0]["plan"]["amount"], 3000);
    let back = w.standin.controls().switch_price(&sub, &monthly).unwrap();
    crate::support::check_tree(&back);
    assert_eq!(back["items"]["data"][0]["price"]["id"], monthly.as_str());
    assert_eq!(
        w.event_types_since(3).await,
        [
            "customer.subscription.updated",
            "customer.subscription.updated"
        ]
    );
    let events = w.verified_events().await;
    assert_eq!(
        events[4]["data"]["previous_attributes"]["items"]["data"][0]["price"]["id"],
        dearer.as_str()
    );
    let sub_now = RetrieveSubscription::new(sub.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(sub_now.items.data[0].price.id.as_str(), monthly);
}

#[tokio::test]
async fn plan_changes_reject_bad_input() {
    let w = world().await;
    let (_, monthly, sub) = w.paid_subscription().await;
    let (_, _, other_sub) = w.paid_subscription().await;
    let product = product_of(&w, &monthly).await;
    let once = price(&w, &product, "usd", "900", None).await;
    let euros = price(&w, &product, "eur", "1900", Some("month")).await;
    let retired = price(&w, &product, "usd", "1000", Some("month")).await;
    w.post(&format!("/v1/prices/{retired}"), &[("active", "false")])
        .await;
    let good = price(&w, &product, "usd", "2500", Some("month")).await;
    let item = w.get(&format!("/v1/subscriptions/{sub}")).await["items"]["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let other_item = w.get(&format!("/v1/subscriptions/{other_sub}")).await["items"]["data"][0]
        ["id"]
        .as_str()
        .unwrap()
        .to_string();
    let events_before = w.verified_events().await.len();

    let path = format!("/v1/subscriptions/{sub}");
    let cases: Vec<Case> = vec![
        (
            vec![
                ("items[0][id]", &item),
                ("items[0][price]", "price_unknown"),
            ],
            "items[0][price]",
            Some("resource_missing"),
        ),
        (
            vec![("items[0][id]", &item), ("items[0][price]", &once)],
            "items[0][price]",
            None,
        ),
        (
            vec![("items[0][id]", &item), ("items[0][price]", &retired)],
            "items[0][price]",
            None,
        ),
        (
            vec![("items[0][id]", &item), ("items[0][price]", &euros)],
            "items[0][price]",
            None,
        ),
        (
            vec![("items[0][id]", "si_unknown"), ("items[0][price]", &good)],
            "items[0][id]",
            Some("resource_missing"),
        ),
        (
            vec![("items[0][id]", &other_item), ("items[0][price]", &good)],
            "items[0][id]",
            None,
        ),
        (vec![("items[0][price]", &good)], "items[0][id]", None),
        (
            vec![("items[0][id]", &item), ("items[0][quantity]", "0")],
            "items[0][quantity]",
            None,
        ),
        (
            vec![
                ("items[0][id]", &item),
                ("items[0][price]", &good),
                ("proration_behavior", "sometimes"),
            ],
            "proration_behavior",
            None,
        ),
    ];
    for (form, param, code) in cases {
        let (status, e) = w.api_err(Method::POST, &path, &form).await;
        assert_eq!(status, 400, "{form:?}: {e}");
        assert_eq!(e["param"], param, "{form:?}: {e}");
        if let Some(code) = code {
            assert_eq!(e["code"], code, "{form:?}: {e}");
        }
    }
    let (status, e) = w
        .api_err(
            Method::POST,
            "/v1/subscriptions/sub_unknown",
            &[("items[0][id]", &item), ("items[0][price]", &good)],
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("resource_missing"))
    );

    // The control: `price` names the parameter.
    let switch = format!("/test/subscriptions/{sub}/switch");
    let (status, e) = w
        .control_err(&switch, Some(json!({ "price": "price_unknown" })), &[])
        .await;
    assert_eq!(
        (status, e["param"].as_str(), e["code"].as_str()),
        (400, Some("price"), Some("resource_missing"))
    );
    let (status, e) = w
        .control_err(&switch, None, &[("price", once.as_str())])
        .await;
    assert_eq!((status, e["param"].as_str()), (400, Some("price")));
    let (status, e) = w.control_err(&switch, Some(json!({})), &[]).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("parameter_missing"))
    );
    let (status, _) = w
        .control_err(
            "/test/subscriptions/sub_unknown/switch",
            Some(json!({ "price": good })),
            &[],
        )
        .await;
    assert_eq!(status, 404);
    let err = w.standin.controls().switch_price(&sub, &once).unwrap_err();
    assert_eq!(err.status.as_u16(), 400);

    // Nothing changed, nothing was emitted.
    let now = w.get(&path).await;
    assert_eq!(now["items"]["data"][0]["price"]["id"], monthly.as_str());
    assert_eq!(w.verified_events().await.len(), events_before);

    // A canceled subscription cannot change plan.
    w.standin.controls().cancel(&sub, false).unwrap();
    let (status, _) = w
        .api_err(
            Method::POST,
            &path,
            &[("items[0][id]", &item), ("items[0][price]", &good)],
        )
        .await;
    assert_eq!(status, 400);
}
