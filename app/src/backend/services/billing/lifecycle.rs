//! From Stripe's state to ours: what an order's entitlement should be, given
//! the subscription (or payment) as Stripe last told it, and the audited
//! change that makes it so. Pure where it can be (`desired`), so the rules
//! are tested without Stripe.

use crate::backend::services::billing::settings::BillingSettings;
use crate::domain::order::EndAccess;
use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::orders::OrderRow;
use crate::backend::db::Tx;
use crate::backend::web::RequestMeta;
use crate::domain::access::{EntitlementSource, EntitlementStatus};
use crate::domain::order::{OrderStatus, PaymentIssue};
use chrono::{DateTime, Duration, Utc};
use stripe_shared::SubscriptionStatus;
use serde_json::{json, Value};

/// What Stripe says about a subscription, reduced to what decides access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionState {
    /// Stripe's status as the order's (`trialing` is `Active`,
    /// `incomplete_expired` is `Expired`).
    pub status: OrderStatus,
    pub started_at: DateTime<Utc>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub cancel_at_period_end: bool,
    /// When it was canceled or ended, if it was.
    pub ended_at: Option<DateTime<Utc>>,
    /// When Stripe was asked.
    pub read_at: DateTime<Utc>,
}

/// The suspension reasons billing sets; any other suspension is a vendor's
/// decision, which a webhook never lifts.
pub const UNPAID: &str = "payment failed: the subscription is unpaid";
pub const PAUSED: &str = "the subscription is paused";
pub const DISPUTED: &str = "the payment is disputed with your bank";
pub const REFUNDED: &str = "the payment was refunded";
pub const DISPUTE_LOST: &str = "the payment was reversed after a dispute";
pub const SWITCHED: &str = "the subscription moved to another product";

/// Is this suspension billing's own (so billing may lift it)? Any other is
/// a vendor's decision.
pub fn suspended_by_billing(reason: Option<&str>) -> bool {
    matches!(reason, Some(UNPAID | PAUSED | DISPUTED))
}

/// Why access ended or paused, in the customer's words, for a payment issue.
pub fn issue_reason(issue: PaymentIssue) -> &'static str {
    match issue {
        PaymentIssue::Refunded => REFUNDED,
        PaymentIssue::Disputed => DISPUTED,
        PaymentIssue::DisputeLost => DISPUTE_LOST,
    }
}

/// How long past its period end a live subscription keeps access while the
/// renewal's webhook is on its way.
pub const RENEWAL_LEEWAY: Duration = Duration::hours(1);

/// The entitlement an order should have now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub status: EntitlementStatus,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

/// The rules of the subscription lifecycle:
/// - active / trialing: access to the end of the paid period (plus
///   `RENEWAL_LEEWAY`);
/// - past_due: access continues to `past_due_since + grace`, then stops;
/// - unpaid: per the vendor's setting, suspended at once or ended at the end
///   of the last paid period (the period start, since the renewal is unpaid);
///   a grace period already running is honoured;
/// - canceled: ended at once or at the end of the paid period, per setting
///   (a period whose renewal was never paid is not a paid period);
/// - paused: suspended; incomplete / incomplete_expired: no access at all;
///
/// and then the payment of the current period (`issue`): while it is
/// disputed, suspended; refunded in full or the dispute lost, the period it
/// paid for is not paid (access ends at its start).
pub fn desired(s: &SubscriptionState, past_due_since: Option<DateTime<Utc>>, issue: Option<PaymentIssue>, settings: &BillingSettings) -> Option<Desired> {
    let want = by_status(s, past_due_since, settings)?;
    Some(match issue {
        None => want,
        Some(PaymentIssue::Disputed) => Desired { status: EntitlementStatus::Suspended, reason: Some(DISPUTED.into()), ..want },
        Some(reversed) => Desired {
            status: EntitlementStatus::Active,
            // Its start, and never later than now (a period cannot start later).
            ends_at: Some(want.ends_at.map_or(s.period_start, |e| e.min(s.period_start)).min(s.read_at)),
            grace_until: None,
            reason: Some(issue_reason(reversed).into()),
        },
    })
}

/// A one-time purchase: its window, unless its payment is disputed
/// (suspended while open) or went back (revoked, for good).
pub fn desired_purchase(ends_at: Option<DateTime<Utc>>, issue: Option<PaymentIssue>) -> Desired {
    let status = match issue {
        None => EntitlementStatus::Active,
        Some(PaymentIssue::Disputed) => EntitlementStatus::Suspended,
        Some(_) => EntitlementStatus::Revoked,
    };
    Desired { status, ends_at, grace_until: None, reason: issue.map(|i| issue_reason(i).into()) }
}

