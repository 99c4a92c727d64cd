//! Stripe-shaped errors: `{"error": {"type", "message", "param", "code"}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub kind: &'static str,
    pub message: String,
    pub param: Option<String>,
    pub code: Option<&'static str>,
}

impl ApiError {
    /// 400 `invalid_request_error`.
    pub fn invalid(message: impl Into<String>, param: Option<&str>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request_error",
            message: message.into(),
            param: param.map(str::to_string),
            code: None,
        }
    }

    /// 400 `parameter_missing`.
    pub fn missing_param(param: &str) -> Self {
        Self {
            code: Some("parameter_missing"),
            ..Self::invalid(format!("Missing required param: {param}."), Some(param))
        }
    }

    /// 400 `parameter_invalid_integer` and friends.
    pub fn bad_param(param: &str, message: impl Into<String>) -> Self {
        Self {
            code: Some("parameter_invalid"),
            ..Self::invalid(message, Some(param))
        }
    }

    /// 404 `resource_missing`: "No such customer: 'cus_x'".
    pub fn no_such(what: &str, id: &str, param: Option<&str>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            code: Some("resource_missing"),
            ..Self::invalid(format!("No such {what}: '{id}'"), param)
        }
    }

    /// 400 `resource_missing`: a parameter names an object that does not exist.
    pub fn no_such_param(what: &str, id: &str, param: &str) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            ..Self::no_such(what, id, Some(param))
        }
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::UNAUTHORIZED,
            ..Self::invalid(message, None)
        }
    }

    pub fn not_found_route(method: &str, path: &str) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            ..Self::invalid(
                format!("Unrecognized request URL ({method}: {path})."),
                None,
            )
        }
    }

    pub fn idempotency(message: impl Into<String>) -> Self {
        Self {
            kind: "idempotency_error",
            ..Self::invalid(message, None)
        }
    }

    pub fn body(&self) -> Value {
        let mut error = Map::new();
        error.insert("type".into(), json!(self.kind));
        error.insert("message".into(), json!(self.message));
        if let Some(param) = &self.param {
            error.insert("param".into(), json!(param));
        }
        if let Some(code) = self.code {
            error.insert("code".into(), json!(code));
            error.insert(
                "doc_url".into(),
                json!(format!(
                    "https://stripe.com/docs/error-codes/{}",
                    code.replace('_', "-")
                )),
            );
        }
        json!({ "error": Value::Object(error) })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
