//! Buying online through Stripe: whether it is set up, starting a Checkout
//! Session, watching it become access, the customer's orders and Stripe's
//! customer portal, and a customer's orders for admins and auditors. Access
//! itself is granted only by Stripe's webhook (`server::billing`), never by
//! these functions.

use crate::error::AppError;
use crate::views::{CheckoutStatusView, OrderView};
use leptos::prelude::*;

/// Whether online payment is configured (anyone: the catalogue is public).
/// (The view type is named in full: the macro makes a `BillingInfo` struct
/// for this function's arguments.)
#[server(prefix = "/fn", endpoint = "billing/info")]
pub async fn billing_info() -> Result<crate::views::BillingInfo, AppError> {
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(async { Ok(crate::views::BillingInfo { online_payment: state()?.billing.is_some() }) }.await)
}

/// Starts a Stripe Checkout for one of a published product's prices and
/// answers the URL of Stripe's payment page (customers only).
#[server(prefix = "/fn", endpoint = "my/start_checkout")]
pub async fn start_checkout(price_id: i64) -> Result<String, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::billing;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let (me, m) = require_member(crate::domain::organisation::Capability::Billing).await?;
            crate::backend::services::auth::require_confirmed(&me)?;
            let meta = RequestMeta::current().await;
            let buyer = billing::checkout::Buyer { user: &me, org: m.organisation_id };
            billing::start_checkout(&state()?, &buyer, price_id, &meta).await
        }
        .await,
    )
}

/// Where the customer's own checkout stands (another's session is 404).
#[server(prefix = "/fn", endpoint = "my/checkout_status")]
pub async fn checkout_status(session_id: String) -> Result<CheckoutStatusView, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::billing;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let (_, m) = require_member(crate::domain::organisation::Capability::Billing).await?;
            billing::checkout_status(&state()?.db, m.organisation_id, &session_id).await
        }
        .await,
    )
}

/// The organisation's orders, newest first (owners and billing members).
#[server(prefix = "/fn", endpoint = "my/orders")]
pub async fn my_orders() -> Result<Vec<OrderView>, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::billing;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let (_, m) = require_member(crate::domain::organisation::Capability::Billing).await?;
            billing::list_orders(&state()?.db, m.organisation_id).await
        }
        .await,
    )
}

/// A Stripe customer portal session (invoices, cards, cancellation) for the
/// logged-in customer; answers its URL.
#[server(prefix = "/fn", endpoint = "my/billing_portal")]
pub async fn billing_portal() -> Result<String, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::billing;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let (_, m) = require_member(crate::domain::organisation::Capability::Billing).await?;
            billing::portal_url(&state()?, m.organisation_id).await
        }
        .await,
    )
}

/// A customer's orders (admins and auditors). A staff account's id is 404,
/// as for every customer lookup.
#[server(prefix = "/fn", endpoint = "admin/customer_orders")]
pub async fn customer_orders(customer_id: i64) -> Result<Vec<OrderView>, AppError> {
    use crate::domain::Role;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{billing, customers};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let db = &state()?.db;
            customers::get(db, customer_id).await?;
            billing::list_orders(db, customer_id).await
        }
        .await,
    )
}

/// Online payment at a glance for the admin dashboard (auditors may read).
#[server(prefix = "/fn", endpoint = "admin/billing_status")]
pub async fn billing_status() -> Result<crate::views::BillingStatusView, AppError> {
    use crate::domain::Role;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::billing;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            billing::status(&state()?).await
        }
        .await,
    )
}
