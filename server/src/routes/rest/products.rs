//! `/api/v1/products`: list, read, create (with prices, all or nothing),
//! patch (fields and status in one transaction), add and retire prices.
//! Everything is parsed before the first write, so a bad field anywhere
//! leaves the catalogue untouched.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{IdPath, ItemList};
use app::domain::catalogue::{PriceKind, PriceSpec, ProductStatus};
use app::backend::services::catalogue;
use app::backend::web::AppState;
use app::views::ProductView;
use app::backend::services::billing;
use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

/// At most this many prices in one create (a product rarely has more than a
/// handful; the cap keeps one request's transaction small).
const PRICES_MAX: usize = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    /// Only products with this status: `draft`, `published` or `archived`.
    pub status: Option<String>,
}

/// A price option: `kind` is `monthly`, `yearly`, `one_time` (with
/// `duration` in months) or `trial` (with `duration` in days, amount 0).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    #[schema(example = "monthly")]
    pub kind: String,
    /// Minor units (cents).
    #[schema(example = 4900)]
    pub amount_cents: i64,
    /// ISO 4217, e.g. `eur`.
    #[schema(example = "eur")]
    pub currency: String,
    /// Months for `one_time`, days for `trial`; not allowed otherwise.
    pub duration: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    /// 1–100 characters.
    pub name: String,
    /// 2–64 of `a-z 0-9 -`; made from the name when absent.
    pub slug: Option<String>,
    /// Markdown, at most 20,000 characters.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub contact_sales: bool,
    /// Exact repository names (`acme/widget`) or prefixes (`acme/widget-*`).
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub prices: Vec<PriceInput>,
    /// Only `draft`: a product is created as a draft and published with a
    /// PATCH, so a failed publication can never leave a half-made product.
    pub status: Option<String>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub name: Option<String>,
    pub slug: Option<String>,
    pub description: Option<String>,
    pub contact_sales: Option<bool>,
    /// Replaces the whole list.
    pub repositories: Option<Vec<String>>,
    /// `draft`, `published` (needs a repository, and a price or contact
    /// sales) or `archived`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct PricePath {
    pub id: i64,
    pub price_id: i64,
}

fn parse_status(field: &str, raw: &str) -> Result<ProductStatus, ApiError> {
    ProductStatus::parse(raw).map_err(|e| ApiError::invalid(field, e.0))
}

/// Parses one price; `prefix` is how its fields are named in errors
/// (`prices[2].` in a product, empty for the price route).
pub fn parse_price(prefix: &str, p: &PriceInput) -> Result<PriceSpec, ApiError> {
    let takes_duration = PriceKind::takes_duration(&p.kind);
    let kind_known = takes_duration.is_some();
    if takes_duration == Some(false) && p.duration.is_some() {
        return Err(ApiError::invalid(format!("{prefix}duration"), "monthly and yearly prices take no duration"));
    }
    let kind = PriceKind::from_parts(&p.kind, p.duration)
        .map_err(|e| ApiError::invalid(format!("{prefix}{}", if kind_known { "duration" } else { "kind" }), e.0))?;
    PriceSpec::parse(kind, p.amount_cents, &p.currency).map_err(|e| {
        let field = if e.0.starts_with("currency") { "currency" } else { "amount_cents" };
        ApiError::invalid(format!("{prefix}{field}"), e.0)
    })
}

#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductQuery),
    responses((status = 200, body = ItemList<ProductView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<ProductQuery>,
) -> Result<Json<ItemList<ProductView>>, ApiError> {
    let status = match q.status.as_deref() {
        Some(s) => Some(ProductStatus::parse(s).map_err(|e| ApiError::bad_request(Some("status".into()), e.0))?),
        None => None,
    };
    Ok(Json(ItemList { items: catalogue::list(&st.db, status).await? }))
}

#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(IdPath),
    responses((status = 200, body = ProductView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<ProductView>, ApiError> {
    Ok(Json(catalogue::get(&st.db, p.id).await?))
}

#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = NewProduct,
    responses((status = 201, body = ProductView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiJson(body): ApiJson<NewProduct>,
) -> Result<(StatusCode, Json<ProductView>), ApiError> {
    if let Some(s) = body.status.as_deref() {
        if parse_status("status", s)? != ProductStatus::Draft {
            return Err(ApiError::invalid("status", "products are created as drafts: create it, then PATCH its status"));
        }
    }
    if body.prices.len() > PRICES_MAX {
        return Err(ApiError::invalid("prices", format!("at most {PRICES_MAX} prices")));
    }
    let prices = body
        .prices
        .iter()
        .enumerate()
        .map(|(i, p)| parse_price(&format!("prices[{i}]."), p))
        .collect::<Result<Vec<_>, _>>()?;
    let input = catalogue::ProductInput {
        name: body.name,
        slug: body.slug,
        description: body.description,
        contact_sales: body.contact_sales,
        repositories: body.repositories,
    };
    let view = catalogue::create(&st.db, &input, &prices, caller.actor(), &caller.meta).await?;
    billing::sync_after_change(&st, view.id).await;
    Ok((StatusCode::CREATED, Json(view)))
}

#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", params(IdPath), request_body = ProductPatch,
    responses((status = 200, body = ProductView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn patch(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> Result<Json<ProductView>, ApiError> {
    let status = body.status.as_deref().map(|s| parse_status("status", s)).transpose()?;
    // `update` replaces every field: start from what is stored.
    let current = catalogue::get(&st.db, p.id).await?;
    let input = catalogue::ProductInput {
        name: body.name.unwrap_or(current.name),
        slug: Some(body.slug.unwrap_or(current.slug)),
        description: body.description.unwrap_or(current.description),
        contact_sales: body.contact_sales.unwrap_or(current.contact_sales),
        repositories: body.repositories.unwrap_or(current.repositories),
    };
    let view = catalogue::update(&st.db, p.id, &input, status, caller.actor(), &caller.meta).await?;
    billing::sync_after_change(&st, p.id).await;
    Ok(Json(view))
}

#[utoipa::path(post, path = "/api/v1/products/{id}/prices", tag = "products", params(IdPath), request_body = PriceInput,
    responses((status = 201, description = "The product with its new price", body = ProductView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_price(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<PriceInput>,
) -> Result<(StatusCode, Json<ProductView>), ApiError> {
    let spec = parse_price("", &body)?;
    let view = catalogue::add_price(&st.db, p.id, &spec, caller.actor(), &caller.meta).await?;
    billing::sync_after_change(&st, p.id).await;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Retires a price: it stays on record (past sales refer to it) but is no
/// longer offered.
#[utoipa::path(delete, path = "/api/v1/products/{id}/prices/{price_id}", tag = "products",
    params(("id" = i64, Path, description = "Product id"), ("price_id" = i64, Path, description = "Price id")),
    responses((status = 200, description = "The product after the change", body = ProductView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_price(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<PricePath>,
) -> Result<Json<ProductView>, ApiError> {
    let view = catalogue::remove_price(&st.db, p.id, p.price_id, caller.actor(), &caller.meta).await?;
    billing::sync_after_change(&st, p.id).await;
    Ok(Json(view))
}
