//! Catalogue types: product slugs and names, repository names and the
//! patterns products use to include them, product status, price options.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

fn bad(msg: impl Into<String>) -> ParseError {
    ParseError(msg.into())
}

/// A product's URL name: 2–64 of `a-z 0-9 -`, not starting or ending with `-`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let ok_chars = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !(2..=64).contains(&s.len()) || !ok_chars || s.starts_with('-') || s.ends_with('-') {
            return Err(bad("slug must be 2–64 lower-case letters, digits or dashes, not starting or ending with a dash"));
        }
        Ok(Self(s.to_owned()))
    }

    /// A slug made from a product name ("Acme Widget Pro" → "acme-widget-pro").
    pub fn from_name(name: &str) -> Option<Self> {
        let mut out = String::new();
        for c in name.to_lowercase().chars() {
            if c.is_ascii_alphanumeric() {
                out.push(c);
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        let trimmed: String = out.trim_end_matches('-').chars().take(64).collect();
        Self::parse(trimmed.trim_end_matches('-')).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub const PRODUCT_NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 20_000;

/// Trims a product name and checks its length (1–100 characters, no control characters).
pub fn parse_product_name(raw: &str) -> Result<String, ParseError> {
    let s = raw.trim();
    if s.is_empty() || s.chars().count() > PRODUCT_NAME_MAX || s.chars().any(char::is_control) {
        return Err(bad(format!("name must be 1–{PRODUCT_NAME_MAX} characters without control characters")));
    }
    Ok(s.to_owned())
}

pub fn parse_description(raw: &str) -> Result<String, ParseError> {
    if raw.chars().count() > DESCRIPTION_MAX {
        return Err(bad(format!("description must be at most {DESCRIPTION_MAX} characters")));
    }
    if !crate::domain::text::is_free_text(raw) {
        return Err(bad("description must not hold control characters (line breaks and tabs are fine)"));
    }
    Ok(raw.replace("\r\n", "\n"))
}

/// One path component of a repository name, as the Distribution registry
/// accepts it: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`.
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !b[0].is_ascii_alphanumeric() || !b[b.len() - 1].is_ascii_alphanumeric() {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let ch = b[i];
        if ch.is_ascii_lowercase() || ch.is_ascii_digit() {
            i += 1;
        } else if ch == b'.' || ch == b'_' {
            // one dot, one underscore or two underscores, then an alphanumeric
            let sep_len = if ch == b'_' && b.get(i + 1) == Some(&b'_') { 2 } else { 1 };
            i += sep_len;
            if !b.get(i).is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
                return false;
            }
        } else if ch == b'-' {
            while b.get(i) == Some(&b'-') {
                i += 1;
            }
            if !b.get(i).is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
                return false;
            }
        } else {
            return false;
        }
    }
    true
}

/// A repository name as clients send it (`acme/widget`): lower case, at most
/// 255 characters, components separated by `/`.
pub fn valid_repository_name(name: &str) -> bool {
    name.len() <= 255 && name.split('/').all(valid_component)
}

/// What a product includes: one exact repository, or every repository whose
/// name starts with a prefix (written with a trailing `*`). The registry only
/// ever sees exact names; the portal does the matching.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RepoPattern {
    Exact(String),
    Prefix(String),
}

impl RepoPattern {
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let err = || {
            bad(format!(
                "{s:?} is not a repository name (lower-case, like acme/widget) or a prefix ending in * (like acme/widget-*)"
            ))
        };
        if s.is_empty() || s.len() > 255 {
            return Err(err());
        }
        if let Some(prefix) = s.strip_suffix('*') {
            // The prefix must be the start of some valid name: check it with a
            // letter appended, so `acme/widget-*` and `acme/*` both pass.
            if prefix.is_empty() || prefix.contains('*') || !valid_repository_name(&format!("{prefix}a")) {
                return Err(err());
            }
            Ok(Self::Prefix(prefix.to_owned()))
        } else if valid_repository_name(s) {
            Ok(Self::Exact(s.to_owned()))
        } else {
            Err(err())
        }
    }

    pub fn matches(&self, repository: &str) -> bool {
        match self {
            Self::Exact(name) => name == repository,
            Self::Prefix(prefix) => repository.len() > prefix.len() && repository.starts_with(prefix.as_str()),
        }
    }
}

