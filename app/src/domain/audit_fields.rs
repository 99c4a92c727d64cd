//! What the audit log stores of a field, whoever wrote it: every text is
//! cut to a documented length (in characters, on a character boundary, with
//! `…` marking the cut) and cleaned of control characters (each becomes
//! U+FFFD, so NUL, which PostgreSQL refuses in text and JSON, never reaches
//! the database, and no escape sequence reaches a terminal reading an
//! export). The details JSON is bounded in depth, items, key and string
//! length, and in total size. `backend::db::audit` applies this to every
//! row it inserts, so one hostile request can neither break a batch nor
//! write more than [`DETAILS_MAX_BYTES`] plus the bounded columns.

use serde_json::{Map, Value};
use std::borrow::Cow;

/// `actor`: an e-mail address (254), an API key's name or a claimed name.
pub const ACTOR_MAX: usize = 320;
/// `target_id`: a repository name (Distribution allows 255) or an id.
pub const TARGET_MAX: usize = 256;
/// `ip`: an address or a network (`…/64`).
pub const IP_MAX: usize = 64;
pub const USER_AGENT_MAX: usize = 256;
/// Any string inside `details`.
pub const DETAIL_STRING_MAX: usize = 512;
/// Object keys inside `details`.
pub const DETAIL_KEY_MAX: usize = 64;
/// Items kept of an array (or entries of an object) inside `details`; a
/// last `"… N more"` item says how many were left out.
pub const DETAIL_ITEMS_MAX: usize = 32;
/// Nesting kept inside `details`; deeper values become `"…"`.
pub const DETAIL_DEPTH_MAX: usize = 6;
/// The whole `details` JSON; a larger one is replaced by its first
/// characters under `"truncated"`.
pub const DETAILS_MAX_BYTES: usize = 8 * 1024;

/// Whether `c` is refused or replaced wherever this module applies: the
/// C0 and C1 controls and DEL (`char::is_control`).
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
}

/// `s` cut to `max` characters and cleaned of control characters; borrowed
/// when it is already clean.
pub fn clean_text(s: &str, max: usize) -> Cow<'_, str> {
    let mut chars = 0usize;
    let mut clean = true;
    for c in s.chars() {
        chars += 1;
        if is_unsafe(c) {
            clean = false;
        }
    }
    if clean && chars <= max {
        return Cow::Borrowed(s);
    }
    let cut = chars > max;
    let keep = if cut { max.saturating_sub(1) } else { chars };
    let mut out: String = s.chars().take(keep).map(|c| if is_unsafe(c) { '\u{FFFD}' } else { c }).collect();
    if cut {
        out.push('…');
    }
    Cow::Owned(out)
}

/// `details` as the audit log keeps it (see the module text).
pub fn clean_details(details: &Value) -> Cow<'_, Value> {
    if is_clean(details, 0) && within_size(details) {
        return Cow::Borrowed(details);
    }
    let cleaned = clean_value(details, 0);
    if within_size(&cleaned) {
        return Cow::Owned(cleaned);
    }
    let text = cleaned.to_string();
    let mut sample = Map::new();
    sample.insert("truncated".into(), Value::String(clean_text(&text, DETAIL_STRING_MAX).into_owned()));
    Cow::Owned(Value::Object(sample))
}

fn within_size(v: &Value) -> bool {
    // Serialising is bounded by the checks before it: depth, items and
    // string lengths are already limited when this runs on a cleaned value.
    serde_json::to_vec(v).map(|b| b.len() <= DETAILS_MAX_BYTES).unwrap_or(false)
}

fn is_clean(v: &Value, depth: usize) -> bool {
    let text_ok = |s: &str, max: usize| s.chars().count() <= max && !s.chars().any(is_unsafe);
    match v {
        Value::String(s) => text_ok(s, DETAIL_STRING_MAX),
        Value::Array(a) => depth < DETAIL_DEPTH_MAX && a.len() <= DETAIL_ITEMS_MAX && a.iter().all(|x| is_clean(x, depth + 1)),
        Value::Object(o) => {
            depth < DETAIL_DEPTH_MAX
                && o.len() <= DETAIL_ITEMS_MAX
                && o.iter().all(|(k, x)| text_ok(k, DETAIL_KEY_MAX) && is_clean(x, depth + 1))
        }
        _ => true,
    }
}

