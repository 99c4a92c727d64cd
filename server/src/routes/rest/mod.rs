//! The REST API, `/api/v1/…`, for the vendor's CRM, ERP or shop.
//!
//! Callers send `Authorization: Bearer pc_…` (an API key, role admin or
//! auditor; see `auth.rs`). Answers are JSON; errors have the one shape of
//! `error.rs`. The route table below is the single source of truth: it
//! builds the router, lists every route in `ROUTES` with the role it needs
//! (which the tests walk, so a write route without a role check fails
//! them), and lists the handlers whose `#[utoipa::path]` make the OpenAPI
//! document served at `/api/v1/openapi.json`; `Contract` then writes each
//! route's role and the statuses every route of its kind can answer into
//! that document, and `schema.rs` gives parameters and bodies their bounds.
//!
//! Least privilege: the API manages customers' **pull** credentials only.
//! Push credentials (the vendor's CI) are reachable only from an admin's
//! session in the UI and from the CLI; here they answer 404, like a
//! missing id.

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
pub mod requests;
pub mod schema;

use app::backend::web::AppState;
use axum::{middleware, Json, Router};
use error::ApiError;
use serde::{Deserialize, Serialize};
use utoipa::{
    openapi::{
        extensions::Extensions,
        path::ParameterIn,
        Required,
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
        ContentBuilder, Ref, RefOr, ResponseBuilder,
    },
    IntoParams, Modify, OpenApi, ToSchema,
};

/// The prefix the router is nested under.
pub const PREFIX: &str = "/api/v1";

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// No key needed (the OpenAPI document).
    Public,
    /// A key with role admin or auditor (`auth::CanRead`).
    AdminOrAuditor,
    /// A key with role admin (`auth::CanWrite`).
    Admin,
}

impl Access {
    /// As the document's `x-required-role` says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::AdminOrAuditor => "admin or auditor",
            Self::Admin => "admin",
        }
    }
}

/// One route: lower-case method, full path (as in the OpenAPI document), the
/// role it needs and its handler (`products :: list`, as written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ApiRoute {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub handler: &'static str,
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
    ($($access:ident $method:ident $path:literal => $($handler:ident)::+),* $(,)?) => {
        /// Every route of the REST API.
        pub const ROUTES: &[ApiRoute] = &[$(ApiRoute {
            method: stringify!($method),
            path: concat!("/api/v1", $path),
            access: Access::$access,
            handler: stringify!($($handler)::+),
        }),*];

        fn routes() -> Router<AppState> {
            Router::new()$(.route($path, axum::routing::$method($($handler)::+)))*
        }

        #[derive(OpenApi)]
        #[openapi(
            info(title = "Portcullis REST API", version = "1",
                description = "Manage products, customers, entitlements and customers' registry pull credentials; read and answer customers' trial and sales requests; read and export the audit log. Authenticate with `Authorization: Bearer <API key>`. \
                               Each operation names the role its key needs (`x-required-role`: `admin`, `admin or auditor`, or `public`); keys with role `auditor` may only read. \
                               Push credentials (the vendor's CI) are not reachable here: only from an admin's session in the UI and from the CLI. \
                               Errors: `{\"error\":{\"code\",\"message\",\"field\"?,\"request_id\"?}}`; 404 also when a record named in a body does not exist, 409 when the record's current state forbids the change."),
            paths($($($handler)::+),*),
            components(schemas(error::ErrorBody)),
            modifiers(&BearerAuth, &Contract),
            security(("bearer" = [])),
            tags((name = "products"), (name = "customers"), (name = "entitlements"), (name = "credentials"), (name = "orders"), (name = "requests"), (name = "audit"), (name = "meta")),
        )]
        pub struct ApiDoc;
    };
}

