//! The pages, one folder per area: `public/` (home, catalogue, log in and
//! sign up), `account/` (a customer's products, credentials, orders,
//! checkout), `admin/` (the vendor's dashboard, products, customers, keys),
//! `audit/` (the auditor's log) and `settings` (one's own account, every
//! role).

pub mod account;
pub mod admin;
pub mod audit;
pub mod public;
pub mod settings;
