//! Two-factor sign-in (TOTP, RFC 6238): who must use it, what a code and a
//! recovery code look like. The checks themselves are in
//! `backend::services::two_factor`.

use crate::domain::Role;
use serde::{Deserialize, Serialize};

/// Single-use recovery codes made at enrolment.
pub const RECOVERY_CODES: usize = 10;

/// Characters of a recovery code (without its dashes): lowercase letters and
/// digits, ≈ 62 bits.
pub const RECOVERY_CODE_CHARS: usize = 12;

/// Which roles must sign in with a second factor
/// (`PORTCULLIS_REQUIRE_TWO_FACTOR`; by default admins and auditors, none in
/// demo mode).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TwoFactorPolicy {
    pub required: Vec<Role>,
}

impl TwoFactorPolicy {
    pub fn staff() -> Self {
        Self { required: vec![Role::Admin, Role::Auditor] }
    }

    pub fn none() -> Self {
        Self { required: Vec::new() }
    }

    pub fn requires(&self, role: Role) -> bool {
        self.required.contains(&role)
    }
}

/// What was typed in the code field: a six-digit TOTP code (spaces
/// ignored) or a recovery code (dashes, spaces and case ignored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecondFactor {
    Totp(String),
    Recovery(String),
}

impl SecondFactor {
    pub fn parse(typed: &str) -> Option<Self> {
        if typed.len() > 64 {
            return None;
        }
        let compact: String = typed.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_lowercase();
        if compact.len() == 6 && compact.bytes().all(|b| b.is_ascii_digit()) {
            Some(Self::Totp(compact))
        } else if compact.len() == RECOVERY_CODE_CHARS && compact.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) {
            Some(Self::Recovery(compact))
        } else {
            None
        }
    }
}

/// A recovery code as shown: `abcd-efgh-ijkl`.
pub fn format_recovery(code: &str) -> String {
    code.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_told_apart_and_normalised() {
        assert_eq!(SecondFactor::parse(" 123 456 "), Some(SecondFactor::Totp("123456".into())));
        assert_eq!(SecondFactor::parse("ABCD-efgh-1234"), Some(SecondFactor::Recovery("abcdefgh1234".into())));
        assert_eq!(SecondFactor::parse("12345"), None);
        assert_eq!(SecondFactor::parse("abcd-efgh-123!"), None);
        assert_eq!(SecondFactor::parse(&"1".repeat(100)), None);
        assert_eq!(format_recovery("abcdefgh1234"), "abcd-efgh-1234");
    }

    #[test]
    fn staff_must_use_it_by_default() {
        let p = TwoFactorPolicy::staff();
        assert!(p.requires(Role::Admin) && p.requires(Role::Auditor) && !p.requires(Role::Customer));
        assert!(!TwoFactorPolicy::none().requires(Role::Admin));
    }
}
