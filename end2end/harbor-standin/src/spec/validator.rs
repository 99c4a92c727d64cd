//! Checks values against the subset of Swagger 2.0 that Harbor's spec uses:
//! `$ref` to `#/definitions/…` (and `#/parameters/…`, `#/responses/…`),
//! `type` object / array / string / integer / number / boolean, `format`
//! int32 / int64 / uint64 / date-time, `properties`, `required`, `items`,
//! `enum`, `x-nullable`, `additionalProperties`, `maxLength` / `minLength`,
//! `maximum` / `minimum`.
//!
//! Every finding is an [`Issue`]. Its [`Severity`] says what Harbor does with
//! such a request: go-swagger's request binding refuses a value of the wrong
//! type, a missing required value, a value outside an enum or a limit (422);
//! it lets an unknown property, an unknown query parameter or a `null`
//! through (Go's JSON decoding ignores or zeroes them). The stand-in records
//! both kinds as violations: the portal must send neither.

use std::fmt;

use serde_json::Value;

use super::{Operation, Spec};

/// What Harbor does with a request that has this issue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// Harbor refuses the request (go-swagger's binding: 422, or 415).
    Reject,
    /// Harbor lets it through (ignores or zeroes the value).
    Ignored,
}

/// One way a value differs from the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Where: `query`, `path`, `body`, `content-type`, `response body (200)`...
    pub place: String,
    /// The value's path inside the place (`permissions.0.kind`), or the
    /// parameter's name; empty for the whole body.
    pub at: String,
    pub message: String,
    pub severity: Severity,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.at.is_empty() { "body" } else { &self.at };
        write!(f, "{name} in {} {}", self.place, self.message)
    }
}

struct Sink<'a> {
    place: &'a str,
    issues: &'a mut Vec<Issue>,
}

impl Sink<'_> {
    fn push(&mut self, at: &str, severity: Severity, message: String) {
        self.issues.push(Issue {
            place: self.place.to_string(),
            at: at.to_string(),
            message,
            severity,
        });
    }
    fn reject(&mut self, at: &str, message: String) {
        self.push(at, Severity::Reject, message);
    }
    fn ignored(&mut self, at: &str, message: String) {
        self.push(at, Severity::Ignored, message);
    }
}

/// Checks `value` against `schema`; findings go to `issues`, named by
/// `place` (`body`, `response body (200)`...).
pub fn validate(spec: &Spec, schema: &Value, value: &Value, place: &str, issues: &mut Vec<Issue>) {
    let mut sink = Sink { place, issues };
    check(spec, schema, value, "", &mut sink, 0);
}

