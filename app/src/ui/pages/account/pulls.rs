//! The organisation's pull history (`/account/pulls`, every member): who
//! pulled which image, with which credential, from where and through what
//! (the pull gateway or the registry). Filters (repository, member address,
//! credential, from, to) are kept in the query string, pages of 100 go on
//! with `before=<id>` (stable while new pulls arrive), and the CSV download
//! (`/account/pulls.csv`) takes the same filters. `PullsTable` is shared
//! with the admin's customer page.

use crate::domain::organisation::Capability;
use crate::domain::pull::PullSource;
use crate::error::AppError;
use crate::server_fns::pulls::my_pulls;
use crate::ui::auth_context::use_auth;
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::form::{BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireMember;
use crate::ui::components::utc_time::UtcTime;
use crate::ui::components::widgets::{member_gate, Badge, LoadError, Tone, LABEL, LINK};
use crate::views::{urlencode, PullFilterView, PullView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

type Pulls = Resource<Result<Vec<PullView>, AppError>>;

/// A page of the history holds this many pulls (the server's page).
const PAGE: usize = 100;

/// The filter in the current URL (blank fields are no filter).
pub fn filter_from_query(q: &leptos_router::params::ParamsMap) -> PullFilterView {
    let get = |k: &str| q.get(k).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    PullFilterView {
        repository: get("repository"),
        member: get("member"),
        credential: get("credential"),
        from: get("from"),
        to: get("to"),
        before: q.get("before").and_then(|b| b.parse::<i64>().ok()),
    }
}

/// The filter's query string (without `before`), then `before` if given.
pub fn query_string(f: &PullFilterView, before: Option<i64>) -> String {
    let fields = [
        ("repository", &f.repository),
        ("member", &f.member),
        ("credential", &f.credential),
        ("from", &f.from),
        ("to", &f.to),
    ];
    let mut parts: Vec<String> =
        fields.iter().filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={}", urlencode(v)))).collect();
    if let Some(b) = before {
        parts.push(format!("before={b}"));
    }
    parts.join("&")
}

fn is_filtered(f: &PullFilterView) -> bool {
    !query_string(f, None).is_empty()
}

#[component]
pub fn PullsPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_from_query(&query.read()));
    // Outside RequireMember: see `widgets::gate`.
    let pulls: Pulls = Resource::new(move || filter.get(), move |f| async move {
        member_gate(auth, Capability::Pull).await?;
        my_pulls(Some(f)).await
    });
    view! {
        <Title text="Pull history"/>
        <RequireMember>
            <PullsBody pulls filter/>
        </RequireMember>
    }
}

