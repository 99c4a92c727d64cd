//! Admin: customers, their entitlements, their recent activity.

use crate::views::AuditEntry;
use crate::error::AppError;
use crate::views::{CustomerView, EntitlementView};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

pub const CUSTOMERS_PER_PAGE: u32 = 25;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPage {
    pub customers: Vec<CustomerView>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

#[server(prefix = "/fn", endpoint = "admin/customers")]
pub async fn list_customers(search: Option<String>, page: Option<u32>, segment: Option<String>) -> Result<CustomerPage, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::customers;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            let page = page.unwrap_or(1).clamp(1, 100_000);
            let offset = i64::from(page - 1) * i64::from(CUSTOMERS_PER_PAGE);
            let segment = match segment.as_deref().filter(|s| !s.is_empty()) {
                Some(s) => Some(
                    crate::views::CustomerSegment::parse(s)
                        .ok_or_else(|| AppError::invalid("segment", "active, subscribers, billed, failing or ending"))?,
                ),
                None => None,
            };
            let (customers, total) =
                customers::list(&state()?.db, search.as_deref(), segment, i64::from(CUSTOMERS_PER_PAGE), offset).await?;
            Ok(CustomerPage { customers, total, page, per_page: CUSTOMERS_PER_PAGE })
        }
        .await,
    )
}

/// Creates a customer; the password is optional (without one the customer
/// cannot log in, e.g. an account kept for an offline deal).
#[server(prefix = "/fn", endpoint = "admin/create_customer")]
pub async fn create_customer(email: String, name: Option<String>, password: Option<String>) -> Result<CustomerView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::customers;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let meta = RequestMeta::current().await;
            customers::create(&state()?.db, &email, name.as_deref(), password.as_deref(), admin.actor(), &meta).await
        }
        .await,
    )
}

/// A customer with their entitlements and latest activity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerOverview {
    pub customer: CustomerView,
    pub entitlements: Vec<EntitlementView>,
    pub activity: Vec<AuditEntry>,
}

#[server(prefix = "/fn", endpoint = "admin/customer")]
pub async fn customer_detail(id: i64) -> Result<CustomerOverview, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{customers, entitlements};
    use crate::backend::db;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            let st = state()?;
            let customer = customers::get(&st.db, id).await?;
            let filter = crate::views::EntitlementFilter { customer_id: Some(id), ..Default::default() };
            let entitlements = entitlements::list(&st.db, &filter, 500, 0).await?;
            let mut activity: Vec<AuditEntry> =
                db::audit::list_for_organisation(&st.db, id, 20).await?.into_iter().map(crate::server_fns::audit::entry).collect();
            // People read products, not numbers: "Acme Widget (entitlement #5)".
            for e in &mut activity {
                if e.target_type.as_deref() == Some("entitlement") {
                    let named = entitlements.iter().find(|x| Some(x.id.to_string()) == e.target_id);
                    if let Some(x) = named {
                        e.target = Some(format!("{} (entitlement #{})", x.product_name, x.id));
                    }
                }
            }
            Ok(CustomerOverview { customer, entitlements, activity })
        }
        .await,
    )
}