fn nullable(schema: &Value) -> bool {
    ["x-nullable", "x-isnullable"]
        .iter()
        .any(|k| schema.get(*k).and_then(Value::as_bool) == Some(true))
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn check(spec: &Spec, raw: &Value, value: &Value, at: &str, sink: &mut Sink<'_>, depth: usize) {
    if depth > 64 {
        return;
    }
    let schema = spec.resolve(raw);
    if value.is_null() {
        if !(nullable(raw) || nullable(schema)) {
            sink.ignored(
                at,
                "is null, which the spec does not allow (no x-nullable)".into(),
            );
        }
        return;
    }
    if let Some(options) = schema.get("enum").and_then(Value::as_array) {
        if !options.contains(value) {
            sink.reject(
                at,
                format!("should be one of {}", Value::Array(options.clone())),
            );
        }
    }
    let ty = schema
        .get("type")
        .and_then(Value::as_str)
        .or_else(|| schema.get("properties").map(|_| "object"));
    let format = schema.get("format").and_then(Value::as_str);
    let expected = |what: &str| format!("must be of type {what}, got {}", kind(value));
    match ty {
        Some("object") => {
            let Some(map) = value.as_object() else {
                sink.reject(at, expected("object"));
                return;
            };
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for name in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(name) {
                        sink.reject(&join(at, name), "is required".into());
                    }
                }
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (key, child) in map {
                let child_at = join(at, key);
                if let Some(property) = properties.and_then(|p| p.get(key)) {
                    check(spec, property, child, &child_at, sink, depth + 1);
                    continue;
                }
                match schema.get("additionalProperties") {
                    Some(Value::Bool(true)) => {}
                    Some(Value::Bool(false)) => {
                        sink.ignored(&child_at, "is not a property the spec defines".into())
                    }
                    Some(extra) => check(spec, extra, child, &child_at, sink, depth + 1),
                    None if properties.is_some() => {
                        sink.ignored(&child_at, "is not a property the spec defines".into())
                    }
                    None => {}
                }
            }
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                sink.reject(at, expected("array"));
                return;
            };
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(
                        spec,
                        item_schema,
                        item,
                        &join(at, &i.to_string()),
                        sink,
                        depth + 1,
                    );
                }
            }
        }
        Some("string") => {
            let Some(s) = value.as_str() else {
                sink.reject(at, expected(format.unwrap_or("string")));
                return;
            };
            if format == Some("date-time") && chrono::DateTime::parse_from_rfc3339(s).is_err() {
                sink.reject(at, format!("must be of type date-time: {s:?}"));
            }
            check_length(schema, s, at, sink);
        }
        Some("integer") => {
            let as_int = value
                .as_i64()
                .map(i128::from)
                .or_else(|| value.as_u64().map(i128::from));
            let Some(n) = as_int else {
                sink.reject(at, expected(format.unwrap_or("integer")));
                return;
            };
            if let Some((low, high)) = format.and_then(int_range) {
                if n < low || n > high {
                    sink.reject(
                        at,
                        format!("is out of range for {}: {n}", format.unwrap_or("")),
                    );
                }
            }
            check_limits(schema, n as f64, at, sink);
        }
        Some("number") => match value.as_f64() {
            Some(n) => check_limits(schema, n, at, sink),
            None => sink.reject(at, expected("number")),
        },
        Some("boolean") if !value.is_boolean() => sink.reject(at, expected("boolean")),
        _ => {}
    }
}

fn int_range(format: &str) -> Option<(i128, i128)> {
    Some(match format {
        "int8" => (i8::MIN.into(), i8::MAX.into()),
        "int32" => (i32::MIN.into(), i32::MAX.into()),
        "int64" => (i64::MIN.into(), i64::MAX.into()),
        "uint32" => (0, u32::MAX.into()),
        "uint64" => (0, u64::MAX.into()),
        _ => return None,
    })
}

fn check_length(schema: &Value, s: &str, at: &str, sink: &mut Sink<'_>) {
    let len = s.chars().count() as u64;
    if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
        if len > max {
            sink.reject(at, format!("should be at most {max} chars long"));
        }
    }
    if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
        if len < min {
            sink.reject(at, format!("should be at least {min} chars long"));
        }
    }
}

fn check_limits(schema: &Value, n: f64, at: &str, sink: &mut Sink<'_>) {
    if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
        let exclusive = schema.get("exclusiveMaximum").and_then(Value::as_bool) == Some(true);
        if n > max || (exclusive && n >= max) {
            sink.reject(at, format!("should be less than or equal to {max}"));
        }
    }
    if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
        let exclusive = schema.get("exclusiveMinimum").and_then(Value::as_bool) == Some(true);
        if n < min || (exclusive && n <= min) {
            sink.reject(at, format!("should be greater than or equal to {min}"));
        }
    }
}

/// Checks the query string's parameters (already form-decoded) against the
/// operation's `in: query` parameters: unknown names, types, limits, enums,
/// required ones.
pub fn check_query(op: &Operation, pairs: &[(String, String)], issues: &mut Vec<Issue>) {
    let mut sink = Sink {
        place: "query",
        issues,
    };
    let declared: Vec<&Value> = op.parameters_in("query").collect();
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in pairs {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        if !declared.iter().any(|p| p["name"] == name.as_str()) {
            sink.ignored(
                name,
                format!("is not a parameter of {} (unknown query parameter)", op.id),
            );
        }
    }
    for param in declared {
        let Some(name) = param["name"].as_str() else {
            continue;
        };
        let raw = pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        check_simple(param, name, raw, &mut sink);
    }
}