#[component]
fn PullsBody(pulls: Pulls, filter: Memo<PullFilterView>) -> impl IntoView {
    view! {
        <p class="text-sm"><a class=LINK href="/account">"← My account"</a></p>
        <h1 class="mt-3 text-2xl font-semibold">"Pull history"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Every image your organisation's credentials pulled, newest first: who, with which credential, from where. "
            "Times in UTC (hover for your local time)."
        </p>
        <FilterForm filter=filter.get_untracked()/>
        {move || {
            let q = query_string(&filter.get(), None);
            let csv = if q.is_empty() { "/account/pulls.csv".to_owned() } else { format!("/account/pulls.csv?{q}") };
            view! {
                <p class="mt-3 flex flex-wrap gap-4 text-sm">
                    <span class="text-slate-600">"Everything this filter matches:"</span>
                    <a class=LINK rel="external" download="" href=csv data-testid="pulls-csv">"Download CSV"</a>
                </p>
            }
        }}
        <Transition fallback=|| view! { <p class="mt-3 text-slate-500">"Loading…"</p> }>
            {move || pulls.get().map(|r| match r {
                Ok(list) => view! { <PullsPageTable pulls=list filter=filter.get_untracked()/> }.into_any(),
                Err(e) => view! { <div class="mt-3"><LoadError error=e/></div> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn FilterForm(filter: PullFilterView) -> impl IntoView {
    let field = move |name: &'static str, label: &'static str, value: Option<String>, placeholder: &'static str| {
        view! {
            <label class="block">
                <span class=LABEL>{label}</span>
                <input class=INPUT_CLASS name=name value=value.unwrap_or_default() placeholder=placeholder maxlength="300"/>
            </label>
        }
    };
    view! {
        <form method="get" action="/account/pulls" class="mt-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-2 lg:grid-cols-3" data-testid="pull-filters">
            {field("repository", "Repository", filter.repository.clone(), "acme/widget")}
            {field("member", "Member (address)", filter.member.clone(), "someone@example.com")}
            {field("credential", "Credential (user name or name)", filter.credential.clone(), "pull-… or CI")}
            {field("from", "From (UTC)", filter.from.clone(), "2026-11-01 or 2026-11-01T09:00:00Z")}
            {field("to", "To (UTC)", filter.to.clone(), "2026-11-30")}
            <div class="flex items-end gap-3">
                <button class=BUTTON type="submit">"Filter"</button>
                <a class=LINK href="/account/pulls">"Clear"</a>
            </div>
        </form>
    }
}

/// The table with its empty state and the links to newer and older pages.
#[component]
fn PullsPageTable(pulls: Vec<PullView>, filter: PullFilterView) -> impl IntoView {
    let paged = filter.before.is_some();
    let newest = {
        let q = query_string(&filter, None);
        if q.is_empty() { "/account/pulls".to_owned() } else { format!("/account/pulls?{q}") }
    };
    let older = (pulls.len() >= PAGE)
        .then(|| pulls.last().map(|p| format!("/account/pulls?{}", query_string(&filter, Some(p.id)))))
        .flatten();
    let empty = if !pulls.is_empty() {
        None
    } else if is_filtered(&filter) || paged {
        Some("No pulls match this filter.")
    } else {
        Some("No pulls yet. Once a credential of your organisation pulls an image, it is listed here.")
    };
    view! {
        <div class="mt-4">
            {match empty {
                Some(words) => view! { <Empty text=words testid="pulls-empty"/> }.into_any(),
                None => view! { <PullsTable pulls/> }.into_any(),
            }}
        </div>
        <p class="mt-2 flex gap-4 text-sm">
            {paged.then(|| view! { <a class=LINK href=newest data-testid="pulls-newest">"Newest pulls"</a> })}
            {older.map(|href| view! { <a class=LINK href=href data-testid="pulls-older">"Older"</a> })}
        </p>
    }
}

/// "sha256:0123456789ab…" for a digest (the full one is in its title).
pub fn short_digest(digest: &str) -> String {
    let (algo, hex) = digest.split_once(':').unwrap_or(("", digest));
    if hex.chars().count() <= 12 {
        return digest.to_owned();
    }
    let head: String = hex.chars().take(12).collect();
    if algo.is_empty() { format!("{head}…") } else { format!("{algo}:{head}…") }
}

/// At most `max` characters of `s`, with "…" when shortened.
fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// Pulls as rows: time, member, credential (name, user name), image,
/// digest, address, user agent, source.
#[component]
pub fn PullsTable(pulls: Vec<PullView>) -> impl IntoView {
    view! {
        <DataTable
            columns=&["Time (UTC)", "Member", "Credential", "Image", "Digest", "IP", "User agent", "Source"]
            secondary=&["Digest", "IP", "User agent", "Source"]
            label="Pulls"
            testid="pulls-table"
        >
            {pulls.into_iter().map(|p| view! { <PullRow pull=p/> }).collect_view()}
        </DataTable>
    }
}

#[component]
fn PullRow(pull: PullView) -> impl IntoView {
    let image = match &pull.tag {
        Some(t) => format!("{}:{t}", pull.repository),
        None => pull.repository.clone(),
    };
    let digest = pull.digest.clone().map(|d| {
        let short = short_digest(&d);
        view! { <span class="font-mono text-xs" title=d>{short}</span> }
    });
    let agent = pull.user_agent.clone().map(|ua| {
        let short = shorten(&ua, 40);
        view! { <span class="text-xs" title=ua>{short}</span> }
    });
    let tone = if pull.source == PullSource::Gateway { Tone::Good } else { Tone::Neutral };
    view! {
        <tr class="border-t border-slate-100 align-top" data-testid="pull-row">
            <td class=format!("{TD} whitespace-nowrap") data-label="Time (UTC)"><UtcTime at=pull.occurred_at/></td>
            <td class=format!("{TD} break-all") data-label="Member">{pull.member.unwrap_or_else(|| "—".into())}</td>
            <td class=TD data-label="Credential">
                {pull.credential_name.map(|n| view! { <div class="break-all">{n}</div> })}
                {match pull.credential {
                    Some(u) => view! { <div class="font-mono text-xs text-slate-600 break-all">{u}</div> }.into_any(),
                    None => view! { <span class="text-slate-600">"—"</span> }.into_any(),
                }}
            </td>
            <td class=format!("{TD} font-mono text-xs break-all") data-label="Image" data-testid="pull-image">{image}</td>
            <td class=format!("{TD2} whitespace-nowrap") data-label="Digest">{digest}</td>
            <td class=format!("{TD2} font-mono text-xs") data-label="IP">{pull.ip.unwrap_or_default()}</td>
            <td class=format!("{TD2} max-w-xs") data-label="User agent">{agent}</td>
            <td class=TD2 data-label="Source"><Badge text=pull.source.as_str() tone/></td>
        </tr>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_are_shortened() {
        assert_eq!(short_digest("sha256:0123456789abcdef0123"), "sha256:0123456789ab…");
        assert_eq!(short_digest("sha256:abc"), "sha256:abc");
    }

    #[test]
    fn query_strings_carry_the_filter() {
        let f = PullFilterView { repository: Some("acme/widget".into()), member: Some("a+b@x.test".into()), ..Default::default() };
        assert_eq!(query_string(&f, None), "repository=acme%2Fwidget&member=a%2Bb%40x.test");
        assert_eq!(query_string(&f, Some(7)), "repository=acme%2Fwidget&member=a%2Bb%40x.test&before=7");
        assert_eq!(query_string(&PullFilterView::default(), None), "");
    }
}
