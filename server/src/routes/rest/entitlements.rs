//! `/api/v1/entitlements`: list (by customer, product, status), read, grant,
//! and change status or window. Times are RFC 3339; `ends_at: null` in a
//! PATCH makes an entitlement open-ended.
//!
//! A grant naming a customer or product that does not exist is 404 (naming
//! the field); a change the entitlement's state forbids (reactivating a
//! revoked one, a window that would end before its stored start) is 409; a
//! request wrong in itself is 422.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{self, double_option, ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{limit_schema, offset_schema, page, plain_text, schema, IdPath};
use app::domain::access::{EntitlementSource, EntitlementStatus};
use app::views::EntitlementFilter;
use app::backend::services::entitlements;
use app::backend::web::AppState;
use app::views::EntitlementView;
use app::error::AppError;
use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntitlementQuery {
    #[param(schema_with = customer_filter)]
    pub customer_id: Option<i64>,
    #[param(schema_with = product_filter)]
    pub product_id: Option<i64>,
    #[param(schema_with = status_filter)]
    pub status: Option<String>,
    #[param(schema_with = limit_schema)]
    pub limit: Option<i64>,
    #[param(schema_with = offset_schema)]
    pub offset: Option<i64>,
}

schema::documented! {
    fn customer_filter() = schema::id(), "Only this customer's.";
    fn product_filter() = schema::id(), "Only this product's.";
    fn status_filter() = schema::one_of(schema::STATUS_ENTITLEMENT, false), "Only entitlements with this status.";
    fn customer_id() = schema::id(), "A customer's id (404 naming `customer_id` if there is none).";
    fn product_id() = schema::id(), "A product's id (404 naming `product_id` if there is none).";
    fn source() = schema::one_of(schema::SOURCE_BY_HAND, true),
        "`manual` (default) or `trial`; `subscription` and `one_time` entitlements come only from Stripe payments.";
    fn grant_starts_at() = schema::date_time(true), "RFC 3339, e.g. `2027-03-12T00:00:00Z`; default now.";
    fn grant_ends_at() = schema::date_time(true), "RFC 3339, after `starts_at` (422 otherwise); absent: open-ended.";
    fn note() = schema::lines(1000, true), "A note for staff; tabs and line breaks but no other control characters.";
    fn status_settable() = schema::one_of(schema::STATUS_ENTITLEMENT_SETTABLE, true),
        "`active` (resume), `suspended` or `revoked` (final: a revoked entitlement answers 409 to any other status).";
    fn patch_starts_at() = schema::date_time(true), "RFC 3339.";
    fn patch_ends_at() = schema::date_time(true),
        "RFC 3339; `null` makes it open-ended. The end must come after the start: 422 when both are in the request, \
         409 when it is the stored one it would not follow.";
    fn reason() = schema::text(200, true, true), "With `status: suspended` only (422 otherwise).";
}

/// One page of entitlements, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementPage {
    pub items: Vec<EntitlementView>,
    pub limit: i64,
    pub offset: i64,
}

/// A grant by hand; see each field's description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntitlement {
    #[serde(deserialize_with = "json::integer")]
    #[schema(schema_with = customer_id)]
    pub customer_id: i64,
    #[serde(deserialize_with = "json::integer")]
    #[schema(schema_with = product_id)]
    pub product_id: i64,
    #[schema(schema_with = source)]
    pub source: Option<String>,
    #[schema(schema_with = grant_starts_at)]
    pub starts_at: Option<String>,
    #[schema(schema_with = grant_ends_at)]
    pub ends_at: Option<String>,
    #[schema(schema_with = note)]
    pub note: Option<String>,
}

/// What to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementPatch {
    #[schema(schema_with = status_settable)]
    pub status: Option<String>,
    #[schema(schema_with = patch_starts_at)]
    pub starts_at: Option<String>,
    /// `Some(None)`: sent as `null`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = patch_ends_at)]
    pub ends_at: Option<Option<String>>,
    #[schema(schema_with = reason)]
    pub suspended_reason: Option<String>,
}

fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid(field, format!("{field} must be an RFC 3339 time such as 2027-03-12T00:00:00Z")))
}

/// Entitlements, newest first, a page at a time.
#[utoipa::path(get, path = "/api/v1/entitlements", tag = "entitlements", params(EntitlementQuery),
    responses((status = 200, body = EntitlementPage)))]
