//! What pages and the REST API show: plain serialisable structs built from
//! rows on the server. Times are pre-formatted in UTC (RFC 3339 for machines,
//! words for people) so server and browser render the same text. Under `ssr`
//! they also describe themselves for the OpenAPI document.

use crate::domain::order::{EndAccess, OrderMode, OrderStatus};
use crate::domain::organisation::CredentialHolder;
use crate::domain::pull::{PullSource, ReleaseSource};
use crate::domain::release::Licence;
use crate::domain::Role;
use crate::domain::{
    access::{EntitlementSource, EntitlementStatus},
    catalogue::{PriceKind, ProductStatus},
    credential::{CredentialKind, CredentialStatus},
};
use serde::{Deserialize, Serialize};

mod audit;
mod auth;
mod dashboard;
mod organisation;
mod mail;

pub use audit::{AuditEntry, AuditFilter};
pub use dashboard::{money_words, AccessRequestView, CustomerSegment, DashboardNumbers, Money, Ownership};
pub use auth::{Membership, SessionUser, SessionView, TwoFactorEnrolment};
pub use mail::{LinkInfo, LocalMailView, MailOverview, MailView};
pub use organisation::{MemberView, OrganisationView};

/// Percent-encodes a query value (a search box's text, a filter).
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

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

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
/// A customer: an organisation. `id` is the organisation's (its founder's
/// user id); `email` its first owner's address; `disabled` when no member
/// can log in; `last_login_at` any member's latest.
pub struct CustomerView {
    pub id: i64,
    pub email: String,
    /// The organisation's name.
    pub name: Option<String>,
    pub disabled: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
    /// Joined members.
    #[serde(default)]
    pub member_count: i64,
    /// Members and pending invitations (one customer's answer; lists leave
    /// it empty).
    #[serde(default)]
    pub members: Vec<MemberView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct EntitlementView {
    pub id: i64,
    pub customer_id: i64,
    /// The organisation's name.
    pub customer_name: String,
    pub customer_email: String,
    pub product_id: i64,
    pub product_name: String,
    pub product_slug: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub status: EntitlementStatus,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub source: EntitlementSource,
    /// RFC 3339, UTC.
    pub starts_at: String,
    pub ends_at: Option<String>,
    pub grace_until: Option<String>,
    pub suspended_reason: Option<String>,
    pub note: Option<String>,
    /// Plain words at the time of the answer: "active until 12 March 2027".
    pub summary: String,
    /// Whether it grants access right now.
    pub grants_access: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    pub id: i64,
    pub name: String,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub role: Role,
    /// The public part of the key (`pc_<key_id>_…`), for recognising it.
    pub key_id: String,
    pub created_by: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A new API key: `secret` is the whole bearer token, shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewApiKey {
    pub key: ApiKeyView,
    pub secret: String,
}

/// A registry credential as lists show it (never its secret).
/// `kind` is `pull` (a customer's, for their clusters) or `push` (an admin's,
/// for the vendor's CI).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CredentialView {
    pub id: i64,
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub kind: CredentialKind,
    pub name: String,
    /// The registry user name (`docker login -u …`).
    pub username: String,
    pub owner_id: i64,
    pub owner_email: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub rotated_at: Option<String>,
    /// When it last obtained a registry token.
    pub last_used_at: Option<String>,
    /// When the registry last reported a manifest pull by it.
    pub last_pulled_at: Option<String>,
    pub revoked_at: Option<String>,
    /// `active`, `expired` or `revoked` (`CredentialStatus::of`).
    #[cfg_attr(feature = "ssr", schema(value_type = String))]
    pub status: CredentialStatus,
    /// With Harbor provisioning: the credential's robot account in Harbor.
    #[serde(default)]
    pub robot: Option<RobotView>,
    /// Pull credentials: their organisation, and whether a member holds it
    /// (`member`: revoked when they leave) or the organisation
    /// (`organisation`: for CI and clusters).
    #[serde(default)]
    pub organisation_id: Option<i64>,
    #[serde(default)]
    #[cfg_attr(feature = "ssr", schema(value_type = Option<String>))]
    pub holder: Option<CredentialHolder>,
    /// The products it is limited to (empty: every product of the organisation).
    #[serde(default)]
    pub products: Vec<CredentialProduct>,
    /// The address ranges it may be used from (empty: anywhere).
    #[serde(default)]
    pub networks: Vec<String>,
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

/// A pull: a manifest pulled through the gateway or reported by the
/// registry, with who (member, credential) and from where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct PullView {
    pub id: i64,
    pub occurred_at: String,
    /// The member who holds (or made) the credential.
    pub member: Option<String>,
    /// The credential's user name and name.
    pub credential: Option<String>,
    pub credential_name: Option<String>,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
    /// The client address of the gateway connection or of the token request.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub source: PullSource,
}

/// The pull history's filters, as the page's query string spells them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullFilterView {
    pub repository: Option<String>,
    /// A member's address.
    pub member: Option<String>,
    /// A credential's user name or name.
    pub credential: Option<String>,
    /// A day or RFC 3339 (from inclusive; a bare `to` day means its end).
    pub from: Option<String>,
    pub to: Option<String>,
    /// Keyset cursor: pulls older than this id.
    pub before: Option<i64>,
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

/// A product a credential is limited to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct CredentialProduct {
    pub id: i64,
    pub name: String,
}

