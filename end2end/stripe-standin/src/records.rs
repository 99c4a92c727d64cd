//! Creating the records behind customers, payments and invoices.

use crate::state::{new_id, now, Charge, Customer, Invoice, Metadata, PaymentIntent, Store};

pub fn new_customer(store: &mut Store, email: Option<String>, name: Option<String>) -> String {
    let id = new_id("cus_", 14);
    let prefix = new_id("", 8).to_uppercase();
    store.customers.insert(
        id.clone(),
        Customer {
            id: id.clone(),
            created: now(),
            email,
            name,
            description: None,
            phone: None,
            metadata: Metadata::new(),
            invoice_prefix: prefix,
            next_invoice_sequence: 1,
        },
    );
    id
}

/// A payment intent awaiting its payment (`requires_payment_method`).
pub fn new_intent(
    store: &mut Store,
    amount: i64,
    currency: &str,
    customer: Option<&str>,
    description: Option<&str>,
    metadata: &Metadata,
) -> String {
    let id = new_id("pi_", 24);
    store.payment_intents.insert(
        id.clone(),
        PaymentIntent {
            id: id.clone(),
            created: now(),
            amount,
            currency: currency.to_string(),
            customer: customer.map(str::to_string),
            description: description.map(str::to_string),
            metadata: metadata.clone(),
            status: "requires_payment_method".into(),
            latest_charge: None,
            failed: false,
        },
    );
    id
}

/// The intent succeeds with a new charge (same amount, customer, metadata).
pub fn succeed_intent(store: &mut Store, pi_id: &str) -> Option<String> {
    let pi = store.payment_intents.get(pi_id)?;
    let (email, name) = pi
        .customer
        .as_ref()
        .and_then(|c| store.customers.get(c))
        .map_or((None, None), |c| (c.email.clone(), c.name.clone()));
    let charge_id = new_id("ch_", 24);
    let charge = Charge {
        id: charge_id.clone(),
        created: now(),
        amount: pi.amount,
        currency: pi.currency.clone(),
        customer: pi.customer.clone(),
        description: pi.description.clone(),
        metadata: pi.metadata.clone(),
        payment_intent: pi_id.to_string(),
        billing_email: email,
        billing_name: name,
        refunds: Vec::new(),
        disputed: false,
    };
    store.charges.insert(charge_id.clone(), charge);
    let pi = store.payment_intents.get_mut(pi_id)?;
    pi.status = "succeeded".into();
    pi.failed = false;
    pi.latest_charge = Some(charge_id.clone());
    Some(charge_id)
}

/// A succeeded payment intent with its charge; returns the intent's id.
pub fn new_payment(
    store: &mut Store,
    amount: i64,
    currency: &str,
    customer: Option<&str>,
    description: Option<&str>,
    metadata: &Metadata,
) -> String {
    let pi_id = new_intent(store, amount, currency, customer, description, metadata);
    succeed_intent(store, &pi_id);
    pi_id
}

/// The description of an invoice's payment intent, by billing reason.
fn intent_description(reason: &str) -> &'static str {
    match reason {
        "subscription_create" => "Subscription creation",
        _ => "Subscription update",
    }
}

/// The invoice's payment intent succeeds with a charge (the intent is
/// made first, for the invoice's customer, if the invoice has none; an
/// intent that already succeeded keeps its charge). Answers (intent, charge).
pub fn pay_invoice_intent(store: &mut Store, invoice_id: &str) -> Option<(String, String)> {
    let inv = store.invoices.get(invoice_id)?;
    let existing = inv
        .payment_intent
        .clone()
        .filter(|pi| store.payment_intents.contains_key(pi));
    let pi_id = match existing {
        Some(pi) => pi,
        None => {
            let (amount, currency, customer) =
                (inv.amount, inv.currency.clone(), inv.customer.clone());
            let description = intent_description(&inv.billing_reason);
            let pi = new_intent(
                store,
                amount,
                &currency,
                Some(&customer),
                Some(description),
                &Metadata::new(),
            );
            store.invoices.get_mut(invoice_id)?.payment_intent = Some(pi.clone());
            pi
        }
    };
    let pi = store.payment_intents.get(&pi_id)?;
    if let (true, Some(charge)) = (pi.status == "succeeded", pi.latest_charge.clone()) {
        return Some((pi_id, charge));
    }
    let charge = succeed_intent(store, &pi_id)?;
    Some((pi_id, charge))
}

/// A finalized invoice for `sub_id`'s current period (its line's period),
/// paid (its payment intent succeeded with a charge) or, if `fail`, open
/// after one declined attempt. Returns its id.
pub fn new_invoice(
    store: &mut Store,
    sub_id: &str,
    reason: &str,
    period: (i64, i64),
    fail: bool,
) -> Option<String> {
    let sub = store.subscriptions.get(sub_id)?;
    let (customer, price_id, quantity) = (sub.customer.clone(), sub.price.clone(), sub.quantity);
    let (line_start, line_end) = (sub.period_start, sub.period_end);
    let sub_metadata = sub.metadata.clone();
    let price = store.prices.get(&price_id)?;
    let (amount, currency) = (price.unit_amount * quantity, price.currency.clone());
    let customer_record = store.customers.get_mut(&customer)?;
    let number = format!(
        "{}-{:04}",
        customer_record.invoice_prefix, customer_record.next_invoice_sequence
    );
    customer_record.next_invoice_sequence += 1;
    let pi_id = new_intent(
        store,
        amount,
        &currency,
        Some(&customer),
        Some(intent_description(reason)),
        &Metadata::new(),
    );
    if fail {
        if let Some(pi) = store.payment_intents.get_mut(&pi_id) {
            pi.failed = true;
        }
    }
    let id = new_id("in_", 24);
    let seq = store.next_seq();
    let created = now();
    let invoice = Invoice {
        seq,
        id: id.clone(),
        created,
        customer,
        subscription: sub_id.to_string(),
        subscription_metadata: sub_metadata,
        line_id: new_id("il_", 24),
        price: price_id,
        quantity,
        amount,
        currency,
        billing_reason: reason.to_string(),
        status: if fail { "open" } else { "paid" }.into(),
        attempt_count: 1,
        paid_at: (!fail).then_some(created),
        next_payment_attempt: fail.then_some(created + 3 * 24 * 3600),
        period_start: period.0,
        period_end: period.1,
        line_start,
        line_end,
        number,
        payment_intent: Some(pi_id),
        payment_id: new_id("inpay_", 24),
    };
    store.invoices.insert(id.clone(), invoice);
    if !fail {
        pay_invoice_intent(store, &id)?;
    }
    Some(id)
}