fn by_status(s: &SubscriptionState, past_due_since: Option<DateTime<Utc>>, settings: &BillingSettings) -> Option<Desired> {
    let grace = Duration::from_std(settings.grace).unwrap_or_else(|_| Duration::days(7));
    let plus = |t: DateTime<Utc>, d: Duration| t.checked_add_signed(d).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let active = |ends_at, grace_until| Some(Desired { status: EntitlementStatus::Active, ends_at: Some(ends_at), grace_until, reason: None });
    match s.status {
        // A live subscription runs a little past its period end, so the
        // renewal's webhook (or an outage of this endpoint) never opens a gap.
        OrderStatus::Active => active(plus(s.period_end, RENEWAL_LEEWAY), None),
        OrderStatus::PastDue => active(plus(s.period_end, RENEWAL_LEEWAY), Some(plus(past_due_since.unwrap_or(s.period_start), grace))),
        OrderStatus::Unpaid => match settings.end_access {
            EndAccess::Immediately => Some(Desired {
                status: EntitlementStatus::Suspended,
                ends_at: Some(s.period_end),
                grace_until: None,
                reason: Some(UNPAID.into()),
            }),
            EndAccess::PeriodEnd => active(s.period_start, past_due_since.map(|t| plus(t, grace))),
        },
        OrderStatus::Canceled => {
            let end = match settings.end_access {
                EndAccess::Immediately => s.ended_at.unwrap_or(s.period_end).min(s.period_end),
                // The end of the last paid period: the current one, unless its
                // renewal was never paid.
                EndAccess::PeriodEnd if past_due_since.is_some() => s.period_start,
                EndAccess::PeriodEnd => s.period_end,
            };
            active(end, None)
        }
        OrderStatus::Paused => Some(Desired {
            status: EntitlementStatus::Suspended,
            ends_at: Some(s.period_end),
            grace_until: None,
            reason: Some(PAUSED.into()),
        }),
        _ => None,
    }
}

/// Stripe's subscription status as an order's: `trialing` is a running
/// subscription, `incomplete_expired` an abandoned start. `None` for a
/// status this version does not know (the order keeps its state).
pub fn order_status(s: &SubscriptionStatus) -> Option<OrderStatus> {
    Some(match s {
        SubscriptionStatus::Active | SubscriptionStatus::Trialing => OrderStatus::Active,
        SubscriptionStatus::PastDue => OrderStatus::PastDue,
        SubscriptionStatus::Unpaid => OrderStatus::Unpaid,
        SubscriptionStatus::Canceled => OrderStatus::Canceled,
        SubscriptionStatus::Incomplete => OrderStatus::Incomplete,
        SubscriptionStatus::IncompleteExpired => OrderStatus::Expired,
        SubscriptionStatus::Paused => OrderStatus::Paused,
        _ => return None,
    })
}

fn rfc3339(t: Option<DateTime<Utc>>) -> Value {
    t.map(crate::domain::time::rfc3339).into()
}

/// Why billing changed something: a Stripe event, or a reconciliation run
/// that re-read Stripe. Counts the audited changes it led to.
pub struct Cause<'a> {
    pub why: Why<'a>,
    pub meta: &'a RequestMeta,
    pub changes: std::sync::atomic::AtomicU32,
}

#[derive(Clone, Copy, Debug)]
pub enum Why<'a> {
    Event { id: &'a str, kind: &'a str },
    Reconciliation { run: i64 },
}

impl<'a> Cause<'a> {
    pub fn new(why: Why<'a>, meta: &'a RequestMeta) -> Self {
        Self { why, meta, changes: Default::default() }
    }

