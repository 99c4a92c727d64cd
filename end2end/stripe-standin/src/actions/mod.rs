//! What happens to the state when a buyer pays, a period renews, a payment
//! fails, a subscription changes plan or is canceled, a charge is refunded
//! or disputed. Shared by the hosted pages, the test controls, the API and
//! the Rust [`crate::Controls`].

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::objects;
use crate::records::{new_customer, new_invoice, new_payment};
use crate::state::{add_interval, new_id, now, Refund, Session, Shared, Store, Subscription};
use crate::webhooks::Batch;

mod disputes;
mod subscriptions;
mod switch;
pub use disputes::*;
pub use subscriptions::*;
pub use switch::*;

/// Runs `f` under the lock; queues the events it emitted and wakes delivery.
pub fn act<T>(
    shared: &Shared,
    request: (Option<String>, Option<String>),
    f: impl FnOnce(&mut Store, &mut Batch) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let result = {
        let mut store = shared.lock();
        let mut batch = Batch::new(request);
        let result = f(&mut store, &mut batch);
        store.enqueue(batch);
        result
    };
    shared.wake.notify_one();
    result
}

/// The top-level fields of `before` whose values differ in `after`
/// (`data.previous_attributes` of `*.updated` events).
pub fn changed(before: &Value, after: &Value) -> Value {
    let mut prev = Map::new();
    if let (Some(old), Some(new)) = (before.as_object(), after.as_object()) {
        for (key, value) in old {
            if new.get(key) != Some(value) {
                prev.insert(key.clone(), value.clone());
            }
        }
    }
    Value::Object(prev)
}

fn session_json(store: &Store, base: &str, id: &str) -> Value {
    store
        .sessions
        .get(id)
        .map_or(Value::Null, |s| objects::checkout_session(store, base, s))
}

pub fn sub_json(store: &Store, id: &str) -> Value {
    store
        .subscriptions
        .get(id)
        .map_or(Value::Null, |s| objects::subscription(store, s))
}

pub(crate) fn invoice_json(store: &Store, id: &str) -> Value {
    store
        .invoices
        .get(id)
        .map_or(Value::Null, |i| objects::invoice(store, i))
}

/// The buyer pays an open Checkout Session (the hosted page's Pay button).
pub fn pay_session(
    store: &mut Store,
    batch: &mut Batch,
    base: &str,
    id: &str,
) -> Result<(), ApiError> {
    let session = store
        .sessions
        .get(id)
        .ok_or_else(|| ApiError::no_such("checkout.session", id, None))?;
    match session.status.as_str() {
        "open" => {}
        "complete" => return Ok(()),
        _ => {
            return Err(ApiError::invalid(
                "This Checkout Session is no longer active.",
                None,
            ))
        }
    }
    let (mode, price_id, quantity) = (
        session.mode.clone(),
        session.price.clone(),
        session.quantity,
    );
    let (email, creation) = (
        session.customer_email.clone(),
        session.customer_creation.clone(),
    );
    let mut customer = session.customer.clone();
    let sub_meta = session.subscription_metadata.clone();
    let pi_meta = session.payment_intent_metadata.clone();
    let price = store
        .prices
        .get(&price_id)
        .ok_or_else(|| ApiError::no_such("price", &price_id, None))?;
    let (amount, currency, recurring) = (
        price.unit_amount * quantity,
        price.currency.clone(),
        price.recurring.clone(),
    );

    if customer.is_none() && (mode == "subscription" || creation.as_deref() == Some("always")) {
        customer = Some(new_customer(store, email, None));
    }
    let done = |store: &mut Store, f: &dyn Fn(&mut Session)| {
        if let Some(s) = store.sessions.get_mut(id) {
            s.status = "complete".into();
            s.completed_at = Some(now());
            s.customer = customer.clone();
            f(s);
        }
    };
    if mode == "subscription" {
        let Some(customer_id) = customer.clone() else {
            return Err(ApiError::invalid(
                "A customer is required.",
                Some("customer"),
            ));
        };
        let recurring =
            recurring.ok_or_else(|| ApiError::invalid("The price is not recurring.", None))?;
        let sub_id = new_id("sub_", 24);
        let start = now();
        let seq = store.next_seq();
        let sub = Subscription {
            seq,
            id: sub_id.clone(),
            created: start,
            customer: customer_id,
            price: price_id,
            quantity,
            item_id: new_id("si_", 14),
            status: "active".into(),
            period_start: start,
            period_end: add_interval(start, &recurring.interval, recurring.interval_count),
            cancel_at_period_end: false,
            cancel_at: None,
            canceled_at: None,
            ended_at: None,
            cancel_reason: None,
            metadata: sub_meta,
            latest_invoice: None,
            fail_next: false,
        };
        store.subscriptions.insert(sub_id.clone(), sub);
        let invoice_id = new_invoice(store, &sub_id, "subscription_create", (start, start), false)
            .ok_or_else(|| ApiError::invalid("The subscription could not be invoiced.", None))?;
        if let Some(sub) = store.subscriptions.get_mut(&sub_id) {
            sub.latest_invoice = Some(invoice_id.clone());
        }
        done(store, &|s| {
            s.subscription = Some(sub_id.clone());
            s.invoice = Some(invoice_id.clone());
        });
        let (sub, inv) = (sub_json(store, &sub_id), invoice_json(store, &invoice_id));
        store.emit(batch, "customer.subscription.created", sub, None);
        store.emit(batch, "invoice.paid", inv, None);
    } else {
        let pi_id = new_payment(
            store,
            amount,
            &currency,
            customer.as_deref(),
            None,
            &pi_meta,
        );
        done(store, &|s| s.payment_intent = Some(pi_id.clone()));
    }
    let session = session_json(store, base, id);
    store.emit(batch, "checkout.session.completed", session, None);
    Ok(())
}

