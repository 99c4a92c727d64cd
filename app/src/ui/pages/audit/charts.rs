//! Server-rendered SVG charts (no script needed): registry pulls per day,
//! stacked by product, and denials per day. Shown on the audit page and the
//! admin dashboard.

use crate::server_fns::audit::charts::{audit_charts, ChartData};
use crate::ui::auth_context::use_auth;
use crate::ui::components::widgets::{gate, LoadError, CARD};
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;

pub type Charts = Resource<Result<ChartData, AppError>>;

/// The charts' resource; create it in the page component (see `widgets::gate`).
pub fn charts_resource() -> Charts {
    let auth = use_auth();
    Resource::new(|| (), move |_| async move {
        gate(auth, &[Role::Admin, Role::Auditor]).await?;
        audit_charts().await
    })
}

/// A series' colour as Tailwind classes: the bars' fill and the legend's
/// swatch (the CSP allows no inline style, so no `style=` colours).
#[derive(Clone, Copy)]
struct Colour {
    fill: &'static str,
    swatch: &'static str,
}

const PALETTE: [Colour; 6] = [
    Colour { fill: "fill-indigo-600", swatch: "bg-indigo-600" },
    Colour { fill: "fill-emerald-600", swatch: "bg-emerald-600" },
    Colour { fill: "fill-cyan-600", swatch: "bg-cyan-600" },
    Colour { fill: "fill-purple-600", swatch: "bg-purple-600" },
    Colour { fill: "fill-pink-600", swatch: "bg-pink-600" },
    Colour { fill: "fill-slate-500", swatch: "bg-slate-500" },
];
const DENIED: Colour = Colour { fill: "fill-amber-600", swatch: "bg-amber-600" };
const W: f64 = 600.0;
const H: f64 = 160.0;
const LEFT: f64 = 36.0;
const BOTTOM: f64 = 20.0;

#[component]
pub fn AuditCharts(charts: Charts) -> impl IntoView {
    view! {
        <Transition fallback=|| view! { <p>"Loading charts…"</p> }>
            {move || charts.get().map(|r| match r {
                Ok(data) => view! {
                    <div class="mt-4 grid gap-4 lg:grid-cols-2" data-testid="audit-charts">
                        <section class=CARD>
                            <h2 class="font-semibold">"Pulls per day, by product"</h2>
                            <StackedBars days=data.days.clone() series=data.pulls.clone() label="pulls"/>
                        </section>
                        <section class=CARD>
                            <h2 class="font-semibold">"Denials per day"</h2>
                            <StackedBars days=data.days.clone() series=vec![("Denied".to_owned(), data.denials.clone())] label="denials"/>
                        </section>
                    </div>
                }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Transition>
    }
}

/// A bar per day, stacked by series, with a y-axis maximum and a legend.
#[component]
fn StackedBars(days: Vec<String>, series: Vec<(String, Vec<i64>)>, label: &'static str) -> impl IntoView {
    let n = days.len().max(1);
    let totals: Vec<i64> = (0..days.len()).map(|d| series.iter().map(|s| s.1.get(d).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let sum: i64 = totals.iter().sum();
    let slot = (W - LEFT) / n as f64;
    let scale = (H - BOTTOM - 8.0) / max as f64;
    let colour = |i: usize| if label == "denials" { DENIED } else { PALETTE[i % PALETTE.len()] };
    let mut bars = Vec::new();
    for (d, day) in days.iter().enumerate() {
        let mut y = H - BOTTOM;
        for (i, (name, values)) in series.iter().enumerate() {
            let v = values.get(d).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let h = v as f64 * scale;
            y -= h;
            bars.push(view! {
                <rect x=format!("{:.1}", LEFT + d as f64 * slot + 1.0) y=format!("{y:.1}") width=format!("{:.1}", (slot - 2.0).max(1.0))
                    height=format!("{h:.1}") class=colour(i).fill>
                    <title>{format!("{day}: {v} {label} ({name})")}</title>
                </rect>
            });
        }
    }
    let first = days.first().cloned().unwrap_or_default();
    let last = days.last().cloned().unwrap_or_default();
    let legend = series.iter().enumerate().map(|(i, (name, _))| {
        let swatch = format!("inline-block h-3 w-3 rounded-sm {}", colour(i).swatch);
        view! { <li class="flex items-center gap-1"><span class=swatch></span>{name.clone()}</li> }
    }).collect_view();
    let summary = format!("{sum} {label} in {} days; the busiest day had {}", days.len(), totals.iter().max().copied().unwrap_or(0));
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="mt-2 w-full" role="img" aria-label=summary.clone() data-testid=format!("chart-{label}")>
            <line x1=LEFT y1=H - BOTTOM x2=W y2=H - BOTTOM stroke="#cbd5e1"/>
            <text x=LEFT - 4.0 y="12" text-anchor="end" font-size="10" fill="#64748b">{max}</text>
            <text x=LEFT - 4.0 y=H - BOTTOM text-anchor="end" font-size="10" fill="#64748b">"0"</text>
            <text x=LEFT y=H - 4.0 font-size="10" fill="#64748b">{first}</text>
            <text x=W y=H - 4.0 text-anchor="end" font-size="10" fill="#64748b">{last}</text>
            {bars}
        </svg>
        <p class="mt-1 text-xs text-slate-600">{summary}</p>
        {(series.is_empty() || sum == 0).then(|| view! { <p class="text-sm text-slate-600">"None in this period."</p> })}
        <ul class="mt-2 flex flex-wrap gap-3 text-xs text-slate-700">{legend}</ul>
    }
}
