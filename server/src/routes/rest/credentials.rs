//! `/api/v1/customers/{id}/credentials` and `/api/v1/credentials/{id}`: a
//! customer's registry pull credentials, made for them (e.g. when the CRM
//! closes a deal), listed, rotated and revoked. The secret is in the answer
//! of create and rotate only; lists never carry it.
//!
//! Pull credentials only: a push credential (the vendor's CI, which may push
//! to every repository) answers 404 here, as a missing id does, so an API
//! key (what a CRM holds) can neither read, rotate nor revoke one, nor learn
//! which ids are push credentials. Its kind never changes, so checking it
//! before the change cannot race.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{ApiJson, ApiPath};
use crate::routes::rest::{schema, IdPath};
use app::backend::services::{credentials, customers};
use app::backend::web::AppState;
use app::domain::credential::CredentialKind;
use app::error::AppError;
use app::views::{CredentialView, NewCredential};
use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCredentialBody {
    #[schema(schema_with = credential_name)]
    pub name: String,
    #[schema(schema_with = expiry)]
    pub expires_at: Option<String>,
}

schema::documented! {
    fn credential_name() = schema::text(100, false, false), "What uses it, e.g. `production cluster`; unique among the customer's live credentials (409 otherwise).";
    fn expiry() = schema::day_or_time(true), "Optional: a day (`2027-01-31`, valid through its end, UTC) or an RFC 3339 time; in the future (422 otherwise).";
}

/// The pull credential `id`, or `NotFound`: push credentials are not the API's.
async fn pull_credential(st: &AppState, id: i64) -> Result<CredentialView, ApiError> {
    let view = credentials::get(&st.db, id, None).await?;
    if view.kind != CredentialKind::Pull {
        return Err(ApiError::NotFound);
    }
    Ok(view)
}

/// A customer's pull credentials, newest first (never their secrets).
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialList {
    pub items: Vec<CredentialView>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/credentials", tag = "credentials", params(IdPath),
    responses((status = 200, body = CredentialList), (status = 404, description = "No such customer", body = ErrorBody)))]
pub async fn list_for_customer(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CredentialList>, ApiError> {
    customers::get(&st.db, p.id).await?;
    let mut items = credentials::list_for_organisation(&st.db, p.id, credentials::Reach::Any).await?;
    // A customer owns pull credentials only; should an account ever hold
    // both, the push ones still stay out of the API.
    items.retain(|c| c.kind == CredentialKind::Pull);
    Ok(Json(CredentialList { items }))
}

/// Makes a pull credential for a customer.
#[utoipa::path(post, path = "/api/v1/customers/{id}/credentials", tag = "credentials", params(IdPath), request_body = NewCredentialBody,
    responses((status = 201, description = "The secret is in this answer only", body = NewCredential),
        (status = 404, description = "No such customer", body = ErrorBody),
        (status = 409, description = "A live credential of this customer has this name (`name`), or the customer's account is disabled (`owner`)", body = ErrorBody),
        (status = 422, description = "A bad field: `name`, or `expires_at` not in the future", body = ErrorBody)))]
pub async fn create(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<NewCredentialBody>,
) -> Result<(StatusCode, Json<NewCredential>), ApiError> {
    customers::get(&st.db, p.id).await?;
    let expires_at = credentials::parse_expiry(body.expires_at.as_deref().unwrap_or_default())?;
    // The organisation's credential, held in its first owner's name.
    let holder = customers::first_owner(&st.db, p.id).await.map_err(|_| ApiError::Conflict {
        field: "owner".into(),
        message: "the account is disabled".into(),
    })?;
    let made =
        credentials::create(&st.db, holder, CredentialKind::Pull, &body.name, expires_at, st.robots(), caller.actor(), &caller.meta)
            .await
            .map_err(|e| match e {
                // The account's state, not the request: a disabled customer.
                AppError::Invalid { field, message } if field == "owner" => ApiError::Conflict { field, message },
                e => e.into(),
            })?;
    Ok((StatusCode::CREATED, Json(made)))
}

/// A customer's pull credential (never its secret).
#[utoipa::path(get, path = "/api/v1/credentials/{id}", tag = "credentials", params(IdPath),
    responses((status = 200, body = CredentialView), (status = 404, description = "No such pull credential (push credentials are not reachable through the API)", body = ErrorBody)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CredentialView>, ApiError> {
    Ok(Json(pull_credential(&st, p.id).await?))
}

/// A new secret for a customer's pull credential (same user name).
#[utoipa::path(post, path = "/api/v1/credentials/{id}/rotate", tag = "credentials", params(IdPath),
    responses((status = 200, description = "A new secret, in this answer only; the old one stops working", body = NewCredential),
        (status = 404, description = "No such pull credential (push credentials are not reachable through the API)", body = ErrorBody),
        (status = 409, description = "The credential is revoked or expired", body = ErrorBody)))]
pub async fn rotate(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<NewCredential>, ApiError> {
    pull_credential(&st, p.id).await?;
    Ok(Json(credentials::rotate(&st.db, p.id, None, st.robots(), caller.actor(), &caller.meta).await?))
}

/// Revokes a customer's pull credential at once.
#[utoipa::path(delete, path = "/api/v1/credentials/{id}", tag = "credentials", params(IdPath),
    responses((status = 200, description = "Revoked: its next token request is refused", body = CredentialView),
        (status = 404, description = "No such pull credential (push credentials are not reachable through the API)", body = ErrorBody),
        (status = 409, description = "Already revoked", body = ErrorBody)))]
pub async fn revoke(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CredentialView>, ApiError> {
    pull_credential(&st, p.id).await?;
    Ok(Json(credentials::revoke(&st.db, p.id, None, caller.actor(), &caller.meta).await?))
}
