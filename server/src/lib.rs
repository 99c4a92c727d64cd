//! The `portcullis` binary as a library, so integration tests can start the
//! real application in-process on port 0.

pub mod audit_cli;
pub mod cli;
pub mod config;
pub mod config_stripe;
pub mod middleware;
pub mod registry;
pub mod routes;
pub mod startup;
pub mod telemetry;
