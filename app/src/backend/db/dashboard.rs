//! What the admin dashboard counts: live entitlement windows, orders that
//! bring revenue, failing renewals, access that ends. The rules that turn
//! these rows into numbers live in `services::dashboard`.

use crate::backend::db::Db;
use crate::domain::access::EntitlementStatus;
use crate::domain::order::{OrderMode, OrderStatus};
use crate::on_db;
use chrono::{DateTime, Utc};

/// An active entitlement's window, with its owner.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LiveWindow {
    pub customer_id: i64,
    pub status: EntitlementStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub suspended_reason: Option<String>,
}

pub async fn live_windows(db: &Db) -> Result<Vec<LiveWindow>, sqlx::Error> {
    let sql = "SELECT customer_id, status, starts_at, ends_at, grace_until, suspended_reason FROM entitlements WHERE status = 'active'";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}

/// An order that is or was paid, with its price's kind.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PaidOrder {
    pub customer_id: i64,
    pub mode: OrderMode,
    pub status: OrderStatus,
    pub amount_cents: i64,
    pub currency: String,
    /// The price's kind and duration as stored (`PriceKind::from_parts`).
    pub price_kind: String,
    pub price_duration: Option<i64>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Orders live or paid (subscriptions active, past due or unpaid; one-time
/// purchases paid).
pub async fn paid_orders(db: &Db) -> Result<Vec<PaidOrder>, sqlx::Error> {
    let sql = "SELECT o.customer_id, o.mode, o.status, o.amount_cents, o.currency, p.kind AS price_kind, p.duration AS price_duration, o.current_period_end, \
               o.created_at, o.updated_at FROM orders o JOIN prices p ON p.id = o.price_id \
               WHERE o.status IN ('active', 'past_due', 'unpaid', 'paid')";
    on_db!(db, |pool| sqlx::query_as(sql).fetch_all(pool).await)
}
