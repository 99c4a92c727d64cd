//! Renewals, failed payments, recovery and cancellation of subscriptions.

use serde_json::Value;

use super::{changed, invoice_json, sub_json};
use crate::error::ApiError;
use crate::records::{new_invoice, pay_invoice_intent};
use crate::state::{add_interval, now, Invoice, Store, Subscription};
use crate::webhooks::Batch;

pub fn live_sub<'a>(store: &'a mut Store, id: &str) -> Result<&'a mut Subscription, ApiError> {
    let sub = store
        .subscriptions
        .get_mut(id)
        .ok_or_else(|| ApiError::no_such("subscription", id, None))?;
    if sub.status == "canceled" {
        return Err(ApiError::invalid(
            format!("This subscription is canceled: '{id}'."),
            None,
        ));
    }
    Ok(sub)
}

/// Emits `customer.subscription.updated` with the fields that changed since `before`.
pub fn emit_updated(store: &mut Store, batch: &mut Batch, id: &str, before: &Value) {
    let after = sub_json(store, id);
    let prev = changed(before, &after);
    store.emit(batch, "customer.subscription.updated", after, Some(prev));
}

pub fn fail_next_invoice(store: &mut Store, id: &str) -> Result<(), ApiError> {
    live_sub(store, id)?.fail_next = true;
    Ok(())
}

/// The period ends: renew (paid or failed), or end a subscription set to
/// cancel at period end.
pub fn advance(store: &mut Store, batch: &mut Batch, id: &str) -> Result<(), ApiError> {
    let before = sub_json(store, id);
    let sub = live_sub(store, id)?;
    if sub.cancel_at_period_end {
        sub.status = "canceled".into();
        sub.ended_at = Some(sub.period_end);
        let after = sub_json(store, id);
        store.emit(batch, "customer.subscription.deleted", after, None);
        return Ok(());
    }
    let (old_start, old_end) = (sub.period_start, sub.period_end);
    let fail = std::mem::take(&mut sub.fail_next);
    let price = sub.price.clone();
    let (interval, count) = store
        .prices
        .get(&price)
        .and_then(|p| p.recurring.as_ref())
        .map_or(("month".to_string(), 1), |r| {
            (r.interval.clone(), r.interval_count)
        });
    if let Some(sub) = store.subscriptions.get_mut(id) {
        sub.period_start = old_end;
        sub.period_end = add_interval(old_end, &interval, count);
    }
    let invoice_id = new_invoice(store, id, "subscription_cycle", (old_start, old_end), fail)
        .ok_or_else(|| ApiError::invalid("The subscription could not be invoiced.", None))?;
    let still_open = open_invoices(store, id).len();
    if let Some(sub) = store.subscriptions.get_mut(id) {
        sub.latest_invoice = Some(invoice_id.clone());
        if fail && sub.status != "unpaid" {
            sub.status = "past_due".into();
        } else if !fail && still_open == 0 {
            sub.status = "active".into();
        }
    }
    let inv = invoice_json(store, &invoice_id);
    let kind = if fail {
        "invoice.payment_failed"
    } else {
        "invoice.paid"
    };
    store.emit(batch, kind, inv, None);
    emit_updated(store, batch, id, &before);
    Ok(())
}

fn open_invoices(store: &Store, sub_id: &str) -> Vec<String> {
    let mut open: Vec<&Invoice> = store
        .invoices
        .values()
        .filter(|i| i.subscription == sub_id && i.status == "open")
        .collect();
    open.sort_by_key(|i| i.seq);
    open.into_iter().map(|i| i.id.clone()).collect()
}

/// The oldest open invoice is paid (the buyer fixed their card).
pub fn pay_open_invoice(store: &mut Store, batch: &mut Batch, id: &str) -> Result<(), ApiError> {
    let before = sub_json(store, id);
    live_sub(store, id)?;
    let Some(invoice_id) = open_invoices(store, id).into_iter().next() else {
        return Err(ApiError::invalid(
            format!("Subscription '{id}' has no open invoice."),
            None,
        ));
    };
    // The invoice's own payment intent now succeeds, with a new charge.
    if pay_invoice_intent(store, &invoice_id).is_none() {
        return Err(ApiError::no_such("invoice", &invoice_id, None));
    }
    if let Some(inv) = store.invoices.get_mut(&invoice_id) {
        inv.status = "paid".into();
        inv.attempt_count += 1;
        inv.paid_at = Some(now());
        inv.next_payment_attempt = None;
    }
    let inv = invoice_json(store, &invoice_id);
    store.emit(batch, "invoice.paid", inv, None);
    let none_open = open_invoices(store, id).is_empty();
    if let Some(sub) = store.subscriptions.get_mut(id) {
        if none_open && sub.status != "active" {
            sub.status = "active".into();
            emit_updated(store, batch, id, &before);
        }
    }
    Ok(())
}

pub fn mark_unpaid(store: &mut Store, batch: &mut Batch, id: &str) -> Result<(), ApiError> {
    let before = sub_json(store, id);
    let sub = live_sub(store, id)?;
    if sub.status != "unpaid" {
        sub.status = "unpaid".into();
        emit_updated(store, batch, id, &before);
    }
    Ok(())
}

/// Cancels now (`customer.subscription.deleted`) or at the period end
/// (`customer.subscription.updated`).
pub fn cancel(
    store: &mut Store,
    batch: &mut Batch,
    id: &str,
    at_period_end: bool,
) -> Result<(), ApiError> {
    let before = sub_json(store, id);
    let sub = live_sub(store, id)?;
    let at = now();
    sub.canceled_at = Some(at);
    sub.cancel_reason = Some("cancellation_requested".into());
    if at_period_end {
        sub.cancel_at_period_end = true;
        sub.cancel_at = Some(sub.period_end);
        emit_updated(store, batch, id, &before);
    } else {
        sub.status = "canceled".into();
        sub.ended_at = Some(at);
        sub.cancel_at_period_end = false;
        let after = sub_json(store, id);
        store.emit(batch, "customer.subscription.deleted", after, None);
    }
    Ok(())
}
