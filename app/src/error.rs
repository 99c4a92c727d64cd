//! The one error type server functions return. It crosses the wire as JSON,
//! so the browser gets a typed error it can show next to the right field.
//! Internal failures never show their cause: it travels inside the error
//! (never serialised) to the boundary that answers the request, which logs
//! it under the request id (`AppError::logged`, called by
//! `backend::web::respond` and the REST API's error layer); the user sees
//! only that id. Nothing below the boundary needs the request's context.

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
    /// This role must sign in with a second factor, and this account has none yet.
    #[error("set up two-factor sign-in first: Settings, Two-factor sign-in")]
    TwoFactorRequired,
    /// The account's address is not confirmed yet (buying and credentials wait for it).
    #[error("confirm your e-mail address first: follow the link we mailed you, or send a new one from your settings")]
    Unconfirmed,
    #[error("not found")]
    NotFound,
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("{message}")]
    Conflict { field: String, message: String },
    #[error("too many attempts: try again in {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    #[error("something went wrong on our side (request id {request_id})")]
    Internal {
        request_id: String,
        /// What failed, kept on the server until the answering boundary logs
        /// it; never serialised, so it never reaches a browser or client.
        #[serde(skip)]
        cause: Option<String>,
    },
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

    /// An internal failure; the boundary that answers logs `cause` under the
    /// request id (`logged`).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        Self::Internal { request_id: String::new(), cause: Some(cause.to_string()) }
    }

    /// For a log line or the CLI (no request, no id): the cause of an
    /// internal failure not yet logged, else the message.
    pub fn for_log(&self) -> String {
        match self {
            Self::Internal { cause: Some(cause), .. } => cause.clone(),
            other => other.to_string(),
        }
    }

    /// At the boundary: logs an internal failure's cause under `request_id`
    /// and keeps only the id, which is all the caller may see. Other errors
    /// pass unchanged.
    #[cfg(feature = "ssr")]
    pub fn logged(self, request_id: &str) -> Self {
        match self {
            Self::Internal { cause: Some(cause), .. } => {
                tracing::error!(request_id = %request_id, error = %cause, "internal error");
                Self::Internal { request_id: request_id.to_owned(), cause: None }
            }
            other => other,
        }
    }

    /// The HTTP status this error is answered with.
    pub fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials => 401,
            Self::Forbidden | Self::Unconfirmed | Self::TwoFactorRequired => 403,
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
            other => Self::Internal { request_id: format!("none ({other})"), cause: None },
        }
    }
}
