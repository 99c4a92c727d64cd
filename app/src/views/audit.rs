//! The audit log as the auditor's page and the REST API show it: one event,
//! and the filters in the form people and query strings spell them.

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
    /// The organisation it concerns (recorded, or mapped for events from
    /// before organisations).
    #[serde(default)]
    pub organisation_id: Option<i64>,
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
    /// The customer's (organisation's) id, or (the page) a member's address.
    pub customer: Option<String>,
    /// A person's user id (or, the page, address): events they did or that concern them.
    #[serde(default)]
    pub member: Option<String>,
    /// A registry credential's user name (`pull-…`, `push-…`).
    pub credential: Option<String>,
    pub repository: Option<String>,
    /// A product's id, or (the page) its name or slug.
    #[serde(default)]
    pub product: Option<String>,
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
            ("member", &self.member),
            ("credential", &self.credential),
            ("repository", &self.repository),
            ("product", &self.product),
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
        all.iter().map(|(k, v)| format!("{k}={}", super::urlencode(v))).collect::<Vec<_>>().join("&")
    }
}
