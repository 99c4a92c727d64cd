//! `orders` (one per Checkout Session), `stripe_events` (webhook
//! idempotency) and the Stripe ids kept on users, products and prices.

use crate::backend::db::{Db, Tx};
use crate::domain::order::{OrderMode, OrderStatus, PaymentIssue, ReconcileCause};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct OrderRow {
    pub id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub price_id: i64,
    pub mode: OrderMode,
    pub status: OrderStatus,
    pub amount_cents: i64,
    pub currency: String,
    pub stripe_checkout_session_id: String,
    pub stripe_subscription_id: Option<String>,
    pub stripe_payment_intent_id: Option<String>,
    pub entitlement_id: Option<i64>,
    pub current_period_end: Option<DateTime<Utc>>,
    pub past_due_since: Option<DateTime<Utc>>,
    pub cancel_at_period_end: bool,
    pub stripe_state_at: Option<DateTime<Utc>>,
    pub payment_issue: Option<PaymentIssue>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Joined for display.
    pub product_name: String,
    pub product_slug: String,
    pub price_kind: String,
    pub price_duration: Option<i64>,
    pub entitlement_ends_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT o.id, o.customer_id, o.product_id, o.price_id, o.mode, o.status, o.amount_cents, \
    o.currency, o.stripe_checkout_session_id, o.stripe_subscription_id, o.stripe_payment_intent_id, \
    o.entitlement_id, o.current_period_end, o.past_due_since, o.cancel_at_period_end, o.stripe_state_at, \
    o.payment_issue, o.created_at, o.updated_at, p.name AS product_name, p.slug AS product_slug, pr.kind AS price_kind, \
    pr.duration AS price_duration, e.ends_at AS entitlement_ends_at \
    FROM orders o JOIN products p ON p.id = o.product_id JOIN prices pr ON pr.id = o.price_id \
    LEFT JOIN entitlements e ON e.id = o.entitlement_id";

pub struct NewOrder<'a> {
    pub customer_id: i64,
    pub product_id: i64,
    pub price_id: i64,
    pub mode: OrderMode,
    pub amount_cents: i64,
    pub currency: &'a str,
    pub checkout_session_id: &'a str,
}

/// `None` when the session already has its order (the webhook came first).
pub async fn insert(tx: &mut Tx, o: &NewOrder<'_>, now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    let sql = "INSERT INTO orders (customer_id, product_id, price_id, mode, status, amount_cents, currency, \
               stripe_checkout_session_id, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, 'pending', $5, $6, $7, $8, $8) \
               ON CONFLICT (stripe_checkout_session_id) DO NOTHING RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(o.customer_id)
        .bind(o.product_id)
        .bind(o.price_id)
        .bind(o.mode)
        .bind(o.amount_cents)
        .bind(o.currency)
        .bind(o.checkout_session_id)
        .bind(now)
        .fetch_optional(conn)
        .await)
}

pub async fn event_seen(db: &Db, id: &str) -> Result<bool, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM stripe_events WHERE id = $1";
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(sql).bind(id).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// Is there an order for this subscription or payment intent?
pub async fn exists_for(db: &Db, key: Key<'_>) -> Result<bool, sqlx::Error> {
    let (column, value) = key.column();
    let sql = format!("SELECT COUNT(*) FROM orders o WHERE {column} = $1");
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(&sql).bind(value).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// The newest checkout of this price the customer started after `since` and
/// has not paid (to send a second click to the same Stripe page).
pub async fn open_checkout(db: &Db, customer_id: i64, price_id: i64, since: DateTime<Utc>) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT stripe_checkout_session_id FROM orders WHERE customer_id = $1 AND price_id = $2 \
               AND status = 'pending' AND created_at > $3 ORDER BY id DESC LIMIT 1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(customer_id).bind(price_id).bind(since).fetch_optional(pool).await)
}

pub async fn stripe_customer_in(tx: &mut Tx, org: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT stripe_customer_id FROM organisations WHERE id = $1";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(org).fetch_optional(conn).await).map(Option::flatten)
}

