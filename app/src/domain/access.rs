//! Entitlements and the one question everything asks of them: may this
//! customer pull repository R at time T, and if not, why?
//!
//! `decide` is pure: it takes the customer's entitlements (with the patterns
//! of each one's product) and answers. The server fetches those rows with one
//! indexed query (`services::entitlements::access_entries`); the registry
//! token decision (`services::registry::Decider`) caches them and calls
//! `decide` for every repository a pull credential asks for.
//!
//! Window semantics: access runs from `starts_at` (inclusive) to `ends_at`
//! (exclusive; `None` = open-ended, e.g. a live subscription). `grace_until`,
//! when set, means payment is overdue: access continues until it, whatever
//! `ends_at` says, and stops there ("suspended: payment overdue").

use crate::domain::catalogue::RepoPattern;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementStatus {
    Active,
    /// Paused by an admin (or by billing); can be resumed.
    Suspended,
    /// Ended for good (refund, cancellation at once, admin).
    Revoked,
    /// The window ran out (set by a sweep; `decide` also checks the window).
    Expired,
}

impl EntitlementStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "active" => Self::Active,
            "suspended" => Self::Suspended,
            "revoked" => Self::Revoked,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}
crate::text_column!(EntitlementStatus, EntitlementStatus::parse);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntitlementSource {
    Manual,
    Subscription,
    OneTime,
    Trial,
}

impl EntitlementSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::Subscription => "subscription",
            Self::OneTime => "one_time",
            Self::Trial => "trial",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "manual" => Self::Manual,
            "subscription" => Self::Subscription,
            "one_time" => Self::OneTime,
            "trial" => Self::Trial,
            _ => return None,
        })
    }
}
crate::text_column!(EntitlementSource, EntitlementSource::parse);

impl EntitlementSource {
    /// Whether a person (an admin, or an API key) may grant this source by
    /// hand. Subscriptions and one-time purchases come only from Stripe's
    /// verified webhook, so a paid-looking entitlement always has an order.
    pub fn granted_by_hand(self) -> bool {
        matches!(self, Self::Manual | Self::Trial)
    }
}

/// The facts about one entitlement that decide access.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Window {
    pub status: EntitlementStatus,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    pub grace_until: Option<DateTime<Utc>>,
    pub suspended_reason: Option<String>,
}

/// Why access is refused. Ordered from least to most telling: when several
/// entitlements cover a repository and none grants, the most telling wins.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Denial {
    /// No entitlement covers the repository (or it does not exist: the two
    /// are never told apart).
    NoEntitlement,
    Revoked,
    NotStarted { starts_at: DateTime<Utc> },
    Expired { ended_at: DateTime<Utc> },
    PaymentOverdue { grace_ended_at: DateTime<Utc> },
    Suspended { reason: Option<String> },
}

impl Denial {
    /// A stable machine code, for logs and the audit trail.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoEntitlement => "no_entitlement",
            Self::Revoked => "revoked",
            Self::NotStarted { .. } => "not_started",
            Self::Expired { .. } => "expired",
            Self::PaymentOverdue { .. } => "payment_overdue",
            Self::Suspended { .. } => "suspended",
        }
    }

    /// What the customer is told (registry clients show this text).
    pub fn message(&self) -> String {
        match self {
            Self::NoEntitlement => "your account has no entitlement to this repository".into(),
            Self::Revoked => "your access to this repository was revoked".into(),
            Self::NotStarted { starts_at } => format!("your access starts on {}", human_date(*starts_at)),
            Self::Expired { ended_at } => format!("your access ended on {}", human_date(*ended_at)),
            Self::PaymentOverdue { .. } => "your access is suspended: payment overdue".into(),
            Self::Suspended { reason: Some(r) } => format!("your access is suspended: {r}"),
            Self::Suspended { reason: None } => "your access is suspended".into(),
        }
    }
}

/// The answer, naming the entitlement that granted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    Granted { entitlement_id: i64 },
    Denied(Denial),
}

/// How one entitlement stands at `at`, whatever repository is asked for.
pub fn standing(w: &Window, at: DateTime<Utc>) -> Result<(), Denial> {
    match w.status {
        EntitlementStatus::Revoked => return Err(Denial::Revoked),
        EntitlementStatus::Suspended => return Err(Denial::Suspended { reason: w.suspended_reason.clone() }),
        EntitlementStatus::Expired => {
            return Err(Denial::Expired { ended_at: w.ends_at.or(w.grace_until).unwrap_or(w.starts_at) })
        }
        EntitlementStatus::Active => {}
    }
    if at < w.starts_at {
        return Err(Denial::NotStarted { starts_at: w.starts_at });
    }
    if let Some(grace) = w.grace_until {
        return if at < grace { Ok(()) } else { Err(Denial::PaymentOverdue { grace_ended_at: grace }) };
    }
    match w.ends_at {
        Some(end) if at >= end => Err(Denial::Expired { ended_at: end }),
        _ => Ok(()),
    }
}

