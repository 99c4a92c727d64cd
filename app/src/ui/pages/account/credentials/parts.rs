//! Pieces the credential pages share (the customer's `/account/credentials`,
//! the admin's customer page and `/admin/push-credentials`): the table (with
//! a pull credential's holder and limits), the form fields, the one-time
//! secret panel, and copy buttons.

use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::components::confirm::SECONDARY;
use crate::ui::components::form::INPUT_CLASS;
use crate::ui::components::copy_button::{select_target, CopyButton};
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::feedback::OneTimeSecret;
use crate::ui::components::widgets::{Badge, FieldError, Tone, LABEL};
use crate::domain::credential::CredentialStatus;
use crate::domain::organisation::CredentialHolder;
use crate::error::AppError;
use crate::views::{CredentialView, NewCredential};
use leptos::prelude::*;

/// What a credential list loads into.
pub type Credentials = Resource<Result<Vec<CredentialView>, AppError>>;

/// What a create or rotate action answered.
pub type Answer = MappedSignal<Option<Result<NewCredential, AppError>>>;

/// A secret just made, and by which action: `CREATED` (the create form,
/// under which it shows) or another (a row's rotate or reveal: it shows
/// under that row).
pub type Shown = RwSignal<Option<(usize, NewCredential)>>;

/// The index of the create action in `latest_secret`'s answers.
pub const CREATED: usize = 0;

/// The secret just made by a create, rotate or reveal action (their
/// `value()`s, the create first), until "Done".
pub fn latest_secret<const N: usize>(answers: [Answer; N]) -> Shown {
    let shown = RwSignal::new(None);
    // Effects run in the browser only, where actions complete.
    for (i, answer) in answers.into_iter().enumerate() {
        Effect::new(move |_| {
            if let Some(Ok(n)) = answer.get() {
                shown.set(Some((i, n)));
            }
        });
    }
    shown
}

/// Where a credential table shows a rotated or revealed secret (under its
/// row), and what "Done" does.
#[derive(Clone, Copy)]
pub struct SecretSlot {
    pub shown: Shown,
    pub done: Callback<()>,
}

impl SecretSlot {
    /// The secret panel for a secret the create form made, under that form.
    pub fn created(self) -> impl IntoView {
        move || {
            self.shown.get().filter(|(i, _)| *i == CREATED).map(|(_, n)| view! { <SecretOnce new=n on_done=move || self.done.run(())/> })
        }
    }
}

pub fn status_tone(status: CredentialStatus) -> Tone {
    match status {
        CredentialStatus::Active => Tone::Good,
        CredentialStatus::Expired => Tone::Warn,
        CredentialStatus::Revoked => Tone::Bad,
    }
}

/// Who holds a pull credential: "Organisation", or the member's address
/// (push credentials have no holder).
pub fn holder_words(c: &CredentialView) -> Option<String> {
    c.holder.map(|h| match h {
        CredentialHolder::Organisation => "Organisation".to_owned(),
        CredentialHolder::Member => c.owner_email.clone(),
    })
}

