//! Admin: one product (`/admin/products/:id`): its fields, its prices (add,
//! remove), its status (publish, archive, back to draft), its delivery (the
//! licence, the pull gateway) and its releases (`releases.rs`). Every change
//! is a server function that authorises and audits on the server. Auditors
//! see the releases only (the product itself is read by admins alone).

use crate::ui::pages::admin::products::list::ProductFields;
use crate::ui::pages::admin::products::releases::{Releases, ReleasesSection};
use crate::server_fns::catalogue::{admin_product, product_releases, AddPrice, RemovePrice, SaveProduct, SetProductDelivery, SetProductStatus, SetRelease};
use crate::ui::auth_context::use_auth;
use crate::ui::components::confirm::{Confirm, CONFIRM, CONFIRM_DANGER};
use crate::ui::components::data_table::{DataTable, Empty, TD};
use crate::ui::components::feedback::{reset_on, Toast};
use crate::ui::components::form::{FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::widgets::{gate, product_tone, Badge, FieldError, LoadError, Tone, CARD, LABEL, LINK};
use crate::domain::{catalogue::ProductStatus, release::Licence, Role};
use crate::error::AppError;
use crate::ui::components::errors::NotFound;
use crate::views::ProductView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

type Product = Resource<Result<ProductView, AppError>>;

#[component]
pub fn AdminProductPage() -> impl IntoView {
    let auth = use_auth();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let a = Actions {
        save: ServerAction::new(),
        status: ServerAction::new(),
        add: ServerAction::new(),
        remove: ServerAction::new(),
        delivery: ServerAction::new(),
    };
    let set_release = ServerAction::<SetRelease>::new();
    let versions = move || (a.save.version().get(), a.status.version().get(), a.add.version().get(), a.remove.version().get());
    // Outside RequireRole: see `widgets::gate`.
    let product: Product = Resource::new(
        move || (id(), versions()),
        move |(id, _)| async move {
            gate(auth, &[Role::Admin]).await?;
            admin_product(id.ok_or(AppError::NotFound)?).await
        },
    );
    let releases: Releases = Resource::new(
        move || (id(), set_release.version().get()),
        move |(id, _)| async move {
            gate(auth, &[Role::Admin, Role::Auditor]).await?;
            product_releases(id.ok_or(AppError::NotFound)?).await
        },
    );
    view! {
        <Title text="Product"/>
        <RequireRole roles=&[Role::Admin, Role::Auditor]>
            <ProductBody product releases a set_release/>
        </RequireRole>
    }
}

/// The page's actions; any of them but `delivery` finishing reloads the
/// product (the delivery form keeps what was chosen, its error beside it).
#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveProduct>,
    status: ServerAction<SetProductStatus>,
    add: ServerAction<AddPrice>,
    remove: ServerAction<RemovePrice>,
    delivery: ServerAction<SetProductDelivery>,
}

/// Admins: the editor, then the releases with a form per row. Auditors:
/// the releases, read-only.
#[component]
fn ProductBody(product: Product, releases: Releases, a: Actions, set_release: ServerAction<SetRelease>) -> impl IntoView {
    let auth = use_auth();
    let is_admin = move || auth.user.get().and_then(|r| r.ok()).flatten().is_some_and(|u| u.role == Role::Admin);
    view! {
        {move || if is_admin() {
            view! {
                <p class="text-sm"><a class=LINK href="/admin/products">"← Products"</a></p>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || product.get().map(|r| match r {
                        Ok(p) => view! { <Editor product=p a/> }.into_any(),
                        Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    })}
                </Transition>
            }.into_any()
        } else {
            view! {
                <h1 class="text-2xl font-semibold">"Product releases"</h1>
                <p class="mt-1 text-sm text-slate-600">"Read-only: admins edit the product and set release times."</p>
            }.into_any()
        }}
        {move || view! { <ReleasesSection releases set=is_admin().then_some(set_release)/> }}
    }
}

