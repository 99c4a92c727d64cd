//! Keeping Stripe's catalogue in step with ours: a product becomes a Stripe
//! Product, each price a Stripe Price (prices are immutable on both sides; a
//! removed price is deactivated in Stripe). Idempotent: Stripe ids are stored
//! and creation uses idempotency keys derived from our ids, so a retry after a
//! crash between "created in Stripe" and "id stored" returns the same object.

use crate::backend::services::billing::{stripe_err, Billing};
use crate::domain::catalogue::PriceKind;
use super::checkout::Buyer;
use crate::error::AppError;
use crate::backend::db;
use crate::backend::db::Db;
use std::collections::HashMap;
use std::str::FromStr;
use stripe::{IdempotencyKey, RequestStrategy, StripeError, StripeRequest};
use stripe_product::price::{CreatePrice, CreatePriceRecurring, CreatePriceRecurringInterval, UpdatePrice};
use stripe_product::product::{CreateProduct, UpdateProduct};

/// The idempotency key of creating our object `id` of `kind` in Stripe; a
/// re-creation (Stripe lost the first) gets a fresh one, or Stripe would
/// answer the lost object again.
fn key(kind: &str, id: i64, again: bool) -> Result<RequestStrategy, AppError> {
    let suffix = if again { format!("-{}", chrono::Utc::now().timestamp_micros()) } else { String::new() };
    IdempotencyKey::new(format!("portcullis-{kind}-{id}{suffix}"))
        .map(RequestStrategy::Idempotent)
        .map_err(|e| crate::backend::web::request::internal(format!("idempotency key: {e}")))
}

/// Creates or updates the Stripe Product and Prices of `product_id`; answers
/// our price id → Stripe price id for every active price sold online.
pub async fn sync_product(billing: &Billing, db: &Db, product_id: i64) -> Result<HashMap<i64, String>, AppError> {
    let product = db::products::find(db, product_id).await?.ok_or(AppError::NotFound)?;
    let published = product.status == crate::domain::catalogue::ProductStatus::Published;
    let metadata = HashMap::from([("portcullis_product_id".to_owned(), product.id.to_string())]);
    let stored = db::orders::product_stripe_id(db, product_id).await?;
    let mut known = None;
    if let Some(id) = &stored {
        let mut req = UpdateProduct::new(id.as_str()).name(product.name.clone()).active(published);
        if !product.description.trim().is_empty() {
            req = req.description(summary(&product.description));
        }
        match req.send(&billing.client).await {
            Ok(_) => known = Some(id.clone()),
            // Another Stripe account or mode (test → live), or deleted there:
            // make it again, with its prices.
            Err(e) if missing(&e, None) => tracing::warn!(product_id, stripe_id = %id, "Stripe no longer has this product: creating it again"),
            Err(e) => return Err(stripe_err(e)),
        }
    }
    let remade = stored.is_some() && known.is_none();
    let stripe_product = match known {
        Some(id) => id,
        None => {
            let mut req = CreateProduct::new(product.name.clone()).active(published).metadata(metadata);
            if !product.description.trim().is_empty() {
                req = req.description(summary(&product.description));
            }
            let created = req.customize().request_strategy(key("product", product.id, remade)?).send(&billing.client).await.map_err(stripe_err)?;
            let id = created.id.as_str().to_owned();
            db::orders::set_stripe_product_id(db, product.id, &id).await?;
            id
        }
    };
    let mut ids = HashMap::new();
    for price in db::orders::prices_for_sync(db, product_id).await? {
        let interval = match PriceKind::from_parts(&price.kind, price.duration) {
            Ok(PriceKind::Monthly) => Some(CreatePriceRecurringInterval::Month),
            Ok(PriceKind::Yearly) => Some(CreatePriceRecurringInterval::Year),
            Ok(PriceKind::OneTime { .. }) => None,
            _ => continue, // trials are granted, not sold
        };
        // A product made again gets its prices made again too.
        let stored_price = price.stripe_price_id.clone().filter(|_| !remade);
        match (&stored_price, price.active) {
            (Some(id), true) => {
                ids.insert(price.id, id.clone());
            }
            (Some(id), false) => {
                match UpdatePrice::new(id.as_str()).active(false).send(&billing.client).await {
                    Err(e) if !missing(&e, None) => return Err(stripe_err(e)),
                    _ => {} // deactivated, or Stripe has no such price at all
                }
            }
            (None, true) => {
                let currency = stripe_types::Currency::from_str(&price.currency.to_lowercase())
                    .map_err(|_| AppError::invalid("currency", format!("Stripe does not take {}", price.currency)))?;
                let mut req = CreatePrice::new(currency)
                    .product(stripe_product.clone())
                    .unit_amount(price.amount_cents)
                    .metadata(HashMap::from([("portcullis_price_id".to_owned(), price.id.to_string())]));
                if let Some(interval) = interval {
                    req = req.recurring(CreatePriceRecurring::new(interval));
                }
                let created = req.customize().request_strategy(key("price", price.id, remade)?).send(&billing.client).await.map_err(stripe_err)?;
                let id = created.id.as_str().to_owned();
                db::orders::set_stripe_price_id(db, price.id, &id).await?;
                ids.insert(price.id, id);
            }
            (None, false) => {}
        }
    }
    Ok(ids)
}

/// Stripe answered that an object we named does not exist (`resource_missing`,
/// about `param` when given).
pub fn missing(e: &StripeError, param: Option<&str>) -> bool {
    match e {
        StripeError::Stripe(err, _) => {
            err.code.as_ref().is_some_and(|c| c.as_str() == "resource_missing")
                && param.is_none_or(|p| err.param.as_deref() == Some(p))
        }
        _ => false,
    }
}

/// The first paragraph of the Markdown description, as Stripe shows it on
/// the checkout page (at most 500 characters).
fn summary(description: &str) -> String {
    let first = description.split("\n\n").find(|p| !p.trim().is_empty()).unwrap_or_default();
    first.trim().chars().take(500).collect()
}

/// The customer's Stripe customer, created at their first purchase and
/// reused for every later one.
pub async fn stripe_customer(billing: &Billing, db: &Db, me: &Buyer<'_>) -> Result<String, AppError> {
    if let Some(id) = db::orders::stripe_customer_id(db, me.org).await? {
        return Ok(id);
    }
    create_customer(billing, db, me, false).await
}

/// Stripe lost the customer we stored (deleted there, or another account or
/// mode): make a new one in its place.
pub async fn replace_customer(billing: &Billing, db: &Db, me: &Buyer<'_>, lost: &str) -> Result<String, AppError> {
    tracing::warn!(organisation_id = me.org, stripe_id = %lost, "Stripe no longer has this customer: creating it again");
    db::orders::forget_stripe_customer_id(db, me.org, lost).await?;
    create_customer(billing, db, me, true).await
}

async fn create_customer(billing: &Billing, db: &Db, me: &Buyer<'_>, again: bool) -> Result<String, AppError> {
    let created = stripe_core::customer::CreateCustomer::new()
        .email(me.user.email.clone())
        .metadata(HashMap::from([
            ("portcullis_user_id".to_owned(), me.user.id.to_string()),
            ("portcullis_organisation_id".to_owned(), me.org.to_string()),
        ]))
        .customize()
        .request_strategy(key("customer", me.org, again)?)
        .send(&billing.client)
        .await
        .map_err(stripe_err)?;
    Ok(db::orders::set_stripe_customer_id(db, me.org, created.id.as_str()).await?)
}
