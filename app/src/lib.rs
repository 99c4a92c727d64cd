//! Portcullis's Leptos application: pages and components (rendered on the
//! server and hydrated in the browser), the server functions they call, the
//! domain types both sides share, and — behind the `ssr` feature — the
//! server-only services (database, sessions, passwords, audit).
#![recursion_limit = "256"]

mod app;
#[cfg(feature = "ssr")]
pub mod backend;
pub mod domain;
pub mod error;
pub mod server_fns;
pub mod ui;
pub mod views;

pub use app::{shell, App};
