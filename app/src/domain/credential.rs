//! Registry credentials as rules: the two kinds, the status lists show, and
//! the one rule that says whether a credential may obtain a token now
//! (`usable`). The token service refuses with `Unusable`'s code and message;
//! the credential views derive their status from the same verdict, so the
//! page and the registry can never disagree about revoked or expired.

use crate::domain::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    /// A customer's: pull on the repositories they are entitled to.
    Pull,
    /// An admin's: push and pull on every product's repositories.
    Push,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pull => "pull",
            Self::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pull" => Some(Self::Pull),
            "push" => Some(Self::Push),
            _ => None,
        }
    }

    /// The role an owner must have: at creation, and on every token request
    /// (an owner moved to another role can no longer use it).
    pub fn owner_role(self) -> Role {
        match self {
            Self::Pull => Role::Customer,
            Self::Push => Role::Admin,
        }
    }

    /// Why an account of another role cannot own this kind.
    pub fn wrong_owner(self) -> &'static str {
        match self {
            Self::Pull => "pull credentials belong to customer accounts",
            Self::Push => "push credentials belong to admin accounts",
        }
    }
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(CredentialKind, CredentialKind::parse);

/// What a credential list shows: the credential's own state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CredentialStatus {
    Active,
    Revoked,
    Expired,
}

impl CredentialStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// The status of a credential with these facts at `now`, from `usable`.
    /// An owner disabled or moved to another role makes a credential
    /// unusable too, but that is the account's state (shown with the
    /// account, and undone there); the credential itself still reads as
    /// active and can still be rotated.
    pub fn of(facts: &CredentialFacts, now: DateTime<Utc>) -> Self {
        match usable(facts, now) {
            Err(Unusable::Revoked) => Self::Revoked,
            Err(Unusable::Expired { .. }) => Self::Expired,
            Ok(()) | Err(Unusable::AccountDisabled | Unusable::RoleChanged) => Self::Active,
        }
    }
}

impl fmt::Display for CredentialStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `usable` decides on: the credential and its owner's standing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialFacts {
    pub kind: CredentialKind,
    pub revoked_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub owner_disabled: bool,
    pub owner_role: Role,
}

/// Why a credential may not obtain a token now, most final first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Unusable {
    Revoked,
    Expired { at: DateTime<Utc> },
    AccountDisabled,
    RoleChanged,
}

impl Unusable {
    /// The stable code the audit log records as the token request's reason.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Revoked => "credential_revoked",
            Self::Expired { .. } => "credential_expired",
            Self::AccountDisabled => "account_disabled",
            Self::RoleChanged => "role_changed",
        }
    }

    /// What the registry client prints.
    pub fn message(&self) -> String {
        match self {
            Self::Revoked => "this credential was revoked: create a new one in the portal".into(),
            Self::Expired { at } => {
                format!("this credential expired on {}: create a new one in the portal", at.format("%Y-%m-%d %H:%M UTC"))
            }
            Self::AccountDisabled => "the account this credential belongs to is disabled".into(),
            Self::RoleChanged => "this credential's account can no longer use it".into(),
        }
    }
}

/// The expiry, if it has passed at `now`. An expiry is exclusive: at that
/// instant the credential stops working. Creation (an expiry must lie ahead)
/// and rotation (an expired credential is not renewed) ask the same.
pub fn expired(expires_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    expires_at.filter(|e| *e <= now)
}

/// THE rule: may a credential with these facts obtain a token at `now`?
/// Checked in this order, so the most final reason is the one reported.
pub fn usable(facts: &CredentialFacts, now: DateTime<Utc>) -> Result<(), Unusable> {
    if facts.revoked_at.is_some() {
        return Err(Unusable::Revoked);
    }
    if let Some(at) = expired(facts.expires_at, now) {
        return Err(Unusable::Expired { at });
    }
    if facts.owner_disabled {
        return Err(Unusable::AccountDisabled);
    }
    if facts.owner_role != facts.kind.owner_role() {
        return Err(Unusable::RoleChanged);
    }
    Ok(())
}

