//! The vendor admin's pages: dashboard and users, products, customers (with
//! their entitlements, credentials and orders), API keys, push credentials,
//! the mail outbox, and the dashboard's online-payment and provisioning cards.

pub mod api_keys;
pub mod billing;
pub mod customers;
pub mod dashboard;
pub mod mail;
pub mod products;
pub mod provisioning;
pub mod push_credentials;
