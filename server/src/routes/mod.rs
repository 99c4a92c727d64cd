//! Routes outside Leptos: health now; the REST API, registry token service
//! and Stripe webhook join here.

pub mod health;
pub mod registry;
pub mod rest;
pub mod stripe;
