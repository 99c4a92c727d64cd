//! Key-encryption keys (KEKs): what the signing keys and the events secret
//! are sealed with in the database. AES-256-GCM (`ring::aead`), a random
//! 96-bit nonce per seal, the row's identity as associated data
//! (`domain::signing_key::Sealable::aad`: a sealed value copied onto another
//! row does not open). Each seal records the id of its KEK (first 8 hex
//! digits of the KEK's SHA-256), so the right one is chosen and a missing
//! one is named.
//!
//! Which KEK seals (`Keks::from_env`): `PORTCULLIS_KEY_ENCRYPTION_KEY` (32
//! random bytes, base64 or hex); unset, one derived from
//! `PORTCULLIS_SESSION_SECRET` (HKDF-SHA256, fixed label); neither set (demo
//! mode, and commands run without secrets), the built-in KEK, which is
//! public: it protects nothing, and a warning says so. Every one of these
//! that the process has can open: the current one,
//! `PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS` (during a rotation), the one
//! derived from the session secret and the built-in one, so moving from one
//! to the next is: set the new one, run `portcullis registry key rewrap`.

use crate::config::{err, ConfigError};
use crate::signing::keys::KeyError;
use app::domain::signing_key::{Sealable, Sealed};
use base64::Engine;
use ring::{
    aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN},
    hkdf,
    rand::{SecureRandom, SystemRandom},
};
use sha2::{Digest, Sha256};
use std::fmt;

pub const KEK_VAR: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY";
pub const PREVIOUS_VAR: &str = "PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS";
const SESSION_VAR: &str = "PORTCULLIS_SESSION_SECRET";

/// HKDF's salt and labels: fixed, so every replica derives the same KEK.
const SALT: &[u8] = b"portcullis";
const DERIVED_LABEL: &[u8] = b"portcullis registry key-encryption key v1";
const BUILTIN_LABEL: &[u8] = b"portcullis built-in key-encryption key v1 (protects nothing)";

/// One KEK: its bytes, id and where it came from. `Debug` shows the id and
/// the source only.
#[derive(Clone)]
struct Kek {
    id: String,
    bytes: [u8; 32],
    source: &'static str,
}

impl Kek {
    fn new(bytes: [u8; 32], source: &'static str) -> Self {
        Self { id: hex::encode(&Sha256::digest(bytes)[..4]), bytes, source }
    }

    /// HKDF-SHA256 of `secret` with the fixed salt and `label`.
    fn derive(secret: &[u8], label: &[u8], source: &'static str) -> Self {
        let mut bytes = [0u8; 32];
        hkdf::Salt::new(hkdf::HKDF_SHA256, SALT)
            .extract(secret)
            .expand(&[label], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut bytes))
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        Self::new(bytes, source)
    }

    fn key(&self) -> LessSafeKey {
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &self.bytes).expect("32 bytes is an AES-256 key"))
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.id, self.source)
    }
}

/// The KEK this process seals with and every one it can open with.
#[derive(Clone, Debug)]
pub struct Keks {
    current: Kek,
    others: Vec<Kek>,
}

/// 32 bytes from 64 hex digits or base64 (standard or URL-safe, padded or
/// not); the error never repeats the value.
fn parse_kek(var: &'static str, value: &str) -> Result<[u8; 32], ConfigError> {
    let hex_digits = value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit());
    let decoded = if hex_digits {
        hex::decode(value).ok()
    } else {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
        [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(value).ok())
    };
    decoded.and_then(|d| <[u8; 32]>::try_from(d).ok()).ok_or_else(|| {
        err(var, format!("expected 32 random bytes as 64 hex digits or base64 (e.g. `openssl rand -base64 32`); the value given ({} characters) is neither", value.len()))
    })
}

impl Keks {
    /// The built-in KEK alone (demo mode, tests): public, protects nothing.
    pub fn builtin() -> Self {
        Self { current: Kek::derive(b"", BUILTIN_LABEL, "built in"), others: Vec::new() }
    }

    /// An explicit KEK (and the previous one), as the two variables give them.
    pub fn explicit(current: [u8; 32], previous: Option<[u8; 32]>) -> Self {
        let mut keks = Self { current: Kek::new(current, KEK_VAR), others: Vec::new() };
        keks.also(previous.map(|p| Kek::new(p, PREVIOUS_VAR)));
        keks.also(Some(Self::builtin().current));
        keks
    }

