//! Products: the public catalogue, and the admin's product management.

use crate::error::AppError;
use crate::views::ProductView;
use leptos::prelude::*;

/// Published products (anyone, logged in or not).
#[server(prefix = "/fn", endpoint = "catalogue/list")]
pub async fn catalogue() -> Result<Vec<ProductView>, AppError> {
    use crate::domain::catalogue::ProductStatus;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(async { catalogue::list(&state()?.db, Some(ProductStatus::Published)).await }.await)
}

/// One published product by slug; drafts and archived ones are 404 here.
#[server(prefix = "/fn", endpoint = "catalogue/get")]
pub async fn catalogue_product(slug: String) -> Result<ProductView, AppError> {
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(async { catalogue::get_published(&state()?.db, &slug).await }.await)
}

/// Every product, any status (admins).
#[server(prefix = "/fn", endpoint = "admin/products")]
pub async fn admin_products() -> Result<Vec<ProductView>, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            catalogue::list(&state()?.db, None).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/product")]
pub async fn admin_product(id: i64) -> Result<ProductView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            let st = state()?;
            let mut product = catalogue::get(&st.db, id).await?;
            if st.harbor.is_some() {
                product.harbor_notes = crate::domain::harbor::pattern_notes(&product.repositories);
            }
            Ok(product)
        }
        .await,
    )
}

/// Creates or edits a product from the admin form. `id` absent = create.
/// `repositories` is one pattern per line; `contact_sales` is a checkbox.
#[server(prefix = "/fn", endpoint = "admin/save_product")]
pub async fn save_product(
    id: Option<i64>,
    name: String,
    slug: Option<String>,
    description: Option<String>,
    repositories: Option<String>,
    contact_sales: Option<String>,
) -> Result<ProductView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let input = catalogue::ProductInput {
                name,
                slug,
                description: description.unwrap_or_default(),
                contact_sales: contact_sales.is_some_and(|v| !v.is_empty() && v != "false"),
                repositories: repositories.unwrap_or_default().lines().map(str::to_owned).collect(),
            };
            let meta = RequestMeta::current().await;
            let db = &state()?.db;
            match id {
                None => catalogue::create(db, &input, &[], admin.actor(), &meta).await,
                Some(id) => {
                    let view = catalogue::update(db, id, &input, None, admin.actor(), &meta).await?;
                    crate::backend::services::billing::sync_after_change(&state()?, id).await;
                    Ok(view)
                }
            }
        }
        .await,
    )
}

/// Publishes, archives or returns a product to draft.
#[server(prefix = "/fn", endpoint = "admin/product_status")]
pub async fn set_product_status(id: i64, status: String) -> Result<ProductView, AppError> {
    use crate::domain::catalogue::ProductStatus;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let status = ProductStatus::parse(&status).map_err(|e| AppError::invalid("status", e))?;
            let meta = RequestMeta::current().await;
            let view = catalogue::set_status(&state()?.db, id, status, admin.actor(), &meta).await?;
            crate::backend::services::billing::sync_after_change(&state()?, id).await;
            Ok(view)
        }
        .await,
    )
}

/// A published product's versions (anyone; a signed-in member also learns
/// which they may pull and until when), and where to pull them from.
#[server(prefix = "/fn", endpoint = "catalogue/versions")]
pub async fn product_versions(slug: String) -> Result<crate::views::ProductVersionsView, AppError> {
    use crate::backend::services::{auth, catalogue, gateway};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let st = state()?;
            let product = catalogue::get_published(&st.db, &slug).await?;
            let viewer = auth::current_user().await?.and_then(|u| u.membership).map(|m| m.organisation_id);
            let versions = gateway::versions(&st.db, &product.repositories, viewer, 50, chrono::Utc::now()).await?;
            let gateway_host = st.registry.gateway_host.clone();
            let pull_host = match (&gateway_host, product.gateway) {
                (Some(g), true) => g.clone(),
                _ => st.registry.host.clone(),
            };
            Ok(crate::views::ProductVersionsView { pull_host, download: gateway_host.is_some(), versions })
        }
        .await,
    )
}

