//! Admin: a customer's entitlements table with Extend, Suspend, Resume and
//! Revoke on each row, and the Grant form. Every change asks for a
//! confirmation first (`Confirm`); the server records each in the audit log
//! in the same transaction as the change.

use crate::server_fns::entitlements::{ChangeEntitlement, GrantEntitlement};
use crate::ui::components::confirm::{Confirm, CONFIRM, CONFIRM_DANGER};
use crate::ui::components::form::{FormError, INPUT_CLASS};
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::feedback::{reset_on, Toast};
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::components::widgets::{day, entitlement_tone, Badge, FieldError, LABEL, LINK};
use crate::domain::{access::EntitlementStatus, catalogue::ProductStatus};
use crate::views::{EntitlementView, ProductView};
use leptos::prelude::*;

const SMALL_INPUT: &str = "block rounded border border-slate-300 bg-white px-2 py-1 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200";

#[component]
pub fn EntitlementsTable(entitlements: Vec<EntitlementView>, change: ServerAction<ChangeEntitlement>) -> impl IntoView {
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    if entitlements.is_empty() {
        return view! { <Empty text="No entitlements yet: grant one below." testid="no-entitlements"/> }.into_any();
    }
    view! {
        <FormError error fields=&[]/>
        <div class="mt-2">
            <DataTable
                columns=&["Product", "Source", "Status", "Access", "Window", "Actions"]
                secondary=&["Source", "Status"]
                label="Entitlements"
                testid="entitlements-table"
            >
                {entitlements.into_iter().map(|e| view! { <Row e change/> }).collect_view()}
            </DataTable>
        </div>
    }
    .into_any()
}

#[component]
fn Row(e: EntitlementView, change: ServerAction<ChangeEntitlement>) -> impl IntoView {
    let id = e.id;
    let tone = entitlement_tone(&e);
    let product_name = e.product_name.clone();
    let end = StoredValue::new(e.ends_at.as_deref().map(day).unwrap_or_default());
    let name = StoredValue::new(e.product_name.clone());
    let revoked = e.status == EntitlementStatus::Revoked;
    let suspended = e.status == EntitlementStatus::Suspended;
    view! {
        <tr class=if revoked { "border-t border-slate-100 bg-slate-50 align-top text-slate-700" } else { "border-t border-slate-100 align-top" }
            data-testid="entitlement-row" data-product=product_name>
            <td class=TD data-label="Product">
                <a class=LINK href=format!("/admin/products/{}", e.product_id)>{e.product_name}</a>
                {e.note.map(|n| view! { <div class="text-xs text-slate-600">{n}</div> })}
            </td>
            <td class=TD2 data-label="Source">{e.source.as_str()}</td>
            <td class=TD2 data-label="Status" data-testid="entitlement-status">{e.status.as_str()}</td>
            <td class=TD data-label="Access"><Badge text=e.summary tone testid="entitlement-summary"/></td>
            <td class=TD data-label="Window">
                <UtcTime at=e.starts_at.clone()/>" → "<MaybeUtcTime at=e.ends_at.clone() none="open-ended"/>
            </td>
            <td class=TD data-label="Actions">
                <div class="flex flex-wrap gap-2">
                    {(!revoked).then(|| view! {
                        <Confirm label="Extend" name=format!("Extend {}", name.get_value()) testid="extend" question="Set a new end date (empty = open-ended)?">
                            <ActionForm action=change attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="action" value="extend"/>
                                <label class=LABEL>
                                    "New end"
                                    <input class=SMALL_INPUT type="date" name="ends_on" value=end.get_value()/>
                                </label>
                                <button type="submit" class=CONFIRM>"Confirm extend"</button>
                            </ActionForm>
                        </Confirm>
                    })}
                    {(!revoked && !suspended).then(|| view! {
                        <Confirm label="Suspend" name=format!("Suspend {}", name.get_value()) testid="suspend" question="Suspend this entitlement? Pulls stop at once.">
                            <ActionForm action=change attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="id" value=id.to_string()/>
                                <input type="hidden" name="action" value="suspend"/>
                                <label class=LABEL>
                                    "Reason"<span class="font-normal text-slate-700">" (the customer will see this reason)"</span>
                                    <input class=SMALL_INPUT type="text" name="reason" maxlength="200" placeholder="e.g. contract under review"/>
                                </label>
                                <button type="submit" class=CONFIRM_DANGER>"Confirm suspend"</button>
                            </ActionForm>
                        </Confirm>
                    })}
                    {suspended.then(|| view! {
                        <Confirm label="Resume" name=format!("Resume {}", name.get_value()) testid="resume" question="Resume this entitlement? Pulls work again.">
                            <SimpleChange change id action="resume" label="Confirm resume" class=CONFIRM/>
                        </Confirm>
                    })}
                    {(!revoked).then(|| view! {
                        <Confirm label="Revoke" name=format!("Revoke {}", name.get_value()) danger=true testid="revoke" question="Revoke for good? This cannot be undone: a new grant would be needed.">
                            <SimpleChange change id action="revoke" label="Confirm revoke" class=CONFIRM_DANGER/>
                        </Confirm>
                    })}
                </div>
            </td>
        </tr>
    }
}

