//! The customer's side: start a Checkout Session, watch it become access,
//! list orders, open Stripe's customer portal.

use crate::backend::services::billing::{stripe_err, sync, Billing};
use crate::views::SessionUser;

/// Who buys: a member whose role may (`Capability::Billing`), for their
/// organisation, which the order, the entitlement and the Stripe customer
/// belong to.
pub struct Buyer<'a> {
    pub user: &'a SessionUser,
    pub org: i64,
}
use crate::domain::catalogue::{PriceKind, ProductStatus};
use crate::domain::order::{OrderMode, OrderStatus};
use crate::error::AppError;
use crate::backend::services::audit;
use crate::backend::services::audit::{AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::orders::OrderRow;
use crate::backend::db::Db;
use crate::backend::web::{AppState, RequestMeta};
use crate::views::{CheckoutStatusView, OrderView};
use crate::domain::time::rfc3339;
use chrono::Utc;
use serde_json::json;
use std::collections::HashMap;
use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionPaymentIntentData,
    CreateCheckoutSessionSubscriptionData,
};
use stripe_shared::CheckoutSessionMode;

fn billing(state: &AppState) -> Result<&Billing, AppError> {
    state
        .billing
        .as_deref()
        .ok_or_else(|| AppError::invalid("billing", "online payment is not set up on this portal: ask the vendor for access"))
}

/// Creates a Checkout Session for `price_id` and answers the URL of Stripe's
/// page. Nothing is granted here: the order waits for the webhook.
/// Steps: `sellable` (what is bought, and may it be), a second click going
/// back to the open session, `create_session` at Stripe, `record_order`.
pub async fn start_checkout(state: &AppState, me: &Buyer<'_>, price_id: i64, meta: &RequestMeta) -> Result<String, AppError> {
    let billing = billing(state)?;
    let db = &state.db;
    let sale = sellable(db, me, price_id).await?;
    // A second click (or tab) goes back to the page already prepared.
    if let Some(url) = open_session_url(billing, db, me.org, sale.price.id).await {
        return Ok(url);
    }
    let session = create_session(billing, db, me, &sale).await?;
    let url = session.url.clone().ok_or_else(|| AppError::internal("Stripe answered a session without a URL"))?;
    record_order(db, me, &sale, session.id.as_str(), meta).await?;
    Ok(url)
}

/// A price being bought, with its product and how it sells.
struct Sale {
    price: db::products::PriceRow,
    product: db::products::ProductRow,
    mode: OrderMode,
}

/// The price, if it is on sale (active, of a published product, not a
/// trial) and the customer does not subscribe to the product already.
async fn sellable(db: &Db, me: &Buyer<'_>, price_id: i64) -> Result<Sale, AppError> {
    let price = db::products::price(db, price_id).await?.ok_or_else(|| AppError::invalid("price_id", "no such price"))?;
    let product = db::products::find(db, price.product_id).await?.filter(|p| p.status == ProductStatus::Published);
    let Some(product) = product.filter(|_| price.active) else {
        return Err(AppError::invalid("price_id", "this price is no longer offered"));
    };
    let mode = match PriceKind::from_parts(&price.kind, price.duration).map_err(AppError::internal)? {
        PriceKind::Monthly | PriceKind::Yearly => OrderMode::Subscription,
        PriceKind::OneTime { .. } => OrderMode::Payment,
        PriceKind::Trial { .. } => return Err(AppError::invalid("price_id", "trials are granted by the vendor, not bought")),
    };
    if mode == OrderMode::Subscription && db::orders::has_live_subscription(db, me.org, product.id).await? {
        return Err(AppError::conflict(
            "price_id",
            format!("you already subscribe to {}: change or cancel it under Orders → Manage billing", product.name),
        ));
    }
    Ok(Sale { price, product, mode })
}

/// The Checkout Session at Stripe (product and price synced first; a
/// customer Stripe lost is made again).
async fn create_session(billing: &Billing, db: &Db, me: &Buyer<'_>, sale: &Sale) -> Result<stripe_shared::CheckoutSession, AppError> {
    let Sale { price, product, mode } = sale;
    let stripe_prices = sync::sync_product(billing, db, product.id).await?;
    let stripe_price =
        stripe_prices.get(&price.id).ok_or_else(|| AppError::internal(format!("price {} has no Stripe price after sync", price.id)))?;
    let mut customer = sync::stripe_customer(billing, db, me).await?;

    let metadata = HashMap::from([
        ("portcullis_user_id".to_owned(), me.user.id.to_string()),
        ("portcullis_organisation_id".to_owned(), me.org.to_string()),
        ("portcullis_product_id".to_owned(), product.id.to_string()),
        ("portcullis_price_id".to_owned(), price.id.to_string()),
    ]);
    let base = billing.settings.public_base.as_str().trim_end_matches('/');
    let mut line = CreateCheckoutSessionLineItems::new();
    line.price = Some(stripe_price.clone());
    line.quantity = Some(1);
    let stripe_mode = match mode {
        OrderMode::Subscription => CheckoutSessionMode::Subscription,
        OrderMode::Payment => CheckoutSessionMode::Payment,
    };
    let mut req = CreateCheckoutSession::new()
        .mode(stripe_mode)
        .client_reference_id(me.org.to_string())
        .line_items(vec![line])
        .metadata(metadata.clone())
        .success_url(format!("{base}/checkout/success?session_id={{CHECKOUT_SESSION_ID}}"))
        .cancel_url(format!("{base}/catalogue/{}", product.slug));
    match mode {
        OrderMode::Subscription => {
            let mut data = CreateCheckoutSessionSubscriptionData::new();
            data.metadata = Some(metadata);
            req = req.subscription_data(data);
        }
        OrderMode::Payment => {
            let mut data = CreateCheckoutSessionPaymentIntentData::new();
            data.metadata = Some(metadata);
            req = req.payment_intent_data(data);
        }
    }
    Ok(match req.clone().customer(customer.clone()).send(&billing.client).await {
        Err(e) if sync::missing(&e, Some("customer")) => {
            customer = sync::replace_customer(billing, db, me, &customer).await?;
            req.customer(customer).send(&billing.client).await.map_err(stripe_err)?
        }
        other => other.map_err(stripe_err)?,
    })
}

