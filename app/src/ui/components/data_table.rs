//! The list table every admin page shows: a scrolling frame, a header row
//! from column names, and the rows the page draws (`children`).

use crate::ui::components::widgets::{TABLE_WRAP, THEAD};
use leptos::prelude::*;

/// A table with `columns` as its header and the page's `<tr>`s as its body.
#[component]
pub fn DataTable(columns: &'static [&'static str], testid: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class=TABLE_WRAP>
            <table class="min-w-full text-left text-sm" data-testid=testid>
                <thead class=THEAD>
                    <tr>{columns.iter().map(|c| view! { <th class="px-3 py-2">{*c}</th> }).collect_view()}</tr>
                </thead>
                <tbody>{children()}</tbody>
            </table>
        </div>
    }
}
