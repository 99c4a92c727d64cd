//! Test controls: what a test does to move the world (the buyer pays, a
//! renewal fails, a refund or a chargeback happens) — as Rust calls ([`Controls`]) and as
//! JSON routes under `/test/` (no auth, loopback only).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::actions::{self, act, sub_json};
use crate::error::ApiError;
use crate::objects;
use crate::state::Shared;
use crate::webhooks;

mod routes;
pub use routes::router;

/// A handle on a running stand-in's state (cheap to clone).
#[derive(Clone)]
pub struct Controls {
    pub(crate) shared: Arc<Shared>,
}

/// Webhook switches; `None` leaves a setting as it is.
#[derive(Debug, Default, Clone, serde::Deserialize)]
pub struct WebhookSwitches {
    /// Every event is delivered twice (the whole batch, then again).
    pub duplicates: Option<bool>,
    /// The events of one action are delivered in reverse order.
    pub out_of_order: Option<bool>,
    /// Where events go; `Some("")` stops delivery (events are only recorded).
    pub url: Option<String>,
    /// The signing secret (`whsec_...`).
    pub secret: Option<String>,
    /// `true`: events queue up unsent (a slow or late Stripe); `false`
    /// releases them in order. `flush` waits for held events.
    pub hold: Option<bool>,
}

impl Controls {
    fn base(&self) -> &str {
        &self.shared.public_base
    }

    /// The buyer presses Pay: answers the completed `checkout.session`.
    pub fn pay_checkout_session(&self, id: &str) -> Result<Value, ApiError> {
        act(&self.shared, (None, None), |store, batch| {
            actions::pay_session(store, batch, self.base(), id)?;
            let s = store
                .sessions
                .get(id)
                .ok_or_else(|| ApiError::no_such("checkout.session", id, None))?;
            Ok(objects::checkout_session(store, self.base(), s))
        })
    }

    /// Expires an open session (`checkout.session.expired`).
    pub fn expire_checkout_session(&self, id: &str) -> Result<Value, ApiError> {
        act(&self.shared, (None, None), |store, batch| {
            actions::expire_session(store, batch, self.base(), id)?;
            let s = store
                .sessions
                .get(id)
                .ok_or_else(|| ApiError::no_such("checkout.session", id, None))?;
            Ok(objects::checkout_session(store, self.base(), s))
        })
    }

    /// `{session, subscription, payment_intent, invoice, customer}`: the
    /// session and the ids it led to. In subscription mode `payment_intent`
    /// is the first invoice's (the session's own field stays null, as in Stripe).
    pub fn checkout_session(&self, id: &str) -> Result<Value, ApiError> {
        let store = self.shared.lock();
        let s = store
            .sessions
            .get(id)
            .ok_or_else(|| ApiError::no_such("checkout.session", id, None))?;
        let invoice_pi = s
            .invoice
            .as_ref()
            .and_then(|i| store.invoices.get(i))
            .and_then(|i| i.payment_intent.clone());
        Ok(json!({
            "session": objects::checkout_session(&store, self.base(), s),
            "subscription": s.subscription,
            "payment_intent": s.payment_intent.clone().or(invoice_pi),
            "invoice": s.invoice,
            "customer": s.customer,
        }))
    }

    /// `{subscription, invoices, payments}`, oldest first; each payment is
    /// `{invoice, payment_intent, charge}` (ids; `charge` null while the
    /// invoice is unpaid), so a test can refund or dispute a given renewal.
    pub fn subscription(&self, id: &str) -> Result<Value, ApiError> {
        let store = self.shared.lock();
        if !store.subscriptions.contains_key(id) {
            return Err(ApiError::no_such("subscription", id, None));
        }
        let mut invoices: Vec<_> = store
            .invoices
            .values()
            .filter(|i| i.subscription == id)
            .collect();
        invoices.sort_by_key(|i| i.seq);
        let payments: Vec<Value> = invoices
            .iter()
            .map(|i| {
                let pi = i
                    .payment_intent
                    .as_ref()
                    .and_then(|pi| store.payment_intents.get(pi));
                let charge = pi
                    .filter(|pi| pi.status == "succeeded")
                    .and_then(|pi| pi.latest_charge.clone());
                json!({
                    "invoice": i.id,
                    "payment_intent": i.payment_intent,
                    "charge": charge,
                })
            })
            .collect();
        let invoices: Vec<Value> = invoices
            .into_iter()
            .map(|i| objects::invoice(&store, i))
            .collect();
        Ok(json!({
            "subscription": sub_json(&store, id),
            "invoices": invoices,
            "payments": payments,
        }))
    }

    fn on_sub(
        &self,
        id: &str,
        f: impl FnOnce(&mut crate::state::Store, &mut webhooks::Batch) -> Result<(), ApiError>,
    ) -> Result<Value, ApiError> {
        act(&self.shared, (None, None), |store, batch| {
            f(store, batch)?;
            Ok(sub_json(store, id))
        })
    }

