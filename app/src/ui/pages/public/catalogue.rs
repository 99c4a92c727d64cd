//! The public catalogue: published products as cards (prices, what each
//! includes), and a page per product with its description and the real tags
//! of its repositories (from the registry's push events) and its buy buttons
//! (`billing::BuyBox`). Anyone may look; customers buy through Stripe.

use crate::ui::pages::account::checkout::BuyBox;
use crate::server_fns::billing::billing_info;
use crate::server_fns::catalogue::{catalogue, catalogue_product};
use crate::server_fns::credentials::{catalogue_tags, PatternTags};
use crate::ui::components::widgets::{LoadError, CARD, LINK};
use crate::error::AppError;
use crate::ui::components::errors::NotFound;
use crate::views::{BillingInfo, PriceView, ProductView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn CataloguePage() -> impl IntoView {
    let products = Resource::new(|| (), |_| catalogue());
    view! {
        <Title text="Catalogue"/>
        <h1 class="text-2xl font-semibold">"Catalogue"</h1>
        <p class="mt-1 text-slate-600">"Each product gives access to the image repositories it lists, for as long as its window runs."</p>
        <Transition fallback=|| view! { <p class="mt-6 text-slate-500">"Loading…"</p> }>
            {move || products.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! {
                    <p class="mt-6 text-slate-600" data-testid="catalogue-empty">"Nothing is on sale yet. Check back soon."</p>
                }.into_any(),
                Ok(list) => view! {
                    <div class="mt-6 grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="catalogue">
                        {list.into_iter().map(|p| view! { <ProductCard product=p/> }).collect_view()}
                    </div>
                }.into_any(),
                Err(e) => view! { <div class="mt-6"><LoadError error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProductCard(product: ProductView) -> impl IntoView {
    let href = format!("/catalogue/{}", product.slug);
    view! {
        <article class=format!("{CARD} flex flex-col") data-testid="product-card">
            <h2 class="text-lg font-semibold">
                <a class="hover:text-indigo-700" href=href.clone()>{product.name}</a>
            </h2>
            <Prices prices=product.prices contact_sales=product.contact_sales/>
            <Includes repositories=product.repositories/>
            <p class="mt-auto pt-4"><a class=LINK href=href>"Details"</a></p>
        </article>
    }
}

/// Price labels, or "Contact sales" when there is no online price.
#[component]
fn Prices(prices: Vec<PriceView>, contact_sales: bool) -> impl IntoView {
    let active: Vec<PriceView> = prices.into_iter().filter(|p| p.active).collect();
    if active.is_empty() {
        return view! { <p class="mt-2 text-sm font-medium text-slate-700" data-testid="contact-sales">"Contact sales"</p> }
            .into_any();
    }
    view! {
        <ul class="mt-2 space-y-0.5 text-sm font-medium text-slate-900" data-testid="prices">
            {active.into_iter().map(|p| view! { <li>{p.label}</li> }).collect_view()}
            {contact_sales.then(|| view! { <li class="font-normal text-slate-600">"or contact sales for other terms"</li> })}
        </ul>
    }
    .into_any()
}

/// What a product includes: its repositories (names or `prefix-*`).
#[component]
fn Includes(repositories: Vec<String>) -> impl IntoView {
    view! {
        <div class="mt-3">
            <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Includes"</h3>
            <ul class="mt-1 flex flex-wrap gap-1.5" data-testid="repositories">
                {repositories
                    .into_iter()
                    .map(|r| view! { <li><code class="rounded bg-slate-100 px-1.5 py-0.5 text-xs break-all">{r}</code></li> })
                    .collect_view()}
            </ul>
        </div>
    }
}

/// The product page's list: each repository pattern, the repositories
/// pushed under it and their tags ("acme/widget — tags: 1.0, latest"), or
/// that no image was pushed yet.
#[component]
fn IncludesWithTags(patterns: Vec<PatternTags>) -> impl IntoView {
    let line = |name: String, tags: Vec<crate::views::TagView>| {
        let words = if tags.is_empty() {
            "no image pushed yet".to_owned()
        } else {
            format!("tags: {}", tags.into_iter().map(|t| t.tag).collect::<Vec<_>>().join(", "))
        };
        let label = name.clone();
        view! {
            <li data-testid="repository" data-repository=name>
                <code class="rounded bg-slate-100 px-1.5 py-0.5 text-xs break-all">{label}</code>
                <span class="text-xs text-slate-600" data-testid="repository-tags">{format!(" — {words}")}</span>
            </li>
        }
    };
    view! {
        <div class="mt-3">
            <h3 class="text-xs font-semibold uppercase tracking-wide text-slate-500">"Includes"</h3>
            <ul class="mt-1 space-y-1" data-testid="repositories">
                {patterns.into_iter().map(|p| {
                    if p.pattern.ends_with('*') && p.repositories.is_empty() {
                        line(p.pattern, Vec::new()).into_any()
                    } else if p.pattern.ends_with('*') {
                        view! {
                            <li>
                                <code class="rounded bg-slate-100 px-1.5 py-0.5 text-xs break-all">{p.pattern}</code>
                                <ul class="mt-1 space-y-1 pl-3">
                                    {p.repositories.into_iter().map(|(n, t)| line(n, t)).collect_view()}
                                </ul>
                            </li>
                        }.into_any()
                    } else {
                        p.repositories.into_iter().map(|(n, t)| line(n, t)).collect_view().into_any()
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
pub fn CatalogueProductPage() -> impl IntoView {
    let params = use_params_map();
    let slug = move || params.read().get("slug").unwrap_or_default();
    let product = Resource::new(slug, |slug| async move {
        let product = catalogue_product(slug.clone()).await?;
        let tags = catalogue_tags(slug).await?;
        let info = billing_info().await?;
        Ok::<_, AppError>((product, tags, info))
    });
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || product.get().map(|r| match r {
                Ok((p, tags, info)) => view! { <ProductDetail product=p tags info/> }.into_any(),
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProductDetail(product: ProductView, tags: Vec<PatternTags>, info: BillingInfo) -> impl IntoView {
    let prices = product.prices.clone();
    view! {
        <Title text=product.name.clone()/>
        <p class="text-sm"><a class=LINK href="/catalogue">"← Catalogue"</a></p>
        <div class="mt-3 grid gap-6 md:grid-cols-3">
            <article class="md:col-span-2">
                <h1 class="text-2xl font-semibold" data-testid="product-name">{product.name}</h1>
                // Sanitised on the server (no scripts, no handlers): see views.rs.
                <div
                    data-testid="product-description"
                    class="mt-4 space-y-3 text-slate-800 [&_a]:text-indigo-700 [&_a]:underline [&_code]:rounded [&_code]:bg-slate-100 [&_code]:px-1 [&_h1]:text-xl [&_h1]:font-semibold [&_h2]:text-lg [&_h2]:font-semibold [&_h3]:font-semibold [&_ol]:list-decimal [&_ol]:pl-6 [&_pre]:overflow-x-auto [&_pre]:rounded [&_pre]:bg-slate-100 [&_pre]:p-3 [&_ul]:list-disc [&_ul]:pl-6"
                    inner_html=product.description_html
                ></div>
            </article>
            <aside class=format!("{CARD} h-fit")>
                <h2 class="font-semibold">"Price"</h2>
                <Prices prices=product.prices contact_sales=product.contact_sales/>
                <IncludesWithTags patterns=tags/>
                <BuyBox prices online=info.online_payment/>
            </aside>
        </div>
    }
}