/// The pending order of a session, audited (`billing.checkout`); the
/// webhook may have made it first.
async fn record_order(db: &Db, me: &Buyer<'_>, sale: &Sale, session_id: &str, meta: &RequestMeta) -> Result<(), AppError> {
    let Sale { price, product, mode } = sale;
    let mut tx = db.begin().await?;
    let order_id = db::orders::insert(
        &mut tx,
        &db::orders::NewOrder {
            customer_id: me.org,
            product_id: product.id,
            price_id: price.id,
            mode: *mode,
            amount_cents: price.amount_cents,
            currency: &price.currency,
            checkout_session_id: session_id,
        },
        Utc::now(),
    )
    .await?;
    let order_id = match order_id {
        Some(id) => id,
        None => db::orders::find_by_session(db, session_id).await?.map_or(0, |o| o.id),
    };
    audit::record(
        &mut tx,
        &AuditEvent::new(me.user.actor(), "billing.checkout", Outcome::Success)
            .target("order", order_id)
            .subject(me.user.id)
            .organisation(me.org)
            .meta(meta)
            .details(json!({
                "product_id": product.id,
                "price_id": price.id,
                "checkout_session": session_id,
                "amount_cents": price.amount_cents,
                "currency": price.currency,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The URL of an unpaid session of this price the customer opened in the
/// last 23 hours (sessions live 24), if Stripe still has it open.
async fn open_session_url(billing: &Billing, db: &Db, customer_id: i64, price_id: i64) -> Option<String> {
    let since = Utc::now() - chrono::Duration::hours(23);
    let id = db::orders::open_checkout(db, customer_id, price_id, since).await.ok()??;
    let session = stripe_checkout::checkout_session::RetrieveCheckoutSession::new(id.as_str()).send(&billing.client).await.ok()?;
    let open = session.status == Some(stripe_shared::CheckoutSessionStatus::Open);
    open.then_some(session.url).flatten()
}

/// Where the success page stands: `Pending` until the webhook has granted.
pub async fn checkout_status(db: &Db, customer_id: i64, session_id: &str) -> Result<CheckoutStatusView, AppError> {
    let order = db::orders::find_by_session(db, session_id).await?.filter(|o| o.customer_id == customer_id);
    let Some(order) = order else {
        return Err(AppError::NotFound);
    };
    use OrderStatus::*;
    Ok(match order.status {
        Active | Paid | PastDue if order.entitlement_id.is_some() => {
            CheckoutStatusView::Active { product_name: order.product_name, product_slug: order.product_slug }
        }
        Pending | Active | Paid | PastDue => CheckoutStatusView::Pending,
        Refunded => CheckoutStatusView::Failed { message: "this payment was refunded".into() },
        Expired => CheckoutStatusView::Failed { message: "this checkout expired before payment: start again".into() },
        Incomplete => CheckoutStatusView::Failed { message: "the payment did not go through: try another card".into() },
        other => CheckoutStatusView::Failed { message: format!("the subscription is {}", other.as_str().replace('_', " ")) },
    })
}

pub fn order_view(o: OrderRow) -> OrderView {
    let interval = match PriceKind::from_parts(&o.price_kind, o.price_duration) {
        Ok(PriceKind::Monthly) => Some("month".to_owned()),
        Ok(PriceKind::Yearly) => Some("year".to_owned()),
        _ => None,
    };
    let renews = o.mode == OrderMode::Subscription && o.status.renews() && !o.cancel_at_period_end;
    OrderView {
        id: o.id,
        product_id: o.product_id,
        product_name: o.product_name,
        product_slug: o.product_slug,
        mode: o.mode,
        status: o.status,
        amount_cents: o.amount_cents,
        currency: o.currency,
        interval,
        created_at: rfc3339(o.created_at),
        next_renewal: if renews { o.current_period_end.map(rfc3339) } else { None },
        access_until: o.entitlement_ends_at.map(rfc3339),
        entitlement_id: o.entitlement_id,
        payment_issue: o.payment_issue,
    }
}

/// A customer's orders, newest first (their own page and the admin's).
pub async fn list_orders(db: &Db, customer_id: i64) -> Result<Vec<OrderView>, AppError> {
    Ok(db::orders::list_for_customer(db, customer_id).await?.into_iter().map(order_view).collect())
}

/// A Stripe customer portal session for the customer (invoices, cards,
/// cancellation); answers its URL.
pub async fn portal_url(state: &AppState, customer_id: i64) -> Result<String, AppError> {
    let billing = billing(state)?;
    let Some(customer) = db::orders::stripe_customer_id(&state.db, customer_id).await? else {
        return Err(AppError::invalid("billing", "nothing to manage yet: you have not bought anything online"));
    };
    let base = billing.settings.public_base.as_str().trim_end_matches('/');
    let session = stripe_billing::billing_portal_session::CreateBillingPortalSession::new()
        .customer(customer)
        .return_url(format!("{base}/account/orders"))
        .send(&billing.client)
        .await
        .map_err(stripe_err)?;
    Ok(session.url)
}
