//! Shared domain types, parsed once at the edge ("parse, don't validate").
//! They compile for both the server and the browser, so a form can show the
//! same rule the server will apply before anything is sent.

mod column;
pub mod access;
pub mod audit_fields;
pub mod audit_search;
pub mod net;
pub mod text;
pub mod time;
pub mod two_factor;
pub mod catalogue;
pub mod credential;
pub mod harbor;
pub mod mail;
pub mod oci_archive;
pub mod pull;
pub mod order;
pub mod organisation;
pub mod registry;
pub mod release;
pub mod request;
pub mod signing_key;
mod email;
mod password;
mod role;

pub use email::{Email, EmailError};
pub use password::{Password, PasswordError, PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS};
pub use role::{Role, RoleError};
