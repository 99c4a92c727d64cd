//! `/api/v1/customers/{id}/orders`: a customer's purchases through Stripe
//! Checkout (status, amount, next renewal, access until), newest first; for
//! a vendor's CRM or accounting. Read-only: Stripe's webhook is the only
//! writer.

use crate::routes::rest::auth::CanRead;
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::ApiPath;
use crate::routes::rest::IdPath;
use app::backend::services::{billing, customers};
use app::backend::web::AppState;
use app::views::OrderView;
use axum::{extract::State, Json};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrderList {
    pub items: Vec<OrderView>,
}

/// A customer's orders, newest first.
#[utoipa::path(get, path = "/api/v1/customers/{id}/orders", tag = "orders", params(IdPath),
    responses((status = 200, body = OrderList), (status = 404, description = "No such customer", body = ErrorBody)))]
pub async fn list_for_customer(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<OrderList>, ApiError> {
    customers::get(&st.db, p.id).await?;
    Ok(Json(OrderList { items: billing::list_orders(&st.db, p.id).await? }))
}
