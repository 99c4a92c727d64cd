//! Billing as pages and the REST API show it: orders, a checkout's state,
//! online payment's configuration and health, a reconciliation run.

use crate::domain::order::{EndAccess, OrderMode, OrderStatus};
use serde::{Deserialize, Serialize};

/// A purchase through Stripe Checkout, as the customer's orders page and the
/// admin customer page show it. Times are RFC 3339 (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub product_slug: String,
    /// `subscription` or `payment` (one-time).
    pub mode: OrderMode,
    /// `pending`, `active`, `past_due`, `unpaid`, `canceled`, `paused`,
    /// `paid`, `refunded`, `expired` (checkout abandoned) or `incomplete`.
    pub status: OrderStatus,
    pub amount_cents: i64,
    pub currency: String,
    /// `month` or `year` for subscriptions.
    pub interval: Option<String>,
    pub created_at: String,
    /// When the subscription renews next (active subscriptions only).
    pub next_renewal: Option<String>,
    /// The end of the access this order gives, if it has one.
    pub access_until: Option<String>,
    pub entitlement_id: Option<i64>,
    /// What is wrong with its latest payment (refunded, disputed, dispute lost).
    pub payment_issue: Option<crate::domain::order::PaymentIssue>,
}

/// What the checkout success page shows while it waits for Stripe's webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutStatusView {
    /// Stripe has not confirmed the payment yet.
    Pending,
    /// The webhook arrived and the entitlement is active.
    Active { product_name: String, product_slug: String },
    /// The payment did not go through (or was refunded).
    Failed { message: String },
}

/// Whether online payment (Stripe) is configured on this portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingInfo {
    pub online_payment: bool,
}

/// How online payment stands, for the admin dashboard: is Stripe set up,
/// with which lifecycle settings, and is its webhook arriving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingStatusView {
    pub online_payment: bool,
    /// "7 days", "20 seconds"… (empty when Stripe is off).
    pub grace: String,
    /// `period_end` or `immediately` (none when Stripe is off).
    pub end_access: Option<EndAccess>,
    /// Webhook events processed in the last 24 hours, and the newest one.
    pub events_24h: i64,
    pub last_event_at: Option<String>,
    /// Deliveries refused (bad signature, stale, unreadable) in the last 24 hours.
    pub refused_24h: i64,
    /// Published products with a price sold online that Stripe does not know yet.
    pub unsynced_products: i64,
    /// The newest reconciliation with Stripe, if any ran.
    pub last_reconcile: Option<ReconcileView>,
}

/// One run of the reconciliation that re-reads Stripe behind every live and
/// pending order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileView {
    pub started_at: String,
    /// None while it runs (or if its replica died mid-run).
    pub finished_at: Option<String>,
    pub cause: crate::domain::order::ReconcileCause,
    /// Orders re-read, orders changed by it, orders Stripe could not answer for.
    pub checked: i64,
    pub repaired: i64,
    pub failed: i64,
}
