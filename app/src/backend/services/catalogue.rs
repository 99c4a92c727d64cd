//! Products: create, edit, publish, archive; their repositories and prices.
//! Every change is audited in its own transaction with the change.

use crate::backend::services::{audit, markdown};
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::products::ProductFields;
use crate::backend::db::Db;
use crate::backend::web::request::RequestMeta;
use crate::domain::time::rfc3339;
use crate::domain::catalogue::{
    parse_description, parse_product_name, PriceKind, PriceSpec, ProductStatus, RepoPattern, Slug,
};
use crate::domain::release::Licence;
use crate::error::AppError;
use crate::views::{PriceView, ProductView};
use chrono::Utc;
use serde_json::json;

/// What an admin submits for a product (create or edit).
#[derive(Clone, Debug, Default)]
pub struct ProductInput {
    pub name: String,
    /// Empty: derived from the name.
    pub slug: Option<String>,
    pub description: String,
    pub contact_sales: bool,
    /// One pattern per entry.
    pub repositories: Vec<String>,
}

struct Parsed {
    name: String,
    slug: Slug,
    description: String,
    contact_sales: bool,
    repositories: Vec<String>,
}

fn parse(input: &ProductInput) -> Result<Parsed, AppError> {
    let name = parse_product_name(&input.name).map_err(|e| AppError::invalid("name", e))?;
    let slug = match input.slug.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Slug::parse(s).map_err(|e| AppError::invalid("slug", e))?,
        None => Slug::from_name(&name).ok_or_else(|| AppError::invalid("slug", "give a slug: none can be made from this name (a slug needs at least 2 letters or digits)"))?,
    };
    let description = parse_description(&input.description).map_err(|e| AppError::invalid("description", e))?;
    let mut repositories = Vec::new();
    for raw in input.repositories.iter().map(|r| r.trim()).filter(|r| !r.is_empty()) {
        let p = RepoPattern::parse(raw).map_err(|e| AppError::invalid("repositories", e))?.to_string();
        if !repositories.contains(&p) {
            repositories.push(p);
        }
    }
    if repositories.len() > 200 {
        return Err(AppError::invalid("repositories", "at most 200 repositories or prefixes per product"));
    }
    Ok(Parsed { name, slug, description, contact_sales: input.contact_sales, repositories })
}

fn slug_taken(e: &sqlx::Error) -> Option<AppError> {
    db::is_unique_violation(e).then(|| AppError::conflict("slug", "another product already uses this slug"))
}

/// Creates a draft product with its repositories and `prices`, all or nothing.
pub async fn create(
    db: &Db,
    input: &ProductInput,
    prices: &[PriceSpec],
    actor: Actor,
    meta: &RequestMeta,
) -> Result<ProductView, AppError> {
    let p = parse(input)?;
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let fields = ProductFields { slug: p.slug.as_str(), name: &p.name, description: &p.description, contact_sales: p.contact_sales };
    let id = match db::products::insert(&mut tx, &fields, ProductStatus::Draft.as_str(), now).await {
        Ok(id) => id,
        Err(e) => return Err(slug_taken(&e).unwrap_or_else(|| e.into())),
    };
    db::products::replace_repositories(&mut tx, id, &p.repositories).await?;
    let mut labels = Vec::new();
    for spec in prices {
        let duration = spec.kind.duration().map(i64::from);
        db::products::insert_price(&mut tx, id, spec.kind.as_str(), spec.amount_cents, &spec.currency, duration, now).await?;
        labels.push(spec.describe());
    }
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "product.create", Outcome::Success)
            .target("product", id)
            .meta(meta)
            .details(json!({ "slug": p.slug.as_str(), "name": p.name, "repositories": p.repositories, "prices": labels })),
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

