//! The `portcullis` binary as a library, so integration tests can start the
//! real application in-process on port 0.

pub mod cli;
pub mod config;
pub mod listener;
pub mod middleware;
pub mod routes;
pub mod signing;
pub mod startup;
pub mod telemetry;
