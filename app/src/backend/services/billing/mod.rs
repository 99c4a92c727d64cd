//! Stripe billing: Checkout, the customer portal, orders, product and price
//! sync, and the webhook that turns Stripe's word into entitlements.
//!
//! Access is granted, extended, suspended and ended **only** by a verified
//! webhook (`webhook::handle`), never by the browser's return from Stripe.
//! Without Stripe configured (`AppState::billing` is `None`) the portal runs
//! as before: buy buttons say online payment is not set up.

pub mod checkout;
pub mod converge;
pub mod lifecycle;
pub mod read;
pub mod reconcile;
pub mod settings;
pub mod sync;
pub mod webhook;

pub use checkout::{checkout_status, list_orders, portal_url, start_checkout};
pub use settings::{parse_duration, Billing, BillingSettings};

use crate::error::AppError;

/// A failed Stripe call: logged in full under the request id; the user sees
/// the id (Stripe's own message can name internals).
pub(crate) fn stripe_err(e: stripe::StripeError) -> AppError {
    crate::backend::web::request::internal(format!("Stripe: {e}"))
}

/// Keeps Stripe's catalogue in step after an admin changed a product that
/// is published (or was, and so is known to Stripe); a failure is logged,
/// not returned (the change is saved, and checkout syncs again before it
/// sells).
pub async fn sync_after_change(state: &crate::backend::web::AppState, product_id: i64) {
    let Some(billing) = state.billing.as_deref() else { return };
    let published = matches!(crate::backend::db::products::find(&state.db, product_id).await, Ok(Some(p)) if p.status == crate::domain::catalogue::ProductStatus::Published);
    let known = matches!(crate::backend::db::orders::product_stripe_id(&state.db, product_id).await, Ok(Some(_)));
    if published || known {
        if let Err(e) = sync::sync_product(billing, &state.db, product_id).await {
            tracing::warn!(product_id, error = %e.for_log(), "Stripe product sync failed; checkout retries it");
        }
    }
}

/// Brings every published product Stripe lacks into Stripe (at start-up:
/// a catalogue made before Stripe was configured, or a sync that failed).
/// Failures are logged; checkout syncs again before it sells.
pub async fn sync_published(state: &crate::backend::web::AppState) {
    let Some(billing) = state.billing.as_deref() else { return };
    let products = match crate::backend::db::products::list(&state.db, Some("published")).await {
        Ok(p) => p,
        Err(e) => return tracing::warn!(error = %e, "Stripe sync at start-up: cannot list products"),
    };
    for p in products {
        if let Err(e) = sync::sync_product(billing, &state.db, p.id).await {
            tracing::warn!(product_id = p.id, error = %e.for_log(), "Stripe sync at start-up failed; checkout retries it");
        }
    }
}

/// Online payment at a glance (the admin dashboard): settings, webhook
/// traffic and refusals in the last 24 hours, products Stripe lacks.
pub async fn status(state: &crate::backend::web::AppState) -> Result<crate::views::BillingStatusView, AppError> {
    use crate::backend::db::orders;
    let since = chrono::Utc::now() - chrono::Duration::hours(24);
    let (events_24h, last) = orders::events_since(&state.db, since).await?;
    let mut view = crate::views::BillingStatusView {
        online_payment: false,
        grace: String::new(),
        end_access: None,
        events_24h,
        last_event_at: last.map(crate::domain::time::rfc3339),
        refused_24h: 0,
        unsynced_products: 0,
        last_reconcile: None,
    };
    if let Some(billing) = state.billing.as_deref() {
        view.online_payment = true;
        view.grace = settings::describe_duration(billing.settings.grace);
        view.end_access = Some(billing.settings.end_access);
        view.refused_24h = orders::refused_since(&state.db, since).await?;
        view.unsynced_products = orders::unsynced_products(&state.db).await?;
        view.last_reconcile = orders::last_reconcile(&state.db, false).await?.map(|r| crate::views::ReconcileView {
            started_at: crate::domain::time::rfc3339(r.started_at),
            finished_at: r.finished_at.map(crate::domain::time::rfc3339),
            cause: r.cause,
            checked: r.checked,
            repaired: r.repaired,
            failed: r.failed,
        });
    }
    Ok(view)
}
