//! `/api/v1/customers/{id}/orders`: a customer's purchases through Stripe
//! Checkout (status, amount, next renewal, access until), newest first; for
//! a vendor's CRM or accounting. Read-only: Stripe's webhook is the only
//! writer.

use super::{
    auth::CanRead,
    error::{ApiError, ErrorBody},
    json::ApiPath,
    IdPath,
};
use app::{
    server::{billing, customers, AppState},
    views::OrderView,
};
use axum::{extract::State, Json};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderView>,
}

#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders", params(IdPath),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_for_customer(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<OrderList>, ApiError> {
    customers::get(&st.db, p.id).await?;
    Ok(Json(OrderList { items: billing::list_orders(&st.db, p.id).await? }))
}
