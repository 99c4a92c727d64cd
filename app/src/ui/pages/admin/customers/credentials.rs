//! Admin: credentials on the customer page (`/admin/customers/:id`: list,
//! create for the customer, revoke, rotate) and the row actions the push
//! credentials page shares. Every change asks first; the server writes the
//! audit event in the same transaction.

use crate::ui::pages::account::credentials::parts::{credential_table, latest_secret, CredentialFields, Credentials, SecretSlot, Shown};
use crate::ui::components::feedback::reset_on;
use crate::server_fns::credentials::{customer_credentials, CreateCustomerCredential, RevokeCredential, RotateCredential};
use crate::ui::auth_context::Auth;
use crate::ui::components::confirm::{Confirm, CONFIRM, CONFIRM_DANGER};
use crate::ui::components::form::{FormError, BUTTON};
use crate::ui::components::widgets::{gate, LoadError, CARD};
use crate::domain::credential::CredentialStatus;
use crate::domain::Role;
use crate::error::AppError;
use crate::views::CredentialView;
use leptos::prelude::*;

/// Revoke and rotate of any credential (admins).
#[derive(Clone, Copy)]
pub struct RowActions {
    pub revoke: ServerAction<RevokeCredential>,
    pub rotate: ServerAction<RotateCredential>,
}

impl RowActions {
    pub fn new() -> Self {
        Self { revoke: ServerAction::new(), rotate: ServerAction::new() }
    }

    /// The last refusal of either, for the banner above the table.
    pub fn error(self) -> Signal<Option<AppError>> {
        Signal::derive(move || {
            self.revoke.value().get().and_then(|r| r.err()).or_else(|| self.rotate.value().get().and_then(|r| r.err()))
        })
    }

    /// Rotate (live only) and revoke (not yet revoked), each confirmed first.
    pub fn cell(self, c: &CredentialView) -> AnyView {
        let id = c.id;
        let Self { revoke, rotate } = self;
        let events = format!("/audit?credential={}", crate::views::urlencode(&c.username));
        let name = c.name.clone();
        view! {
            <a class=crate::ui::components::widgets::LINK href=events data-testid="credential-events" aria-label=format!("Events of credential {name}")>"Events"</a>
            {(c.status == CredentialStatus::Active).then(|| view! {
                <Confirm label="Rotate" name=format!("Rotate credential {name}") testid="rotate-credential" question="Make a new secret? The current one stops working at once.">
                    <ActionForm action=rotate>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class=CONFIRM>"Confirm rotate"</button>
                    </ActionForm>
                </Confirm>
            })}
            {(c.status != CredentialStatus::Revoked).then(|| view! {
                <Confirm label="Revoke" name=format!("Revoke credential {name}") danger=true testid="revoke-credential" question="Revoke this credential? Its next token request is refused.">
                    <ActionForm action=revoke>
                        <input type="hidden" name="id" value=id.to_string()/>
                        <button type="submit" class=CONFIRM_DANGER>"Confirm revoke"</button>
                    </ActionForm>
                </Confirm>
            })}
        }
        .into_any()
    }
}

impl Default for RowActions {
    fn default() -> Self {
        Self::new()
    }
}

/// Everything the customer page's credentials section needs, made in the
/// page component (outside `RequireRole`, see `widgets::gate`).
#[derive(Clone, Copy)]
pub struct CustomerCredentials {
    pub list: Credentials,
    pub create: ServerAction<CreateCustomerCredential>,
    pub rows: RowActions,
    pub shown: Shown,
}

impl CustomerCredentials {
    pub fn new(auth: Auth, customer_id: impl Fn() -> Option<i64> + Send + Sync + 'static) -> Self {
        let create = ServerAction::<CreateCustomerCredential>::new();
        let rows = RowActions::new();
        let shown = latest_secret([create.value(), rows.rotate.value()]);
        let list = Resource::new(
            move || (customer_id(), create.version().get(), rows.revoke.version().get(), rows.rotate.version().get()),
            move |(id, _, _, _)| async move {
                gate(auth, &[Role::Admin]).await?;
                customer_credentials(id.ok_or(AppError::NotFound)?).await
            },
        );
        Self { list, create, rows, shown }
    }
}

/// The section: the table, the secret once, the create form.
#[component]
pub fn CustomerCredentialsSection(#[prop(into)] customer_id: Signal<Option<i64>>, creds: CustomerCredentials) -> impl IntoView {
    let CustomerCredentials { list, create, rows, shown } = creds;
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
        <Transition fallback=|| ()>
            {move || list.get().map(|r| match r {
                // The page itself says "not found".
                Err(AppError::NotFound) => ().into_any(),
                Err(e) => view! { <div class="mt-6"><LoadError error=e/></div> }.into_any(),
                Ok(items) => view! {
                    <section class="mt-6" data-testid="customer-credentials">
                        <h2 class="mb-2 text-lg font-semibold">"Pull credentials"</h2>
                        <div class="mt-2 min-w-0">
                            <FormError error=rows.error() fields=&[]/>
                            {credential_table(items, false, slot, move |c| rows.cell(c))}
                        </div>
                        <div class=format!("{CARD} mt-4")>
                            <h3 class="mb-3 font-semibold">"New credential for this customer"</h3>
                            <ActionForm action=create node_ref=form attr:class="space-y-3" attr:data-testid="new-credential">
                                <input type="hidden" name="customer_id" value=move || customer_id.get().map(|i| i.to_string()).unwrap_or_default()/>
                                <FormError error=create_error fields=&["name", "expires_at"]/>
                                <CredentialFields error=create_error placeholder="production cluster"/>
                                <button type="submit" class=BUTTON>"Create credential"</button>
                            </ActionForm>
                            {slot.created()}
                            <p class="mt-2 text-xs text-slate-600">"Send the secret to the customer by a safe channel; it is shown only once."</p>
                        </div>
                    </section>
                }.into_any(),
            })}
        </Transition>
    }
}
