//! Invoice payments: each invoice's default payment (its payment intent).

use axum::extract::{Path, RawQuery, State};
use axum::response::Response;

use super::{limit, page, query, reply, AppState};
use crate::error::ApiError;
use crate::form::Params;
use crate::objects;
use crate::state::Invoice;

pub async fn get_invoice_payment(
    State(shared): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let store = shared.lock();
    let found = store
        .invoices
        .values()
        .find(|i| i.payment_id == id)
        .map(objects::invoice_payment);
    reply(found.ok_or_else(|| ApiError::no_such("invoice_payment", &id, Some("id"))))
}

/// `GET /v1/invoice_payments?invoice=&payment[type]=&payment[payment_intent]=&status=&limit=`
pub async fn list_invoice_payments(
    State(shared): State<AppState>,
    RawQuery(raw): RawQuery,
) -> Response {
    let result = (|| {
        let q = query(raw.as_deref())?;
        let p = Params(&q);
        let limit = limit(&p)?;
        let kind = p.str("payment.type");
        let intent = p.str("payment.payment_intent");
        match kind {
            None if p.get("payment").is_some() => {
                return Err(ApiError::missing_param("payment[type]"));
            }
            Some("payment_intent" | "payment_record") | None => {}
            Some(other) => {
                return Err(ApiError::bad_param(
                    "payment[type]",
                    format!(
                        "Invalid payment[type]: must be one of payment_intent or payment_record \
                         (not `{other}`)."
                    ),
                ))
            }
        }
        let status = p.str("status");
        if let Some(s) = status.filter(|s| !["open", "paid", "canceled"].contains(s)) {
            return Err(ApiError::bad_param(
                "status",
                format!("Invalid status: must be one of open, paid, or canceled (not `{s}`)."),
            ));
        }
        let store = shared.lock();
        let mut found: Vec<&Invoice> = store
            .invoices
            .values()
            .filter(|i| p.str("invoice").is_none_or(|v| i.id == v))
            // Every payment here is a payment intent; none is a payment record.
            .filter(|_| kind != Some("payment_record"))
            .filter(|i| intent.is_none_or(|v| i.payment_intent.as_deref() == Some(v)))
            .collect();
        found.sort_by_key(|i| std::cmp::Reverse(i.seq));
        let found = found
            .into_iter()
            .map(objects::invoice_payment)
            .filter(|v| status.is_none_or(|s| v["status"] == s))
            .collect();
        Ok(page("/v1/invoice_payments", found, limit))
    })();
    reply(result)
}
