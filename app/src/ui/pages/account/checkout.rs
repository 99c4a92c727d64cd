//! Buying online: the buy buttons of a catalogue product page (`BuyBox`),
//! and the page Stripe sends the customer back to (`/checkout/success`),
//! which waits for Stripe's confirmation (the webhook) before it says the
//! access is active. The orders page is in `billing_orders.rs`.

use crate::server_fns::billing::{checkout_status, StartCheckout};
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::BUTTON;
use crate::ui::components::role_gate::RequireMember;
use crate::ui::components::widgets::{member_gate, LoadError, CARD, LINK};
use crate::domain::catalogue::{format_money, PriceKind};
use crate::domain::organisation::Capability;
use crate::domain::Role;
use crate::error::AppError;
use crate::views::{CheckoutStatusView, PriceView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use std::time::Duration;

/// Sends the browser to `url` (Stripe's checkout or portal page). Only ever
/// called from event handlers and effects, so only in the browser.
pub fn go_to(url: &str) {
    let _ = window().location().set_href(url);
}

/// The accessible name and text of a price's buy button, e.g.
/// "Subscribe monthly — $49.00"; `None` for trials (not sold online).
pub fn buy_label(price: &PriceView) -> Option<String> {
    let money = format_money(price.amount_cents, &price.currency);
    match price.kind {
        PriceKind::Monthly => Some(format!("Subscribe monthly — {money}")),
        PriceKind::Yearly => Some(format!("Subscribe yearly — {money}")),
        PriceKind::OneTime { months } => {
            Some(format!("Buy {months} month{} — {money}", if months == 1 { "" } else { "s" }))
        }
        PriceKind::Trial { .. } => None,
    }
}

const NOTE: &str = "mt-4 border-t border-slate-100 pt-3 text-sm text-slate-600";

/// The product page's buying part: a button per active price for customers
/// whose role in their organisation may buy, when Stripe is set up;
/// otherwise what to do instead.
#[component]
pub fn BuyBox(prices: Vec<PriceView>, online: bool) -> impl IntoView {
    let auth = use_auth();
    let prices = StoredValue::new(prices.into_iter().filter(|p| p.active).collect::<Vec<_>>());
    // After logging in (or signing up) the visitor comes back to this page.
    let here = leptos_router::hooks::use_location().pathname.get_untracked();
    let login = StoredValue::new(format!("/login?next={}", crate::views::urlencode(&here)));
    let signup = StoredValue::new(format!("/signup?next={}", crate::views::urlencode(&here)));
    view! {
        <Transition fallback=|| ()>
            {move || {
                let user = auth.user.get().and_then(|r| r.ok()).flatten();
                let role = user.as_ref().map(|u| u.role);
                let buyer = user.is_some_and(|u| u.may(Capability::Billing));
                let prices = prices.get_value();
                match role {
                    Some(Role::Admin | Role::Auditor) => view! {
                        <p class=NOTE data-testid="buying-note">"Customers buy here online; staff accounts cannot buy."</p>
                    }.into_any(),
                    _ if prices.is_empty() => view! {
                        <p class=NOTE data-testid="buying-note">"Not sold online: contact sales below."</p>
                    }.into_any(),
                    _ if !online => view! {
                        <p class=NOTE data-testid="buying-note">"Online payment is not set up yet: contact the vendor for access."</p>
                        {role.is_none().then(|| view! { <p class="mt-2 text-sm"><a class=LINK href=signup.get_value()>"Create an account"</a></p> })}
                    }.into_any(),
                    None => view! {
                        <p class=NOTE data-testid="buying-note">
                            <a class=LINK href=login.get_value() data-testid="login-to-buy">"Log in to buy"</a>
                            " or "<a class=LINK href=signup.get_value()>"create an account"</a>"."
                        </p>
                    }.into_any(),
                    Some(Role::Customer) if !buyer => view! {
                        <p class=NOTE data-testid="buying-note">"Your organisation's owners and billing members buy here."</p>
                    }.into_any(),
                    Some(Role::Customer) => view! {
                        <ul class="mt-4 space-y-3 border-t border-slate-100 pt-3" data-testid="buy-buttons">
                            {prices.into_iter().map(|p| view! { <BuyOption price=p/> }).collect_view()}
                        </ul>
                    }.into_any(),
                }
            }}
        </Transition>
    }
}

/// One price: its button (disabled while Stripe's page is being prepared)
/// and the reason when it cannot be bought, next to it.
#[component]
fn BuyOption(price: PriceView) -> impl IntoView {
    let Some(label) = buy_label(&price) else {
        return view! {
            <li class="text-sm text-slate-600" data-testid="trial-note">
                "Trial: request it below"
                <span class="block text-xs text-slate-500">{price.label}</span>
            </li>
        }
        .into_any();
    };
    let action = ServerAction::<StartCheckout>::new();
    // Disabled only while the request runs: a page the browser restores from
    // its back/forward cache (Back from Stripe) must not come back disabled.
    Effect::new(move |_| {
        if let Some(Ok(url)) = action.value().get() {
            go_to(&url);
        }
    });
    let error = move || action.value().get().and_then(|r| r.err());
    let price_id = price.id;
    view! {
        <li>
            <button
                type="button"
                class=format!("{BUTTON} w-full")
                data-testid="buy"
                data-price-id=price_id.to_string()
                disabled=move || action.pending().get()
                on:click=move |_| {
                    action.dispatch(StartCheckout { price_id });
                }
            >
                {label}
            </button>
            {move || error().map(|e| view! {
                <p role="alert" class="mt-1 text-sm text-red-700" data-testid="buy-error">{e.to_string()}</p>
            })}
        </li>
    }
    .into_any()
}

/// How long the success page waits for Stripe's confirmation (one check a
/// second).
const POLL_LIMIT: u32 = 90;

type Status = Resource<Result<CheckoutStatusView, AppError>>;

/// `/checkout/success?session_id=cs_…`: Stripe's return. The browser's
/// return grants nothing: the page asks the portal once a second (for about
/// a minute and a half) until the webhook has made the access active.
#[component]
pub fn CheckoutSuccessPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let session_id = move || query.read().get("session_id").unwrap_or_default();
    let tick = RwSignal::new(0u32);
    // Whether the last answer was "pending" (or none came yet): written
    // where the answer is read, inside the <Transition/>, so the polling
    // below never reads the resource outside a suspense boundary.
    let waiting = RwSignal::new(true);
    // Outside RequireRole: see `widgets::gate`.
    let status: Status = Resource::new(
        move || (session_id(), tick.get()),
        move |(sid, _)| async move {
            member_gate(auth, Capability::Billing).await?;
            if sid.is_empty() {
                return Err(AppError::NotFound);
            }
            checkout_status(sid).await
        },
    );
    // Effects run only in the browser: poll while the answer is "pending",
    // stop at the limit or at any other answer, and on leaving the page.
    Effect::new(move |_| {
        let handle = StoredValue::new(None::<leptos::leptos_dom::helpers::IntervalHandle>);
        let poll = move || {
            if waiting.get_untracked() && tick.get_untracked() < POLL_LIMIT {
                tick.update(|t| *t += 1);
            } else if let Some(h) = handle.get_value() {
                h.clear();
            }
        };
        if let Ok(h) = set_interval_with_handle(poll, Duration::from_secs(1)) {
            handle.set_value(Some(h));
            on_cleanup(move || h.clear());
        }
    });
    view! {
        <Title text="Checkout"/>
        <RequireMember>
            <section class=format!("{CARD} mx-auto max-w-xl") data-testid="checkout-result">
                <h1 class="text-2xl font-semibold">"Thank you"</h1>
                <Transition fallback=|| view! { <p class="mt-3 text-slate-600">"Loading…"</p> }>
                    {move || status.get().map(|r| {
                        waiting.set(matches!(r, Ok(CheckoutStatusView::Pending)));
                        outcome(r, tick.get() >= POLL_LIMIT)
                    })}
                </Transition>
            </section>
        </RequireMember>
    }
}

