//! Reading the audit log (admins and auditors; nobody writes through here).

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub occurred_at: String,
    pub actor: String,
    pub action: String,
    pub target: Option<String>,
    pub outcome: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: String,
}

pub const AUDIT_PAGE_SIZE: i64 = 50;

/// The newest events, or those older than `before` (keyset paging by id).
#[server(prefix = "/fn", endpoint = "audit/recent")]
pub async fn recent_events(before: Option<i64>) -> Result<Vec<AuditEntry>, AppError> {
    use crate::domain::Role;
    use crate::server::{auth::require_role, db, request::state, respond};
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let st = state()?;
            let rows = db::audit::list_recent(&st.db, before, AUDIT_PAGE_SIZE).await?;
            Ok(rows.into_iter().map(entry).collect())
        }
        .await,
    )
}

#[cfg(feature = "ssr")]
pub(crate) fn entry(r: crate::server::db::audit::AuditRow) -> AuditEntry {
    AuditEntry {
        id: r.id,
        occurred_at: super::format_utc(r.occurred_at),
        actor: r.actor,
        action: r.action,
        target: match (r.target_type, r.target_id) {
            (Some(t), Some(id)) => Some(format!("{t} {id}")),
            (Some(t), None) => Some(t),
            _ => None,
        },
        outcome: r.outcome,
        ip: r.ip,
        user_agent: r.user_agent,
        details: r.details.0.to_string(),
    }
}
