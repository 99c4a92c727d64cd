//! The business rules, one module per noun. Every entry point (server
//! functions, the REST API, the registry routes, the CLI) calls these; they
//! call `crate::backend::db` for storage and write the audit record in the
//! same transaction as the change.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod catalogue;
pub mod credentials;
pub mod customers;
pub mod demo;
pub mod entitlements;
pub mod gateway;
pub mod harbor;
pub mod jobs;
pub mod mail;
pub mod markdown;
pub mod notices;
pub mod organisations;
pub mod periodic;
pub mod pulls;
pub mod recovery;
pub mod requests;
pub mod dashboard;
pub mod registry;
pub mod signing_keys;
pub mod two_factor;
pub mod users;