/// Checks the path parameters against the operation's `in: path` ones.
pub fn check_path(op: &Operation, params: &[(String, String)], issues: &mut Vec<Issue>) {
    let mut sink = Sink {
        place: "path",
        issues,
    };
    for param in op.parameters_in("path") {
        let Some(name) = param["name"].as_str() else {
            continue;
        };
        let raw = params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        check_simple(param, name, raw, &mut sink);
    }
}

/// go-swagger's `swag.ConvertBool`.
pub fn parse_bool(raw: &str) -> Option<bool> {
    match raw.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "ok" | "y" | "on" | "selected" | "checked" | "t" | "enabled" => {
            Some(true)
        }
        "false" | "0" | "no" | "n" | "off" | "f" | "disabled" | "" => Some(false),
        _ => None,
    }
}

fn check_simple(param: &Value, name: &str, raw: Option<&str>, sink: &mut Sink<'_>) {
    let required = param.get("required").and_then(Value::as_bool) == Some(true);
    let raw = match raw {
        Some(raw) if !raw.is_empty() => raw,
        _ => {
            if required {
                sink.reject(name, "is required".into());
            }
            return;
        }
    };
    let format = param.get("format").and_then(Value::as_str);
    match param.get("type").and_then(Value::as_str) {
        Some("integer") => {
            let (low, high) = format
                .and_then(int_range)
                .unwrap_or((i64::MIN.into(), i64::MAX.into()));
            match raw.parse::<i128>() {
                Ok(n) if n >= low && n <= high => check_limits(param, n as f64, name, sink),
                _ => sink.reject(
                    name,
                    format!("must be of type {}: {raw:?}", format.unwrap_or("integer")),
                ),
            }
        }
        Some("number") => match raw.parse::<f64>() {
            Ok(n) => check_limits(param, n, name, sink),
            Err(_) => sink.reject(name, format!("must be of type number: {raw:?}")),
        },
        Some("boolean") => {
            if parse_bool(raw).is_none() {
                sink.reject(name, format!("must be of type bool: {raw:?}"));
            }
        }
        _ => {
            check_length(param, raw, name, sink);
            if let Some(options) = param.get("enum").and_then(Value::as_array) {
                if !options.iter().any(|o| o.as_str() == Some(raw)) {
                    sink.reject(
                        name,
                        format!("should be one of {}", Value::Array(options.clone())),
                    );
                }
            }
        }
    }
}

/// The result of checking a request body.
pub struct BodyCheck {
    /// The parsed body (`Null` when absent or unreadable).
    pub value: Value,
    /// The media type is not one the operation consumes (go-swagger: 415).
    pub unsupported_media_type: Option<String>,
}

/// Checks a request body: presence, media type, JSON syntax, then the body
/// parameter's schema.
pub fn check_body(
    spec: &Spec,
    op: &Operation,
    content_type: Option<&str>,
    bytes: &[u8],
    issues: &mut Vec<Issue>,
) -> BodyCheck {
    let mut result = BodyCheck {
        value: Value::Null,
        unsupported_media_type: None,
    };
    let empty = bytes.iter().all(u8::is_ascii_whitespace);
    let Some(param) = op.body_parameter() else {
        if !empty {
            issues.push(Issue {
                place: "body".into(),
                at: String::new(),
                message: format!("is sent, but {} takes no body", op.id),
                severity: Severity::Ignored,
            });
        }
        return result;
    };
    let name = param["name"].as_str().unwrap_or("body");
    let required = param.get("required").and_then(Value::as_bool) == Some(true);
    if empty {
        if required {
            issues.push(Issue {
                place: "body".into(),
                at: name.into(),
                message: "is required".into(),
                severity: Severity::Reject,
            });
        }
        return result;
    }
    let media = content_type
        .unwrap_or("application/octet-stream")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !op.consumes.iter().any(|c| c.eq_ignore_ascii_case(&media)) {
        issues.push(Issue {
            place: "content-type".into(),
            at: String::new(),
            message: format!(
                "unsupported media type {media:?}, only {:?} are allowed",
                op.consumes
            ),
            severity: Severity::Reject,
        });
        result.unsupported_media_type = Some(media);
        return result;
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(value) => {
            if let Some(schema) = param.get("schema") {
                validate(spec, schema, &value, "body", issues);
            }
            result.value = value;
        }
        Err(err) => issues.push(Issue {
            place: "body".into(),
            at: name.into(),
            message: format!("could not be parsed: {err}"),
            severity: Severity::Reject,
        }),
    }
    result
}

