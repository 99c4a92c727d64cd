//! Pieces the credential pages share (the customer's `/account/credentials`,
//! the admin's customer page and `/admin/push-credentials`): the table, the
//! form fields, the one-time secret panel, and copy buttons.

use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::components::confirm::SECONDARY;
use crate::ui::components::form::INPUT_CLASS;
use crate::ui::components::copy_button::{select_target, CopyButton};
use crate::ui::components::widgets::{Badge, FieldError, Tone, LABEL, TABLE_WRAP, THEAD};
use crate::domain::credential::CredentialStatus;
use crate::error::AppError;
use crate::views::{CredentialView, NewCredential};
use leptos::prelude::*;

/// What a credential list loads into.
pub type Credentials = Resource<Result<Vec<CredentialView>, AppError>>;

/// What a create or rotate action answered.
pub type Answer = MappedSignal<Option<Result<NewCredential, AppError>>>;

/// The secret just made by a create or rotate action (their `value()`s),
/// until "Done".
pub fn latest_secret<const N: usize>(answers: [Answer; N]) -> RwSignal<Option<NewCredential>> {
    let shown = RwSignal::new(None::<NewCredential>);
    // Effects run in the browser only, where actions complete.
    for answer in answers {
        Effect::new(move |_| {
            if let Some(Ok(n)) = answer.get() {
                shown.set(Some(n));
            }
        });
    }
    shown
}

pub fn status_tone(status: CredentialStatus) -> Tone {
    match status {
        CredentialStatus::Active => Tone::Good,
        CredentialStatus::Expired => Tone::Warn,
        CredentialStatus::Revoked => Tone::Bad,
    }
}

/// The credentials as a table; `actions` draws the last cell of each row.
/// `owner` adds a column with the owner's e-mail address.
pub fn credential_table(list: Vec<CredentialView>, owner: bool, actions: impl Fn(&CredentialView) -> AnyView) -> AnyView {
    if list.is_empty() {
        return view! { <p class="text-sm text-slate-600" data-testid="no-credentials">"No credentials yet."</p> }.into_any();
    }
    let rows = list
        .into_iter()
        .map(|c| {
            let cell = actions(&c);
            let name = c.name.clone();
            view! {
                <tr class="border-t border-slate-100 align-top" data-testid="credential-row" data-name=name>
                    <td class="min-w-[10rem] px-3 py-2">
                        <span class="font-medium">{c.name}</span>
                        <div class="font-mono text-xs text-slate-500 break-all" data-testid="credential-user">{c.username}</div>
                        {c.robot.map(|r| view! {
                            <div class="mt-1 text-xs text-slate-600" data-testid="credential-robot" data-state=r.state.clone()>
                                {format!("Registry account: {}", r.state_text)}
                                {(!r.projects.is_empty()).then(|| format!(" (Harbor projects: {})", r.projects.join(", ")))}
                            </div>
                            {r.new_secret_reason.map(|why| view! {
                                <div class="mt-1 text-xs text-amber-800" data-testid="credential-new-secret">
                                    {format!("New secret waiting: {why}.")}
                                </div>
                            })}
                        })}
                    </td>
                    {owner.then(|| view! { <td class="px-3 py-2 break-all">{c.owner_email}</td> })}
                    <td class="px-3 py-2 whitespace-nowrap"><UtcTime at=c.created_at/><div class="text-xs text-slate-500">{format!("by {}", c.created_by)}</div></td>
                    <td class="px-3 py-2 whitespace-nowrap"><MaybeUtcTime at=c.expires_at/></td>
                    <td class="px-3 py-2 whitespace-nowrap"><MaybeUtcTime at=c.last_used_at/></td>
                    <td class="px-3 py-2 whitespace-nowrap"><MaybeUtcTime at=c.last_pulled_at/></td>
                    <td class="px-3 py-2">
                        <Badge text=c.status.as_str() tone=status_tone(c.status) testid="credential-status"/>
                        {c.revoked_at.map(|at| view! { <div class="text-xs text-slate-500 whitespace-nowrap"><UtcTime at/></div> })}
                    </td>
                    <td class="px-3 py-2"><div class="flex min-w-[12rem] flex-wrap gap-2">{cell}</div></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class=TABLE_WRAP>
            <table class="min-w-full text-left text-sm" data-testid="credentials-table">
                <thead class=THEAD>
                    <tr>
                        <th class="px-3 py-2">"Name"</th>
                        {owner.then(|| view! { <th class="px-3 py-2">"Owner"</th> })}
                        <th class="px-3 py-2">"Created"</th><th class="px-3 py-2">"Expires"</th>
                        <th class="px-3 py-2">"Last used"</th><th class="px-3 py-2">"Last pulled"</th>
                        <th class="px-3 py-2">"Status"</th><th class="px-3 py-2">"Actions"</th>
                    </tr>
                </thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
    .into_any()
}

/// The name and optional expiry inputs of a create form.
#[component]
pub fn CredentialFields(#[prop(into)] error: Signal<Option<AppError>>, placeholder: &'static str) -> impl IntoView {
    view! {
        <div class="flex flex-wrap items-start gap-3">
            <div class="min-w-[14rem] flex-1">
                <label class=LABEL>
                    "Name"<span class="font-normal text-slate-500">{format!(" (e.g. \"{placeholder}\")")}</span>
                    <input class=INPUT_CLASS type="text" name="name" required=true maxlength="100" autocomplete="off"/>
                </label>
                <FieldError name="name" error/>
            </div>
            <div class="min-w-[12rem]">
                <label class=LABEL>
                    "Expires"<span class="font-normal text-slate-500">" (optional, UTC)"</span>
                    <input class=INPUT_CLASS type="date" name="expires_at"/>
                </label>
                <FieldError name="expires_at" error/>
            </div>
        </div>
    }
}

/// The secret of a credential just created or rotated, this once: the user
/// name and the secret, each with a copy button.
#[component]
pub fn SecretOnce(new: NewCredential, on_done: impl Fn() + Send + Sync + 'static) -> impl IntoView {
    let rotated = new.credential.rotated_at.is_some();
    let heading = format!("Credential \"{}\" {}", new.credential.name, if rotated { "rotated" } else { "created" });
    view! {
        <section role="status" data-testid="new-secret" class="mt-4 rounded-lg border border-amber-300 bg-amber-50 p-4">
            <h2 class="font-semibold">{heading}</h2>
            <p class="mt-1 text-sm text-amber-900">
                <strong>"Copy the secret now: it is shown only this once."</strong>
                " Portcullis keeps only a hash of it; if it is lost, rotate the credential to get a new one."
                {rotated.then_some(" The old secret no longer works.")}
            </p>
            <CopyField label="User name" value=new.username testid="credential-username"/>
            <CopyField label="Secret" value=new.secret testid="credential-secret"/>
            <button type="button" class=format!("{SECONDARY} mt-3") on:click=move |_| on_done()>"Done"</button>
        </section>
    }
}

/// A read-only input holding `value`, with a Copy button.
#[component]
fn CopyField(label: &'static str, value: String, testid: &'static str) -> impl IntoView {
    let value = StoredValue::new(value);
    view! {
        <div class="mt-3">
            <span class=LABEL>{label}</span>
            <div class="mt-1 flex flex-wrap items-center gap-2">
                <input readonly=true class=format!("{INPUT_CLASS} mt-0 min-w-0 flex-1 font-mono") aria-label=label
                    data-testid=testid value=value.get_value() on:focus=|ev| select_target(&ev)/>
                <CopyButton text=value.get_value() testid=format!("copy-{testid}")/>
            </div>
        </div>
    }
}

