//! Who is logged in, as pages and server functions see it.

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
