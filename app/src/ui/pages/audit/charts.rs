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
// Drawn at about the size a phone shows it (a 360-unit-wide view box), so
// 11-unit text stays ~11 px on a phone and grows a little on wider screens.
const W: f64 = 360.0;
const H: f64 = 200.0;
const LEFT: f64 = 40.0;
/// Room for half of the last date label, centred on the last day.
const RIGHT: f64 = 20.0;
const TOP: f64 = 10.0;
const BOTTOM: f64 = 34.0;
const AXIS_TEXT: &str = "fill-slate-600 text-[11px]";

/// Round tick steps for a maximum: 1, 2, 5 × 10ⁿ, at most five ticks above 0.
pub fn ticks(max: i64) -> Vec<i64> {
    let max = max.max(1);
    let mut step = 1i64;
    'outer: loop {
        for m in [1, 2, 5] {
            if (max + step * m - 1) / (step * m) <= 5 {
                step *= m;
                break 'outer;
            }
        }
        step *= 10;
    }
    (0..=(max + step - 1) / step).map(|i| i * step).collect()
}

/// "12-01" for "2026-12-01" (the month and day; the year is in the summary).
fn short_day(day: &str) -> String {
    day.get(5..).unwrap_or(day).to_owned()
}

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

/// A bar per day, stacked by series, with a y axis of round ticks and
/// grid lines, dates along the x axis, and a legend.
#[component]
fn StackedBars(days: Vec<String>, series: Vec<(String, Vec<i64>)>, label: &'static str) -> impl IntoView {
    let n = days.len().max(1);
    let totals: Vec<i64> = (0..days.len()).map(|d| series.iter().map(|s| s.1.get(d).copied().unwrap_or(0)).sum()).collect();
    let max = totals.iter().copied().max().unwrap_or(0);
    let ticks = ticks(max);
    let top = *ticks.last().unwrap_or(&1) as f64;
    let sum: i64 = totals.iter().sum();
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let slot = plot_w / n as f64;
    let y_of = move |v: f64| TOP + plot_h - v / top * plot_h;
    let colour = |i: usize| if label == "denials" { DENIED } else { PALETTE[i % PALETTE.len()] };
    let grid = ticks.iter().map(|t| {
        let y = y_of(*t as f64);
        view! {
            <line x1=LEFT y1=format!("{y:.1}") x2=W - RIGHT y2=format!("{y:.1}") class=if *t == 0 { "stroke-slate-400" } else { "stroke-slate-200" }/>
            <text x=LEFT - 4.0 y=format!("{:.1}", y + 4.0) text-anchor="end" class=AXIS_TEXT>{t.to_string()}</text>
        }
    }).collect_view();
    // At most six dates along the axis, the last day always among them.
    let every = days.len().div_ceil(6).max(1);
    let x_labels = days.iter().enumerate().filter(|(d, _)| (days.len() - 1 - d) % every == 0).map(|(d, day)| {
        let x = LEFT + (d as f64 + 0.5) * slot;
        view! {
            <line x1=format!("{x:.1}") y1=TOP + plot_h x2=format!("{x:.1}") y2=TOP + plot_h + 4.0 class="stroke-slate-400"/>
            <text x=format!("{x:.1}") y=TOP + plot_h + 16.0 text-anchor="middle" class=AXIS_TEXT>{short_day(day)}</text>
        }
    }).collect_view();
    let mut bars = Vec::new();
    for (d, day) in days.iter().enumerate() {
        let mut acc = 0i64;
        for (i, (name, values)) in series.iter().enumerate() {
            let v = values.get(d).copied().unwrap_or(0);
            if v == 0 {
                continue;
            }
            let y = y_of((acc + v) as f64);
            let h = y_of(acc as f64) - y;
            acc += v;
            bars.push(view! {
                <rect x=format!("{:.1}", LEFT + d as f64 * slot + slot * 0.1) y=format!("{y:.1}") width=format!("{:.1}", (slot * 0.8).max(1.0))
                    height=format!("{h:.1}") class=colour(i).fill>
                    <title>{format!("{day}: {v} {label} ({name})")}</title>
                </rect>
            });
        }
    }
    let legend = series.iter().enumerate().map(|(i, (name, values))| {
        let swatch = format!("inline-block h-3 w-3 rounded-sm {}", colour(i).swatch);
        let total: i64 = values.iter().sum();
        view! { <li class="flex items-center gap-1"><span class=swatch aria-hidden="true"></span>{format!("{name} ({total})")}</li> }
    }).collect_view();
    let busiest = totals.iter().max().copied().unwrap_or(0);
    let summary = format!(
        "{sum} {label} in {} days ({} to {}); the busiest day had {busiest}",
        days.len(),
        days.first().cloned().unwrap_or_default(),
        days.last().cloned().unwrap_or_default()
    );
    view! {
        <svg viewBox=format!("0 0 {W} {H}") class="mt-2 w-full max-w-2xl" role="img" aria-label=summary.clone() data-testid=format!("chart-{label}")>
            {grid}
            {x_labels}
            {bars}
            <text x=LEFT + plot_w / 2.0 y=H - 2.0 text-anchor="middle" class=AXIS_TEXT>"Day (UTC, month-day)"</text>
            <text x="10" y=TOP + plot_h / 2.0 text-anchor="middle" transform=format!("rotate(-90 10 {})", TOP + plot_h / 2.0) class=AXIS_TEXT>
                {format!("{label} per day")}
            </text>
        </svg>
        <p class="mt-1 text-xs text-slate-600">{summary}</p>
        {(series.is_empty() || sum == 0).then(|| view! { <p class="text-sm text-slate-600">"None in this period."</p> })}
        <ul class="mt-2 flex flex-wrap gap-3 text-xs text-slate-700" aria-label="Legend">{legend}</ul>
    }
}

#[cfg(test)]
mod tests {
    use super::ticks;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(ticks(0), vec![0, 1]);
        assert_eq!(ticks(3), vec![0, 1, 2, 3]);
        assert_eq!(ticks(7), vec![0, 2, 4, 6, 8]);
        assert_eq!(ticks(23), vec![0, 5, 10, 15, 20, 25]);
        assert_eq!(ticks(480), vec![0, 100, 200, 300, 400, 500]);
    }
}
