//! Time as people and the wire see it: one formatter for pages (UTC, the same
//! string on the server and in the browser, so hydration never differs).

use chrono::{DateTime, Utc};

/// Formats a time the same way on the server and in the browser (UTC), so
/// hydration never sees two different strings.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}
