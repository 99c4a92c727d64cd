//! Extractors that answer bad input with the API's JSON errors, naming the
//! field, instead of axum's plain-text rejections: `ApiJson` (body),
//! `ApiQuery` (query string) and `ApiPath` (path parameters).
//!
//! Request structs use `#[serde(deny_unknown_fields)]`, so a misspelt field
//! is refused rather than silently ignored (a client that thinks it set
//! `ends_at` but wrote `end_at` must hear about it).

use crate::routes::rest::error::ApiError;
use axum::{
    body::Bytes,
    extract::{rejection::PathRejection, FromRequest, FromRequestParts, Path, Request},
    http::{header, request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

/// The field an error names: serde's path to where it happened. For
/// "missing field `x`" the path points at the enclosing object, so the name
/// is appended; for unknown fields the path already ends with it.
fn field_of(path: &serde_path_to_error::Path, message: &str) -> Option<String> {
    let path = path.to_string();
    let parent = if path == "." || path == "?" { String::new() } else { path };
    let named = ["unknown field `", "missing field `", "duplicate field `"]
        .iter()
        .find_map(|p| message.split_once(p).and_then(|(_, rest)| rest.split_once('`')).map(|(name, _)| name.to_owned()));
    match named {
        None if parent.is_empty() => None,
        None => Some(parent),
        Some(name) if parent.is_empty() => Some(name),
        Some(name) if parent == name || parent.ends_with(&format!(".{name}")) => Some(parent),
        Some(name) => Some(format!("{parent}.{name}")),
    }
}

/// serde_json appends " at line 1 column 20"; the field name says more.
fn without_position(message: &str) -> &str {
    message.rsplit_once(" at line ").map_or(message, |(m, _)| m)
}

/// Parses `bytes` as JSON into `T`: malformed JSON is 400 `bad_request`;
/// well-formed JSON of the wrong shape (types, unknown or missing fields)
/// is 422 `validation_failed` naming the field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let inner = e.inner();
        let message = without_position(&inner.to_string()).to_owned();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = field_of(e.path(), &message);
                let message = match &field {
                    Some(f) => format!("{f}: {message}"),
                    None => message,
                };
                ApiError::Invalid { field, message }
            }
            _ => ApiError::bad_request(None, format!("the body is not valid JSON: {message}")),
        }
    })?;
    de.end().map_err(|e| ApiError::bad_request(None, format!("the body is not valid JSON: {e}")))?;
    Ok(value)
}

/// A JSON request body; see the module docs.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| m.trim().to_ascii_lowercase())
            .is_some_and(|m| m == "application/json" || (m.starts_with("application/") && m.ends_with("+json")));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::bad_request(None, format!("cannot read the body: {}", r.body_text()))
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Query parameters; wrong types, unknown and repeated parameters are 400
/// `bad_request` naming the parameter.
pub struct ApiQuery<T>(pub T);

pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(de).map_err(|e| {
        let message = e.inner().to_string();
        let field = field_of(e.path(), &message);
        let message = match &field {
            Some(f) => format!("query parameter {f}: {message}"),
            None => format!("query string: {message}"),
        };
        ApiError::bad_request(field, message)
    })
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or_default()).map(ApiQuery)
    }
}

/// Path parameters (declare them as a struct so errors can name the key):
/// `/products/abc` is 400 naming `id`, not axum's text.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                let field = match e.kind() {
                    ErrorKind::ParseErrorAtKey { key, .. }
                    | ErrorKind::InvalidUtf8InPathParam { key }
                    | ErrorKind::DeserializeError { key, .. } => Some(key.clone()),
                    _ => None,
                };
                Err(ApiError::bad_request(field, e.body_text()))
            }
            Err(other) => Err(ApiError::bad_request(None, other.body_text())),
        }
    }
}

/// An integer as JSON Schema counts them: `5` and `5.0` alike (a number
/// with no fractional part), within the range of an `i64`. For body fields
/// declared `integer` in the document, so a client whose JSON library writes
/// whole numbers with a `.0` is understood.
pub fn integer<'de, D: serde::Deserializer<'de>>(de: D) -> Result<i64, D::Error> {
    struct Whole;
    impl serde::de::Visitor<'_> for Whole {
        type Value = i64;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::custom(format!("{v} is too large for a 64-bit integer")))
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<i64, E> {
            // 2^63 is exact as an f64; every whole f64 below it fits.
            if v.fract() == 0.0 && (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&v) {
                Ok(v as i64)
            } else {
                Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
            }
        }
    }
    de.deserialize_any(Whole)
}

