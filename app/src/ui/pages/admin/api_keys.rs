//! Admin: REST API keys (`/admin/api-keys`): the list, the form that creates
//! one (its secret is shown once, with a copy button), and revoking (asks
//! first).

use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::feedback::{reset_on, OneTimeSecret};
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::server_fns::api_keys::{list_api_keys, CreateApiKey, RevokeApiKey};
use crate::ui::auth_context::use_auth;
use crate::ui::components::confirm::{Confirm, CONFIRM_DANGER, SECONDARY};
use crate::ui::components::form::{FormError, BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::copy_button::{select_target, CopyButton};
use crate::ui::components::widgets::{gate, Badge, FieldError, LoadError, Tone, CARD, LABEL};
use crate::domain::Role;
use crate::error::AppError;
use crate::views::{ApiKeyView, NewApiKey};
use leptos::prelude::*;
use leptos_meta::Title;

type Keys = Resource<Result<Vec<ApiKeyView>, AppError>>;

#[component]
pub fn AdminApiKeysPage() -> impl IntoView {
    let auth = use_auth();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    // Outside RequireRole: see `widgets::gate`.
    let keys: Keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        move |_| async move {
            gate(auth, &[Role::Admin]).await?;
            list_api_keys().await
        },
    );
    view! {
        <Title text="API keys"/>
        <RequireRole roles=&[Role::Admin]>
            <ApiKeysBody keys create revoke/>
        </RequireRole>
    }
}

#[component]
fn ApiKeysBody(keys: Keys, create: ServerAction<CreateApiKey>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let revoke_error = Signal::derive(move || revoke.value().get().and_then(|r| r.err()));
    let form = NodeRef::<leptos::html::Form>::new();
    reset_on(move || matches!(create.value().get(), Some(Ok(_))), form);

    view! {
        <h1 class="text-2xl font-semibold">"API keys"</h1>
        <p class="mt-1 text-sm text-slate-600">"Keys for the REST API (/api/v1). An admin key may change things; an auditor key may only read."</p>
        <div class="mt-6 grid gap-6 lg:grid-cols-3">
            <section class="min-w-0 lg:col-span-2">
                <FormError error=revoke_error fields=&[]/>
                <Transition fallback=|| view! { <p>"Loading…"</p> }>
                    {move || keys.get().map(|r| match r {
                        Ok(list) if list.is_empty() => view! { <Empty text="No API keys yet." testid="no-api-keys"/> }.into_any(),
                        Ok(list) => view! {
                            <DataTable columns=&["Name", "Role", "Key id", "Created", "Last used", "State"] secondary=&["Key id", "Created"] label="API keys" testid="api-keys-table">
                                {list.into_iter().map(|k| view! { <KeyRow key=k revoke/> }).collect_view()}
                            </DataTable>
                        }.into_any(),
                        Err(e) => view! { <LoadError error=e/> }.into_any(),
                    })}
                </Transition>
            </section>
            <section class=format!("{CARD} h-fit")>
                <h2 class="mb-3 font-semibold">"New API key"</h2>
                <ActionForm action=create node_ref=form attr:class="space-y-3" attr:data-testid="new-api-key">
                    <FormError error fields=&["name", "role"]/>
                    <label class=LABEL>
                        "Name"<span class="font-normal text-slate-500">" (what uses it, e.g. \"billing sync\")"</span>
                        <input class=INPUT_CLASS type="text" name="name" required=true maxlength="100" autocomplete="off"/>
                    </label>
                    <FieldError name="name" error/>
                    <label class=LABEL>
                        "Role"
                        <select name="role" class=INPUT_CLASS>
                            <option value="auditor">"Auditor (read only)"</option>
                            <option value="admin">"Admin"</option>
                        </select>
                    </label>
                    <FieldError name="role" error/>
                    <button type="submit" class=BUTTON>"Create key"</button>
                </ActionForm>
                {move || create.value().get().and_then(|r| r.ok()).map(|k| view! { <SecretOnce new_key=k on_done=move || create.value().set(None)/> })}
            </section>
        </div>
    }
}

#[component]
fn KeyRow(key: ApiKeyView, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let id = key.id;
    let revoked = key.revoked_at.is_some();
    let state = match key.revoked_at {
        Some(at) => view! { <Badge text="revoked" tone=Tone::Bad/>" "<span class="text-xs text-slate-600"><UtcTime at/></span> }.into_any(),
        None => view! {
            <Confirm label="Revoke" name=format!("Revoke key {}", key.name) danger=true testid="revoke-key"
                question=format!("Revoke the key \"{}\"? Programs using it stop working at once.", key.name)>
                <ActionForm action=revoke>
                    <input type="hidden" name="id" value=id.to_string()/>
                    <button type="submit" class=CONFIRM_DANGER>"Confirm revoke"</button>
                </ActionForm>
            </Confirm>
        }
        .into_any(),
    };
    view! {
        <tr class=if revoked { "border-t border-slate-100 bg-slate-50 align-top text-slate-700" } else { "border-t border-slate-100 align-top" } data-testid="api-key-row">
            <td class=TD data-label="Name">{key.name}<div class="text-xs text-slate-600">{format!("by {}", key.created_by)}</div></td>
            <td class=TD data-label="Role">{key.role.as_str()}</td>
            <td class=format!("{TD2} font-mono text-xs whitespace-nowrap") data-label="Key id">{key.key_id}</td>
            <td class=format!("{TD2} whitespace-nowrap") data-label="Created"><UtcTime at=key.created_at/></td>
            <td class=format!("{TD} whitespace-nowrap") data-label="Last used"><MaybeUtcTime at=key.last_used_at/></td>
            <td class=TD data-label="State">{state}</td>
        </tr>
    }
}

/// The new key's secret, this once: a warning, the text, a copy button.
#[component]
fn SecretOnce(new_key: NewApiKey, on_done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let secret = StoredValue::new(new_key.secret);
    view! {
        <OneTimeSecret title=format!("Key \"{}\" created", new_key.key.name) testid="new-secret">
            <p class="mt-1 text-sm text-amber-900">
                <strong>"Copy the secret now: it is shown only this once."</strong>
                " Portcullis keeps only a hash of it; if it is lost, revoke the key and create another."
            </p>
            <div class="mt-3 flex flex-wrap items-center gap-2">
                <input readonly=true class=format!("{INPUT_CLASS} mt-0 min-w-0 flex-1 font-mono") aria-label="Secret"
                    data-testid="api-key-secret" value=secret.get_value() on:focus=|ev| select_target(&ev)/>
                <CopyButton text=secret.get_value() testid="copy-secret" name=format!("Copy the secret of key {}", new_key.key.name)/>
                <button type="button" class=SECONDARY on:click=move |_| on_done()>"Done"</button>
            </div>
        </OneTimeSecret>
    }
}
