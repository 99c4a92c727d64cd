//! Server functions, one file per area. Each is a thin shell: it authorises
//! first (`require_role`), then calls a service in `crate::backend`, and ends
//! with `respond` so an error carries the right HTTP status. Endpoints are
//! explicit (`/fn/<name>`) so tests, logs and the browser agree on the URL.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod catalogue;
pub mod credentials;
pub mod customers;
pub mod entitlements;
pub mod mail;
pub mod organisation;
pub mod pulls;
pub mod recovery;
pub mod requests;
pub mod users;
