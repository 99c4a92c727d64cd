//! Copying a one-time secret or a snippet: the `CopyButton` (says whether
//! it worked, and what to do when it did not), the clipboard call behind it,
//! and `select_target` for read-only inputs (focus selects the text, for
//! copying by hand).

use crate::ui::components::form::BUTTON;
use leptos::prelude::*;

/// Copies `text` to the clipboard and says whether it worked.
#[component]
pub fn CopyButton(
    #[prop(into)] text: Signal<String>,
    #[prop(into)] testid: String,
    /// The button's accessible name when a page has several ("Copy the
    /// password of ci-bot"); it starts with "Copy".
    #[prop(optional, into)]
    name: Option<String>,
) -> impl IntoView {
    let (copied, set_copied) = signal(None::<bool>);
    view! {
        <span class="inline-flex flex-wrap items-center gap-2">
            <button type="button" class=BUTTON data-testid=testid aria-label=name on:click=move |_| set_copied.set(Some(copy_to_clipboard(&text.get_untracked())))>
                "Copy"
            </button>
            <span role="status">
            {move || copied.get().map(|ok| if ok {
                view! { <span class="text-sm text-emerald-700" data-testid="copied">"Copied."</span> }.into_any()
            } else {
                view! { <span class="text-sm text-red-700">"Could not copy: select the text and copy it by hand."</span> }.into_any()
            })}
            </span>
        </span>
    }
}

/// Selects the text of the focused input, so it is easy to copy by hand.
pub fn select_target(ev: &leptos::ev::FocusEvent) {
    use leptos::wasm_bindgen::JsCast;
    if let Some(input) = ev.target().and_then(|t| t.dyn_into::<leptos::web_sys::HtmlInputElement>().ok()) {
        input.select();
    }
}

/// `navigator.clipboard.writeText(text)`, reached dynamically (the web-sys
/// build here has no Clipboard binding). False when the browser has none.
pub fn copy_to_clipboard(text: &str) -> bool {
    use leptos::wasm_bindgen::{JsCast, JsValue};
    use leptos::web_sys::js_sys::{Function, Reflect};
    let get = |target: &JsValue, key: &str| Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined());
    let Some(clipboard) = get(&window().into(), "navigator").and_then(|n| get(&n, "clipboard")) else {
        return false;
    };
    match get(&clipboard, "writeText").and_then(|f| f.dyn_into::<Function>().ok()) {
        Some(write) => write.call1(&clipboard, &JsValue::from_str(text)).is_ok(),
        None => false,
    }
}
