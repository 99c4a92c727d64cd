//! The admin dashboard's numbers and the customer lists behind them. Each
//! number is counted by the rule that owns its fact: access now by
//! `domain::access::standing` (the token decision's rule), ending access by
//! the digest's query (renewing subscriptions left out), revenue from the
//! orders Stripe's webhooks keep current.

use crate::backend::db;
use crate::backend::db::dashboard::PaidOrder;
use crate::backend::db::Db;
use crate::domain::access::{self, Window};
use crate::domain::catalogue::PriceKind;
use crate::domain::order::{OrderMode, OrderStatus};
use crate::error::AppError;
use crate::views::{CustomerSegment, DashboardNumbers, Money};
use chrono::{DateTime, Duration, Months, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// The window the dashboard looks ahead (ending access) and back (billed).
pub const DAYS: i64 = 30;

/// Organisations with at least one entitlement granting access at `now`.
async fn with_access(db: &Db, now: DateTime<Utc>) -> Result<BTreeSet<i64>, AppError> {
    Ok(db::dashboard::live_windows(db)
        .await?
        .into_iter()
        .filter(|r| {
            let w = Window {
                status: r.status,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                grace_until: r.grace_until,
                suspended_reason: r.suspended_reason.clone(),
            };
            access::standing(&w, now).is_ok()
        })
        .map(|r| r.customer_id)
        .collect())
}

fn live_subscription(o: &PaidOrder) -> bool {
    o.mode == OrderMode::Subscription && matches!(o.status, OrderStatus::Active | OrderStatus::PastDue)
}

fn failing(o: &PaidOrder) -> bool {
    o.mode == OrderMode::Subscription && matches!(o.status, OrderStatus::PastDue | OrderStatus::Unpaid)
}

fn yearly(o: &PaidOrder) -> bool {
    matches!(PriceKind::from_parts(&o.price_kind, o.price_duration), Ok(PriceKind::Yearly))
}

/// An order's monthly share: a monthly price as it is, a yearly one as a twelfth.
fn monthly_cents(o: &PaidOrder) -> i64 {
    if yearly(o) {
        (o.amount_cents as f64 / 12.0).round() as i64
    } else {
        o.amount_cents
    }
}

/// Whether the order brought money in the `DAYS` before `now`: a one-time
/// purchase paid then, or a subscription in good standing whose current
/// period (a month or a year before its end) started then.
fn billed_within(o: &PaidOrder, now: DateTime<Utc>) -> bool {
    let since = now - Duration::days(DAYS);
    match (o.mode, o.status) {
        (OrderMode::Payment, OrderStatus::Paid) => o.updated_at >= since,
        (OrderMode::Subscription, OrderStatus::Active) => {
            let months = if yearly(o) { 12 } else { 1 };
            let start = o.current_period_end.and_then(|end| end.checked_sub_months(Months::new(months))).unwrap_or(o.created_at);
            start >= since && start <= now
        }
        _ => false,
    }
}

/// Adds amounts by currency, largest first.
fn totals(items: impl Iterator<Item = (String, i64)>) -> Vec<Money> {
    let mut by: BTreeMap<String, i64> = BTreeMap::new();
    for (cur, cents) in items {
        *by.entry(cur.to_lowercase()).or_default() += cents;
    }
    let mut v: Vec<Money> = by.into_iter().map(|(currency, cents)| Money { currency, cents }).collect();
    v.sort_by(|a, b| b.cents.cmp(&a.cents));
    v
}

/// Every number on the dashboard, at `now`.
pub async fn numbers(db: &Db, now: DateTime<Utc>) -> Result<DashboardNumbers, AppError> {
    let orders = db::dashboard::paid_orders(db).await?;
    let ending = db::notices::ending_customers(db, now, now + Duration::days(DAYS)).await?;
    let since = now - Duration::hours(24);
    Ok(DashboardNumbers {
        active_customers: with_access(db, now).await?.len() as i64,
        mrr: totals(orders.iter().filter(|o| live_subscription(o)).map(|o| (o.currency.clone(), monthly_cents(o)))),
        billed_30d: totals(orders.iter().filter(|o| billed_within(o, now)).map(|o| (o.currency.clone(), o.amount_cents))),
        renewals_failing: orders.iter().filter(|o| failing(o)).count() as i64,
        ending_30d: ending.len() as i64,
        open_requests: db::requests::count_open(db).await?,
        webhooks_24h: db::orders::events_since(db, since).await?.0,
        webhooks_refused_24h: db::orders::refused_since(db, since).await?,
        provisioning_failing: None,
    })
}

/// The organisations a dashboard number counts.
pub async fn segment(db: &Db, segment: CustomerSegment, now: DateTime<Utc>) -> Result<BTreeSet<i64>, AppError> {
    let keep: fn(&PaidOrder, DateTime<Utc>) -> bool = match segment {
        CustomerSegment::Active => return with_access(db, now).await,
        CustomerSegment::Ending => {
            return Ok(db::notices::ending_customers(db, now, now + Duration::days(DAYS)).await?.into_iter().collect())
        }
        CustomerSegment::Subscribers => |o, _| live_subscription(o),
        CustomerSegment::Billed => billed_within,
        CustomerSegment::Failing => |o, _| failing(o),
    };
    Ok(db::dashboard::paid_orders(db).await?.iter().filter(|o| keep(o, now)).map(|o| o.customer_id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn order(mode: OrderMode, status: OrderStatus, kind: &str, cents: i64, period_end: Option<DateTime<Utc>>) -> PaidOrder {
        let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        PaidOrder {
            customer_id: 1,
            mode,
            status,
            amount_cents: cents,
            currency: "EUR".into(),
            price_kind: kind.into(),
            price_duration: None,
            current_period_end: period_end,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn mrr_counts_yearly_as_a_twelfth_and_leaves_one_time_out() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        let orders = [
            order(OrderMode::Subscription, OrderStatus::Active, "monthly", 4_900, Some(now + Duration::days(10))),
            order(OrderMode::Subscription, OrderStatus::PastDue, "yearly", 120_000, Some(now + Duration::days(100))),
            order(OrderMode::Payment, OrderStatus::Paid, "one_time", 99_900, None),
        ];
        let mrr = totals(orders.iter().filter(|o| live_subscription(o)).map(|o| (o.currency.clone(), monthly_cents(o))));
        assert_eq!(mrr, vec![Money { currency: "eur".into(), cents: 14_900 }]);
        assert_eq!(orders.iter().filter(|o| failing(o)).count(), 1);
    }

    #[test]
    fn billed_means_a_period_started_or_a_purchase_paid_in_the_last_30_days() {
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap();
        // A monthly period that ends in 20 days started 10 days ago.
        assert!(billed_within(&order(OrderMode::Subscription, OrderStatus::Active, "monthly", 1, Some(now + Duration::days(20))), now));
        // A yearly period that ends in 200 days started long ago.
        assert!(!billed_within(&order(OrderMode::Subscription, OrderStatus::Active, "yearly", 1, Some(now + Duration::days(200))), now));
        // Past due: the renewal was not paid.
        assert!(!billed_within(&order(OrderMode::Subscription, OrderStatus::PastDue, "monthly", 1, Some(now + Duration::days(20))), now));
        let mut paid = order(OrderMode::Payment, OrderStatus::Paid, "one_time", 1, None);
        paid.updated_at = now - Duration::days(3);
        assert!(billed_within(&paid, now));
        paid.updated_at = now - Duration::days(40);
        assert!(!billed_within(&paid, now));
    }
}
