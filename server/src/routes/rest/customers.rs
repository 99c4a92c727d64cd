//! `/api/v1/customers`: search and page through customers, read one, create
//! one (e.g. when the CRM signs a deal), disable or enable one, mail one a
//! password reset link, end one's sessions. Customers made without a
//! password are mailed an invitation to set one (`services::recovery`).

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{limit_schema, offset_schema, page, schema, IdPath};
use app::backend::services::customers;
use app::backend::services::users::{self, AccountChange};
use app::domain::Role;
use app::backend::web::AppState;
use app::backend::services::account;
use app::views::{CustomerView, SessionView};
use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    #[param(schema_with = search_schema)]
    pub search: Option<String>,
    #[param(schema_with = limit_schema)]
    pub limit: Option<i64>,
    #[param(schema_with = offset_schema)]
    pub offset: Option<i64>,
}

/// One page of customers, newest first, and how many match in all.
#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerPage {
    pub items: Vec<CustomerView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

schema::documented! {
    fn search_schema() = schema::text(customers::SEARCH_MAX, true, false), "Part of the e-mail address or name (plain text).";
    fn email_schema() = schema::email(), "Unique, compared case-insensitively (409 when taken). Example: `buyer@example.com`.";
    fn name_schema() = schema::text(customers::NAME_MAX, true, true), "The customer's name.";
    fn password_schema() = schema::password(), "Optional; without one the customer is mailed an invitation to set it and cannot log in until then. Never returned. Not only spaces, and not containing \
         the e-mail address or its part before the `@` (422 otherwise).";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    #[schema(schema_with = email_schema)]
    pub email: String,
    #[schema(schema_with = name_schema)]
    pub name: Option<String>,
    #[schema(schema_with = password_schema)]
    pub password: Option<String>,
}

/// Customers, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = CustomerPage),
        (status = 422, description = "`search` is too long or holds control characters (`validation_failed`)", body = ErrorBody)))]
pub async fn list(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    if q.search.as_deref().is_some_and(|s| s.chars().any(char::is_control)) {
        return Err(ApiError::invalid("search", "search must not contain control characters"));
    }
    let (items, total) = customers::list(&st.db, q.search.as_deref(), None, limit, offset).await?;
    Ok(Json(CustomerPage { items, total, limit, offset }))
}

/// One customer.
#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(IdPath),
    responses((status = 200, body = CustomerView), (status = 404, description = "No such customer (staff accounts are not customers)", body = ErrorBody)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CustomerView>, ApiError> {
    Ok(Json(customers::get(&st.db, p.id).await?))
}

/// Creates a customer account.
#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomer,
    responses((status = 201, body = CustomerView), (status = 409, description = "The e-mail address is taken", body = ErrorBody)))]
pub async fn create(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiJson(body): ApiJson<NewCustomer>,
) -> Result<(StatusCode, Json<CustomerView>), ApiError> {
    let view = customers::create(
        &st.db,
        &body.email,
        body.name.as_deref(),
        body.password.as_deref(),
        caller.actor(),
        &caller.meta,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// What to change of a customer; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// `true`: no member of the customer can log in any more, every session
    /// ends and its registry credentials stop working (within the token
    /// cache bound); `false`: every member enabled again. Unchanged:
    /// nothing is recorded.
    pub disabled: Option<bool>,
}

/// Disables or enables a customer.
#[utoipa::path(patch, path = "/api/v1/customers/{id}", tag = "customers", params(IdPath), request_body = CustomerPatch,
    responses((status = 200, body = CustomerView), (status = 404, description = "No such customer (staff accounts are not customers)", body = ErrorBody)))]
pub async fn patch(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<CustomerPatch>,
) -> Result<Json<CustomerView>, ApiError> {
    customers::get(&st.db, p.id).await?;
    if let Some(disabled) = body.disabled {
        customers::set_disabled(&st.db, p.id, disabled, caller.actor(), &caller.meta).await?;
    }
    Ok(Json(customers::get(&st.db, p.id).await?))
}

/// Mails the customer a password reset link (single use, 1 hour).
#[utoipa::path(post, path = "/api/v1/customers/{id}/password-reset", tag = "customers", params(IdPath),
    responses((status = 202, description = "The mail is queued (see the admin's mail page for its delivery)", body = CustomerView),
        (status = 404, description = "No such customer (staff accounts are not customers)", body = ErrorBody)))]
pub async fn send_reset(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<(StatusCode, Json<CustomerView>), ApiError> {
    customers::get(&st.db, p.id).await?;
    users::change_account(&st.db, p.id, AccountChange::SendReset, Some(Role::Customer), caller.actor(), &caller.meta).await?;
    Ok((StatusCode::ACCEPTED, Json(customers::get(&st.db, p.id).await?)))
}

/// Ends every session of the customer (they log in again).
#[utoipa::path(delete, path = "/api/v1/customers/{id}/sessions", tag = "customers", params(IdPath),
    responses((status = 200, body = CustomerView), (status = 404, description = "No such customer (staff accounts are not customers)", body = ErrorBody)))]
pub async fn end_sessions(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CustomerView>, ApiError> {
    customers::get(&st.db, p.id).await?;
    users::change_account(&st.db, p.id, AccountChange::EndSessions, Some(Role::Customer), caller.actor(), &caller.meta).await?;
    Ok(Json(customers::get(&st.db, p.id).await?))
}

/// The customer's logged-in sessions, most recently seen first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/sessions", tag = "customers", params(IdPath),
    responses((status = 200, body = Vec<SessionView>), (status = 404, description = "No such customer (staff accounts are not customers)", body = ErrorBody)))]
pub async fn sessions(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<Vec<SessionView>>, ApiError> {
    customers::get(&st.db, p.id).await?;
    Ok(Json(account::sessions_of(&st.db, p.id, None).await?))
}

/// A session of a customer, by its id.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// The customer.
    #[param(schema_with = crate::routes::rest::id_schema)]
    pub id: i64,
    /// The session (as listed).
    #[param(schema_with = session_id_schema)]
    pub session_id: String,
}

schema::documented! {
    fn session_id_schema() = schema::text(64, false, false), "A session's id, as `GET …/sessions` lists it.";
}

/// Ends one session of the customer.
#[utoipa::path(delete, path = "/api/v1/customers/{id}/sessions/{session_id}", tag = "customers", params(SessionPath),
    responses((status = 200, body = CustomerView), (status = 404, description = "No such customer or session", body = ErrorBody)))]
pub async fn end_session(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<SessionPath>,
) -> Result<Json<CustomerView>, ApiError> {
    customers::get(&st.db, p.id).await?;
    account::end_session_of(&st.db, p.id, &p.session_id, caller.actor(), &caller.meta).await?;
    Ok(Json(customers::get(&st.db, p.id).await?))
}
