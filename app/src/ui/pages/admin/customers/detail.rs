//! Admin: one customer (`/admin/customers/:id`), an organisation: who it
//! is, its members and pending invitations, its entitlements with the
//! actions on each (`entitlements.rs`), the form that grants a product by
//! hand, its recent activity, its pull credentials (`credentials.rs`) and
//! its orders bought online (`account/orders.rs`, read-only) and its
//! latest pulls (`account/pulls.rs`'s table).

use crate::ui::pages::audit::list::outcome_class;
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::pages::admin::customers::entitlements::{EntitlementsTable, GrantForm};
use crate::ui::pages::account::orders::{customer_orders_resource, CustomerOrdersSection};
use crate::ui::pages::admin::customers::credentials::{CustomerCredentials, CustomerCredentialsSection};
use crate::server_fns::catalogue::admin_products;
use crate::server_fns::pulls::customer_pulls;
use crate::ui::pages::account::pulls::PullsTable;
use crate::server_fns::customers::{customer_detail, CustomerOverview};
use crate::server_fns::entitlements::{ChangeEntitlement, GrantEntitlement};
use crate::ui::auth_context::use_auth;
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::widgets::{gate, Badge, LoadError, Tone, CARD, LINK};
use crate::domain::Role;
use crate::error::AppError;
use crate::ui::components::errors::NotFound;
use crate::views::{CustomerView, MemberView, ProductView, PullView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

type Loaded = Resource<Result<(CustomerOverview, Vec<ProductView>), AppError>>;
type Pulls = Resource<Result<Vec<PullView>, AppError>>;

#[component]
pub fn AdminCustomerPage() -> impl IntoView {
    let auth = use_auth();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let grant = ServerAction::<GrantEntitlement>::new();
    let change = ServerAction::<ChangeEntitlement>::new();
    // One resource for the page (the customer, and the products the grant
    // form offers), created outside RequireRole: see `widgets::gate`.
    let overview: Loaded = Resource::new(
        move || (id(), grant.version().get(), change.version().get()),
        move |(id, _, _)| async move {
            gate(auth, &[Role::Admin]).await?;
            let id = id.ok_or(AppError::NotFound)?;
            let overview = customer_detail(id).await?;
            let products = admin_products().await?;
            Ok((overview, products))
        },
    );
    let creds = CustomerCredentials::new(auth, id);
    let orders = customer_orders_resource(auth, id);
    let pulls: Pulls = Resource::new(id, move |id| async move {
        gate(auth, &[Role::Admin]).await?;
        customer_pulls(id.ok_or(AppError::NotFound)?, None).await
    });
    view! {
        <Title text="Customer"/>
        <RequireRole roles=&[Role::Admin]>
            <CustomerBody overview grant change/>
            <CustomerOrdersSection orders/>
            <CustomerCredentialsSection customer_id=Signal::derive(id) creds/>
            <CustomerPulls pulls/>
        </RequireRole>
    }
}

#[component]
fn CustomerBody(overview: Loaded, grant: ServerAction<GrantEntitlement>, change: ServerAction<ChangeEntitlement>) -> impl IntoView {
    view! {
        <p class="text-sm"><a class=LINK href="/admin/customers">"← Customers"</a></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || overview.get().map(|r| match r {
                Ok((o, products)) => view! { <Overview overview=o products grant change/> }.into_any(),
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Overview(
    overview: CustomerOverview,
    products: Vec<ProductView>,
    grant: ServerAction<GrantEntitlement>,
    change: ServerAction<ChangeEntitlement>,
) -> impl IntoView {
    let CustomerOverview { customer, entitlements, activity } = overview;
    let customer_id = customer.id;
    let members = customer.members.clone();
    view! {
        <h1 class="mt-3 text-2xl font-semibold break-all" data-testid="customer-email">{customer.email.clone()}</h1>
        <Facts customer/>
        <Members members/>
        <section class="mt-6">
            <h2 class="mb-2 text-lg font-semibold">"Entitlements"</h2>
            <EntitlementsTable entitlements change/>
        </section>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <section class=CARD>
                <h2 class="mb-3 font-semibold">"Grant a product"</h2>
                <GrantForm customer_id products grant/>
            </section>
            <section class=CARD>
                <h2 class="mb-3 flex items-baseline justify-between font-semibold">
                    "Recent activity"
                    <a class=LINK href=format!("/audit?customer={customer_id}") data-testid="customer-events">"All events"</a>
                </h2>
                {if activity.is_empty() {
                    view! { <Empty text="No activity yet."/> }.into_any()
                } else {
                    view! {
                        <ul class="divide-y divide-slate-100 text-sm" data-testid="activity">
                            {activity.into_iter().map(|e| {
                                let outcome_class = outcome_class(&e.outcome);
                                view! {
                                    <li class="py-2">
                                        <div class="flex flex-wrap items-baseline justify-between gap-2">
                                            <span class="font-mono text-xs">{e.action}</span>
                                            <span class="text-xs text-slate-600 whitespace-nowrap"><UtcTime at=e.occurred_at_iso/></span>
                                        </div>
                                        <div class="text-slate-600">
                                            <span>{e.actor}</span>" · "<span class=outcome_class>{e.outcome}</span>
                                            {e.target.map(|t| view! { " · "<span>{t}</span> })}
                                        </div>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </div>
    }
}

#[component]
fn Facts(customer: CustomerView) -> impl IntoView {
    let row = |term: &'static str, value: AnyView| {
        view! {
            <div>
                <dt class="text-xs font-semibold uppercase tracking-wide text-slate-600">{term}</dt>
                <dd class="mt-0.5 wrap-anywhere">{value}</dd>
            </div>
        }
    };
    view! {
        <dl class="mt-3 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 text-sm shadow-sm grid-cols-2 sm:grid-cols-3 lg:grid-cols-6" data-testid="customer-facts">
            {row("Organisation", customer.name.unwrap_or_else(|| "—".into()).into_any())}
            {row("Customer id", customer.id.to_string().into_any())}
            {row("Members", customer.member_count.to_string().into_any())}
            {row("Created", view! { <UtcTime at=customer.created_at/> }.into_any())}
            {row("Last login", view! { <MaybeUtcTime at=customer.last_login_at/> }.into_any())}
            {row("Account", if customer.disabled { "disabled" } else { "enabled" }.into_any())}
        </dl>
    }
}

/// The organisation's members and pending invitations, each with a link to
/// the events of that person.
#[component]
fn Members(members: Vec<MemberView>) -> impl IntoView {
    view! {
        <section class="mt-6">
            <h2 class="mb-2 text-lg font-semibold">"Members"</h2>
            <DataTable columns=&["Address", "Role", "Joined / invited", "Last log-in", "Last pull"] secondary=&["Last log-in", "Last pull"] label="Members" testid="members-table">
                {members.into_iter().map(|m| {
                    let joined = match m.joined_at {
                        Some(at) => view! { <UtcTime at/> }.into_any(),
                        None => {
                            let by = m.invited_by.map_or_else(|| "invited".to_owned(), |by| format!("invited by {by}"));
                            view! { <Badge text="pending" tone=Tone::Warn/>" "{format!("{by}, not yet accepted")} }.into_any()
                        }
                    };
                    view! {
                        <tr class="border-t border-slate-100 align-top" data-testid="member-row">
                            <td class=format!("{TD} break-all") data-label="Address">
                                <span class="font-medium">{m.email.clone()}</span>
                                {m.name.map(|n| view! { <div class="text-xs text-slate-600">{n}</div> })}
                                {m.disabled.then(|| view! { <div class="text-xs text-red-700">"disabled"</div> })}
                                <div class="text-xs"><a class=LINK href=format!("/audit?member={}", m.id) aria-label=format!("Events of {}", m.email)>"Events"</a></div>
                            </td>
                            <td class=TD data-label="Role">{m.role.label()}</td>
                            <td class=TD data-label="Joined / invited">{joined}</td>
                            <td class=format!("{TD2} whitespace-nowrap") data-label="Last log-in"><MaybeUtcTime at=m.last_login_at/></td>
                            <td class=format!("{TD2} whitespace-nowrap") data-label="Last pull"><MaybeUtcTime at=m.last_pulled_at/></td>
                        </tr>
                    }
                }).collect_view()}
            </DataTable>
        </section>
    }
}

/// The customer's latest pulls (a page of 100, newest first).
#[component]
fn CustomerPulls(pulls: Pulls) -> impl IntoView {
    view! {
        <section class="mt-6 min-w-0" data-testid="customer-pulls">
            <h2 class="mb-2 text-lg font-semibold">"Pulls"</h2>
            <Transition fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                {move || pulls.get().map(|r| match r {
                    Ok(list) if list.is_empty() => {
                        view! { <Empty text="No pulls yet." testid="pulls-empty"/> }.into_any()
                    }
                    Ok(list) => view! { <PullsTable pulls=list/> }.into_any(),
                    Err(AppError::NotFound) => ().into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}
