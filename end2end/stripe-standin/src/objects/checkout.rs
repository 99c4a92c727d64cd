//! `checkout.session` and `billing_portal.session`.

use serde_json::{json, Value};

use super::null_address;
use crate::state::{PortalSession, Session, Store};

pub fn checkout_session(store: &Store, public_base: &str, s: &Session) -> Value {
    let price = store.prices.get(&s.price);
    let amount = price.map_or(0, |p| p.unit_amount * s.quantity);
    let currency = price.map(|p| p.currency.clone());
    let customer = s.customer.as_ref().and_then(|id| store.customers.get(id));
    let complete = s.status == "complete";
    let customer_details = complete.then(|| {
        json!({
            "address": null_address(),
            "business_name": null,
            "email": customer.and_then(|c| c.email.clone()).or_else(|| s.customer_email.clone()),
            "individual_name": null,
            "name": customer.and_then(|c| c.name.clone()),
            "phone": null,
            "tax_exempt": "none",
            "tax_ids": [],
        })
    });
    let collected_information = complete.then(
        || json!({ "business_name": null, "individual_name": null, "shipping_details": null }),
    );
    let url = (s.status == "open").then(|| format!("{public_base}checkout/{}", s.id));
    let payment = s.mode == "payment";
    let invoice_creation = payment.then(|| {
        json!({
            "enabled": false,
            "invoice_data": {
                "account_tax_ids": null,
                "custom_fields": null,
                "description": null,
                "footer": null,
                "issuer": null,
                "metadata": {},
                "rendering_options": null,
            },
        })
    });
    let payment_status = if s.completed_at.is_some() {
        "paid"
    } else {
        "unpaid"
    };
    json!({
        "id": s.id,
        "object": "checkout.session",
        "adaptive_pricing": { "enabled": false },
        "after_expiration": null,
        "allow_promotion_codes": null,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
        "billing_address_collection": null,
        "cancel_url": s.cancel_url,
        "client_reference_id": s.client_reference_id,
        "client_secret": null,
        "collected_information": collected_information,
        "consent": null,
        "consent_collection": null,
        "created": s.created,
        "currency": currency,
        "currency_conversion": null,
        "custom_fields": [],
        "custom_text": {
            "after_submit": null,
            "shipping_address": null,
            "submit": null,
            "terms_of_service_acceptance": null,
        },
        "customer": s.customer,
        "customer_account": null,
        "customer_creation": s.customer_creation,
        "customer_details": customer_details,
        "customer_email": s.customer_email,
        "discounts": [],
        "expires_at": s.expires_at,
        "integration_identifier": null,
        "invoice": s.invoice,
        "invoice_creation": invoice_creation,
        "livemode": false,
        "locale": null,
        "managed_payments": { "enabled": false },
        "metadata": s.metadata,
        "mode": s.mode,
        "origin_context": null,
        "payment_intent": s.payment_intent,
        "payment_link": null,
        "payment_method_collection": if payment { Value::Null } else { json!("always") },
        "payment_method_configuration_details": null,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "permissions": null,
        "phone_number_collection": { "enabled": false },
        "recovered_from": null,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": "disabled",
            "payment_method_save": null,
        },
        "setup_intent": null,
        "shipping_address_collection": null,
        "shipping_cost": null,
        "shipping_options": [],
        "status": s.status,
        "submit_type": null,
        "subscription": s.subscription,
        "success_url": s.success_url,
        "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": null,
    })
}

pub fn portal_session(public_base: &str, p: &PortalSession) -> Value {
    json!({
        "id": p.id,
        "object": "billing_portal.session",
        "configuration": "bpc_standin_default",
        "created": p.created,
        "customer": p.customer,
        "customer_account": null,
        "flow": null,
        "livemode": false,
        "locale": null,
        "on_behalf_of": null,
        "return_url": p.return_url,
        "url": format!("{public_base}billing_portal/{}", p.id),
    })
}
