//! Admin: the product list and the form that creates a product (as a draft).
//! Editing, prices and publishing are on `/admin/products/:id`
//! (`admin_product_edit.rs`).

use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::escape::TextArea;
use crate::ui::components::utc_time::UtcTime;
use crate::server_fns::catalogue::{admin_products, SaveProduct};
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::widgets::{gate, product_tone, Badge, FieldError, LoadError, CARD, LABEL, LINK};
use crate::domain::Role;
use crate::error::AppError;
use crate::views::ProductView;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

type Products = Resource<Result<Vec<ProductView>, AppError>>;

#[component]
pub fn AdminProductsPage() -> impl IntoView {
    let auth = use_auth();
    let create = ServerAction::<SaveProduct>::new();
    // Outside RequireRole: see `widgets::gate`.
    let products: Products = Resource::new(
        move || create.version().get(),
        move |_| async move {
            gate(auth, &[Role::Admin]).await?;
            admin_products().await
        },
    );
    view! {
        <Title text="Products"/>
        <RequireRole roles=&[Role::Admin]>
            <ProductsBody products create/>
        </RequireRole>
    }
}

#[component]
fn ProductsBody(products: Products, create: ServerAction<SaveProduct>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    // A new product opens in its editor, where prices and publishing live.
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(p)) = create.value().get() {
            navigate(&format!("/admin/products/{}", p.id), Default::default());
        }
    });

    view! {
        <h1 class="text-2xl font-semibold">"Products"</h1>
        <div class="mt-6 grid gap-6 lg:grid-cols-3">
            <section class="min-w-0 lg:col-span-2">
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || products.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! {
                            <Empty text="No products yet. Create the first one here." testid="no-products"/>
                        }.into_any(),
                        Ok(list) => view! {
                            <DataTable columns=&["Name", "Status", "Prices", "Updated"] secondary=&["Updated"] label="Products" testid="products-table">
                                {list.into_iter().map(|p| view! {
                                    <tr class="border-t border-slate-100 align-top">
                                        <td class=TD data-label="Name">
                                            <a class=LINK href=format!("/admin/products/{}", p.id)>{p.name}</a>
                                            <div class="font-mono text-xs text-slate-600">{p.slug}</div>
                                        </td>
                                        <td class=TD data-label="Status"><Badge text=p.status.as_str() tone=product_tone(p.status)/></td>
                                        <td class=TD data-label="Prices">{price_summary(p.prices, p.contact_sales)}</td>
                                        <td class=format!("{TD2} whitespace-nowrap") data-label="Updated"><UtcTime at=p.updated_at/></td>
                                    </tr>
                                }).collect_view()}
                            </DataTable>
                        }.into_any(),
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    })}
                </Transition>
            </section>
            <section class=format!("{CARD} h-fit")>
                <h2 class="mb-3 font-semibold">"New product"</h2>
                <ActionForm action=create attr:class="space-y-3" attr:data-testid="new-product">
                    <ProductFields error/>
                    <button type="submit" class=BUTTON>"Create product"</button>
                </ActionForm>
            </section>
        </div>
    }
}

/// The editable fields of a product, filled from `product` when editing.
/// Input names are the arguments of `save_product`.
#[component]
pub fn ProductFields(
    #[prop(into)] error: Signal<Option<AppError>>,
    #[prop(optional)] product: Option<ProductView>,
) -> impl IntoView {
    let (name, slug, description, repositories, contact_sales, harbor_notes) = match product {
        Some(p) => (p.name, p.slug, p.description, p.repositories.join("\n"), p.contact_sales, p.harbor_notes),
        None => Default::default(),
    };
    view! {
        <FormError error fields=&["name", "slug", "description", "repositories"]/>
        <label class=LABEL>
            "Name"
            <input class=INPUT_CLASS type="text" name="name" required=true maxlength="200" value=name/>
        </label>
        <FieldError name="name" error/>
        <label class=LABEL>
            "Slug"
            <span class="font-normal text-slate-500">" (address in the catalogue; empty = from the name)"</span>
            <input class=INPUT_CLASS type="text" name="slug" maxlength="100" value=slug autocomplete="off"/>
        </label>
        <FieldError name="slug" error/>
        <label class=LABEL>
            "Description"
            <span class="font-normal text-slate-500">" (Markdown)"</span>
            <TextArea text=description attr:class=INPUT_CLASS attr:name="description" attr:rows="6"/>
        </label>
        <FieldError name="description" error/>
        <label class=LABEL>
            "Repositories"
            <span class="font-normal text-slate-500">" (one per line: acme/widget, or acme/widget-* for a prefix)"</span>
            <TextArea text=repositories attr:class=format!("{INPUT_CLASS} font-mono") attr:name="repositories" attr:rows="4"/>
        </label>
        <FieldError name="repositories" error/>
        {(!harbor_notes.is_empty()).then(|| view! {
            <ul class="rounded border border-amber-300 bg-amber-50 p-2 text-sm text-amber-900" data-testid="harbor-notes">
                {harbor_notes.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
            </ul>
        })}
        <label class="flex items-center gap-2 text-sm text-slate-700">
            <input type="checkbox" name="contact_sales" value="on" checked=contact_sales class="h-6 w-6 rounded border-slate-300"/>
            "Contact sales (no online price needed)"
        </label>
    }
}

/// Active price labels joined, or what stands in for them.
fn price_summary(prices: Vec<crate::views::PriceView>, contact_sales: bool) -> String {
    let labels: Vec<String> = prices.into_iter().filter(|p| p.active).map(|p| p.label).collect();
    match (labels.is_empty(), contact_sales) {
        (false, _) => labels.join(" · "),
        (true, true) => "Contact sales".into(),
        (true, false) => "none yet".into(),
    }
}
