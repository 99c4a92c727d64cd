//! Stripe's form encoding: `a[b][0][c]=v` bracket keys into nested JSON.
//!
//! Every leaf stays a string (Stripe's own parser also types fields per
//! endpoint). Objects whose keys are all decimal indices become arrays;
//! `key[]=v` appends.

use serde_json::{Map, Value};

/// Parses an `application/x-www-form-urlencoded` body (or a query string).
pub fn parse(body: &str) -> Result<Value, String> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(body).map_err(|e| format!("invalid form body: {e}"))?;
    let mut root = Value::Object(Map::new());
    for (key, value) in pairs {
        let path = split_key(&key)?;
        insert(&mut root, &path, value, &key)?;
    }
    Ok(arrays(root))
}

/// `a[b][c]` → `["a", "b", "c"]`; `a[]` → `["a", ""]`.
fn split_key(key: &str) -> Result<Vec<String>, String> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return Err(format!("invalid parameter name `{key}`"));
    }
    let mut out = vec![head.to_string()];
    while !rest.is_empty() {
        let Some(stripped) = rest.strip_prefix('[') else {
            return Err(format!("invalid parameter name `{key}`"));
        };
        let Some(end) = stripped.find(']') else {
            return Err(format!("invalid parameter name `{key}`"));
        };
        out.push(stripped[..end].to_string());
        rest = &stripped[end + 1..];
    }
    Ok(out)
}

fn insert(node: &mut Value, path: &[String], value: String, key: &str) -> Result<(), String> {
    let conflict = || format!("conflicting values for parameter `{key}`");
    let Some((first, rest)) = path.split_first() else {
        return Err(conflict());
    };
    let Value::Object(map) = node else {
        return Err(conflict());
    };
    // `key[]=v`: append under the next free index.
    let name = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        if map.get(&name).is_some_and(|v| !v.is_string()) {
            return Err(conflict());
        }
        // A repeated scalar: the last one wins.
        map.insert(name, Value::String(value));
        return Ok(());
    }
    let child = map.entry(name).or_insert_with(|| Value::Object(Map::new()));
    if !child.is_object() {
        return Err(conflict());
    }
    insert(child, rest, value, key)
}

/// Turns `{"0": a, "1": b}` into `[a, b]`, recursively.
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let numeric = !map.is_empty() && map.keys().all(|k| k.parse::<usize>().is_ok());
            if numeric {
                let mut items: Vec<(usize, Value)> = map
                    .into_iter()
                    .filter_map(|(k, v)| k.parse::<usize>().ok().map(|i| (i, arrays(v))))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// Typed reads from a parsed form, with Stripe-style error messages.
pub struct Params<'a>(pub &'a Value);

impl<'a> Params<'a> {
    pub fn get(&self, path: &str) -> Option<&'a Value> {
        let mut node = self.0;
        for part in path.split('.') {
            node = match node {
                Value::Object(map) => map.get(part)?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// A non-empty string value.
    pub fn str(&self, path: &str) -> Option<&'a str> {
        self.get(path)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    pub fn bool(&self, path: &str) -> Result<Option<bool>, String> {
        match self.str(path) {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(other) => Err(format!("Invalid boolean: {other}")),
        }
    }

    pub fn int(&self, path: &str) -> Result<Option<i64>, String> {
        match self.str(path) {
            None => Ok(None),
            Some(s) => s
                .parse::<i64>()
                .map(Some)
                .map_err(|_| format!("Invalid integer: {s}")),
        }
    }

    /// `metadata[...]` as a flat string map (empty values dropped, as Stripe
    /// does when it unsets a key).
    pub fn metadata(&self, path: &str) -> Map<String, Value> {
        match self.get(path) {
            Some(Value::Object(map)) => map
                .iter()
                .filter_map(|(k, v)| {
                    v.as_str()
                        .filter(|s| !s.is_empty())
                        .map(|s| (k.clone(), Value::from(s)))
                })
                .collect(),
            _ => Map::new(),
        }
    }

    /// Like [`Params::metadata`] but keeps empty values so updates can unset keys.
    pub fn metadata_update(&self, path: &str) -> Option<Vec<(String, String)>> {
        match self.get(path) {
            Some(Value::Object(map)) => Some(
                map.iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect(),
            ),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn brackets_nest_and_index() {
        let v = parse(
            "mode=payment&line_items%5B0%5D%5Bprice%5D=price_1&line_items[0][quantity]=1\
             &metadata[portcullis_user_id]=7&expand[]=a&expand[]=b&name=A+B%26C",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({
                "mode": "payment",
                "line_items": [{"price": "price_1", "quantity": "1"}],
                "metadata": {"portcullis_user_id": "7"},
                "expand": ["a", "b"],
                "name": "A B&C",
            })
        );
        let p = Params(&v);
        assert_eq!(p.str("line_items.0.price"), Some("price_1"));
        assert_eq!(p.int("line_items.0.quantity").unwrap(), Some(1));
    }

    #[test]
    fn bad_keys_are_errors() {
        assert!(parse("a[b=1").is_err());
        assert!(parse("a=1&a[b]=2").is_err());
        assert!(parse("[x]=1").is_err());
    }
}
