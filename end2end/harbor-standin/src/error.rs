//! Harbor's error shape, `{"errors": [{"code": "NOT_FOUND", "message": "..."}]}`
//! (`src/lib/errors` and `src/lib/http/error.go` in Harbor's source).

use std::fmt;

use axum::http::StatusCode;
use serde_json::{json, Value};

/// One Harbor error: the HTTP status, the `code` and the `message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HarborError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl HarborError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// 400 `BAD_REQUEST`.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "BAD_REQUEST", message)
    }

    /// 401 `UNAUTHORIZED` with Harbor's message, `unauthorized`.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "unauthorized")
    }

    /// 404 `NOT_FOUND`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    /// 409 `CONFLICT`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "CONFLICT", message)
    }

    /// 422 `UNPROCESSABLE_ENTITY`: what go-swagger's request binding answers
    /// (a body or parameter of the wrong type, a missing required value).
    pub fn unprocessable(messages: &[String]) -> Self {
        let mut message = String::from("validation failure list:");
        for m in messages {
            message.push('\n');
            message.push_str(m);
        }
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "UNPROCESSABLE_ENTITY",
            message,
        )
    }

    /// 500: Harbor hides every 5xx cause behind `UNKNOWN` / `internal server error`.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "UNKNOWN",
            "internal server error",
        )
    }

    /// An error for any status, coded as Harbor codes errors that come from
    /// a bare status (`strings.ToUpper(http.StatusText(code))`, spaces as
    /// `_`); 5xx as [`HarborError::internal`] does.
    pub fn from_status(status: StatusCode, message: impl Into<String>) -> Self {
        if status.is_server_error() {
            return Self {
                status,
                ..Self::internal()
            };
        }
        let code = status
            .canonical_reason()
            .unwrap_or("UNKNOWN")
            .to_uppercase()
            .replace(' ', "_");
        Self::new(status, &code, message)
    }

    /// The JSON body (`Errors`).
    pub fn body(&self) -> Value {
        json!({ "errors": [{ "code": self.code, "message": self.message }] })
    }
}

impl fmt::Display for HarborError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl std::error::Error for HarborError {}
