//! The admin dashboard's "Registry provisioning" card, shown when pull
//! credentials are Harbor robots: operations waiting for Harbor or
//! failing (with the latest error), robots per state, and the last
//! reconcile with the drift it repaired.

use crate::server_fns::credentials::provisioning_status;
use crate::ui::auth_context::use_auth;
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{gate, plural, Badge, LoadError, Tone, CARD};
use crate::domain::Role;
use crate::error::AppError;
use crate::views::ProvisioningView;
use leptos::prelude::*;

pub type Status = Resource<Result<Option<ProvisioningView>, AppError>>;

/// Create it in the page component, outside `RequireRole` (see `widgets::gate`).
pub fn status_resource() -> Status {
    let auth = use_auth();
    Resource::new(|| (), move |_| async move {
        gate(auth, &[Role::Admin, Role::Auditor]).await?;
        provisioning_status().await
    })
}

#[component]
pub fn ProvisioningCard(status: Status) -> impl IntoView {
    view! {
        <Suspense fallback=|| ()>
            {move || status.get().map(|r| match r {
                Ok(None) => ().into_any(),
                Ok(Some(p)) => view! { <Body p/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Suspense>
    }
}

#[component]
fn Body(p: ProvisioningView) -> impl IntoView {
    let changes = |n: i64| plural(n, "change", "changes");
    let (tone, queue) = match (p.pending, p.failing) {
        (0, _) => (Tone::Good, view! { "Every change has reached Harbor." }.into_any()),
        (n, 0) => (Tone::Neutral, view! {
            {format!("{} on their way to Harbor", changes(n))}
            {p.oldest_pending.clone().map(|at| view! { ", the oldest from "<UtcTime at/> })}
            "."
        }.into_any()),
        (n, f) => (Tone::Bad, view! {
            {format!("{} waiting for Harbor, {f} failing and retried with backoff{}.", changes(n), p.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())}
        }.into_any()),
    };
    let reconcile = match p.last_reconcile.clone() {
        None => view! { "The reconciler has not run yet (it runs within seconds of start-up, then regularly)." }.into_any(),
        Some(at) => {
            let mut s = format!(": {} checked, {} repaired", plural(p.last_checked, "robot", "robots"), plural(p.last_repaired, "drift", "drifts"));
            if p.last_failed > 0 {
                s.push_str(&format!(", {} failed{}", p.last_failed, p.last_reconcile_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()));
            }
            s.push('.');
            view! { "Last reconcile at "<UtcTime at/>{s} }.into_any()
        }
    };
    view! {
        <section id="provisioning" class=format!("{CARD} mt-6") data-testid="provisioning-status">
            <h2 class="font-semibold">"Registry provisioning (Harbor)"</h2>
            <div class="mt-2 space-y-1 text-sm text-slate-700">
                <p data-testid="provisioning-queue"><Badge text=if tone == Tone::Bad { "failing" } else { "outbox" } tone/>" "{queue}</p>
                <p data-testid="provisioning-robots">
                    {format!("Robots: {} enabled, {} disabled, {} being set up.", p.robots_enabled, p.robots_disabled, p.robots_pending)}
                </p>
                <p data-testid="provisioning-reconcile">{reconcile}</p>
            </div>
        </section>
    }
}
