//! Chargebacks: a dispute opens on a payment's charge, then closes won or lost.

use serde_json::Value;

use crate::error::ApiError;
use crate::objects;
use crate::state::{new_id, now, Dispute, Store};
use crate::webhooks::Batch;

/// How long the merchant has to answer (`evidence_details.due_by`).
const RESPONSE_WINDOW: i64 = 7 * 24 * 3600;

pub fn dispute_json(store: &Store, id: &str) -> Value {
    store.disputes.get(id).map_or(Value::Null, objects::dispute)
}

/// The buyer's bank disputes the intent's latest charge (a `fraudulent`
/// chargeback of what is left unrefunded): `needs_response`, the charge
/// `disputed`; emits `charge.dispute.created` and
/// `charge.dispute.funds_withdrawn`. Answers the dispute's id.
pub fn dispute_payment_intent(
    store: &mut Store,
    batch: &mut Batch,
    pi_id: &str,
) -> Result<String, ApiError> {
    let charge_id = super::succeeded_charge(store, pi_id, "dispute")?;
    let charge = store
        .charges
        .get_mut(&charge_id)
        .ok_or_else(|| ApiError::no_such("charge", &charge_id, None))?;
    if charge.disputed {
        return Err(ApiError::invalid(
            format!("Charge {charge_id} has already been disputed."),
            None,
        ));
    }
    let amount = charge.amount - charge.amount_refunded();
    if amount <= 0 {
        return Err(ApiError {
            code: Some("charge_already_refunded"),
            ..ApiError::invalid(
                format!("Charge {charge_id} has already been refunded."),
                None,
            )
        });
    }
    charge.disputed = true;
    let currency = charge.currency.clone();
    let id = new_id("dp_", 24);
    let created = now();
    let dispute = Dispute {
        seq: store.next_seq(),
        id: id.clone(),
        created,
        charge: charge_id,
        payment_intent: pi_id.to_string(),
        amount,
        currency,
        status: "needs_response".into(),
        reason: "fraudulent".into(),
        due_by: created + RESPONSE_WINDOW,
    };
    store.disputes.insert(id.clone(), dispute);
    let json = dispute_json(store, &id);
    store.emit(batch, "charge.dispute.created", json.clone(), None);
    store.emit(batch, "charge.dispute.funds_withdrawn", json, None);
    Ok(id)
}

/// The bank decides: `won` (emits `charge.dispute.funds_reinstated`, then
/// `charge.dispute.closed`) or `lost` (`charge.dispute.closed`). A closed
/// dispute cannot close again.
pub fn close_dispute(
    store: &mut Store,
    batch: &mut Batch,
    id: &str,
    won: bool,
) -> Result<(), ApiError> {
    let dispute = store
        .disputes
        .get_mut(id)
        .ok_or_else(|| ApiError::no_such("dispute", id, None))?;
    if dispute.is_closed() {
        return Err(ApiError::invalid(
            format!(
                "This dispute is already closed (status `{}`): '{id}'.",
                dispute.status
            ),
            None,
        ));
    }
    let before = objects::dispute(dispute);
    dispute.status = if won { "won" } else { "lost" }.into();
    let after = objects::dispute(dispute);
    let prev = super::changed(&before, &after);
    if won {
        store.emit(
            batch,
            "charge.dispute.funds_reinstated",
            after.clone(),
            None,
        );
    }
    store.emit(batch, "charge.dispute.closed", after, Some(prev));
    Ok(())
}