/// Checks one response the stand-in sends: the status must be declared (an
/// undeclared error status must carry Harbor's `Errors`), the body must match
/// the declared schema, and no body may come where none is declared.
pub fn check_response(
    spec: &Spec,
    op: &Operation,
    status: u16,
    content_type: Option<&str>,
    body: &[u8],
) -> Vec<Issue> {
    let place = format!("response body ({status})");
    let mut issues = Vec::new();
    let issue = |message: String| Issue {
        place: place.clone(),
        at: String::new(),
        message,
        severity: Severity::Reject,
    };
    let declared = op
        .responses
        .get(&status.to_string())
        .or_else(|| op.responses.get("default"));
    let schema = match declared {
        Some(response) => response.get("schema"),
        None if status >= 400 => spec.definition("Errors"),
        None => {
            issues.push(issue(format!(
                "status {status} is not declared for {}",
                op.id
            )));
            return issues;
        }
    };
    let Some(schema) = schema else {
        if !body.is_empty() {
            issues.push(issue(format!(
                "has {} bytes where the spec declares no body",
                body.len()
            )));
        }
        return issues;
    };
    if body.is_empty() {
        if op.method != "HEAD" {
            issues.push(issue("is empty where the spec declares a body".into()));
        }
        return issues;
    }
    let is_json = content_type.is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    if !is_json {
        let text_ok = spec.resolve(schema).get("type").and_then(Value::as_str) == Some("string");
        if !text_ok {
            issues.push(issue(format!("is {content_type:?}, not JSON")));
        }
        return issues;
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(value) => validate(spec, schema, &value, &place, &mut issues),
        Err(err) => issues.push(issue(format!("is not JSON: {err}"))),
    }
    // In a response everything counts.
    for i in &mut issues {
        i.severity = Severity::Reject;
    }
    issues
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn check_def(name: &str, value: Value) -> Vec<Issue> {
        let spec = Spec::get();
        let mut issues = Vec::new();
        validate(
            spec,
            &json!({ "$ref": format!("#/definitions/{name}") }),
            &value,
            "body",
            &mut issues,
        );
        issues
    }

    #[test]
    fn a_valid_robot_create_passes() {
        let issues = check_def(
            "RobotCreate",
            json!({
                "name": "portal-1", "description": "x", "level": "system", "disable": false,
                "duration": -1, "secret": "Secret123",
                "permissions": [{"kind": "project", "namespace": "proj",
                                  "access": [{"resource": "repository", "action": "pull"}]}]
            }),
        );
        assert_eq!(issues, vec![]);
    }

    #[test]
    fn catches_a_wrong_type_deep_inside() {
        let issues = check_def(
            "RobotCreate",
            json!({"name": "a", "duration": "30",
                   "permissions": [{"kind": "project", "access": [{"action": 1}]}]}),
        );
        assert_eq!(issues.len(), 2, "{issues:?}");
        assert!(issues.iter().all(|i| i.severity == Severity::Reject));
        assert_eq!(issues[0].at, "duration");
        assert_eq!(issues[1].at, "permissions.0.access.0.action");
        assert_eq!(
            issues[0].to_string(),
            "duration in body must be of type int64, got string"
        );
    }

    #[test]
    fn catches_a_missing_required_property() {
        // ProjectScanner requires `uuid`.
        let issues = check_def("ProjectScanner", json!({}));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].at, "uuid");
        assert_eq!(issues[0].message, "is required");
        assert_eq!(issues[0].severity, Severity::Reject);
    }

    #[test]
    fn catches_an_unknown_property_and_a_null() {
        let issues = check_def("RobotSec", json!({"secret": "Abcdefg1", "expires_at": 5}));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].at, "expires_at");
        assert_eq!(issues[0].severity, Severity::Ignored);
        let issues = check_def("RobotSec", json!({"secret": null}));
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].severity, Severity::Ignored);
        // Robot.duration is x-nullable.
        assert_eq!(check_def("Robot", json!({"duration": null})), vec![]);
    }

    #[test]
    fn checks_formats_enums_and_additional_properties() {
        let issues = check_def("Robot", json!({"creation_time": "yesterday", "id": 1.5}));
        assert_eq!(issues.len(), 2, "{issues:?}");
        let issues = check_def(
            "Project",
            json!({"project_id": 3_000_000_000_i64, "metadata": {"public": "true"}}),
        );
        assert_eq!(issues.len(), 1, "{issues:?}");
        assert_eq!(issues[0].at, "project_id");
        let spec = Spec::get();
        let mut issues = Vec::new();
        let schema = json!({"type": "object", "additionalProperties": {"type": "string"}});
        validate(
            spec,
            &schema,
            &json!({"a": "x", "b": 2}),
            "body",
            &mut issues,
        );
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].at, "b");
        let mut issues = Vec::new();
        let schema = json!({"type": "string", "enum": ["a", "b"]});
        validate(spec, &schema, &json!("c"), "body", &mut issues);
        assert_eq!(issues.len(), 1);
    }

    #[test]
    fn checks_query_parameters() {
        let spec = Spec::get();
        let op = spec.operation("ListRobot").expect("ListRobot");
        let pairs = |p: &[(&str, &str)]| -> Vec<(String, String)> {
            p.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut issues = Vec::new();
        check_query(
            op,
            &pairs(&[("q", "name=x"), ("page", "2"), ("page_size", "100")]),
            &mut issues,
        );
        assert_eq!(issues, vec![]);
        check_query(
            op,
            &pairs(&[("page", "two"), ("page_size", "101"), ("limit", "5")]),
            &mut issues,
        );
        assert_eq!(issues.len(), 3, "{issues:?}");
        assert_eq!(issues[0].at, "limit");
        assert_eq!(issues[0].severity, Severity::Ignored);
        assert_eq!(
            issues[1].to_string(),
            "page in query must be of type int64: \"two\""
        );
        assert_eq!(
            issues[2].to_string(),
            "page_size in query should be less than or equal to 100"
        );
        let head = spec.operation("headProject").expect("headProject");
        let mut issues = Vec::new();
        check_query(head, &[], &mut issues);
        assert_eq!(issues.len(), 1);
        assert_eq!(issues[0].to_string(), "project_name in query is required");
    }

    #[test]
    fn checks_responses() {
        let spec = Spec::get();
        let op = spec.operation("GetRobotByID").expect("GetRobotByID");
        let ok = br#"{"id": 1, "name": "robot$a", "editable": true, "disable": false}"#;
        assert_eq!(
            check_response(spec, op, 200, Some("application/json"), ok),
            vec![]
        );
        let bad = br#"{"id": "1", "colour": "red"}"#;
        assert_eq!(
            check_response(spec, op, 200, Some("application/json"), bad).len(),
            2
        );
        // An undeclared error status must carry Errors; an undeclared success is a finding.
        let errors = br#"{"errors": [{"code": "CONFLICT", "message": "x"}]}"#;
        assert_eq!(
            check_response(spec, op, 409, Some("application/json"), errors),
            vec![]
        );
        assert_eq!(
            check_response(spec, op, 201, Some("application/json"), ok).len(),
            1
        );
        let delete = spec.operation("DeleteRobot").expect("DeleteRobot");
        assert_eq!(check_response(spec, delete, 200, None, b""), vec![]);
        assert_eq!(
            check_response(spec, delete, 200, Some("application/json"), b"{}").len(),
            1
        );
    }
}
