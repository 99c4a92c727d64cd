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
    let message = move || error.get().and_then(|e| e.for_field(name));
    view! {
        <label class="block text-sm font-medium text-slate-700">
            {label}
            <input
                class=INPUT
                type=kind
                name=name
                autocomplete=autocomplete
                required=true
                aria-invalid=move || message().is_some().to_string()
            />
        </label>
        {move || message().map(|m| view! { <p class="mt-1 text-sm text-red-700" data-testid=format!("error-{name}")>{m}</p> })}
    }
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

pub const BUTTON: &str = "inline-flex items-center justify-center rounded bg-indigo-600 px-4 py-2 text-sm font-semibold text-white shadow-sm hover:bg-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-300 disabled:opacity-50";
pub const INPUT_CLASS: &str = INPUT;