/// A subscription still running (renewing, or waiting on a payment or a
/// pause): the customer is not offered another to the same product.
const LIVE_SUBSCRIPTION: &str = "mode = 'subscription' AND status IN ('active', 'past_due', 'unpaid', 'paused')";

/// Does the customer already have a running subscription to the product?
pub async fn has_live_subscription(db: &Db, customer_id: i64, product_id: i64) -> Result<bool, sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND product_id = $2 AND {LIVE_SUBSCRIPTION}");
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(&sql).bind(customer_id).bind(product_id).fetch_one(pool).await)?;
    Ok(n > 0)
}

/// The products the customer has a running subscription to (one query for
/// a whole catalogue).
pub async fn live_subscription_products(db: &Db, customer_id: i64) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!("SELECT DISTINCT product_id FROM orders WHERE customer_id = $1 AND {LIVE_SUBSCRIPTION}");
    on_db!(db, |pool| sqlx::query_scalar(&sql).bind(customer_id).fetch_all(pool).await)
}

/// The customer's orders, newest first.
pub async fn list_for_customer(db: &Db, customer_id: i64) -> Result<Vec<OrderRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE o.customer_id = $1 ORDER BY o.id DESC LIMIT 500");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(customer_id).fetch_all(pool).await)
}

pub async fn find_by_session(db: &Db, session_id: &str) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE o.stripe_checkout_session_id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(session_id).fetch_optional(pool).await)
}

/// Which column identifies the order a Stripe object belongs to.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    Session(&'a str),
    Subscription(&'a str),
    PaymentIntent(&'a str),
}

impl<'a> Key<'a> {
    /// The column (of `orders o`) and the value to match.
    fn column(self) -> (&'static str, &'a str) {
        match self {
            Key::Session(s) => ("o.stripe_checkout_session_id", s),
            Key::Subscription(s) => ("o.stripe_subscription_id", s),
            Key::PaymentIntent(s) => ("o.stripe_payment_intent_id", s),
        }
    }
}

/// Reads the order inside the transaction that will change it.
pub async fn find_in(tx: &mut Tx, key: Key<'_>) -> Result<Option<OrderRow>, sqlx::Error> {
    let (column, value) = key.column();
    let sql = format!("{SELECT} WHERE {column} = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(value).fetch_optional(conn).await)
}

/// Writes the Stripe-derived state of an order (and what it sells: a
/// subscription can move to another price, even of another product).
pub async fn update(tx: &mut Tx, o: &OrderRow, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE orders SET status = $1, stripe_subscription_id = $2, stripe_payment_intent_id = $3, \
               entitlement_id = $4, current_period_end = $5, past_due_since = $6, cancel_at_period_end = $7, \
               stripe_state_at = $8, updated_at = $9, payment_issue = $10, product_id = $11, price_id = $12, \
               amount_cents = $13, currency = $14 WHERE id = $15";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(&o.status)
        .bind(&o.stripe_subscription_id)
        .bind(&o.stripe_payment_intent_id)
        .bind(o.entitlement_id)
        .bind(o.current_period_end)
        .bind(o.past_due_since)
        .bind(o.cancel_at_period_end)
        .bind(o.stripe_state_at)
        .bind(now)
        .bind(o.payment_issue)
        .bind(o.product_id)
        .bind(o.price_id)
        .bind(o.amount_cents)
        .bind(&o.currency)
        .bind(o.id)
        .execute(conn)
        .await
        .map(|_| ()))
}

/// The orders a reconciliation re-reads: every order still waiting for
/// payment or giving access (pending, live subscriptions, open disputes,
/// paid purchases whose access has not ended or ended after
/// `purchases_ended_after`: a dispute can come months after a payment),
/// and with `since` also every order made or changed since then, whatever
/// its state. Oldest first, at most `limit`.
pub async fn to_reconcile(
    db: &Db,
    since: Option<DateTime<Utc>>,
    purchases_ended_after: DateTime<Utc>,
    after_id: i64,
    limit: i64,
) -> Result<Vec<OrderRow>, sqlx::Error> {
    let sql = format!(
        "{SELECT} WHERE o.id > $1 AND (o.status IN ('pending', 'active', 'past_due', 'unpaid', 'paused') \
         OR (o.status = 'paid' AND (e.ends_at IS NULL OR e.ends_at > $4)) \
         OR o.payment_issue = 'disputed' OR ($2 IS NOT NULL AND (o.created_at >= $2 OR o.updated_at >= $2))) \
         ORDER BY o.id LIMIT $3"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(after_id).bind(since).bind(limit).bind(purchases_ended_after).fetch_all(pool).await)
}

/// Reads one order inside the transaction that will change it.
pub async fn by_id_in(tx: &mut Tx, id: i64) -> Result<Option<OrderRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE o.id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

/// One run of the reconciliation with Stripe.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ReconcileRow {
    pub id: i64,
    pub cause: ReconcileCause,
    pub since: Option<DateTime<Utc>>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub checked: i64,
    pub repaired: i64,
    pub failed: i64,
    pub error: Option<String>,
}

