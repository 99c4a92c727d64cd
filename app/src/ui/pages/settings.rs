//! `/settings`, every role: the account's address (confirmed or not, the
//! confirmation mail again), change the address, change the password, log
//! out everywhere. Forms work before the wasm loads.

use crate::server_fns::account::{
    ChangeEmail, ChangePassword, EndMySession, LogoutEverywhere, ResendConfirmation, SetNotices, TwoFactorBegin,
    TwoFactorConfirm, TwoFactorDisable, MySessions as MySessionsList,
};
use crate::ui::components::utc_time::UtcTime;
use crate::views::SessionView;
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{Field, FormError, BUTTON};
use crate::ui::components::confirm::{Confirm, CONFIRM_DANGER, SECONDARY};
use crate::ui::components::feedback::{reset_on, OneTimeSecret, Toast};
use crate::ui::components::widgets::{Badge, Tone, CARD};
use crate::views::SessionUser;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn SettingsPage() -> impl IntoView {
    let auth = use_auth();
    // The forms' actions live here, above the Suspense: a re-render of the
    // body (the user resource settling after hydration) keeps their results.
    let actions = Actions {
        resend: ServerAction::new(),
        email: ServerAction::new(),
        password: ServerAction::new(),
        everywhere: ServerAction::new(),
        notices: ServerAction::new(),
        begin: ServerAction::new(),
        confirm: ServerAction::new(),
        disable: ServerAction::new(),
    };
    view! {
        <Title text="Settings"/>
        <h1 class="text-2xl font-semibold">"Settings"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || auth.user.get().map(|r| match r.ok().flatten() {
                Some(me) => view! { <SettingsBody me actions/> }.into_any(),
                None => view! { <p class="mt-4">"Log in to change your settings. "<a class="text-indigo-700 underline" href="/login">"Log in"</a></p> }.into_any(),
            })}
        </Suspense>
    }
}

/// Every form's action on the page.
#[derive(Clone, Copy)]
struct Actions {
    resend: ServerAction<ResendConfirmation>,
    email: ServerAction<ChangeEmail>,
    password: ServerAction<ChangePassword>,
    everywhere: ServerAction<LogoutEverywhere>,
    notices: ServerAction<SetNotices>,
    begin: ServerAction<TwoFactorBegin>,
    confirm: ServerAction<TwoFactorConfirm>,
    disable: ServerAction<TwoFactorDisable>,
}

