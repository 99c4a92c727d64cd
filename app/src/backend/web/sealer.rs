//! Sealing secrets the portal must read back (an account's TOTP secret):
//! the `server` crate's key-encryption keys implement it
//! (`server::signing::kek::Keks`), so the app seals with the same keys as
//! the registry signing keys without depending on the server crate.

use crate::domain::signing_key::{Sealable, Sealed};

pub trait Sealer: Send + Sync {
    fn seal(&self, what: Sealable<'_>, plaintext: &[u8]) -> Result<Sealed, String>;
    fn open(&self, what: Sealable<'_>, sealed: &Sealed) -> Result<Vec<u8>, String>;
}
