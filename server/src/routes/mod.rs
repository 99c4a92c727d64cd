//! Routes outside Leptos: health and metrics, the REST API, the registry
//! token service and notifications, the Stripe webhook, the one-click
//! unsubscribe of optional mail.

pub mod gateway;
pub mod health;
pub mod pulls_export;
pub mod registry;
pub mod rest;
pub mod stripe;
pub mod unsubscribe;
