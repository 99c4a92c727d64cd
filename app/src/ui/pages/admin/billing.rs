//! The admin dashboard's "Online payment" card: is Stripe set up, with
//! which grace period and end-of-access rule, is its webhook arriving (events
//! and refused deliveries in the last 24 hours), and which published
//! products Stripe does not know yet.

use crate::domain::order::EndAccess;
use crate::server_fns::billing::billing_status;
use crate::ui::auth_context::use_auth;
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{gate, plural, Badge, LoadError, Tone, CARD};
use crate::domain::Role;
use crate::error::AppError;
use crate::views::BillingStatusView;
use leptos::prelude::*;

pub type Status = Resource<Result<BillingStatusView, AppError>>;

/// Create it in the page component, outside `RequireRole` (see `widgets::gate`).
pub fn status_resource() -> Status {
    let auth = use_auth();
    Resource::new(|| (), move |_| async move {
        gate(auth, &[Role::Admin, Role::Auditor]).await?;
        billing_status().await
    })
}

#[component]
pub fn BillingCard(status: Status) -> impl IntoView {
    view! {
        <section class=format!("{CARD} mt-6") data-testid="billing-status">
            <h2 class="font-semibold">"Online payment"</h2>
            <Suspense fallback=|| view! { <p class="mt-2 text-sm text-slate-600">"Loading…"</p> }>
                {move || status.get().map(|r| match r {
                    Ok(s) => view! { <StatusBody s/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}

/// The last reconciliation with Stripe, in words (its time as `UtcTime`).
fn reconcile_words(run: Option<&crate::views::ReconcileView>) -> AnyView {
    use crate::domain::order::ReconcileCause;
    let Some(r) = run else {
        return "Reconciliation with Stripe has not run yet (the first run starts within minutes of start-up, then daily).".into_any();
    };
    let when = r.started_at.clone();
    let why = match r.cause {
        ReconcileCause::Schedule => "the daily run",
        ReconcileCause::Refusals => "after refused webhook deliveries",
        ReconcileCause::Cli => "from the command line",
    };
    if r.finished_at.is_none() {
        return view! { "Reconciliation with Stripe started at "<UtcTime at=when/>{format!(" ({why}) and has not finished.")} }.into_any();
    }
    let mut s = format!(" ({why}): {} re-read, {} repaired", plural(r.checked, "order", "orders"), r.repaired);
    if r.failed > 0 {
        s.push_str(&format!(", {} could not be read from Stripe (see the server log)", r.failed));
    }
    s.push('.');
    view! { "Last reconciliation with Stripe at "<UtcTime at=when/>{s} }.into_any()
}

#[component]
fn StatusBody(s: BillingStatusView) -> impl IntoView {
    if !s.online_payment {
        return view! {
            <p class="mt-2 text-sm text-slate-600">
                <Badge text="off" tone=Tone::Neutral testid="billing-state"/>
                " Stripe is not configured (PORTCULLIS_STRIPE_SECRET_KEY, PORTCULLIS_STRIPE_WEBHOOK_SECRET): customers see that online payment is not set up, and you grant access by hand."
            </p>
        }
        .into_any();
    }
    let end = if s.end_access == Some(EndAccess::Immediately) { "at once" } else { "at the end of the paid period" };
    let last = s.last_event_at.clone().map(|at| view! { "; the last at "<UtcTime at/> });
    let (tone, traffic) = match (s.events_24h, s.refused_24h) {
        (_, r) if r > 0 => (Tone::Bad, view! { {format!("{} refused in the last 24 hours (wrong signing secret or API version?): see the audit log, action billing.webhook", plural(r, "webhook delivery", "webhook deliveries"))} }.into_any()),
        (0, _) => (Tone::Neutral, view! { "No webhook events in the last 24 hours." }.into_any()),
        (n, _) => (Tone::Good, view! { {format!("{} processed in the last 24 hours", plural(n, "webhook event", "webhook events"))}{last}"." }.into_any()),
    };
    view! {
        <div class="mt-2 space-y-1 text-sm text-slate-700">
            <p><Badge text="on" tone=Tone::Good testid="billing-state"/>" Stripe Checkout sells the catalogue's monthly, yearly and one-time prices."</p>
            <p data-testid="billing-settings">
                {format!("After a failed renewal, access continues for {}; a canceled or unpaid subscription ends {end}.", s.grace)}
            </p>
            <p data-testid="billing-webhooks"><Badge text=if tone == Tone::Bad { "check" } else { "webhook" } tone/>" "{traffic}</p>
            <p data-testid="billing-reconcile">{reconcile_words(s.last_reconcile.as_ref())}</p>
            {(s.unsynced_products > 0).then(|| view! {
                <p data-testid="billing-unsynced">
                    <Badge text="sync" tone=Tone::Warn/>
                    {format!(" {} not yet in Stripe; checkout creates them, or save the product again.", plural(s.unsynced_products, "published product", "published products"))}
                </p>
            })}
        </div>
    }
    .into_any()
}
