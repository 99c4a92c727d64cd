//! Time as people type it and as pages show it, in one place.
//!
//! **Input** (`parse_time`): RFC 3339 (`2026-11-22T14:30:00+01:00`), a UTC
//! date and time (`2026-11-22T14:30`, `2026-11-22 14:30`, with or without
//! seconds), or a bare UTC date (`2026-11-22`). What a bare date stands for
//! is a property of the field, named at each call with `BareDate`:
//!
//! | field | bare date means |
//! |---|---|
//! | audit filter `from`, an entitlement's start and end (admin form) | `StartOfDay`: 00:00:00 |
//! | a registry credential's expiry | `LastSecond`: 23:59:59 (usable through that day) |
//! | audit filter `to` (exclusive) | `NextDay`: the next day's 00:00:00 |
//!
//! **Output**: `rfc3339` for views, the REST API and audit details (pages
//! show those with `ui::components::utc_time`); `format_utc` for text (UTC,
//! the same string on the server and in the browser).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

/// What a bare date stands for in a field (see the table above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BareDate {
    /// The day's first instant: where something starts.
    StartOfDay,
    /// The day's last whole second: an end that includes the day.
    LastSecond,
    /// The next day's first instant: an exclusive end that includes the day.
    NextDay,
}

/// The one message for a time that does not parse.
pub const TIME_EXPECTED: &str = "a time like 2026-11-22, 2026-11-22T14:30 (UTC) or RFC 3339";

/// Parses a time as people and the API write it (see the module docs).
pub fn parse_time(raw: &str, bare: BareDate) -> Result<DateTime<Utc>, &'static str> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Ok(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, f) {
            return Ok(t.and_utc());
        }
    }
    let day = NaiveDate::parse_from_str(raw, "%Y-%m-%d").map_err(|_| TIME_EXPECTED)?;
    let t = match bare {
        BareDate::StartOfDay => day.and_hms_opt(0, 0, 0),
        BareDate::LastSecond => day.and_hms_opt(23, 59, 59),
        BareDate::NextDay => day.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)),
    };
    t.map(|t| t.and_utc()).ok_or(TIME_EXPECTED)
}

/// A time as every view, the REST API and audit details write it: RFC 3339,
/// UTC, whole seconds (`2026-12-01T13:57:09Z`).
pub fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Formats a time the same way on the server and in the browser (UTC), so
/// hydration never sees two different strings.
pub fn format_utc(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(raw: &str, bare: BareDate) -> String {
        parse_time(raw, bare).unwrap().to_rfc3339()
    }

    #[test]
    fn bare_dates_mean_what_the_field_says() {
        assert_eq!(at("2027-01-31", BareDate::StartOfDay), "2027-01-31T00:00:00+00:00");
        assert_eq!(at("2027-01-31", BareDate::LastSecond), "2027-01-31T23:59:59+00:00");
        assert_eq!(at("2027-01-31", BareDate::NextDay), "2027-02-01T00:00:00+00:00");
        assert_eq!(at(" 2027-12-31 ", BareDate::NextDay), "2028-01-01T00:00:00+00:00");
    }

    #[test]
    fn times_are_taken_as_written() {
        for bare in [BareDate::StartOfDay, BareDate::LastSecond, BareDate::NextDay] {
            assert_eq!(at("2027-01-31T10:00:00+01:00", bare), "2027-01-31T09:00:00+00:00");
            assert_eq!(at("2027-01-31T10:00", bare), "2027-01-31T10:00:00+00:00");
            assert_eq!(at("2027-01-31 10:00:05", bare), "2027-01-31T10:00:05+00:00");
        }
        for bad in ["", "next week", "2027-02-30", "31/01/2027", "2027-01-31T25:00"] {
            assert_eq!(parse_time(bad, BareDate::StartOfDay), Err(TIME_EXPECTED), "{bad}");
        }
    }
}