/// The longest user name a registry credential has ever had room for;
/// a longer one presented at the token service is refused unread.
pub const USERNAME_MAX: usize = 64;
/// The longest secret accepted at the token service (ours are 43).
pub const SECRET_MAX: usize = 128;

/// Whether `s` could be a registry credential's user name: lowercase ASCII
/// letters, digits, `-` and `_`, at most [`USERNAME_MAX`]. Anything else is
/// refused as a wrong user name without a look-up.
pub fn plausible_username(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= USERNAME_MAX
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {

    #[test]
    fn only_plausible_user_names_are_looked_up() {
        assert!(plausible_username("pull-a1b2c3d4e5f6g7"));
        for bad in ["", "Pull-x", "pull x", "a\0b", "alice@example.com", &"a".repeat(USERNAME_MAX + 1)] {
            assert!(!plausible_username(bad), "{bad:?}");
        }
    }
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 1, 31, h, 0, 0).unwrap()
    }

    fn live(kind: CredentialKind) -> CredentialFacts {
        CredentialFacts { kind, revoked_at: None, expires_at: None, owner_disabled: false, owner_role: kind.owner_role() }
    }

    #[test]
    fn kinds_round_trip_and_belong_to_one_role() {
        for k in [CredentialKind::Pull, CredentialKind::Push] {
            assert_eq!(CredentialKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(CredentialKind::parse("PUSH"), None);
        assert_eq!(CredentialKind::Pull.owner_role(), Role::Customer);
        assert_eq!(CredentialKind::Push.owner_role(), Role::Admin);
    }

    #[test]
    fn the_most_final_reason_wins() {
        let now = t(12);
        assert_eq!(usable(&live(CredentialKind::Pull), now), Ok(()));
        let all = CredentialFacts {
            revoked_at: Some(t(1)),
            expires_at: Some(t(2)),
            owner_disabled: true,
            owner_role: Role::Admin,
            ..live(CredentialKind::Pull)
        };
        assert_eq!(usable(&all, now), Err(Unusable::Revoked));
        let all = CredentialFacts { revoked_at: None, ..all };
        assert_eq!(usable(&all, now), Err(Unusable::Expired { at: t(2) }));
        let all = CredentialFacts { expires_at: None, ..all };
        assert_eq!(usable(&all, now), Err(Unusable::AccountDisabled));
        let all = CredentialFacts { owner_disabled: false, ..all };
        assert_eq!(usable(&all, now), Err(Unusable::RoleChanged));
        assert_eq!(usable(&CredentialFacts { owner_role: Role::Auditor, ..live(CredentialKind::Push) }, now), Err(Unusable::RoleChanged));
    }

    #[test]
    fn an_expiry_is_exclusive() {
        let f = CredentialFacts { expires_at: Some(t(12)), ..live(CredentialKind::Push) };
        assert_eq!(usable(&f, t(11)), Ok(()));
        assert_eq!(usable(&f, t(12)).unwrap_err().code(), "credential_expired");
        assert_eq!(
            usable(&f, t(12)).unwrap_err().message(),
            "this credential expired on 2027-01-31 12:00 UTC: create a new one in the portal"
        );
    }

    #[test]
    fn lists_show_the_credentials_own_state() {
        let now = t(12);
        let f = live(CredentialKind::Pull);
        assert_eq!(CredentialStatus::of(&f, now), CredentialStatus::Active);
        assert_eq!(CredentialStatus::of(&CredentialFacts { owner_disabled: true, ..f.clone() }, now), CredentialStatus::Active);
        assert_eq!(CredentialStatus::of(&CredentialFacts { expires_at: Some(t(1)), ..f.clone() }, now), CredentialStatus::Expired);
        let both = CredentialFacts { expires_at: Some(t(1)), revoked_at: Some(t(2)), ..f };
        assert_eq!(CredentialStatus::of(&both, now), CredentialStatus::Revoked);
    }
}