/// A pull credential's Harbor robot account, as its owner and admins see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RobotView {
    /// `pending`, `enabled`, `disabled` or `deleted`.
    pub state: String,
    /// The state in words.
    pub state_text: String,
    /// Harbor project names it may pull (as last applied).
    pub projects: Vec<String>,
    /// When it was last brought in step with Harbor.
    pub synced_at: Option<String>,
    /// Set when the robot had to be made again with a new secret that its
    /// owner has not revealed yet: why.
    pub new_secret_reason: Option<String>,
}

/// Harbor provisioning at a glance (the admin dashboard).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningView {
    /// Outbox rows waiting to reach Harbor, and those that failed at least once.
    pub pending: i64,
    pub failing: i64,
    pub oldest_pending: Option<String>,
    pub last_error: Option<String>,
    pub robots_enabled: i64,
    pub robots_disabled: i64,
    pub robots_pending: i64,
    /// The last reconcile run: when it finished, robots checked, drift repaired, failures.
    pub last_reconcile: Option<String>,
    pub last_checked: i64,
    pub last_repaired: i64,
    pub last_failed: i64,
    pub last_reconcile_error: Option<String>,
}

/// A credential just created or rotated: the secret is shown this once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct NewCredential {
    pub credential: CredentialView,
    pub username: String,
    pub secret: String,
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

/// What the credentials page needs for its copy-ready snippets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct RegistryAccessView {
    /// The registry's host (and port) as clients name it, e.g. `registry.example.com`.
    pub host: String,
    pub repositories: Vec<RepositoryView>,
    /// The pull gateway's host, when it is on (repositories `via_gateway`
    /// are pulled from there).
    #[serde(default)]
    pub gateway_host: Option<String>,
}

/// A purchase through Stripe Checkout, as the customer's orders page and the
/// admin customer page show it. Times are RFC 3339 (UTC).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct OrderView {
    pub id: i64,
    pub product_id: i64,
    pub product_name: String,
    pub product_slug: String,
    /// `subscription` or `payment` (one-time).
    pub mode: OrderMode,
    /// `pending`, `active`, `past_due`, `unpaid`, `canceled`, `paused`,
    /// `paid`, `refunded`, `expired` (checkout abandoned) or `incomplete`.
    pub status: OrderStatus,
    pub amount_cents: i64,
    pub currency: String,
    /// `month` or `year` for subscriptions.
    pub interval: Option<String>,
    pub created_at: String,
    /// When the subscription renews next (active subscriptions only).
    pub next_renewal: Option<String>,
    /// The end of the access this order gives, if it has one.
    pub access_until: Option<String>,
    pub entitlement_id: Option<i64>,
    /// What is wrong with its latest payment (refunded, disputed, dispute lost).
    pub payment_issue: Option<crate::domain::order::PaymentIssue>,
}

/// What the checkout success page shows while it waits for Stripe's webhook.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CheckoutStatusView {
    /// Stripe has not confirmed the payment yet.
    Pending,
    /// The webhook arrived and the entitlement is active.
    Active { product_name: String, product_slug: String },
    /// The payment did not go through (or was refunded).
    Failed { message: String },
}

/// Whether online payment (Stripe) is configured on this portal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingInfo {
    pub online_payment: bool,
}

/// How online payment stands, for the admin dashboard: is Stripe set up,
/// with which lifecycle settings, and is its webhook arriving.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingStatusView {
    pub online_payment: bool,
    /// "7 days", "20 seconds"… (empty when Stripe is off).
    pub grace: String,
    /// `period_end` or `immediately` (none when Stripe is off).
    pub end_access: Option<EndAccess>,
    /// Webhook events processed in the last 24 hours, and the newest one.
    pub events_24h: i64,
    pub last_event_at: Option<String>,
    /// Deliveries refused (bad signature, stale, unreadable) in the last 24 hours.
    pub refused_24h: i64,
    /// Published products with a price sold online that Stripe does not know yet.
    pub unsynced_products: i64,
    /// The newest reconciliation with Stripe, if any ran.
    pub last_reconcile: Option<ReconcileView>,
}

/// One run of the reconciliation that re-reads Stripe behind every live and
/// pending order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReconcileView {
    pub started_at: String,
    /// None while it runs (or if its replica died mid-run).
    pub finished_at: Option<String>,
    pub cause: crate::domain::order::ReconcileCause,
    /// Orders re-read, orders changed by it, orders Stripe could not answer for.
    pub checked: i64,
    pub repaired: i64,
    pub failed: i64,
}

/// Which entitlements a list shows (the admin pages, the REST API's query).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementFilter {
    pub customer_id: Option<i64>,
    pub product_id: Option<i64>,
    pub status: Option<EntitlementStatus>,
}