/// How a product is delivered: `licence` (`subscription` or `perpetual`)
/// and `gateway` (a checkbox: pulled through the pull gateway only).
#[server(prefix = "/fn", endpoint = "admin/product_delivery")]
pub async fn set_product_delivery(id: i64, licence: String, gateway: Option<String>) -> Result<ProductView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::release::Licence;
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let licence = Licence::parse(&licence).ok_or_else(|| AppError::invalid("licence", "subscription or perpetual"))?;
            let gateway = gateway.is_some_and(|v| !v.is_empty() && v != "false");
            let meta = RequestMeta::current().await;
            catalogue::set_delivery(&state()?.db, id, licence, gateway, admin.actor(), &meta).await
        }
        .await,
    )
}

/// The releases of a product's repositories, newest first (admins and
/// auditors): when each digest was released, and by what.
#[server(prefix = "/fn", endpoint = "admin/releases")]
pub async fn product_releases(id: i64) -> Result<Vec<crate::views::ReleaseView>, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{catalogue, gateway};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin, crate::domain::Role::Auditor]).await?;
            let db = &state()?.db;
            let product = catalogue::get(db, id).await?;
            Ok(gateway::releases_of(db, &product.repositories, 200).await?)
        }
        .await,
    )
}

/// Sets (or backdates) when a digest was released: `released_at` is a day
/// (`2027-01-31`, its start, UTC) or RFC 3339.
#[server(prefix = "/fn", endpoint = "admin/set_release")]
pub async fn set_release(repository: String, digest: String, released_at: String) -> Result<(), AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::gateway;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::time::{parse_time, BareDate};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let at = parse_time(released_at.trim(), BareDate::StartOfDay).map_err(|m| AppError::invalid("released_at", m))?;
            let meta = RequestMeta::current().await;
            gateway::set_release(&state()?.db, repository.trim(), digest.trim(), at, admin.actor(), &meta).await
        }
        .await,
    )
}

/// Adds a price. `amount` is in major units ("49.00"); `duration` is months
/// for one-time purchases and days for trials.
#[server(prefix = "/fn", endpoint = "admin/add_price")]
pub async fn add_price(
    product_id: i64,
    kind: String,
    amount: String,
    currency: String,
    duration: Option<String>,
) -> Result<ProductView, AppError> {
    use crate::domain::catalogue::{PriceKind, PriceSpec};
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let duration = match duration.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
                None => None,
                Some(d) => Some(d.parse::<i64>().map_err(|_| AppError::invalid("duration", "a whole number"))?),
            };
            let kind = PriceKind::from_parts(&kind, duration).map_err(|e| AppError::invalid("duration", e))?;
            let cents = parse_amount(&amount).ok_or_else(|| AppError::invalid("amount", "an amount such as 49 or 49.90"))?;
            let spec = PriceSpec::parse(kind, cents, &currency).map_err(|e| AppError::invalid("amount", e))?;
            let meta = RequestMeta::current().await;
            let view = catalogue::add_price(&state()?.db, product_id, &spec, admin.actor(), &meta).await?;
            crate::backend::services::billing::sync_after_change(&state()?, product_id).await;
            Ok(view)
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "admin/remove_price")]
pub async fn remove_price(product_id: i64, price_id: i64) -> Result<ProductView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::catalogue;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let meta = RequestMeta::current().await;
            let view = catalogue::remove_price(&state()?.db, product_id, price_id, admin.actor(), &meta).await?;
            crate::backend::services::billing::sync_after_change(&state()?, product_id).await;
            Ok(view)
        }
        .await,
    )
}

/// "49", "49.9", "49.90", "1,234.50" → cents. At most two decimals.
pub fn parse_amount(raw: &str) -> Option<i64> {
    let s: String = raw.trim().chars().filter(|c| *c != ',').collect();
    let (whole, frac) = s.split_once('.').unwrap_or((&s, ""));
    if whole.is_empty() || whole.len() > 12 || !whole.chars().all(|c| c.is_ascii_digit()) || frac.len() > 2 || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let frac_cents = match frac.len() {
        0 => 0,
        1 => frac.parse::<i64>().ok()? * 10,
        _ => frac.parse::<i64>().ok()?,
    };
    whole.parse::<i64>().ok()?.checked_mul(100)?.checked_add(frac_cents)
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts() {
        assert_eq!(super::parse_amount("49"), Some(4900));
        assert_eq!(super::parse_amount("49.9"), Some(4990));
        assert_eq!(super::parse_amount(" 1,234.05 "), Some(123405));
        for bad in ["", "-1", "1.234", "abc", "1e3", ".5", "12345678901234"] {
            assert_eq!(super::parse_amount(bad), None, "{bad}");
        }
    }
}
