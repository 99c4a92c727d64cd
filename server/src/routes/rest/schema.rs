//! The exact bounds of what the REST handlers accept, as OpenAPI schemas:
//! lengths, patterns, ranges and enums, so that a request valid against the
//! document is one the handler accepts (the contract test,
//! `scripts/api-contract.sh`, checks that with generated requests). The
//! handlers and the domain parsers stay the judges; these only describe
//! them; the enums are held to their parsers below, the patterns by the
//! contract test (every value it draws from them must be accepted).
//!
//! Patterns are anchored and use only what both ECMA-262 and Python's `re`
//! read the same way. A rule between two fields or against stored state
//! cannot be a schema: the field descriptions say it in words.

use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{KnownFormat, RefOr};

/// Control characters (Unicode category Cc, `char::is_control`).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// Control characters but tab, line feed and carriage return (multi-line text).
const CONTROL_BUT_LINES: &str = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f";

/// One component of a repository name, as the Distribution registry's grammar has it.
const REPO_COMPONENT: &str = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const REPO_SEPARATOR: &str = r"(?:[._]|__|-+)";

pub const STATUS_PRODUCT: &[&str] = &["draft", "published", "archived"];
pub const STATUS_ENTITLEMENT: &[&str] = &["active", "suspended", "revoked", "expired"];
/// The statuses a PATCH may set (`expired` is the sweep's, from the window).
pub const STATUS_ENTITLEMENT_SETTABLE: &[&str] = &["active", "suspended", "revoked"];
/// What people may grant (`EntitlementSource::granted_by_hand`).
pub const SOURCE_BY_HAND: &[&str] = &["manual", "trial"];
pub const AUDIT_OUTCOME: &[&str] = &["granted", "success", "denied", "failure"];
pub const AUDIT_FORMAT: &[&str] = &["json", "csv", "jsonl"];
pub const LICENCE: &[&str] = &["subscription", "perpetual"];
/// `domain::request::RequestStatus`.
pub const STATUS_REQUEST: &[&str] = &["open", "granted", "answered"];
/// `services::requests::Answer::parse`.
pub const REQUEST_ANSWER: &[&str] = &["grant", "reply"];

/// Declares the zero-argument functions `schema_with` wants, each a schema
/// with its description:
/// `documented! { fn name() = schema::id(), "The record's id."; }`.
macro_rules! documented {
    ($($(#[$meta:meta])* $vis:vis fn $name:ident() = $schema:expr, $text:expr;)*) => {
        $($(#[$meta])* $vis fn $name() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
            $crate::routes::rest::schema::doc($schema, $text)
        })*
    };
}
pub(crate) use documented;

/// `s` with a description (a field or parameter whose schema comes from
/// here loses its doc comment in the derive, so the words travel with it).
pub fn doc(s: RefOr<Schema>, text: &str) -> RefOr<Schema> {
    match s {
        RefOr::T(Schema::Object(mut o)) => {
            o.description = Some(text.to_owned());
            RefOr::T(Schema::Object(o))
        }
        RefOr::T(Schema::OneOf(mut o)) => {
            o.description = Some(text.to_owned());
            RefOr::T(Schema::OneOf(o))
        }
        RefOr::T(Schema::Array(mut a)) => {
            a.description = Some(text.to_owned());
            RefOr::T(Schema::Array(a))
        }
        other => other,
    }
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::Type(Type::String))
}

fn nullable(b: ObjectBuilder, null: bool) -> ObjectBuilder {
    if null {
        b.schema_type(SchemaType::from_iter([Type::String, Type::Null]))
    } else {
        b
    }
}

/// A value from `values`.
pub fn one_of(values: &[&str], null: bool) -> RefOr<Schema> {
    let mut all: Vec<serde_json::Value> = values.iter().map(|v| serde_json::Value::from(*v)).collect();
    if null {
        all.push(serde_json::Value::Null);
    }
    nullable(string(), null).enum_values(Some(all)).into()
}

/// Text of at most `max` characters without control characters; `blank`:
/// whether it may be empty or only spaces (an optional filter or field that
/// is then left out).
pub fn text(max: usize, blank: bool, null: bool) -> RefOr<Schema> {
    let pattern = if blank { format!("^[^{CONTROL}]*$") } else { format!(r"^[^{CONTROL}]*[^\s{CONTROL}][^{CONTROL}]*$") };
    nullable(string(), null).max_length(Some(max)).pattern(Some(pattern)).into()
}

/// Multi-line text (tabs and line breaks allowed) of at most `max` characters.
pub fn lines(max: usize, null: bool) -> RefOr<Schema> {
    nullable(string(), null).max_length(Some(max)).pattern(Some(format!("^[^{CONTROL_BUT_LINES}]*$"))).into()
}

/// A record id: a positive 64-bit integer.
pub fn id() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(i64::MAX))
        .into()
}

