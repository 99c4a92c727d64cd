//! Orders bought online: the customer's page (`/account/orders`, with
//! "Manage billing", which opens Stripe's customer portal; for the
//! organisation's owners and billing members) and the read-only section of
//! the admin customer page. Both show the same table.

use crate::domain::order::{OrderMode, OrderStatus, PaymentIssue};
use crate::ui::pages::account::checkout::go_to;
use crate::server_fns::billing::{customer_orders, my_orders, BillingPortal};
use crate::ui::auth_context::{use_auth, Auth};
use crate::ui::components::form::BUTTON;
use crate::ui::components::role_gate::RequireMember;
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::components::widgets::{gate, member_gate, Badge, LoadError, Tone, LINK};
use crate::domain::catalogue::format_money;
use crate::domain::organisation::Capability;
use crate::domain::Role;
use crate::error::AppError;
use crate::views::OrderView;
use leptos::prelude::*;
use leptos_meta::Title;

pub type Orders = Resource<Result<Vec<OrderView>, AppError>>;

#[component]
pub fn OrdersPage() -> impl IntoView {
    let auth = use_auth();
    // Outside RequireRole: see `widgets::gate`.
    let orders: Orders = Resource::new(
        || (),
        move |_| async move {
            member_gate(auth, Capability::Billing).await?;
            my_orders().await
        },
    );
    let portal = ServerAction::<BillingPortal>::new();
    let billing = move || auth.user.get().and_then(|r| r.ok()).flatten().is_some_and(|u| u.may(Capability::Billing));
    view! {
        <Title text="Orders"/>
        <RequireMember>
            <p class="text-sm"><a class=LINK href="/account">"← My account"</a></p>
            <Show when=billing fallback=|| view! {
                <h1 class="mt-3 text-2xl font-semibold">"Orders"</h1>
                <p class="mt-2 text-slate-600" data-testid="orders-not-for-role">
                    "Orders and billing are for your organisation's owners and billing members. Ask an owner if you need them."
                </p>
            }>
                <div class="mt-3 flex flex-wrap items-start justify-between gap-3">
                    <div>
                        <h1 class="text-2xl font-semibold">"Orders"</h1>
                        <p class="mt-1 text-sm text-slate-600">
                            "What you bought online. Invoices, payment cards and cancellation are on Stripe: Manage billing."
                        </p>
                    </div>
                    // Only for an organisation that bought something: Stripe
                    // has nothing to manage for the others.
                    <Transition fallback=|| ()>
                        {move || orders.get().and_then(|r| r.ok()).filter(|l| !l.is_empty()).map(|_| view! { <ManageBilling portal/> })}
                    </Transition>
                </div>
                <section class="mt-6 min-w-0">
                    <Transition fallback=|| view! { <p class="text-slate-600">"Loading…"</p> }>
                        {move || orders.get().map(|r| match r {
                            Ok(list) if list.is_empty() => view! {
                                <p class="text-slate-600" data-testid="no-orders">
                                    "No orders yet — "<a class=LINK href="/catalogue">"browse the catalogue"</a>"."
                                </p>
                            }.into_any(),
                            Ok(list) => orders_table(list, false),
                            Err(e) => view! { <LoadError error=e/> }.into_any(),
                        })}
                    </Transition>
                </section>
            </Show>
        </RequireMember>
    }
}

/// Opens Stripe's customer portal; says why when there is nothing to manage.
#[component]
fn ManageBilling(portal: ServerAction<BillingPortal>) -> impl IntoView {
    // Disabled only while the request runs: a page the browser restores from
    // its back/forward cache (Back from Stripe) must not come back disabled.
    Effect::new(move |_| {
        if let Some(Ok(url)) = portal.value().get() {
            go_to(&url);
        }
    });
    view! {
        <div class="max-w-sm text-right">
            <button
                type="button"
                class=BUTTON
                data-testid="manage-billing"
                disabled=move || portal.pending().get()
                on:click=move |_| {
                    portal.dispatch(BillingPortal {});
                }
            >
                "Manage billing"
            </button>
            {move || portal.value().get().and_then(|r| r.err()).map(|e| view! {
                <p role="alert" class="mt-1 text-left text-sm text-red-700" data-testid="billing-error">{e.to_string()}</p>
            })}
        </div>
    }
}

/// A customer's orders for the admin customer page (admins; made in the
/// page component, outside `RequireRole`).
pub fn customer_orders_resource(auth: Auth, customer_id: impl Fn() -> Option<i64> + Send + Sync + 'static) -> Orders {
    Resource::new(customer_id, move |id| async move {
        gate(auth, &[Role::Admin]).await?;
        customer_orders(id.ok_or(AppError::NotFound)?).await
    })
}

