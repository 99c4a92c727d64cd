//! "Forgot password" (`/forgot-password`), the pages mailed links open
//! (`/reset-password?token=…`: a reset or an invitation;
//! `/confirm-email?token=…`: a sign-up or a new address, confirmed by a
//! button, not by the visit) and "check your mailbox" after sign-up
//! (`/signup/sent`). All work before the wasm loads (plain form posts).

use crate::domain::mail::LinkPurpose;
use crate::domain::PASSWORD_MIN_CHARS;
use crate::server_fns::account::Unsubscribe;
use crate::server_fns::recovery::{mail_link, ConfirmEmail, RequestPasswordReset, SetPasswordByLink};
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
        Resource::new(|| (), move |_| mail_link(token.clone()))
    };
    let set = ServerAction::<SetPasswordByLink>::new();
    let error = Signal::derive(move || set.value().get().and_then(|r| r.err()));
    let token = StoredValue::new(token);
    view! {
        <Title text="Set your password"/>
        <section class=BOX>
            <Suspense fallback=|| view! { <p>"Checking the link…"</p> }>
                {move || check.get().map(|r| match r {
                    Ok(info) if info.purpose.sets_password() => {
                        let heading = match info.purpose {
                            LinkPurpose::Invite => "Welcome: set your password",
                            _ => "Choose a new password",
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
                    Ok(_) => link_gone("this link confirms an address: open it as it came in the mail".into()).into_any(),
                    Err(e) => link_gone(e.to_string()).into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// What an unusable link's page says.
fn link_gone(why: String) -> impl IntoView {
    view! {
        <h1 class="mb-2 text-2xl font-semibold">"This link does not work"</h1>
        <p role="alert" data-testid="link-gone" class="text-sm text-slate-700">{capitalise(&why)}"."</p>
        <p class="mt-4 text-sm"><a class=LINK href="/forgot-password">"Ask for a new link"</a></p>
    }
}

#[component]
pub fn ConfirmEmailPage() -> impl IntoView {
    let token = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default();
    let check = {
        let token = token.clone();
        Resource::new(|| (), move |_| mail_link(token.clone()))
    };
    let confirm = ServerAction::<ConfirmEmail>::new();
    let error = Signal::derive(move || confirm.value().get().and_then(|r| r.err()));
    // Who is logged in may have just become confirmed (or changed address).
    let auth = crate::ui::auth_context::use_auth();
    Effect::new(move |_| {
        if matches!(confirm.value().get(), Some(Ok(()))) {
            auth.user.refetch();
        }
    });
    let token = StoredValue::new(token);
    view! {
        <Title text="Confirm your address"/>
        <section class=BOX>
            <Suspense fallback=|| view! { <p>"Checking the link…"</p> }>
                {move || check.get().map(|r| match r {
                    Ok(info) if !info.purpose.sets_password() => view! {
                        <h1 class="mb-2 text-2xl font-semibold">"Confirm your address"</h1>
                        <p class="mb-4 text-sm text-slate-600">"Is "<strong data-testid="link-email">{info.email}</strong>" yours? Confirm it to use it for your account."</p>
                        <ActionForm action=confirm attr:class="space-y-4">
                            <input type="hidden" name="token" value=token.get_value()/>
                            <FormError error fields=&[]/>
                            <button type="submit" class=BUTTON>"Confirm my address"</button>
                        </ActionForm>
                    }
                    .into_any(),
                    Ok(_) => link_gone("this link sets a password: open it as it came in the mail".into()).into_any(),
                    Err(e) => link_gone(e.to_string()).into_any(),
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn SignupSentPage() -> impl IntoView {
    view! {
        <Title text="Check your mailbox"/>
        <section class=BOX>
            <h1 class="mb-2 text-2xl font-semibold">"Check your mailbox"</h1>
            <p role="status" data-testid="signup-sent" class="text-sm text-slate-700">
                "We have sent a mail to the address you gave. Follow its link to confirm the address (it works for "
                {LinkPurpose::Verify.lifetime_words()}"). You can log in already and look around; buying and registry credentials wait for the confirmation."
            </p>
            <p class="mt-4 text-sm"><a class=LINK href="/login">"Log in"</a></p>
        </section>
    }
}

/// The page of a mail's unsubscribe link: one button (a visit changes
/// nothing; mail clients use the one-click POST to the same address).
#[component]
pub fn UnsubscribePage() -> impl IntoView {
    let token = StoredValue::new(leptos_router::hooks::use_query_map().with_untracked(|q| q.get("token")).unwrap_or_default());
    let stop = ServerAction::<Unsubscribe>::new();
    let error = Signal::derive(move || stop.value().get().and_then(|r| r.err()));
    view! {
        <Title text="Stop notices"/>
        <section class=BOX>
            <h1 class="mb-2 text-2xl font-semibold">"Stop notices"</h1>
            <Show
                when=move || matches!(stop.value().get(), Some(Ok(())))
                fallback=move || view! {
                    <p class="mb-4 text-sm text-slate-600">"No more mails before access ends or about payments for this account (mails about the account itself still come). You can turn them on again in your settings."</p>
                    <ActionForm action=stop attr:class="space-y-4">
                        <input type="hidden" name="token" value=token.get_value()/>
                        <FormError error fields=&[]/>
                        <button type="submit" class=BUTTON>"Stop notices"</button>
                    </ActionForm>
                }
            >
                <p role="status" data-testid="unsubscribed" class="text-sm text-slate-700">"Done: no more notices for this account."</p>
            </Show>
        </section>
    }
}
