//! A two-step control for changes that deserve a second thought: the first
//! click only asks, and what it reveals (typically a submit button reading
//! "Confirm revoke", or a whole `ActionForm`) does the change. Cancel folds
//! it away again. Works once the page is hydrated.
//!
//! Keyboard: opening moves focus to the panel's first control, Tab and
//! Shift+Tab stay inside the panel, Esc closes it, and closing (Esc,
//! Cancel) puts focus back on the opener.

use leptos::html;
use leptos::prelude::*;

pub const SECONDARY: &str = "inline-flex items-center justify-center rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-50";
pub const DANGER: &str = "inline-flex items-center justify-center rounded border border-red-300 bg-white px-3 py-1.5 text-sm font-medium text-red-700 shadow-sm hover:bg-red-50 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500 focus-visible:ring-offset-2 disabled:opacity-50";
pub const CONFIRM_DANGER: &str = "inline-flex items-center justify-center rounded bg-red-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-red-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-red-500 focus-visible:ring-offset-2 disabled:opacity-50";
pub const CONFIRM: &str = "inline-flex items-center justify-center rounded bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-50";

/// What can take focus inside a panel, in document order.
const FOCUSABLE: &str = "button:not([disabled]), [href], input:not([type=hidden]):not([disabled]), select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

/// The elements of `root` that take focus (`querySelectorAll`, reached
/// dynamically: the web-sys build here has no `NodeList`).
pub fn focusables(root: &leptos::web_sys::Element) -> Vec<leptos::web_sys::HtmlElement> {
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use leptos::web_sys::js_sys::{Array, Function, Reflect};
    let Some(query) = Reflect::get(root, &JsValue::from_str("querySelectorAll")).ok().and_then(|f| f.dyn_into::<Function>().ok()) else {
        return Vec::new();
    };
    let Ok(list) = query.call1(root, &JsValue::from_str(FOCUSABLE)) else { return Vec::new() };
    Array::from(&list).iter().filter_map(|n| n.dyn_into::<leptos::web_sys::HtmlElement>().ok()).collect()
}

/// Keeps Tab and Shift+Tab inside `root`: from its last control Tab goes to
/// its first, from its first Shift+Tab goes to its last.
pub fn trap_tab(root: &leptos::web_sys::Element, ev: &leptos::ev::KeyboardEvent) {
    if ev.key() != "Tab" {
        return;
    }
    let items = focusables(root);
    let (Some(first), Some(last)) = (items.first(), items.last()) else { return };
    let active = document().active_element();
    let is = |el: &leptos::web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == AsRef::<leptos::web_sys::Element>::as_ref(el));
    let inside = active.as_ref().is_some_and(|a| root.contains(Some(a)));
    if ev.shift_key() && (is(first) || !inside) {
        ev.prevent_default();
        let _ = last.focus();
    } else if !ev.shift_key() && (is(last) || !inside) {
        ev.prevent_default();
        let _ = first.focus();
    }
}

/// The opener button, then (after a click) `question`, the children and a
/// Cancel button. `danger` draws the opener in red.
#[component]
pub fn Confirm(
    /// The opener's text ("Revoke").
    label: &'static str,
    /// Shown above the children while confirming ("Revoke this entitlement?").
    #[prop(into)]
    question: String,
    #[prop(optional)] danger: bool,
    /// `data-testid` of the opener; the open panel gets `<testid>-confirm`.
    #[prop(into)]
    testid: String,
    /// The opener's accessible name when several on a page read the same
    /// ("Revoke key deploy"); it starts with `label`.
    #[prop(optional, into)]
    name: Option<String>,
    children: ChildrenFn,
) -> impl IntoView {
    let (open, set_open) = signal(false);
    // Whether closing should put focus back on the opener (not on first render).
    let returning = StoredValue::new(false);
    let panel = NodeRef::<html::Div>::new();
    let opener_ref = NodeRef::<html::Button>::new();
    let children = StoredValue::new(children);
    let opener_id = testid.clone();
    let close = move || {
        returning.set_value(true);
        set_open.set(false);
    };
    Effect::new(move |_| {
        if open.get() {
            if let Some(p) = panel.get() {
                if let Some(first) = focusables(&p).into_iter().next() {
                    let _ = first.focus();
                }
            }
        } else if let Some(b) = opener_ref.get() {
            if returning.get_value() {
                returning.set_value(false);
                let _ = b.focus();
            }
        }
    });
    let opener = move || {
        view! {
            <button
                type="button"
                node_ref=opener_ref
                class=if danger { DANGER } else { SECONDARY }
                data-testid=opener_id.clone()
                aria-label=name.clone()
                aria-expanded="false"
                on:click=move |_| set_open.set(true)
            >
                {label}
            </button>
        }
    };
    view! {
        <Show when=move || open.get() fallback=opener>
            <div
                node_ref=panel
                role="group"
                aria-label=question.clone()
                data-testid=format!("{testid}-confirm")
                class=if danger {
                    "w-full space-y-2 rounded border border-red-200 bg-red-50 p-3 text-sm"
                } else {
                    "w-full space-y-2 rounded border border-amber-200 bg-amber-50 p-3 text-sm"
                }
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        ev.prevent_default();
                        close();
                    } else if let Some(p) = panel.get_untracked() {
                        trap_tab(&p, &ev);
                    }
                }
            >
                <p class="font-medium text-slate-900">{question.clone()}</p>
                <div class="flex flex-wrap items-end gap-2">
                    {children.read_value()()}
                    <button type="button" class=SECONDARY on:click=move |_| close()>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
}