/// `integer` for an optional field (`null` or absent: `None`).
pub fn opt_integer<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    #[derive(serde::Deserialize)]
    struct Wrap(#[serde(deserialize_with = "integer")] i64);
    Ok(<Option<Wrap> as serde::Deserialize>::deserialize(de)?.map(|w| w.0))
}

/// Deserialises a present-but-null field as `Some(None)`, so a PATCH can
/// tell "leave it" (absent) from "clear it" (`null`).
pub fn double_option<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    serde::Deserialize::deserialize(de).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Price {
        kind: String,
        amount_cents: i64,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        prices: Vec<Price>,
    }

    fn field(json: &str) -> (StatusCode, Option<String>) {
        match parse_json::<Body>(json.as_bytes()) {
            Ok(_) => (StatusCode::OK, None),
            Err(e @ (ApiError::Invalid { .. } | ApiError::BadRequest { .. })) => {
                let f = match &e {
                    ApiError::Invalid { field, .. } | ApiError::BadRequest { field, .. } => field.clone(),
                    _ => None,
                };
                (e.status(), f)
            }
            Err(e) => (e.status(), None),
        }
    }

    #[test]
    fn json_errors_name_the_field() {
        assert_eq!(field(r#"{"name":"x"}"#), (StatusCode::OK, None));
        assert_eq!(field(r#"{"name":5}"#), (StatusCode::UNPROCESSABLE_ENTITY, Some("name".into())));
        assert_eq!(field(r#"{"name":"x","colour":1}"#), (StatusCode::UNPROCESSABLE_ENTITY, Some("colour".into())));
        assert_eq!(field(r#"{}"#), (StatusCode::UNPROCESSABLE_ENTITY, Some("name".into())));
        let nested = r#"{"name":"x","prices":[{"kind":"monthly","amount_cents":"5"}]}"#;
        assert_eq!(field(nested), (StatusCode::UNPROCESSABLE_ENTITY, Some("prices[0].amount_cents".into())));
        let unknown = r#"{"name":"x","prices":[{"kind":"monthly","amount_cents":5,"x":1}]}"#;
        assert_eq!(field(unknown), (StatusCode::UNPROCESSABLE_ENTITY, Some("prices[0].x".into())));
        assert_eq!(field(r#"{"name":"x""#).0, StatusCode::BAD_REQUEST);
        assert_eq!(field(r#"{"name":"x"} trailing"#).0, StatusCode::BAD_REQUEST);
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Query {
        limit: Option<i64>,
        search: Option<String>,
    }

    #[allow(dead_code)]
    #[derive(Debug, Deserialize)]
    struct Numbers {
        #[serde(deserialize_with = "integer")]
        n: i64,
        #[serde(default, deserialize_with = "opt_integer")]
        m: Option<i64>,
    }

    #[test]
    fn whole_numbers_count_as_integers() {
        let n = |json: &str| parse_json::<Numbers>(json.as_bytes()).map(|v| (v.n, v.m));
        assert_eq!(n(r#"{"n":5}"#), Ok((5, None)));
        assert_eq!(n(r#"{"n":5.0,"m":-7.0}"#), Ok((5, Some(-7))));
        assert_eq!(n(r#"{"n":1e3,"m":null}"#), Ok((1000, None)));
        assert!(n(r#"{"n":5.5}"#).is_err());
        assert!(n(r#"{"n":"5"}"#).is_err());
        assert!(n(r#"{"n":9223372036854775808}"#).is_err());
        assert!(n(r#"{"n":1e19}"#).is_err());
    }

    #[test]
    fn query_errors_name_the_parameter() {
        let named = |q: &str| match parse_query::<Query>(q) {
            Err(ApiError::BadRequest { field, .. }) => field,
            other => panic!("{q}: {other:?}"),
        };
        assert_eq!(named("limit=ten"), Some("limit".into()));
        assert_eq!(named("limit=1&colour=red"), Some("colour".into()));
        assert!(parse_query::<Query>("limit=5&search=a%27b").is_ok());
    }
}
