//! Server functions, one file per area. Each is a thin shell: it authorises
//! first (`require_role`), then calls a service in `crate::server`, and ends
//! with `respond` so an error carries the right HTTP status. Endpoints are
//! explicit (`/fn/<name>`) so tests, logs and the browser agree on the URL.

pub mod admin;
pub mod apikeys;
pub mod audit;
pub mod audit_charts;
pub mod auth;
pub mod billing;
pub mod catalogue;
pub mod credentials;
pub mod customers;
pub mod entitlements;

/// Formats a time the same way on the server and in the browser (UTC), so
/// hydration never sees two different strings.
pub fn format_utc(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
