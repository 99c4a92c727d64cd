//! Who is logged in, as pages and server functions see it.

use crate::domain::organisation::{Capability, MemberRole};
use crate::domain::Role;
use serde::{Deserialize, Serialize};

/// The logged-in user as the pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
    /// Whether the address is confirmed (unconfirmed accounts may browse
    /// but not buy or make credentials).
    pub email_verified: bool,
    /// Whether the account takes notices (access ending, payment; the
    /// admins' digest).
    pub notices: bool,
    /// Signs in with a second factor.
    pub two_factor: bool,
    /// A customer's organisation, once they belong to one (an invitation
    /// not yet accepted gives nothing).
    pub membership: Option<Membership>,
}

/// A customer's place in their organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub organisation_id: i64,
    pub organisation: String,
    pub role: MemberRole,
}

impl SessionUser {
    /// Whether this user may do `c` in their organisation (pages use it to
    /// decide what to show; server functions ask `require_member`).
    pub fn may(&self, c: Capability) -> bool {
        self.membership.as_ref().is_some_and(|m| m.role.may(c))
    }
}

/// A two-factor enrolment as the settings page shows it: the QR code (SVG
/// markup drawn by the server, nothing typed by anyone in it), the secret
/// as text for typing in, the `otpauth://` address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorEnrolment {
    pub qr_svg: String,
    pub secret: String,
    pub otpauth: String,
}

/// A logged-in session of an account, as its owner and admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SessionView {
    pub id: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session of this very request.
    pub current: bool,
}
