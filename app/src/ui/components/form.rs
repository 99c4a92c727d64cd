//! Form pieces: a labelled input with its error, and the error banner.

use crate::error::AppError;
use leptos::prelude::*;

const INPUT: &str = "mt-1 block w-full rounded border border-slate-300 bg-white px-3 py-2 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200";

/// `<label>` + `<input>` + the message for this field from the last error.
#[component]
pub fn Field(
    name: &'static str,
    label: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    view! {
        <label class="block text-sm font-medium text-slate-700">
            {label}
            <input class=INPUT type=kind name=name autocomplete=autocomplete required=true/>
        </label>
        <FieldError name error/>
    }
}

/// The message for field `name` (from the last error), under its input.
/// While it shows, the input named `name` in the same form is marked
/// `aria-invalid` and described by the message (screen readers read it
/// with the field); the marks go when the message does.
#[component]
pub fn FieldError(name: &'static str, #[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    let message = move || error.get().and_then(|e| e.for_field(name));
    let node = NodeRef::<leptos::html::P>::new();
    Effect::new(move |marked: Option<Option<leptos::web_sys::Element>>| {
        let shown = message().is_some();
        if let Some(Some(input)) = marked {
            let _ = input.remove_attribute("aria-invalid");
            let _ = input.remove_attribute("aria-describedby");
        }
        let p = node.get().filter(|_| shown)?;
        tie_to_field(&p, name)
    });
    move || {
        message().map(|m| view! { <p node_ref=node class="mt-1 text-sm text-red-700" data-testid=format!("error-{name}")>{m}</p> })
    }
}

/// Marks the input named `name` near the error line `p` (in its form, else
/// beside it) invalid and described by `p`; answers the input.
fn tie_to_field(p: &leptos::web_sys::Element, name: &str) -> Option<leptos::web_sys::Element> {
    thread_local!(static NEXT: std::cell::Cell<u32> = const { std::cell::Cell::new(0) });
    let scope = p.closest("form").ok().flatten().or_else(|| p.parent_element())?;
    let input = scope.query_selector(&format!("[name=\"{name}\"]")).ok().flatten()?;
    if p.id().is_empty() {
        let n = NEXT.with(|c| {
            c.set(c.get() + 1);
            c.get()
        });
        p.set_id(&format!("error-{name}-{n}"));
    }
    let _ = input.set_attribute("aria-invalid", "true");
    let _ = input.set_attribute("aria-describedby", &p.id());
    Some(input)
}

/// The banner for an error that belongs to no single field.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>, fields: &'static [&'static str]) -> impl IntoView {
    let general = move || error.get().filter(|e| fields.iter().all(|f| e.for_field(f).is_none()));
    view! {
        {move || {
            general()
                .map(|e| {
                    view! {
                        <p role="alert" data-testid="form-error" class="rounded border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-800">
                            {e.to_string()}
                        </p>
                    }
                })
        }}
    }
}

pub const BUTTON: &str = "inline-flex items-center justify-center rounded bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus-visible:ring-2 focus-visible:ring-indigo-500 focus-visible:ring-offset-2 disabled:opacity-50";
pub const INPUT_CLASS: &str = INPUT;