pub async fn start_reconcile(db: &Db, cause: ReconcileCause, since: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO billing_reconciliations (cause, since, started_at) VALUES ($1, $2, $3) RETURNING id";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(cause).bind(since).bind(now).fetch_one(pool).await)
}

pub async fn finish_reconcile(db: &Db, run: &ReconcileRow) -> Result<(), sqlx::Error> {
    let sql = "UPDATE billing_reconciliations SET finished_at = $1, checked = $2, repaired = $3, failed = $4, error = $5 \
               WHERE id = $6";
    on_db!(db, |pool| sqlx::query(sql)
        .bind(run.finished_at)
        .bind(run.checked)
        .bind(run.repaired)
        .bind(run.failed)
        .bind(&run.error)
        .bind(run.id)
        .execute(pool)
        .await
        .map(|_| ()))
}

/// The newest run (finished or not), and the newest that finished without
/// an error.
pub async fn last_reconcile(db: &Db, finished_cleanly: bool) -> Result<Option<ReconcileRow>, sqlx::Error> {
    let filter = if finished_cleanly { "WHERE finished_at IS NOT NULL AND error IS NULL" } else { "" };
    let sql = format!(
        "SELECT id, cause, since, started_at, finished_at, checked, repaired, failed, error \
         FROM billing_reconciliations {filter} ORDER BY id DESC LIMIT 1"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).fetch_optional(pool).await)
}

/// Serialises webhook transactions: on PostgreSQL a transaction-scoped
/// advisory lock (taken first, held to commit), so two deliveries about one
/// order never both see "no entitlement yet" or apply an older read last; on
/// SQLite every write transaction already holds the write lock (BEGIN IMMEDIATE).
pub async fn lock_billing(tx: &mut Tx) -> Result<(), sqlx::Error> {
    match tx {
        Tx::Sqlite(_) => Ok(()),
        Tx::Postgres(t) => sqlx::query("SELECT pg_advisory_xact_lock(5005120400)").execute(&mut **t).await.map(|_| ()),
    }
}

/// Records a webhook event as processed; `false` if it already was (the
/// caller then changes nothing). Runs in the transaction of the changes, so
/// a crash before commit leaves the event unrecorded and Stripe's retry redoes it.
pub async fn claim_event(tx: &mut Tx, id: &str, kind: &str, created: DateTime<Utc>, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "INSERT INTO stripe_events (id, type, created, received_at) VALUES ($1, $2, $3, $4) \
               ON CONFLICT (id) DO NOTHING";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(id)
        .bind(kind)
        .bind(created)
        .bind(now)
        .execute(conn)
        .await
        .map(|done| done.rows_affected() == 1))
}

pub async fn stripe_customer_id(db: &Db, org: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT stripe_customer_id FROM organisations WHERE id = $1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(org).fetch_optional(pool).await).map(Option::flatten)
}

