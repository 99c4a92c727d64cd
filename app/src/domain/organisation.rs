//! Organisations as rules: a customer is an organisation whose members have
//! one of three roles, what each role may do (`MemberRole::may`, the one
//! rule every organisation server function asks), who holds a pull
//! credential, and that an organisation always keeps an owner.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A member's role in their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    /// Members, every credential, billing.
    Owner,
    /// Orders, the Stripe portal, payment notices; own credentials.
    Billing,
    /// Own credentials.
    Member,
}

/// What a member may do in their organisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Capability {
    /// Invite, remove, change roles, rename the organisation.
    ManageMembers,
    /// Credentials held by the organisation (CI, clusters), and every
    /// member's credentials (see, revoke).
    ManageCredentials,
    /// Buy, see orders, open the Stripe portal; payment notices.
    Billing,
    /// Own credentials, the products and snippets.
    Pull,
}

impl MemberRole {
    pub const ALL: [MemberRole; 3] = [MemberRole::Owner, MemberRole::Billing, MemberRole::Member];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Billing => "billing",
            Self::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s.trim())
    }

    /// How pages name it.
    pub fn label(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Billing => "Billing",
            Self::Member => "Member",
        }
    }

    /// What the role is for, in a sentence (the invitation form).
    pub fn describe(self) -> &'static str {
        match self {
            Self::Owner => "members, every credential and billing",
            Self::Billing => "orders, the billing portal and payment notices; own credentials",
            Self::Member => "own credentials",
        }
    }

    /// The one rule of what each role may do.
    pub fn may(self, c: Capability) -> bool {
        match c {
            Capability::ManageMembers | Capability::ManageCredentials => self == Self::Owner,
            Capability::Billing => matches!(self, Self::Owner | Self::Billing),
            Capability::Pull => true,
        }
    }
}

impl fmt::Display for MemberRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(MemberRole, MemberRole::parse);

/// Who holds a pull credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialHolder {
    /// A member's own: revoked when the member leaves or is removed.
    Member,
    /// The organisation's (made by an owner for CI or a cluster): survives
    /// any member's departure.
    Organisation,
}

impl CredentialHolder {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Organisation => "organisation",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "member" => Some(Self::Member),
            "organisation" => Some(Self::Organisation),
            _ => None,
        }
    }
}

crate::text_column!(CredentialHolder, CredentialHolder::parse);

/// A change to a membership that must leave the organisation an owner:
/// `owners_after` is how many joined owners it would have afterwards.
pub fn keeps_an_owner(owners_after: i64) -> Result<(), &'static str> {
    if owners_after >= 1 {
        Ok(())
    } else {
        Err("an organisation needs an owner: make another member owner first")
    }
}

/// An organisation's name as typed: 1–200 characters on one line.
pub fn parse_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 200 || !crate::domain::text::is_one_line(name) {
        return Err("1–200 characters on one line".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_and_grant_what_the_issue_says() {
        for r in MemberRole::ALL {
            assert_eq!(MemberRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(MemberRole::parse("admin"), None);
        assert!(MemberRole::Owner.may(Capability::ManageMembers));
        assert!(MemberRole::Owner.may(Capability::Billing));
        assert!(!MemberRole::Billing.may(Capability::ManageMembers));
        assert!(!MemberRole::Billing.may(Capability::ManageCredentials));
        assert!(MemberRole::Billing.may(Capability::Billing));
        assert!(!MemberRole::Member.may(Capability::Billing));
        assert!(MemberRole::Member.may(Capability::Pull));
    }

    #[test]
    fn the_last_owner_stays() {
        assert!(keeps_an_owner(1).is_ok());
        assert!(keeps_an_owner(0).is_err());
    }

    #[test]
    fn names_are_one_line() {
        assert_eq!(parse_name("  Acme GmbH ").unwrap(), "Acme GmbH");
        assert!(parse_name("").is_err());
        assert!(parse_name("a\nb").is_err());
        assert!(parse_name(&"x".repeat(201)).is_err());
    }
}
