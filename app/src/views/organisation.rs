//! Organisations as pages and the REST API show them.

use crate::domain::organisation::MemberRole;
use serde::{Deserialize, Serialize};

/// A member (or an invitation not yet accepted: `joined_at` empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct MemberView {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = String, example = "member"))]
    pub role: MemberRole,
    pub joined_at: Option<String>,
    /// Who invited them.
    pub invited_by: Option<String>,
    pub disabled: bool,
    pub last_login_at: Option<String>,
    /// The latest pull with a credential this member holds.
    pub last_pulled_at: Option<String>,
}

/// An organisation with its members and invitations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrganisationView {
    pub id: i64,
    pub name: String,
    pub created_at: String,
    pub members: Vec<MemberView>,
}
