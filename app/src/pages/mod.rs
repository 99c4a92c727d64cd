//! One module per route group.

pub mod account;
pub mod admin;
pub mod admin_billing;
pub mod admin_api_keys;
pub mod admin_customer_detail;
pub mod admin_customers;
pub mod admin_entitlements;
pub mod admin_product_edit;
pub mod admin_products;
pub mod admin_push_credentials;
pub mod audit;
pub mod audit_charts;
pub mod audit_detail;
pub mod auth;
pub mod billing;
pub mod billing_orders;
pub mod catalogue;
pub mod credentials;
pub mod credentials_admin;
pub mod credentials_snippets;
pub mod credentials_ui;
pub mod errors;
pub mod home;
