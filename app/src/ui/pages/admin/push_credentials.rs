//! Admin: push credentials (`/admin/push-credentials`) for the vendor's CI:
//! push and pull on every product's repositories. Every admin's are listed;
//! an admin creates them for themself; revoke and rotate ask first.
//! Auditors see the list only.

use crate::ui::pages::admin::customers::credentials::RowActions;
use crate::ui::pages::account::credentials::parts::{credential_table, latest_secret, CredentialFields, Credentials, SecretSlot, Shown};
use crate::ui::components::feedback::reset_on;
use crate::server_fns::credentials::{push_credentials, CreatePushCredential};
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{FormError, BUTTON};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::widgets::{gate, LoadError, CARD};
use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn AdminPushCredentialsPage() -> impl IntoView {
    let auth = use_auth();
    let create = ServerAction::<CreatePushCredential>::new();
    let rows = RowActions::new();
    let shown = latest_secret([create.value(), rows.rotate.value()]);
    // Outside RequireRole: see `widgets::gate`.
    let list: Credentials = Resource::new(
        move || (create.version().get(), rows.revoke.version().get(), rows.rotate.version().get()),
        move |_| async move {
            gate(auth, &[Role::Admin, Role::Auditor]).await?;
            push_credentials().await
        },
    );
    view! {
        <Title text="Push credentials"/>
        <RequireRole roles=&[Role::Admin, Role::Auditor]>
            <Body list create rows shown/>
        </RequireRole>
    }
}

#[component]
fn Body(
    list: Credentials,
    create: ServerAction<CreatePushCredential>,
    rows: RowActions,
    shown: Shown,
) -> impl IntoView {
    let auth = use_auth();
    let is_admin = move || auth.user.get().and_then(|r| r.ok()).flatten().is_some_and(|u| u.role == Role::Admin);
    let create_error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let done = Callback::new(move |()| {
        shown.set(None);
        create.value().set(None);
        rows.rotate.value().set(None);
    });
    let slot = SecretSlot { shown, done };
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(create.value().get(), Some(Ok(_))), form);
    view! {
        <h1 class="text-2xl font-semibold">"Push credentials"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "For the vendor's CI: a push credential may push and pull every product's repositories. Customers' pull credentials are on each customer's page."
        </p>
        <section class="mt-6 min-w-0">
            <FormError error=rows.error() fields=&[]/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || list.get().map(|r| match r {
                    Ok(items) => {
                        let admin = is_admin();
                        credential_table(items, true, slot, move |c| if admin { rows.cell(c) } else { ().into_any() })
                    }
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
        </section>
        {move || is_admin().then(|| view! {
            <section class=format!("{CARD} mt-6")>
                <h2 class="mb-3 font-semibold">"New push credential"</h2>
                <ActionForm action=create node_ref=form attr:class="space-y-3" attr:data-testid="new-credential">
                    <FormError error=create_error fields=&["name", "expires_at"]/>
                    <CredentialFields error=create_error placeholder="release pipeline"/>
                    <button type="submit" class=BUTTON>"Create push credential"</button>
                </ActionForm>
                {slot.created()}
                <p class="mt-2 text-xs text-slate-600">"It belongs to you; the audit log names you for what it pushes."</p>
            </section>
        })}
    }
}
