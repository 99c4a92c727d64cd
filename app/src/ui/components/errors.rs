//! The 404, 403 and 500 pages. Each sets its HTTP status when rendered on the
//! server; the 500 page shows a request id and never the cause.

use leptos::prelude::*;
use leptos_meta::Title;

fn set_status(_code: u16) {
    #[cfg(feature = "ssr")]
    if let Some(opts) = use_context::<leptos_axum::ResponseOptions>() {
        opts.set_status(axum::http::StatusCode::from_u16(_code).unwrap_or_default());
    }
}

#[component]
fn ErrorFrame(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <Title text=title/>
        <section class="mx-auto max-w-xl rounded-lg border border-slate-200 bg-white p-8 shadow-sm">
            <h1 class="mb-3 text-2xl font-semibold">{title}</h1>
            {children()}
            <p class="mt-6"><a class="text-indigo-700 underline" href="/">"Back to the start page"</a></p>
        </section>
    }
}

#[component]
pub fn NotFound() -> impl IntoView {
    set_status(404);
    view! {
        <ErrorFrame title="Page not found">
            <p class="text-slate-700">"There is no page at this address. Check the link, or start again from the home page."</p>
        </ErrorFrame>
    }
}

#[component]
pub fn Forbidden() -> impl IntoView {
    set_status(403);
    view! {
        <ErrorFrame title="Access denied">
            <p class="text-slate-700">"Your account does not have access to this page. If you think it should, ask your vendor's administrator."</p>
        </ErrorFrame>
    }
}

#[component]
pub fn ServerError(#[prop(into)] request_id: String) -> impl IntoView {
    set_status(500);
    view! {
        <ErrorFrame title="Something went wrong">
            <p class="text-slate-700">"The problem is on our side, not yours. If it keeps happening, tell support this request id:"</p>
            <p class="mt-2"><code data-testid="request-id" class="rounded bg-slate-100 px-2 py-1">{request_id}</code></p>
        </ErrorFrame>
    }
}
