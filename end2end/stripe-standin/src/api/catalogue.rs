//! Customers, products and prices.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::Response;

use super::{boolean, int, reply, required, write, AppState};
use crate::error::ApiError;
use crate::form::Params;
use crate::objects;
use crate::records::new_customer;
use crate::state::{new_id, now, Metadata, Price, Product, Recurring};

fn merge_metadata(target: &mut Metadata, p: &Params<'_>) {
    for (key, value) in p.metadata_update("metadata").unwrap_or_default() {
        if value.is_empty() {
            target.remove(&key);
        } else {
            target.insert(key, value.into());
        }
    }
}

fn text(p: &Params<'_>, name: &str) -> Option<String> {
    p.str(name).map(str::to_string)
}

pub async fn create_customer(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(&shared, &headers, "/v1/customers", &body, |p, _| {
        let mut store = shared.lock();
        let id = new_customer(&mut store, text(p, "email"), text(p, "name"));
        let customer = store
            .customers
            .get_mut(&id)
            .ok_or_else(|| ApiError::no_such("customer", &id, None))?;
        customer.description = text(p, "description");
        customer.phone = text(p, "phone");
        customer.metadata = p.metadata("metadata");
        Ok(objects::customer(customer))
    })
}

pub async fn get_customer(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    reply(
        store
            .customers
            .get(&id)
            .map(objects::customer)
            .ok_or_else(|| ApiError::no_such("customer", &id, Some("id"))),
    )
}

pub async fn update_customer(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(
        &shared,
        &headers,
        &format!("/v1/customers/{id}"),
        &body,
        |p, _| {
            let mut store = shared.lock();
            let c = store
                .customers
                .get_mut(&id)
                .ok_or_else(|| ApiError::no_such("customer", &id, Some("id")))?;
            if let Some(v) = p.get("email") {
                c.email = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            }
            if let Some(v) = p.get("name") {
                c.name = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            }
            if let Some(v) = p.get("description") {
                c.description = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            }
            merge_metadata(&mut c.metadata, p);
            Ok(objects::customer(c))
        },
    )
}

pub async fn create_product(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(&shared, &headers, "/v1/products", &body, |p, _| {
        let name = required(p, "name")?.to_string();
        let active = boolean(p, "active")?.unwrap_or(true);
        let mut store = shared.lock();
        let id = text(p, "id").unwrap_or_else(|| new_id("prod_", 14));
        if store.products.contains_key(&id) {
            return Err(ApiError {
                code: Some("resource_already_exists"),
                ..ApiError::invalid(format!("Product already exists: '{id}'"), Some("id"))
            });
        }
        let created = now();
        let product = Product {
            id: id.clone(),
            created,
            updated: created,
            name,
            description: text(p, "description"),
            active,
            metadata: p.metadata("metadata"),
        };
        let json = objects::product(&product);
        store.products.insert(id, product);
        Ok(json)
    })
}

pub async fn get_product(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    reply(
        store
            .products
            .get(&id)
            .map(objects::product)
            .ok_or_else(|| ApiError::no_such("product", &id, Some("id"))),
    )
}

pub async fn update_product(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(
        &shared,
        &headers,
        &format!("/v1/products/{id}"),
        &body,
        |p, _| {
            let active = boolean(p, "active")?;
            let mut store = shared.lock();
            let product = store
                .products
                .get_mut(&id)
                .ok_or_else(|| ApiError::no_such("product", &id, Some("id")))?;
            if let Some(name) = p.get("name") {
                let name = name.as_str().filter(|s| !s.is_empty());
                product.name = name
                    .ok_or_else(|| ApiError::bad_param("name", "You cannot unset `name`."))?
                    .to_string();
            }
            if let Some(v) = p.get("description") {
                product.description = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            }
            if let Some(active) = active {
                product.active = active;
            }
            merge_metadata(&mut product.metadata, p);
            product.updated = now();
            Ok(objects::product(product))
        },
    )
}

pub async fn create_price(
    State(shared): State<AppState>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(&shared, &headers, "/v1/prices", &body, |p, _| {
        let product = required(p, "product")?.to_string();
        let currency = required(p, "currency")?.to_ascii_lowercase();
        if currency.len() != 3 || !currency.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ApiError::bad_param(
                "currency",
                format!("Invalid currency: {currency}."),
            ));
        }
        let unit_amount =
            int(p, "unit_amount")?.ok_or_else(|| ApiError::missing_param("unit_amount"))?;
        if unit_amount < 0 {
            return Err(ApiError::bad_param(
                "unit_amount",
                "This value must be greater than or equal to 0.",
            ));
        }
        let recurring = match p.get("recurring") {
            None => None,
            Some(_) => {
                let interval = required(p, "recurring.interval")?.to_string();
                if !["day", "week", "month", "year"].contains(&interval.as_str()) {
                    return Err(ApiError::bad_param(
                        "recurring[interval]",
                        "Invalid recurring[interval]: must be one of day, week, month, or year",
                    ));
                }
                let interval_count = int(p, "recurring.interval_count")?.unwrap_or(1);
                if interval_count < 1 {
                    return Err(ApiError::bad_param(
                        "recurring[interval_count]",
                        "Invalid interval count.",
                    ));
                }
                Some(Recurring {
                    interval,
                    interval_count,
                })
            }
        };
        let active = boolean(p, "active")?.unwrap_or(true);
        let mut store = shared.lock();
        if !store.products.contains_key(&product) {
            return Err(ApiError::no_such_param("product", &product, "product"));
        }
        let id = new_id("price_", 24);
        let price = Price {
            id: id.clone(),
            created: now(),
            product,
            currency,
            unit_amount,
            recurring,
            active,
            nickname: text(p, "nickname"),
            lookup_key: text(p, "lookup_key"),
            metadata: p.metadata("metadata"),
        };
        let json = objects::price(&price);
        store.prices.insert(id, price);
        Ok(json)
    })
}

pub async fn get_price(State(shared): State<AppState>, Path(id): Path<String>) -> Response {
    let store = shared.lock();
    reply(
        store
            .prices
            .get(&id)
            .map(objects::price)
            .ok_or_else(|| ApiError::no_such("price", &id, Some("id"))),
    )
}

pub async fn update_price(
    State(shared): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    write(
        &shared,
        &headers,
        &format!("/v1/prices/{id}"),
        &body,
        |p, _| {
            let active = boolean(p, "active")?;
            let mut store = shared.lock();
            let price = store
                .prices
                .get_mut(&id)
                .ok_or_else(|| ApiError::no_such("price", &id, Some("id")))?;
            if let Some(active) = active {
                price.active = active;
            }
            if let Some(v) = p.get("nickname") {
                price.nickname = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            }
            if let Some(v) = p.get("lookup_key") {
                price.lookup_key = v.as_str().filter(|s| !s.is_empty()).map(str::to_string);
            }
            merge_metadata(&mut price.metadata, p);
            Ok(objects::price(price))
        },
    )
}
