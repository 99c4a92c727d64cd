//! Admin: the mail outbox (`/admin/mail`): how mail leaves, how many mails
//! wait, went out or failed, the newest ones (never their text: links are
//! secrets), and "Send again".

use crate::domain::mail::MailStatus;
use crate::domain::Role;
use crate::error::AppError;
use crate::server_fns::mail::{outbox_overview, ResendMail};
use crate::ui::auth_context::use_auth;
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::form::FormError;
use crate::ui::components::confirm::{Confirm, CONFIRM};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::utc_time::{MaybeUtcTime, UtcTime};
use crate::ui::components::widgets::{gate, plural, Badge, LoadError, Tone, CARD, LINK};
use crate::views::{MailOverview, MailView};
use leptos::prelude::*;
use leptos_meta::Title;

type Overview = Resource<Result<MailOverview, AppError>>;

#[component]
pub fn AdminMailPage() -> impl IntoView {
    let auth = use_auth();
    let resend = ServerAction::<ResendMail>::new();
    let status = move || leptos_router::hooks::use_query_map().with(|q| q.get("status"));
    // Outside RequireRole: see `widgets::gate`.
    let overview: Overview = Resource::new(
        move || (status(), resend.version().get()),
        move |(status, _)| async move {
            gate(auth, &[Role::Admin]).await?;
            outbox_overview(status).await
        },
    );
    view! {
        <Title text="Mail"/>
        <RequireRole roles=&[Role::Admin]>
            <h1 class="text-2xl font-semibold">"Mail"</h1>
            <p class="mt-1 text-sm text-slate-600">"Every mail the portal sends waits here until it is delivered; failed deliveries are tried again with growing pauses (up to 8 times in about two hours)."</p>
            <FormError error=Signal::derive(move || resend.value().get().and_then(|r| r.err())) fields=&[]/>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || overview.get().map(|r| match r {
                    Ok(o) => view! { <MailBody overview=o resend/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
        </RequireRole>
    }
}

#[component]
fn MailBody(overview: MailOverview, resend: ServerAction<ResendMail>) -> impl IntoView {
    let filter = |label: &'static str, href: &'static str| view! { <a class=LINK href=href>{label}</a> };
    view! {
        <section class=format!("{CARD} mt-4") data-testid="mail-summary">
            <p class="text-sm">"Mail leaves through: "<strong data-testid="mail-transport">{overview.transport}</strong></p>
            {(!overview.delivers).then(|| view! { <p class="mt-2 text-sm text-amber-900">"No mail leaves until an SMTP server is configured."</p> })}
            <p class="mt-2 flex flex-wrap gap-4 text-sm">
                <span data-testid="mail-pending">{format!("{} waiting", plural(overview.pending, "mail", "mails"))}</span>
                <span data-testid="mail-sent">{format!("{} sent", plural(overview.sent, "mail", "mails"))}</span>
                <span data-testid="mail-failed">{format!("{} failed", plural(overview.failed, "mail", "mails"))}</span>
            </p>
            <p class="mt-2 flex flex-wrap gap-3 text-sm">"Show: "{filter("all", "/admin/mail")}{filter("waiting", "/admin/mail?status=pending")}{filter("failed", "/admin/mail?status=failed")}{filter("sent", "/admin/mail?status=sent")}</p>
        </section>
        <section class="mt-4 min-w-0">
            {if overview.mails.is_empty() {
                view! { <Empty text="No mail here." testid="no-mail"/> }.into_any()
            } else {
                view! {
                    <DataTable columns=&["Mail", "To", "Queued", "State", "Attempts", "Actions"] secondary=&["Queued", "Attempts"] label="Mail" testid="mail-table">
                        {overview.mails.into_iter().map(|m| view! { <MailRow mail=m resend/> }).collect_view()}
                    </DataTable>
                }.into_any()
            }}
        </section>
    }
}

fn state(m: &MailView) -> impl IntoView {
    match m.status {
        MailStatus::Sent => view! { <Badge text="sent" tone=Tone::Good/>" "<MaybeUtcTime at=m.sent_at.clone()/> }.into_any(),
        MailStatus::Pending => view! { <Badge text="waiting" tone=Tone::Neutral/><div class="text-xs text-slate-600">"next try "<UtcTime at=m.next_attempt_at.clone()/></div> }.into_any(),
        MailStatus::Failed => view! { <Badge text="failed" tone=Tone::Bad/> }.into_any(),
    }
}

#[component]
fn MailRow(mail: MailView, resend: ServerAction<ResendMail>) -> impl IntoView {
    let id = mail.id;
    let error = mail.last_error.clone().map(|e| view! { <div class="max-w-xs break-words text-xs text-red-700" data-testid="mail-error">{e}</div> });
    let can_resend = mail.status != MailStatus::Pending;
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="mail-row">
            <td class=TD data-label="Mail">{mail.kind.label()}<div class="text-xs text-slate-600">{format!("#{id}")}</div></td>
            <td class=format!("{TD} break-all") data-label="To">{mail.to_address.clone()}</td>
            <td class=format!("{TD2} whitespace-nowrap") data-label="Queued"><UtcTime at=mail.created_at.clone()/></td>
            <td class=TD data-label="State">{state(&mail)}{error}</td>
            <td class=TD2 data-label="Attempts">{mail.attempts}</td>
            <td class=TD>
                {can_resend.then(|| view! {
                    <Confirm label="Send again" name=format!("Send again mail #{id}") testid="resend-mail"
                        question=format!("Send mail #{id} to {} again?", mail.to_address)>
                        <ActionForm action=resend>
                            <input type="hidden" name="id" value=id.to_string()/>
                            <button type="submit" class=CONFIRM>"Confirm send"</button>
                        </ActionForm>
                    </Confirm>
                })}
            </td>
        </tr>
    }
}
