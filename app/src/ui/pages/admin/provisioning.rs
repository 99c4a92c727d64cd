//! The admin dashboard's "Registry provisioning" card, shown when pull
//! credentials are Harbor robots: operations waiting for Harbor or
//! failing (with the latest error), robots per state, and the last
//! reconcile with the drift it repaired.

use crate::server_fns::credentials::provisioning_status;
use crate::ui::auth_context::use_auth;
use crate::ui::components::widgets::{gate, Badge, LoadError, Tone, CARD};
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

fn utc(t: &str) -> String {
    format!("{} UTC", t.replace('T', " ").trim_end_matches('Z'))
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
    let (tone, queue) = match (p.pending, p.failing) {
        (0, _) => (Tone::Good, "Every change has reached Harbor.".to_owned()),
        (n, 0) => (Tone::Neutral, format!("{n} change(s) on their way to Harbor{}.", p.oldest_pending.as_deref().map(|t| format!(", the oldest from {}", utc(t))).unwrap_or_default())),
        (n, f) => (Tone::Bad, format!("{n} change(s) waiting for Harbor, {f} failing and retried with backoff{}.", p.last_error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())),
    };
    let reconcile = match &p.last_reconcile {
        None => "The reconciler has not run yet (it runs within seconds of start-up, then regularly).".to_owned(),
        Some(at) => {
            let mut s = format!("Last reconcile at {}: {} robot(s) checked, {} drift(s) repaired", utc(at), p.last_checked, p.last_repaired);
            if p.last_failed > 0 {
                s.push_str(&format!(", {} failed{}", p.last_failed, p.last_reconcile_error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default()));
            }
            s.push('.');
            s
        }
    };
    view! {
        <section class=format!("{CARD} mt-6") data-testid="provisioning-status">
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
