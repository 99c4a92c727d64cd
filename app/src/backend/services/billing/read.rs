//! What Stripe says now: the reads behind every change billing makes (the
//! webhook re-reads the object an event names; the reconciliation re-reads
//! every live order). Nothing here writes; every call is made before a
//! transaction opens (a write lock is never held across a network call).

use crate::backend::db;
use crate::backend::db::orders::Key;
use crate::backend::db::Db;
use crate::backend::services::billing::webhook::Rejected;
use crate::backend::services::billing::{stripe_err, Billing};
use crate::domain::order::PaymentIssue;
use chrono::{DateTime, Utc};
use stripe_shared::{CheckoutSession, DisputeStatus, InvoiceBillingReason, InvoiceStatus, Subscription, SubscriptionStatus};

/// The subscription as Stripe has it now, with the moment it was read.
pub struct Snapshot {
    pub sub: Subscription,
    pub read_at: DateTime<Utc>,
    /// Its latest invoice is a renewal that was not paid.
    pub renewal_unpaid: bool,
    /// What is wrong with the payment of the current period's invoice, if
    /// that invoice is paid (refunded in full, disputed, dispute lost).
    pub issue: Option<PaymentIssue>,
}

impl Snapshot {
    /// The Stripe id of the price the subscription bills now.
    pub fn price_id(&self) -> Option<&str> {
        self.sub.items.data.first().map(|i| i.price.id.as_str())
    }
}

pub async fn subscription(billing: &Billing, id: &str) -> Result<Snapshot, Rejected> {
    let sub = stripe_billing::subscription::RetrieveSubscription::new(id).send(&billing.client).await.map_err(stripe_err)?;
    let read_at = Utc::now();
    let latest = sub.latest_invoice.as_ref().and_then(|inv| inv.id().as_ref()).map(|id| id.as_str().to_owned());
    let (mut renewal_unpaid, mut issue) = (false, None);
    if let Some(id) = latest {
        let inv = stripe_billing::invoice::RetrieveInvoice::new(id.as_str()).send(&billing.client).await.map_err(stripe_err)?;
        let paid = inv.status.as_ref() == Some(&InvoiceStatus::Paid);
        let renewal = matches!(inv.billing_reason, Some(InvoiceBillingReason::SubscriptionCycle));
        let troubled = matches!(sub.status, SubscriptionStatus::PastDue | SubscriptionStatus::Unpaid | SubscriptionStatus::Canceled);
        renewal_unpaid = troubled && renewal && !paid && inv.amount_remaining > 0;
        if paid && inv.amount_paid > 0 {
            issue = match invoice_payment_intent(billing, &id).await? {
                Some(pi) => payment(billing, &pi).await?.issue,
                None => None,
            };
        }
    }
    Ok(Snapshot { sub, read_at, renewal_unpaid, issue })
}

/// The payment intent that paid an invoice.
async fn invoice_payment_intent(billing: &Billing, invoice: &str) -> Result<Option<String>, Rejected> {
    let list = stripe_billing::invoice_payment::ListInvoicePayment::new().invoice(invoice).limit(10).send(&billing.client).await.map_err(stripe_err)?;
    Ok(list
        .data
        .into_iter()
        .filter(|p| p.status == "paid")
        .find_map(|p| p.payment.payment_intent.map(|pi| pi.id().as_str().to_owned())))
}

/// The subscription whose invoice a payment intent paid (a refund or a
/// dispute names only the charge and its payment intent).
pub async fn subscription_paid_by(billing: &Billing, payment_intent: &str) -> Result<Option<String>, Rejected> {
    use stripe_billing::invoice_payment::{ListInvoicePayment, ListInvoicePaymentPayment, ListInvoicePaymentPaymentType};
    let mut by = ListInvoicePaymentPayment::new(ListInvoicePaymentPaymentType::PaymentIntent);
    by.payment_intent = Some(payment_intent.to_owned());
    let list = ListInvoicePayment::new().payment(by).limit(1).send(&billing.client).await.map_err(stripe_err)?;
    let Some(invoice) = list.data.into_iter().next().and_then(|p| p.invoice.id().as_ref().map(|id| id.as_str().to_owned())) else { return Ok(None) };
    let inv = stripe_billing::invoice::RetrieveInvoice::new(invoice.as_str()).send(&billing.client).await.map_err(stripe_err)?;
    Ok(inv.parent.as_ref().and_then(|p| p.subscription_details.as_ref()).map(|d| d.subscription.id().as_str().to_owned()))
}