/// An integer from `min` to `max`.
pub fn range(min: i64, max: i64, null: bool) -> RefOr<Schema> {
    let t = if null { SchemaType::from_iter([Type::Integer, Type::Null]) } else { SchemaType::Type(Type::Integer) };
    ObjectBuilder::new()
        .schema_type(t)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(min))
        .maximum(Some(max))
        .into()
}

/// An RFC 3339 time (`2027-03-12T00:00:00Z`).
pub fn date_time(null: bool) -> RefOr<Schema> {
    nullable(string(), null).format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))).into()
}

/// A day (`2027-03-12`) or an RFC 3339 time, as `domain::time::parse_time` reads them.
pub fn day_or_time(null: bool) -> RefOr<Schema> {
    let day = string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Date)));
    let time = string().format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)));
    let mut b = OneOfBuilder::new().item(day).item(time);
    if null {
        b = b.item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)));
    }
    b.into()
}

/// An IPv4 or IPv6 address.
pub fn ip() -> RefOr<Schema> {
    OneOfBuilder::new()
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv4))))
        .item(string().format(Some(SchemaFormat::KnownFormat(KnownFormat::Ipv6))))
        .into()
}

/// An audit action (`registry.token`) or a prefix (`registry.*`).
pub fn action() -> RefOr<Schema> {
    string().max_length(Some(100)).pattern(Some(r"^[a-z._]+\*?$")).into()
}

/// A product slug: 2–64 of `a-z 0-9 -`, not starting or ending with a dash.
pub fn slug(null: bool) -> RefOr<Schema> {
    nullable(string(), null).min_length(Some(2)).max_length(Some(64)).pattern(Some("^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]$")).into()
}

/// A repository name (`acme/widget`) or a prefix ending in `*` (`acme/widget-*`).
pub fn repository_pattern() -> ObjectBuilder {
    let c = REPO_COMPONENT;
    let s = REPO_SEPARATOR;
    string().max_length(Some(255)).pattern(Some(format!("^(?:{c}(?:/{c})*|(?:{c}/)+\\*|(?:{c}/)*{c}{s}?\\*)$")))
}

/// The repository patterns of a product (each once), at most 200.
pub fn repositories(null: bool) -> RefOr<Schema> {
    let t = if null { SchemaType::from_iter([Type::Array, Type::Null]) } else { SchemaType::Type(Type::Array) };
    ArrayBuilder::new().schema_type(t).items(repository_pattern()).max_items(Some(200)).into()
}

/// An e-mail address as `domain::Email::parse` takes it (a plain
/// `local@domain.tld`; at most 254 characters).
pub fn email() -> RefOr<Schema> {
    let local = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,20}";
    let label = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
    string()
        .max_length(Some(254))
        .pattern(Some(format!(r"^{local}(?:\.{local}){{0,2}}@{label}(?:\.{label})+$")))
        .into()
}