    /// From `PORTCULLIS_KEY_ENCRYPTION_KEY`, `…_PREVIOUS` and
    /// `PORTCULLIS_SESSION_SECRET` (see the module's comment).
    pub fn from_env(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let previous = get(PREVIOUS_VAR).map(|v| parse_kek(PREVIOUS_VAR, &v)).transpose()?;
        let derived = get(SESSION_VAR).map(|s| Kek::derive(s.as_bytes(), DERIVED_LABEL, SESSION_VAR));
        let mut keks = match get(KEK_VAR) {
            Some(v) => Self::explicit(parse_kek(KEK_VAR, &v)?, previous),
            None => {
                let mut keks = Self::builtin();
                if let Some(derived) = derived.clone() {
                    keks.others.push(std::mem::replace(&mut keks.current, derived));
                }
                keks.also(previous.map(|p| Kek::new(p, PREVIOUS_VAR)));
                keks
            }
        };
        keks.also(derived);
        Ok(keks)
    }

    fn also(&mut self, kek: Option<Kek>) {
        if let Some(kek) = kek {
            if kek.id != self.current.id && self.others.iter().all(|o| o.id != kek.id) {
                self.others.push(kek);
            }
        }
    }

    /// The id of the KEK new seals use.
    pub fn current_id(&self) -> &str {
        &self.current.id
    }

    /// Whether new seals use the built-in (public) KEK.
    pub fn is_builtin(&self) -> bool {
        self.current.id == Self::builtin().current.id
    }

    /// The KEKs this process has, for messages: `id (source), …`.
    pub fn describe(&self) -> String {
        std::iter::once(&self.current).chain(&self.others).map(|k| format!("{k:?}")).collect::<Vec<_>>().join(", ")
    }

    /// Seals `plaintext` for `what` under the current KEK.
    pub fn seal(&self, what: Sealable<'_>, plaintext: &[u8]) -> Result<Sealed, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new().fill(&mut nonce).map_err(|_| KeyError::Invalid("no randomness for a nonce".into()))?;
        let mut buf = plaintext.to_vec();
        self.current
            .key()
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(what.aad()), &mut buf)
            .map_err(|_| KeyError::Invalid(format!("cannot seal {what}")))?;
        Ok(Sealed { kek_id: self.current.id.clone(), nonce: nonce.to_vec(), ciphertext: buf })
    }

    /// Opens `sealed` as `what` with the KEK that sealed it.
    pub fn open(&self, what: Sealable<'_>, sealed: &Sealed) -> Result<Vec<u8>, KeyError> {
        let kek = std::iter::once(&self.current).chain(&self.others).find(|k| k.id == sealed.kek_id).ok_or_else(|| {
            KeyError::Kek(format!(
                "{what} is sealed with the key-encryption key {}, which this process does not have (it has {}): \
                 give it the portal's {KEK_VAR} (or {SESSION_VAR}), or the old one as {PREVIOUS_VAR} during a rotation",
                sealed.kek_id,
                self.describe()
            ))
        })?;
        let nonce = <[u8; NONCE_LEN]>::try_from(sealed.nonce.as_slice())
            .map_err(|_| KeyError::Kek(format!("{what}: the stored nonce is not {NONCE_LEN} bytes")))?;
        let mut buf = sealed.ciphertext.clone();
        let plain = kek
            .key()
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(what.aad()), &mut buf)
            .map_err(|_| {
                KeyError::Kek(format!(
                    "{what} does not open with the key-encryption key {} ({}): the row was altered or belongs to another key",
                    kek.id, kek.source
                ))
            })?;
        Ok(plain.to_vec())
    }
}

/// The app seals the accounts' TOTP secrets with the same keys.
impl app::backend::web::sealer::Sealer for Keks {
    fn seal(&self, what: Sealable<'_>, plaintext: &[u8]) -> Result<Sealed, String> {
        Keks::seal(self, what, plaintext).map_err(|e| e.to_string())
    }
    fn open(&self, what: Sealable<'_>, sealed: &Sealed) -> Result<Vec<u8>, String> {
        Keks::open(self, what, sealed).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k: &str| map.get(k).cloned()
    }

    const KID: &str = "ABCD:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP";

    #[test]
    fn a_seal_opens_with_its_kek_only() {
        let one = Keks::explicit([1; 32], None);
        let sealed = one.seal(Sealable::Key(KID), b"the private key").unwrap();
        assert_eq!(sealed.nonce.len(), 12);
        assert_eq!(sealed.kek_id, one.current_id());
        assert_eq!(sealed.kek_id.len(), 8);
        assert!(!sealed.ciphertext.windows(7).any(|w| w == b"private"));
        assert_eq!(one.open(Sealable::Key(KID), &sealed).unwrap(), b"the private key");
        assert_ne!(one.seal(Sealable::Key(KID), b"x").unwrap().nonce, one.seal(Sealable::Key(KID), b"x").unwrap().nonce);

        // Another KEK: refused, naming the variable and the missing KEK's id.
        let e = Keks::explicit([2; 32], None).open(Sealable::Key(KID), &sealed).unwrap_err().to_string();
        assert!(e.starts_with("PORTCULLIS_KEY_ENCRYPTION_KEY: signing key ABCD"), "{e}");
        assert!(e.contains(&sealed.kek_id), "{e}");
        // The same id with other bytes (a forged id): the tag does not match.
        let mut forged = sealed.clone();
        forged.kek_id = Keks::explicit([2; 32], None).current_id().to_owned();
        assert!(Keks::explicit([2; 32], None).open(Sealable::Key(KID), &forged).unwrap_err().to_string().contains("altered"));
    }

