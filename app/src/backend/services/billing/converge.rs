//! Bringing one order in line with what Stripe said (`read`), inside the
//! caller's transaction: the webhook's (with the event's id) and the
//! reconciliation's (one per order). A `Plan` is what to change, made from
//! reads taken before the transaction; `apply` carries it out, auditing
//! every change with its `Cause`.

use crate::backend::db;
use crate::backend::db::orders::{Key, OrderRow};
use crate::backend::db::{Db, Tx};
use crate::backend::services::audit;
use crate::backend::services::audit::{AuditEvent, Outcome};
use crate::backend::services::billing::lifecycle::{self, Cause, Desired, SubscriptionState};
use crate::backend::services::billing::read::{self, Snapshot};
use crate::backend::services::billing::webhook::Rejected;
use crate::backend::services::billing::Billing;
use crate::domain::access::{EntitlementSource, EntitlementStatus};
use crate::domain::order::{OrderMode, OrderStatus, PaymentIssue};
use chrono::{DateTime, Months, Utc};
use serde_json::json;
use stripe_shared::{CheckoutSession, CheckoutSessionPaymentStatus};

/// What to change, from what Stripe says now.
pub enum Plan {
    Nothing,
    /// A completed checkout: its subscription (read now), or a paid purchase
    /// made at `paid_at`.
    Session { session: Box<CheckoutSession>, snapshot: Option<Box<Snapshot>>, paid_at: DateTime<Utc> },
    /// A subscription's state (and the session that made it, if the order is
    /// not known yet).
    Subscription(Option<Box<CheckoutSession>>, Box<Snapshot>),
    /// A one-time purchase's payment: refunded, disputed or in order (as
    /// read at `read_at`).
    Payment { session: Option<Box<CheckoutSession>>, payment_intent: String, issue: Option<PaymentIssue>, read_at: DateTime<Utc> },
    /// A checkout that expired unpaid, or whose delayed payment failed.
    Abandoned(Box<CheckoutSession>, OrderStatus),
}

/// A subscription's state now, with the session that made it if its order
/// is not known yet.
pub async fn subscription_plan(billing: &Billing, db: &Db, id: &str) -> Result<Plan, Rejected> {
    let snapshot = read::subscription(billing, id).await?;
    Ok(Plan::Subscription(read::session_for(billing, db, Key::Subscription(id)).await?.map(Box::new), Box::new(snapshot)))
}

/// What a payment intent paid for, re-read: a one-time purchase of ours,
/// else the subscription whose invoice it paid (whose current period it may
/// have paid), else a purchase whose order we do not know yet.
pub async fn payment_plan(billing: &Billing, db: &Db, payment_intent: &str) -> Result<Plan, Rejected> {
    if !db::orders::exists_for(db, Key::PaymentIntent(payment_intent)).await? {
        if let Some(sub) = read::subscription_paid_by(billing, payment_intent).await? {
            return subscription_plan(billing, db, &sub).await;
        }
    }
    let session = read::session_for(billing, db, Key::PaymentIntent(payment_intent)).await?.map(Box::new);
    let issue = read::payment(billing, payment_intent).await?.issue;
    Ok(Plan::Payment { session, payment_intent: payment_intent.to_owned(), issue, read_at: Utc::now() })
}

fn ts(t: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(t, 0).unwrap_or_default()
}

/// Carries out a plan in the caller's transaction; `true` if it concerned
/// an order of ours.
pub async fn apply(tx: &mut Tx, billing: &Billing, plan: Plan, cause: &Cause<'_>) -> Result<bool, Rejected> {
    let found = match &plan {
        Plan::Nothing => None,
        Plan::Session { session, .. } => order_for(tx, Some(session)).await?,
        Plan::Subscription(session, snap) => find_or_make(tx, Key::Subscription(snap.sub.id.as_str()), session.as_deref()).await?,
        Plan::Payment { session, payment_intent, .. } => find_or_make(tx, Key::PaymentIntent(payment_intent), session.as_deref()).await?,
        Plan::Abandoned(session, _) => db::orders::find_in(tx, Key::Session(session.id.as_str())).await?,
    };
    let Some(before) = found else { return Ok(false) };
    let mut order = before.clone();
    match plan {
        Plan::Nothing => {}
        Plan::Session { session, snapshot, paid_at } => on_session(tx, &mut order, &session, snapshot.as_deref(), paid_at, billing, cause).await?,
        Plan::Subscription(_, snap) => on_subscription(tx, &mut order, &snap, billing, cause).await?,
        Plan::Payment { payment_intent, issue, read_at, .. } => {
            order.stripe_payment_intent_id.get_or_insert(payment_intent);
            on_payment(tx, &mut order, issue, read_at, cause).await?;
        }
        // Only an order still waiting for payment: a paid one keeps its state.
        Plan::Abandoned(_, status) if order.status == OrderStatus::Pending => order.status = status,
        Plan::Abandoned(..) => {}
    }
    save(tx, &before, &order, cause).await?;
    Ok(true)
}

