//! `/admin/customers[/:id]`: the list, one customer's page and its sections
//! (entitlements, registry credentials).

pub mod credentials;
pub mod detail;
pub mod entitlements;
pub mod list;