/// May the owner of `entitlements` pull `repository` at `at`? Each item is an
/// entitlement id, its window, and the patterns of its product (archived
/// products included: archiving stops sales, not existing access).
pub fn decide<'a, I>(entitlements: I, repository: &str, at: DateTime<Utc>) -> Decision
where
    I: IntoIterator<Item = (i64, &'a Window, &'a [RepoPattern])>,
{
    let mut worst: Option<Denial> = None;
    for (id, window, patterns) in entitlements {
        if !patterns.iter().any(|p| p.matches(repository)) {
            continue;
        }
        match standing(window, at) {
            Ok(()) => return Decision::Granted { entitlement_id: id },
            Err(d) => {
                if worst.as_ref().is_none_or(|w| d > *w) {
                    worst = Some(d);
                }
            }
        }
    }
    Decision::Denied(worst.unwrap_or(Denial::NoEntitlement))
}

/// "12 March 2027": dates in words, UTC, the same on server and browser.
pub fn human_date(t: DateTime<Utc>) -> String {
    t.format("%-d %B %Y").to_string()
}

/// An entitlement's state in plain words for its owner: "active until
/// 12 March 2027", "suspended: payment overdue", "expired on 1 May 2026".
pub fn describe(w: &Window, at: DateTime<Utc>) -> String {
    match standing(w, at) {
        Ok(()) => match (w.grace_until, w.ends_at) {
            (Some(g), _) => format!("active until {} (payment overdue)", human_date(g)),
            (None, Some(e)) => format!("active until {}", human_date(e)),
            (None, None) => "active, renews automatically".into(),
        },
        Err(Denial::NotStarted { starts_at }) => format!("starts on {}", human_date(starts_at)),
        // Billing says why it ended early (a refund, a plan switch).
        Err(Denial::Expired { ended_at }) => match &w.suspended_reason {
            Some(r) => format!("ended on {}: {r}", human_date(ended_at)),
            None => format!("expired on {}", human_date(ended_at)),
        },
        Err(Denial::PaymentOverdue { .. }) => "suspended: payment overdue".into(),
        Err(Denial::Suspended { reason: Some(r) }) => format!("suspended: {r}"),
        Err(Denial::Suspended { reason: None }) => "suspended".into(),
        Err(Denial::Revoked) => match &w.suspended_reason {
            Some(r) => format!("revoked: {r}"),
            None => "revoked".into(),
        },
        Err(Denial::NoEntitlement) => "no access".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use EntitlementStatus::*;

    fn t(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, day, 0, 0, 0).unwrap()
    }

    fn w(status: EntitlementStatus, start: u32, end: Option<u32>, grace: Option<u32>) -> Window {
        Window { status, starts_at: t(start), ends_at: end.map(t), grace_until: grace.map(t), suspended_reason: None }
    }

    fn pats(p: &[&str]) -> Vec<RepoPattern> {
        p.iter().map(|s| RepoPattern::parse(s).unwrap()).collect()
    }

    fn one(window: &Window, patterns: &[RepoPattern], repo: &str, at: DateTime<Utc>) -> Decision {
        decide([(1, window, patterns)], repo, at)
    }

    #[test]
    fn window_boundaries_are_start_inclusive_end_exclusive() {
        let p = pats(&["acme/widget"]);
        let win = w(Active, 10, Some(20), None);
        let cases = [
            (t(9), Decision::Denied(Denial::NotStarted { starts_at: t(10) })),
            (t(10) - chrono::Duration::seconds(1), Decision::Denied(Denial::NotStarted { starts_at: t(10) })),
            (t(10), Decision::Granted { entitlement_id: 1 }),
            (t(15), Decision::Granted { entitlement_id: 1 }),
            (t(20) - chrono::Duration::seconds(1), Decision::Granted { entitlement_id: 1 }),
            (t(20), Decision::Denied(Denial::Expired { ended_at: t(20) })),
            (t(25), Decision::Denied(Denial::Expired { ended_at: t(20) })),
        ];
        for (at, want) in cases {
            assert_eq!(one(&win, &p, "acme/widget", at), want, "at {at}");
        }
        // Open-ended: granted long after the start.
        assert_eq!(one(&w(Active, 10, None, None), &p, "acme/widget", t(31)), Decision::Granted { entitlement_id: 1 });
    }

    #[test]
    fn grace_extends_past_the_end_then_stops_as_payment_overdue() {
        let p = pats(&["acme/widget"]);
        let win = w(Active, 1, Some(10), Some(17));
        assert_eq!(one(&win, &p, "acme/widget", t(12)), Decision::Granted { entitlement_id: 1 });
        assert_eq!(
            one(&win, &p, "acme/widget", t(17)),
            Decision::Denied(Denial::PaymentOverdue { grace_ended_at: t(17) })
        );
        // Grace on an open-ended subscription.
        let sub = w(Active, 1, None, Some(5));
        assert_eq!(one(&sub, &p, "acme/widget", t(4)), Decision::Granted { entitlement_id: 1 });
        assert!(matches!(one(&sub, &p, "acme/widget", t(5)), Decision::Denied(Denial::PaymentOverdue { .. })));
        assert_eq!(describe(&sub, t(4)), "active until 5 March 2027 (payment overdue)");
        assert_eq!(describe(&sub, t(6)), "suspended: payment overdue");
    }

    #[test]
    fn suspended_revoked_and_expired_deny_inside_the_window() {
        let p = pats(&["acme/widget"]);
        let mut suspended = w(Suspended, 1, Some(30), None);
        suspended.suspended_reason = Some("payment overdue".into());
        assert_eq!(
            one(&suspended, &p, "acme/widget", t(5)),
            Decision::Denied(Denial::Suspended { reason: Some("payment overdue".into()) })
        );
        assert_eq!(one(&w(Revoked, 1, Some(30), None), &p, "acme/widget", t(5)), Decision::Denied(Denial::Revoked));
        assert_eq!(
            one(&w(Expired, 1, Some(3), None), &p, "acme/widget", t(5)),
            Decision::Denied(Denial::Expired { ended_at: t(3) })
        );
    }

    #[test]
    fn overlapping_entitlements_grant_if_any_grants() {
        let p = pats(&["acme/widget"]);
        let expired = w(Active, 1, Some(5), None);
        let current = w(Active, 4, Some(20), None);
        let revoked = w(Revoked, 1, None, None);
        let items = [(1, &expired, &p[..]), (2, &revoked, &p[..]), (3, &current, &p[..])];
        assert_eq!(decide(items.clone(), "acme/widget", t(10)), Decision::Granted { entitlement_id: 3 });
        // None grants: the most telling reason wins (expired beats revoked).
        assert_eq!(
            decide(items, "acme/widget", t(25)),
            Decision::Denied(Denial::Expired { ended_at: t(20) })
        );
    }

    #[test]
    fn patterns_decide_which_entitlements_count() {
        let widget = pats(&["acme/widget-*"]);
        let gadget = pats(&["acme/gadget"]);
        let active = w(Active, 1, None, None);
        let suspended = w(Suspended, 1, None, None);
        let items = [(1, &active, &widget[..]), (2, &suspended, &gadget[..])];
        assert_eq!(decide(items.clone(), "acme/widget-pro", t(2)), Decision::Granted { entitlement_id: 1 });
        assert_eq!(decide(items.clone(), "acme/widget", t(2)), Decision::Denied(Denial::NoEntitlement));
        assert!(matches!(decide(items.clone(), "acme/gadget", t(2)), Decision::Denied(Denial::Suspended { .. })));
        assert_eq!(decide(items, "other/thing", t(2)), Decision::Denied(Denial::NoEntitlement));
        assert_eq!(decide([], "acme/widget", t(2)), Decision::Denied(Denial::NoEntitlement));
    }

    #[test]
    fn a_repository_in_two_products_is_granted_by_either() {
        let bundle = pats(&["acme/widget", "acme/gadget"]);
        let single = pats(&["acme/widget"]);
        let lapsed = w(Active, 1, Some(3), None);
        let live = w(Active, 1, None, None);
        // The bundle lapsed, the single product is live: widget yes, gadget no.
        let items = [(1, &lapsed, &bundle[..]), (2, &live, &single[..])];
        assert_eq!(decide(items.clone(), "acme/widget", t(10)), Decision::Granted { entitlement_id: 2 });
        assert!(matches!(decide(items, "acme/gadget", t(10)), Decision::Denied(Denial::Expired { .. })));
    }

    #[test]
    fn plain_words() {
        assert_eq!(describe(&w(Active, 1, Some(12), None), t(2)), "active until 12 March 2027");
        assert_eq!(describe(&w(Active, 1, None, None), t(2)), "active, renews automatically");
        assert_eq!(describe(&w(Active, 5, None, None), t(2)), "starts on 5 March 2027");
        assert_eq!(describe(&w(Active, 1, Some(2), None), t(3)), "expired on 2 March 2027");
        assert_eq!(describe(&w(Revoked, 1, None, None), t(3)), "revoked");
        assert_eq!(Denial::NoEntitlement.code(), "no_entitlement");
        assert!(Denial::Expired { ended_at: t(2) }.message().contains("2 March 2027"));
    }
}
