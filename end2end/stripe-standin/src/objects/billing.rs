//! `subscription` (with its `subscription_item`), `invoice` (with its
//! `line_item`) and the invoice's default `invoice_payment`.

use serde_json::{json, Value};

use super::{list, plan, price, product_name};
use crate::state::{Invoice, Store, Subscription};

pub fn subscription(store: &Store, s: &Subscription) -> Value {
    let p = store.prices.get(&s.price);
    let currency = p.map_or_else(|| "usd".to_string(), |p| p.currency.clone());
    let item = json!({
        "id": s.item_id,
        "object": "subscription_item",
        "billing_thresholds": null,
        "created": s.created,
        "current_period_end": s.period_end,
        "current_period_start": s.period_start,
        "discounts": [],
        "metadata": {},
        "plan": p.map_or(Value::Null, plan),
        "price": p.map_or(Value::Null, price),
        "quantity": s.quantity,
        "subscription": s.id,
        "tax_rates": [],
    });
    let cancellation_details = json!({
        "comment": null,
        "feedback": null,
        "reason": s.cancel_reason,
    });
    json!({
        "id": s.id,
        "object": "subscription",
        "application": null,
        "application_fee_percent": null,
        "automatic_tax": { "disabled_reason": null, "enabled": false, "liability": null },
        "billing_cycle_anchor": s.created,
        "billing_cycle_anchor_config": null,
        "billing_mode": { "flexible": null, "type": "classic" },
        "billing_schedules": [],
        "billing_thresholds": null,
        "cancel_at": s.cancel_at,
        "cancel_at_period_end": s.cancel_at_period_end,
        "canceled_at": s.canceled_at,
        "cancellation_details": cancellation_details,
        "collection_method": "charge_automatically",
        "created": s.created,
        "currency": currency,
        "customer": s.customer,
        "customer_account": null,
        "days_until_due": null,
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "ended_at": s.ended_at,
        "invoice_settings": {
            "account_tax_ids": null,
            "custom_fields": null,
            "description": null,
            "footer": null,
            "issuer": { "type": "self" },
        },
        "items": list(&format!("/v1/subscription_items?subscription={}", s.id), vec![item]),
        "latest_invoice": s.latest_invoice,
        "livemode": false,
        "managed_payments": { "enabled": false },
        "metadata": s.metadata,
        "next_pending_invoice_item_invoice": null,
        "on_behalf_of": null,
        "pause_collection": null,
        "payment_settings": {
            "payment_method_options": null,
            "payment_method_types": null,
            "save_default_payment_method": "off",
        },
        "pending_invoice_item_interval": null,
        "pending_setup_intent": null,
        "pending_update": null,
        "schedule": null,
        "start_date": s.created,
        "status": s.status,
        "test_clock": null,
        "transfer_data": null,
        "trial_end": null,
        "trial_settings": { "end_behavior": { "missing_payment_method": "create_invoice" } },
        "trial_start": null,
    })
}

fn line_item(store: &Store, inv: &Invoice) -> Value {
    let p = store.prices.get(&inv.price);
    let interval = p
        .and_then(|p| p.recurring.as_ref())
        .map_or("month", |r| r.interval.as_str());
    let unit = p.map_or(0, |p| p.unit_amount);
    json!({
        "id": inv.line_id,
        "object": "line_item",
        "amount": inv.amount,
        "currency": inv.currency,
        "description": format!(
            "{} × {} (at {} / {interval})",
            inv.quantity,
            product_name(store, &inv.price),
            crate::pages::money(unit, &inv.currency),
        ),
        "discount_amounts": [],
        "discountable": true,
        "discounts": [],
        "invoice": inv.id,
        "livemode": false,
        "metadata": inv.subscription_metadata,
        "parent": {
            "invoice_item_details": null,
            "subscription_item_details": {
                "invoice_item": null,
                "proration": false,
                "proration_details": { "credited_items": null },
                "subscription": inv.subscription,
                "subscription_item": store
                    .subscriptions
                    .get(&inv.subscription)
                    .map(|s| s.item_id.clone()),
            },
            "type": "subscription_item_details",
        },
        "period": { "end": inv.line_end, "start": inv.line_start },
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {
                "price": inv.price,
                "product": p.map(|p| p.product.clone()),
            },
            "type": "price_details",
            "unit_amount_decimal": unit.to_string(),
        },
        "quantity": inv.quantity,
        "quantity_decimal": inv.quantity.to_string(),
        "subscription": inv.subscription,
        "subtotal": inv.amount,
        "taxes": [],
    })
}

