//! The audit log (`/audit`, admins and auditors): filters (time range,
//! customer (an organisation), member (a person), credential, repository,
//! action, outcome, IP, text in the actor, target, IP, user agent or
//! details) kept in the query string, keyset pages (`before=<id>`, stable
//! while new events arrive), CSV / JSON Lines downloads of the current
//! filter, and a link to each event's detail (`audit_detail.rs`).

use crate::ui::pages::audit::charts::{charts_resource, AuditCharts, Charts};
use crate::ui::components::utc_time::UtcTime;
use crate::server_fns::audit::{search_events, AuditPage};
use crate::views::AuditFilter;
use crate::ui::auth_context::use_auth;
use crate::ui::components::form::{BUTTON, INPUT_CLASS};
use crate::ui::components::role_gate::RequireRole;
use crate::ui::components::data_table::{DataTable, Empty, TD, TD2};
use crate::ui::components::widgets::{gate, LoadError, LABEL, LINK};
use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

type Events = Resource<Result<AuditPage, AppError>>;

/// The filter in the current URL.
pub fn filter_from_query(q: &leptos_router::params::ParamsMap) -> AuditFilter {
    let get = |k: &str| q.get(k).filter(|v| !v.trim().is_empty());
    AuditFilter {
        from: get("from"),
        to: get("to"),
        customer: get("customer"),
        member: get("member"),
        credential: get("credential"),
        repository: get("repository"),
        product: get("product"),
        action: get("action"),
        outcome: get("outcome"),
        ip: get("ip"),
        q: get("q"),
        before: q.get("before").and_then(|b| b.parse::<i64>().ok()),
    }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let auth = use_auth();
    let query = use_query_map();
    let filter = Memo::new(move |_| filter_from_query(&query.read()));
    // Outside RequireRole: see `widgets::gate`.
    let events: Events = Resource::new(move || filter.get(), move |f| async move {
        gate(auth, &[Role::Admin, Role::Auditor]).await?;
        search_events(Some(f)).await
    });
    let charts = charts_resource();
    view! {
        <Title text="Audit log"/>
        <RequireRole roles=&[Role::Admin, Role::Auditor]>
            <AuditBody events filter charts/>
        </RequireRole>
    }
}

