//! `/api/v1/customers`: search and page through customers, read one, create
//! one (e.g. when the CRM signs a deal). Customers made without a password
//! cannot log in until one is set.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{page, IdPath};
use app::backend::services::customers;
use app::backend::web::AppState;
use app::views::CustomerView;
use axum::{extract::State, http::StatusCode, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CustomerQuery {
    /// Part of the e-mail address or name (plain text, at most 100 characters).
    pub search: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// Default 0.
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

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    #[schema(example = "buyer@example.com")]
    pub email: String,
    /// At most 200 characters.
    pub name: Option<String>,
    /// Optional; without one the customer cannot log in yet. Never returned.
    pub password: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/customers", tag = "customers", params(CustomerQuery),
    responses((status = 200, body = CustomerPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<CustomerQuery>,
) -> Result<Json<CustomerPage>, ApiError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let (items, total) = customers::list(&st.db, q.search.as_deref(), limit, offset).await?;
    Ok(Json(CustomerPage { items, total, limit, offset }))
}

#[utoipa::path(get, path = "/api/v1/customers/{id}", tag = "customers", params(IdPath),
    responses((status = 200, body = CustomerView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<CustomerView>, ApiError> {
    Ok(Json(customers::get(&st.db, p.id).await?))
}

#[utoipa::path(post, path = "/api/v1/customers", tag = "customers", request_body = NewCustomer,
    responses((status = 201, body = CustomerView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, description = "The e-mail address is taken", body = ErrorBody), (status = 422, body = ErrorBody)))]
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