/// The admin customer page's read-only "Orders" section.
#[component]
pub fn CustomerOrdersSection(orders: Orders) -> impl IntoView {
    view! {
        <Transition fallback=|| ()>
            {move || orders.get().map(|r| match r {
                // The page itself says "not found".
                Err(AppError::NotFound) => ().into_any(),
                Err(e) => view! { <div class="mt-6"><LoadError error=e/></div> }.into_any(),
                Ok(list) => view! {
                    <section class="mt-6" data-testid="customer-orders">
                        <h2 class="mb-2 text-lg font-semibold">"Orders"</h2>
                        {if list.is_empty() {
                            view! { <Empty text="No orders online." testid="no-orders"/> }.into_any()
                        } else {
                            orders_table(list, true)
                        }}
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}

/// "active", "payment overdue", … and a colour, for an order's status.
pub fn status_words(status: OrderStatus) -> (&'static str, Tone) {
    match status {
        OrderStatus::Active => ("active", Tone::Good),
        OrderStatus::Paid => ("paid", Tone::Good),
        OrderStatus::Pending => ("awaiting payment", Tone::Warn),
        OrderStatus::PastDue => ("payment overdue", Tone::Warn),
        OrderStatus::Incomplete => ("payment incomplete", Tone::Warn),
        OrderStatus::Unpaid => ("unpaid", Tone::Bad),
        OrderStatus::Refunded => ("refunded", Tone::Bad),
        OrderStatus::Canceled => ("canceled", Tone::Neutral),
        OrderStatus::Paused => ("paused", Tone::Warn),
        OrderStatus::Expired => ("checkout abandoned", Tone::Neutral),
    }
}

/// What is wrong with an order's latest payment, in the customer's words.
pub fn issue_words(issue: PaymentIssue, mode: OrderMode) -> &'static str {
    match (issue, mode) {
        (PaymentIssue::Disputed, _) => "payment disputed: access is paused until the dispute with your bank is settled",
        (PaymentIssue::Refunded, OrderMode::Subscription) => "payment refunded: the period it paid for has ended",
        (PaymentIssue::Refunded, OrderMode::Payment) => "payment refunded: access has ended",
        (PaymentIssue::DisputeLost, OrderMode::Subscription) => "payment reversed after a dispute: the period it paid for has ended",
        (PaymentIssue::DisputeLost, OrderMode::Payment) => "payment reversed after a dispute: access has ended",
    }
}

/// "monthly subscription", "yearly subscription" or "one-time".
pub fn what_words(o: &OrderView) -> &'static str {
    match (o.mode, o.interval.as_deref()) {
        (OrderMode::Subscription, Some("year")) => "yearly subscription",
        (OrderMode::Subscription, _) => "monthly subscription",
        _ => "one-time",
    }
}

/// "$49.00 / month", "$490.00 / year", "$500.00 once".
pub fn amount_words(o: &OrderView) -> String {
    let money = format_money(o.amount_cents, &o.currency);
    match (o.mode, o.interval.as_deref()) {
        (OrderMode::Subscription, Some(i)) => format!("{money} / {i}"),
        _ => format!("{money} once"),
    }
}

/// The orders table; product names link to the catalogue page, or for
/// admins to the product's admin page.
pub fn orders_table(list: Vec<OrderView>, admin: bool) -> AnyView {
    let rows = list
        .into_iter()
        .map(|o| {
            let (status, tone) = status_words(o.status);
            let issue = o.payment_issue.map(|i| issue_words(i, o.mode));
            let what = what_words(&o);
            let amount = amount_words(&o);
            let live = o.status.renews();
            let until = match (o.access_until.clone(), o.mode) {
                (Some(at), _) => view! { <UtcTime at/> }.into_any(),
                (None, OrderMode::Subscription) if live => "while subscribed".into_any(),
                _ => "—".into_any(),
            };
            let href = if admin { format!("/admin/products/{}", o.product_id) } else { format!("/catalogue/{}", o.product_slug) };
            view! {
                <tr class="border-t border-slate-100 align-top" data-testid="order" data-order-id=o.id.to_string()>
                    <td class=TD data-label="Product"><a class="font-medium text-indigo-700 underline hover:text-indigo-500" href=href>{o.product_name}</a></td>
                    <td class=TD2 data-label="What" data-testid="order-what">{what}</td>
                    <td class=format!("{TD} whitespace-nowrap") data-label="Amount" data-testid="order-amount">{amount}</td>
                    <td class=TD data-label="Status">
                        <Badge text=status tone testid="order-status"/>
                        {issue.map(|words| view! { <p class="mt-1 max-w-xs text-xs text-red-700" data-testid="order-issue">{words}</p> })}
                    </td>
                    <td class=TD data-label="Next renewal" data-testid="order-renewal"><MaybeUtcTime at=o.next_renewal.clone() none="—"/></td>
                    <td class=TD data-label="Access until" data-testid="order-until">{until}</td>
                    <td class=TD2 data-label="Ordered on"><UtcTime at=o.created_at.clone()/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <DataTable
            columns=&["Product", "What", "Amount", "Status", "Next renewal", "Access until", "Ordered on"]
            secondary=&["What", "Ordered on"]
            label="Orders"
            testid="orders-table"
        >
            {rows}
        </DataTable>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(mode: &str, interval: Option<&str>) -> OrderView {
        OrderView {
            id: 1,
            product_id: 2,
            product_name: "Acme Widget".into(),
            product_slug: "acme-widget".into(),
            mode: OrderMode::parse(mode).unwrap(),
            status: OrderStatus::Active,
            amount_cents: 4900,
            currency: "usd".into(),
            interval: interval.map(Into::into),
            created_at: "2026-05-01T10:00:00Z".into(),
            next_renewal: None,
            access_until: None,
            entitlement_id: None,
            payment_issue: None,
        }
    }

    #[test]
    fn orders_in_words() {
        assert_eq!(amount_words(&order("subscription", Some("month"))), "$49.00 / month");
        assert_eq!(amount_words(&order("subscription", Some("year"))), "$49.00 / year");
        assert_eq!(amount_words(&order("payment", None)), "$49.00 once");
        assert_eq!(what_words(&order("subscription", Some("year"))), "yearly subscription");
        assert_eq!(what_words(&order("payment", None)), "one-time");
        assert_eq!(status_words(OrderStatus::parse("past_due").unwrap()).0, "payment overdue");
    }
}