api_routes! {
    Public get "/openapi.json" => openapi_json,
    AdminOrAuditor get "/products" => products::list,
    Admin post "/products" => products::create,
    AdminOrAuditor get "/products/{id}" => products::get_one,
    Admin patch "/products/{id}" => products::patch,
    Admin post "/products/{id}/prices" => products::add_price,
    Admin delete "/products/{id}/prices/{price_id}" => products::remove_price,
    AdminOrAuditor get "/customers" => customers::list,
    Admin post "/customers" => customers::create,
    AdminOrAuditor get "/customers/{id}" => customers::get_one,
    Admin patch "/customers/{id}" => customers::patch,
    Admin post "/customers/{id}/password-reset" => customers::send_reset,
    AdminOrAuditor get "/customers/{id}/sessions" => customers::sessions,
    Admin delete "/customers/{id}/sessions/{session_id}" => customers::end_session,
    Admin delete "/customers/{id}/sessions" => customers::end_sessions,
    AdminOrAuditor get "/customers/{id}/credentials" => credentials::list_for_customer,
    AdminOrAuditor get "/customers/{id}/orders" => orders::list_for_customer,
    Admin post "/customers/{id}/credentials" => credentials::create,
    AdminOrAuditor get "/credentials/{id}" => credentials::get_one,
    Admin post "/credentials/{id}/rotate" => credentials::rotate,
    Admin delete "/credentials/{id}" => credentials::revoke,
    AdminOrAuditor get "/entitlements" => entitlements::list,
    Admin post "/entitlements" => entitlements::create,
    AdminOrAuditor get "/entitlements/{id}" => entitlements::get_one,
    Admin patch "/entitlements/{id}" => entitlements::patch,
    AdminOrAuditor get "/requests" => requests::list,
    AdminOrAuditor get "/requests/{id}" => requests::get_one,
    Admin post "/requests/{id}/answer" => requests::answer,
    AdminOrAuditor get "/audit" => audit::list,
    AdminOrAuditor get "/audit/{id}" => audit::get_one,
}

/// The routes only an admin key may call, for the role-check test.
pub fn write_routes() -> impl Iterator<Item = &'static ApiRoute> {
    ROUTES.iter().filter(|r| r.access == Access::Admin)
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

/// What every route of a kind can answer besides its own statuses: the
/// role on each operation (`x-required-role` and the first words of its
/// description, from `ROUTES`), 401/403 from the key check, 400 from path
/// and query parsing, 404 for a path naming a record, 400/413/415/422 from
/// the JSON body extractor, 500 (a request id only), all with `ErrorBody`.
/// It also names each operation by its handler (`products_list`: unique, as
/// OpenAPI wants), marks path parameters required and lifts each
/// parameter's description from its schema (`schema::doc`).
struct Contract;

impl Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let error = |what: &str| {
            ResponseBuilder::new()
                .description(what)
                .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
                .build()
        };
        for route in ROUTES {
            let Some(item) = openapi.paths.paths.get_mut(route.path) else { continue };
            let op = match route.method {
                "get" => item.get.as_mut(),
                "post" => item.post.as_mut(),
                "patch" => item.patch.as_mut(),
                "put" => item.put.as_mut(),
                "delete" => item.delete.as_mut(),
                _ => None,
            };
            let Some(op) = op else { continue };
            op.operation_id = Some(route.handler.replace(' ', "").replace("::", "_"));
            for p in op.parameters.iter_mut().flatten() {
                if p.parameter_in == ParameterIn::Path {
                    p.required = Required::True;
                }
                if p.description.is_none() {
                    if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(o))) = &p.schema {
                        p.description = o.description.clone();
                    } else if let Some(RefOr::T(utoipa::openapi::schema::Schema::OneOf(o))) = &p.schema {
                        p.description = o.description.clone();
                    }
                }
            }
            let role = route.access.as_str();
            op.extensions.get_or_insert_with(Extensions::default).insert("x-required-role".into(), role.into());
            let said = match route.access {
                Access::Public => "Public: no API key needed.".to_owned(),
                _ => format!("Role: `{role}`."),
            };
            op.description = Some(match op.description.take() {
                Some(d) if !d.is_empty() => format!("{said}\n\n{d}"),
                _ => said,
            });
            let mut add = |status: &str, what: &str| {
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| RefOr::T(error(what)));
            };
            if route.access == Access::Public {
                continue;
            }
            add("401", "No, malformed, unknown or revoked API key (`unauthenticated`)");
            if route.access == Access::Admin {
                add("403", "The key's role may not do this (`forbidden`; audited as `authz.denied`)");
            }
            let params = op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if params {
                add("400", "A path or query parameter is malformed or unknown (`bad_request`, naming it in `field`)");
            }
            if route.path.contains('{') {
                add("404", "No such record (`not_found`)");
            }
            if op.request_body.is_some() {
                add("400", "The body is not valid JSON (`bad_request`)");
                add("413", "The body is larger than the server accepts (`payload_too_large`)");
                add("415", "The body is not sent as `Content-Type: application/json` (`unsupported_media_type`)");
                add("422", "A field is missing, unknown, of the wrong type or invalid (`validation_failed`, naming it in `field`)");
            }
            add("500", "Something failed on the server (`internal`; the answer carries only `request_id`, the cause is logged under it)");
        }
    }
}