    #[test]
    fn the_previous_kek_opens_during_a_rotation() {
        let old = Keks::explicit([1; 32], None);
        let sealed = old.seal(Sealable::Secret("events"), b"s3cret").unwrap();
        let rotated = Keks::explicit([2; 32], Some([1; 32]));
        assert_eq!(rotated.open(Sealable::Secret("events"), &sealed).unwrap(), b"s3cret");
        let resealed = rotated.seal(Sealable::Secret("events"), b"s3cret").unwrap();
        assert_eq!(resealed.kek_id, Keks::explicit([2; 32], None).current_id());
        assert!(old.open(Sealable::Secret("events"), &resealed).is_err());
    }

    #[test]
    fn the_seal_is_bound_to_its_row() {
        let keks = Keks::explicit([7; 32], None);
        let a = keks.seal(Sealable::Key(KID), b"key a").unwrap();
        let other = "ZZZZ:EFGH:IJKL:MNOP:QRST:UVWX:YZ23:4567:ABCD:EFGH:IJKL:MNOP";
        assert!(keks.open(Sealable::Key(other), &a).is_err(), "a key's seal moved to another kid");
        assert!(keks.open(Sealable::Secret("events"), &a).is_err(), "a key's seal moved to the secret");
        let mut flipped = a.clone();
        flipped.ciphertext[0] ^= 1;
        assert!(keks.open(Sealable::Key(KID), &flipped).is_err());
    }

    #[test]
    fn the_kek_comes_from_the_variable_else_the_session_secret_else_the_builtin() {
        let hex = "11".repeat(32);
        let b64 = base64::engine::general_purpose::STANDARD.encode([0x11u8; 32]);
        let from_hex = Keks::from_env(env(&[(KEK_VAR, &hex)])).unwrap();
        assert_eq!(from_hex.current_id(), Keks::from_env(env(&[(KEK_VAR, &b64)])).unwrap().current_id());
        assert_eq!(from_hex.current_id(), Keks::explicit([0x11; 32], None).current_id());
        let derived = Keks::from_env(env(&[(SESSION_VAR, "a session secret of enough characters")])).unwrap();
        let other = Keks::from_env(env(&[(SESSION_VAR, "another session secret, long enough")])).unwrap();
        assert_ne!(derived.current_id(), other.current_id());
        assert!(!derived.is_builtin() && Keks::from_env(env(&[])).unwrap().is_builtin());
        assert!(!from_hex.is_builtin());

        // An explicit KEK still opens what the session secret's KEK sealed
        // (so moving to it is: set it, rewrap) and what the built-in one did.
        let both = Keks::from_env(env(&[(KEK_VAR, &hex), (SESSION_VAR, "a session secret of enough characters")])).unwrap();
        assert_eq!(both.current_id(), from_hex.current_id());
        let sealed = derived.seal(Sealable::Key(KID), b"k").unwrap();
        assert_eq!(both.open(Sealable::Key(KID), &sealed).unwrap(), b"k");
        let demo = Keks::builtin().seal(Sealable::Key(KID), b"k").unwrap();
        assert_eq!(both.open(Sealable::Key(KID), &demo).unwrap(), b"k");
    }

    #[test]
    fn a_bad_kek_is_one_line_naming_its_variable_without_the_value() {
        for bad in ["short", "zz".repeat(32).as_str(), &"11".repeat(31), "c2l4dGVlbiBieXRlcyBvbmx5"] {
            for var in [KEK_VAR, PREVIOUS_VAR] {
                let e = Keks::from_env(env(&[(var, bad)])).unwrap_err();
                assert_eq!(e.variable, var);
                assert!(!e.message.contains(bad), "{e}");
            }
        }
    }

    #[test]
    fn debug_shows_ids_and_sources_only() {
        let keks = Keks::explicit([0xAB; 32], Some([0xCD; 32]));
        let debug = format!("{keks:?}");
        assert!(debug.contains(keks.current_id()) && debug.contains(KEK_VAR) && debug.contains(PREVIOUS_VAR), "{debug}");
        assert!(!debug.contains("171") && !debug.to_lowercase().contains("abab"), "{debug}");
    }
}
