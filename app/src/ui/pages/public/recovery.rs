//! "Forgot password" (`/forgot-password`) and the page a mailed link opens
//! (`/reset-password?token=…`: a reset or an invitation). Both work before
//! the wasm loads (plain form posts).

use crate::domain::mail::LinkPurpose;
use crate::domain::PASSWORD_MIN_CHARS;
use crate::server_fns::recovery::{password_link, RequestPasswordReset, SetPasswordByLink};
use crate::ui::components::form::{Field, FormError, BUTTON};
use crate::ui::pages::public::auth::capitalise;
use crate::ui::components::widgets::LINK;
use leptos::prelude::*;
use leptos_meta::Title;

const BOX: &str = "mx-auto max-w-sm rounded-lg border border-slate-200 bg-white p-6 shadow-sm";

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let error = Signal::derive(move || request.value().get().and_then(|r| r.err()));
    let done = move || matches!(request.value().get(), Some(Ok(())));
    let (email, set_email) = signal(String::new());
    view! {
        <Title text="Forgot your password?"/>
        <section class=BOX>
            <h1 class="mb-2 text-2xl font-semibold">"Forgot your password?"</h1>
            <Show
                when=done
                fallback=move || view! {
                    <p class="mb-4 text-sm text-slate-600">"Give the e-mail address of your account: we send it a link to choose a new password."</p>
                    <ActionForm action=request attr:class="space-y-4">
                        <FormError error fields=&["email"]/>
                        <label class="block text-sm font-medium text-slate-700">
                            "E-mail"
                            <input class=crate::ui::components::form::INPUT_CLASS type="email" name="email" autocomplete="username"
                                required=true maxlength="254" on:input=move |ev| set_email.set(event_target_value(&ev))/>
                        </label>
                        {move || error.get().and_then(|e| e.for_field("email")).map(|m| view! { <p class="text-sm text-red-700" data-testid="error-email">{m}</p> })}
                        <button type="submit" class=BUTTON>"Send the link"</button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="reset-requested" class="text-sm text-slate-700">
                    "If "<strong>{move || email.get()}</strong>" has an account here, we have sent it a link to choose a new password. "
                    "The link works once, for "{LinkPurpose::Reset.lifetime_words()}". Nothing arrived? Look in your spam folder, or ask again in a few minutes."
                </p>
            </Show>
            <p class="mt-4 text-sm text-slate-600"><a class=LINK href="/login">"Back to log in"</a></p>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default();
    let check = {
        let token = token.clone();
        Resource::new(|| (), move |_| password_link(token.clone()))
    };
    let set = ServerAction::<SetPasswordByLink>::new();
    let error = Signal::derive(move || set.value().get().and_then(|r| r.err()));
    let token = StoredValue::new(token);
    view! {
        <Title text="Set your password"/>
        <section class=BOX>
            <Suspense fallback=|| view! { <p>"Checking the link…"</p> }>
                {move || check.get().map(|r| match r {
                    Ok(info) => {
                        let heading = match info.purpose {
                            LinkPurpose::Reset => "Choose a new password",
                            LinkPurpose::Invite => "Welcome: set your password",
                        };
                        view! {
                            <h1 class="mb-2 text-2xl font-semibold">{heading}</h1>
                            <p class="mb-4 text-sm text-slate-600">"For "<strong data-testid="link-email">{info.email}</strong>
                                {format!(". At least {PASSWORD_MIN_CHARS} characters; every session of this account ends when you save it.")}</p>
                            <ActionForm action=set attr:class="space-y-4">
                                <input type="hidden" name="token" value=token.get_value()/>
                                <FormError error fields=&["password"]/>
                                <Field name="password" label="New password" kind="password" autocomplete="new-password" error/>
                                <button type="submit" class=BUTTON>"Save the password"</button>
                            </ActionForm>
                        }
                        .into_any()
                    }
                    Err(e) => view! {
                        <h1 class="mb-2 text-2xl font-semibold">"This link does not work"</h1>
                        <p role="alert" data-testid="link-gone" class="text-sm text-slate-700">{capitalise(&e.to_string())}"."</p>
                        <p class="mt-4 text-sm"><a class=LINK href="/forgot-password">"Ask for a new link"</a></p>
                    }
                    .into_any(),
                })}
            </Suspense>
        </section>
    }
}
