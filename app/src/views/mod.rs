//! What pages and the REST API show: plain serialisable structs built from
//! rows on the server. Times are pre-formatted in UTC (RFC 3339 for machines,
//! words for people) so server and browser render the same text. Under `ssr`
//! they also describe themselves for the OpenAPI document. One module per
//! area (`catalogue`, `credentials`, `billing`, `audit`, …); customers and
//! entitlements, which every area refers to, live here.

use crate::domain::access::{EntitlementSource, EntitlementStatus};
use serde::{Deserialize, Serialize};

mod audit;
mod auth;
mod billing;
mod catalogue;
mod credentials;
mod dashboard;
mod organisation;
mod mail;

pub use audit::{AuditEntry, AuditFilter};
pub use billing::{BillingInfo, BillingStatusView, CheckoutStatusView, OrderView, ReconcileView};
pub use catalogue::{PriceView, ProductVersionsView, ProductView, ReleaseView, RepositoryView, TagView, VersionView};
pub use credentials::{
    ApiKeyView, CredentialProduct, CredentialView, NewApiKey, NewCredential, ProvisioningView, PullFilterView, PullView,
    RegistryAccessView, RobotView,
};
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

/// Which entitlements a list shows (the admin pages, the REST API's query).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntitlementFilter {
    pub customer_id: Option<i64>,
    pub product_id: Option<i64>,
    pub status: Option<EntitlementStatus>,
}
