//! The hosted pages: Checkout (`Pay` / `Cancel`), the billing portal
//! (`Cancel subscription` / `Return`) and charge receipts. Plain HTML, no script.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::actions::{self, act};
use crate::api::AppState;
use crate::error::ApiError;
use crate::objects::product_name;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/checkout/{id}", get(checkout_page))
        .route("/checkout/{id}/pay", post(pay))
        .route("/billing_portal/{id}", get(portal_page))
        .route(
            "/billing_portal/{id}/subscriptions/{sub}/cancel",
            post(portal_cancel),
        )
        .route("/receipts/{id}", get(receipt))
}

const ZERO_DECIMAL: &[&str] = &[
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
];

/// `2000, "usd"` → `20.00 USD`; `500, "jpy"` → `500 JPY`.
pub fn money(amount: i64, currency: &str) -> String {
    let code = currency.to_ascii_uppercase();
    if ZERO_DECIMAL.contains(&currency.to_ascii_lowercase().as_str()) {
        return format!("{amount} {code}");
    }
    let sign = if amount < 0 { "-" } else { "" };
    let abs = amount.unsigned_abs();
    format!("{sign}{}.{:02} {code}", abs / 100, abs % 100)
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} · Stripe stand-in</title></head>\n<body>\n{body}\n\
         <p><small>Stripe stand-in for tests: no real payment happens.</small></p>\n</body></html>\n",
        escape(title)
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}

fn not_found(what: &str) -> Response {
    let mut response = page(
        "Not found",
        &format!("<h1>Not found</h1><p>No such {}.</p>", escape(what)),
    );
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

async fn checkout_page(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let Some(s) = store.sessions.get(&id) else {
        return not_found("Checkout Session");
    };
    let name = product_name(&store, &s.price);
    let price = store.prices.get(&s.price);
    let amount = price.map_or(0, |p| p.unit_amount * s.quantity);
    let currency = price.map_or("usd", |p| p.currency.as_str());
    let every = price
        .and_then(|p| p.recurring.as_ref())
        .map(|r| match r.interval_count {
            1 => format!(" per {}", r.interval),
            n => format!(" every {n} {}s", r.interval),
        })
        .unwrap_or_default();
    let cancel = s
        .cancel_url
        .as_ref()
        .map(|url| {
            format!(
                "<p><a id=\"cancel\" href=\"{}\">Cancel</a></p>",
                escape(url)
            )
        })
        .unwrap_or_default();
    let body = match s.status.as_str() {
        "open" => format!(
            "<h1>Pay {name}</h1>\n<p id=\"product\">{name}</p>\n\
             <p id=\"amount\">{amount}{every}</p>\n<p id=\"currency\">{code}</p>\n\
             <form method=\"post\" action=\"{base}checkout/{id}/pay\">\
             <button type=\"submit\">Pay</button></form>\n{cancel}",
            name = escape(&name),
            amount = escape(&money(amount, currency)),
            every = escape(&every),
            code = escape(&currency.to_ascii_uppercase()),
            base = escape(&shared.public_base),
            id = escape(&id),
        ),
        "complete" => format!(
            "<h1>Paid</h1><p>{} is paid.</p><p><a href=\"{}\">Continue</a></p>",
            escape(&name),
            escape(&s.success_url.replace("{CHECKOUT_SESSION_ID}", &s.id)),
        ),
        _ => format!("<h1>Expired</h1><p>This Checkout Session is no longer active.</p>{cancel}"),
    };
    page(&format!("Pay {name}"), &body)
}

async fn pay(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let result = act(&shared, (None, None), |store, batch| {
        actions::pay_session(store, batch, &shared.public_base, &id)?;
        let s = store
            .sessions
            .get(&id)
            .ok_or_else(|| ApiError::no_such("checkout.session", &id, None))?;
        Ok(s.success_url.replace("{CHECKOUT_SESSION_ID}", &s.id))
    });
    match result {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(err) => {
            let mut response = page(
                "Payment failed",
                &format!("<h1>Payment failed</h1><p>{}</p>", escape(&err.message)),
            );
            *response.status_mut() = err.status;
            response
        }
    }
}

async fn portal_page(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let Some(portal) = store.portal_sessions.get(&id) else {
        return not_found("billing portal session");
    };
    let mut subs: Vec<_> = store
        .subscriptions
        .values()
        .filter(|s| s.customer == portal.customer)
        .collect();
    subs.sort_by_key(|s| s.seq);
    let mut rows = String::new();
    for sub in &subs {
        let name = product_name(&store, &sub.price);
        let ends = chrono::DateTime::from_timestamp(sub.period_end, 0)
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let note = if sub.cancel_at_period_end {
            format!(" (cancels on {ends})")
        } else {
            format!(" (renews on {ends})")
        };
        let action = if sub.status == "canceled" {
            String::new()
        } else {
            format!(
                "<form method=\"post\" action=\"{}billing_portal/{}/subscriptions/{}/cancel\">\
                 <button type=\"submit\">Cancel subscription</button></form>",
                escape(&shared.public_base),
                escape(&id),
                escape(&sub.id),
            )
        };
        let note = if sub.status == "canceled" {
            String::new()
        } else {
            note
        };
        rows.push_str(&format!(
            "<li id=\"{sid}\"><span class=\"product\">{name}</span> — \
             <span class=\"status\">{status}</span>{note}{action}</li>\n",
            sid = escape(&sub.id),
            name = escape(&name),
            status = escape(&sub.status),
            note = escape(&note),
        ));
    }
    if rows.is_empty() {
        rows.push_str("<li>No subscriptions.</li>");
    }
    let back = portal
        .return_url
        .as_ref()
        .map(|url| {
            format!(
                "<p><a id=\"return\" href=\"{}\">Return</a></p>",
                escape(url)
            )
        })
        .unwrap_or_default();
    page(
        "Billing",
        &format!("<h1>Your subscriptions</h1>\n<ul>\n{rows}</ul>\n{back}"),
    )
}

async fn portal_cancel(
    State(shared): State<AppState>,
    Path((id, sub)): Path<(String, String)>,
) -> Response {
    let result = act(&shared, (None, None), |store, batch| {
        let portal = store
            .portal_sessions
            .get(&id)
            .ok_or_else(|| ApiError::no_such("billing portal session", &id, None))?;
        let owned = store
            .subscriptions
            .get(&sub)
            .is_some_and(|s| s.customer == portal.customer);
        if !owned {
            return Err(ApiError::no_such("subscription", &sub, None));
        }
        actions::cancel(store, batch, &sub, false)
    });
    match result {
        Ok(()) => {
            Redirect::to(&format!("{}billing_portal/{id}", shared.public_base)).into_response()
        }
        Err(err) => {
            let mut response = page(
                "Error",
                &format!("<h1>Error</h1><p>{}</p>", escape(&err.message)),
            );
            *response.status_mut() = err.status;
            response
        }
    }
}

async fn receipt(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    let Some(charge) = store.charges.get(&id) else {
        return not_found("receipt");
    };
    let refunded = charge.amount_refunded();
    let mut body = format!(
        "<h1>Receipt</h1><p>Paid {}</p>",
        escape(&money(charge.amount, &charge.currency))
    );
    if refunded > 0 {
        body.push_str(&format!(
            "<p>Refunded {}</p>",
            escape(&money(refunded, &charge.currency))
        ));
    }
    page("Receipt", &body)
}
