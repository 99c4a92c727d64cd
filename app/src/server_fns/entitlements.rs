//! Entitlements: the customer's own list, and the admin's grant, extend,
//! suspend, resume and revoke. Dates from forms are whole days, UTC.

use crate::error::AppError;
use crate::views::EntitlementView;
use leptos::prelude::*;

/// The organisation's entitlements ("Products"), for every member.
#[server(prefix = "/fn", endpoint = "my/entitlements")]
pub async fn my_entitlements() -> Result<Vec<EntitlementView>, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::entitlements;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let (_, m) = require_member(crate::domain::organisation::Capability::Pull).await?;
            let filter = crate::views::EntitlementFilter { customer_id: Some(m.organisation_id), ..Default::default() };
            entitlements::list(&state()?.db, &filter, 500, 0).await
        }
        .await,
    )
}

/// The admin form's days: `2027-03-12` is that day at 00:00 UTC, for the
/// start and the end alike (`domain::time`).
#[cfg(feature = "ssr")]
fn parse_day(field: &str, raw: &str) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    use crate::domain::time::{parse_time, BareDate};
    parse_time(raw, BareDate::StartOfDay).map_err(|msg| AppError::invalid(field, msg))
}

#[server(prefix = "/fn", endpoint = "admin/grant")]
pub async fn grant_entitlement(
    customer_id: i64,
    product_id: i64,
    starts_on: Option<String>,
    ends_on: Option<String>,
    source: Option<String>,
    note: Option<String>,
) -> Result<EntitlementView, AppError> {
    use crate::domain::access::EntitlementSource;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::entitlements;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let starts_at = match starts_on.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(s) => parse_day("starts_on", s)?,
                None => chrono::Utc::now(),
            };
            let ends_at = match ends_on.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(s) => Some(parse_day("ends_on", s)?),
                None => None,
            };
            let source = match source.as_deref().filter(|s| !s.is_empty()) {
                None => EntitlementSource::Manual,
                Some(s) => EntitlementSource::parse(s).ok_or_else(|| AppError::invalid("source", "a grant by hand is manual or trial"))?,
            };
            let grant = entitlements::Grant {
                customer_id,
                product_id,
                source,
                starts_at,
                ends_at,
                note: note.filter(|n| !n.trim().is_empty()),
            };
            let meta = RequestMeta::current().await;
            entitlements::grant(&state()?.db, &grant, admin.actor(), &meta).await
        }
        .await,
    )
}

/// One admin action on an entitlement: `extend` (with `ends_on`, empty =
/// open-ended), `suspend` (with an optional `reason`), `resume`, `revoke`.
#[server(prefix = "/fn", endpoint = "admin/entitlement")]
pub async fn change_entitlement(
    id: i64,
    action: String,
    ends_on: Option<String>,
    reason: Option<String>,
) -> Result<EntitlementView, AppError> {
    use crate::domain::access::EntitlementStatus;
    use crate::backend::services::auth::require_role;
    use crate::backend::services::entitlements;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let change = match action.as_str() {
                "extend" => entitlements::Change {
                    ends_at: Some(match ends_on.as_deref().filter(|s| !s.trim().is_empty()) {
                        Some(s) => Some(parse_day("ends_on", s)?),
                        None => None,
                    }),
                    ..Default::default()
                },
                "suspend" => entitlements::Change {
                    status: Some(EntitlementStatus::Suspended),
                    suspended_reason: reason,
                    ..Default::default()
                },
                "resume" => entitlements::Change { status: Some(EntitlementStatus::Active), ..Default::default() },
                "revoke" => entitlements::Change { status: Some(EntitlementStatus::Revoked), ..Default::default() },
                _ => return Err(AppError::invalid("action", "extend, suspend, resume or revoke")),
            };
            let meta = RequestMeta::current().await;
            entitlements::change(&state()?.db, id, &change, admin.actor(), &meta).await
        }
        .await,
    )
}
