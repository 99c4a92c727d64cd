//! Parses the auditor's filters (from the page's query string or the REST
//! query) into `db::audit::Filter`, naming the field of any bad value.

use crate::backend::db::audit::{ActionMatch, Filter};
use crate::views::AuditFilter;
use crate::error::AppError;
use crate::domain::time::{parse_time, BareDate};
use chrono::{DateTime, Utc};

fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid { field: field.into(), message: message.into() }
}

/// A trimmed, non-empty value of at most `max` characters, without control characters.
fn text(field: &str, v: &Option<String>, max: usize) -> Result<Option<String>, AppError> {
    let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) else { return Ok(None) };
    if v.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    if v.chars().any(char::is_control) {
        return Err(invalid(field, "must not contain control characters"));
    }
    Ok(Some(v.to_owned()))
}

/// A time filter (`domain::time::parse_time`: `from` takes a bare date as its
/// first instant, `to` as the end of that day, exclusive).
pub fn time(field: &str, v: &Option<String>, bare: BareDate) -> Result<Option<DateTime<Utc>>, AppError> {
    let Some(v) = text(field, v, 40)? else { return Ok(None) };
    parse_time(&v, bare).map(Some).map_err(|msg| invalid(field, msg))
}

pub fn parse(f: &AuditFilter) -> Result<Filter, AppError> {
    let from = time("from", &f.from, BareDate::StartOfDay)?;
    let to = time("to", &f.to, BareDate::NextDay)?;
    if let (Some(a), Some(b)) = (from, to) {
        if b <= a {
            return Err(invalid("to", "must be after from"));
        }
    }
    let id = |field: &'static str, v: &Option<String>, what: &str| -> Result<Option<i64>, AppError> {
        match text(field, v, 20)? {
            None => Ok(None),
            Some(c) => Ok(Some(c.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(|| invalid(field, format!("{what} (a positive number)")))?)),
        }
    };
    let organisation = id("customer", &f.customer, "a customer id")?;
    let member = id("member", &f.member, "a member's user id")?;
    let product = id("product", &f.product, "a product id")?;
    let action = match text("action", &f.action, 100)? {
        None => None,
        Some(a) => {
            let (name, prefix) = match a.strip_suffix('*') {
                Some(p) => (p.to_owned(), true),
                None => (a.clone(), a.ends_with('.')),
            };
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_') {
                return Err(invalid("action", "an action like registry.token, or a prefix like registry.*"));
            }
            Some(if prefix { ActionMatch::Prefix(name) } else { ActionMatch::Exact(name) })
        }
    };
    let outcome = match text("outcome", &f.outcome, 20)?.as_deref() {
        None => None,
        Some("granted" | "success") => Some("success".to_owned()),
        Some(o @ ("denied" | "failure")) => Some(o.to_owned()),
        Some(_) => return Err(invalid("outcome", "one of granted (success), denied, failure")),
    };
    let ip = match text("ip", &f.ip, 64)? {
        None => None,
        Some(ip) => Some(ip.parse::<std::net::IpAddr>().map_err(|_| invalid("ip", "an IPv4 or IPv6 address"))?.to_string()),
    };
    if f.before.is_some_and(|b| b < 1) {
        return Err(invalid("before", "an event id (a positive number)"));
    }
    Ok(Filter {
        from,
        to,
        organisation,
        member,
        credential: text("credential", &f.credential, 100)?,
        repository: text("repository", &f.repository, 255)?,
        product,
        action,
        outcome,
        ip,
        text: text("q", &f.q, 200)?,
        before: f.before,
        after: None,
        upto: None,
    })
}

