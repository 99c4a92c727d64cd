//! The registry's token-signing keys as data: the state of a key
//! (`KeyState`), and what the database keeps of a private key or of the
//! registry's shared secret (`Sealed`: AES-256-GCM ciphertext, its nonce and
//! the id of the key-encryption key that sealed it), bound by its associated
//! data to the one row it belongs to (`Sealable::aad`). The cryptography is
//! the `server` crate's (`signing::kek`); the rules are
//! `backend::services::signing_keys`.

use std::fmt;

/// Where a key stands. Exactly one key is `Active` (it signs tokens);
/// `Pending` keys are in the registry's bundle but do not sign (a new key
/// before its activation, or one that signed before); `Retired` keys have
/// left the bundle for good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyState {
    Pending,
    Active,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "active" => Some(Self::Active),
            "retired" => Some(Self::Retired),
            _ => None,
        }
    }

    /// Whether the registry's bundle holds the key's certificate (so tokens
    /// it signed are accepted).
    pub fn in_bundle(self) -> bool {
        self != Self::Retired
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(KeyState, KeyState::parse);

/// What a seal belongs to: a signing key (by kid), a named secret, or an
/// account's two-factor (TOTP) secret (by user id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sealable<'a> {
    Key(&'a str),
    Secret(&'a str),
    TwoFactor(i64),
    /// A Harbor robot's secret kept for a while (credential id, purpose).
    RobotSecret(i64, crate::domain::harbor::SecretPurpose),
}

impl Sealable<'_> {
    /// The associated data the seal is bound to: the kid itself for a key,
    /// `registry secret NAME` for a secret (a kid never holds a space), so a
    /// sealed value copied onto another row does not open.
    pub fn aad(&self) -> Vec<u8> {
        match self {
            Self::Key(kid) => kid.as_bytes().to_vec(),
            Self::Secret(name) => format!("registry secret {name}").into_bytes(),
            Self::TwoFactor(user) => format!("two-factor secret of user {user}").into_bytes(),
            Self::RobotSecret(credential, purpose) => {
                format!("robot secret of credential {credential} to {}", purpose.as_str()).into_bytes()
            }
        }
    }
}

impl fmt::Display for Sealable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Key(kid) => write!(f, "signing key {kid}"),
            Self::Secret(name) => write!(f, "the registry {name} secret"),
            Self::TwoFactor(user) => write!(f, "the two-factor secret of user {user}"),
            Self::RobotSecret(credential, purpose) => {
                write!(f, "the robot secret of credential {credential} ({})", purpose.as_str())
            }
        }
    }
}

/// A sealed value as stored. `Debug` shows the key-encryption key's id and
/// the lengths only.
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    /// First 8 hex digits of the SHA-256 of the key-encryption key.
    pub kek_id: String,
    /// The 96-bit AES-GCM nonce, random per seal.
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    pub ciphertext: Vec<u8>,
}

impl fmt::Debug for Sealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealed")
            .field("kek_id", &self.kek_id)
            .field("nonce_len", &self.nonce.len())
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_and_only_retired_leaves_the_bundle() {
        for s in [KeyState::Pending, KeyState::Active, KeyState::Retired] {
            assert_eq!(KeyState::parse(s.as_str()), Some(s));
        }
        assert_eq!(KeyState::parse("Active"), None);
        assert!(KeyState::Pending.in_bundle() && KeyState::Active.in_bundle() && !KeyState::Retired.in_bundle());
    }

    #[test]
    fn keys_and_secrets_bind_to_different_data() {
        assert_eq!(Sealable::Key("ABCD:EFGH").aad(), b"ABCD:EFGH");
        assert_ne!(Sealable::Secret("events").aad(), Sealable::Key("events").aad());
    }
}