fn more(n: usize) -> Value {
    Value::String(format!("… {n} more"))
}

fn clean_value(v: &Value, depth: usize) -> Value {
    match v {
        Value::String(s) => Value::String(clean_text(s, DETAIL_STRING_MAX).into_owned()),
        Value::Array(_) | Value::Object(_) if depth >= DETAIL_DEPTH_MAX => Value::String("…".into()),
        Value::Array(a) => {
            let mut out: Vec<Value> = a.iter().take(DETAIL_ITEMS_MAX).map(|x| clean_value(x, depth + 1)).collect();
            if a.len() > DETAIL_ITEMS_MAX {
                out.push(more(a.len() - DETAIL_ITEMS_MAX));
            }
            Value::Array(out)
        }
        Value::Object(o) => {
            let mut out = Map::new();
            for (k, x) in o.iter().take(DETAIL_ITEMS_MAX) {
                out.insert(clean_text(k, DETAIL_KEY_MAX).into_owned(), clean_value(x, depth + 1));
            }
            if o.len() > DETAIL_ITEMS_MAX {
                out.insert("…".into(), more(o.len() - DETAIL_ITEMS_MAX));
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// What the audit page's action picker offers: each area's prefix and the
/// actions people look for most (any other action may still be typed).
pub const ACTION_CHOICES: &[&str] = &[
    "registry.*", "registry.token", "gateway.*", "gateway.pull", "gateway.download", "auth.*", "auth.login", "authz.denied",
    "account.*", "entitlement.*", "entitlement.grant", "credential.*", "credential.create", "billing.*", "billing.order",
    "billing.webhook", "organisation.*", "request.*", "product.*", "price.*", "release.set", "apikey.*", "user.*",
    "customer.create", "harbor.*", "mail.resend", "audit.*",
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn clean_text_is_borrowed_when_clean() {
        assert!(matches!(clean_text("alice@example.com", ACTOR_MAX), Cow::Borrowed(_)));
    }

    #[test]
    fn control_characters_become_replacement_characters() {
        assert_eq!(clean_text("a\0b\x1b[31mc\u{85}", 100), "a\u{FFFD}b\u{FFFD}[31mc\u{FFFD}");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary_with_a_mark() {
        let long = "é".repeat(1000);
        let cut = clean_text(&long, 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn details_keep_their_shape_and_lose_what_is_hostile() {
        let scopes: Vec<String> = (0..10_000).map(|i| format!("repository:a{i}:pull")).collect();
        let d = json!({ "username": "x".repeat(200_000), "scope": "repository:a\u{0}b:pull", "scopes": scopes });
        let c = clean_details(&d);
        assert_eq!(c["username"].as_str().unwrap().chars().count(), DETAIL_STRING_MAX);
        assert_eq!(c["scope"], "repository:a\u{FFFD}b:pull");
        let kept = c["scopes"].as_array().unwrap();
        assert_eq!(kept.len(), DETAIL_ITEMS_MAX + 1);
        assert_eq!(kept.last().unwrap(), &json!(format!("… {} more", 10_000 - DETAIL_ITEMS_MAX)));
        assert!(serde_json::to_vec(&*c).unwrap().len() <= DETAILS_MAX_BYTES);
    }

    #[test]
    fn oversized_details_are_replaced_by_a_bounded_sample() {
        let wide: serde_json::Map<String, Value> =
            (0..DETAIL_ITEMS_MAX).map(|i| (format!("k{i}"), json!("y".repeat(DETAIL_STRING_MAX)))).collect();
        let wide = Value::Object(wide);
        let c = clean_details(&wide);
        assert!(serde_json::to_vec(&*c).unwrap().len() <= DETAILS_MAX_BYTES);
        assert!(c.get("truncated").is_some());
    }

    #[test]
    fn deep_nesting_is_cut() {
        let mut v = json!("leaf");
        for _ in 0..100 {
            v = json!([v]);
        }
        let c = clean_details(&v).into_owned();
        assert!(c.to_string().contains('…'));
        assert!(!c.to_string().contains("leaf"));
    }

    #[test]
    fn ordinary_details_are_borrowed() {
        let d = json!({ "reason": "bad_credentials", "scopes": ["repository:acme/widget:pull"] });
        assert!(matches!(clean_details(&d), Cow::Borrowed(_)));
    }
}