/// The page's filters may name the customer or the member by an e-mail
/// address (auditors know addresses, not ids): resolved to ids (a
/// member's organisation for `customer`), then `parse`. An address no
/// account has is refused, naming its field.
pub async fn parse_naming(db: &crate::backend::db::Db, f: &AuditFilter) -> Result<Filter, AppError> {
    let mut f = f.clone();
    for field in ["customer", "member"] {
        let value = if field == "customer" { &mut f.customer } else { &mut f.member };
        let Some(raw) = value.as_deref().map(str::trim).filter(|v| v.contains('@')) else { continue };
        let email = crate::domain::Email::parse(raw).map_err(|e| invalid(field, e.to_string()))?;
        let user = crate::backend::db::users::find_by_email(db, &email).await?;
        let id = match (field, user) {
            ("customer", Some(u)) => u.organisation_id.ok_or_else(|| invalid(field, "this address belongs to no customer"))?,
            (_, Some(u)) => u.id,
            (_, None) => return Err(invalid(field, "no account has this address")),
        };
        *value = Some(id.to_string());
    }
    // A product by its name (any case) or slug, as the catalogue shows it.
    if let Some(raw) = f.product.as_deref().map(str::trim).filter(|v| !v.is_empty() && v.parse::<i64>().is_err()) {
        if raw.chars().count() > 200 {
            return Err(invalid("product", "at most 200 characters"));
        }
        let found = crate::backend::db::products::ids_named(db, raw, 2).await?;
        f.product = Some(match found.as_slice() {
            [one] => one.to_string(),
            [] => return Err(invalid("product", "no product has this name or slug")),
            _ => return Err(invalid("product", "several products have this name: use the slug")),
        });
    }
    // A credential by the name people gave it ("ci-bot"), within the
    // customer when one is named; its user name (`pull-…`) as it is.
    if let Some(raw) = f.credential.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        let username_like = (raw.starts_with("pull-") || raw.starts_with("push-")) && crate::domain::credential::plausible_username(raw);
        if !username_like {
            if raw.chars().count() > 100 {
                return Err(invalid("credential", "at most 100 characters"));
            }
            let org = f.customer.as_deref().and_then(|c| c.trim().parse::<i64>().ok());
            let found = crate::backend::db::credentials::usernames_named(db, raw, org, 2).await?;
            f.credential = Some(match found.as_slice() {
                [one] => one.clone(),
                [] => return Err(invalid("credential", "no credential has this name or user name")),
                _ => return Err(invalid("credential", "several credentials have this name: name the customer too, or use the user name (pull-…)")),
            });
        }
    }
    parse(&f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f() -> AuditFilter {
        AuditFilter::default()
    }

    #[test]
    fn values_are_checked_and_named() {
        assert_eq!(parse(&f()), Ok(Filter::default()));
        let bad = [
            (AuditFilter { from: Some("yesterday".into()), ..f() }, "from"),
            (AuditFilter { customer: Some("1 OR 1=1".into()), ..f() }, "customer"),
            (AuditFilter { product: Some("-3".into()), ..f() }, "product"),
            (AuditFilter { action: Some("registry.token'".into()), ..f() }, "action"),
            (AuditFilter { outcome: Some("maybe".into()), ..f() }, "outcome"),
            (AuditFilter { ip: Some("10.0.0".into()), ..f() }, "ip"),
            (AuditFilter { q: Some("x".repeat(201)), ..f() }, "q"),
            (AuditFilter { from: Some("2026-02-01".into()), to: Some("2026-01-01".into()), ..f() }, "to"),
            (AuditFilter { before: Some(0), ..f() }, "before"),
        ];
        for (filter, field) in bad {
            match parse(&filter) {
                Err(AppError::Invalid { field: got, .. }) => assert_eq!(got, field),
                other => panic!("{filter:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn values_are_normalised() {
        let got = parse(&AuditFilter {
            from: Some("2026-01-01".into()),
            to: Some("2026-01-01".into()),
            outcome: Some("granted".into()),
            action: Some("registry.*".into()),
            ip: Some(" 2001:DB8::1 ".into()),
            q: Some("  ".into()),
            ..f()
        })
        .unwrap();
        assert_eq!(got.from.map(|t| t.to_rfc3339()), Some("2026-01-01T00:00:00+00:00".into()));
        assert_eq!(got.to.map(|t| t.to_rfc3339()), Some("2026-01-02T00:00:00+00:00".into()));
        assert_eq!(got.outcome.as_deref(), Some("success"));
        assert_eq!(got.action, Some(ActionMatch::Prefix("registry.".into())));
        assert_eq!(got.ip.as_deref(), Some("2001:db8::1"));
        assert_eq!(got.text, None);
    }
}
