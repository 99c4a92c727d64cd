//! The REST API, `/api/v1/…`, for the vendor's CRM, ERP or shop.
//!
//! Callers send `Authorization: Bearer pc_…` (an API key, role admin or
//! auditor; see `auth.rs`). Answers are JSON; errors have the one shape of
//! `error.rs`. The route table below is the single source of truth: it
//! builds the router, lists every route in `ROUTES` (which the tests walk,
//! so a write route without a role check fails them), and lists the
//! handlers whose `#[utoipa::path]` make the OpenAPI document served at
//! `/api/v1/openapi.json`.

pub mod audit;
pub mod audit_export;
pub mod auth;
pub mod credentials;
pub mod customers;
pub mod entitlements;
pub mod error;
pub mod json;
pub mod orders;
pub mod products;

use app::backend::web::AppState;
use axum::{middleware, Json, Router};
use error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    IntoParams, Modify, OpenApi, ToSchema,
};

/// The prefix the router is nested under.
pub const PREFIX: &str = "/api/v1";

/// One route: lower-case method and full path (as in the OpenAPI document).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
}

impl ApiRoute {
    /// Everything but GET changes data and needs an admin key.
    pub fn is_write(&self) -> bool {
        self.method != "get"
    }
}

/// Declares the routes once: the router, `ROUTES` and the OpenAPI paths all
/// come from this list, so they cannot drift apart.
macro_rules! api_routes {
    ($($method:ident $path:literal => $($handler:ident)::+),* $(,)?) => {
        /// Every route of the REST API.
        pub const ROUTES: &[ApiRoute] = &[$(ApiRoute { method: stringify!($method), path: concat!("/api/v1", $path) }),*];

        fn routes() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($($handler)::+)))*
        }

        #[derive(OpenApi)]
        #[openapi(
            info(title = "Portcullis REST API", version = "1",
                description = "Manage products, customers, entitlements and customers' registry pull credentials; read and export the audit log. Authenticate with `Authorization: Bearer <API key>`; \
                               keys with role `auditor` may only read. Errors: `{\"error\":{\"code\",\"message\",\"field\"?,\"request_id\"?}}`."),
            paths($($($handler)::+),*),
            components(schemas(error::ErrorBody)),
            modifiers(&BearerAuth),
            security(("bearer" = [])),
            tags((name = "products"), (name = "customers"), (name = "entitlements"), (name = "credentials"), (name = "audit"), (name = "meta")),
        )]
        pub struct ApiDoc;
    };
}

api_routes! {
    get "/openapi.json" => openapi_json,
    get "/products" => products::list,
    post "/products" => products::create,
    get "/products/{id}" => products::get_one,
    patch "/products/{id}" => products::patch,
    post "/products/{id}/prices" => products::add_price,
    delete "/products/{id}/prices/{price_id}" => products::remove_price,
    get "/customers" => customers::list,
    post "/customers" => customers::create,
    get "/customers/{id}" => customers::get_one,
    get "/customers/{id}/credentials" => credentials::list_for_customer,
    get "/customers/{id}/orders" => orders::list_for_customer,
    post "/customers/{id}/credentials" => credentials::create,
    get "/credentials/{id}" => credentials::get_one,
    post "/credentials/{id}/rotate" => credentials::rotate,
    delete "/credentials/{id}" => credentials::revoke,
    get "/entitlements" => entitlements::list,
    post "/entitlements" => entitlements::create,
    get "/entitlements/{id}" => entitlements::get_one,
    patch "/entitlements/{id}" => entitlements::patch,
    get "/audit" => audit::list,
    get "/audit/{id}" => audit::get_one,
}

/// The write routes, for the role-check test.
pub fn write_routes() -> impl Iterator<Item = &'static ApiRoute> {
    ROUTES.iter().filter(|r| r.is_write())
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("pc_<key id>_<secret>")
            .description(Some("An API key made in the admin UI or with `portcullis apikey create`."))
            .build();
        openapi.components.get_or_insert_with(Default::default).add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// A numeric id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    pub id: i64,
}

/// A list answer: `{"items": [...]}` (an object, so fields can be added).
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList<T> {
    pub items: Vec<T>,
}

pub const LIMIT_DEFAULT: i64 = 50;
pub const LIMIT_MAX: i64 = 200;

/// Checks paging parameters: `limit` 1–200 (default 50), `offset` ≥ 0.
pub fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(LIMIT_DEFAULT);
    if !(1..=LIMIT_MAX).contains(&limit) {
        return Err(ApiError::bad_request(Some("limit".into()), format!("limit must be 1–{LIMIT_MAX}")));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::bad_request(Some("offset".into()), "offset must be 0 or more"));
    }
    Ok((limit, offset))
}

/// This document. Public: clients fetch it before they have a key.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this API", content_type = "application/json")))]
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

/// The API router, to be nested under `/api/v1`. Unknown routes and methods
/// get JSON errors, not the HTML pages.
pub fn router() -> Router<AppState> {
    routes()
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .layer(middleware::from_fn(error::log_internal_errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_lists_exactly_the_routes() {
        let doc = ApiDoc::openapi();
        let mut documented = Vec::new();
        for (path, item) in &doc.paths.paths {
            let ops = [("get", &item.get), ("post", &item.post), ("patch", &item.patch), ("put", &item.put), ("delete", &item.delete)];
            for (method, op) in ops {
                if op.is_some() {
                    documented.push(format!("{method} {path}"));
                }
            }
        }
        let mut routed: Vec<String> = ROUTES.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
        documented.sort();
        routed.sort();
        assert_eq!(documented, routed);
        assert!(ROUTES.iter().all(|r| r.path.starts_with(PREFIX)));
    }

    #[test]
    fn paging_is_bounded() {
        assert_eq!(page(None, None), Ok((50, 0)));
        assert_eq!(page(Some(200), Some(10)), Ok((200, 10)));
        assert!(page(Some(0), None).is_err());
        assert!(page(Some(201), None).is_err());
        assert!(page(None, Some(-1)).is_err());
    }
}
