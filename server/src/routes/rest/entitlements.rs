//! `/api/v1/entitlements`: list (by customer, product, status), read, grant,
//! and change status or window. Times are RFC 3339; `ends_at: null` in a
//! PATCH makes an entitlement open-ended.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{double_option, ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{page, IdPath};
use app::domain::access::{EntitlementSource, EntitlementStatus};
use app::views::EntitlementFilter;
use app::backend::services::entitlements;
use app::backend::web::AppState;
use app::views::EntitlementView;
use axum::{extract::State, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EntitlementQuery {
    pub customer_id: Option<i64>,
    pub product_id: Option<i64>,
    /// `active`, `suspended`, `revoked` or `expired`.
    pub status: Option<String>,
    /// 1–200, default 50.
    pub limit: Option<i64>,
    /// Default 0.
    pub offset: Option<i64>,
}

/// One page of entitlements, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct EntitlementPage {
    pub items: Vec<EntitlementView>,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEntitlement {
    pub customer_id: i64,
    pub product_id: i64,
    /// `manual` (default), `subscription`, `one_time` or `trial`.
    pub source: Option<String>,
    /// RFC 3339; default now.
    #[schema(format = DateTime, example = "2027-03-12T00:00:00Z")]
    pub starts_at: Option<String>,
    /// RFC 3339, after `starts_at`; absent = open-ended.
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// At most 1000 characters.
    pub note: Option<String>,
}

/// What to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntitlementPatch {
    /// `active` (resume), `suspended` or `revoked` (final).
    pub status: Option<String>,
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// RFC 3339; `null` makes it open-ended.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub ends_at: Option<Option<String>>,
    /// With `status: suspended` only; at most 200 characters.
    pub suspended_reason: Option<String>,
}

fn parse_time(field: &str, raw: &str) -> Result<DateTime<Utc>, ApiError> {
    DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| ApiError::invalid(field, format!("{field} must be an RFC 3339 time such as 2027-03-12T00:00:00Z")))
}

#[utoipa::path(get, path = "/api/v1/entitlements", tag = "entitlements", params(EntitlementQuery),
    responses((status = 200, body = EntitlementPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
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

#[utoipa::path(get, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(IdPath),
    responses((status = 200, body = EntitlementView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<EntitlementView>, ApiError> {
    Ok(Json(entitlements::get(&st.db, p.id).await?))
}

#[utoipa::path(post, path = "/api/v1/entitlements", tag = "entitlements", request_body = NewEntitlement,
    responses((status = 201, body = EntitlementView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, description = "Bad field, or no such customer or product", body = ErrorBody)))]
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
    let view = entitlements::grant(&st.db, &grant, caller.actor(), &caller.meta).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(patch, path = "/api/v1/entitlements/{id}", tag = "entitlements", params(IdPath), request_body = EntitlementPatch,
    responses((status = 200, body = EntitlementView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    Ok(Json(entitlements::change(&st.db, p.id, &change, caller.actor(), &caller.meta).await?))
}