#[component]
fn AuditBody(events: Events, filter: Memo<AuditFilter>, charts: Charts) -> impl IntoView {
    view! {
        <h1 class="text-2xl font-semibold">"Audit log"</h1>
        <p class="mt-1 text-sm text-slate-600">
            "Every sign-in, account change and access decision. Read-only. Times in UTC (hover for your local time)."
        </p>
        <AuditCharts charts/>
        <FilterForm filter=filter.get_untracked()/>
        {move || {
            let f = filter.get();
            let csv = format!("/audit/export?{}", f.query_string(&[("format", "csv".into())]));
            let jsonl = format!("/audit/export?{}", f.query_string(&[("format", "jsonl".into())]));
            view! {
                <p class="mt-3 flex flex-wrap gap-4 text-sm">
                    <span class="text-slate-600">"Download everything this filter matches:"</span>
                    <a class=LINK rel="external" download="" href=csv data-testid="export-csv">"CSV"</a>
                    <a class=LINK rel="external" download="" href=jsonl data-testid="export-jsonl">"JSON Lines"</a>
                </p>
            }
        }}
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || events.get().map(|r| match r {
                Ok(page) => view! { <EventsTable page filter=filter.get_untracked()/> }.into_any(),
                Err(e) => view! { <LoadError error=e/> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn FilterForm(filter: AuditFilter) -> impl IntoView {
    let field = move |name: &'static str, label: &'static str, value: Option<String>, placeholder: &'static str| {
        view! {
            <label class="block">
                <span class=LABEL>{label}</span>
                <input class=INPUT_CLASS name=name value=value.unwrap_or_default() placeholder=placeholder/>
            </label>
        }
    };
    // A day picker for a bare date (the whole day, see `domain::time`); a
    // time typed into the address stays editable as text.
    let day = move |name: &'static str, label: &'static str, value: Option<String>| {
        let value = value.unwrap_or_default();
        let kind = if value.is_empty() || (value.len() == 10 && value.as_bytes().get(4) == Some(&b'-')) { "date" } else { "text" };
        view! {
            <label class="block">
                <span class=LABEL>{label}</span>
                <input class=INPUT_CLASS type=kind name=name value=value/>
            </label>
        }
    };
    let outcome = filter.outcome.clone().unwrap_or_default();
    view! {
        <form method="get" action="/audit" class="mt-4 grid gap-3 rounded-lg border border-slate-200 bg-white p-4 shadow-sm sm:grid-cols-2 lg:grid-cols-4" data-testid="audit-filters">
            {day("from", "From (UTC day)", filter.from.clone())}
            {day("to", "To (UTC day, included)", filter.to.clone())}
            {field("customer", "Customer (id or a member's e-mail)", filter.customer.clone(), "42 or ops@acme.example")}
            {field("member", "Member (user id or e-mail)", filter.member.clone(), "57 or dev@acme.example")}
            {field("credential", "Credential (name or user name)", filter.credential.clone(), "ci-bot or pull-…")}
            {field("repository", "Repository", filter.repository.clone(), "acme/widget")}
            {field("product", "Product (name or slug)", filter.product.clone(), "Acme Widget")}
            <label class="block">
                <span class=LABEL>"Action"</span>
                <input class=INPUT_CLASS name="action" list="audit-actions" value=filter.action.clone().unwrap_or_default()
                    placeholder="registry.token or registry.*"/>
                <datalist id="audit-actions">
                    {crate::domain::audit_fields::ACTION_CHOICES.iter().map(|a| view! { <option value=*a></option> }).collect_view()}
                </datalist>
            </label>
            <label class="block">
                <span class=LABEL>"Outcome"</span>
                <select class=INPUT_CLASS name="outcome">
                    <option value="" selected=outcome.is_empty()>"Any"</option>
                    <option value="granted" selected=outcome == "granted" || outcome == "success">"Granted / success"</option>
                    <option value="denied" selected=outcome == "denied">"Denied"</option>
                    <option value="failure" selected=outcome == "failure">"Failure"</option>
                </select>
            </label>
            {field("ip", "Client IP", filter.ip.clone(), "203.0.113.7")}
            {field("q", "Text (any case)", filter.q.clone(), "name, tag, reason, user agent…")}
            <div class="flex items-end gap-3">
                <button class=BUTTON type="submit">"Filter"</button>
                <a class=LINK href="/audit">"Clear"</a>
            </div>
        </form>
    }
}

pub fn outcome_class(outcome: &str) -> &'static str {
    match outcome {
        "success" => "text-emerald-700",
        "denied" => "text-amber-700",
        _ => "text-red-700",
    }
}

#[component]
fn EventsTable(page: AuditPage, filter: AuditFilter) -> impl IntoView {
    let AuditPage { events, older } = page;
    let paged = filter.before.is_some();
    let newest = format!("/audit?{}", filter.query_string(&[]));
    let older = older.map(|id| format!("/audit?{}", filter.query_string(&[("before", id.to_string())])));
    let empty = events.is_empty();
    view! {
        <div class="mt-4">
            <DataTable
                columns=&["Time (UTC)", "Actor", "Action", "Outcome", "Target", "IP", "Details"]
                secondary=&["IP", "Details"]
                label="Audit events"
                testid="audit-table"
            >
                {events.into_iter().map(|e| {
                    let href = format!("/audit/events/{}", e.id);
                    let cell = format!("{TD} {}", outcome_class(&e.outcome));
                    view! {
                        <tr class="border-t border-slate-100 align-top" data-testid="audit-row">
                            <td class=format!("{TD} whitespace-nowrap") data-label="Time (UTC)">
                                <a class=LINK href=href><UtcTime at=e.occurred_at_iso/></a>
                            </td>
                            <td class=format!("{TD} break-words") data-label="Actor">{e.actor}</td>
                            <td class=format!("{TD} font-mono text-xs") data-label="Action">{e.action}</td>
                            <td class=cell data-label="Outcome">{e.outcome}</td>
                            <td class=format!("{TD} break-words") data-label="Target">{e.target.unwrap_or_default()}</td>
                            <td class=format!("{TD2} font-mono text-xs") data-label="IP" title=e.user_agent.unwrap_or_default()>{e.ip.unwrap_or_default()}</td>
                            <td class=format!("{TD2} max-w-xs text-xs") data-label="Details"><Details json=e.details max=4/></td>
                        </tr>
                    }
                }).collect_view()}
            </DataTable>
        </div>
        {empty.then(|| view! { <div class="mt-2"><Empty text="No events match this filter." testid="audit-empty"/></div> })}
        <p class="mt-2 flex gap-4 text-sm">
            {paged.then(|| view! { <a class=LINK href=newest>"Newest events"</a> })}
            {older.map(|href| view! { <a class=LINK href=href data-testid="audit-older">"Older events"</a> })}
        </p>
    }
}

/// An event's details (a JSON object) as "key: value" lines people read:
/// nested objects as "outer.inner", lists joined with commas, strings
/// without quotes. Details that are not an object are one line as written.
pub fn detail_pairs(json: &str) -> Vec<(String, String)> {
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => "—".into(),
            serde_json::Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
            serde_json::Value::Object(_) => v.to_string(),
            other => other.to_string(),
        }
    }
    fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    let key = if prefix.is_empty() { k.replace('_', " ") } else { format!("{prefix}.{}", k.replace('_', " ")) };
                    walk(&key, v, out);
                }
            }
            other => out.push((prefix.to_owned(), scalar(other))),
        }
    }
    match serde_json::from_str::<serde_json::Value>(json) {
        Ok(v @ serde_json::Value::Object(_)) => {
            let mut out = Vec::new();
            walk("", &v, &mut out);
            out
        }
        Ok(serde_json::Value::Null) | Err(_) if json.trim().is_empty() => Vec::new(),
        Ok(v) => vec![("details".into(), scalar(&v))],
        Err(_) => vec![("details".into(), json.to_owned())],
    }
}

