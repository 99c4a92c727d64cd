//! Every paid invoice has a succeeded payment intent with a charge, and an
//! `invoice_payment` naming it (as the portal finds a renewal's payment).

use reqwest::Method;
use serde_json::Value;
use stripe_billing::invoice_payment::{
    ListInvoicePayment, ListInvoicePaymentPayment, ListInvoicePaymentPaymentType,
    RetrieveInvoicePayment,
};
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_shared::{InvoicesPaymentsInvoicePaymentAssociatedPaymentType, PaymentIntentStatus};

use crate::support::{world, World};

async fn list(w: &World, query: &[(&str, &str)]) -> Value {
    let (status, body) = w
        .call(Method::GET, "/v1/invoice_payments", query, None)
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn ids(list: &Value, field: &str) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[field].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_renewals_invoice_payment_names_its_payment_intent() {
    let w = world().await;
    let (customer, _, sub) = w.paid_subscription().await;
    let c = w.standin.controls();
    c.advance(&sub).unwrap(); // a paid renewal
    c.fail_next_invoice(&sub).unwrap();
    c.advance(&sub).unwrap(); // an unpaid one

    let history = w.control_get(&format!("/test/subscriptions/{sub}")).await;
    let invoices = history["invoices"].as_array().unwrap();
    let payments = history["payments"].as_array().unwrap().clone();
    assert_eq!(payments.len(), 3);
    for (p, inv) in payments.iter().zip(invoices) {
        assert_eq!(p["invoice"], inv["id"]);
        assert_eq!(p.as_object().unwrap().len(), 3, "{p}");
        assert!(p["payment_intent"].as_str().unwrap().starts_with("pi_"));
    }
    assert_eq!(invoices[1]["billing_reason"], "subscription_cycle");
    assert!(payments[2]["charge"].is_null(), "{}", payments[2]);

    // The first invoice and the paid renewal: succeeded, with a charge, for the customer.
    for p in &payments[..2] {
        let pi_id = p["payment_intent"].as_str().unwrap();
        let pi = RetrievePaymentIntent::new(pi_id)
            .send(&w.stripe)
            .await
            .unwrap();
        assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
        assert_eq!(
            pi.customer.map(|c| c.id().to_string()),
            Some(customer.clone())
        );
        let charge_id = pi.latest_charge.map(|c| c.id().to_string()).unwrap();
        assert_eq!(p["charge"], charge_id.as_str());
        let charge = RetrieveCharge::new(charge_id.as_str())
            .send(&w.stripe)
            .await
            .unwrap();
        assert!(charge.paid && !charge.disputed);
        assert_eq!(
            charge.customer.map(|c| c.id().to_string()),
            Some(customer.clone())
        );
        assert_eq!(
            charge
                .payment_intent
                .map(|pi| pi.id().to_string())
                .as_deref(),
            Some(pi_id)
        );
    }

    // The portal's two look-ups, with async-stripe's client.
    let renewal = &payments[1];
    let (invoice, pi) = (
        renewal["invoice"].as_str().unwrap(),
        renewal["payment_intent"].as_str().unwrap(),
    );
    let by_invoice = ListInvoicePayment::new()
        .invoice(invoice)
        .limit(10)
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(by_invoice.data.len(), 1);
    let payment = &by_invoice.data[0];
    assert!(payment.id.as_str().starts_with("inpay_"));
    assert_eq!(payment.status, "paid");
    assert_eq!(
        (payment.amount_paid, payment.amount_requested),
        (Some(2000), 2000)
    );
    assert!(payment.is_default && !payment.livemode);
    assert_eq!(
        payment.payment.type_,
        InvoicesPaymentsInvoicePaymentAssociatedPaymentType::PaymentIntent
    );
    assert_eq!(
        payment
            .payment
            .payment_intent
            .as_ref()
            .map(|p| p.id().to_string()),
        Some(pi.to_string())
    );
    assert!(payment.status_transitions.paid_at.is_some());
    assert!(payment.status_transitions.canceled_at.is_none());
    let mut by = ListInvoicePaymentPayment::new(ListInvoicePaymentPaymentType::PaymentIntent);
    by.payment_intent = Some(pi.to_string());
    let by_intent = ListInvoicePayment::new()
        .payment(by)
        .limit(1)
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(by_intent.data.len(), 1);
    assert_eq!(
        by_intent.data[0]
            .invoice
            .id()
            .as_ref()
            .map(|i| i.as_str().to_string()),
        Some(invoice.to_string())
    );
    let one = RetrieveInvoicePayment::new(payment.id.as_str())
        .send(&w.stripe)
        .await
        .unwrap();
    assert_eq!(one.id, payment.id);
    let raw = w.get(&format!("/v1/invoice_payments/{}", payment.id)).await;
    assert_eq!(raw["payment"]["payment_intent"], pi);

    // Newest first; `status` and `limit`.
    let all = list(&w, &[]).await;
    let newest_first: Vec<String> = payments
        .iter()
        .rev()
        .map(|p| p["invoice"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(&all, "invoice"), newest_first);
    let open = list(&w, &[("status", "open")]).await;
    assert_eq!(
        ids(&open, "invoice"),
        [payments[2]["invoice"].as_str().unwrap()]
    );
    assert!(open["data"][0]["amount_paid"].is_null());
    assert!(open["data"][0]["status_transitions"]["paid_at"].is_null());
    assert_eq!(
        open["data"][0]["payment"]["payment_intent"],
        payments[2]["payment_intent"]
    );
    let two = list(&w, &[("limit", "2")]).await;
    assert_eq!(
        (
            two["data"].as_array().unwrap().len(),
            two["has_more"].as_bool()
        ),
        (2, Some(true))
    );
    let records = list(&w, &[("payment[type]", "payment_record")]).await;
    assert!(records["data"].as_array().unwrap().is_empty());

    // The card is fixed: the open invoice's own intent succeeds with a charge.
    c.pay_open_invoice(&sub).unwrap();
    let history = w.control_get(&format!("/test/subscriptions/{sub}")).await;
    let fixed = &history["payments"][2];
    assert_eq!(fixed["payment_intent"], payments[2]["payment_intent"]);
    assert!(fixed["charge"].as_str().unwrap().starts_with("ch_"));
    assert!(list(&w, &[("status", "open")]).await["data"]
        .as_array()
        .unwrap()
        .is_empty());
    let paid = list(&w, &[("invoice", fixed["invoice"].as_str().unwrap())]).await;
    assert_eq!(paid["data"][0]["status"], "paid");
    assert_eq!(paid["data"][0]["amount_paid"], 2000);
}

#[tokio::test]
async fn invoice_payment_lists_reject_bad_filters() {
    let w = world().await;
    for (query, param) in [
        (vec![("limit", "0")], "limit"),
        (vec![("limit", "101")], "limit"),
        (vec![("status", "settled")], "status"),
        (vec![("payment[type]", "card")], "payment[type]"),
        (vec![("payment[payment_intent]", "pi_x")], "payment[type]"),
    ] {
        let (status, e) = w.api_err(Method::GET, "/v1/invoice_payments", &query).await;
        assert_eq!((status, e["param"].as_str()), (400, Some(param)), "{e}");
    }
    let (status, e) = w
        .api_err(Method::GET, "/v1/invoice_payments/inpay_nope", &[])
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let empty = list(&w, &[("invoice", "in_nope")]).await;
    assert!(empty["data"].as_array().unwrap().is_empty());
}
