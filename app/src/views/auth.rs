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
}