/// An event's details as a short list: at most `max` lines (0: all), each
/// value cut at 80 characters, "+ 3 more" when lines were left out.
#[component]
pub fn Details(json: String, #[prop(default = 0)] max: usize) -> impl IntoView {
    let pairs = detail_pairs(&json);
    let more = if max > 0 && pairs.len() > max { pairs.len() - max } else { 0 };
    let shown = if max > 0 { pairs.into_iter().take(max).collect::<Vec<_>>() } else { pairs };
    let cut = max > 0;
    (!shown.is_empty()).then(|| view! {
        <div data-testid="audit-details">
            <dl class="space-y-0.5">
                {shown.into_iter().map(|(k, v)| {
                    let v = if cut { truncate(&v, 80) } else { v };
                    view! { <div class="break-words"><dt class="inline font-medium text-slate-700">{k}": "</dt><dd class="inline break-all">{v}</dd></div> }
                }).collect_view()}
            </dl>
            {(more > 0).then(|| view! { <p class="text-slate-600">{format!("+ {more} more")}</p> })}
        </div>
    })
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::detail_pairs;

    #[test]
    fn details_read_as_key_value_lines() {
        let pairs = detail_pairs(r#"{"reason":"wrong_password","scopes":["pull","push"],"limits":{"max_n":3},"gone":null}"#);
        let text: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        assert!(text.contains(&"reason: wrong_password".to_owned()));
        assert!(text.contains(&"scopes: pull, push".to_owned()));
        assert!(text.contains(&"limits.max n: 3".to_owned()));
        assert!(text.contains(&"gone: —".to_owned()));
        assert!(detail_pairs("{}").is_empty());
        assert!(detail_pairs("").is_empty());
        assert_eq!(detail_pairs("plain words"), [("details".to_owned(), "plain words".to_owned())]);
    }
}
