//! The REST API's one error shape:
//! `{"error":{"code":"validation_failed","message":"…","field":"name"}}`.
//! Codes are stable (clients branch on them; messages are for people and may
//! change). Internal failures carry only the request id: the cause travels
//! to `log_internal_errors`, the layer around the API that answers, which
//! logs it under the request's id and sends only that id.

use app::error::AppError;
use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer from the REST API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiError {
    /// No, malformed, unknown or revoked API key (401).
    Unauthenticated,
    /// The key's role may not do this (403).
    Forbidden,
    /// No such route or record (404).
    NotFound,
    /// A record a body field names does not exist (404, naming the field).
    Missing { field: String },
    /// The route exists but not with this method (405).
    MethodNotAllowed,
    /// A field's value is wrong: wrong type, too long, unknown, missing (422).
    Invalid { field: Option<String>, message: String },
    /// The request itself is malformed: not JSON, bad path or query (400).
    BadRequest { field: Option<String>, message: String },
    /// The body is not `application/json` (415).
    UnsupportedMediaType,
    /// The body is larger than the server accepts (413).
    PayloadTooLarge,
    /// The value collides with an existing record, e.g. a taken slug (409).
    Conflict { field: String, message: String },
    /// An audit search ran past its time limit and was stopped (422).
    SearchTooBroad,
    /// Something failed on the server; the cause is in the log (500).
    Internal { request_id: String, cause: Option<String> },
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `unauthenticated`, `forbidden`, `not_found`,
    /// `method_not_allowed`, `validation_failed`, `bad_request`,
    /// `unsupported_media_type`, `payload_too_large`, `conflict`,
    /// `search_too_broad`, `internal`.
    pub code: &'static str,
    /// For people; may change.
    pub message: String,
    /// The request field (body path such as `prices[0].kind`, query or path
    /// parameter) the error is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Only for `internal`: quote it when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ApiError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Invalid { field: Some(field.into()), message: message.into() }
    }

    pub fn bad_request(field: Option<String>, message: impl Into<String>) -> Self {
        Self::BadRequest { field, message: message.into() }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::Unauthenticated => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound | Self::Missing { .. } => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Invalid { .. } | Self::SearchTooBroad => StatusCode::UNPROCESSABLE_ENTITY,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::NotFound | Self::Missing { .. } => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Invalid { .. } => "validation_failed",
            Self::BadRequest { .. } => "bad_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::Conflict { .. } => "conflict",
            Self::SearchTooBroad => "search_too_broad",
            Self::Internal { .. } => "internal",
        }
    }

    fn body(&self) -> ErrorDetail {
        let (message, field, request_id) = match self {
            Self::Unauthenticated => {
                ("a valid API key is required: send `Authorization: Bearer pc_…`".to_owned(), None, None)
            }
            Self::Forbidden => ("this API key's role may not do this".to_owned(), None, None),
            Self::NotFound => ("not found".to_owned(), None, None),
            Self::Missing { field } => (format!("{field}: no such record"), Some(field.clone()), None),
            Self::MethodNotAllowed => ("this route does not accept this method".to_owned(), None, None),
            Self::Invalid { field, message } | Self::BadRequest { field, message } => {
                (message.clone(), field.clone(), None)
            }
            Self::UnsupportedMediaType => ("send the body as Content-Type: application/json".to_owned(), None, None),
            Self::PayloadTooLarge => ("the request body is too large".to_owned(), None, None),
            Self::Conflict { field, message } => (message.clone(), Some(field.clone()), None),
            Self::SearchTooBroad => (AppError::SearchTooBroad.to_string(), None, None),
            Self::Internal { request_id, .. } => (
                format!("something went wrong on our side (request id {request_id})"),
                None,
                Some(request_id.clone()),
            ),
        };
        ErrorDetail { code: self.code(), message, field, request_id }
    }
}

impl From<AppError> for ApiError {
    fn from(err: AppError) -> Self {
        match err {
            AppError::Unauthenticated | AppError::InvalidCredentials => Self::Unauthenticated,
            AppError::Forbidden | AppError::Unconfirmed | AppError::TwoFactorRequired => Self::Forbidden,
            AppError::NotFound => Self::NotFound,
            AppError::Invalid { field, message } => Self::Invalid { field: Some(field), message },
            AppError::Conflict { field, message } => Self::Conflict { field, message },
            AppError::BadRequest(message) => Self::BadRequest { field: None, message },
            AppError::SearchTooBroad => Self::SearchTooBroad,
            // Not produced by the services the API calls; treat as a refusal.
            AppError::RateLimited { .. } => Self::Forbidden,
            AppError::Internal { request_id, cause } => Self::Internal { request_id, cause },
        }
    }
}

/// A database error met in this crate: logged under the request id by
/// `log_internal_errors`, answered opaquely.
impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        AppError::from(err).into()
    }
}

/// An internal failure's cause, handed from `into_response` to
/// `log_internal_errors` inside the response (never sent).
#[derive(Clone)]
struct Unlogged(AppError);

/// An audit read: stopped at its time limit (422 `search_too_broad`), or
/// a database failure (500).
impl From<app::backend::services::audit::read::QueryError> for ApiError {
    fn from(err: app::backend::services::audit::read::QueryError) -> Self {
        AppError::from(err).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal { request_id, cause: Some(cause) } = self {
            let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
            res.extensions_mut().insert(Unlogged(AppError::Internal { request_id, cause: Some(cause) }));
            return res;
        }
        let status = self.status();
        let mut res = (status, Json(ErrorBody { error: self.body() })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            // RFC 6750: tell the client which scheme to use.
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"portcullis\""));
        }
        res
    }
}

/// The boundary of every API request (and of the audit page's export): an
/// internal failure's cause is logged under the request id
/// (`x-request-id`), and the answer carries only that id.
pub async fn log_internal_errors(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let request_id = app::backend::web::request::request_id_of(req.headers());
    let mut res = next.run(req).await;
    match res.extensions_mut().remove::<Unlogged>() {
        Some(Unlogged(err)) => match err.logged(&request_id) {
            AppError::Internal { request_id, .. } => ApiError::Internal { request_id, cause: None }.into_response(),
            other => ApiError::from(other).into_response(),
        },
        None => res,
    }
}

/// The API's answer to unknown routes under `/api/v1` (instead of the HTML
/// 404 page).
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_carry_only_the_request_id() {
        let body = serde_json::to_value(ErrorBody { error: ApiError::Internal { request_id: "r-1".into(), cause: None }.body() })
            .unwrap_or_default();
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(body["error"]["request_id"], "r-1");
        assert!(body["error"].get("field").is_none());
    }

    #[test]
    fn app_errors_keep_their_field() {
        let e: ApiError = AppError::invalid("name", "too long").into();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.body().field.as_deref(), Some("name"));
        let e: ApiError = AppError::conflict("slug", "taken").into();
        assert_eq!((e.status(), e.code()), (StatusCode::CONFLICT, "conflict"));
        let e: ApiError = AppError::SearchTooBroad.into();
        assert_eq!((e.status(), e.code()), (StatusCode::UNPROCESSABLE_ENTITY, "search_too_broad"));
        assert!(e.body().message.contains("narrow your search"));
    }
}