impl fmt::Display for RepoPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(n) => f.write_str(n),
            Self::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProductStatus {
    /// Being prepared: invisible to customers.
    Draft,
    /// In the public catalogue.
    Published,
    /// No longer sold; existing entitlements keep working.
    Archived,
}

impl ProductStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        match s {
            "draft" => Ok(Self::Draft),
            "published" => Ok(Self::Published),
            "archived" => Ok(Self::Archived),
            _ => Err(bad("status must be draft, published or archived")),
        }
    }
}
crate::text_column!(ProductStatus, |s| ProductStatus::parse(s).ok());

/// How a price sells access.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PriceKind {
    /// A subscription renewed every month.
    Monthly,
    /// A subscription renewed every year.
    Yearly,
    /// Paid once for `months` of access.
    OneTime { months: u32 },
    /// Free for `days`.
    Trial { days: u32 },
}

impl PriceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Yearly => "yearly",
            Self::OneTime { .. } => "one_time",
            Self::Trial { .. } => "trial",
        }
    }

    /// The duration column: months for one-time, days for trials.
    pub fn duration(self) -> Option<u32> {
        match self {
            Self::OneTime { months } => Some(months),
            Self::Trial { days } => Some(days),
            _ => None,
        }
    }

    /// Whether a price of this kind name takes a duration (`one_time`:
    /// months, `trial`: days); `None` for a name that is no kind.
    pub fn takes_duration(kind: &str) -> Option<bool> {
        match kind {
            "monthly" | "yearly" => Some(false),
            "one_time" | "trial" => Some(true),
            _ => None,
        }
    }

    pub fn from_parts(kind: &str, duration: Option<i64>) -> Result<Self, ParseError> {
        let dur = |what: &str| {
            duration
                .filter(|d| (1..=1200).contains(d))
                .map(|d| d as u32)
                .ok_or_else(|| bad(format!("{kind} needs a duration of 1–1200 {what}")))
        };
        match kind {
            "monthly" => Ok(Self::Monthly),
            "yearly" => Ok(Self::Yearly),
            "one_time" => Ok(Self::OneTime { months: dur("months")? }),
            "trial" => Ok(Self::Trial { days: dur("days")? }),
            _ => Err(bad("kind must be monthly, yearly, one_time or trial")),
        }
    }
}

/// A price option as admins enter it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceSpec {
    pub kind: PriceKind,
    /// Minor units (cents). Zero for trials.
    pub amount_cents: i64,
    /// ISO 4217, lower case (`usd`, `eur`).
    pub currency: String,
}

