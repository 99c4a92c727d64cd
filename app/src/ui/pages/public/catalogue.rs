//! The public catalogue: published products as cards (prices, what each
//! includes), and a page per product with its description and the real tags
//! of its repositories (from the registry's push events) and its buy buttons
//! (`billing::BuyBox`), and its versions (tag, release, digest, size,
//! signature; for a member of an organisation whether they may pull each,
//! the `docker pull` line and the offline download). Anyone may look;
//! customers buy through Stripe.

use crate::ui::pages::account::checkout::BuyBox;
use crate::server_fns::billing::billing_info;
use crate::server_fns::catalogue::{catalogue, catalogue_product, product_versions};
use crate::server_fns::credentials::{catalogue_tags, PatternTags};
use crate::ui::components::copy_button::CopyButton;
use crate::ui::components::data_table::DataTable;
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{Badge, LoadError, Tone, CARD, LINK};
use crate::error::AppError;
use crate::ui::components::errors::NotFound;
use crate::ui::pages::account::pulls::short_digest;
use crate::server_fns::requests::my_ownership;
use crate::ui::pages::public::ownership::{OwnedPanel, OwnershipLine, RequestBox, RequestOptions};
use crate::domain::catalogue::PriceKind;
use crate::views::{urlencode, BillingInfo, Ownership, PriceView, ProductVersionsView, ProductView, VersionView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn CataloguePage() -> impl IntoView {
    let products = Resource::new(|| (), |_| async move {
        let list = catalogue().await?;
        // A visitor or staff member owns nothing: an empty list, not an error.
        let owned = my_ownership().await.unwrap_or_default();
        Ok::<_, AppError>((list, owned))
    });
    view! {
        <Title text="Catalogue"/>
        <h1 class="text-2xl font-semibold">"Catalogue"</h1>
        <p class="mt-1 text-slate-600">"Each product gives access to the image repositories it lists, for as long as its window runs."</p>
        <Transition fallback=|| view! { <p class="mt-6 text-slate-500">"Loading…"</p> }>
            {move || products.get().map(|r| match r {
                Ok((list, _)) if list.is_empty() => view! {
                    <p class="mt-6 text-slate-600" data-testid="catalogue-empty">"Nothing is on sale yet. Check back soon."</p>
                }.into_any(),
                Ok((list, owned)) => view! {
                    <div class="mt-6 grid gap-4 sm:grid-cols-2 lg:grid-cols-3" data-testid="catalogue">
                        {list.into_iter().map(|p| {
                            let own = owned.iter().find(|o| o.product_id == p.id).cloned();
                            view! { <ProductCard product=p own/> }
                        }).collect_view()}
                    </div>
                }.into_any(),
                Err(e) => view! { <div class="mt-6"><LoadError error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProductCard(product: ProductView, own: Option<Ownership>) -> impl IntoView {
    let href = format!("/catalogue/{}", product.slug);
    view! {
        <article class=format!("{CARD} flex flex-col") data-testid="product-card">
            <h2 class="text-lg font-semibold">
                <a class="hover:text-indigo-700" href=href.clone()>{product.name}</a>
            </h2>
            {own.map(|o| view! { <OwnershipLine own=o/> })}
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
        let tags = catalogue_tags(slug.clone()).await?;
        let info = billing_info().await?;
        let own = my_ownership().await.unwrap_or_default().into_iter().find(|o| o.product_id == product.id);
        // The versions may fail on their own: the page still shows the rest.
        let versions = product_versions(slug).await;
        Ok::<_, AppError>((product, tags, info, own, versions))
    });
    view! {
        <Transition fallback=|| view! { <p class="text-slate-500">"Loading…"</p> }>
            {move || product.get().map(|r| match r {
                Ok((p, tags, info, own, versions)) => view! { <ProductDetail product=p tags info own/><Versions versions/> }.into_any(),
                Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn ProductDetail(product: ProductView, tags: Vec<PatternTags>, info: BillingInfo, own: Option<Ownership>) -> impl IntoView {
    let prices = product.prices.clone();
    // A renewing subscription is not offered again; trials and fixed terms
    // may be bought on top (to keep access after they end).
    let subscribed = own.as_ref().is_some_and(|o| o.access && o.renews);
    let trial_days = prices.iter().find_map(|p| match p.kind {
        PriceKind::Trial { days } if p.active => Some(days),
        _ => None,
    });
    let sold_online = prices.iter().any(|p| p.active && !matches!(p.kind, PriceKind::Trial { .. }));
    let has_access = own.as_ref().is_some_and(|o| o.access);
    // A trial is for those who have no access yet.
    let asks = RequestOptions { trial: trial_days.is_some() && !has_access, contact: product.contact_sales || !sold_online };
    let slug = product.slug.clone();
    let open_request = own.as_ref().and_then(|o| o.open_request.clone());
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
                {own.clone().filter(|o| o.access).map(|o| view! { <OwnedPanel own=o/> })}
                <h2 class="font-semibold">"Price"</h2>
                <Prices prices=product.prices contact_sales=product.contact_sales/>
                <IncludesWithTags patterns=tags/>
                {if subscribed {
                    view! {
                        <p class="mt-4 border-t border-slate-100 pt-3 text-sm text-slate-700" data-testid="buying-note">
                            "Your subscription renews by itself. "
                            <a class=LINK href="/account/orders">"Your orders"</a>
                        </p>
                    }.into_any()
                } else {
                    view! { <BuyBox prices online=info.online_payment/> }.into_any()
                }}
                {(asks.trial || asks.contact).then(|| view! { <RequestBox slug asks open=open_request/> })}
            </aside>
        </div>
    }
}

/// Bytes in words: "12.3 MB" (decimal units, as registries and docker say).
fn size_words(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1_000_000.0 {
        format!("{:.1} MB", b / 1_000_000.0)
    } else {
        format!("{:.0} kB", (b / 1_000.0).max(1.0))
    }
}

/// The product's versions, newest first.
#[component]
fn Versions(versions: Result<ProductVersionsView, AppError>) -> impl IntoView {
    let body = match versions {
        Err(e) => view! { <LoadError error=e/> }.into_any(),
        Ok(v) if v.versions.is_empty() => {
            view! { <p class="text-sm text-slate-600" data-testid="versions-empty">"No version released yet."</p> }.into_any()
        }
        Ok(ProductVersionsView { pull_host, download, versions }) => {
            let member = versions.iter().any(|v| v.allowed.is_some());
            let columns: &'static [&'static str] = if member {
                &["Version", "Released (UTC)", "Digest", "Size", "Your access"]
            } else {
                &["Version", "Released (UTC)", "Digest", "Size"]
            };
            view! {
                <DataTable columns testid="versions-table">
                    {versions.into_iter().map(|v| view! { <VersionRow version=v pull_host=pull_host.clone() download member/> }).collect_view()}
                </DataTable>
            }
            .into_any()
        }
    };
    view! {
        <section class="mt-8 min-w-0" data-testid="versions">
            <h2 class="mb-2 text-lg font-semibold">"Versions"</h2>
            {body}
        </section>
    }
}

#[component]
fn VersionRow(version: VersionView, pull_host: String, download: bool, member: bool) -> impl IntoView {
    let VersionView { repository, tag, digest, released_at, size, signed, allowed, access } = version;
    let reference = tag.clone().unwrap_or_else(|| digest.clone());
    let image = match &tag {
        Some(t) => format!("{pull_host}/{repository}:{t}"),
        None => format!("{pull_host}/{repository}@{digest}"),
    };
    let pull = format!("docker pull {image}");
    let href = format!("/account/download?repository={}&reference={}", urlencode(&repository), urlencode(&reference));
    let short = short_digest(&digest);
    let copy_digest = digest.clone();
    let access_cell = member.then(|| {
        let ok = allowed == Some(true);
        let words = access.unwrap_or_default();
        let class = if ok { "text-slate-900" } else { "text-slate-500" };
        let digest = digest.clone();
        view! {
            <td class="px-3 py-2 max-w-md">
                <p class=class data-testid="version-access" data-allowed=ok.to_string()>{words}</p>
                {ok.then(|| {
                    let copy = pull.clone();
                    view! {
                        <div class="mt-2 flex flex-wrap items-center gap-2">
                            <code class="rounded bg-slate-100 px-1.5 py-0.5 text-xs break-all" data-testid="version-pull">{pull.clone()}</code>
                            <CopyButton text=copy testid="copy-pull"/>
                        </div>
                    }
                })}
                {(ok && download).then(|| view! {
                    <p class="mt-2 text-sm">
                        <a class=LINK rel="external" download="" href=href data-testid="version-download">"Download .tar"</a>
                        <span class="text-xs text-slate-600">" (OCI archive; its manifest digest is "</span>
                        <code class="text-xs break-all">{digest}</code>
                        <span class="text-xs text-slate-600">")"</span>
                    </p>
                })}
            </td>
        }
    });
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="version-row">
            <td class="px-3 py-2">
                <div class="font-medium break-all" data-testid="version-tag">{tag.unwrap_or_else(|| "untagged".into())}</div>
                <div class="font-mono text-xs text-slate-500 break-all">{repository}</div>
                {signed.then(|| view! { <div class="mt-1"><Badge text="signed" tone=Tone::Good testid="version-signed"/></div> })}
            </td>
            <td class="px-3 py-2 whitespace-nowrap"><UtcTime at=released_at/></td>
            <td class="px-3 py-2 whitespace-nowrap">
                <span class="font-mono text-xs" title=digest.clone()>{short}</span>
                " "
                <CopyButton text=copy_digest testid="copy-digest"/>
            </td>
            <td class="px-3 py-2 whitespace-nowrap">
                {match size {
                    Some(b) => size_words(b).into_any(),
                    None => view! { <span class="text-slate-500">"not known yet"</span> }.into_any(),
                }}
            </td>
            {access_cell}
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::size_words;

    #[test]
    fn sizes_read_in_megabytes() {
        assert_eq!(size_words(12_345_678), "12.3 MB");
        assert_eq!(size_words(2_600), "3 kB");
        assert_eq!(size_words(10), "1 kB");
    }
}
