//! Routes outside Leptos: health now; the REST API, registry token service
//! and Stripe webhook join here.

pub mod api;
pub mod health;
pub mod stripe;
