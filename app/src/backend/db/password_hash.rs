//! `PasswordHash`, the stored form of a password: the type of the
//! `users.password_hash` column, so it lives in the repository layer with the
//! rows that carry it. Hashes are made (argon2id) and checked by
//! `backend::web::password`, which re-exports the type beside them; the field
//! is visible in the crate only for that.

use std::fmt;

/// A PHC-format argon2id hash. `Debug` redacts it.
#[derive(Clone, PartialEq, Eq, sqlx::Type)]
#[sqlx(transparent)]
pub struct PasswordHash(pub(crate) String);

impl PasswordHash {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A stored value no password verifies against (not a PHC string).
    pub fn unusable() -> Self {
        Self("!".into())
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}
