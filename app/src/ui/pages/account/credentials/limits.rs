//! The limits a member sets on a new pull credential (`/account/credentials`):
//! who holds it (owners choose: themselves, or the organisation, for CI and
//! clusters), the products it may pull (none checked: every product of the
//! organisation) and the address ranges it may be used from (empty:
//! anywhere). The server checks each; these are only the form's fields.

use crate::error::AppError;
use crate::ui::components::escape::TextArea;
use crate::ui::components::form::INPUT_CLASS;
use crate::ui::components::widgets::{FieldError, LoadError, LABEL};
use crate::views::EntitlementView;
use leptos::prelude::*;

/// The organisation's products the picker offers: `(id, name)`.
pub type Products = Resource<Result<Vec<(i64, String)>, AppError>>;

/// Each product of the organisation's entitlements once, by name.
pub fn products_of(entitlements: Vec<EntitlementView>) -> Vec<(i64, String)> {
    once_by_name(entitlements.into_iter().map(|e| (e.product_id, e.product_name)))
}

fn once_by_name(products: impl Iterator<Item = (i64, String)>) -> Vec<(i64, String)> {
    let mut products: Vec<(i64, String)> = products.collect();
    products.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)));
    products.dedup_by_key(|p| p.0);
    products
}

/// The checked products as the form sends them: ids separated by commas.
pub fn product_ids(checked: &[i64]) -> String {
    checked.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
}

/// "Held by" (owners only), the product checkboxes and the allowed
/// networks. The checkboxes have no name: the hidden `products` field sends
/// the checked ids as one value, the form the server function takes. That
/// takes the wasm, so they stay disabled until the page is hydrated (a box
/// ticked before would be sent as "every product").
#[component]
pub fn LimitFields(
    products: Products,
    #[prop(into)] owner: Signal<bool>,
    #[prop(into)] error: Signal<Option<AppError>>,
    /// True once the form was sent and emptied: forget the checked products.
    #[prop(into)]
    cleared: Signal<bool>,
) -> impl IntoView {
    let checked = RwSignal::new(Vec::<i64>::new());
    Effect::new(move |_| {
        if cleared.get() {
            checked.set(Vec::new());
        }
    });
    let hydrated = RwSignal::new(false);
    // Effects run in the browser only, once the page is hydrated.
    Effect::new(move |_| hydrated.set(true));
    let choice = "flex items-center gap-2 py-0.5 text-sm text-slate-800";
    view! {
        {move || owner.get().then(|| view! {
            <fieldset data-testid="credential-holder-choice">
                <legend class=LABEL>"Held by"</legend>
                <label class=format!("{choice} mt-1")>
                    <input type="radio" name="holder" value="member" checked=true class="h-6 w-6 shrink-0"/>
                    <span>"Me"<span class="text-slate-500">" (revoked if I leave or am removed)"</span></span>
                </label>
                <label class=choice>
                    <input type="radio" name="holder" value="organisation" class="h-6 w-6 shrink-0"/>
                    <span>"The organisation"<span class="text-slate-500">" — for CI and clusters, survives any member leaving"</span></span>
                </label>
                <FieldError name="holder" error/>
            </fieldset>
        })}
        <fieldset>
            <legend class=LABEL>"Products"<span class="font-normal text-slate-500">" (none checked: every product of your organisation)"</span></legend>
            <input type="hidden" name="products" value=move || product_ids(&checked.get())/>
            <Transition fallback=|| ()>
                {move || products.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <p class="mt-1 text-sm text-slate-600">"Your organisation has no products yet."</p>
                    }.into_any(),
                    Ok(list) => view! {
                        <div class="mt-1 flex flex-wrap gap-x-4 gap-y-1">
                            {list.into_iter().map(|(id, name)| view! {
                                <label class=choice>
                                    <input type="checkbox" value=id.to_string() class="h-6 w-6 shrink-0" data-testid="credential-product" disabled=move || !hydrated.get()
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            checked.update(|c| {
                                                c.retain(|p| *p != id);
                                                if on {
                                                    c.push(id);
                                                }
                                            });
                                        }/>
                                    <span>{name}</span>
                                </label>
                            }).collect_view()}
                        </div>
                    }.into_any(),
                    Err(e) => view! { <div class="mt-1"><LoadError error=e/></div> }.into_any(),
                })}
            </Transition>
            <FieldError name="products" error/>
        </fieldset>
        <div>
            <label class=LABEL>
                "Allowed networks"<span class="font-normal text-slate-500">" (optional: address ranges such as 10.0.0.0/8, 2001:db8::/32; empty: from anywhere)"</span>
                <TextArea text="" attr:class=format!("{INPUT_CLASS} font-mono") attr:name="networks" attr:rows="2" attr:placeholder="10.0.0.0/8, 2001:db8::/32"/>
            </label>
            <FieldError name="networks" error/>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_once_by_name_and_ids_joined() {
        let list = [(7, "Widget"), (3, "Toolkit"), (7, "Widget")].map(|(id, name)| (id, name.to_owned()));
        assert_eq!(once_by_name(list.into_iter()), vec![(3, "Toolkit".to_owned()), (7, "Widget".to_owned())]);
        assert_eq!(product_ids(&[7, 3]), "7,3");
        assert_eq!(product_ids(&[]), "");
    }
}
