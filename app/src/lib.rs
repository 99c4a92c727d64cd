//! Portcullis's Leptos application: pages and components (rendered on the
//! server and hydrated in the browser), the server functions they call, the
//! domain types both sides share, and — behind the `ssr` feature — the
//! server-only services (database, sessions, passwords, audit).
#![recursion_limit = "256"]

pub mod api;
mod app;
pub mod components;
pub mod domain;
pub mod error;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod server;
pub mod views;

pub use app::{shell, App};
