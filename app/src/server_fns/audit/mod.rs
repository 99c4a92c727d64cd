//! Reading the audit log (admins and auditors; nobody writes through here):
//! filtered keyset pages, one event in full, and the charts' figures.

pub mod charts;

use crate::error::AppError;
use crate::views::{AuditEntry, AuditFilter};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

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
    use crate::backend::services::audit::query as audit_query;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::audit::read;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let st = state()?;
            let parsed = audit_query::parse_naming(&st.db, &filter.unwrap_or_default()).await?;
            let rows = read::search(&st, &parsed, AUDIT_PAGE_SIZE + 1).await?;
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
    use crate::backend::services::auth::require_role;
    use crate::backend::services::audit::read;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let st = state()?;
            read::get(&st, id).await?.map(entry).ok_or(AppError::NotFound)
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub(crate) fn entry(r: crate::backend::services::audit::read::AuditRow) -> AuditEntry {
    AuditEntry {
        id: r.id,
        occurred_at: crate::domain::time::format_utc(r.occurred_at),
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
        organisation_id: r.organisation_id,
        chain_hash: r.chain_hash,
    }
}
