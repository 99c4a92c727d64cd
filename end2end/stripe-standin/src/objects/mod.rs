//! Stripe objects at API version 2026-09-30.endive, rendered from the
//! records in [`crate::state`]. Every object carries every top-level field
//! of Stripe's published example for its resource (checked by the tests).

mod billing;
mod checkout;
mod disputes;
mod payments;

pub use billing::{invoice, invoice_payment, subscription};
pub use checkout::{checkout_session, portal_session};
pub use disputes::dispute;
pub use payments::{charge, payment_intent, refund};

use serde_json::{json, Value};

use crate::state::{Customer, Price, Product, Store};

/// The API version every object and event is rendered at.
pub const API_VERSION: &str = "2026-09-30.endive";

pub fn null_address() -> Value {
    json!({
        "city": null, "country": null, "line1": null,
        "line2": null, "postal_code": null, "state": null,
    })
}

/// `{object: "list", data, has_more: false, url}`.
pub fn list(url: &str, data: Vec<Value>) -> Value {
    json!({ "object": "list", "data": data, "has_more": false, "url": url })
}

pub fn customer(c: &Customer) -> Value {
    json!({
        "id": c.id,
        "object": "customer",
        "address": null,
        "balance": 0,
        "created": c.created,
        "currency": null,
        "default_source": null,
        "delinquent": false,
        "description": c.description,
        "discount": null,
        "email": c.email,
        "invoice_prefix": c.invoice_prefix,
        "invoice_settings": {
            "custom_fields": null,
            "default_payment_method": null,
            "footer": null,
            "rendering_options": null,
        },
        "livemode": false,
        "metadata": c.metadata,
        "name": c.name,
        "next_invoice_sequence": c.next_invoice_sequence,
        "phone": c.phone,
        "preferred_locales": [],
        "shipping": null,
        "tax_exempt": "none",
        "test_clock": null,
    })
}

pub fn product(p: &Product) -> Value {
    json!({
        "id": p.id,
        "object": "product",
        "active": p.active,
        "created": p.created,
        "default_price": null,
        "description": p.description,
        "images": [],
        "livemode": false,
        "marketing_features": [],
        "metadata": p.metadata,
        "name": p.name,
        "package_dimensions": null,
        "shippable": null,
        "statement_descriptor": null,
        "tax_code": null,
        "type": "service",
        "unit_label": null,
        "updated": p.updated,
        "url": null,
    })
}

pub fn price(p: &Price) -> Value {
    let recurring = p.recurring.as_ref().map(|r| {
        json!({
            "interval": r.interval,
            "interval_count": r.interval_count,
            "meter": null,
            "trial_period_days": null,
            "usage_type": "licensed",
        })
    });
    json!({
        "id": p.id,
        "object": "price",
        "active": p.active,
        "billing_scheme": "per_unit",
        "created": p.created,
        "currency": p.currency,
        "custom_unit_amount": null,
        "livemode": false,
        "lookup_key": p.lookup_key,
        "metadata": p.metadata,
        "nickname": p.nickname,
        "product": p.product,
        "recurring": recurring,
        "tax_behavior": "unspecified",
        "tiers_mode": null,
        "transform_quantity": null,
        "type": if p.recurring.is_some() { "recurring" } else { "one_time" },
        "unit_amount": p.unit_amount,
        "unit_amount_decimal": p.unit_amount.to_string(),
    })
}

/// The legacy `plan` view of a recurring price (on subscription items).
pub fn plan(p: &Price) -> Value {
    let (interval, count) = p
        .recurring
        .as_ref()
        .map_or(("month", 1), |r| (r.interval.as_str(), r.interval_count));
    json!({
        "id": p.id,
        "object": "plan",
        "active": p.active,
        "amount": p.unit_amount,
        "amount_decimal": p.unit_amount.to_string(),
        "billing_scheme": "per_unit",
        "created": p.created,
        "currency": p.currency,
        "interval": interval,
        "interval_count": count,
        "livemode": false,
        "metadata": p.metadata,
        "meter": null,
        "nickname": p.nickname,
        "product": p.product,
        "tiers_mode": null,
        "transform_usage": null,
        "trial_period_days": null,
        "usage_type": "licensed",
    })
}

/// The product name behind a price, for descriptions and pages.
pub fn product_name(store: &Store, price_id: &str) -> String {
    store
        .prices
        .get(price_id)
        .and_then(|p| store.products.get(&p.product))
        .map_or_else(|| "Product".to_string(), |p| p.name.clone())
}

/// The event envelope, as delivered and as stored.
pub fn event(
    id: &str,
    type_: &str,
    created: i64,
    object: Value,
    previous_attributes: Option<Value>,
    pending_webhooks: u32,
    request: (Option<String>, Option<String>),
) -> Value {
    let mut data = json!({ "object": object });
    if let (Some(prev), Some(map)) = (previous_attributes, data.as_object_mut()) {
        map.insert("previous_attributes".into(), prev);
    }
    json!({
        "id": id,
        "object": "event",
        "api_version": API_VERSION,
        "created": created,
        "data": data,
        "livemode": false,
        "pending_webhooks": pending_webhooks,
        "request": { "id": request.0, "idempotency_key": request.1 },
        "type": type_,
    })
}