#[component]
fn Editor(product: ProductView, a: Actions) -> impl IntoView {
    let save_error = Signal::derive(move || a.save.value().get().and_then(|r| r.err()));
    let saved = move || matches!(a.save.value().get(), Some(Ok(_)));
    let id = product.id.to_string();
    let catalogue_href = format!("/catalogue/{}", product.slug);
    let (name, status) = (product.name.clone(), product.status);
    let for_status = product.clone();
    let for_fields = product.clone();
    view! {
        <div class="mt-3 flex flex-wrap items-center gap-3">
            <h1 class="text-2xl font-semibold" data-testid="product-name">{name}</h1>
            <Badge text=status.as_str() tone=product_tone(status) testid="product-status"/>
            {(status == ProductStatus::Published).then(|| view! {
                <a class=format!("{LINK} text-sm") href=catalogue_href>"View in the catalogue"</a>
            })}
        </div>
        <StatusControls product=for_status action=a.status/>
        <div class="mt-6 grid gap-6 lg:grid-cols-2">
            <section class=format!("{CARD} h-fit")>
                <h2 class="mb-3 font-semibold">"Details"</h2>
                <ActionForm action=a.save attr:class="space-y-3" attr:data-testid="edit-product">
                    <input type="hidden" name="id" value=id/>
                    <ProductFields error=save_error product=for_fields/>
                    <div class="flex items-center gap-3">
                        <button type="submit" class=BUTTON>"Save changes"</button>
                        <Toast message=Signal::derive(move || saved().then(|| "Saved.".to_owned())) pending=a.save.pending() testid="saved"/>
                    </div>
                </ActionForm>
            </section>
            <PricesSection product=product.clone() a/>
            <DeliverySection product action=a.delivery/>
        </div>
    }
}

/// "Perpetual: versions released until the updates end, …" for the select.
fn licence_option(licence: Licence) -> String {
    let name = match licence {
        Licence::Subscription => "Subscription",
        Licence::Perpetual => "Perpetual",
    };
    format!("{name}: {}", licence.describe())
}

