//! Log-in and sign-up forms. Both work before the wasm loads (plain form
//! posts) and, once hydrated, show errors in place without a reload.

use crate::server_fns::auth::LoginCode;
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{Field, FormError, BUTTON, INPUT_CLASS};
use crate::domain::{Password, PASSWORD_MIN_CHARS};
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;

/// The `next` query parameter, carried through the form as a hidden field
/// (the server only follows it to a path on this site).
fn next_field() -> impl IntoView {
    let next = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next"));
    next.map(|n| view! { <input type="hidden" name="next" value=n/> })
}

/// `path`, keeping the `next` parameter (the way from "Log in" to "Create an
/// account" and back must not lose where the visitor was going).
fn with_next(path: &str) -> String {
    match leptos_router::hooks::use_query_map().with_untracked(|q| q.get("next")) {
        Some(n) => format!("{path}?next={}", crate::views::urlencode(&n)),
        None => path.to_owned(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let auth = use_auth();
    let error = Signal::derive(move || auth.login.value().get().and_then(|r| r.err()));
    // After a password was set through a mailed link.
    let password_set = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("password").as_deref() == Some("set"));
    view! {
        <Title text="Log in"/>
        <section class="mx-auto max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h1 class="mb-4 text-2xl font-semibold">"Log in"</h1>
            {password_set.then(|| view! {
                <p role="status" data-testid="password-set" class="mb-4 rounded border border-emerald-200 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
                    "Your password is saved and every earlier session has ended: log in with it."
                </p>
            })}
            <ActionForm action=auth.login attr:class="space-y-4">
                {next_field()}
                <FormError error fields=&["email", "password"]/>
                <Field name="email" label="E-mail" kind="email" autocomplete="username" error/>
                <Field name="password" label="Password" kind="password" autocomplete="current-password" error/>
                <button type="submit" class=BUTTON>"Log in"</button>
            </ActionForm>
            <p class="mt-4 text-sm text-slate-600"><a class="text-indigo-700 underline" href="/forgot-password" data-testid="forgot-password">"Forgot your password?"</a></p>
            <p class="mt-2 text-sm text-slate-600">"New here? "<a class="text-indigo-700 underline" href=with_next("/signup")>"Create an account"</a></p>
        </section>
    }
}

#[component]
pub fn SignupPage() -> impl IntoView {
    let auth = use_auth();
    let error = Signal::derive(move || auth.signup.value().get().and_then(|r| r.err()));
    let (email, set_email) = signal(String::new());
    let (password, set_password) = signal(String::new());
    // The same rule the server applies, shown while typing (needs hydration).
    let hint = move || {
        let pw = password.get();
        if pw.is_empty() {
            return (false, format!("At least {PASSWORD_MIN_CHARS} characters."));
        }
        match Password::parse(&pw, Some(&email.get())) {
            Ok(_) => (true, "Looks good.".to_string()),
            Err(e) => (false, capitalise(&e.to_string())),
        }
    };
    let password_error = move || error.get().and_then(|e: AppError| e.for_field("password"));
    view! {
        <Title text="Sign up"/>
        <section class="mx-auto max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h1 class="mb-4 text-2xl font-semibold">"Create an account"</h1>
            <ActionForm action=auth.signup attr:class="space-y-4">
                {next_field()}
                <FormError error fields=&["email", "password"]/>
                <label class="block text-sm font-medium text-slate-700">
                    "E-mail"
                    <input class=INPUT_CLASS type="email" name="email" autocomplete="email" required=true
                        on:input=move |ev| set_email.set(event_target_value(&ev))/>
                </label>
                {move || error.get().and_then(|e| e.for_field("email")).map(|m| view! { <p class="text-sm text-red-700" data-testid="error-email">{m}</p> })}
                <label class="block text-sm font-medium text-slate-700">
                    "Password"
                    <input class=INPUT_CLASS type="password" name="password" autocomplete="new-password" required=true
                        on:input=move |ev| set_password.set(event_target_value(&ev))/>
                </label>
                <p data-testid="password-hint" class=move || if hint().0 { "text-sm text-emerald-700" } else { "text-sm text-slate-600" }>
                    {move || hint().1}
                </p>
                {move || password_error().map(|m| view! { <p class="text-sm text-red-700" data-testid="error-password">{m}</p> })}
                <button type="submit" class=BUTTON>"Create account"</button>
            </ActionForm>
            <p class="mt-4 text-sm text-slate-600">"Have an account? "<a class="text-indigo-700 underline" href=with_next("/login")>"Log in"</a></p>
        </section>
    }
}

/// The first letter in upper case (errors read as sentences).
pub(crate) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The second step of a log-in with two-factor sign-in (`/login/code`).
#[component]
pub fn LoginCodePage() -> impl IntoView {
    let step = ServerAction::<LoginCode>::new();
    let auth = use_auth();
    Effect::new(move |_| {
        if matches!(step.value().get(), Some(Ok(_))) {
            auth.user.refetch();
        }
    });
    let error = Signal::derive(move || step.value().get().and_then(|r| r.err()));
    view! {
        <Title text="Your code"/>
        <section class="mx-auto max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
            <h1 class="mb-2 text-2xl font-semibold">"Your code"</h1>
            <p class="mb-4 text-sm text-slate-600">"Enter the 6-digit code your authenticator app shows for this account, or one of your recovery codes."</p>
            <ActionForm action=step attr:class="space-y-4">
                {next_field()}
                <FormError error fields=&["code"]/>
                <Field name="code" label="Code" kind="text" autocomplete="one-time-code" error/>
                <button type="submit" class=BUTTON>"Log in"</button>
            </ActionForm>
            <p class="mt-4 text-sm text-slate-600"><a class="text-indigo-700 underline" href="/login">"Start again"</a></p>
        </section>
    }
}