pub fn invoice(store: &Store, inv: &Invoice) -> Value {
    let customer = store.customers.get(&inv.customer);
    let paid = inv.status == "paid";
    let amount_paid = if paid { inv.amount } else { 0 };
    json!({
        "id": inv.id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Portcullis Stripe stand-in",
        "account_tax_ids": null,
        "amount_due": inv.amount,
        "amount_overpaid": 0,
        "amount_paid": amount_paid,
        "amount_remaining": inv.amount - amount_paid,
        "amount_shipping": 0,
        "application": null,
        "attempt_count": inv.attempt_count,
        "attempted": inv.attempt_count > 0,
        "auto_advance": !paid,
        "automatic_tax": {
            "disabled_reason": null,
            "enabled": false,
            "liability": null,
            "provider": null,
            "status": null,
        },
        "automatically_finalizes_at": null,
        "billing_reason": inv.billing_reason,
        "collection_method": "charge_automatically",
        "created": inv.created,
        "currency": inv.currency,
        "custom_fields": null,
        "customer": inv.customer,
        "customer_account": null,
        "customer_address": null,
        "customer_email": customer.and_then(|c| c.email.clone()),
        "customer_name": customer.and_then(|c| c.name.clone()),
        "customer_phone": null,
        "customer_shipping": null,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": null,
        "default_source": null,
        "default_tax_rates": [],
        "description": null,
        "discounts": [],
        "due_date": null,
        "effective_at": inv.created,
        "ending_balance": 0,
        "footer": null,
        "from_invoice": null,
        "hosted_invoice_url": null,
        "invoice_pdf": null,
        "issuer": { "type": "self" },
        "last_finalization_error": null,
        "latest_revision": null,
        "lines": list(&format!("/v1/invoices/{}/lines", inv.id), vec![line_item(store, inv)]),
        "livemode": false,
        "metadata": {},
        "next_payment_attempt": inv.next_payment_attempt,
        "number": inv.number,
        "on_behalf_of": null,
        "parent": {
            "quote_details": null,
            "subscription_details": {
                "metadata": inv.subscription_metadata,
                "subscription": inv.subscription,
            },
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": null,
            "payment_method_options": null,
            "payment_method_types": null,
        },
        "period_end": inv.period_end,
        "period_start": inv.period_start,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": null,
        "rendering": null,
        "shipping_cost": null,
        "shipping_details": null,
        "starting_balance": 0,
        "statement_descriptor": null,
        "status": inv.status,
        "status_transitions": {
            "finalized_at": inv.created,
            "marked_uncollectible_at": null,
            "paid_at": inv.paid_at,
            "voided_at": null,
        },
        // Removed from the API in 2025-03-31.basil: the link lives in
        // `parent.subscription_details.subscription`.
        "subscription": null,
        "subtotal": inv.amount,
        "subtotal_excluding_tax": inv.amount,
        "test_clock": null,
        "total": inv.amount,
        "total_discount_amounts": [],
        "total_excluding_tax": inv.amount,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": inv.created,
    })
}

/// The invoice's default payment: `open` until the invoice is paid.
pub fn invoice_payment(inv: &Invoice) -> Value {
    let paid = inv.status == "paid";
    let mut payment = json!({ "type": "payment_intent" });
    if let Some(pi) = &inv.payment_intent {
        payment["payment_intent"] = json!(pi);
    }
    json!({
        "id": inv.payment_id,
        "object": "invoice_payment",
        "amount_paid": paid.then_some(inv.amount),
        "amount_requested": inv.amount,
        "created": inv.created,
        "currency": inv.currency,
        "invoice": inv.id,
        "is_default": true,
        "livemode": false,
        "payment": payment,
        "status": if paid { "paid" } else { "open" },
        "status_transitions": {
            "canceled_at": null,
            "paid_at": inv.paid_at,
        },
    })
}
