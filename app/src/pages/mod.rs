//! One module per route group.

pub mod account;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod errors;
pub mod home;