/// A change with no further input: the id, the action, the submit button.
#[component]
fn SimpleChange(
    change: ServerAction<ChangeEntitlement>,
    id: i64,
    action: &'static str,
    label: &'static str,
    class: &'static str,
) -> impl IntoView {
    view! {
        <ActionForm action=change>
            <input type="hidden" name="id" value=id.to_string()/>
            <input type="hidden" name="action" value=action/>
            <button type="submit" class=class>{label}</button>
        </ActionForm>
    }
}

/// Grants a product by hand: product, window, source, note; submitting asks
/// for a confirmation. `products` come with the page's one resource.
#[component]
pub fn GrantForm(customer_id: i64, products: Vec<ProductView>, grant: ServerAction<GrantEntitlement>) -> impl IntoView {
    let error = Signal::derive(move || grant.value().get().and_then(|r| r.err()));
    let granted = Signal::derive(move || grant.value().get().and_then(|r| r.ok()).map(|e| format!("Granted {}: {}.", e.product_name, e.summary)));
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(grant.value().get(), Some(Ok(_))), form);
    let products: Vec<ProductView> = products.into_iter().filter(|p| p.status != ProductStatus::Archived).collect();
    if products.is_empty() {
        return view! {
            <p class="text-sm text-slate-600">"There are no products to grant. "<a class=LINK href="/admin/products">"Create one"</a></p>
        }
        .into_any();
    }
    let options = products
        .into_iter()
        .map(|p| {
            let label = match p.status {
                ProductStatus::Published => p.name,
                other => format!("{} ({})", p.name, other.as_str()),
            };
            view! { <option value=p.id.to_string()>{label}</option> }
        })
        .collect_view();
    view! {
        <ActionForm action=grant node_ref=form attr:class="grid gap-3 sm:grid-cols-2" attr:data-testid="grant-form">
            <input type="hidden" name="customer_id" value=customer_id.to_string()/>
            <div class="sm:col-span-2">
                <FormError error fields=&["product_id", "starts_on", "ends_on", "ends_at", "source", "note"]/>
                <label class=LABEL>"Product"<select name="product_id" class=INPUT_CLASS required=true>{options}</select></label>
                <FieldError name="product_id" error/>
            </div>
            <div>
                <label class=LABEL>"Starts on"<span class="font-normal text-slate-600">" (empty = now)"</span>
                    <input class=INPUT_CLASS type="date" name="starts_on"/></label>
                <FieldError name="starts_on" error/>
            </div>
            <div>
                <label class=LABEL>"Ends on"<span class="font-normal text-slate-600">" (empty = open-ended)"</span>
                    <input class=INPUT_CLASS type="date" name="ends_on"/></label>
                <FieldError name="ends_on" error/>
                <FieldError name="ends_at" error/>
            </div>
            <label class=LABEL>"Source"
                <select name="source" class=INPUT_CLASS>
                    <option value="manual">"Manual grant"</option>
                    <option value="trial">"Trial"</option>
                </select>
            </label>
            <div>
                <label class=LABEL>"Note"<span class="font-normal text-slate-600">" (optional)"</span>
                    <input class=INPUT_CLASS type="text" name="note" maxlength="1000"/></label>
                <FieldError name="note" error/>
            </div>
            <div class="sm:col-span-2">
                <Confirm label="Grant access" testid="grant" question="Grant this product to the customer with this window?">
                    <button type="submit" class=CONFIRM>"Confirm grant"</button>
                </Confirm>
                <Toast message=granted pending=grant.pending() testid="granted"/>
            </div>
        </ActionForm>
    }
    .into_any()
}
