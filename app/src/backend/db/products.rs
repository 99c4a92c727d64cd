//! `products`, `product_repositories`, `prices`.

use crate::backend::db::{Db, Tx};
use crate::domain::catalogue::ProductStatus;
use crate::domain::release::Licence;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProductRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub status: ProductStatus,
    pub contact_sales: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What its entitlements cover, and whether it is pulled through the gateway.
    pub licence: Licence,
    pub gateway: bool,
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct PriceRow {
    pub id: i64,
    pub product_id: i64,
    pub kind: String,
    pub amount_cents: i64,
    pub currency: String,
    pub duration: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

const PRODUCT_COLUMNS: &str = "id, slug, name, description, status, contact_sales, created_at, updated_at, licence, gateway";
const PRICE_COLUMNS: &str = "id, product_id, kind, amount_cents, currency, duration, active, created_at";

/// The fields an admin sets on a product.
#[derive(Clone, Debug)]
pub struct ProductFields<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub contact_sales: bool,
}

pub async fn insert(tx: &mut Tx, f: &ProductFields<'_>, status: &str, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO products (slug, name, description, status, contact_sales, created_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(f.slug)
        .bind(f.name)
        .bind(f.description)
        .bind(status)
        .bind(f.contact_sales)
        .bind(now)
        .fetch_one(conn)
        .await)
}

/// Returns false when there is no such product.
pub async fn update(tx: &mut Tx, id: i64, f: &ProductFields<'_>, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE products SET slug = $1, name = $2, description = $3, contact_sales = $4, updated_at = $5 \
               WHERE id = $6";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(f.slug)
        .bind(f.name)
        .bind(f.description)
        .bind(f.contact_sales)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn set_status(tx: &mut Tx, id: i64, status: ProductStatus, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE products SET status = $1, updated_at = $2 WHERE id = $3";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(status)
        .bind(now)
        .bind(id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn find(db: &Db, id: i64) -> Result<Option<ProductRow>, sqlx::Error> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn find_in(tx: &mut Tx, id: i64) -> Result<Option<ProductRow>, sqlx::Error> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

pub async fn find_by_slug(db: &Db, slug: &str) -> Result<Option<ProductRow>, sqlx::Error> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE slug = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(slug).fetch_optional(pool).await)
}

/// The product whose slug is `name`, or else the ids of those whose name
/// is `name` in any case (ASCII case on SQLite), at most `limit`.
pub async fn ids_named(db: &Db, name: &str, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    if let Some(p) = find_by_slug(db, name).await? {
        return Ok(vec![p.id]);
    }
    let sql = "SELECT id FROM products WHERE LOWER(name) = LOWER($1) ORDER BY id LIMIT $2";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(name).bind(limit).fetch_all(pool).await)
}

/// All products, or those with `status`, by name.
pub async fn list(db: &Db, status: Option<&str>) -> Result<Vec<ProductRow>, sqlx::Error> {
    let sql = format!("SELECT {PRODUCT_COLUMNS} FROM products WHERE ($1 IS NULL OR status = $1) ORDER BY name, id");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(status).fetch_all(pool).await)
}

/// Replaces a product's repository patterns.
pub async fn replace_repositories(tx: &mut Tx, product_id: i64, patterns: &[String]) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| {
        sqlx::query("DELETE FROM product_repositories WHERE product_id = $1").bind(product_id).execute(&mut *conn).await?;
        for p in patterns {
            sqlx::query("INSERT INTO product_repositories (product_id, pattern) VALUES ($1, $2)")
                .bind(product_id)
                .bind(p)
                .execute(&mut *conn)
                .await?;
        }
        Ok(())
    })
}

/// `(product_id, pattern)` for the given products, or all when `None`.
pub async fn repositories(db: &Db, product_id: Option<i64>) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let sql = "SELECT product_id, pattern FROM product_repositories WHERE ($1 IS NULL OR product_id = $1) \
               ORDER BY product_id, pattern";
    on_db!(db, |pool| sqlx::query_as(sql).bind(product_id).fetch_all(pool).await)
}

pub async fn insert_price(
    tx: &mut Tx,
    product_id: i64,
    kind: &str,
    amount_cents: i64,
    currency: &str,
    duration: Option<i64>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO prices (product_id, kind, amount_cents, currency, duration, active, created_at) \
               VALUES ($1, $2, $3, $4, $5, TRUE, $6) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(product_id)
        .bind(kind)
        .bind(amount_cents)
        .bind(currency)
        .bind(duration)
        .bind(now)
        .fetch_one(conn)
        .await)
}

/// Deactivates a price of `product_id` (prices are never deleted: orders refer to them).
pub async fn deactivate_price(tx: &mut Tx, product_id: i64, price_id: i64) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE prices SET active = FALSE WHERE id = $1 AND product_id = $2 AND active";
    on_tx!(tx, |conn| sqlx::query(sql)
        .bind(price_id)
        .bind(product_id)
        .execute(conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

pub async fn price(db: &Db, id: i64) -> Result<Option<PriceRow>, sqlx::Error> {
    let sql = format!("SELECT {PRICE_COLUMNS} FROM prices WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn price_in(tx: &mut Tx, id: i64) -> Result<Option<PriceRow>, sqlx::Error> {
    let sql = format!("SELECT {PRICE_COLUMNS} FROM prices WHERE id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

/// The price Stripe knows by this id (a subscription moved to another price).
pub async fn price_by_stripe_id_in(tx: &mut Tx, stripe_price_id: &str) -> Result<Option<PriceRow>, sqlx::Error> {
    let sql = format!("SELECT {PRICE_COLUMNS} FROM prices WHERE stripe_price_id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(stripe_price_id).fetch_optional(conn).await)
}

/// Prices of a product (or of all products), oldest first.
pub async fn prices(db: &Db, product_id: Option<i64>, only_active: bool) -> Result<Vec<PriceRow>, sqlx::Error> {
    let sql = format!(
        "SELECT {PRICE_COLUMNS} FROM prices WHERE ($1 IS NULL OR product_id = $1) AND (active OR NOT $2) \
         ORDER BY product_id, id"
    );
    on_db!(db, |pool| sqlx::query_as(&sql).bind(product_id).bind(only_active).fetch_all(pool).await)
}

/// Sets how a product is delivered; false when there is no such product.
pub async fn set_delivery(tx: &mut Tx, id: i64, licence: Licence, gateway: bool, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE products SET licence = $1, gateway = $2, updated_at = $3 WHERE id = $4";
    on_tx!(tx, |conn| sqlx::query(sql).bind(licence).bind(gateway).bind(now).bind(id).execute(conn).await.map(|r| r.rows_affected() == 1))
}
