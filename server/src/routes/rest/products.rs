//! `/api/v1/products`: list, read, create (with prices, all or nothing),
//! patch (fields and status in one transaction), add and retire prices.
//! Everything is parsed before the first write, so a bad field anywhere
//! leaves the catalogue untouched. Publishing a product that lacks a
//! repository, or a price and "contact sales", is 409 (its state forbids
//! it); a PATCH that changes nothing answers the product as it is.

use app::domain::release::Licence;
use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{self, ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{plain_text, schema, IdPath, ItemList};
use app::domain::catalogue::{PriceKind, PriceSpec, ProductStatus, DESCRIPTION_MAX, PRODUCT_NAME_MAX};
use app::backend::services::catalogue;
use app::backend::web::AppState;
use app::views::ProductView;
use app::backend::services::billing;
use axum::{extract::State, http::StatusCode, Json};
use serde::Deserialize;
use app::error::AppError;
use utoipa::openapi::{schema::Schema, RefOr};
use utoipa::{IntoParams, ToSchema};

/// At most this many prices in one create (a product rarely has more than a
/// handful; the cap keeps one request's transaction small).
const PRICES_MAX: usize = 50;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProductQuery {
    #[param(schema_with = status_filter)]
    pub status: Option<String>,
}

const NAME: &str = "The product's name.";
const DESCRIPTION: &str = "Markdown; tabs and line breaks but no other control characters.";
const REPOSITORIES: &str =
    "Exact repository names (`acme/widget`) or prefixes (`acme/widget-*`); the list replaces the stored one.";

schema::documented! {
    fn status_filter() = schema::one_of(schema::STATUS_PRODUCT, false), "Only products with this status.";
    fn name_new() = schema::text(PRODUCT_NAME_MAX, false, false), NAME;
    fn name_patch() = schema::text(PRODUCT_NAME_MAX, false, true), NAME;
    fn slug_new() = schema::slug(true),
        "Unique (409 when taken); made from the name when absent (422 naming `slug` when the name has fewer than 2 \
         letters or digits).";
    fn slug_patch() = schema::slug(true), "Unique (409 when taken).";
    fn description_new() = schema::lines(DESCRIPTION_MAX, false), DESCRIPTION;
    fn description_patch() = schema::lines(DESCRIPTION_MAX, true), DESCRIPTION;
    fn repositories_new() = schema::repositories(false), REPOSITORIES;
    fn repositories_patch() = schema::repositories(true), REPOSITORIES;
    fn status_new() = schema::one_of(&["draft"], true),
        "Only `draft`: a product is created as a draft and published with a PATCH, so a failed publication can never \
         leave a half-made product.";
    fn status_patch() = schema::one_of(schema::STATUS_PRODUCT, true),
        "`draft`, `published` (needs a repository, and an active price or contact sales: 409 otherwise) or `archived`.";
    fn licence_patch() = schema::one_of(schema::LICENCE, true),
        "`subscription` (every version while access lasts) or `perpetual` (versions released until the entitlement's end, \
         for good; needs `gateway`: 409 otherwise).";
    fn product_id() = schema::id(), "The product's id.";
    fn price_id() = schema::id(), "The price's id.";
}

/// A price option: `kind` is `monthly`, `yearly`, `one_time` (with
/// `duration` in months) or `trial` (with `duration` in days, amount 0).
/// Its schema (`schema::price_input`) is one object per kind.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceInput {
    pub kind: String,
    /// Minor units (cents).
    #[serde(deserialize_with = "json::integer")]
    pub amount_cents: i64,
    /// ISO 4217, e.g. `eur`.
    pub currency: String,
    /// Months for `one_time`, days for `trial`; not allowed otherwise.
    #[serde(default, deserialize_with = "json::opt_integer")]
    pub duration: Option<i64>,
}

impl utoipa::PartialSchema for PriceInput {
    fn schema() -> RefOr<Schema> {
        schema::price_input()
    }
}

impl ToSchema for PriceInput {
    fn name() -> std::borrow::Cow<'static, str> {
        "PriceInput".into()
    }
}

/// A new product; see each field's description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    #[schema(schema_with = name_new)]
    pub name: String,
    #[schema(schema_with = slug_new)]
    pub slug: Option<String>,
    #[serde(default)]
    #[schema(schema_with = description_new)]
    pub description: String,
    /// No online price: customers are asked to contact sales.
    #[serde(default)]
    pub contact_sales: bool,
    #[serde(default)]
    #[schema(schema_with = repositories_new)]
    pub repositories: Vec<String>,
    /// At most 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub prices: Vec<PriceInput>,
    #[schema(schema_with = status_new)]
    pub status: Option<String>,
}

/// Fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[schema(schema_with = name_patch)]
    pub name: Option<String>,
    #[schema(schema_with = slug_patch)]
    pub slug: Option<String>,
    #[schema(schema_with = description_patch)]
    pub description: Option<String>,
    pub contact_sales: Option<bool>,
    #[schema(schema_with = repositories_patch)]
    pub repositories: Option<Vec<String>>,
    #[schema(schema_with = status_patch)]
    pub status: Option<String>,
    #[schema(schema_with = licence_patch)]
    pub licence: Option<String>,
    /// Pulled through the portal's pull gateway only (the registry itself
    /// grants customers nothing for it).
    pub gateway: Option<bool>,
}

/// A product's price.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PricePath {
    #[param(schema_with = product_id)]
    pub id: i64,
    #[param(schema_with = price_id)]
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

/// Every product (with all its prices), or those with one status.
#[utoipa::path(get, path = "/api/v1/products", tag = "products", params(ProductQuery),
    responses((status = 200, body = ItemList<ProductView>)))]
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

/// One product.
#[utoipa::path(get, path = "/api/v1/products/{id}", tag = "products", params(IdPath),
    responses((status = 200, body = ProductView)))]
pub async fn get_one(
    CanRead(_caller): CanRead,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
) -> Result<Json<ProductView>, ApiError> {
    Ok(Json(catalogue::get(&st.db, p.id).await?))
}

/// Creates a draft product with its repositories and prices, all or nothing.
#[utoipa::path(post, path = "/api/v1/products", tag = "products", request_body = NewProduct,
    responses((status = 201, body = ProductView), (status = 409, description = "Another product has this slug", body = ErrorBody)))]
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
    plain_text("description", Some(&body.description), true)?;
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

/// Changes any of a product's fields and its status in one transaction;
/// absent fields stay as they are. A request that changes nothing answers
/// the product as it is and writes no audit event.
#[utoipa::path(patch, path = "/api/v1/products/{id}", tag = "products", params(IdPath), request_body = ProductPatch,
    responses((status = 200, body = ProductView),
        (status = 409, description = "Another product has this slug (`slug`), publishing needs a repository and a price or contact sales (`status`), or a perpetual licence without the gateway (`gateway`)", body = ErrorBody)))]
pub async fn patch(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<ProductPatch>,
) -> Result<Json<ProductView>, ApiError> {
    let status = body.status.as_deref().map(|s| parse_status("status", s)).transpose()?;
    plain_text("description", body.description.as_deref(), true)?;
    // `update` replaces every field: start from what is stored.
    let current = catalogue::get(&st.db, p.id).await?;
    // The delivery is checked before anything changes.
    let licence = match body.licence.as_deref() {
        None => current.licence,
        Some(l) => Licence::parse(l).ok_or_else(|| ApiError::from(AppError::invalid("licence", "subscription or perpetual")))?,
    };
    let delivery = (licence, body.gateway.unwrap_or(current.gateway));
    // Valid on its own, refused with what the product is (or becomes): 409.
    if delivery.0 == Licence::Perpetual && !delivery.1 {
        return Err(ApiError::Conflict {
            field: "gateway".into(),
            message: "a perpetual licence is served through the pull gateway: only it sees versions".into(),
        });
    }
    let input = catalogue::ProductInput {
        name: body.name.unwrap_or(current.name),
        slug: Some(body.slug.unwrap_or(current.slug)),
        description: body.description.clone().unwrap_or(current.description),
        contact_sales: body.contact_sales.unwrap_or(current.contact_sales),
        repositories: body.repositories.unwrap_or(current.repositories),
    };
    let view = catalogue::update(&st.db, p.id, &input, status, caller.actor(), &caller.meta).await.map_err(|e| match e {
        // The fields are parsed before: a refused status is the publishing check.
        AppError::Invalid { field, message } if field == "status" => ApiError::Conflict { field, message },
        e => e.into(),
    })?;
    billing::sync_after_change(&st, p.id).await;
    if body.licence.is_none() && body.gateway.is_none() {
        return Ok(Json(view));
    }
    Ok(Json(catalogue::set_delivery(&st.db, p.id, delivery.0, delivery.1, caller.actor(), &caller.meta).await?))
}

/// Adds a price option to a product.
#[utoipa::path(post, path = "/api/v1/products/{id}/prices", tag = "products", params(IdPath), request_body = PriceInput,
    responses((status = 201, description = "The product with its new price", body = ProductView)))]
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
#[utoipa::path(delete, path = "/api/v1/products/{id}/prices/{price_id}", tag = "products", params(PricePath),
    responses((status = 200, description = "The product after the change", body = ProductView),
        (status = 404, description = "No such product, or no such price of it", body = ErrorBody)))]
pub async fn remove_price(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<PricePath>,
) -> Result<Json<ProductView>, ApiError> {
    let view = catalogue::remove_price(&st.db, p.id, p.price_id, caller.actor(), &caller.meta).await?;
    billing::sync_after_change(&st, p.id).await;
    Ok(Json(view))
}
