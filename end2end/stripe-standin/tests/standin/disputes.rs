//! Disputes: a renewal's payment is charged back, then won or lost; the
//! events, the typed reads the portal makes, and the refusals.

use std::path::PathBuf;

use reqwest::Method;
use serde_json::{json, Value};
use stripe_core::charge::RetrieveCharge;
use stripe_core::dispute::{ListDispute, RetrieveDispute};
use stripe_shared::DisputeStatus;

use crate::support::world;

#[tokio::test]
async fn a_renewal_is_disputed_then_won_and_another_lost() {
    let w = world().await;
    let (_, _, sub) = w.paid_subscription().await;
    w.control(&format!("/test/subscriptions/{sub}/advance"), None)
        .await;
    let history = w.control_get(&format!("/test/subscriptions/{sub}")).await;
    let renewal = history["payments"][1].clone();
    let pi = renewal["payment_intent"].as_str().unwrap();
    let charge = renewal["charge"].as_str().unwrap();
    assert_eq!(w.verified_events().await.len(), 5);

    let dispute = w
        .control(&format!("/test/payment_intents/{pi}/dispute"), None)
        .await;
    let dp = dispute["id"].as_str().unwrap().to_string();
    assert!(dp.starts_with("dp_"));
    assert_eq!(
        (
            dispute["status"].as_str(),
            dispute["reason"].as_str(),
            dispute["amount"].as_i64(),
            dispute["currency"].as_str(),
        ),
        (
            Some("needs_response"),
            Some("fraudulent"),
            Some(2000),
            Some("usd")
        )
    );
    assert_eq!(
        (&dispute["charge"], &dispute["payment_intent"]),
        (&json!(charge), &json!(pi))
    );
    assert_eq!(
        dispute["payment_method_details"]["card"]["case_type"],
        "chargeback"
    );
    assert_eq!(dispute["is_charge_refundable"], false);
    assert!(
        dispute["evidence_details"]["due_by"].as_i64().unwrap()
            > dispute["created"].as_i64().unwrap()
    );
    assert_eq!(
        w.event_types_since(5).await,
        ["charge.dispute.created", "charge.dispute.funds_withdrawn"]
    );

    // What the portal reads: the charge is disputed; its dispute is open.
    let typed = RetrieveCharge::new(charge).send(&w.stripe).await.unwrap();
    assert!(typed.disputed && !typed.refunded);
    let by_charge = ListDispute::new()
        .charge(charge)
        .limit(1)
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(by_charge.data.len(), 1);
    assert_eq!(by_charge.data[0].status, DisputeStatus::NeedsResponse);
    assert_eq!(by_charge.data[0].id.as_str(), dp);
    let by_intent = ListDispute::new()
        .payment_intent(pi)
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(by_intent.data.len(), 1);
    let one = RetrieveDispute::new(dp.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(
        one.payment_intent.map(|p| p.id().to_string()).as_deref(),
        Some(pi)
    );
    assert_eq!(one.charge.id().as_str(), charge);

    // While it is open: no refund, no second dispute.
    let (status, e) = w
        .control_err(&format!("/test/payment_intents/{pi}/refund"), None, &[])
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("charge_disputed")));
    let (status, e) = w
        .api_err(Method::POST, "/v1/refunds", &[("payment_intent", pi)])
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("charge_disputed")));
    let (status, _) = w
        .control_err(&format!("/test/payment_intents/{pi}/dispute"), None, &[])
        .await;
    assert_eq!(status, 400);

    // Won (a JSON body): funds reinstated, then closed.
    let won = w
        .control(
            &format!("/test/disputes/{dp}/close"),
            Some(json!({ "outcome": "won" })),
        )
        .await;
    assert_eq!(won["status"], "won");
    assert_eq!(
        w.event_types_since(7).await,
        ["charge.dispute.funds_reinstated", "charge.dispute.closed"]
    );
    let events = w.verified_events().await;
    assert_eq!(events[8]["data"]["object"]["status"], "won");
    assert_eq!(
        events[8]["data"]["previous_attributes"]["status"],
        "needs_response"
    );
    let (status, e) = w
        .control_err(
            &format!("/test/disputes/{dp}/close"),
            Some(json!({ "outcome": "lost" })),
            &[],
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        e["message"].as_str().unwrap().contains("already closed"),
        "{e}"
    );
    // A won dispute leaves the charge refundable.
    let refunded = w
        .control(&format!("/test/payment_intents/{pi}/refund"), None)
        .await;
    assert_eq!(refunded["refunded"], true);
    assert_eq!(refunded["disputed"], true);

    // The first invoice's payment, with the Rust controls: lost (the query).
    let c = w.standin.controls();
    let first_pi = history["payments"][0]["payment_intent"].as_str().unwrap();
    let second = c.dispute_payment_intent(first_pi).unwrap();
    crate::support::check_tree(&second);
    let dp2 = second["id"].as_str().unwrap().to_string();
    let lost = w
        .control(&format!("/test/disputes/{dp2}/close?outcome=lost"), None)
        .await;
    assert_eq!(lost["status"], "lost");
    let again = c.close_dispute(&dp2, true).unwrap_err();
    assert_eq!(again.status.as_u16(), 400);
    assert_eq!(
        w.event_types_since(9).await,
        [
            "charge.refunded",
            "charge.dispute.created",
            "charge.dispute.funds_withdrawn",
            "charge.dispute.closed",
        ]
    );
    let typed = ListDispute::new()
        .payment_intent(first_pi)
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(typed.data[0].status, DisputeStatus::Lost);
    // A lost dispute: the charge stays charged back.
    let (status, e) = w
        .control_err(
            &format!("/test/payment_intents/{first_pi}/refund"),
            None,
            &[],
        )
        .await;
    assert_eq!((status, e["code"].as_str()), (400, Some("charge_disputed")));

    // Newest first.
    let all = w.get("/v1/disputes").await;
    let order: Vec<_> = all["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(order, [dp2.as_str(), dp.as_str()]);
    let one = w
        .get(&format!("/v1/disputes?limit=1&charge={charge}"))
        .await;
    assert_eq!(
        (one["data"][0]["id"].as_str(), one["has_more"].as_bool()),
        (Some(dp.as_str()), Some(false))
    );
}

