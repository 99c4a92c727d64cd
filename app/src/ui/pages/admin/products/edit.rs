//! Admin: one product (`/admin/products/:id`): its fields, its prices (add,
//! remove) and its status (publish, archive, back to draft). Every change is
//! a server function that authorises and audits on the server.

use crate::ui::pages::admin::products::list::ProductFields;
use crate::server_fns::catalogue::{admin_product, AddPrice, RemovePrice, SaveProduct, SetProductStatus};
use crate::ui::auth_context::use_auth;
use crate::ui::components::confirm::{Confirm, CONFIRM, CONFIRM_DANGER, DANGER, SECONDARY};
use crate::ui::components::form::{FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::widgets::{gate, product_tone, Badge, FieldError, LoadError, CARD, LABEL, LINK, TABLE_WRAP, THEAD};
use crate::domain::{catalogue::ProductStatus, Role};
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
    };
    let versions = move || (a.save.version().get(), a.status.version().get(), a.add.version().get(), a.remove.version().get());
    // Outside RequireRole: see `widgets::gate`.
    let product: Product = Resource::new(
        move || (id(), versions()),
        move |(id, _)| async move {
            gate(auth, &[Role::Admin]).await?;
            admin_product(id.ok_or(AppError::NotFound)?).await
        },
    );
    view! {
        <Title text="Product"/>
        <RequireRole roles=&[Role::Admin]>
            <ProductBody product a/>
        </RequireRole>
    }
}

/// The page's actions; any of them finishing reloads the product.
#[derive(Clone, Copy)]
struct Actions {
    save: ServerAction<SaveProduct>,
    status: ServerAction<SetProductStatus>,
    add: ServerAction<AddPrice>,
    remove: ServerAction<RemovePrice>,
}

#[component]
fn ProductBody(product: Product, a: Actions) -> impl IntoView {
    view! {
        <p class="text-sm"><a class=LINK href="/admin/products">"← Products"</a></p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || product.get().map(|r| match r {
                Ok(p) => view! { <Editor product=p a/> }.into_any(),
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Transition>
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
                        {move || saved().then(|| view! { <span class="text-sm text-emerald-700" data-testid="saved">"Saved."</span> })}
                    </div>
                </ActionForm>
            </section>
            <PricesSection product a/>
        </div>
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
    let draft = (current != ProductStatus::Draft).then(|| form("draft", "Back to draft", SECONDARY));
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
    let product_id = product.id.to_string();
    let rows = product
        .prices
        .into_iter()
        .map(|price| {
            let product_id = product_id.clone();
            // Removed prices stay (existing purchases refer to them), greyed.
            let control = if price.active {
                view! {
                    <ActionForm action=a.remove>
                        <input type="hidden" name="product_id" value=product_id/>
                        <input type="hidden" name="price_id" value=price.id.to_string()/>
                        <button type="submit" class=DANGER>"Remove"</button>
                    </ActionForm>
                }
                .into_any()
            } else {
                view! { <span class="text-xs text-slate-500">"removed"</span> }.into_any()
            };
            view! {
                <tr class=if price.active { "border-t border-slate-100" } else { "border-t border-slate-100 text-slate-400" }>
                    <td class="px-3 py-2">{price.label}</td>
                    <td class="px-3 py-2">{price.kind.as_str()}</td>
                    <td class="px-3 py-2 text-right">{control}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class=format!("{CARD} h-fit min-w-0")>
            <h2 class="mb-3 font-semibold">"Prices"</h2>
            <div class=TABLE_WRAP>
                <table class="min-w-full text-left text-sm" data-testid="prices-table">
                    <thead class=THEAD>
                        <tr><th class="px-3 py-2">"Price"</th><th class="px-3 py-2">"Kind"</th><th class="px-3 py-2"><span class="sr-only">"Actions"</span></th></tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
            {product.contact_sales.then(|| view! { <p class="mt-2 text-sm text-slate-600">"Marked \"contact sales\": it may be published without a price."</p> })}
            <FormError error=remove_error fields=&[]/>
            <h3 class="mt-5 mb-2 text-sm font-semibold">"Add a price"</h3>
            <ActionForm action=a.add attr:class="grid gap-3 sm:grid-cols-2" attr:data-testid="add-price">
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
                        <span class="font-normal text-slate-500">" (months one-time, days trial)"</span>
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