/// Writes the order; a change of what a customer sees of it (its status,
/// product, or what is wrong with its payment) is audited `billing.order`.
async fn save(tx: &mut Tx, before: &OrderRow, after: &OrderRow, cause: &Cause<'_>) -> Result<(), Rejected> {
    let facts = |o: &OrderRow| (o.status, o.product_id, o.payment_issue);
    if facts(before) != facts(after) {
        let mut details = json!({
            "order_id": after.id,
            "before": { "status": before.status, "product_id": before.product_id, "payment_issue": before.payment_issue },
            "after": { "status": after.status, "product_id": after.product_id, "payment_issue": after.payment_issue },
        });
        if let Some(map) = details.as_object_mut() {
            cause.describe(map);
        }
        audit::record(
            tx,
            &AuditEvent::new(lifecycle::stripe_actor(), "billing.order", Outcome::Success)
                .target("order", after.id)
                .subject(after.customer_id)
                .meta(cause.meta)
                .details(details),
        )
        .await?;
        cause.changes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
    if before != after {
        db::orders::update(tx, after, Utc::now()).await?;
    }
    Ok(())
}

/// The order a subscription or payment intent belongs to, else its session's.
async fn find_or_make(tx: &mut Tx, key: Key<'_>, session: Option<&CheckoutSession>) -> Result<Option<OrderRow>, Rejected> {
    match db::orders::find_in(tx, key).await? {
        Some(order) => Ok(Some(order)),
        None => order_for(tx, session).await,
    }
}

/// The order of a Checkout Session: ours, or one made now from the session's
/// metadata (the webhook can beat the browser's own request).
async fn order_for(tx: &mut Tx, session: Option<&CheckoutSession>) -> Result<Option<OrderRow>, Rejected> {
    let Some(session) = session else { return Ok(None) };
    if let Some(order) = db::orders::find_in(tx, Key::Session(session.id.as_str())).await? {
        return Ok(Some(order));
    }
    let Some(md) = session.metadata.as_ref() else { return Ok(None) };
    let num = |k: &str| md.get(k).and_then(|v| v.parse::<i64>().ok());
    // The organisation; sessions from before organisations name the
    // customer's account, whose id is its organisation's.
    let customer = num("portcullis_organisation_id").or_else(|| num("portcullis_user_id"));
    let (Some(customer_id), Some(price_id)) = (customer, num("portcullis_price_id")) else {
        tracing::warn!(session = %session.id.as_str(), "a Checkout Session without Portcullis metadata: ignored");
        return Ok(None);
    };
    // Trust the metadata only as far as Stripe's own fields agree with it: the
    // session's customer is this account's Stripe customer and its reference
    // is this account (a Stripe account shared with another system stays out).
    let ours = db::orders::stripe_customer_in(tx, customer_id).await?;
    let theirs = session.customer.as_ref().map(|c| c.id().as_str().to_owned());
    if ours.is_none() || ours != theirs || session.client_reference_id.as_deref() != Some(customer_id.to_string().as_str()) {
        tracing::warn!(session = %session.id.as_str(), "a Checkout Session whose customer is not the account its metadata names: ignored");
        return Ok(None);
    }
    let Some(price) = db::products::price_in(tx, price_id).await? else { return Ok(None) };
    let mode = if session.subscription.is_some() { OrderMode::Subscription } else { OrderMode::Payment };
    db::orders::insert(
        tx,
        &db::orders::NewOrder {
            customer_id,
            product_id: price.product_id,
            price_id,
            mode,
            amount_cents: price.amount_cents,
            currency: &price.currency,
            checkout_session_id: session.id.as_str(),
        },
        Utc::now(),
    )
    .await?;
    Ok(db::orders::find_in(tx, Key::Session(session.id.as_str())).await?)
}

async fn on_session(
    tx: &mut Tx,
    order: &mut OrderRow,
    session: &CheckoutSession,
    snapshot: Option<&Snapshot>,
    paid_at: DateTime<Utc>,
    billing: &Billing,
    cause: &Cause<'_>,
) -> Result<(), Rejected> {
    if let Some(snap) = snapshot {
        return on_subscription(tx, order, snap, billing, cause).await;
    }
    let paid = session.payment_status == CheckoutSessionPaymentStatus::Paid;
    if let Some(pi) = &session.payment_intent {
        order.stripe_payment_intent_id = Some(pi.id().as_str().to_owned());
    }
    if !paid || order.status == OrderStatus::Refunded || order.entitlement_id.is_some() {
        return Ok(());
    }
    let months = u32::try_from(order.price_duration.unwrap_or(1)).unwrap_or(1);
    let want = lifecycle::desired_purchase(paid_at.checked_add_months(Months::new(months)), order.payment_issue);
    order.status = OrderStatus::Paid;
    lifecycle::apply(tx, order, &want, paid_at, EntitlementSource::OneTime, cause).await?;
    Ok(())
}

async fn on_subscription(tx: &mut Tx, order: &mut OrderRow, snap: &Snapshot, billing: &Billing, cause: &Cause<'_>) -> Result<(), Rejected> {
    let (sub, read_at) = (&snap.sub, snap.read_at);
    if order.stripe_state_at.is_some_and(|applied| applied >= read_at) {
        return Ok(()); // an older read than the one already applied
    }
    let item = sub.items.data.first();
    let state = SubscriptionState {
        status: lifecycle::order_status(&sub.status).unwrap_or(order.status),
        started_at: ts(sub.start_date),
        period_start: item.map_or(ts(sub.start_date), |i| ts(i.current_period_start)),
        period_end: item.map_or(ts(sub.start_date), |i| ts(i.current_period_end)),
        cancel_at_period_end: sub.cancel_at_period_end,
        ended_at: sub.ended_at.or(sub.canceled_at).map(ts),
        read_at,
    };
    // When the unpaid renewal fell due: the period's start (never later than
    // now, so a stand-in whose clock does not move cannot stretch the grace).
    // Kept through a cancellation, which then ends access at the last paid
    // period, not the unpaid one.
    order.past_due_since = match state.status {
        OrderStatus::PastDue | OrderStatus::Unpaid => order.past_due_since.or(Some(state.period_start.min(read_at))),
        OrderStatus::Canceled if snap.renewal_unpaid => order.past_due_since.or(Some(state.period_start.min(read_at))),
        _ => None,
    };
    order.stripe_subscription_id = Some(sub.id.as_str().to_owned());
    order.current_period_end = Some(state.period_end);
    order.cancel_at_period_end = state.cancel_at_period_end;
    order.stripe_state_at = Some(read_at);
    order.status = state.status;
    order.payment_issue = snap.issue;
    let mut starts_at = state.started_at;
    if let Some(switched_at) = switch_product(tx, order, snap, cause).await? {
        starts_at = switched_at;
    }
    if let Some(want) = lifecycle::desired(&state, order.past_due_since, snap.issue, &billing.settings) {
        lifecycle::apply(tx, order, &want, starts_at, EntitlementSource::Subscription, cause).await?;
    }
    Ok(())
}

/// A subscription whose price now belongs to another of our products (a
/// plan switch in Stripe's customer portal or dashboard) moves: the old
/// product's entitlement ends at the moment of the read, the order sells
/// the new price, and the caller grants the new product from that same
/// moment (no gap, nothing kept). A price we do not know changes nothing.
/// Answers the moment of the switch, if there was one.
async fn switch_product(tx: &mut Tx, order: &mut OrderRow, snap: &Snapshot, cause: &Cause<'_>) -> Result<Option<DateTime<Utc>>, Rejected> {
    let Some(stripe_price) = snap.price_id() else { return Ok(None) };
    let Some(price) = db::products::price_by_stripe_id_in(tx, stripe_price).await? else {
        tracing::warn!(order = order.id, price = stripe_price, "a subscription bills a Stripe price that is not in the catalogue: its product is kept");
        return Ok(None);
    };
    if price.id == order.price_id {
        return Ok(None);
    }
    let at = snap.read_at;
    let moved = price.product_id != order.product_id;
    if moved && order.entitlement_id.is_some() {
        let want = Desired {
            status: EntitlementStatus::Active,
            ends_at: Some(order.entitlement_ends_at.map_or(at, |e| e.min(at))),
            grace_until: None,
            reason: Some(lifecycle::SWITCHED.into()),
        };
        lifecycle::apply(tx, order, &want, at, EntitlementSource::Subscription, cause).await?;
        order.entitlement_id = None;
    }
    order.price_id = price.id;
    order.product_id = price.product_id;
    order.amount_cents = price.amount_cents;
    order.currency = price.currency;
    Ok(moved.then_some(at))
}

/// A one-time purchase's payment, as Stripe has it now: refunded in full or
/// the dispute lost → revoked (final); a dispute open → suspended; won →
/// active again. A read older than one already applied is skipped (a
/// reconciliation and a webhook reading the same payment around a change).
async fn on_payment(tx: &mut Tx, order: &mut OrderRow, issue: Option<PaymentIssue>, read_at: DateTime<Utc>, cause: &Cause<'_>) -> Result<(), Rejected> {
    if order.mode != OrderMode::Payment || order.status == OrderStatus::Refunded {
        return Ok(());
    }
    if order.stripe_state_at.is_some_and(|applied| applied >= read_at) {
        return Ok(());
    }
    order.stripe_state_at = Some(read_at);
    order.payment_issue = issue;
    if issue.is_some_and(PaymentIssue::reversed) {
        order.status = OrderStatus::Refunded;
    }
    if order.entitlement_id.is_some() {
        let want = lifecycle::desired_purchase(order.entitlement_ends_at, issue);
        lifecycle::apply(tx, order, &want, order.created_at, EntitlementSource::OneTime, cause).await?;
    }
    Ok(())
}
