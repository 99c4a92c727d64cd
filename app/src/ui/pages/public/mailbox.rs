//! Demo mode without SMTP: the local mailbox (`/demo/mailbox`), so a
//! newcomer can follow a reset or invitation link. Anywhere else the page
//! says there is none (its server function answers 404).

use crate::server_fns::mail::demo_mailbox;
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{CARD, LINK};
use crate::views::LocalMailView;
use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn DemoMailboxPage() -> impl IntoView {
    let mails = Resource::new(|| (), |_| demo_mailbox());
    view! {
        <Title text="Demo mailbox"/>
        <h1 class="text-2xl font-semibold">"Demo mailbox"</h1>
        <p class="mt-1 text-sm text-slate-600">"Demo mode has no SMTP server: the mails the portal sends land here, newest first."</p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || mails.get().map(|r| match r {
                Ok(list) if list.is_empty() => view! { <p class="mt-4 text-slate-600" data-testid="mailbox-empty">"No mail yet."</p> }.into_any(),
                Ok(list) => view! {
                    <div class="mt-4 space-y-4" data-testid="mailbox">
                        {list.into_iter().map(|m| view! { <LocalMail mail=m/> }).collect_view()}
                    </div>
                }.into_any(),
                Err(_) => view! { <p class="mt-4 text-slate-600" data-testid="mailbox-off">"There is no local mailbox here: mail goes to an SMTP server."</p> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn LocalMail(mail: LocalMailView) -> impl IntoView {
    // The mail's links as links (the text itself is shown as text).
    let links: Vec<String> = mail
        .text
        .split_whitespace()
        .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
        .map(str::to_owned)
        .collect();
    view! {
        <article class=CARD data-testid="mailbox-mail">
            <h2 class="font-semibold">{mail.subject}</h2>
            <p class="text-sm text-slate-600">"To "{mail.to_address}", "<UtcTime at=mail.sent_at/></p>
            <pre class="mt-3 whitespace-pre-wrap break-words text-sm">{mail.text}</pre>
            {links.into_iter().map(|l| view! { <p class="mt-2 text-sm"><a class=LINK href=l.clone() data-testid="mailbox-link">{l.clone()}</a></p> }).collect_view()}
        </article>
    }
}
