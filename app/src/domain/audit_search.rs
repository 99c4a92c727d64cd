//! The audit log's text search rule, one definition for both databases and
//! for the tests' reference scan: an event matches `q` when the event's
//! *search text* contains the lowercased `q` as a substring.
//!
//! The search text is computed here, in Rust, once when the event is written
//! (and by the back-fill for events written before search existed), so
//! SQLite and PostgreSQL match exactly the same bytes instead of each
//! applying its own idea of case folding to JSON text.

use serde_json::Value;

/// The longest search text kept per event, in bytes (cut on a character
/// boundary): enough for every field an event normally has, while a huge
/// details blob cannot bloat the index.
pub const SEARCH_TEXT_MAX_BYTES: usize = 4096;

/// An event's searchable fields, as written.
#[derive(Clone, Copy, Debug)]
pub struct Searchable<'a> {
    pub actor: &'a str,
    pub target_id: Option<&'a str>,
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub details: &'a Value,
}

/// The search text: the Unicode lowercase (`str::to_lowercase`) of the actor
/// label, the target id, the IP, the user agent, and every string and number
/// value in the details (recursively; an object's values in the order of
/// their keys, arrays in order; keys, booleans and nulls left out), joined
/// with `'\n'` and capped at
/// [`SEARCH_TEXT_MAX_BYTES`]. A query cannot contain a line break (the
/// filter refuses control characters), so a match never spans two values.
pub fn search_text(e: Searchable<'_>) -> String {
    let mut parts: Vec<String> = Vec::new();
    parts.extend([Some(e.actor), e.target_id, e.ip, e.user_agent].into_iter().flatten().map(str::to_owned));
    values(e.details, &mut parts);
    let mut text = String::new();
    for p in parts {
        if text.len() >= SEARCH_TEXT_MAX_BYTES {
            break;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        text.push_str(&p.to_lowercase());
    }
    cap(text)
}

/// `q` as it is matched: lowercased the same way as the search text.
pub fn search_query(q: &str) -> String {
    q.to_lowercase()
}

/// The reference rule (what the index must answer): does `text`, a search
/// text, match the query `q`?
pub fn matches(text: &str, q: &str) -> bool {
    text.contains(&search_query(q))
}

fn values(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Array(items) => items.iter().for_each(|i| values(i, out)),
        Value::Object(map) => {
            // By key: the same text whichever order the database hands the
            // keys back in (PostgreSQL's jsonb reorders them).
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            entries.into_iter().for_each(|(_, i)| values(i, out));
        }
        Value::Bool(_) | Value::Null => {}
    }
}

fn cap(mut text: String) -> String {
    if text.len() > SEARCH_TEXT_MAX_BYTES {
        let mut end = SEARCH_TEXT_MAX_BYTES;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn text(details: Value) -> String {
        search_text(Searchable { actor: "Ann@Example.com", target_id: Some("acme/Widget"), ip: None, user_agent: Some("Docker/27"), details: &details })
    }

    #[test]
    fn fields_and_values_are_lowercased_keys_left_out() {
        let t = text(json!({ "Reason": "Bad PASSWORD", "n": 42, "ok": true, "tags": ["ÉCOLE", { "Deep": "Müller" }], "none": null }));
        assert_eq!(t, "ann@example.com\nacme/widget\ndocker/27\nbad password\n42\nécole\nmüller");
        assert!(!t.contains("reason") && !t.contains("true") && !t.contains("null"));
        assert!(matches(&t, "MÜLLER") && matches(&t, "cme/wid") && !matches(&t, "Reason"));
    }

    #[test]
    fn the_text_is_capped_on_a_character_boundary() {
        let t = text(json!({ "big": "日".repeat(3000) }));
        assert!(t.len() <= SEARCH_TEXT_MAX_BYTES && t.len() > SEARCH_TEXT_MAX_BYTES - 3);
        assert!(t.ends_with('日'));
    }
}
