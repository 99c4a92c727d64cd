//! The list table every admin page shows: a header row from column names,
//! and the rows the page draws (`children`). Wide screens get a table; below
//! Tailwind's `sm` each row becomes a card whose cells carry their column's
//! name (`data-label`, drawn by `.cards` in style/tailwind.css), so no page
//! scrolls sideways on a phone. Columns named in `secondary` are left out
//! between phone and `lg` widths (their cells use `TD2`), so row actions stay
//! in view on a laptop.

use crate::ui::components::widgets::{TABLE_WRAP, THEAD};
use leptos::prelude::*;

/// A cell.
pub const TD: &str = "px-3 py-2";
/// A cell of a secondary column: shown on phones (in the card) and from `lg`.
pub const TD2: &str = "px-3 py-2 sm:hidden lg:table-cell";
/// A header cell of a secondary column.
const TH2: &str = "px-3 py-2 sm:hidden lg:table-cell";

/// A table with `columns` as its header and the page's `<tr>`s as its body;
/// each `<td>` says its column in `data-label`. `label` names the table for
/// screen readers (and its scrolling frame, which takes focus when the
/// table is wider than the frame).
#[component]
pub fn DataTable(
    columns: &'static [&'static str],
    testid: &'static str,
    /// Columns hidden between `sm` and `lg` (their cells use `TD2`).
    #[prop(optional)]
    secondary: &'static [&'static str],
    #[prop(optional)] label: &'static str,
    children: Children,
) -> impl IntoView {
    let label = (!label.is_empty()).then_some(label);
    view! {
        <div class=TABLE_WRAP role="region" aria-label=label.unwrap_or(testid) tabindex="0">
            <table class="cards min-w-full text-left text-sm" data-testid=testid>
                <thead class=THEAD>
                    <tr>
                        {columns
                            .iter()
                            .map(|c| {
                                let class = if secondary.contains(c) { TH2 } else { "px-3 py-2" };
                                view! { <th scope="col" class=class>{*c}</th> }
                            })
                            .collect_view()}
                    </tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}

/// A table's "nothing here yet" line ("No API keys yet.").
#[component]
pub fn Empty(#[prop(into)] text: String, #[prop(optional)] testid: &'static str) -> impl IntoView {
    view! {
        <p class="rounded-lg border border-dashed border-slate-300 bg-white px-4 py-6 text-center text-sm text-slate-600" data-testid=(!testid.is_empty()).then_some(testid)>
            {text}
        </p>
    }
}
