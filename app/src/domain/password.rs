//! Password rules, shared so the sign-up form can show them as the user types.
//! Length is what matters (NIST SP 800-63B); no composition rules. The upper
//! bound keeps one login request from buying unbounded hashing work.

use std::fmt;

pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A password that passed the rules. Its `Debug` never shows the text.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("password must be at least {PASSWORD_MIN_CHARS} characters")]
    TooShort,
    #[error("password must be at most {PASSWORD_MAX_CHARS} characters")]
    TooLong,
    #[error("password must not be only spaces")]
    Blank,
    #[error("password must not contain the e-mail address")]
    ContainsEmail,
}

impl Password {
    /// Checks a new password. `email` is the account's address, if known.
    pub fn parse(raw: &str, email: Option<&str>) -> Result<Self, PasswordError> {
        let chars = raw.chars().count();
        if raw.trim().is_empty() && !raw.is_empty() {
            return Err(PasswordError::Blank);
        }
        if chars < PASSWORD_MIN_CHARS {
            return Err(PasswordError::TooShort);
        }
        if chars > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        if let Some(email) = email {
            let email = email.trim().to_lowercase();
            let local = email.split('@').next().unwrap_or_default();
            let lower = raw.to_lowercase();
            if !email.is_empty() && (lower.contains(&email) || (local.len() >= 4 && lower.contains(local))) {
                return Err(PasswordError::ContainsEmail);
            }
        }
        Ok(Self(raw.to_string()))
    }

    /// A password offered at login is never rule-checked (old passwords may
    /// predate the rules) but is still bounded in length.
    pub fn for_login(raw: &str) -> Result<Self, PasswordError> {
        if raw.chars().count() > PASSWORD_MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_bounds_count_characters_not_bytes() {
        assert_eq!(Password::parse("short", None), Err(PasswordError::TooShort));
        assert_eq!(Password::parse(&"x".repeat(11), None), Err(PasswordError::TooShort));
        assert!(Password::parse(&"x".repeat(12), None).is_ok());
        assert!(Password::parse(&"é".repeat(12), None).is_ok());
        assert!(Password::parse(&"x".repeat(128), None).is_ok());
        assert_eq!(Password::parse(&"x".repeat(129), None), Err(PasswordError::TooLong));
    }

    #[test]
    fn rejects_blank_and_email_passwords() {
        assert_eq!(Password::parse(&" ".repeat(20), None), Err(PasswordError::Blank));
        assert_eq!(
            Password::parse("ada.lovelace@example.com!", Some("ada.lovelace@example.com")),
            Err(PasswordError::ContainsEmail)
        );
        assert_eq!(
            Password::parse("my name is lovelace 1815", Some("Lovelace@example.com")),
            Err(PasswordError::ContainsEmail)
        );
        assert!(Password::parse("correct horse battery", Some("ada@example.com")).is_ok());
    }

    #[test]
    fn login_passwords_are_only_bounded() {
        assert!(Password::for_login("short").is_ok());
        assert_eq!(Password::for_login(&"x".repeat(129)), Err(PasswordError::TooLong));
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::parse("correct horse battery", None).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }
}
