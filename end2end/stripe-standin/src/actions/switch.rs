//! Plan changes: a subscription's one item moves to another price. The
//! period is kept and no prorations are made; the next renewal bills the
//! new price (and its interval). As in Stripe, the item's quantity becomes
//! 1 when its price changes, unless a quantity is given.

use super::{emit_updated, live_sub, sub_json};
use crate::error::ApiError;
use crate::state::{Store, Subscription};
use crate::webhooks::Batch;

/// The `proration_behavior`s accepted (and otherwise ignored).
pub const PRORATION_BEHAVIORS: [&str; 3] = ["always_invoice", "create_prorations", "none"];

/// `item` (named `param` in errors) is live subscription `id`'s item.
pub fn check_item(store: &mut Store, id: &str, item: &str, param: &str) -> Result<(), ApiError> {
    if live_sub(store, id)?.item_id == item {
        return Ok(());
    }
    if store.subscriptions.values().any(|s| s.item_id == item) {
        return Err(ApiError::bad_param(
            param,
            format!("The subscription item {item} does not belong to subscription {id}."),
        ));
    }
    Err(ApiError::no_such_param("subscription_item", item, param))
}

/// Live subscription `id` may move to `price` (named `param` in errors):
/// it exists, is active, recurring and in the subscription's currency.
pub fn check_price(store: &mut Store, id: &str, price: &str, param: &str) -> Result<(), ApiError> {
    let current = live_sub(store, id)?.price.clone();
    let new = store
        .prices
        .get(price)
        .ok_or_else(|| ApiError::no_such_param("price", price, param))?;
    if !new.active {
        return Err(ApiError::bad_param(
            param,
            "The price specified is inactive. This field only accepts active prices.",
        ));
    }
    if new.recurring.is_none() {
        return Err(ApiError::bad_param(
            param,
            "The price specified is set to `type=one_time` but this field only accepts prices \
             with `type=recurring`.",
        ));
    }
    let currency = store.prices.get(&current).map(|p| p.currency.as_str());
    if let Some(currency) = currency.filter(|c| *c != new.currency) {
        return Err(ApiError::bad_param(
            param,
            format!(
                "The price's currency ({}) must match the subscription's ({currency}).",
                new.currency
            ),
        ));
    }
    Ok(())
}

/// Sets the item's price (quantity 1 unless `quantity` is given) and/or quantity.
pub fn set_item(sub: &mut Subscription, price: Option<&str>, quantity: Option<i64>) {
    match price.filter(|p| *p != sub.price) {
        Some(price) => {
            sub.price = price.to_string();
            sub.quantity = quantity.unwrap_or(1);
        }
        None => sub.quantity = quantity.unwrap_or(sub.quantity),
    }
}

/// Moves the subscription's item to `price` (checked as [`check_price`]);
/// emits `customer.subscription.updated` when the price changed.
pub fn switch_price(
    store: &mut Store,
    batch: &mut Batch,
    id: &str,
    price: &str,
    param: &str,
) -> Result<(), ApiError> {
    let before = sub_json(store, id);
    check_price(store, id, price, param)?;
    if let Some(sub) = store.subscriptions.get_mut(id) {
        set_item(sub, Some(price), None);
    }
    if sub_json(store, id) != before {
        emit_updated(store, batch, id, &before);
    }
    Ok(())
}
