//! Admin: customers (`/admin/customers`), each an organisation (its name,
//! first owner, member count): search, pages of 25, and the form that
//! creates one. Each customer's page is `detail.rs`.

use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::feedback::reset_on;
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::server_fns::customers::{list_customers, CreateCustomer, CustomerPage};
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::views::urlencode;
use crate::ui::components::widgets::{gate, plural, FieldError, LoadError, CARD, LABEL, LINK};
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

type Customers = Resource<Result<CustomerPage, AppError>>;

#[component]
pub fn AdminCustomersPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let create = ServerAction::<CreateCustomer>::new();
    let search = move || query.read().get("q").filter(|s| !s.is_empty());
    let page = move || query.read().get("page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(1);
    let segment = move || query.read().get("segment").filter(|s| !s.is_empty());
    // Outside RequireRole: see `widgets::gate`.
    let customers: Customers = Resource::new(
        move || (search(), page(), segment(), create.version().get()),
        move |(q, p, s, _)| async move {
            gate(auth, &[Role::Admin]).await?;
            list_customers(q, Some(p), s).await
        },
    );
    view! {
        <Title text="Customers"/>
        <RequireRole roles=&[Role::Admin]>
            <CustomersBody customers create/>
        </RequireRole>
    }
}

#[component]
fn CustomersBody(customers: Customers, create: ServerAction<CreateCustomer>) -> impl IntoView {
    let query = use_query_map();
    let search = move || query.read().get("q").filter(|s| !s.is_empty());
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let created = move || create.value().get().and_then(|r| r.ok());
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(create.value().get(), Some(Ok(_))), form);

    view! {
        <h1 class="text-2xl font-semibold">"Customers"</h1>
        {move || {
            let segment = query.read().get("segment").and_then(|s| crate::views::CustomerSegment::parse(&s));
            segment.map(|s| view! {
                <p class="mt-1 text-sm text-slate-700" data-testid="customer-segment">
                    {s.title()}" · "<a class=LINK href="/admin/customers">"All customers"</a>
                </p>
            })
        }}
        <div class="mt-6 grid gap-6 lg:grid-cols-3">
            <section class="min-w-0 lg:col-span-2">
                <form method="get" action="/admin/customers" class="mb-3 flex gap-2" role="search">
                    {move || query.read().get("segment").filter(|s| !s.is_empty()).map(|s| view! { <input type="hidden" name="segment" value=s/> })}
                    <input class=INPUT_CLASS type="search" name="q" placeholder="Search by e-mail or name" maxlength="100"
                        aria-label="Search customers" prop:value=move || search().unwrap_or_default()/>
                    <button type="submit" class=BUTTON>"Search"</button>
                </form>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || customers.get().map(|r| match r {
                        Ok(p) => {
                            let last_page = (p.total.max(1) as u32).div_ceil(p.per_page.max(1));
                            let q = search().unwrap_or_default();
                            let seg = query.read().get("segment").unwrap_or_default();
                            let link = move |n: u32| format!("/admin/customers?q={}&segment={}&page={n}", urlencode(&q), urlencode(&seg));
                            if p.customers.is_empty() {
                                let text = if search().is_some() { "No customers match this search." } else { "No customers yet." };
                                return view! { <Empty text testid="no-customers"/> }.into_any();
                            }
                            view! {
                                <DataTable columns=&["Organisation", "First owner", "Members", "Created", "Last login"] secondary=&["Created"] label="Customers" testid="customers-table">
                                    {p.customers.into_iter().map(|c| view! {
                                        <tr class="border-t border-slate-100 align-top">
                                            <td class=TD data-label="Organisation">{c.name.unwrap_or_default()}</td>
                                            <td class=format!("{TD} break-all") data-label="First owner">
                                                <a class=LINK href=format!("/admin/customers/{}", c.id)>{c.email}</a>
                                                {c.disabled.then(|| view! { <span class="ml-2 text-xs text-red-700">"disabled"</span> })}
                                            </td>
                                            <td class=TD data-label="Members" data-testid="member-count">{c.member_count}</td>
                                            <td class=format!("{TD2} whitespace-nowrap") data-label="Created"><UtcTime at=c.created_at/></td>
                                            <td class=format!("{TD} whitespace-nowrap") data-label="Last login"><MaybeUtcTime at=c.last_login_at/></td>
                                        </tr>
                                    }).collect_view()}
                                </DataTable>
                                <p class="mt-2 flex flex-wrap gap-4 text-sm text-slate-600" data-testid="pagination">
                                    <span>{format!("Page {} of {last_page} · {}", p.page, plural(p.total, "customer", "customers"))}</span>
                                    {(p.page > 1).then(|| view! { <a class=LINK href=link(p.page - 1)>"Previous"</a> })}
                                    {(p.page < last_page).then(|| view! { <a class=LINK href=link(p.page + 1)>"Next"</a> })}
                                </p>
                            }.into_any()
                        }
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    })}
                </Transition>
            </section>
            <section class=format!("{CARD} h-fit")>
                <h2 class="mb-3 font-semibold">"New customer"</h2>
                <ActionForm action=create node_ref=form attr:class="space-y-3" attr:data-testid="new-customer">
                    <FormError error fields=&["email", "name", "password"]/>
                    <label class=LABEL>
                        "E-mail"
                        <input class=INPUT_CLASS type="email" name="email" required=true autocomplete="off"/>
                    </label>
                    <FieldError name="email" error/>
                    <label class=LABEL>
                        "Name"<span class="font-normal text-slate-600">" (optional)"</span>
                        <input class=INPUT_CLASS type="text" name="name" maxlength="200" autocomplete="off"/>
                    </label>
                    <FieldError name="name" error/>
                    <label class=LABEL>
                        "Password"<span class="font-normal text-slate-600">" (optional: without one they cannot log in)"</span>
                        <input class=INPUT_CLASS type="password" name="password" autocomplete="new-password"/>
                    </label>
                    <FieldError name="password" error/>
                    <button type="submit" class=BUTTON>"Create customer"</button>
                    {move || created().map(|c| view! {
                        <p role="status" class="text-sm text-emerald-800" data-testid="created-customer">
                            "Customer created: "
                            <a class=LINK href=format!("/admin/customers/{}", c.id)>{c.email}</a>
                        </p>
                    })}
                </ActionForm>
            </section>
        </div>
    }
}