pub async fn list(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<EntitlementQuery>,
) -> Result<Json<EntitlementPage>, ApiError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let status = match q.status.as_deref() {
        Some(s) => Some(EntitlementStatus::parse(s).ok_or_else(|| {
            ApiError::bad_request(Some("status".into()), "status must be active, suspended, revoked or expired")
        })?),
        None => None,
    };
    let filter = EntitlementFilter {
        customer_id: q.customer_id,
        product_id: q.product_id,
        status,
    };
    let items = entitlements::list(&st.db, &filter, limit, offset).await?;
    Ok(Json(EntitlementPage { items, limit, offset }))
}

/// One entitlement.
#[utoipa::path(get, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(IdPath),
    responses((status = 200, body = EntitlementView)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<EntitlementView>, ApiError> {
    Ok(Json(entitlements::get(&st.db, p.id).await?))
}

/// Grants a customer access to a product (by hand: `manual` or `trial`).
#[utoipa::path(post, path = "/api/v1/entitlements", tag = "entitlements", request_body = NewEntitlement,
    responses((status = 201, body = EntitlementView),
        (status = 404, description = "No such customer or product (`not_found`, naming `customer_id` or `product_id`)", body = ErrorBody)))]
pub async fn create(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiJson(body): ApiJson<NewEntitlement>,
) -> Result<(StatusCode, Json<EntitlementView>), ApiError> {
    let source = match body.source.as_deref() {
        Some(s) => EntitlementSource::parse(s)
            .ok_or_else(|| ApiError::invalid("source", "source must be manual or trial (subscription and one_time come only from Stripe payments)"))?,
        None => EntitlementSource::Manual,
    };
    let grant = entitlements::Grant {
        customer_id: body.customer_id,
        product_id: body.product_id,
        source,
        starts_at: body.starts_at.as_deref().map(|s| parse_time("starts_at", s)).transpose()?.unwrap_or_else(Utc::now),
        ends_at: body.ends_at.as_deref().map(|s| parse_time("ends_at", s)).transpose()?,
        note: body.note.filter(|n| !n.trim().is_empty()),
    };
    plain_text("note", grant.note.as_deref(), true)?;
    let view = entitlements::grant(&st.db, &grant, caller.actor(), &caller.meta).await.map_err(|e| match e {
        AppError::Invalid { field, .. } if field == "customer_id" || field == "product_id" => ApiError::Missing { field },
        e => e.into(),
    })?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Changes an entitlement's status or window; absent fields stay as they
/// are. A request that changes nothing answers the entitlement as it is and
/// writes no audit event.
#[utoipa::path(patch, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(IdPath), request_body = EntitlementPatch,
    responses((status = 200, body = EntitlementView),
        (status = 409, description = "The entitlement's state forbids it: it is revoked (`status`), or the new end would not come after its stored start, or the new start not before its stored end (`ends_at`)", body = ErrorBody)))]
pub async fn patch(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<EntitlementPatch>,
) -> Result<Json<EntitlementView>, ApiError> {
    let status = match body.status.as_deref() {
        // `expired` is the sweep's to set, from the window.
        Some(s @ ("active" | "suspended" | "revoked")) => EntitlementStatus::parse(s),
        Some(_) => return Err(ApiError::invalid("status", "status must be active, suspended or revoked")),
        None => None,
    };
    if body.suspended_reason.is_some() && status != Some(EntitlementStatus::Suspended) {
        return Err(ApiError::invalid("suspended_reason", "a reason goes with status: suspended"));
    }
    plain_text("suspended_reason", body.suspended_reason.as_deref(), false)?;
    // Both ends in the request: their order is the request's own fault.
    let both_ends = body.starts_at.is_some() && matches!(body.ends_at, Some(Some(_)));
    let change = entitlements::Change {
        status,
        starts_at: body.starts_at.as_deref().map(|s| parse_time("starts_at", s)).transpose()?,
        ends_at: match body.ends_at {
            Some(Some(s)) => Some(Some(parse_time("ends_at", &s)?)),
            Some(None) => Some(None),
            None => None,
        },
        suspended_reason: body.suspended_reason,
    };
    let changed = entitlements::change(&st.db, p.id, &change, caller.actor(), &caller.meta).await.map_err(|e| match e {
        AppError::Invalid { field, message } if field == "status" || (field == "ends_at" && !both_ends) => {
            ApiError::Conflict { field, message }
        }
        e => e.into(),
    })?;
    Ok(Json(changed))
}
