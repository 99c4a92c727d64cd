//! The registry token-signing keys: ES256 keys with self-signed
//! certificates on disk (`keys.rs`), their bundle, rotation and the signer
//! the token route uses; and the token that signer signs (`jwt.rs`).

pub mod jwt;
pub mod keys;