/// A new password: 12–128 characters, not only spaces.
pub fn password() -> RefOr<Schema> {
    nullable(string(), true).min_length(Some(12)).max_length(Some(128)).pattern(Some(r"\S")).into()
}

/// A price option: `oneOf` by `kind`, each with its own amount and duration rules.
pub fn price_input() -> RefOr<Schema> {
    let kind = |k: &[&str]| string().enum_values(Some(k.iter().copied()));
    let currency = || string().pattern(Some("^[A-Za-z]{3}$")).description(Some("ISO 4217, e.g. `eur` (any case)"));
    let amount = |min: i64, max: i64| {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(min))
            .maximum(Some(max))
            .description(Some("Minor units (cents)"))
    };
    let duration = |what: &str| {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Integer))
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
            .minimum(Some(1))
            .maximum(Some(1200))
            .description(Some(what.to_owned()))
    };
    let variant = |kinds: &[&str], min: i64, max: i64, duration: Option<ObjectBuilder>| {
        let mut o = ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::Object))
            .property("kind", kind(kinds))
            .required("kind")
            .property("amount_cents", amount(min, max))
            .required("amount_cents")
            .property("currency", currency())
            .required("currency")
            .additional_properties(Some(utoipa::openapi::schema::AdditionalProperties::FreeForm(false)));
        if let Some(d) = duration {
            o = o.property("duration", d).required("duration");
        }
        o
    };
    const AMOUNT_MAX: i64 = 10_000_000_000;
    let one = OneOfBuilder::new()
        .item(variant(&["monthly", "yearly"], 1, AMOUNT_MAX, None))
        .item(variant(&["one_time"], 1, AMOUNT_MAX, Some(duration("Months of access"))))
        .item(variant(&["trial"], 0, 0, Some(duration("Days of the trial"))))
        .description(Some(
            "A price option: `monthly` or `yearly` (no duration), `one_time` (with `duration` in months) or `trial` \
             (free: `amount_cents` 0, `duration` in days). Amounts are 1 to 10,000,000,000 cents.",
        ));
    one.into()
}

/// Walks a JSON document and returns every `#/components/schemas/…` reference
/// that names no schema in it.
pub fn dangling_refs(doc: &serde_json::Value) -> Vec<String> {
    fn walk<'a>(v: &'a serde_json::Value, out: &mut Vec<&'a str>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match (k.as_str(), v) {
                        ("$ref", serde_json::Value::String(r)) => out.push(r),
                        _ => walk(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut refs = Vec::new();
    walk(doc, &mut refs);
    let mut missing: Vec<String> = refs
        .into_iter()
        .filter(|r| match r.strip_prefix("#/components/schemas/") {
            Some(name) => doc["components"]["schemas"].get(name).is_none(),
            None => true,
        })
        .map(str::to_owned)
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::domain::access::{EntitlementSource, EntitlementStatus};
    use app::domain::catalogue::ProductStatus;

    #[test]
    fn the_enums_are_the_parsers_values() {
        assert!(STATUS_PRODUCT.iter().all(|s| ProductStatus::parse(s).is_ok()));
        assert!(STATUS_ENTITLEMENT.iter().all(|s| EntitlementStatus::parse(s).is_some()));
        assert!(STATUS_ENTITLEMENT_SETTABLE.iter().all(|s| STATUS_ENTITLEMENT.contains(s)));
        for s in ["manual", "trial", "subscription", "one_time"] {
            let source = EntitlementSource::parse(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(source.granted_by_hand(), SOURCE_BY_HAND.contains(&s), "{s}");
        }
    }

    #[test]
    fn dangling_references_are_found() {
        let doc = serde_json::json!({
            "paths": { "/x": { "get": { "responses": { "200": { "$ref": "#/components/schemas/Gone" } } } } },
            "components": { "schemas": { "Here": { "$ref": "#/components/schemas/Here" } } }
        });
        assert_eq!(dangling_refs(&doc), vec!["#/components/schemas/Gone".to_owned()]);
    }
}
