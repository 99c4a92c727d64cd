//! argon2id password hashing. Hashing is CPU-bound on purpose, so it runs on
//! the blocking pool; an unknown e-mail is verified against a dummy hash so
//! response times do not tell whether an account exists.

use crate::domain::Password;
use argon2::{
    password_hash::{rand_core::OsRng, PasswordHasher, PasswordVerifier, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::sync::LazyLock;

/// The hash type lives with the column it is stored in (the repository
/// layer must not import this one); hashing and verifying are here.
pub use crate::backend::db::PasswordHash;

/// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password nobody knows, verified against when the
/// e-mail is unknown so both paths cost the same.
static DUMMY_HASH: LazyLock<PasswordHash> = LazyLock::new(|| {
    let random = crate::backend::web::session::random_token(32);
    hash_blocking(&random).expect("hashing a random string cannot fail")
});

fn hash_blocking(password: &str) -> Result<PasswordHash, argon2::password_hash::Error> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(PasswordHash(argon2().hash_password(password.as_bytes(), &salt)?.to_string()))
}

fn verify_blocking(password: &str, hash: &PasswordHash) -> bool {
    match argon2::PasswordHash::new(hash.expose()) {
        Ok(parsed) => argon2().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(argon2::password_hash::Error),
    #[error("hashing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

pub async fn hash(password: &Password) -> Result<PasswordHash, HashError> {
    let password = password.expose().to_owned();
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await?
        .map_err(HashError::Argon2)
}

/// Verifies `password` against `hash`, or against the dummy hash when there
/// is no account (then the answer is always false).
pub async fn verify(password: &Password, hash: Option<PasswordHash>) -> Result<bool, HashError> {
    let password = password.expose().to_owned();
    Ok(tokio::task::spawn_blocking(move || match hash {
        Some(h) => verify_blocking(&password, &h),
        None => {
            verify_blocking(&password, &DUMMY_HASH);
            false
        }
    })
    .await?)
}

/// Builds the dummy hash ahead of the first login, off the request path.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| LazyLock::force(&DUMMY_HASH)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_are_argon2id_salted_and_verify() {
        let pw = Password::parse("correct horse battery", None).unwrap();
        let a = hash(&pw).await.unwrap();
        let b = hash(&pw).await.unwrap();
        assert!(a.expose().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify(&pw, Some(a.clone())).await.unwrap());
        let wrong = Password::for_login("incorrect horse battery").unwrap();
        assert!(!verify(&wrong, Some(a.clone())).await.unwrap());
        assert!(!verify(&pw, None).await.unwrap(), "no account never verifies");
        assert!(!format!("{a:?}").contains("argon2"), "Debug redacts the hash");
    }

    #[tokio::test]
    async fn a_corrupt_hash_never_verifies() {
        let pw = Password::for_login("whatever").unwrap();
        assert!(!verify(&pw, Some(PasswordHash("not-a-hash".into()))).await.unwrap());
    }
}