/// Expires an open session (`POST /v1/checkout/sessions/{id}/expire`).
pub fn expire_session(
    store: &mut Store,
    batch: &mut Batch,
    base: &str,
    id: &str,
) -> Result<(), ApiError> {
    let session = store
        .sessions
        .get_mut(id)
        .ok_or_else(|| ApiError::no_such("checkout.session", id, None))?;
    if session.status != "open" {
        return Err(ApiError::invalid(
            "Only Checkout Sessions with a status of `open` can be expired.",
            None,
        ));
    }
    session.status = "expired".into();
    let session = session_json(store, base, id);
    store.emit(batch, "checkout.session.expired", session, None);
    Ok(())
}

/// The intent's charge, if it succeeded (else a Stripe-shaped error saying
/// there is nothing to `verb`).
pub(crate) fn succeeded_charge(store: &Store, pi_id: &str, verb: &str) -> Result<String, ApiError> {
    let pi = store
        .payment_intents
        .get(pi_id)
        .ok_or_else(|| ApiError::no_such("payment_intent", pi_id, None))?;
    pi.latest_charge.clone().filter(|_| pi.status == "succeeded").ok_or_else(|| {
        ApiError::invalid(
            format!("This PaymentIntent ({pi_id}) does not have a successful charge to {verb}."),
            Some("payment_intent"),
        )
    })
}

/// Refunds a payment intent's charge (all of what is left, or `amount`).
/// Returns the charge id and the refund id.
pub fn refund(
    store: &mut Store,
    batch: &mut Batch,
    base: &str,
    pi_id: &str,
    amount: Option<i64>,
) -> Result<(String, String), ApiError> {
    let charge_id = succeeded_charge(store, pi_id, "refund")?;
    // A charge with a dispute open or lost cannot be refunded (won: it can).
    let charged_back = store
        .disputes
        .values()
        .any(|d| d.charge == charge_id && d.status != "won");
    if charged_back {
        return Err(ApiError {
            code: Some("charge_disputed"),
            ..ApiError::invalid(
                format!("Charge {charge_id} has been charged back; it cannot be refunded."),
                None,
            )
        });
    }
    let charge = store
        .charges
        .get_mut(&charge_id)
        .ok_or_else(|| ApiError::no_such("charge", &charge_id, None))?;
    let left = charge.amount - charge.amount_refunded();
    if left <= 0 {
        return Err(ApiError {
            code: Some("charge_already_refunded"),
            ..ApiError::invalid(
                format!("Charge {charge_id} has already been refunded."),
                None,
            )
        });
    }
    let amount = amount.unwrap_or(left);
    if amount <= 0 || amount > left {
        return Err(ApiError::bad_param(
            "amount",
            format!(
                "Refund amount ({amount}) is greater than unrefunded amount on charge ({left})"
            ),
        ));
    }
    let before = objects::charge(base, charge);
    let refund_id = new_id("re_", 24);
    charge.refunds.push(Refund {
        id: refund_id.clone(),
        created: now(),
        amount,
    });
    let after = objects::charge(base, charge);
    let prev = changed(&before, &after);
    store.emit(batch, "charge.refunded", after, Some(prev));
    Ok((charge_id, refund_id))
}
