//! One audit event in full (`/audit/events/:id`), with links that filter the
//! log by the same customer, credential, repository or IP; and `UtcTime`,
//! which shows a time in UTC and the viewer's local time on hover.

use crate::ui::components::utc_time::UtcTime;
use crate::ui::pages::audit::list::{outcome_class, Details};
use crate::server_fns::audit::audit_event;
use crate::views::AuditEntry;
use crate::ui::auth_context::use_auth;
use crate::ui::components::role_gate::RequireRole;
use crate::views::urlencode;
use crate::ui::components::widgets::{gate, LoadError, CARD, LINK};
use crate::domain::Role;
use crate::error::AppError;
use crate::ui::components::errors::NotFound;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn AuditEventPage() -> impl IntoView {
    let auth = use_auth();
    let params = use_params_map();
    let id = move || params.read().get("id").and_then(|s| s.parse::<i64>().ok());
    let event = Resource::new(id, move |id| async move {
        gate(auth, &[Role::Admin, Role::Auditor]).await?;
        audit_event(id.ok_or(AppError::NotFound)?).await
    });
    view! {
        <Title text="Audit event"/>
        <RequireRole roles=&[Role::Admin, Role::Auditor]>
            <p class="text-sm"><a class=LINK href="/audit">"← Audit log"</a></p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || event.get().map(|r| match r {
                    Ok(e) => view! { <EventDetail e/> }.into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
        </RequireRole>
    }
}

fn filter_link(key: &str, value: &str) -> String {
    format!("/audit?{key}={}", urlencode(value))
}

#[component]
fn EventDetail(e: AuditEntry) -> impl IntoView {
    let credential = serde_json::from_str::<serde_json::Value>(&e.details).ok().and_then(|v| {
        v.get("username").or_else(|| v.get("credential")).and_then(|c| c.as_str()).map(str::to_owned)
    });
    let row = |label: &'static str, value: AnyView| {
        view! { <div class="py-2 sm:grid sm:grid-cols-4 sm:gap-4"><dt class="font-medium text-slate-600">{label}</dt><dd class="sm:col-span-3 break-all">{value}</dd></div> }
    };
    let repo = (e.target_type.as_deref() == Some("repository")).then(|| e.target_id.clone()).flatten();
    view! {
        <h1 class="mt-3 text-2xl font-semibold">"Event " {e.id}</h1>
        <dl class=format!("mt-4 divide-y divide-slate-100 text-sm {CARD}") data-testid="audit-event">
            {row("Time", view! { <UtcTime at=e.occurred_at_iso.clone()/> " " <span class="text-slate-600">{e.occurred_at_iso.clone()}</span> }.into_any())}
            {row("Action", view! { <a class=LINK href=filter_link("action", &e.action)><code>{e.action.clone()}</code></a> }.into_any())}
            {row("Outcome", view! { <span class=outcome_class(&e.outcome)>{e.outcome.clone()}</span> }.into_any())}
            {row("Actor", view! { {e.actor.clone()} {e.actor_user_id.map(|id| format!(" (user {id})"))} }.into_any())}
            {row("Customer", match e.subject_user_id {
                Some(id) => view! { <a class=LINK href=filter_link("customer", &id.to_string())>{format!("user {id}: all their events")}</a> }.into_any(),
                None => view! { "—" }.into_any(),
            })}
            {row("Target", view! { {e.target.clone().unwrap_or_else(|| "—".into())} }.into_any())}
            {repo.map(|r| row("Repository", view! { <a class=LINK href=filter_link("repository", &r)>{r.clone()}</a> }.into_any()))}
            {credential.map(|c| row("Credential", view! { <a class=LINK href=filter_link("credential", &c)>{c.clone()}</a> }.into_any()))}
            {row("Client IP", match e.ip.clone() {
                Some(ip) => view! { <a class=LINK href=filter_link("ip", &ip)>{ip.clone()}</a> }.into_any(),
                None => view! { "—" }.into_any(),
            })}
            {row("User agent", view! { {e.user_agent.clone().unwrap_or_else(|| "—".into())} }.into_any())}
            {row("Details", view! { <Details json=e.details.clone()/> }.into_any())}
            {row("Chain hash", view! { <code class="font-mono text-xs">{e.chain_hash.clone().unwrap_or_else(|| "not sealed yet".into())}</code> }.into_any())}
        </dl>
    }
}
