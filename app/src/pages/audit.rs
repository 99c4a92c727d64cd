//! The audit log, newest first (admins and auditors).

use crate::api::audit::{recent_events, AUDIT_PAGE_SIZE};
use crate::app::use_auth;
use crate::components::role_gate::RequireRole;
use crate::components::widgets::gate;
use crate::domain::Role;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

type Events = Resource<Result<Vec<crate::api::audit::AuditEntry>, crate::error::AppError>>;

#[component]
pub fn AuditPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let before = move || query.read().get("before").and_then(|b| b.parse::<i64>().ok());
    // Outside RequireRole: see `widgets::gate`.
    let events: Events = Resource::new(before, move |before| async move {
        gate(auth, &[Role::Admin, Role::Auditor]).await?;
        recent_events(before).await
    });
    view! {
        <Title text="Audit log"/>
        <RequireRole roles=&[Role::Admin, Role::Auditor]>
            <AuditBody events/>
        </RequireRole>
    }
}

#[component]
fn AuditBody(events: Events) -> impl IntoView {
    view! {
        <h1 class="text-2xl font-semibold">"Audit log"</h1>
        <p class="mt-1 text-sm text-slate-600">"Every sign-in, account change and access decision. Read-only. Times in UTC."</p>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || events.get().map(|r| match r {
                Ok(rows) => {
                    let older = (rows.len() as i64 == AUDIT_PAGE_SIZE).then(|| rows.last().map(|e| e.id)).flatten();
                    view! {
                        <div class="mt-4 overflow-x-auto rounded-lg border border-slate-200 bg-white shadow-sm">
                            <table class="min-w-full text-left text-sm" data-testid="audit-table">
                                <thead class="bg-slate-100 text-xs uppercase text-slate-600">
                                    <tr>
                                        <th class="px-3 py-2">"Time"</th><th class="px-3 py-2">"Actor"</th><th class="px-3 py-2">"Action"</th>
                                        <th class="px-3 py-2">"Outcome"</th><th class="px-3 py-2">"Target"</th><th class="px-3 py-2">"IP"</th><th class="px-3 py-2">"Details"</th>
                                    </tr>
                                </thead>
                                <tbody>
                                    {rows.into_iter().map(|e| {
                                        let outcome_class = match e.outcome.as_str() {
                                            "success" => "text-emerald-700",
                                            "denied" => "text-amber-700",
                                            _ => "text-red-700",
                                        };
                                        view! {
                                            <tr class="border-t border-slate-100 align-top">
                                                <td class="px-3 py-2 whitespace-nowrap">{e.occurred_at}</td>
                                                <td class="px-3 py-2">{e.actor}</td>
                                                <td class="px-3 py-2 font-mono text-xs">{e.action}</td>
                                                <td class=format!("px-3 py-2 {outcome_class}")>{e.outcome}</td>
                                                <td class="px-3 py-2">{e.target.unwrap_or_default()}</td>
                                                <td class="px-3 py-2 font-mono text-xs" title=e.user_agent.unwrap_or_default()>{e.ip.unwrap_or_default()}</td>
                                                <td class="px-3 py-2 font-mono text-xs break-all">{e.details}</td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        {older.map(|id| view! { <p class="mt-2 text-sm"><a class="text-indigo-700 underline" href=format!("/audit?before={id}")>"Older events"</a></p> })}
                    }.into_any()
                }
                Err(e) => view! { <p role="alert" class="text-red-700">{e.to_string()}</p> }.into_any(),
            })}
        </Transition>
    }
}