/// A numeric id in the path.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct IdPath {
    #[param(schema_with = id_schema)]
    pub id: i64,
}

/// A list answer: `{"items": [...]}` (an object, so fields can be added).
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemList<T> {
    pub items: Vec<T>,
}

pub const LIMIT_DEFAULT: i64 = 50;
pub const LIMIT_MAX: i64 = 200;

schema::documented! {
    /// `limit` as the paged lists take it.
    pub fn limit_schema() = schema::range(1, LIMIT_MAX, false), "Page size: 1–200, default 50.";
    /// `offset`: 0 or more.
    pub fn offset_schema() = schema::range(0, i64::MAX, false), "How many to skip: 0 or more, default 0.";
    fn id_schema() = schema::id(), "The record's id.";
}

/// Refuses text with control characters before it goes further
/// (`domain::text`: with `lines`, free text, where tabs and line breaks are
/// allowed; else one line): nobody means one, and PostgreSQL cannot store a
/// NUL.
pub fn plain_text(field: &str, v: Option<&str>, lines: bool) -> Result<(), ApiError> {
    let ok = |v: &str| if lines { app::domain::text::is_free_text(v) } else { app::domain::text::is_one_line(v) };
    if v.is_some_and(|v| !ok(v)) {
        return Err(ApiError::invalid(field, format!("{field} must not contain control characters")));
    }
    Ok(())
}

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
    fn the_document_has_no_dangling_reference() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        assert!(doc["components"]["schemas"].is_object());
        assert_eq!(schema::dangling_refs(&doc), Vec::<String>::new());
    }

    #[test]
    fn every_operation_names_its_role_and_errors() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method];
            let name = format!("{} {}", r.method, r.path);
            assert_eq!(op["x-required-role"], r.access.as_str(), "{name}");
            assert!(op["description"].as_str().is_some_and(|d| d.contains(if r.access == Access::Public { "Public" } else { r.access.as_str() })), "{name}");
            let has = |s: &str| op["responses"].get(s).is_some();
            // Reads are GETs, for any key; everything else is an admin's.
            assert_eq!(r.access == Access::Admin, r.is_write(), "{name}");
            if r.access != Access::Public {
                assert!(has("401") && has("500"), "{name}");
                assert_eq!(has("403"), r.access == Access::Admin, "{name}");
            }
            if op.get("requestBody").is_some() {
                assert!(["400", "413", "415", "422"].iter().all(|s| has(s)), "{name}");
            }
            if r.path.contains('{') {
                assert!(has("404"), "{name}");
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                let s = &p["schema"];
                let bounded = s.get("enum").is_some()
                    || s.get("maximum").is_some()
                    || s.get("maxLength").is_some()
                    || s.get("oneOf").is_some();
                assert!(bounded, "{name}: parameter {} has no bounds: {s}", p["name"]);
            }
        }
    }

    #[test]
    fn operations_have_unique_ids_and_required_path_parameters() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
        let mut ids = Vec::new();
        for r in ROUTES {
            let op = &doc["paths"][r.path][r.method];
            ids.push(op["operationId"].as_str().unwrap_or_default().to_owned());
            for p in op["parameters"].as_array().into_iter().flatten() {
                assert!(p["description"].is_string(), "{} {}: {p}", r.method, r.path);
                if p["in"] == "path" {
                    assert_eq!(p["required"], true, "{} {}: {p}", r.method, r.path);
                }
            }
        }
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "{ids:?}");
        assert!(ids.contains(&"products_list".to_owned()));
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
