//! Reading the audit log (admins and auditors; nobody writes through here):
//! filtered keyset pages, one event in full, and the charts' figures.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: String,
    /// RFC 3339 (UTC), for `<time datetime>` and the local time on hover.
    pub occurred_at_iso: String,
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub action: String,
    pub target: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
    pub subject_user_id: Option<i64>,
    /// `None` until the chain's sealer reaches the event (about a second).
    pub chain_hash: Option<String>,
}

/// The filters, as the page's query string and the REST API spell them.
/// Each is optional; see `server::audit_query` for the accepted values.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditFilter {
    /// From this time (inclusive): `2026-11-22`, `2026-11-22T14:30` (UTC) or RFC 3339.
    pub from: Option<String>,
    /// Until this time (exclusive; a bare date means the end of that day).
    pub to: Option<String>,
    /// The customer's user id.
    pub customer: Option<String>,
    /// A registry credential's user name (`pull-…`, `push-…`).
    pub credential: Option<String>,
    pub repository: Option<String>,
    /// `registry.token`, or a prefix: `registry.*`.
    pub action: Option<String>,
    /// `granted` (= `success`), `denied` or `failure`.
    pub outcome: Option<String>,
    pub ip: Option<String>,
    /// Text searched for in the details.
    pub q: Option<String>,
    /// Keyset cursor: events older than this id.
    pub before: Option<i64>,
}

impl AuditFilter {
    /// The filter (without the cursor) as query-string pairs.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("from", &self.from),
            ("to", &self.to),
            ("customer", &self.customer),
            ("credential", &self.credential),
            ("repository", &self.repository),
            ("action", &self.action),
            ("outcome", &self.outcome),
            ("ip", &self.ip),
            ("q", &self.q),
        ];
        fields.into_iter().filter_map(|(k, v)| v.as_ref().filter(|v| !v.trim().is_empty()).map(|v| (k, v.clone()))).collect()
    }

    /// `pairs` plus `extra`, URL-encoded.
    pub fn query_string(&self, extra: &[(&str, String)]) -> String {
        let mut all: Vec<(&str, String)> = self.pairs();
        all.extend(extra.iter().cloned());
        all.iter().map(|(k, v)| format!("{k}={}", crate::components::widgets::urlencode(v))).collect::<Vec<_>>().join("&")
    }
}

pub const AUDIT_PAGE_SIZE: i64 = 50;

/// One page of events matching `filter`, newest first, and the cursor of the next (older) page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub events: Vec<AuditEntry>,
    pub older: Option<i64>,
}

/// `filter` is optional because an all-empty filter is sent as nothing at all.
#[server(prefix = "/fn", endpoint = "audit/search")]
pub async fn search_events(filter: Option<AuditFilter>) -> Result<AuditPage, AppError> {
    use crate::domain::Role;
    use crate::server::{audit_query, auth::require_role, db, request::state, respond};
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let parsed = audit_query::parse(&filter.unwrap_or_default())?;
            let st = state()?;
            let rows = db::audit::search(&st.db, &parsed, AUDIT_PAGE_SIZE + 1, st.audit_query_timeout).await?;
            let more = rows.len() as i64 > AUDIT_PAGE_SIZE;
            let events: Vec<AuditEntry> = rows.into_iter().take(AUDIT_PAGE_SIZE as usize).map(entry).collect();
            let older = if more { events.last().map(|e| e.id) } else { None };
            Ok(AuditPage { events, older })
        }
        .await,
    )
}

/// The newest events, or those older than `before` (keyset paging by id).
#[server(prefix = "/fn", endpoint = "audit/recent")]
pub async fn recent_events(before: Option<i64>) -> Result<Vec<AuditEntry>, AppError> {
    Ok(search_events(Some(AuditFilter { before, ..Default::default() })).await?.events)
}

/// One event in full.
#[server(prefix = "/fn", endpoint = "audit/event")]
pub async fn audit_event(id: i64) -> Result<AuditEntry, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::require_role, db, request::state, respond};
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let st = state()?;
            db::audit::get(&st.db, id, st.audit_query_timeout).await?.map(entry).ok_or(AppError::NotFound)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub(crate) fn entry(r: crate::server::db::audit::AuditRow) -> AuditEntry {
    AuditEntry {
        id: r.id,
        occurred_at: super::format_utc(r.occurred_at),
        occurred_at_iso: r.occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        actor: r.actor,
        actor_user_id: r.actor_user_id,
        action: r.action,
        target: match (&r.target_type, &r.target_id) {
            (Some(t), Some(id)) => Some(format!("{t} {id}")),
            (Some(t), None) => Some(t.clone()),
            _ => None,
        },
        target_type: r.target_type,
        target_id: r.target_id,
        outcome: r.outcome,
        ip: r.ip,
        user_agent: r.user_agent,
        details: r.details.0.to_string(),
        subject_user_id: r.subject_user_id,
        chain_hash: r.chain_hash,
    }
}
