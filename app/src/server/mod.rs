//! Server-only services (the `ssr` feature): state, database repositories,
//! sessions, passwords, rate limits, audit. Server functions in `crate::api`
//! are thin: they authorise, parse, and call into here.

pub mod api_keys;
pub mod audit;
pub mod audit_chain;
pub mod audit_query;
pub mod audit_retention;
pub mod auth;
pub mod billing;
pub mod catalogue;
pub mod credentials;
pub mod csp;
pub mod customers;
pub mod db;
pub mod demo;
pub mod entitlements;
pub mod markdown;
pub mod password;
pub mod ratelimit;
pub mod request;
pub mod secrets;
pub mod session;
pub mod state;
pub mod users;

pub use request::{respond, RequestMeta};
pub use state::{AppState, AuthSettings, RegistrySettings};