    /// How many audited changes were made so far.
    pub fn changes(&self) -> u32 {
        self.changes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Names the cause in an audit row's details.
    pub fn describe(&self, map: &mut serde_json::Map<String, Value>) {
        match self.why {
            Why::Event { id, kind } => {
                map.insert("stripe_event".into(), json!(id));
                map.insert("stripe_event_type".into(), json!(kind));
            }
            Why::Reconciliation { run } => {
                map.insert("reconciliation".into(), json!(run));
            }
        }
    }
}

/// The actor of every change Stripe drives.
pub fn stripe_actor() -> Actor {
    Actor::System
}

/// Creates or changes the order's entitlement to `want`, auditing the change
/// in the caller's transaction. A revoked entitlement is final: nothing here
/// brings it back.
pub async fn apply(tx: &mut Tx, order: &mut OrderRow, want: &Desired, starts_at: DateTime<Utc>, source: EntitlementSource, cause: &Cause<'_>) -> Result<(), sqlx::Error> {
    let now = Utc::now();
    let Some(id) = order.entitlement_id else {
        let new_id = db::entitlements::insert(
            tx,
            &db::entitlements::NewEntitlement {
                customer_id: order.customer_id,
                product_id: order.product_id,
                source,
                starts_at,
                ends_at: want.ends_at,
                note: Some(&format!("Stripe order {}", order.id)),
            },
            now,
        )
        .await?;
        order.entitlement_id = Some(new_id);
        if let Some(mut row) = db::entitlements::find_in(tx, new_id).await? {
            if want.status != EntitlementStatus::Active || want.grace_until.is_some() {
                row.status = want.status;
                row.grace_until = want.grace_until;
                row.suspended_reason = want.reason.clone();
                db::entitlements::update(tx, &row, now).await?;
            }
        }
        return record(tx, "entitlement.grant", new_id, order, cause, json!({
            "after": { "status": want.status, "starts_at": rfc3339(Some(starts_at)), "ends_at": rfc3339(want.ends_at), "grace_until": rfc3339(want.grace_until) },
        }))
        .await;
    };
    let Some(before) = db::entitlements::find_in(tx, id).await? else { return Ok(()) };
    if before.status == EntitlementStatus::Revoked {
        return Ok(());
    }
    let mut after = before.clone();
    after.status = want.status;
    after.ends_at = want.ends_at;
    after.grace_until = want.grace_until;
    after.suspended_reason = want.reason.clone();
    let by_vendor = before.status == EntitlementStatus::Suspended && !suspended_by_billing(before.suspended_reason.as_deref());
    if by_vendor && want.status != EntitlementStatus::Revoked {
        // The window follows Stripe; the vendor's suspension stands.
        after.status = before.status;
        after.suspended_reason = before.suspended_reason.clone();
    }
    if (&after.status, after.ends_at, after.grace_until, &after.suspended_reason)
        == (&before.status, before.ends_at, before.grace_until, &before.suspended_reason)
    {
        return Ok(());
    }
    db::entitlements::update(tx, &after, now).await?;
    use EntitlementStatus::{Active, Revoked, Suspended};
    let action = match (before.status, after.status) {
        (b, Suspended) if b != Suspended => "entitlement.suspend",
        (b, Revoked) if b != Revoked => "entitlement.revoke",
        (Suspended, Active) => "entitlement.resume",
        _ if after.grace_until.is_some() && before.grace_until.is_none() => "entitlement.grace",
        _ if after.ends_at > before.ends_at => "entitlement.extend",
        _ if after.ends_at < before.ends_at && after.ends_at.is_some_and(|e| e <= now) => "entitlement.end",
        _ if before.grace_until.is_some() && after.grace_until.is_none() => "entitlement.resume",
        _ => "entitlement.window",
    };
    record(tx, action, id, order, cause, json!({
        "before": { "status": before.status, "ends_at": rfc3339(before.ends_at), "grace_until": rfc3339(before.grace_until) },
        "after": { "status": after.status, "ends_at": rfc3339(after.ends_at), "grace_until": rfc3339(after.grace_until), "reason": after.suspended_reason },
    }))
    .await
}

async fn record(tx: &mut Tx, action: &'static str, entitlement_id: i64, order: &OrderRow, cause: &Cause<'_>, mut details: Value) -> Result<(), sqlx::Error> {
    if let Value::Object(map) = &mut details {
        map.insert("customer_id".into(), json!(order.customer_id));
        map.insert("product_id".into(), json!(order.product_id));
        map.insert("order_id".into(), json!(order.id));
        cause.describe(map);
    }
    cause.changes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    audit::record(
        tx,
        &AuditEvent::new(stripe_actor(), action, Outcome::Success)
            .target("entitlement", entitlement_id)
            .subject(order.customer_id)
            .meta(cause.meta)
            .details(details),
    )
    .await
    .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings(end_access: EndAccess) -> BillingSettings {
        BillingSettings { grace: std::time::Duration::from_secs(3 * 86_400), end_access, public_base: "http://x/".parse().unwrap() }
    }

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap()
    }