/// A credential's limits in words, one line each: "Limited to: Acme Widget,
/// Acme Toolkit" and "From: 10.0.0.0/8, 2001:db8::/32"; none when it may
/// pull every product of the organisation from anywhere.
pub fn limit_lines(c: &CredentialView) -> Vec<String> {
    let products = c.products.iter().map(|p| p.name.as_str()).collect::<Vec<_>>();
    [
        (!products.is_empty()).then(|| format!("Limited to: {}", products.join(", "))),
        (!c.networks.is_empty()).then(|| format!("From: {}", c.networks.join(", "))),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The credentials as a table; `actions` draws the last cell of each row.
/// `owner` adds a column with the owner's e-mail address; `slot` shows a
/// secret just rotated or revealed under its row.
pub fn credential_table(list: Vec<CredentialView>, owner: bool, slot: SecretSlot, actions: impl Fn(&CredentialView) -> AnyView) -> AnyView {
    if list.is_empty() {
        return view! { <Empty text="No credentials yet." testid="no-credentials"/> }.into_any();
    }
    let columns: &'static [&'static str] = if owner {
        &["Name", "Owner", "Created", "Expires", "Last used", "Last pulled", "Status", "Actions"]
    } else {
        &["Name", "Created", "Expires", "Last used", "Last pulled", "Status", "Actions"]
    };
    let span = columns.len().to_string();
    let rows = list
        .into_iter()
        .map(|c| {
            let cell = actions(&c);
            let id = c.id;
            let name = c.name.clone();
            let holder = holder_words(&c);
            let limits = limit_lines(&c);
            let span = span.clone();
            let revoked = c.status == CredentialStatus::Revoked;
            view! {
                <tr class=if revoked { "border-t border-slate-100 bg-slate-50 align-top text-slate-700" } else { "border-t border-slate-100 align-top" }
                    data-testid="credential-row" data-name=name>
                    <td class=TD data-label="Name">
                        <span class="font-medium">{c.name}</span>
                        <div class="font-mono text-xs text-slate-600 break-all" data-testid="credential-user">{c.username}</div>
                        {holder.map(|h| view! {
                            <div class="mt-1 text-xs text-slate-600 break-all">"Held by: "<span data-testid="credential-holder">{h}</span></div>
                        })}
                        {limits.into_iter().map(|l| view! {
                            <div class="mt-1 text-xs text-slate-600 break-all" data-testid="credential-limit">{l}</div>
                        }).collect_view()}
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
                    {owner.then(|| view! { <td class=format!("{TD} break-all") data-label="Owner">{c.owner_email}</td> })}
                    <td class=format!("{TD2} whitespace-nowrap") data-label="Created"><UtcTime at=c.created_at/><div class="text-xs text-slate-600">{format!("by {}", c.created_by)}</div></td>
                    <td class=format!("{TD} whitespace-nowrap") data-label="Expires"><MaybeUtcTime at=c.expires_at/></td>
                    <td class=format!("{TD2} whitespace-nowrap") data-label="Last used"><MaybeUtcTime at=c.last_used_at/></td>
                    <td class=format!("{TD2} whitespace-nowrap") data-label="Last pulled"><MaybeUtcTime at=c.last_pulled_at/></td>
                    <td class=TD data-label="Status">
                        <Badge text=c.status.as_str() tone=status_tone(c.status) testid="credential-status"/>
                        {c.revoked_at.map(|at| view! { <div class="text-xs text-slate-600 whitespace-nowrap"><UtcTime at/></div> })}
                    </td>
                    <td class=TD data-label="Actions"><div class="flex flex-wrap gap-2">{cell}</div></td>
                </tr>
                {move || {
                    slot.shown.get().filter(|(i, n)| *i != CREATED && n.credential.id == id).map(|(_, n)| view! {
                        <tr><td colspan=span.clone() class="px-3 pb-3"><SecretOnce new=n on_done=move || slot.done.run(())/></td></tr>
                    })
                }}
            }
        })
        .collect_view();
    view! {
        <DataTable columns secondary=&["Created", "Last used", "Last pulled"] label="Credentials" testid="credentials-table">
            {rows}
        </DataTable>
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
    let name = new.credential.name.clone();
    view! {
        <OneTimeSecret title=heading testid="new-secret">
            <p class="mt-1 text-sm text-amber-900">
                <strong>"Copy the secret now: it is shown only this once."</strong>
                " Portcullis keeps only a hash of it; if it is lost, rotate the credential to get a new one."
                {rotated.then_some(" The old secret no longer works.")}
            </p>
            <CopyField label="User name" value=new.username testid="credential-username" of=name.clone()/>
            <CopyField label="Secret" value=new.secret testid="credential-secret" of=name/>
            <button type="button" class=format!("{SECONDARY} mt-3") on:click=move |_| on_done()>"Done"</button>
        </OneTimeSecret>
    }
}

/// A read-only input holding `value`, with a Copy button.
#[component]
fn CopyField(label: &'static str, value: String, testid: &'static str, of: String) -> impl IntoView {
    let value = StoredValue::new(value);
    view! {
        <div class="mt-3">
            <span class=LABEL>{label}</span>
            <div class="mt-1 flex flex-wrap items-center gap-2">
                <input readonly=true class=format!("{INPUT_CLASS} mt-0 min-w-0 flex-1 font-mono") aria-label=label
                    data-testid=testid value=value.get_value() on:focus=|ev| select_target(&ev)/>
                <CopyButton text=value.get_value() testid=format!("copy-{testid}") name=format!("Copy the {} of {of}", label.to_lowercase())/>
            </div>
        </div>
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credential::CredentialKind;
    use crate::views::CredentialProduct;

    fn pull(holder: CredentialHolder) -> CredentialView {
        CredentialView {
            id: 1,
            kind: CredentialKind::Pull,
            name: "ci".into(),
            username: "pull-abc".into(),
            owner_id: 2,
            owner_email: "ann@example.com".into(),
            created_by: "ann@example.com".into(),
            created_at: "2026-05-01T10:00:00Z".into(),
            expires_at: None,
            rotated_at: None,
            last_used_at: None,
            last_pulled_at: None,
            revoked_at: None,
            status: CredentialStatus::Active,
            robot: None,
            organisation_id: Some(2),
            holder: Some(holder),
            products: vec![],
            networks: vec![],
        }
    }

    #[test]
    fn holders_and_limits_in_words() {
        let mut c = pull(CredentialHolder::Member);
        assert_eq!(holder_words(&c).as_deref(), Some("ann@example.com"));
        assert!(limit_lines(&c).is_empty());
        c.holder = Some(CredentialHolder::Organisation);
        c.products = vec![CredentialProduct { id: 3, name: "Acme Widget".into() }, CredentialProduct { id: 4, name: "Acme Toolkit".into() }];
        c.networks = vec!["10.0.0.0/8".into(), "2001:db8::/32".into()];
        assert_eq!(holder_words(&c).as_deref(), Some("Organisation"));
        assert_eq!(limit_lines(&c), ["Limited to: Acme Widget, Acme Toolkit", "From: 10.0.0.0/8, 2001:db8::/32"]);
        c.holder = None;
        assert_eq!(holder_words(&c), None);
    }
}
