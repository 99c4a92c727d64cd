//! The customer area.

use crate::app::use_auth;
use crate::components::role_gate::RequireRole;
use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AccountPage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Title text="My account"/>
        <RequireRole roles=&[Role::Customer]>
            <h1 class="text-2xl font-semibold">"My account"</h1>
            <p class="mt-2 text-slate-700">
                "Signed in as "
                <strong data-testid="account-email">
                    {move || auth.user.get().and_then(|r| r.ok()).flatten().map(|u| u.email)}
                </strong>
            </p>
            <div class="mt-6 grid gap-4 md:grid-cols-2">
                <section class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
                    <h2 class="font-semibold">"My products"</h2>
                    <p class="mt-2 text-sm text-slate-600">"You have no products yet. What you buy appears here with its access window."</p>
                </section>
                <section class="rounded-lg border border-slate-200 bg-white p-5 shadow-sm">
                    <h2 class="font-semibold">"Pull credentials"</h2>
                    <p class="mt-2 text-sm text-slate-600">"Credentials for your registry clients will be listed here."</p>
                </section>
            </div>
        </RequireRole>
    }
}
