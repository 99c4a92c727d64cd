//! What a form says after it worked: a success line that fades (`Toast`),
//! the form emptied again (`reset_on`), and a one-time secret shown right
//! where it was made (`OneTimeSecret`: focused and scrolled into view).

use leptos::html;
use leptos::prelude::*;

/// How long a success line stays.
const TOAST_MS: u64 = 5_000;

/// Empties `form` (`HTMLFormElement.reset()`) each time `ok()` turns true:
/// call with "the action's value is `Ok`".
pub fn reset_on(ok: impl Fn() -> bool + 'static, form: NodeRef<html::Form>) {
    Effect::new(move |_| {
        if ok() {
            if let Some(f) = form.get_untracked() {
                f.reset();
            }
        }
    });
}

/// A success line in a live region (`role="status"`): it shows `message`
/// when that changes to `Some`, and goes after ~5 s or as soon as `pending`
/// (the next submission) starts.
#[component]
pub fn Toast(
    #[prop(into)] message: Signal<Option<String>>,
    #[prop(into, optional)] pending: Option<Signal<bool>>,
    #[prop(optional)] testid: &'static str,
) -> impl IntoView {
    let shown = RwSignal::new(None::<String>);
    // Which message is on screen, so an old timer does not hide a newer one.
    let serial = StoredValue::new(0u64);
    Effect::new(move |_| {
        let m = message.get();
        let n = serial.get_value() + 1;
        serial.set_value(n);
        shown.set(m.clone());
        if m.is_some() {
            set_timeout(
                move || {
                    if serial.get_value() == n {
                        shown.set(None);
                    }
                },
                std::time::Duration::from_millis(TOAST_MS),
            );
        }
    });
    Effect::new(move |_| {
        if pending.is_some_and(|p| p.get()) {
            shown.set(None);
        }
    });
    view! {
        <div role="status" class="min-h-0">
            {move || {
                shown.get().map(|m| view! {
                    <p class="mt-2 rounded border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid=(!testid.is_empty()).then_some(testid)>
                        {m}
                    </p>
                })
            }}
        </div>
    }
}

/// A secret shown this once, placed next to the form that made it: on
/// arrival it takes focus (it is `tabindex=-1`) and scrolls into view, so
/// the keyboard and the eye both land on it.
#[component]
pub fn OneTimeSecret(#[prop(into)] title: String, #[prop(optional)] testid: &'static str, children: Children) -> impl IntoView {
    let node = NodeRef::<html::Section>::new();
    Effect::new(move |_| {
        if let Some(s) = node.get() {
            s.scroll_into_view();
            let _ = s.focus();
        }
    });
    view! {
        <section
            node_ref=node
            tabindex="-1"
            aria-labelledby="one-time-secret-title"
            data-testid=(!testid.is_empty()).then_some(testid)
            class="mt-4 rounded-lg border border-amber-300 bg-amber-50 p-4 focus:outline-none focus:ring-2 focus:ring-amber-400"
        >
            <h2 id="one-time-secret-title" class="font-semibold">{title}</h2>
            {children()}
        </section>
    }
}