/// Stores the organisation's Stripe id unless one is already stored; answers the
/// id that is stored afterwards (so two racing checkouts agree on one).
pub async fn set_stripe_customer_id(db: &Db, org: i64, stripe_id: &str) -> Result<String, sqlx::Error> {
    let sql = "UPDATE organisations SET stripe_customer_id = $1 WHERE id = $2 AND stripe_customer_id IS NULL";
    on_db!(db, |pool| sqlx::query(sql).bind(stripe_id).bind(org).execute(pool).await.map(|_| ()))?;
    Ok(stripe_customer_id(db, org).await?.unwrap_or_else(|| stripe_id.to_owned()))
}

/// Forgets a Stripe customer id Stripe no longer knows (only if it is still
/// the stored one).
pub async fn forget_stripe_customer_id(db: &Db, org: i64, lost: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE organisations SET stripe_customer_id = NULL WHERE id = $1 AND stripe_customer_id = $2";
    on_db!(db, |pool| sqlx::query(sql).bind(org).bind(lost).execute(pool).await.map(|_| ()))
}

pub async fn set_stripe_product_id(db: &Db, product_id: i64, stripe_id: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE products SET stripe_product_id = $1 WHERE id = $2";
    on_db!(db, |pool| sqlx::query(sql).bind(stripe_id).bind(product_id).execute(pool).await.map(|_| ()))
}

pub async fn set_stripe_price_id(db: &Db, price_id: i64, stripe_id: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE prices SET stripe_price_id = $1 WHERE id = $2";
    on_db!(db, |pool| sqlx::query(sql).bind(stripe_id).bind(price_id).execute(pool).await.map(|_| ()))
}

/// The Stripe ids of a product and of each of its prices (active or not).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PriceSync {
    pub id: i64,
    pub kind: String,
    pub duration: Option<i64>,
    pub amount_cents: i64,
    pub currency: String,
    pub active: bool,
    pub stripe_price_id: Option<String>,
}

pub async fn product_stripe_id(db: &Db, product_id: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT stripe_product_id FROM products WHERE id = $1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(product_id).fetch_optional(pool).await).map(Option::flatten)
}

pub async fn prices_for_sync(db: &Db, product_id: i64) -> Result<Vec<PriceSync>, sqlx::Error> {
    let sql = "SELECT id, kind, duration, amount_cents, currency, active, stripe_price_id FROM prices \
               WHERE product_id = $1 ORDER BY id";
    on_db!(db, |pool| sqlx::query_as(sql).bind(product_id).fetch_all(pool).await)
}

pub async fn price_stripe_id(db: &Db, price_id: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT stripe_price_id FROM prices WHERE id = $1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(price_id).fetch_optional(pool).await).map(Option::flatten)
}

/// Webhook events processed since `since`, and when the newest arrived.
pub async fn events_since(db: &Db, since: DateTime<Utc>) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let count = "SELECT COUNT(*) FROM stripe_events WHERE received_at > $1";
    let n: i64 = on_db!(db, |pool| sqlx::query_scalar(count).bind(since).fetch_one(pool).await)?;
    let newest = "SELECT received_at FROM stripe_events ORDER BY received_at DESC LIMIT 1";
    let last: Option<DateTime<Utc>> = on_db!(db, |pool| sqlx::query_scalar(newest).fetch_optional(pool).await)?;
    Ok((n, last))
}

/// Webhook deliveries refused since `since` (audited as denied: one row
/// each when signed, else rows counting several, `details.count`).
pub async fn refused_since(db: &Db, since: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "SELECT CAST(COALESCE(SUM(COALESCE(CAST(details->>'count' AS BIGINT), 1)), 0) AS BIGINT) \
               FROM audit_events WHERE action = 'billing.webhook' AND outcome = 'denied' AND occurred_at > $1";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(since).fetch_one(pool).await)
}

/// Published products with an active price sold online (not a trial) but no
/// Stripe Product, or with such a price that has no Stripe Price.
pub async fn unsynced_products(db: &Db) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(DISTINCT p.id) FROM products p JOIN prices pr ON pr.product_id = p.id \
               WHERE p.status = 'published' AND pr.active AND pr.kind <> 'trial' \
               AND (p.stripe_product_id IS NULL OR pr.stripe_price_id IS NULL)";
    on_db!(db, |pool| sqlx::query_scalar(sql).fetch_one(pool).await)
}