/// Replaces a product's fields and repositories and, if `status` is given,
/// moves it there, in one transaction (publishing is checked against the new
/// fields). A change that changes nothing writes nothing, not even an audit
/// event, and answers the product as it is.
pub async fn update(
    db: &Db,
    id: i64,
    input: &ProductInput,
    status: Option<ProductStatus>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<ProductView, AppError> {
    let p = parse(input)?;
    let current = get(db, id).await?;
    if unchanged(&current, &p, status) {
        return Ok(current);
    }
    if status == Some(ProductStatus::Published) {
        let has_price = db::products::prices(db, Some(id), true).await?.iter().any(|r| r.active);
        check_publishable(&p.repositories, p.contact_sales, has_price)?;
    }
    let mut tx = db.begin().await?;
    let before = db::products::find_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let fields = ProductFields { slug: p.slug.as_str(), name: &p.name, description: &p.description, contact_sales: p.contact_sales };
    if let Err(e) = db::products::update(&mut tx, id, &fields, Utc::now()).await {
        return Err(slug_taken(&e).unwrap_or_else(|| e.into()));
    }
    db::products::replace_repositories(&mut tx, id, &p.repositories).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor.clone(), "product.update", Outcome::Success)
            .target("product", id)
            .meta(meta)
            .details(json!({
                "slug": { "from": before.slug, "to": p.slug.as_str() },
                "name": { "from": before.name, "to": p.name },
                "repositories": p.repositories,
                "contact_sales": p.contact_sales,
            })),
    )
    .await?;
    if let Some(status) = status.filter(|s| *s != before.status) {
        record_status(&mut tx, id, before.status, status, actor, meta).await?;
    }
    tx.commit().await?;
    get(db, id).await
}

/// Whether `p` (and `status`, if given) is what `current` already is.
fn unchanged(current: &ProductView, p: &Parsed, status: Option<ProductStatus>) -> bool {
    let sorted = |r: &[String]| {
        let mut r = r.to_vec();
        r.sort();
        r
    };
    current.slug == p.slug.as_str()
        && current.name == p.name
        && current.description == p.description
        && current.contact_sales == p.contact_sales
        && sorted(&current.repositories) == sorted(&p.repositories)
        && status.is_none_or(|s| s == current.status)
}

fn check_publishable(repositories: &[String], contact_sales: bool, has_active_price: bool) -> Result<(), AppError> {
    if repositories.is_empty() {
        return Err(AppError::invalid("status", "add at least one repository before publishing"));
    }
    if !contact_sales && !has_active_price {
        return Err(AppError::invalid("status", "add a price, or mark the product \"contact sales\", before publishing"));
    }
    Ok(())
}

async fn record_status(
    tx: &mut db::Tx,
    id: i64,
    from: ProductStatus,
    to: ProductStatus,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    db::products::set_status(tx, id, to, Utc::now()).await?;
    audit::record(
        tx,
        &AuditEvent::new(actor, "product.status", Outcome::Success)
            .target("product", id)
            .meta(meta)
            .details(json!({ "from": from.as_str(), "to": to.as_str() })),
    )
    .await?;
    Ok(())
}

/// Publishing needs something to sell: at least one repository, and a price
/// or "contact sales". Archiving keeps existing entitlements working.
pub async fn set_status(db: &Db, id: i64, status: ProductStatus, actor: Actor, meta: &RequestMeta) -> Result<ProductView, AppError> {
    let current = get(db, id).await?;
    if status == ProductStatus::Published {
        check_publishable(&current.repositories, current.contact_sales, current.prices.iter().any(|p| p.active))?;
    }
    if current.status == status {
        return Ok(current);
    }
    let mut tx = db.begin().await?;
    record_status(&mut tx, id, current.status, status, actor, meta).await?;
    tx.commit().await?;
    get(db, id).await
}

/// How a product is delivered: what its entitlements cover (`Licence`) and
/// whether it is pulled through the gateway only. A perpetual licence needs
/// the gateway (only the gateway sees versions). Audited as
/// `product.delivery`; a change of nothing records nothing.
pub async fn set_delivery(db: &Db, id: i64, licence: Licence, gateway: bool, actor: Actor, meta: &RequestMeta) -> Result<ProductView, AppError> {
    if licence == Licence::Perpetual && !gateway {
        return Err(AppError::invalid("gateway", "a perpetual licence is served through the pull gateway: only it sees versions"));
    }
    let current = get(db, id).await?;
    if current.licence == licence && current.gateway == gateway {
        return Ok(current);
    }
    let mut tx = db.begin().await?;
    db::products::set_delivery(&mut tx, id, licence, gateway, Utc::now()).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "product.delivery", Outcome::Success)
            .target("product", id)
            .meta(meta)
            .details(json!({
                "licence": { "from": current.licence.as_str(), "to": licence.as_str() },
                "gateway": { "from": current.gateway, "to": gateway },
            })),
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

