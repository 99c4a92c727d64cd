//! What a signed-in customer has of a product, on the catalogue and the
//! product page: the ownership line and panel ("You have access until …"),
//! and the request for a trial or for sales (`server_fns::requests`).

use crate::domain::organisation::Capability;
use crate::domain::request::RequestKind;
use crate::domain::Role;
use crate::server_fns::requests::RequestAccess;
use crate::ui::auth_context::use_auth;
use crate::ui::components::confirm::SECONDARY;
use crate::ui::components::escape::TextArea;
use crate::ui::components::form::{FormError, BUTTON};
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{FieldError, LABEL, LINK};
use crate::views::{urlencode, AccessRequestView, Ownership};
use leptos::prelude::*;

/// "You have access until 12 March 2027" (or that it renews, or how it ended).
#[component]
pub fn OwnershipLine(own: Ownership) -> impl IntoView {
    let (class, text) = if own.access {
        ("mt-1 text-sm font-medium text-emerald-800", format!("You have access: {}", own.summary))
    } else if own.open_request.is_some() {
        ("mt-1 text-sm text-slate-700", "You asked the vendor about it".to_owned())
    } else {
        ("mt-1 text-sm text-slate-700", format!("Your access: {}", own.summary))
    };
    view! { <p class=class data-testid="ownership">{text}</p> }
}

/// The product page's "you own this" box: until when, and where to go next.
#[component]
pub fn OwnedPanel(own: Ownership) -> impl IntoView {
    let auth = use_auth();
    let buyer = move || auth.user.get().and_then(|r| r.ok()).flatten().is_some_and(|u| u.may(Capability::Billing));
    view! {
        <div class="mb-4 rounded border border-emerald-200 bg-emerald-50 p-3 text-sm text-emerald-900" data-testid="owned">
            <p class="font-semibold">"You have access"</p>
            <p class="mt-1">
                {own.summary.clone()}
                {own.until.clone().map(|u| view! { " (" <UtcTime at=u/> ")" })}
            </p>
            <p class="mt-2 flex flex-wrap gap-3">
                <a class=LINK href="/account/credentials">"Registry credentials"</a>
                <Transition fallback=|| ()>
                    {move || buyer().then(|| view! { <a class=LINK href="/account/orders">"Orders and billing"</a> })}
                </Transition>
            </p>
        </div>
    }
}

/// Which requests a product offers: a trial (it has a trial price), contact
/// with sales (the vendor says so, or nothing is sold online).
#[derive(Clone, Copy)]
pub struct RequestOptions {
    pub trial: bool,
    pub contact: bool,
}

/// Asking for a trial or for sales: members write a message and send it; the
/// admin answers from the dashboard, by mail. An open request is shown instead.
#[component]
pub fn RequestBox(slug: String, asks: RequestOptions, open: Option<AccessRequestView>) -> impl IntoView {
    let auth = use_auth();
    let send = ServerAction::<RequestAccess>::new();
    let here = leptos_router::hooks::use_location().pathname.get_untracked();
    let login = format!("/login?next={}", urlencode(&here));
    let error = Signal::derive(move || send.value().get().and_then(|r| r.err()));
    let sent = move || send.value().get().and_then(|r| r.ok()).or_else(|| open.clone());
    let slug = StoredValue::new(slug);
    let login = StoredValue::new(login);
    view! {
        <section class="mt-4 border-t border-slate-100 pt-3" data-testid="request-box" aria-labelledby="request-heading">
            <h2 id="request-heading" class="font-semibold">
                {if asks.trial { "Try it first" } else { "Talk to sales" }}
            </h2>
            <Transition fallback=|| ()>
                {move || {
                    let user = auth.user.get().and_then(|r| r.ok()).flatten();
                    match (user, sent()) {
                        (_, Some(r)) => view! {
                            <p class="mt-2 text-sm text-slate-700" role="status" data-testid="request-sent">
                                {format!("You asked for {} on ", r.kind.words())}
                                <UtcTime at=r.created_at/>
                                ". The vendor answers by mail."
                            </p>
                        }.into_any(),
                        (None, None) => view! {
                            <p class="mt-2 text-sm text-slate-700">
                                <a class=LINK href=login.get_value() data-testid="login-to-request">"Log in"</a>
                                {if asks.trial { " to ask for a trial." } else { " to contact sales." }}
                            </p>
                        }.into_any(),
                        (Some(u), None) if u.role != Role::Customer || u.membership.is_none() => view! {
                            <p class="mt-2 text-sm text-slate-600">"Customers ask for trials and terms here."</p>
                        }.into_any(),
                        (Some(_), None) => view! {
                            <ActionForm action=send attr:class="mt-2 space-y-2" attr:data-testid="request-form">
                                <input type="hidden" name="slug" value=slug.get_value()/>
                                <FormError error fields=&["message"]/>
                                <label class=LABEL for="request-message">"Message to the vendor (optional)"</label>
                                <TextArea text="" attr:id="request-message" attr:name="message" attr:rows="3" attr:maxlength="2000"
                                    attr:class="mt-1 block w-full rounded border border-slate-300 px-3 py-2 text-sm"
                                    attr:placeholder="Your team, what you want to try, the terms you need"/>
                                <FieldError name="message" error/>
                                <div class="flex flex-wrap gap-2">
                                    {asks.trial.then(|| view! {
                                        <button type="submit" name="kind" value=RequestKind::Trial.as_str() class=BUTTON data-testid="request-trial">"Request a trial"</button>
                                    })}
                                    {asks.contact.then(|| view! {
                                        <button type="submit" name="kind" value=RequestKind::Contact.as_str()
                                            class=if asks.trial { SECONDARY } else { BUTTON } data-testid="contact-sales-request">"Contact sales"</button>
                                    })}
                                </div>
                            </ActionForm>
                        }.into_any(),
                    }
                }}
            </Transition>
        </section>
    }
}