impl PriceSpec {
    pub fn parse(kind: PriceKind, amount_cents: i64, currency: &str) -> Result<Self, ParseError> {
        let currency = currency.trim().to_ascii_lowercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_lowercase()) {
            return Err(bad("currency must be a three-letter ISO code such as usd or eur"));
        }
        if !(0..=100_000_000_00).contains(&amount_cents) {
            return Err(bad("amount must be between 0 and 100,000,000.00"));
        }
        if matches!(kind, PriceKind::Trial { .. }) && amount_cents != 0 {
            return Err(bad("a free trial costs nothing: amount must be 0"));
        }
        if !matches!(kind, PriceKind::Trial { .. }) && amount_cents == 0 {
            return Err(bad("a paid option needs an amount above 0"));
        }
        Ok(Self { kind, amount_cents, currency })
    }

    /// "€49.00 / month", "$500.00 once for 12 months", "free for 14 days".
    pub fn describe(&self) -> String {
        let money = format_money(self.amount_cents, &self.currency);
        match self.kind {
            PriceKind::Monthly => format!("{money} / month"),
            PriceKind::Yearly => format!("{money} / year"),
            PriceKind::OneTime { months } => format!("{money} once, {months} month{} of access", plural(months)),
            PriceKind::Trial { days } => format!("Free trial, {days} day{}", plural(days)),
        }
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `1234567, "usd"` → `$12,345.67`; unknown currencies get their code.
pub fn format_money(cents: i64, currency: &str) -> String {
    let units = cents / 100;
    let mut digits = units.to_string();
    let mut grouped = String::new();
    while digits.len() > 3 {
        let tail = digits.split_off(digits.len() - 3);
        grouped = format!(",{tail}{grouped}");
    }
    let amount = format!("{digits}{grouped}.{:02}", cents % 100);
    match currency {
        "usd" => format!("${amount}"),
        "eur" => format!("€{amount}"),
        "gbp" => format!("£{amount}"),
        other => format!("{amount} {}", other.to_ascii_uppercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(Slug::parse("acme-widget").is_ok());
        for bad in ["a", "-acme", "acme-", "Acme", "acme widget", "acme_widget", "<b>", &"a".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Slug::from_name("Acme Widget Pro!").unwrap().as_str(), "acme-widget-pro");
        assert_eq!(Slug::from_name("  --Über Tool--  ").unwrap().as_str(), "ber-tool");
        assert!(Slug::from_name("!!!").is_none());
    }

    #[test]
    fn repository_names_follow_the_registry_grammar() {
        for ok in ["acme/widget", "acme/widget-pro", "a/b/c", "acme/w.x", "acme/w__x", "acme/w--x", "x"] {
            assert!(valid_repository_name(ok), "{ok}");
        }
        for bad in ["Acme/widget", "acme//widget", "/acme", "acme/", "acme/-w", "acme/w-", "acme/w_", "acme/w___x", "acme/w x", "acme/w:1", "acme/w'; DROP"] {
            assert!(!valid_repository_name(bad), "{bad}");
        }
        assert!(!valid_repository_name(&format!("a/{}", "b".repeat(255))));
    }

    #[test]
    fn patterns_parse_and_match() {
        let exact = RepoPattern::parse("acme/widget").unwrap();
        assert!(exact.matches("acme/widget"));
        assert!(!exact.matches("acme/widget-pro"));
        assert!(!exact.matches("acme/widgets"));

        let prefix = RepoPattern::parse("acme/widget-*").unwrap();
        assert_eq!(prefix, RepoPattern::Prefix("acme/widget-".into()));
        assert_eq!(prefix.to_string(), "acme/widget-*");
        assert!(prefix.matches("acme/widget-pro"));
        assert!(prefix.matches("acme/widget-pro/sub"));
        assert!(!prefix.matches("acme/widget"), "the bare prefix is not a repository");
        assert!(!prefix.matches("acme/widget-"));
        assert!(!prefix.matches("other/widget-pro"));

        let org = RepoPattern::parse("acme/*").unwrap();
        assert!(org.matches("acme/anything"));
        assert!(!org.matches("acmex/anything"));

        for bad in ["*", "acme/*/x", "acme/wid*get", "ACME/x", "acme/x**", "", "acme /x"] {
            assert!(RepoPattern::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prices() {
        let p = PriceSpec::parse(PriceKind::Monthly, 4900, "EUR").unwrap();
        assert_eq!(p.describe(), "€49.00 / month");
        let p = PriceSpec::parse(PriceKind::OneTime { months: 12 }, 123456789, "usd").unwrap();
        assert_eq!(p.describe(), "$1,234,567.89 once, 12 months of access");
        let p = PriceSpec::parse(PriceKind::Trial { days: 1 }, 0, "usd").unwrap();
        assert_eq!(p.describe(), "Free trial, 1 day");
        assert!(PriceSpec::parse(PriceKind::Trial { days: 14 }, 100, "usd").is_err());
        assert!(PriceSpec::parse(PriceKind::Monthly, 0, "usd").is_err());
        assert!(PriceSpec::parse(PriceKind::Monthly, -5, "usd").is_err());
        assert!(PriceSpec::parse(PriceKind::Monthly, 100, "dollars").is_err());
        assert_eq!(PriceKind::from_parts("one_time", Some(6)), Ok(PriceKind::OneTime { months: 6 }));
        assert!(PriceKind::from_parts("one_time", None).is_err());
        assert!(PriceKind::from_parts("trial", Some(0)).is_err());
        assert!(PriceKind::from_parts("weekly", None).is_err());
        assert_eq!(format_money(5, "jpy"), "0.05 JPY");
    }
}