pub async fn add_price(db: &Db, product_id: i64, spec: &PriceSpec, actor: Actor, meta: &RequestMeta) -> Result<ProductView, AppError> {
    let mut tx = db.begin().await?;
    db::products::find_in(&mut tx, product_id).await?.ok_or(AppError::NotFound)?;
    let duration = spec.kind.duration().map(i64::from);
    let price_id = db::products::insert_price(&mut tx, product_id, spec.kind.as_str(), spec.amount_cents, &spec.currency, duration, Utc::now()).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "price.create", Outcome::Success)
            .target("product", product_id)
            .meta(meta)
            .details(json!({ "price_id": price_id, "label": spec.describe() })),
    )
    .await?;
    tx.commit().await?;
    get(db, product_id).await
}

pub async fn remove_price(db: &Db, product_id: i64, price_id: i64, actor: Actor, meta: &RequestMeta) -> Result<ProductView, AppError> {
    let mut tx = db.begin().await?;
    if !db::products::deactivate_price(&mut tx, product_id, price_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "price.deactivate", Outcome::Success)
            .target("product", product_id)
            .meta(meta)
            .details(json!({ "price_id": price_id })),
    )
    .await?;
    tx.commit().await?;
    get(db, product_id).await
}

fn price_view(r: db::products::PriceRow) -> Option<PriceView> {
    let kind = PriceKind::from_parts(&r.kind, r.duration).ok()?;
    let label = PriceSpec { kind, amount_cents: r.amount_cents, currency: r.currency.clone() }.describe();
    Some(PriceView { id: r.id, kind, amount_cents: r.amount_cents, currency: r.currency, active: r.active, label })
}

fn view(row: db::products::ProductRow, repositories: Vec<String>, prices: Vec<PriceView>) -> ProductView {
    ProductView {
        id: row.id,
        description_html: markdown::render(&row.description),
        slug: row.slug,
        name: row.name,
        description: row.description,
        status: row.status,
        contact_sales: row.contact_sales,
        repositories,
        prices,
        updated_at: rfc3339(row.updated_at),
        harbor_notes: Vec::new(),
        licence: row.licence,
        gateway: row.gateway,
    }
}

async fn assemble(db: &Db, row: db::products::ProductRow, only_active_prices: bool) -> Result<ProductView, AppError> {
    let repos = db::products::repositories(db, Some(row.id)).await?.into_iter().map(|(_, p)| p).collect();
    let prices = db::products::prices(db, Some(row.id), only_active_prices).await?.into_iter().filter_map(price_view).collect();
    Ok(view(row, repos, prices))
}

/// Any product by id (admins), with all prices.
pub async fn get(db: &Db, id: i64) -> Result<ProductView, AppError> {
    let row = db::products::find(db, id).await?.ok_or(AppError::NotFound)?;
    assemble(db, row, false).await
}

/// A published product by slug, with its active prices (the public page).
pub async fn get_published(db: &Db, slug: &str) -> Result<ProductView, AppError> {
    match db::products::find_by_slug(db, slug).await? {
        Some(row) if row.status == ProductStatus::Published => assemble(db, row, true).await,
        _ => Err(AppError::NotFound),
    }
}

/// Products with `status` (all when `None`); public callers pass Published.
pub async fn list(db: &Db, status: Option<ProductStatus>) -> Result<Vec<ProductView>, AppError> {
    let rows = db::products::list(db, status.map(ProductStatus::as_str)).await?;
    let repos = db::products::repositories(db, None).await?;
    let only_active = status == Some(ProductStatus::Published);
    let prices = db::products::prices(db, None, only_active).await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let r = repos.iter().filter(|(pid, _)| *pid == row.id).map(|(_, p)| p.clone()).collect();
            let p = prices.iter().filter(|p| p.product_id == row.id).cloned().filter_map(price_view).collect();
            view(row, r, p)
        })
        .collect())
}
