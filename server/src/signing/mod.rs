//! Registry token signing: the keys (`keys.rs`: ES256 keys, their kid,
//! the `Signer` and the swap the token route reads), where they are kept
//! (`store.rs`: in the database, sealed by `kek.rs`, followed by every
//! replica; `folder.rs`: the key folders of earlier versions, imported at
//! the first start), the token they sign (`jwt.rs`), and the reuse of a
//! token signed moments ago for the same grant (`reuse.rs`).

pub mod folder;
pub mod jwt;
pub mod kek;
pub mod keys;
pub mod reuse;
pub mod store;
