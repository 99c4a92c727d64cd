//! A two-step control for changes that deserve a second thought: the first
//! click only asks, and what it reveals (typically a submit button reading
//! "Confirm revoke", or a whole `ActionForm`) does the change. Cancel folds
//! it away again. Works once the page is hydrated.

use leptos::prelude::*;

pub const SECONDARY: &str = "inline-flex items-center justify-center rounded border border-slate-300 bg-white px-3 py-1.5 text-sm font-medium text-slate-800 shadow-sm hover:bg-slate-50 focus:outline-none focus:ring-2 focus:ring-indigo-200 disabled:opacity-50";
pub const DANGER: &str = "inline-flex items-center justify-center rounded border border-red-300 bg-white px-3 py-1.5 text-sm font-medium text-red-700 shadow-sm hover:bg-red-50 focus:outline-none focus:ring-2 focus:ring-red-200 disabled:opacity-50";
pub const CONFIRM_DANGER: &str = "inline-flex items-center justify-center rounded bg-red-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-red-500 focus:outline-none focus:ring-2 focus:ring-red-300 disabled:opacity-50";
pub const CONFIRM: &str = "inline-flex items-center justify-center rounded bg-indigo-600 px-3 py-1.5 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-300 disabled:opacity-50";

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
    children: ChildrenFn,
) -> impl IntoView {
    let (open, set_open) = signal(false);
    let children = StoredValue::new(children);
    let opener_id = testid.clone();
    let opener = move || {
        view! {
            <button
                type="button"
                class=if danger { DANGER } else { SECONDARY }
                data-testid=opener_id.clone()
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
                role="group"
                aria-label=question.clone()
                data-testid=format!("{testid}-confirm")
                class=if danger {
                    "w-full space-y-2 rounded border border-red-200 bg-red-50 p-3 text-sm"
                } else {
                    "w-full space-y-2 rounded border border-amber-200 bg-amber-50 p-3 text-sm"
                }
            >
                <p class="font-medium text-slate-900">{question.clone()}</p>
                <div class="flex flex-wrap items-end gap-2">
                    {children.read_value()()}
                    <button type="button" class=SECONDARY on:click=move |_| set_open.set(false)>"Cancel"</button>
                </div>
            </div>
        </Show>
    }
}