/// What the success page says for one answer.
fn outcome(r: Result<CheckoutStatusView, AppError>, gave_up: bool) -> AnyView {
    let orders = view! { <a class=LINK href="/account/orders" data-testid="orders-link">"See your orders"</a> };
    match r {
        Ok(CheckoutStatusView::Pending) if gave_up => view! {
            <p class="mt-3 text-slate-700" role="status" data-testid="checkout-waiting">
                "Still waiting for Stripe's confirmation. Your order page will show it when it arrives."
            </p>
            <p class="mt-3 text-sm">{orders}</p>
        }
        .into_any(),
        Ok(CheckoutStatusView::Pending) => view! {
            <p class="mt-3 font-medium text-slate-900" role="status" aria-live="polite" data-testid="checkout-pending">
                "Activating your access…"
            </p>
            <p class="mt-1 text-sm text-slate-600">
                "Your payment was sent to Stripe. Access starts as soon as Stripe confirms it to us, usually within seconds; this page updates by itself."
            </p>
        }
        .into_any(),
        Ok(CheckoutStatusView::Active { product_name, product_slug }) => view! {
            <p class="mt-3 font-medium text-emerald-800" role="status" data-testid="checkout-active">
                {format!("Access to {product_name} is active.")}
            </p>
            <p class="mt-1 text-sm text-slate-600">
                "Pull its images with a pull credential. "
                <a class=LINK href=format!("/catalogue/{product_slug}")>{product_name.clone()}</a>
            </p>
            <div class="mt-4 flex flex-wrap gap-4 text-sm">
                <a class=BUTTON href="/account/credentials" data-testid="create-credential-link">"Create a pull credential"</a>
                <span class="self-center">{orders}</span>
            </div>
        }
        .into_any(),
        Ok(CheckoutStatusView::Failed { message }) => view! {
            <p role="alert" class="mt-3 rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800" data-testid="checkout-failed">
                {capitalised(&message)}
            </p>
            <p class="mt-3 text-sm">{orders}" · "<a class=LINK href="/catalogue">"Back to the catalogue"</a></p>
        }
        .into_any(),
        Err(AppError::NotFound) => view! {
            <p class="mt-3 text-slate-700" data-testid="checkout-unknown">"We cannot find this checkout on your account."</p>
            <p class="mt-3 text-sm">{orders}</p>
        }
        .into_any(),
        Err(e) => view! { <div class="mt-3"><LoadError error=e/></div> }.into_any(),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}
