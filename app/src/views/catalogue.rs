//! The catalogue as pages and the REST API show it: products and their
//! prices, and the versions (releases, tags) of their repositories.

use crate::domain::catalogue::{PriceKind, ProductStatus};
use crate::domain::pull::ReleaseSource;
use crate::domain::release::Licence;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PriceView {
    pub id: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = Object))]
    pub kind: PriceKind,
    pub amount_cents: i64,
    pub currency: String,
    pub active: bool,
    /// "€49.00 / month"
    pub label: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ProductView {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// Markdown as written.
    pub description: String,
    /// The Markdown rendered to sanitised HTML (no scripts, no event handlers).
    pub description_html: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub status: ProductStatus,
    /// No online price: customers are asked to contact sales.
    pub contact_sales: bool,
    /// Exact names (`acme/widget`) or prefixes (`acme/widget-*`).
    pub repositories: Vec<String>,
    pub prices: Vec<PriceView>,
    pub updated_at: String,
    /// Under Harbor provisioning, for admins: patterns a Harbor robot cannot
    /// follow exactly (`domain::harbor::pattern_notes`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub harbor_notes: Vec<String>,
    /// What its entitlements cover: `subscription` (every version while
    /// access lasts) or `perpetual` (versions released until the updates end).
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub licence: Licence,
    /// Pulled through the portal's pull gateway only.
    #[serde(default)]
    pub gateway: bool,
}

/// A release: a digest of a repository and when it was released (first
/// seen, or set by an admin: `source` push, gateway or admin).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ReleaseView {
    pub repository: String,
    pub digest: String,
    /// The tag it was first seen under, if any.
    pub tag: Option<String>,
    pub released_at: String,
    pub source: ReleaseSource,
    pub set_by: Option<String>,
}

/// A version of a product as its page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VersionView {
    pub repository: String,
    pub tag: Option<String>,
    pub digest: String,
    pub released_at: String,
    /// Manifest, config and layers in bytes (known once the gateway read it).
    pub size: Option<i64>,
    /// A cosign signature was pushed for it.
    pub signed: bool,
    /// For a signed-in member: may they pull it, and in words until when or why not.
    pub allowed: Option<bool>,
    pub access: Option<String>,
}

/// A product's versions and where to pull them from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductVersionsView {
    /// The host the snippets name: the gateway's for a gateway product.
    pub pull_host: String,
    /// Offline downloads (`/account/download`) are offered.
    pub download: bool,
    pub versions: Vec<VersionView>,
}

/// A tag the registry reported pushed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TagView {
    pub tag: String,
    pub digest: String,
    pub pushed_at: String,
}

/// A repository a customer may pull (or, for a prefix pattern, one seen
/// pushed under it), with its tags, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RepositoryView {
    pub name: String,
    pub product_name: String,
    pub tags: Vec<TagView>,
    /// Pulled through the pull gateway (`RegistryAccessView::gateway_host`).
    #[serde(default)]
    pub via_gateway: bool,
}