/// What the product's entitlements cover (the licence) and whether it is
/// pulled through the pull gateway only; the server refuses a perpetual
/// licence without the gateway, said beside the checkbox.
#[component]
fn DeliverySection(product: ProductView, action: ServerAction<SetProductDelivery>) -> impl IntoView {
    let error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let saved = move || matches!(action.value().get(), Some(Ok(_)));
    view! {
        <section class=format!("{CARD} h-fit")>
            <h2 class="mb-3 font-semibold">"Delivery"</h2>
            <ActionForm action attr:class="space-y-3" attr:data-testid="delivery">
                <input type="hidden" name="id" value=product.id.to_string()/>
                <div>
                    <label class=LABEL>
                        "Licence"
                        <select name="licence" class=INPUT_CLASS>
                            {Licence::ALL.into_iter().map(|l| view! {
                                <option value=l.as_str() selected=l == product.licence>{licence_option(l)}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <FieldError name="licence" error/>
                    <p class="mt-1 text-sm text-slate-600">
                        "For a perpetual licence, an entitlement's end is the end of its updates: a one-time price of N months sells N months of updates, and what was released until then stays pullable for good."
                    </p>
                </div>
                <div>
                    <label class="flex items-center gap-2 text-sm text-slate-700">
                        <input type="checkbox" name="gateway" value="on" checked=product.gateway class="h-6 w-6 rounded border-slate-300"/>
                        "Pull through the gateway"
                    </label>
                    <p class="mt-1 text-xs text-slate-600">"Customers pull it from the portal's pull gateway only, which decides each version; the registry grants them nothing on it directly."</p>
                    <FieldError name="gateway" error/>
                </div>
                <FormError error fields=&["licence", "gateway"]/>
                <div class="flex items-center gap-3">
                    <button type="submit" class=BUTTON>"Save delivery"</button>
                    <Toast message=Signal::derive(move || saved().then(|| "Saved.".to_owned())) pending=action.pending() testid="delivery-saved"/>
                </div>
            </ActionForm>
        </section>
    }
}

/// Publish / back to draft / archive (archiving asks first).
#[component]
fn StatusControls(product: ProductView, action: ServerAction<SetProductStatus>) -> impl IntoView {
    let error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let id = product.id.to_string();
    let form = move |status: &'static str, label: &'static str, class: &'static str| {
        let id = id.clone();
        view! {
            <ActionForm action>
                <input type="hidden" name="id" value=id/>
                <input type="hidden" name="status" value=status/>
                <button type="submit" class=class>{label}</button>
            </ActionForm>
        }
    };
    let current = product.status;
    let publish = (current != ProductStatus::Published).then(|| form("published", "Publish", CONFIRM));
    let draft = (current != ProductStatus::Draft).then(|| {
        let draft_form = form.clone();
        view! {
            <Confirm label="Back to draft" testid="back-to-draft"
                question="Take this product back to draft? It leaves the catalogue until published again; existing customers keep their access.">
                {draft_form("draft", "Confirm back to draft", CONFIRM)}
            </Confirm>
        }
    });
    let archive = (current != ProductStatus::Archived).then(|| {
        let archive_form = form.clone();
        view! {
            <Confirm label="Archive" danger=true testid="archive"
                question="Archive this product? It leaves the catalogue; existing customers keep their access.">
                {archive_form("archived", "Confirm archive", CONFIRM_DANGER)}
            </Confirm>
        }
    });
    view! {
        <div class="mt-3 flex flex-wrap items-start gap-2" data-testid="status-controls">
            {publish}
            {draft}
            {archive}
        </div>
        <FormError error fields=&[]/>
    }
}

#[component]
fn PricesSection(product: ProductView, a: Actions) -> impl IntoView {
    let add_error = Signal::derive(move || a.add.value().get().and_then(|r| r.err()));
    let remove_error = Signal::derive(move || a.remove.value().get().and_then(|r| r.err()));
    let add_form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(a.add.value().get(), Some(Ok(_))), add_form);
    let product_id = product.id.to_string();
    let empty = product.prices.is_empty();
    let rows = product
        .prices
        .into_iter()
        .map(|price| {
            let product_id = product_id.clone();
            // Removed prices stay (existing purchases refer to them), greyed.
            let price_id = StoredValue::new(price.id.to_string());
            let product_id = StoredValue::new(product_id);
            let control = if price.active {
                view! {
                    <Confirm label="Remove" name=format!("Remove price {}", price.label) danger=true testid="remove-price"
                        question=format!("Remove the price {}? New buyers no longer see it; existing purchases keep it.", price.label)>
                        <ActionForm action=a.remove>
                            <input type="hidden" name="product_id" value=product_id.get_value()/>
                            <input type="hidden" name="price_id" value=price_id.get_value()/>
                            <button type="submit" class=CONFIRM_DANGER>"Confirm remove"</button>
                        </ActionForm>
                    </Confirm>
                }
                .into_any()
            } else {
                view! { <Badge text="removed" tone=Tone::Neutral/> }.into_any()
            };
            view! {
                <tr class=if price.active { "border-t border-slate-100 align-top" } else { "border-t border-slate-100 bg-slate-50 align-top text-slate-700" }>
                    <td class=TD data-label="Price">{price.label}</td>
                    <td class=TD data-label="Kind">{price.kind.as_str()}</td>
                    <td class=format!("{TD} sm:text-right")>{control}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class=format!("{CARD} h-fit min-w-0")>
            <h2 class="mb-3 font-semibold">"Prices"</h2>
            {if empty {
                view! { <Empty text="No prices yet." testid="no-prices"/> }.into_any()
            } else {
                view! { <DataTable columns=&["Price", "Kind", "Actions"] label="Prices" testid="prices-table">{rows}</DataTable> }.into_any()
            }}
            {product.contact_sales.then(|| view! { <p class="mt-2 text-sm text-slate-600">"Marked \"contact sales\": it may be published without a price."</p> })}
            <FormError error=remove_error fields=&[]/>
            <h3 class="mt-5 mb-2 text-sm font-semibold">"Add a price"</h3>
            <ActionForm action=a.add node_ref=add_form attr:class="grid gap-3 sm:grid-cols-2" attr:data-testid="add-price">
                <input type="hidden" name="product_id" value=product.id.to_string()/>
                <label class=LABEL>
                    "Kind"
                    <select name="kind" class=INPUT_CLASS>
                        <option value="monthly">"Monthly subscription"</option>
                        <option value="yearly">"Yearly subscription"</option>
                        <option value="one_time">"One-time (months of access)"</option>
                        <option value="trial">"Free trial (days)"</option>
                    </select>
                </label>
                <div>
                    <label class=LABEL>
                        "Amount"
                        <input class=INPUT_CLASS type="text" name="amount" inputmode="decimal" placeholder="49.00" required=true/>
                    </label>
                    <FieldError name="amount" error=add_error/>
                </div>
                <label class=LABEL>
                    "Currency"
                    <input class=INPUT_CLASS type="text" name="currency" value="usd" maxlength="3" required=true/>
                </label>
                <div>
                    <label class=LABEL>
                        "Duration"
                        <span class="font-normal text-slate-600">" (months one-time, days trial)"</span>
                        <input class=INPUT_CLASS type="number" name="duration" min="1" max="1200"/>
                    </label>
                    <FieldError name="duration" error=add_error/>
                </div>
                <div class="sm:col-span-2">
                    <FormError error=add_error fields=&["amount", "duration"]/>
                    <button type="submit" class=format!("{BUTTON} mt-2")>"Add price"</button>
                </div>
            </ActionForm>
        </section>
    }
}