    /// Arms a payment failure for the next renewal. Answers the subscription.
    pub fn fail_next_invoice(&self, id: &str) -> Result<Value, ApiError> {
        self.on_sub(id, |store, _| actions::fail_next_invoice(store, id))
    }

    /// The period ends: renewal (`invoice.paid` or `invoice.payment_failed`,
    /// then `customer.subscription.updated`), or the end of a subscription
    /// set to cancel at period end (`customer.subscription.deleted`).
    pub fn advance(&self, id: &str) -> Result<Value, ApiError> {
        self.on_sub(id, |store, batch| actions::advance(store, batch, id))
    }

    /// The oldest open invoice is paid (`invoice.paid`; `active` again when none is left open).
    pub fn pay_open_invoice(&self, id: &str) -> Result<Value, ApiError> {
        self.on_sub(id, |store, batch| {
            actions::pay_open_invoice(store, batch, id)
        })
    }

    /// Retries are exhausted: status `unpaid`.
    pub fn mark_unpaid(&self, id: &str) -> Result<Value, ApiError> {
        self.on_sub(id, |store, batch| actions::mark_unpaid(store, batch, id))
    }

    /// Cancels now or at the period end.
    pub fn cancel(&self, id: &str, at_period_end: bool) -> Result<Value, ApiError> {
        self.on_sub(id, |store, batch| {
            actions::cancel(store, batch, id, at_period_end)
        })
    }

    /// Moves the subscription's item to another active recurring price in
    /// its currency (the period kept, no prorations;
    /// `customer.subscription.updated`). Answers the subscription.
    pub fn switch_price(&self, id: &str, price: &str) -> Result<Value, ApiError> {
        self.on_sub(id, |store, batch| {
            actions::switch_price(store, batch, id, price, "price")
        })
    }

    /// The buyer's bank disputes the intent's latest charge (`needs_response`;
    /// `charge.dispute.created`, `charge.dispute.funds_withdrawn`). Answers
    /// the dispute.
    pub fn dispute_payment_intent(&self, id: &str) -> Result<Value, ApiError> {
        act(&self.shared, (None, None), |store, batch| {
            let dispute = actions::dispute_payment_intent(store, batch, id)?;
            Ok(actions::dispute_json(store, &dispute))
        })
    }

    /// Closes an open dispute `won` (`charge.dispute.funds_reinstated`, then
    /// `charge.dispute.closed`) or `lost` (`charge.dispute.closed`). Answers
    /// the dispute; a closed one is a 400.
    pub fn close_dispute(&self, id: &str, won: bool) -> Result<Value, ApiError> {
        act(&self.shared, (None, None), |store, batch| {
            actions::close_dispute(store, batch, id, won)?;
            Ok(actions::dispute_json(store, id))
        })
    }

    /// Fully refunds the intent's charge (`charge.refunded`). Answers the charge.
    pub fn refund_payment_intent(&self, id: &str) -> Result<Value, ApiError> {
        act(&self.shared, (None, None), |store, batch| {
            let (charge_id, _) = actions::refund(store, batch, self.base(), id, None)?;
            let charge = store
                .charges
                .get(&charge_id)
                .ok_or_else(|| ApiError::no_such("charge", &charge_id, None))?;
            Ok(objects::charge(self.base(), charge))
        })
    }

    /// Changes the webhook settings; answers them (without the secret).
    pub fn set_webhooks(&self, switches: WebhookSwitches) -> Value {
        {
            let mut store = self.shared.lock();
            let hooks = &mut store.webhooks;
            if let Some(v) = switches.duplicates {
                hooks.duplicates = v;
            }
            if let Some(v) = switches.out_of_order {
                hooks.out_of_order = v;
            }
            if let Some(url) = switches.url {
                hooks.url = Some(url).filter(|u| !u.is_empty());
            }
            if let Some(secret) = switches.secret {
                hooks.secret = secret;
            }
            if let Some(v) = switches.hold {
                hooks.hold = v;
            }
        }
        self.shared.wake.notify_one();
        self.webhooks()
    }

    pub fn webhooks(&self) -> Value {
        let store = self.shared.lock();
        let hooks = &store.webhooks;
        json!({
            "url": hooks.url,
            "duplicates": hooks.duplicates,
            "out_of_order": hooks.out_of_order,
            "hold": hooks.hold,
        })
    }

    /// Every event emitted so far with its delivery state.
    pub fn events(&self) -> Value {
        webhooks::list_events(&self.shared.lock())
    }

    /// The bodies of every event emitted so far, oldest first.
    pub fn event_bodies(&self) -> Vec<Value> {
        let store = self.shared.lock();
        store
            .events
            .iter()
            .filter_map(|e| serde_json::from_str(&e.body).ok())
            .collect()
    }

    /// Waits (at most `limit`, capped at 30 s) until every queued delivery
    /// is done; answers `{events, queued, delivered, failed, timed_out}`.
    pub async fn flush(&self, limit: Duration) -> Value {
        webhooks::flush(&self.shared, limit).await
    }
}
