//! A member's pull credentials (`/account/credentials`; owners see every
//! credential of the organisation): the list with each one's holder and
//! limits, the form that creates one (one per cluster, say; optional expiry;
//! limited to products and address ranges; owners choose whether they or
//! the organisation hold it), the secret shown once after a create or
//! rotate, revoke and rotate (each asks first), and copy-ready snippets for
//! every repository the organisation may pull.

pub mod limits;
pub mod parts;
pub mod snippets;

use crate::ui::pages::account::credentials::limits::{products_of, LimitFields, Products};
use crate::ui::pages::account::credentials::snippets::{Login, Snippets};
use crate::ui::pages::account::credentials::parts::{credential_table, latest_secret, limit_lines, CredentialFields, Credentials, SecretSlot, Shown};
use crate::ui::components::feedback::reset_on;
use crate::server_fns::credentials::{
    my_credentials, my_registry_access, CreateMyCredential, RevealMyCredential, RevokeMyCredential, RotateMyCredential,
};
use crate::server_fns::entitlements::my_entitlements;
use crate::ui::auth_context::use_auth;
use crate::ui::components::confirm::{Confirm, CONFIRM, CONFIRM_DANGER};
use crate::ui::components::form::{FormError, INPUT_CLASS, BUTTON};
use crate::ui::components::role_gate::RequireMember;
use crate::ui::components::widgets::{member_gate, LoadError, CARD, LABEL, LINK};
use crate::domain::credential::CredentialStatus;
use crate::domain::organisation::Capability;
use crate::error::AppError;
use crate::views::{CredentialView, RegistryAccessView};
use leptos::prelude::*;
use leptos_meta::Title;

type Access = Resource<Result<RegistryAccessView, AppError>>;

/// The actions of the page, passed down together.
#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateMyCredential>,
    revoke: ServerAction<RevokeMyCredential>,
    rotate: ServerAction<RotateMyCredential>,
    /// Shows a recreated Harbor robot's new secret, once.
    reveal: ServerAction<RevealMyCredential>,
    /// The secret of the last create, rotate or reveal, until "Done".
    shown: Shown,
    /// The credential the snippets name (by id), when the customer picks one.
    picked: RwSignal<Option<i64>>,
}

#[component]
pub fn CredentialsPage() -> impl IntoView {
    let auth = use_auth();
    let create = ServerAction::<CreateMyCredential>::new();
    let revoke = ServerAction::<RevokeMyCredential>::new();
    let rotate = ServerAction::<RotateMyCredential>::new();
    let reveal = ServerAction::<RevealMyCredential>::new();
    let shown = latest_secret([create.value(), rotate.value(), reveal.value()]);
    let actions = Actions { create, revoke, rotate, reveal, shown, picked: RwSignal::new(None) };
    // Outside RequireRole: see `widgets::gate`.
    let list: Credentials = Resource::new(
        move || (create.version().get(), revoke.version().get(), rotate.version().get(), reveal.version().get()),
        move |_| async move {
            member_gate(auth, Capability::Pull).await?;
            my_credentials().await
        },
    );
    let access: Access = Resource::new(
        || (),
        move |_| async move {
            member_gate(auth, Capability::Pull).await?;
            my_registry_access().await
        },
    );
    let products: Products = Resource::new(
        || (),
        move |_| async move {
            member_gate(auth, Capability::Pull).await?;
            Ok(products_of(my_entitlements().await?))
        },
    );
    view! {
        <Title text="Pull credentials"/>
        <RequireMember>
            <Body list access products actions/>
        </RequireMember>
    }
}