#[component]
fn SettingsBody(me: SessionUser, actions: Actions) -> impl IntoView {
    let Actions { resend, email, password, everywhere, notices, .. } = actions;
    let notices_on = move || notices.value().get().and_then(|r| r.ok()).unwrap_or(me.notices);
    let email_error = Signal::derive(move || email.value().get().and_then(|r| r.err()));
    let password_error = Signal::derive(move || password.value().get().and_then(|r| r.err()));
    let confirmed_now = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("email").as_deref() == Some("confirmed"));
    let two_factor_required = leptos_router::hooks::use_query_map().with_untracked(|q| q.get("two_factor").as_deref() == Some("required"));
    let two_factor_on = me.two_factor;
    // A success line that fades (and goes when the same form is sent again).
    fn done(ok: impl Fn() -> bool + Send + Sync + 'static, pending: Memo<bool>, text: &'static str, testid: &'static str) -> impl IntoView {
        let message = Signal::derive(move || ok().then(|| text.to_owned()));
        view! { <Toast message pending testid/> }
    }
    let email_form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(email.value().get(), Some(Ok(()))), email_form);
    let password_form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(password.value().get(), Some(Ok(()))), password_form);
    view! {
        {two_factor_required.then(|| view! {
            <p role="alert" data-testid="two-factor-required" class="mt-4 rounded border border-amber-200 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                "Your role signs in with a second factor: set up two-factor sign-in below before anything else."
            </p>
        })}
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
                    {done(move || matches!(resend.value().get(), Some(Ok(()))), resend.pending(), "Sent: look in your mailbox.", "confirmation-sent")}
                    <FormError error=Signal::derive(move || resend.value().get().and_then(|r| r.err())) fields=&[]/>
                })}
                <h3 class="mt-4 text-sm font-semibold">"Change the address"</h3>
                <ActionForm action=email node_ref=email_form attr:class="mt-2 space-y-3">
                    <FormError error=email_error fields=&["new_email", "current_password"]/>
                    <Field name="new_email" label="New address" kind="email" autocomplete="email" error=email_error/>
                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=email_error/>
                    <button type="submit" class=BUTTON>"Send a link to the new address"</button>
                </ActionForm>
                {done(move || matches!(email.value().get(), Some(Ok(()))), email.pending(), "Sent: the address changes once you follow the link mailed to it.", "email-change-sent")}
            </section>
            <section class=CARD data-testid="settings-password">
                <h2 class="font-semibold">"Password"</h2>
                <ActionForm action=password node_ref=password_form attr:class="mt-2 space-y-3">
                    <FormError error=password_error fields=&["current_password", "new_password"]/>
                    <Field name="current_password" label="Current password" kind="password" autocomplete="current-password" error=password_error/>
                    <Field name="new_password" label="New password" kind="password" autocomplete="new-password" error=password_error/>
                    <button type="submit" class=BUTTON>"Change the password"</button>
                </ActionForm>
                {done(move || matches!(password.value().get(), Some(Ok(()))), password.pending(), "Changed: every other session has ended.", "password-changed")}
                <h2 class="mt-6 font-semibold">"Sessions"</h2>
                <p class="mt-1 text-sm text-slate-600">"Logged in on a computer you no longer use? End its session, or every session but this one."</p>
                <MySessions everywhere/>
                <div class="mt-2">
                    <Confirm label="Log out everywhere else" danger=true testid="logout-everywhere"
                        question="End every session but this one? Other browsers and devices must log in again.">
                        <ActionForm action=everywhere>
                            <button type="submit" class=CONFIRM_DANGER>"Confirm log out"</button>
                        </ActionForm>
                    </Confirm>
                </div>
                {done(move || matches!(everywhere.value().get(), Some(Ok(()))), everywhere.pending(), "Done: every other session has ended.", "logged-out-elsewhere")}
                <TwoFactor on=two_factor_on actions/>
                <h2 class="mt-6 font-semibold">"Notices by mail"</h2>
                <p class="mt-1 text-sm text-slate-600" data-testid="notices-state">
                    {move || if notices_on() {
                        "On: we mail you before access ends and when a payment fails (admins: a daily digest)."
                    } else {
                        "Off: no notices, only mails about your account itself."
                    }}
                </p>
                <ActionForm action=notices attr:class="mt-2">
                    <input type="hidden" name="on" value=move || (!notices_on()).to_string()/>
                    <button type="submit" class=SECONDARY data-testid="toggle-notices">
                        {move || if notices_on() { "Turn notices off" } else { "Turn notices on" }}
                    </button>
                </ActionForm>
            </section>
        </div>
    }
}

