//! Registry access as pages and the REST API show it: API keys, pull and
//! push credentials (with their Harbor robots and the registry's
//! provisioning health), and the pull history and its filters.

use super::catalogue::RepositoryView;
use crate::domain::credential::{CredentialKind, CredentialStatus};
use crate::domain::organisation::CredentialHolder;
use crate::domain::pull::PullSource;
use crate::domain::Role;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub role: Role,
    /// The public part of the key (`pc_<key_id>_…`), for recognising it.
    pub key_id: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new API key: `secret` is the whole bearer token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub key: ApiKeyView,
    pub secret: String,
}

/// A registry credential as lists show it (never its secret).
/// `kind` is `pull` (a customer's, for their clusters) or `push` (an admin's,
/// for the vendor's CI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CredentialView {
    pub id: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub kind: CredentialKind,
    pub name: String,
    /// The registry user name (`docker login -u …`).
    pub username: String,
    pub owner_id: i64,
    pub owner_email: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub rotated_at: Option<String>,
    /// When it last obtained a registry token.
    pub last_used_at: Option<String>,
    /// When the registry last reported a manifest pull by it.
    pub last_pulled_at: Option<String>,
    pub revoked_at: Option<String>,
    /// `active`, `expired` or `revoked` (`CredentialStatus::of`).
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub status: CredentialStatus,
    /// With Harbor provisioning: the credential's robot account in Harbor.
    #[serde(default)]
    pub robot: Option<RobotView>,
    /// Pull credentials: their organisation, and whether a member holds it
    /// (`member`: revoked when they leave) or the organisation
    /// (`organisation`: for CI and clusters).
    #[serde(default)]
    pub organisation_id: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub holder: Option<CredentialHolder>,
    /// The products it is limited to (empty: every product of the organisation).
    #[serde(default)]
    pub products: Vec<CredentialProduct>,
    /// The address ranges it may be used from (empty: anywhere).
    #[serde(default)]
    pub networks: Vec<String>,
}

/// A product a credential is limited to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CredentialProduct {
    pub id: i64,
    pub name: String,
}

/// A pull credential's Harbor robot account, as its owner and admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RobotView {
    /// `pending`, `enabled`, `disabled` or `deleted`.
    pub state: String,
    /// The state in words.
    pub state_text: String,
    /// Harbor project names it may pull (as last applied).
    pub projects: Vec<String>,
    /// When it was last brought in step with Harbor.
    pub synced_at: Option<String>,
    /// Set when the robot had to be made again with a new secret that its
    /// owner has not revealed yet: why.
    pub new_secret_reason: Option<String>,
}

/// Harbor provisioning at a glance (the admin dashboard).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningView {
    /// Outbox rows waiting to reach Harbor, and those that failed at least once.
    pub pending: i64,
    pub failing: i64,
    pub oldest_pending: Option<String>,
    pub last_error: Option<String>,
    pub robots_enabled: i64,
    pub robots_disabled: i64,
    pub robots_pending: i64,
    /// The last reconcile run: when it finished, robots checked, drift repaired, failures.
    pub last_reconcile: Option<String>,
    pub last_checked: i64,
    pub last_repaired: i64,
    pub last_failed: i64,
    pub last_reconcile_error: Option<String>,
}

/// A credential just created or rotated: the secret is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewCredential {
    pub credential: CredentialView,
    pub username: String,
    pub secret: String,
}

/// What the credentials page needs for its copy-ready snippets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegistryAccessView {
    /// The registry's host (and port) as clients name it, e.g. `registry.example.com`.
    pub host: String,
    pub repositories: Vec<RepositoryView>,
    /// The pull gateway's host, when it is on (repositories `via_gateway`
    /// are pulled from there).
    #[serde(default)]
    pub gateway_host: Option<String>,
}

/// A pull: a manifest pulled through the gateway or reported by the
/// registry, with who (member, credential) and from where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PullView {
    pub id: i64,
    pub occurred_at: String,
    /// The member who holds (or made) the credential.
    pub member: Option<String>,
    /// The credential's user name and name.
    pub credential: Option<String>,
    pub credential_name: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The client address of the gateway connection or of the token request.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub source: PullSource,
}

/// The pull history's filters, as the page's query string spells them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullFilterView {
    pub repository: Option<String>,
    /// A member's address.
    pub member: Option<String>,
    /// A credential's user name or name.
    pub credential: Option<String>,
    /// A day or RFC 3339 (from inclusive; a bare `to` day means its end).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Keyset cursor: pulls older than this id.
    pub before: Option<i64>,
}