#[component]
fn Body(list: Credentials, access: Access, products: Products, actions: Actions) -> impl IntoView {
    let Actions { create, revoke, rotate, reveal, shown, picked } = actions;
    let auth = use_auth();
    let owner = Signal::derive(move || auth.user.get().and_then(|r| r.ok()).flatten().is_some_and(|u| u.may(Capability::ManageCredentials)));
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let row_error = Signal::derive(move || {
        revoke.value().get().and_then(|r| r.err()).or_else(|| rotate.value().get().and_then(|r| r.err())).or_else(|| reveal.value().get().and_then(|r| r.err()))
    });
    let done = Callback::new(move |()| {
        shown.set(None);
        create.value().set(None);
        rotate.value().set(None);
        reveal.value().set(None);
    });
    let slot = SecretSlot { shown, done };
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(create.value().get(), Some(Ok(_))), form);
    // The snippets name the credential just shown (with its secret), else
    // the one picked, else the newest active one.
    let login = Signal::derive(move || {
        if let Some((_, n)) = shown.get() {
            return Login { limits: limit_lines(&n.credential), username: n.username, secret: Some(n.secret) };
        }
        let active = active(list);
        let chosen = picked.get().and_then(|id| active.iter().find(|c| c.id == id)).or(active.first());
        Login {
            username: chosen.map_or_else(|| "<username>".into(), |c| c.username.clone()),
            secret: None,
            limits: chosen.map(limit_lines).unwrap_or_default(),
        }
    });
    view! {
        <p class="text-sm"><a class=LINK href="/account">"← My account"</a></p>
        <h1 class="mt-3 text-2xl font-semibold">"Pull credentials"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Your registry clients log in with these to pull the images of your organisation's products. Make one per cluster or machine, so each can be revoked alone, and limit it to what it needs."
            {move || owner.get().then_some(" As an owner you see every credential of the organisation.")}
        </p>
        <section class="mt-6 min-w-0">
            <FormError error=row_error fields=&[]/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || list.get().map(|r| match r {
                    Ok(items) => credential_table(items, false, slot, move |c| row_actions(c, revoke, rotate, reveal)),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
        </section>
        <section class=format!("{CARD} mt-6")>
            <h2 class="mb-3 font-semibold">"New credential"</h2>
            <ActionForm action=create node_ref=form attr:class="space-y-3" attr:data-testid="new-credential">
                <FormError error=create_error fields=&["name", "expires_at", "holder", "products", "networks"]/>
                <CredentialFields error=create_error placeholder="production cluster"/>
                <LimitFields products owner error=create_error cleared=Signal::derive(move || matches!(create.value().get(), Some(Ok(_))))/>
                <button type="submit" class=BUTTON>"Create credential"</button>
            </ActionForm>
            {slot.created()}
        </section>
        <Transition fallback=|| ()>
            {move || access.get().map(|r| match r {
                Ok(a) => view! { <Picker list picked shown/><Snippets access=a login/> }.into_any(),
                Err(e) => view! { <div class="mt-6"><LoadError error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

fn active(list: Credentials) -> Vec<CredentialView> {
    let items = list.get().and_then(|r| r.ok()).unwrap_or_default();
    items.into_iter().filter(|c| c.status == CredentialStatus::Active).collect()
}

/// Chooses the credential the snippets name, when there are several.
#[component]
fn Picker(list: Credentials, picked: RwSignal<Option<i64>>, shown: Shown) -> impl IntoView {
    move || {
        let active = active(list);
        (shown.get().is_none() && active.len() > 1).then(|| {
            let current = picked.get();
            view! {
                <label class=format!("{LABEL} mt-6 max-w-md")>
                    "Snippets for"
                    <select class=INPUT_CLASS data-testid="snippet-credential"
                        on:change=move |ev| picked.set(event_target_value(&ev).parse().ok())>
                        {active.into_iter().map(|c| view! {
                            <option value=c.id.to_string() selected=current == Some(c.id)>{format!("{} ({})", c.name, c.username)}</option>
                        }).collect_view()}
                    </select>
                </label>
            }
        })
    }
}

/// Show a new secret (a Harbor robot made again), rotate (live only) and
/// revoke (not yet revoked), the last two confirmed first.
fn row_actions(
    c: &CredentialView,
    revoke: ServerAction<RevokeMyCredential>,
    rotate: ServerAction<RotateMyCredential>,
    reveal: ServerAction<RevealMyCredential>,
) -> AnyView {
    let id = c.id;
    let live = c.status == CredentialStatus::Active;
    let revocable = c.status != CredentialStatus::Revoked;
    let waiting = live && c.robot.as_ref().is_some_and(|r| r.new_secret_reason.is_some());
    let reveal_label = format!("Show the new secret of {}", c.name);
    let name = c.name.clone();
    view! {
        {waiting.then(|| view! {
            <ActionForm action=reveal>
                <input type="hidden" name="id" value=id.to_string()/>
                <button type="submit" class=BUTTON data-testid="reveal-credential" aria-label=reveal_label>
                    "Show new secret"
                </button>
            </ActionForm>
        })}
        {live.then(|| view! {
            <Confirm label="Rotate" name=format!("Rotate credential {name}") testid="rotate-credential" question="Make a new secret? The current one stops working at once.">
                <ActionForm action=rotate>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class=CONFIRM>"Confirm rotate"</button>
                </ActionForm>
            </Confirm>
        })}
        {revocable.then(|| view! {
            <Confirm label="Revoke" name=format!("Revoke credential {name}") danger=true testid="revoke-credential" question="Revoke this credential? Pulls with it stop at once.">
                <ActionForm action=revoke>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class=CONFIRM_DANGER>"Confirm revoke"</button>
                </ActionForm>
            </Confirm>
        })}
    }
    .into_any()
}
