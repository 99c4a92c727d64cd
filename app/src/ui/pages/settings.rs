//! `/settings`, every role: the account's address (confirmed or not, the
//! confirmation mail again), change the address, change the password, log
//! out everywhere. Forms work before the wasm loads.

use crate::server_fns::account::{ChangeEmail, ChangePassword, LogoutEverywhere, ResendConfirmation, SetNotices};
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{Field, FormError, BUTTON};
use crate::ui::components::confirm::SECONDARY;
use crate::ui::components::widgets::{Badge, Tone, CARD};
use crate::views::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = use_auth();
    view! {
        <Title text="Settings"/>
        <h1 class="text-2xl font-semibold">"Settings"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || auth.user.get().map(|r| match r.ok().flatten() {
                Some(me) => view! { <SettingsBody me/> }.into_any(),
                None => view! { <p class="mt-4">"Log in to change your settings. "<a class="text-indigo-700 underline" href="/login">"Log in"</a></p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn SettingsBody(me: SessionUser) -> impl IntoView {
    let resend = ServerAction::<ResendConfirmation>::new();
    let email = ServerAction::<ChangeEmail>::new();
    let password = ServerAction::<ChangePassword>::new();
    let everywhere = ServerAction::<LogoutEverywhere>::new();
    let notices = ServerAction::<SetNotices>::new();
    let notices_on = RwSignal::new(me.notices);
    Effect::new(move |_| {
        if let Some(Ok(())) = notices.value().get() {
            notices_on.update(|on| *on = !*on);
        }
    });
    let email_error = Signal::derive(move || email.value().get().and_then(|r| r.err()));
    let password_error = Signal::derive(move || password.value().get().and_then(|r| r.err()));
    let confirmed_now = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("email").as_deref() == Some("confirmed"));
    let done = |a: bool, text: &'static str, testid: &'static str| {
        a.then(|| view! { <p role="status" data-testid=testid class="mt-2 text-sm text-emerald-800">{text}</p> })
    };
    view! {
        {confirmed_now.then(|| view! {
            <p role="status" data-testid="email-confirmed" class="mt-4 rounded border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">"Your address is confirmed."</p>
        })}
        <div class="mt-4 grid gap-6 lg:grid-cols-2">
            <section class=CARD data-testid="settings-address">
                <h2 class="font-semibold">"E-mail address"</h2>
                <p class="mt-2 flex flex-wrap items-center gap-2 text-sm">
                    <span data-testid="settings-email">{me.email.clone()}</span>
                    {if me.email_verified {
                        view! { <Badge text="confirmed" tone=Tone::Good testid="email-state"/> }.into_any()
                    } else {
                        view! { <Badge text="not confirmed" tone=Tone::Warn testid="email-state"/> }.into_any()
                    }}
                </p>
                {(!me.email_verified).then(|| view! {
                    <p class="mt-2 text-sm text-slate-700">"Until you follow the link we mailed you, you can look around but not buy or make registry credentials."</p>
                    <ActionForm action=resend attr:class="mt-2">
                        <button type="submit" class=SECONDARY data-testid="resend-confirmation">"Send the link again"</button>
                    </ActionForm>
                    {move || done(matches!(resend.value().get(), Some(Ok(()))), "Sent: look in your mailbox.", "confirmation-sent")}
                    <FormError error=Signal::derive(move || resend.value().get().and_then(|r| r.err())) fields=&[]/>
                })}
                <h3 class="mt-4 text-sm font-semibold">"Change the address"</h3>
                <ActionForm action=email attr:class="mt-2 space-y-3">
                    <FormError error=email_error fields=&["new_email", "current_password"]/>
                    <Field name="new_email" label="New address" kind="email" autocomplete="email" error=email_error/>
                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=email_error/>
                    <button type="submit" class=BUTTON>"Send a link to the new address"</button>
                </ActionForm>
                {move || done(matches!(email.value().get(), Some(Ok(()))), "Sent: the address changes once you follow the link mailed to it.", "email-change-sent")}
            </section>
            <section class=CARD data-testid="settings-password">
                <h2 class="font-semibold">"Password"</h2>
                <ActionForm action=password attr:class="mt-2 space-y-3">
                    <FormError error=password_error fields=&["current_password", "new_password"]/>
                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=password_error/>
                    <Field name="new_password" label="New password" kind="password" autocomplete="new-password" error=password_error/>
                    <button type="submit" class=BUTTON>"Change the password"</button>
                </ActionForm>
                {move || done(matches!(password.value().get(), Some(Ok(()))), "Changed: every other session has ended.", "password-changed")}
                <h2 class="mt-6 font-semibold">"Sessions"</h2>
                <p class="mt-1 text-sm text-slate-600">"Logged in on a computer you no longer use? End every session but this one."</p>
                <ActionForm action=everywhere attr:class="mt-2">
                    <button type="submit" class=SECONDARY data-testid="logout-everywhere">"Log out everywhere else"</button>
                </ActionForm>
                {move || done(matches!(everywhere.value().get(), Some(Ok(()))), "Done: every other session has ended.", "logged-out-elsewhere")}
                <h2 class="mt-6 font-semibold">"Notices by mail"</h2>
                <p class="mt-1 text-sm text-slate-600" data-testid="notices-state">
                    {move || if notices_on.get() {
                        "On: we mail you before access ends and when a payment fails (admins: a daily digest)."
                    } else {
                        "Off: no notices, only mails about your account itself."
                    }}
                </p>
                <ActionForm action=notices attr:class="mt-2">
                    <input type="hidden" name="on" value=move || (!notices_on.get()).to_string()/>
                    <button type="submit" class=SECONDARY data-testid="toggle-notices">
                        {move || if notices_on.get() { "Turn notices off" } else { "Turn notices on" }}
                    </button>
                </ActionForm>
            </section>
        </div>
    }
}
