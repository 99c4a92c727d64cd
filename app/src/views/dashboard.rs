//! What the admin dashboard shows (its numbers, each with the list behind
//! it) and access requests (trials, contact with sales) as customers and
//! admins see them.

use crate::domain::request::{RequestKind, RequestStatus};
use serde::{Deserialize, Serialize};

/// An amount in one currency ("EUR", minor units).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Money {
    pub currency: String,
    pub cents: i64,
}

impl Money {
    /// "€1,234.50", "$49.00", "1,000.00 CHF" (the catalogue's `format_money`).
    pub fn words(&self) -> String {
        crate::domain::catalogue::format_money(self.cents, &self.currency.to_lowercase())
    }
}

/// Amounts in several currencies, in words ("€490.00 + $120.00"; "0" when none).
pub fn money_words(amounts: &[Money]) -> String {
    if amounts.is_empty() {
        return "0".into();
    }
    amounts.iter().map(Money::words).collect::<Vec<_>>().join(" + ")
}

/// The dashboard's numbers. Each has a list behind it (see the page).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DashboardNumbers {
    /// Organisations with at least one entitlement that grants access now.
    pub active_customers: i64,
    /// Monthly recurring revenue: live subscriptions, yearly ones as a twelfth.
    pub mrr: Vec<Money>,
    /// Subscriptions whose current period started in the last 30 days and
    /// one-time purchases paid in them (refunded ones left out).
    pub billed_30d: Vec<Money>,
    /// Subscriptions whose renewal payment failed (past due or unpaid).
    pub renewals_failing: i64,
    /// Access ending for good within 30 days (renewing subscriptions left out).
    pub ending_30d: i64,
    /// Requests for trials and sales waiting for an answer.
    pub open_requests: i64,
    /// Webhook deliveries in the last 24 hours, and the refused ones.
    pub webhooks_24h: i64,
    pub webhooks_refused_24h: i64,
    /// Harbor provisioning: customers whose robots are not converged
    /// (`None`: Harbor is not configured).
    pub provisioning_failing: Option<i64>,
}

/// A filtered list of customers the dashboard's numbers link to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CustomerSegment {
    /// With access now.
    Active,
    /// With a live subscription (what makes the MRR).
    Subscribers,
    /// Paid in the last 30 days.
    Billed,
    /// A renewal payment failed.
    Failing,
    /// Access ends within 30 days.
    Ending,
}

impl CustomerSegment {
    pub const ALL: [CustomerSegment; 5] =
        [CustomerSegment::Active, CustomerSegment::Subscribers, CustomerSegment::Billed, CustomerSegment::Failing, CustomerSegment::Ending];

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerSegment::Active => "active",
            CustomerSegment::Subscribers => "subscribers",
            CustomerSegment::Billed => "billed",
            CustomerSegment::Failing => "failing",
            CustomerSegment::Ending => "ending",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The list's heading: "Customers with access now".
    pub fn title(self) -> &'static str {
        match self {
            CustomerSegment::Active => "Customers with access now",
            CustomerSegment::Subscribers => "Customers with a live subscription",
            CustomerSegment::Billed => "Customers billed in the last 30 days",
            CustomerSegment::Failing => "Customers whose renewal payment failed",
            CustomerSegment::Ending => "Customers whose access ends within 30 days",
        }
    }
}

/// A request for a trial or for sales.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct AccessRequestView {
    pub id: i64,
    /// The customer (organisation) that asks, and its name.
    pub organisation_id: i64,
    pub organisation: String,
    /// The address of the member who asked (the answer is mailed there).
    pub requested_by: String,
    pub product_id: i64,
    pub product: String,
    pub product_slug: String,
    pub kind: RequestKind,
    /// The member's words (may be empty).
    pub message: String,
    pub status: RequestStatus,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub answered_at: Option<String>,
    /// The admin who answered (absent when an API key did: the audit log names it).
    pub answered_by: Option<String>,
    /// The words mailed with the answer.
    pub answer: Option<String>,
    /// The entitlement a grant made.
    pub entitlement_id: Option<i64>,
}

/// What a signed-in customer has of one product, for the catalogue and
/// product pages: access in words and until when, and an open request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    pub product_id: i64,
    /// Access now (any entitlement of the product grants).
    pub access: bool,
    /// "active until 12 March 2027", "renews automatically", "expired on …".
    pub summary: String,
    /// The latest end of the access that grants now (RFC 3339), if it ends.
    pub until: Option<String>,
    /// Bought through a subscription that renews by itself.
    pub renews: bool,
    /// The organisation's open request for this product, if any.
    pub open_request: Option<AccessRequestView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_reads_as_people_write_it() {
        assert_eq!(Money { currency: "eur".into(), cents: 123_450 }.words(), "€1,234.50");
        assert_eq!(Money { currency: "usd".into(), cents: 4_900 }.words(), "$49.00");
        assert_eq!(Money { currency: "chf".into(), cents: 100_000_000 }.words(), "1,000,000.00 CHF");
        assert_eq!(money_words(&[]), "0");
    }
}
