//! Harbor's published API (`spec/harbor-v2.0-swagger.yaml`, Swagger 2.0,
//! basePath `/api/v2.0`), read once per process: the operations by method
//! and path template, and the checks of requests and responses against them
//! ([`validator`]).

pub mod validator;

use std::sync::OnceLock;

use serde_json::{Map, Value};

/// The spec's text, as published by Harbor (copied from `shared/specs`).
pub const SPEC_YAML: &str = include_str!("../../spec/harbor-v2.0-swagger.yaml");

/// A parsed spec and its operations.
pub struct Spec {
    doc: Value,
    base_path: String,
    operations: Vec<Operation>,
}

/// One operation (method on a path template) with its parameters resolved.
pub struct Operation {
    /// Upper case: `GET`, `POST`...
    pub method: String,
    /// The path template under basePath, e.g. `/robots/{robot_id}`.
    pub template: String,
    pub id: String,
    segments: Vec<Segment>,
    /// Every declared parameter (path-level ones included), `$ref`s resolved.
    pub parameters: Vec<Value>,
    /// The operation's responses, keyed by status (`"200"`) or `default`.
    pub responses: Map<String, Value>,
    /// Media types the operation consumes.
    pub consumes: Vec<String>,
    /// Media types the operation produces.
    pub produces: Vec<String>,
}

enum Segment {
    Literal(String),
    Param(String),
}

/// What a method and path lead to.
pub enum Route<'a> {
    Found {
        operation: &'a Operation,
        /// The path parameters, percent-decoded.
        params: Vec<(String, String)>,
    },
    /// The path exists with other methods (go-swagger answers 405).
    MethodNotAllowed(Vec<String>),
    /// No such path under basePath (go-swagger answers 404).
    NotFound,
}

const METHODS: [&str; 7] = ["get", "put", "post", "delete", "options", "head", "patch"];

impl Spec {
    /// The spec, parsed on first use.
    pub fn get() -> &'static Spec {
        static SPEC: OnceLock<Spec> = OnceLock::new();
        SPEC.get_or_init(|| {
            Spec::parse(SPEC_YAML).unwrap_or_else(|err| panic!("harbor-standin: bad spec: {err}"))
        })
    }

    /// Parses a Swagger 2.0 document (YAML or JSON).
    pub fn parse(text: &str) -> Result<Spec, String> {
        let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
        let doc = yaml_to_json(yaml)?;
        let base_path = doc
            .get("basePath")
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim_end_matches('/')
            .to_string();
        let global_consumes = strings(doc.get("consumes"));
        let global_produces = strings(doc.get("produces"));
        let mut spec = Spec {
            doc,
            base_path,
            operations: Vec::new(),
        };
        let mut operations = Vec::new();
        if let Some(paths) = spec.doc.get("paths").and_then(Value::as_object) {
            for (template, item) in paths {
                let shared: Vec<Value> = item
                    .get("parameters")
                    .and_then(Value::as_array)
                    .map(|ps| ps.iter().map(|p| spec.resolve(p).clone()).collect())
                    .unwrap_or_default();
                for method in METHODS {
                    let Some(op) = item.get(method) else { continue };
                    let mut parameters = shared.clone();
                    if let Some(ps) = op.get("parameters").and_then(Value::as_array) {
                        for p in ps {
                            let p = spec.resolve(p).clone();
                            // An operation's parameter overrides the path's of the same name and place.
                            parameters.retain(|q| !(q["name"] == p["name"] && q["in"] == p["in"]));
                            parameters.push(p);
                        }
                    }
                    let responses = op
                        .get("responses")
                        .and_then(Value::as_object)
                        .map(|rs| {
                            rs.iter()
                                .map(|(k, v)| (k.clone(), spec.resolve(v).clone()))
                                .collect()
                        })
                        .unwrap_or_default();
                    let consumes = op
                        .get("consumes")
                        .map(|c| strings(Some(c)))
                        .unwrap_or_else(|| global_consumes.clone());
                    let produces = op
                        .get("produces")
                        .map(|c| strings(Some(c)))
                        .unwrap_or_else(|| global_produces.clone());
                    operations.push(Operation {
                        method: method.to_uppercase(),
                        template: template.clone(),
                        id: op
                            .get("operationId")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        segments: segments(template),
                        parameters,
                        responses,
                        consumes,
                        produces,
                    });
                }
            }
        }
        spec.operations = operations;
        Ok(spec)
    }

    /// `/api/v2.0`.
    pub fn base_path(&self) -> &str {
        &self.base_path
    }

    /// Every operation.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    /// The operation with this id.
    pub fn operation(&self, id: &str) -> Option<&Operation> {
        self.operations.iter().find(|op| op.id == id)
    }

    /// `#/definitions/NAME`.
    pub fn definition(&self, name: &str) -> Option<&Value> {
        self.doc.get("definitions").and_then(|d| d.get(name))
    }

    /// Follows `$ref`s (`#/definitions/…`, `#/parameters/…`, `#/responses/…`)
    /// to the value they name; a dangling reference resolves to itself.
    pub fn resolve<'a>(&'a self, mut value: &'a Value) -> &'a Value {
        for _ in 0..32 {
            let Some(reference) = value.get("$ref").and_then(Value::as_str) else {
                return value;
            };
            match self.pointer(reference) {
                Some(target) => value = target,
                None => return value,
            }
        }
        value
    }

    fn pointer(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.doc.pointer(pointer)
    }

    /// Routes a request path (with basePath) and method as go-swagger does:
    /// literal segments win over parameters.
    pub fn route(&self, method: &str, path: &str) -> Route<'_> {
        let Some(rest) = path.strip_prefix(self.base_path.as_str()) else {
            return Route::NotFound;
        };
        let parts: Vec<&str> = rest.split('/').skip(1).collect();
        let candidates: Vec<Candidate<'_>> = self
            .operations
            .iter()
            .filter_map(|operation| {
                let (score, params) = operation.matches(&parts)?;
                Some(Candidate {
                    score,
                    operation,
                    params,
                })
            })
            .collect();
        // Only the best-matching template counts (for 405 too).
        let Some(top) = candidates.iter().map(|c| c.score).max() else {
            return Route::NotFound;
        };
        let mut allowed = Vec::new();
        let mut found = None;
        for candidate in candidates.into_iter().filter(|c| c.score == top) {
            allowed.push(candidate.operation.method.clone());
            if candidate.operation.method.eq_ignore_ascii_case(method) {
                found = Some(candidate);
            }
        }
        match found {
            Some(Candidate {
                operation, params, ..
            }) => Route::Found { operation, params },
            None => Route::MethodNotAllowed(allowed),
        }
    }
}