#[tokio::test]
async fn dispute_controls_reject_bad_input() {
    let w = world().await;
    let (_, _, sub) = w.paid_subscription().await;
    let c = w.standin.controls();
    c.fail_next_invoice(&sub).unwrap();
    c.advance(&sub).unwrap();
    let history = c.subscription(&sub).unwrap();
    let unpaid = history["payments"][1]["payment_intent"].as_str().unwrap();
    let paid = history["payments"][0]["payment_intent"].as_str().unwrap();

    let (status, e) = w
        .control_err("/test/payment_intents/pi_nope/dispute", None, &[])
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let (status, _) = w
        .control_err(
            &format!("/test/payment_intents/{unpaid}/dispute"),
            None,
            &[],
        )
        .await;
    assert_eq!(status, 400);
    let (status, e) = w
        .control_err("/test/disputes/dp_nope/close?outcome=won", None, &[])
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("resource_missing"))
    );
    assert_eq!(
        c.close_dispute("dp_nope", true)
            .unwrap_err()
            .status
            .as_u16(),
        404
    );

    let dp = c.dispute_payment_intent(paid).unwrap();
    let dp = dp["id"].as_str().unwrap();
    let (status, e) = w
        .control_err(&format!("/test/disputes/{dp}/close"), None, &[])
        .await;
    assert_eq!(
        (status, e["code"].as_str(), e["param"].as_str()),
        (400, Some("parameter_missing"), Some("outcome"))
    );
    let (status, e) = w
        .control_err(
            &format!("/test/disputes/{dp}/close"),
            None,
            &[("outcome", "maybe")],
        )
        .await;
    assert_eq!((status, e["param"].as_str()), (400, Some("outcome")));
    let (status, e) = w.api_err(Method::GET, "/v1/disputes/dp_nope", &[]).await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let (status, e) = w
        .api_err(Method::GET, "/v1/disputes", &[("limit", "0")])
        .await;
    assert_eq!((status, e["param"].as_str()), (400, Some("limit")));
    // Still open: the bad calls changed nothing.
    assert_eq!(
        w.get(&format!("/v1/disputes/{dp}")).await["status"],
        "needs_response"
    );
}

/// The nested objects carry the fixture's keys too (when ../shared is here).
#[tokio::test]
async fn nested_dispute_objects_match_the_fixture() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/specs/stripe-fixtures3.json");
    let Ok(text) = std::fs::read_to_string(&fixtures) else {
        println!("skipped: ../shared not present ({})", fixtures.display());
        return;
    };
    let fixture: Value = serde_json::from_str(&text).unwrap();
    let fixture = &fixture["resources"]["dispute"];
    let w = world().await;
    let (_, _, sub) = w.paid_subscription().await;
    let c = w.standin.controls();
    let pi = c.subscription(&sub).unwrap()["payments"][0]["payment_intent"]
        .as_str()
        .unwrap()
        .to_string();
    let dispute = c.dispute_payment_intent(&pi).unwrap();
    let keys = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    for path in [
        "/evidence",
        "/evidence_details",
        "/payment_method_details",
        "/payment_method_details/card",
    ] {
        assert_eq!(
            keys(dispute.pointer(path).unwrap()),
            keys(fixture.pointer(path).unwrap()),
            "{path}"
        );
    }
}
