//! A Stripe order's state as the portal keeps it (`orders.status`,
//! `orders.mode`): one row per Checkout Session, moved by verified webhooks
//! only. Stripe's own subscription statuses map onto these in
//! `backend::services::billing::webhook`.

use serde::{Deserialize, Serialize};

/// How the order sells: a subscription, or a one-time payment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderMode {
    Subscription,
    Payment,
}

impl OrderMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::Payment => "payment",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "subscription" => Some(Self::Subscription),
            "payment" => Some(Self::Payment),
            _ => None,
        }
    }
}
crate::text_column!(OrderMode, OrderMode::parse);

/// Where an order stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    /// Checkout started; nothing paid yet.
    Pending,
    /// A subscription in good standing (Stripe's `active` or `trialing`).
    Active,
    /// A one-time purchase, paid.
    Paid,
    /// A renewal failed; the grace period runs.
    PastDue,
    /// Stripe gave up collecting the renewal.
    Unpaid,
    Canceled,
    Paused,
    /// The first payment did not go through.
    Incomplete,
    /// The checkout was abandoned (or Stripe's `incomplete_expired`).
    Expired,
    /// Fully refunded.
    Refunded,
}

impl OrderStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Paid => "paid",
            Self::PastDue => "past_due",
            Self::Unpaid => "unpaid",
            Self::Canceled => "canceled",
            Self::Paused => "paused",
            Self::Incomplete => "incomplete",
            Self::Expired => "expired",
            Self::Refunded => "refunded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "active" => Self::Active,
            "paid" => Self::Paid,
            "past_due" => Self::PastDue,
            "unpaid" => Self::Unpaid,
            "canceled" => Self::Canceled,
            "paused" => Self::Paused,
            "incomplete" => Self::Incomplete,
            "expired" => Self::Expired,
            "refunded" => Self::Refunded,
            _ => return None,
        })
    }

    /// Whether the order still gives (or is about to give) access: the
    /// states in which a renewal is expected.
    pub fn renews(self) -> bool {
        matches!(self, Self::Active | Self::PastDue)
    }
}
crate::text_column!(OrderStatus, OrderStatus::parse);

/// When access ends for a canceled or unpaid subscription (the vendor's
/// `PORTCULLIS_BILLING_END_ACCESS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndAccess {
    /// At the end of the period already paid for (the default).
    PeriodEnd,
    /// At once.
    Immediately,
}

impl EndAccess {
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "period_end" => Some(Self::PeriodEnd),
            "immediately" => Some(Self::Immediately),
            _ => None,
        }
    }
}

/// What is wrong with an order's latest paid payment (a one-time
/// purchase's, or the invoice of a subscription's current period).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PaymentIssue {
    /// Fully refunded: the period (or purchase) it paid for is not paid.
    Refunded,
    /// The payer's bank disputes it: access is suspended while it is open.
    Disputed,
    /// The dispute was lost: the money went back, as for a refund.
    DisputeLost,
}

impl PaymentIssue {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refunded => "refunded",
            Self::Disputed => "disputed",
            Self::DisputeLost => "dispute_lost",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "refunded" => Self::Refunded,
            "disputed" => Self::Disputed,
            "dispute_lost" => Self::DisputeLost,
            _ => return None,
        })
    }

    /// The money went back: the payment no longer pays for anything.
    pub fn reversed(self) -> bool {
        matches!(self, Self::Refunded | Self::DisputeLost)
    }
}
crate::text_column!(PaymentIssue, PaymentIssue::parse);

/// Why a reconciliation with Stripe ran.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconcileCause {
    /// The regular run (daily by default).
    Schedule,
    /// Webhook deliveries were refused since the last run.
    Refusals,
    /// `portcullis stripe reconcile`.
    Cli,
}

impl ReconcileCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Schedule => "schedule",
            Self::Refusals => "refusals",
            Self::Cli => "cli",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "schedule" => Self::Schedule,
            "refusals" => Self::Refusals,
            "cli" => Self::Cli,
            _ => return None,
        })
    }
}
crate::text_column!(ReconcileCause, ReconcileCause::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips() {
        for s in [
            OrderStatus::Pending,
            OrderStatus::Active,
            OrderStatus::Paid,
            OrderStatus::PastDue,
            OrderStatus::Unpaid,
            OrderStatus::Canceled,
            OrderStatus::Paused,
            OrderStatus::Incomplete,
            OrderStatus::Expired,
            OrderStatus::Refunded,
        ] {
            assert_eq!(OrderStatus::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for p in [PaymentIssue::Refunded, PaymentIssue::Disputed, PaymentIssue::DisputeLost] {
            assert_eq!(PaymentIssue::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), serde_json::json!(p.as_str()));
        }
        for c in [ReconcileCause::Schedule, ReconcileCause::Refusals, ReconcileCause::Cli] {
            assert_eq!(ReconcileCause::parse(c.as_str()), Some(c));
        }
        for m in [OrderMode::Subscription, OrderMode::Payment] {
            assert_eq!(OrderMode::parse(m.as_str()), Some(m));
        }
    }
}
