//! `/api/v1/customers/{id}/credentials` and `/api/v1/credentials/{id}`: a
//! customer's registry pull credentials, made for them (e.g. when the CRM
//! closes a deal), listed, rotated and revoked. The secret is in the answer
//! of create and rotate only; lists never carry it.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{ApiJson, ApiPath};
use crate::routes::rest::IdPath;
use app::backend::services::{credentials, customers};
use app::backend::web::AppState;
use app::domain::credential::CredentialKind;
use app::views::{CredentialView, NewCredential};
use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialBody {
    /// What uses it, e.g. `production cluster`; unique among the customer's
    /// live credentials; 1–100 characters.
    #[schema(example = "production cluster")]
    pub name: String,
    /// Optional: a day (`2027-01-31`, valid through its end, UTC) or an RFC
    /// 3339 time, in the future.
    #[schema(example = "2027-01-31")]
    pub expires_at: Option<String>,
}

/// A customer's credentials, newest first (never their secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialList {
    pub items: Vec<CredentialView>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/credentials", tag = "credentials", params(IdPath),
    responses((status = 200, body = CredentialList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_for_customer(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CredentialList>, ApiError> {
    customers::get(&st.db, p.id).await?;
    Ok(Json(CredentialList { items: credentials::list_for_owner(&st.db, p.id).await? }))
}

#[utoipa::path(post, path = "/api/v1/customers/{id}/credentials", tag = "credentials", params(IdPath), request_body = NewCredentialBody,
    responses((status = 201, description = "The secret is in this answer only", body = NewCredential), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "A live credential of this customer has this name", body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<NewCredentialBody>,
) -> Result<(StatusCode, Json<NewCredential>), ApiError> {
    customers::get(&st.db, p.id).await?;
    let expires_at = credentials::parse_expiry(body.expires_at.as_deref().unwrap_or_default())?;
    let made =
        credentials::create(&st.db, p.id, CredentialKind::Pull, &body.name, expires_at, caller.actor(), &caller.meta)
            .await?;
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(get, path = "/api/v1/credentials/{id}", tag = "credentials", params(IdPath),
    responses((status = 200, body = CredentialView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CredentialView>, ApiError> {
    Ok(Json(credentials::get(&st.db, p.id, None).await?))
}

#[utoipa::path(post, path = "/api/v1/credentials/{id}/rotate", tag = "credentials", params(IdPath),
    responses((status = 200, description = "A new secret, in this answer only; the old one stops working", body = NewCredential),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The credential is revoked or expired", body = ErrorBody)))]
pub async fn rotate(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<NewCredential>, ApiError> {
    Ok(Json(credentials::rotate(&st.db, p.id, None, caller.actor(), &caller.meta).await?))
}

#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "credentials", params(IdPath),
    responses((status = 200, description = "Revoked: its next token request is refused", body = CredentialView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "Already revoked", body = ErrorBody)))]
pub async fn revoke(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CredentialView>, ApiError> {
    Ok(Json(credentials::revoke(&st.db, p.id, None, caller.actor(), &caller.meta).await?))
}
