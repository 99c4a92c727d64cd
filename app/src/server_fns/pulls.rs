//! Pull history: the organisation's (every member; owners and members
//! alike see who pulled what, from where) and a customer's for admins and
//! auditors. The CSV export is `GET /account/pulls.csv` (same filters).

use crate::error::AppError;
use crate::views::{PullFilterView, PullView};
use leptos::prelude::*;

/// The caller's organisation's pulls, newest first (a page of 100;
/// `filter.before` pages on). An empty filter is sent as none at all.
#[server(prefix = "/fn", endpoint = "my/pulls")]
pub async fn my_pulls(filter: Option<PullFilterView>) -> Result<Vec<PullView>, AppError> {
    use crate::backend::services::auth::require_member;
    use crate::backend::services::pulls;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let (_, m) = require_member(crate::domain::organisation::Capability::Pull).await?;
            pulls::list(&state()?.db, m.organisation_id, &filter.unwrap_or_default(), pulls::PAGE).await
        }
        .await,
    )
}

/// A customer's pulls (admins and auditors).
#[server(prefix = "/fn", endpoint = "admin/customer_pulls")]
pub async fn customer_pulls(customer_id: i64, filter: Option<PullFilterView>) -> Result<Vec<PullView>, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{customers, pulls};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    use crate::domain::Role;
    respond(
        async {
            require_role(&[Role::Admin, Role::Auditor]).await?;
            let db = &state()?.db;
            customers::get(db, customer_id).await?;
            pulls::list(db, customer_id, &filter.unwrap_or_default(), pulls::PAGE).await
        }
        .await,
    )
}
