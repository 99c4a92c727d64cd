//! The customer area: who is signed in and in which organisation, and
//! "My products" (the organisation's entitlements with their status and
//! window in plain words). A customer without an organisation is told to
//! ask for an invitation (`RequireMember`).

use crate::server_fns::entitlements::my_entitlements;
use crate::ui::auth_context::use_auth;
use crate::ui::components::role_gate::RequireMember;
use crate::ui::components::widgets::{member_gate, entitlement_tone, source_words, Badge, LoadError, LINK};
use crate::domain::organisation::Capability;
use crate::error::AppError;
use crate::views::EntitlementView;
use leptos::prelude::*;
use leptos_meta::Title;

type Entitlements = Resource<Result<Vec<EntitlementView>, AppError>>;

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    // Outside RequireRole: see `widgets::gate`.
    let items: Entitlements = Resource::new(
        || (),
        move |_| async move {
            member_gate(auth, Capability::Pull).await?;
            my_entitlements().await
        },
    );
    view! {
        <Title text="My account"/>
        <RequireMember>
            <h1 class="text-2xl font-semibold">"My account"</h1>
            <p class="mt-2 text-slate-700">
                "Signed in as "
                <strong data-testid="account-email">
                    {move || auth.user.get().and_then(|r| r.ok()).flatten().map(|u| u.email)}
                </strong>
                {move || auth.user.get().and_then(|r| r.ok()).flatten().and_then(|u| u.membership).map(|m| view! {
                    ", "{m.role.label().to_lowercase()}" of "
                    <a class=LINK href="/account/organisation" data-testid="organisation-link">{m.organisation}</a>
                })}
            </p>
            {move || auth.user.get().and_then(|r| r.ok()).flatten().filter(|u| !u.email_verified).map(|_| view! {
                <p role="status" data-testid="unconfirmed" class="mt-3 rounded border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                    "Confirm your e-mail address to buy and to make registry credentials: follow the link we mailed you. "
                    <a class=LINK href="/settings">"Send it again"</a>
                </p>
            })}
            <div class="mt-6 grid gap-4 md:grid-cols-2">
                <MyProducts items/>
                <section class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
                    <h2 class="font-semibold">"Pull credentials"</h2>
                    <p class="mt-2 text-sm text-slate-600">
                        "Your registry clients (docker, podman, Kubernetes) log in with a pull credential. "
                        <a class=LINK href="/account/credentials" data-testid="credentials-link">"Manage pull credentials and copy the pull commands"</a>
                    </p>
                </section>
                {move || auth.user.get().and_then(|r| r.ok()).flatten().filter(|u| u.may(Capability::Billing)).map(|_| view! {
                    <section class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
                        <h2 class="font-semibold">"Orders"</h2>
                        <p class="mt-2 text-sm text-slate-600">
                            "Subscriptions and purchases made online, with their renewal dates. "
                            <a class=LINK href="/account/orders" data-testid="orders-link">"See your orders and manage billing"</a>
                        </p>
                    </section>
                })}
            </div>
        </RequireMember>
    }
}

#[component]
fn MyProducts(items: Entitlements) -> impl IntoView {
    view! {
        <section class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
            <h2 class="font-semibold">"My products"</h2>
            <Transition fallback=|| view! { <p class="mt-2 text-sm text-slate-500">"Loading…"</p> }>
                {move || items.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-2 text-sm text-slate-600" data-testid="no-products">
                            "You have no products yet. What you buy appears here with its access window. "
                            <a class=LINK href="/catalogue">"Browse the catalogue"</a>
                        </p>
                    }.into_any(),
                    Ok(list) => view! {
                        <ul class="mt-2 divide-y divide-slate-100" data-testid="my-products">
                            {list.into_iter().map(|e| {
                                let tone = entitlement_tone(&e);
                                view! {
                                    <li class="flex flex-wrap items-center justify-between gap-2 py-2" data-testid="my-product">
                                        <div class="min-w-0">
                                            <a class="font-medium text-indigo-700 hover:underline" href=format!("/catalogue/{}", e.product_slug)>{e.product_name}</a>
                                            <div class="text-xs text-slate-500">{source_words(e.source)}</div>
                                        </div>
                                        <Badge text=e.summary tone testid="entitlement-summary"/>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                        <p class="mt-3 text-sm">
                            <a class=LINK href="/account/credentials">"Pull your images: credentials and copy-ready commands"</a>
                        </p>
                    }.into_any(),
                    Err(e) => view! { <div class="mt-2"><LoadError error=e/></div> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
