//! The one error type server functions return. It crosses the wire as JSON,
//! so the browser gets a typed error it can show next to the right field.
//! Internal failures never carry their cause: the server logs it under a
//! request id and the user sees only that id.

use serde::{Deserialize, Serialize};
use leptos::prelude::{FromServerFnError, ServerFnErrorErr};
use leptos::server_fn::codec::JsonEncoding;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    #[error("log in to continue")]
    Unauthenticated,
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("you do not have access to this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("too many attempts: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("something went wrong on our side (request id {request_id})")]
    Internal { request_id: String },
    /// The request itself was malformed (missing or wrongly typed arguments).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// An audit search ran past its time limit and was stopped.
    #[error("this search takes too long: narrow your search (add a time range, a customer, or a longer text)")]
    SearchTooBroad,
}

impl AppError {
    pub fn invalid(field: &str, message: impl ToString) -> Self {
        Self::Invalid { field: field.into(), message: message.to_string() }
    }

    pub fn conflict(field: &str, message: impl ToString) -> Self {
        Self::Conflict { field: field.into(), message: message.to_string() }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden => 403,
            Self::NotFound => 404,
            Self::Invalid { .. } | Self::SearchTooBroad => 422,
            Self::Conflict { .. } => 409,
            Self::RateLimited { .. } => 429,
            Self::Internal { .. } => 500,
            Self::BadRequest(_) => 400,
        }
    }

    /// The message for a form field, if this error belongs to `field`.
    pub fn for_field(&self, field: &str) -> Option<String> {
        match self {
            Self::Invalid { field: f, message } | Self::Conflict { field: f, message } if f == field => {
                Some(message.clone())
            }
            _ => None,
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        let err = Self::from_framework(value);
        // Undecodable arguments never reach the function body (and its
        // `respond`), so set their status here; server_fn would say 500.
        #[cfg(feature = "ssr")]
        if let Some(opts) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            opts.set_status(axum::http::StatusCode::from_u16(err.status()).unwrap_or_default());
        }
        err
    }
}

impl AppError {
    fn from_framework(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Args(m) | ServerFnErrorErr::Deserialization(m) | ServerFnErrorErr::MissingArg(m) => {
                Self::BadRequest(m)
            }
            ServerFnErrorErr::UnsupportedRequestMethod(m) => Self::BadRequest(m),
            // Transport failures seen by the browser (offline, server gone):
            // there is no server-side request id to show.
            other => Self::Internal { request_id: format!("none ({other})") },
        }
    }
}
