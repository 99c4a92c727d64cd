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
use crate::domain::order::OrderStatus;
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
}

/// The suspension reasons billing sets; any other suspension is a vendor's
/// decision, which a webhook never lifts.
pub const UNPAID: &str = "payment failed: the subscription is unpaid";
pub const PAUSED: &str = "the subscription is paused";

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
/// - paused: suspended; incomplete / incomplete_expired: no access at all.
pub fn desired(s: &SubscriptionState, past_due_since: Option<DateTime<Utc>>, settings: &BillingSettings) -> Option<Desired> {
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

/// Why the webhook changed an entitlement: the Stripe event it acted on.
pub struct Cause<'a> {
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub meta: &'a RequestMeta,
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
    let by_vendor = before.status == EntitlementStatus::Suspended && !matches!(before.suspended_reason.as_deref(), Some(UNPAID | PAUSED));
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
        map.insert("stripe_event".into(), json!(cause.event_id));
        map.insert("stripe_event_type".into(), json!(cause.event_type));
    }
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
        SubscriptionState { status, started_at: t(1), period_start: t(1), period_end: t(31), cancel_at_period_end: false, ended_at: None }
    }

    #[test]
    fn active_runs_to_the_period_end() {
        let d = desired(&sub("active"), None, &settings(EndAccess::PeriodEnd)).unwrap();
        assert_eq!((d.status.as_str(), d.ends_at, d.grace_until), ("active", Some(t(31) + RENEWAL_LEEWAY), None));
        assert_eq!(desired(&sub("trialing"), None, &settings(EndAccess::PeriodEnd)), Some(d));
    }

    #[test]
    fn past_due_gets_the_grace_period_from_the_first_failure() {
        let d = desired(&sub("past_due"), Some(t(2)), &settings(EndAccess::PeriodEnd)).unwrap();
        assert_eq!((d.status.as_str(), d.grace_until), ("active", Some(t(5))));
    }

    #[test]
    fn unpaid_follows_the_vendor_setting() {
        let now = desired(&sub("unpaid"), Some(t(2)), &settings(EndAccess::Immediately)).unwrap();
        assert_eq!(now.status.as_str(), "suspended");
        let later = desired(&sub("unpaid"), Some(t(2)), &settings(EndAccess::PeriodEnd)).unwrap();
        assert_eq!((later.status.as_str(), later.ends_at, later.grace_until), ("active", Some(t(1)), Some(t(5))));
    }

    #[test]
    fn canceled_ends_at_once_or_at_the_period_end() {
        let mut s = sub("canceled");
        s.ended_at = Some(t(10));
        assert_eq!(desired(&s, None, &settings(EndAccess::Immediately)).unwrap().ends_at, Some(t(10)));
        assert_eq!(desired(&s, None, &settings(EndAccess::PeriodEnd)).unwrap().ends_at, Some(t(31)));
        // Canceled after a renewal that was never paid: the unpaid period is not given.
        assert_eq!(desired(&s, Some(t(1)), &settings(EndAccess::PeriodEnd)).unwrap().ends_at, Some(t(1)));
    }

    #[test]
    fn a_huge_grace_does_not_overflow() {
        let mut huge = settings(EndAccess::PeriodEnd);
        huge.grace = std::time::Duration::from_secs(u64::MAX / 4);
        assert!(desired(&sub("past_due"), Some(t(2)), &huge).unwrap().grace_until.is_some());
    }

    #[test]
    fn incomplete_gives_nothing() {
        assert_eq!(desired(&sub("incomplete"), None, &settings(EndAccess::PeriodEnd)), None);
        assert_eq!(desired(&sub("incomplete_expired"), None, &settings(EndAccess::PeriodEnd)), None);
    }
}