/// An operation whose template matches a path, and how well (literal segments).
struct Candidate<'a> {
    score: usize,
    operation: &'a Operation,
    params: Vec<(String, String)>,
}

impl Operation {
    fn matches(&self, parts: &[&str]) -> Option<(usize, Vec<(String, String)>)> {
        if parts.len() != self.segments.len() {
            return None;
        }
        let mut score = 0;
        let mut params = Vec::new();
        for (segment, part) in self.segments.iter().zip(parts) {
            match segment {
                Segment::Literal(lit) if lit == part => score += 1,
                Segment::Literal(_) => return None,
                Segment::Param(_) if part.is_empty() => return None,
                Segment::Param(name) => params.push((name.clone(), percent_decode(part))),
            }
        }
        Some((score, params))
    }

    /// Declared parameters of one place (`query`, `path`, `header`, `body`).
    pub fn parameters_in<'a>(&'a self, place: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.parameters
            .iter()
            .filter(move |p| p.get("in").and_then(Value::as_str) == Some(place))
    }

    /// The body parameter, if the operation takes one.
    pub fn body_parameter(&self) -> Option<&Value> {
        self.parameters_in("body").next()
    }
}

fn segments(template: &str) -> Vec<Segment> {
    template
        .split('/')
        .skip(1)
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => Segment::Param(name.to_string()),
                None => Segment::Literal(s.to_string()),
            },
        )
        .collect()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `%XX` decoding of one path segment (invalid escapes stay as they are).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = s
                .get(i + 1..i + 3)
                .filter(|hex| hex.bytes().all(|b| b.is_ascii_hexdigit()))
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
            {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// YAML → JSON, keys of any scalar type turned into strings (`200:` → `"200"`).
fn yaml_to_json(value: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                n.as_f64()
                    .and_then(serde_json::Number::from_f64)
                    .map(Value::Number)
                    .unwrap_or(Value::Null)
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    other => return Err(format!("unsupported mapping key {other:?}")),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_and_routes_the_robot_operations() {
        let spec = Spec::get();
        assert_eq!(spec.base_path(), "/api/v2.0");
        for (method, path, id) in [
            ("GET", "/api/v2.0/robots", "ListRobot"),
            ("POST", "/api/v2.0/robots", "CreateRobot"),
            ("GET", "/api/v2.0/robots/12", "GetRobotByID"),
            ("PUT", "/api/v2.0/robots/12", "UpdateRobot"),
            ("PATCH", "/api/v2.0/robots/12", "RefreshSec"),
            ("DELETE", "/api/v2.0/robots/12", "DeleteRobot"),
            ("HEAD", "/api/v2.0/projects", "headProject"),
            (
                "GET",
                "/api/v2.0/projects/library/summary",
                "getProjectSummary",
            ),
        ] {
            match spec.route(method, path) {
                Route::Found { operation, .. } => assert_eq!(operation.id, id, "{method} {path}"),
                _ => panic!("{method} {path} not routed"),
            }
        }
        match spec.route("PATCH", "/api/v2.0/robots") {
            Route::MethodNotAllowed(allowed) => {
                assert!(allowed.contains(&"GET".to_string()));
                assert!(allowed.contains(&"POST".to_string()));
            }
            _ => panic!("PATCH /robots should be 405"),
        }
        assert!(matches!(
            spec.route("GET", "/api/v2.0/nope"),
            Route::NotFound
        ));
        assert!(matches!(spec.route("GET", "/v2/robots"), Route::NotFound));
    }

    #[test]
    fn decodes_path_segments() {
        assert_eq!(percent_decode("robot%24foo"), "robot$foo");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%zz"), "%zz");
    }
}
