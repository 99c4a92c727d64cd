//! The public start page.

use crate::ui::auth_context::use_auth;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn HomePage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Title text="Welcome"/>
        <section class="grid gap-8 md:grid-cols-2 md:items-center">
            <div>
                <h1 class="text-3xl font-bold tracking-tight md:text-4xl">"Container images, sold and delivered."</h1>
                <p class="mt-4 text-lg text-slate-700">
                    "Buy access to the vendor's images, copy your pull credentials, and pull. "
                    "Access follows what you paid for, checked at every pull."
                </p>
                <Transition fallback=|| ()>
                    {move || {
                        let signed_in = auth.user.get().and_then(|r| r.ok()).flatten();
                        match signed_in {
                            Some(u) => view! {
                                <p class="mt-6"><a class="text-indigo-700 underline" href=u.role.home_path()>"Go to your area"</a></p>
                            }.into_any(),
                            None => view! {
                                <p class="mt-6 flex gap-3">
                                    <a href="/signup" class="rounded bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-500">"Create an account"</a>
                                    <a href="/login" class="rounded border border-slate-300 px-4 py-2 font-semibold hover:bg-white">"Log in"</a>
                                </p>
                            }.into_any(),
                        }
                    }}
                </Transition>
                <p class="mt-4">
                    <a class="font-semibold text-indigo-700 underline hover:text-indigo-500" href="/catalogue" data-testid="browse-catalogue">"Browse the catalogue →"</a>
                </p>
            </div>
            <ol class="space-y-3 rounded-lg border border-slate-200 bg-white p-6 text-sm shadow-sm">
                <li><strong>"1. Choose"</strong>" a product from the vendor's catalogue."</li>
                <li><strong>"2. Pay"</strong>" by subscription or once, through Stripe."</li>
                <li><strong>"3. Pull"</strong>" with credentials that work for exactly what you bought."</li>
            </ol>
        </section>
    }
}