    /// A subscription in Stripe's `status` (its own spelling).
    fn sub(status: &str) -> SubscriptionState {
        let status = order_status(&status.parse::<SubscriptionStatus>().unwrap()).unwrap();
        SubscriptionState { status, started_at: t(1), period_start: t(1), period_end: t(31), cancel_at_period_end: false, ended_at: None, read_at: t(15) }
    }

    #[test]
    fn active_runs_to_the_period_end() {
        let d = desired(&sub("active"), None, None, &settings(EndAccess::PeriodEnd)).unwrap();
        assert_eq!((d.status.as_str(), d.ends_at, d.grace_until), ("active", Some(t(31) + RENEWAL_LEEWAY), None));
        assert_eq!(desired(&sub("trialing"), None, None, &settings(EndAccess::PeriodEnd)), Some(d));
    }

    #[test]
    fn past_due_gets_the_grace_period_from_the_first_failure() {
        let d = desired(&sub("past_due"), Some(t(2)), None, &settings(EndAccess::PeriodEnd)).unwrap();
        assert_eq!((d.status.as_str(), d.grace_until), ("active", Some(t(5))));
    }

    #[test]
    fn unpaid_follows_the_vendor_setting() {
        let now = desired(&sub("unpaid"), Some(t(2)), None, &settings(EndAccess::Immediately)).unwrap();
        assert_eq!(now.status.as_str(), "suspended");
        let later = desired(&sub("unpaid"), Some(t(2)), None, &settings(EndAccess::PeriodEnd)).unwrap();
        assert_eq!((later.status.as_str(), later.ends_at, later.grace_until), ("active", Some(t(1)), Some(t(5))));
    }

    #[test]
    fn canceled_ends_at_once_or_at_the_period_end() {
        let mut s = sub("canceled");
        s.ended_at = Some(t(10));
        assert_eq!(desired(&s, None, None, &settings(EndAccess::Immediately)).unwrap().ends_at, Some(t(10)));
        assert_eq!(desired(&s, None, None, &settings(EndAccess::PeriodEnd)).unwrap().ends_at, Some(t(31)));
        // Canceled after a renewal that was never paid: the unpaid period is not given.
        assert_eq!(desired(&s, Some(t(1)), None, &settings(EndAccess::PeriodEnd)).unwrap().ends_at, Some(t(1)));
    }

    #[test]
    fn a_huge_grace_does_not_overflow() {
        let mut huge = settings(EndAccess::PeriodEnd);
        huge.grace = std::time::Duration::from_secs(u64::MAX / 4);
        assert!(desired(&sub("past_due"), Some(t(2)), None, &huge).unwrap().grace_until.is_some());
    }

    #[test]
    fn a_disputed_period_is_suspended_and_a_reversed_one_not_paid() {
        let set = settings(EndAccess::PeriodEnd);
        let open = desired(&sub("active"), None, Some(PaymentIssue::Disputed), &set).unwrap();
        assert_eq!((open.status.as_str(), open.ends_at, open.reason.as_deref()), ("suspended", Some(t(31) + RENEWAL_LEEWAY), Some(DISPUTED)));
        assert!(suspended_by_billing(open.reason.as_deref()));
        for issue in [PaymentIssue::Refunded, PaymentIssue::DisputeLost] {
            let gone = desired(&sub("active"), None, Some(issue), &set).unwrap();
            assert_eq!((gone.status.as_str(), gone.ends_at, gone.grace_until), ("active", Some(t(1)), None));
            assert_eq!(gone.reason.as_deref(), Some(issue_reason(issue)));
        }
        assert_eq!(desired_purchase(Some(t(31)), None).status.as_str(), "active");
        assert_eq!(desired_purchase(Some(t(31)), Some(PaymentIssue::Disputed)).status.as_str(), "suspended");
        assert_eq!(desired_purchase(Some(t(31)), Some(PaymentIssue::DisputeLost)).status.as_str(), "revoked");
    }

    #[test]
    fn incomplete_gives_nothing() {
        assert_eq!(desired(&sub("incomplete"), None, None, &settings(EndAccess::PeriodEnd)), None);
        assert_eq!(desired(&sub("incomplete_expired"), None, None, &settings(EndAccess::PeriodEnd)), None);
    }
}