/// Two-factor sign-in: set up (QR code, first code, recovery codes shown
/// once) or turn off (with a current code).
#[component]
fn TwoFactor(on: bool, actions: Actions) -> impl IntoView {
    let Actions { begin, confirm, disable, .. } = actions;
    let confirm_error = Signal::derive(move || confirm.value().get().and_then(|r| r.err()));
    let disable_error = Signal::derive(move || disable.value().get().and_then(|r| r.err()));
    let begin_error = Signal::derive(move || begin.value().get().and_then(|r| r.err()));
    let codes = move || confirm.value().get().and_then(|r| r.ok());
    let now_on = move || (on && !matches!(disable.value().get(), Some(Ok(())))) || codes().is_some();
    view! {
        <h2 class="mt-6 font-semibold">"Two-factor sign-in"</h2>
        <div data-testid="two-factor">
            {move || if let Some(list) = codes() {
                view! {
                    <OneTimeSecret title="Two-factor sign-in is on: your recovery codes">
                        <p data-testid="two-factor-on" class="mt-1 text-sm text-amber-900">"On. Keep these recovery codes somewhere safe: each works once if you lose your phone. They are shown only now."</p>
                        <ul class="mt-2 grid grid-cols-2 gap-1 font-mono text-sm" data-testid="recovery-codes">
                            {list.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                        </ul>
                    </OneTimeSecret>
                }.into_any()
            } else if now_on() {
                view! {
                    <p class="mt-1 text-sm text-slate-600" data-testid="two-factor-state">"On: log-ins ask for a code from your authenticator app."</p>
                    <ActionForm action=disable attr:class="mt-2 space-y-3">
                        <FormError error=disable_error fields=&["code"]/>
                        <Field name="code" label="A current code, to turn it off" kind="text" autocomplete="one-time-code" error=disable_error/>
                        <button type="submit" class=SECONDARY data-testid="two-factor-disable">"Turn off"</button>
                    </ActionForm>
                }.into_any()
            } else {
                match begin.value().get() {
                    Some(Ok(e)) => view! {
                        <p class="mt-1 text-sm text-slate-600">"Scan this with your authenticator app (or type the key), then enter the code it shows."</p>
                        <div class="mt-2 w-52" data-testid="two-factor-qr" inner_html=e.qr_svg></div>
                        <p class="mt-2 break-all font-mono text-xs" data-testid="two-factor-secret">{e.secret}</p>
                        <ActionForm action=confirm attr:class="mt-2 space-y-3">
                            <FormError error=confirm_error fields=&["code"]/>
                            <Field name="code" label="Code from the app" kind="text" autocomplete="one-time-code" error=confirm_error/>
                            <button type="submit" class=BUTTON data-testid="two-factor-confirm">"Turn on"</button>
                        </ActionForm>
                    }.into_any(),
                    _ => view! {
                        <p class="mt-1 text-sm text-slate-600" data-testid="two-factor-state">"Off: log-ins ask for your password only."</p>
                        <FormError error=begin_error fields=&[]/>
                        <ActionForm action=begin attr:class="mt-2">
                            <button type="submit" class=SECONDARY data-testid="two-factor-begin">"Set up"</button>
                        </ActionForm>
                    }.into_any(),
                }
            }}
        </div>
    }
}

/// One's own sessions, loaded when asked for (nothing to hydrate), each
/// but this one with an "End" button.
#[component]
fn MySessions(everywhere: ServerAction<LogoutEverywhere>) -> impl IntoView {
    let load = ServerAction::<MySessionsList>::new();
    let end = ServerAction::<EndMySession>::new();
    // After ending one (or all others), load the list again if it is shown.
    Effect::new(move |_| {
        let changed = end.version().get() + everywhere.version().get();
        if changed > 0 && load.version().get_untracked() > 0 {
            load.dispatch(MySessionsList {});
        }
    });
    view! {
        <button type="button" class=format!("{SECONDARY} mt-2") data-testid="show-my-sessions" on:click=move |_| { load.dispatch(MySessionsList {}); }>
            "Show my sessions"
        </button>
        {move || load.value().get().and_then(|r| r.ok()).map(|sessions| view! {
            <ul class="mt-2 space-y-2 text-sm" data-testid="my-sessions">
                {sessions.into_iter().map(|s| view! { <SessionItem s end/> }).collect_view()}
            </ul>
        })}
    }
}

#[component]
fn SessionItem(s: SessionView, end: ServerAction<EndMySession>) -> impl IntoView {
    let id = s.id.clone();
    view! {
        <li class="flex flex-wrap items-center gap-2 rounded border border-slate-200 px-2 py-1" data-testid="session">
            <span class="break-all">{s.user_agent.clone().unwrap_or_else(|| "unknown browser".into())}</span>
            <span class="text-slate-600">{s.ip.clone().unwrap_or_default()}</span>
            <span class="text-slate-600">"seen "<UtcTime at=s.last_seen_at.clone()/></span>
            {if s.current {
                view! { <Badge text="this one" tone=Tone::Good/> }.into_any()
            } else {
                view! {
                    <ActionForm action=end attr:class="inline">
                        <input type="hidden" name="session_id" value=id/>
                        <button type="submit" class=SECONDARY data-testid="end-session"
                            aria-label=format!("End the session of {}", s.user_agent.clone().unwrap_or_else(|| "an unknown browser".into()))>"End"</button>
                    </ActionForm>
                }.into_any()
            }}
        </li>
    }
}