/// The payment intent of a charge (a dispute may name only the charge).
pub async fn charge_payment_intent(billing: &Billing, charge: &str) -> Result<Option<String>, Rejected> {
    let charge = stripe_core::charge::RetrieveCharge::new(charge).send(&billing.client).await.map_err(stripe_err)?;
    Ok(charge.payment_intent.map(|pi| pi.id().as_str().to_owned()))
}

/// A payment as Stripe has it now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PaymentRead {
    /// When its charge was made (none: not paid).
    pub paid_at: Option<DateTime<Utc>>,
    /// What is wrong with it: fully refunded, a dispute open, a dispute lost
    /// (won, or never disputed: nothing).
    pub issue: Option<PaymentIssue>,
}

pub async fn payment(billing: &Billing, payment_intent: &str) -> Result<PaymentRead, Rejected> {
    let pi = stripe_core::payment_intent::RetrievePaymentIntent::new(payment_intent).send(&billing.client).await.map_err(stripe_err)?;
    let Some(charge) = pi.latest_charge.map(|c| c.id().as_str().to_owned()) else { return Ok(PaymentRead::default()) };
    let charge = stripe_core::charge::RetrieveCharge::new(charge.as_str()).send(&billing.client).await.map_err(stripe_err)?;
    let dispute = if charge.disputed {
        let list = stripe_core::dispute::ListDispute::new().charge(charge.id.as_str()).limit(1).send(&billing.client).await.map_err(stripe_err)?;
        list.data.into_iter().next().map(|d| d.status)
    } else {
        None
    };
    let paid_at = charge.paid.then(|| DateTime::from_timestamp(charge.created, 0)).flatten();
    Ok(PaymentRead { paid_at, issue: issue(charge.refunded, dispute.as_ref()) })
}

/// The rule: a lost dispute is money gone back, like a full refund; an
/// open one (an inquiry too) puts the payment in question; a won or
/// prevented one, or an inquiry closed, is nothing.
pub fn issue(fully_refunded: bool, dispute: Option<&DisputeStatus>) -> Option<PaymentIssue> {
    match dispute {
        Some(DisputeStatus::Lost) => Some(PaymentIssue::DisputeLost),
        Some(DisputeStatus::Won | DisputeStatus::Prevented | DisputeStatus::WarningClosed) | None if fully_refunded => Some(PaymentIssue::Refunded),
        Some(DisputeStatus::Won | DisputeStatus::Prevented | DisputeStatus::WarningClosed) | None => None,
        Some(_) => Some(PaymentIssue::Disputed),
    }
}

/// The Checkout Session that made a subscription or payment, when we do not
/// know it yet (its metadata names the customer, product and price).
pub async fn session_for(billing: &Billing, db: &Db, key: Key<'_>) -> Result<Option<CheckoutSession>, Rejected> {
    if db::orders::exists_for(db, key).await? {
        return Ok(None);
    }
    let list = stripe_checkout::checkout_session::ListCheckoutSession::new().limit(1);
    let list = match key {
        Key::Subscription(id) => list.subscription(id),
        Key::PaymentIntent(id) => list.payment_intent(id),
        Key::Session(_) => return Ok(None),
    };
    Ok(list.send(&billing.client).await.map_err(stripe_err)?.data.into_iter().next())
}

/// A Checkout Session by id.
pub async fn session(billing: &Billing, id: &str) -> Result<CheckoutSession, Rejected> {
    stripe_checkout::checkout_session::RetrieveCheckoutSession::new(id).send(&billing.client).await.map_err(stripe_err).map_err(Rejected::Retry)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_wrong_with_a_payment() {
        assert_eq!(issue(false, None), None);
        assert_eq!(issue(true, None), Some(PaymentIssue::Refunded));
        assert_eq!(issue(false, Some(&DisputeStatus::NeedsResponse)), Some(PaymentIssue::Disputed));
        assert_eq!(issue(false, Some(&DisputeStatus::WarningUnderReview)), Some(PaymentIssue::Disputed));
        assert_eq!(issue(false, Some(&DisputeStatus::Won)), None);
        assert_eq!(issue(false, Some(&DisputeStatus::Lost)), Some(PaymentIssue::DisputeLost));
        // Refunded while disputed: the dispute decides until it closes.
        assert_eq!(issue(true, Some(&DisputeStatus::UnderReview)), Some(PaymentIssue::Disputed));
        assert_eq!(issue(true, Some(&DisputeStatus::Won)), Some(PaymentIssue::Refunded));
    }
}
