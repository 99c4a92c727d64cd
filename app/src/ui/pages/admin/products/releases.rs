//! The releases of a product's repositories on `/admin/products/:id`: when
//! each digest was released (first seen pushed or pulled through the
//! gateway, or set by an admin), which decides what a perpetual licence
//! covers. Admins set or backdate a release's time per row; auditors read.

use crate::error::AppError;
use crate::server_fns::catalogue::SetRelease;
use crate::ui::components::confirm::SECONDARY;
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::feedback::Toast;
use crate::ui::components::errors::NotFound;
use crate::ui::components::form::FormError;
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{FieldError, LoadError};
use crate::views::ReleaseView;
use leptos::prelude::*;

pub type Releases = Resource<Result<Vec<ReleaseView>, AppError>>;

const COLUMNS: &[&str] = &["Repository", "Tag", "Digest", "Released", "Source", "Set by"];
const ADMIN_COLUMNS: &[&str] = &["Repository", "Tag", "Digest", "Released", "Source", "Set by", "Set the release time"];
/// The time input of a row: narrower than a form's.
const TIME_INPUT: &str = "block w-44 rounded border border-slate-300 bg-white px-2 py-1.5 text-sm shadow-sm focus:border-indigo-500 focus:outline-none focus:ring-2 focus:ring-indigo-200";

/// "sha256:0123456789ab…" for a digest (what does not look like one is shown whole).
pub fn short_digest(digest: &str) -> String {
    match digest.split_once(':') {
        Some((algorithm, hex)) if hex.len() > 12 => format!("{algorithm}:{}…", hex.get(..12).unwrap_or(hex)),
        _ => digest.to_owned(),
    }
}

/// The releases table, with a form per row for admins (`set` given); saving
/// reloads the list (the page's resource follows `set`).
#[component]
pub fn ReleasesSection(releases: Releases, set: Option<ServerAction<SetRelease>>) -> impl IntoView {
    // The row last submitted: an action's input is gone once it answered,
    // so keep which release it was while it is on its way (browser only).
    let last = RwSignal::new(None::<(String, String)>);
    if let Some(set) = set {
        Effect::new(move |_| {
            if let Some(i) = set.input().get() {
                last.set(Some((i.repository, i.digest)));
            }
        });
    }
    view! {
        <section class="mt-6 min-w-0" data-testid="releases">
            <h2 class="font-semibold">"Releases"</h2>
            <p class="mt-1 mb-3 text-sm text-slate-600">
                "When each digest of the product's repositories was released: a perpetual licence covers the versions released before its updates end. "
                "A release is recorded when a digest is first pushed or pulled through the gateway; an admin may set or backdate it (a day such as 2027-01-31, or an RFC 3339 time)."
            </p>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || releases.get().map(|r| match r {
                    Ok(list) if list.is_empty() => view! {
                        <Empty text="No release recorded yet for its repositories (prefix patterns such as acme/widget-* are not listed)." testid="no-releases"/>
                    }.into_any(),
                    Ok(list) => view! {
                        <DataTable columns=if set.is_some() { ADMIN_COLUMNS } else { COLUMNS } secondary=&["Digest", "Source", "Set by"] label="Releases" testid="releases-table">
                            {list.into_iter().map(|r| view! { <ReleaseRow release=r set last/> }).collect_view()}
                        </DataTable>
                    }.into_any(),
                    // An admin reads "not found" from the editor above.
                    Err(AppError::NotFound) if set.is_some() => ().into_any(),
                    Err(AppError::NotFound) => view! { <NotFound/> }.into_any(),
                    Err(e) => view! { <LoadError error=e/> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// One release; for admins, its time form with this row's answer beside it.
#[component]
fn ReleaseRow(release: ReleaseView, set: Option<ServerAction<SetRelease>>, last: RwSignal<Option<(String, String)>>) -> impl IntoView {
    let key = (release.repository.clone(), release.digest.clone());
    let what = format!("{}:{}", release.repository, release.tag.clone().unwrap_or_else(|| short_digest(&release.digest)));
    let (repository, digest) = key.clone();
    let form = set.map(|action| {
        let mine = move || last.with(|l| l.as_ref() == Some(&key));
        let error = Signal::derive({
            let mine = mine.clone();
            move || if mine() { action.value().get().and_then(|r| r.err()) } else { None }
        });
        let saved = move || mine() && matches!(action.value().get(), Some(Ok(())));
        view! {
            <td class=TD data-label="Set the release time">
                <ActionForm action attr:class="flex flex-wrap items-center gap-2" attr:data-testid="set-release">
                    <input type="hidden" name="repository" value=repository/>
                    <input type="hidden" name="digest" value=digest/>
                    <input class=TIME_INPUT type="text" name="released_at" required=true
                        placeholder="2027-01-31" aria-label=format!("Release time of {what}")/>
                    <button type="submit" class=SECONDARY aria-label=format!("Set the release time of {what}")>"Set"</button>
                    <Toast message=Signal::derive(move || saved().then(|| "Saved.".to_owned())) pending=action.pending() testid="release-saved"/>
                </ActionForm>
                <FieldError name="released_at" error/>
                <FormError error fields=&["released_at"]/>
            </td>
        }
    });
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="release-row">
            <td class=format!("{TD} font-mono break-all") data-label="Repository">{release.repository.clone()}</td>
            <td class=format!("{TD} font-mono") data-label="Tag">{release.tag.clone().unwrap_or_else(|| "—".into())}</td>
            <td class=format!("{TD2} font-mono whitespace-nowrap") data-label="Digest">
                <code title=release.digest.clone() data-testid="release-digest">{short_digest(&release.digest)}</code>
            </td>
            <td class=format!("{TD} whitespace-nowrap") data-label="Released" data-testid="release-time"><UtcTime at=release.released_at.clone()/></td>
            <td class=TD2 data-label="Source">{release.source.words()}</td>
            <td class=TD2 data-label="Set by">{release.set_by.clone().unwrap_or_else(|| "—".into())}</td>
            {form}
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_shortened_to_twelve_hex_digits() {
        let digest = format!("sha256:{}", "0123456789abcdef".repeat(4));
        assert_eq!(short_digest(&digest), "sha256:0123456789ab…");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
        assert_eq!(short_digest("odd"), "odd");
    }
}
