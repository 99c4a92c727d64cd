//! The three roles. The server checks them in every server function and API
//! handler; the UI only uses them to decide what to show.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Buys products and pulls images.
    Customer,
    /// The vendor's staff: manages products, customers and entitlements.
    Admin,
    /// Reads the audit log; can never change anything.
    Auditor,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected admin, auditor or customer")]
pub struct RoleError(pub String);

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Auditor, Role::Customer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }

    /// Where a user of this role lands after logging in.
    pub fn home_path(self) -> &'static str {
        match self {
            Role::Customer => "/account",
            Role::Admin => "/admin",
            Role::Auditor => "/audit",
        }
    }

    /// Whether this role may read the audit log.
    pub fn reads_audit(self) -> bool {
        matches!(self, Role::Admin | Role::Auditor)
    }
}

impl FromStr for Role {
    type Err = RoleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "customer" => Ok(Role::Customer),
            "admin" => Ok(Role::Admin),
            "auditor" => Ok(Role::Auditor),
            _ => Err(RoleError(s.to_string())),
        }
    }
}

crate::text_column!(Role, |s| s.parse().ok());

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
    }

    #[test]
    fn rejects_unknown_roles() {
        assert!("root".parse::<Role>().is_err());
        assert!("".parse::<Role>().is_err());
        assert!("admin; --".parse::<Role>().is_err());
    }

    #[test]
    fn only_admins_and_auditors_read_the_audit_log() {
        assert!(Role::Admin.reads_audit());
        assert!(Role::Auditor.reads_audit());
        assert!(!Role::Customer.reads_audit());
    }
}
