//! Requests for a trial or for sales (customers ask from a product page;
//! admins answer from the dashboard), what a customer owns of each product,
//! and the admin dashboard's numbers.

use crate::error::AppError;
use crate::views::{AccessRequestView, DashboardNumbers, Ownership};
use leptos::prelude::*;

/// A member asks for a trial (`kind` "trial") or for sales ("contact") of
/// the published product `slug`, with an optional message.
#[server(prefix = "/fn", endpoint = "my/request_access")]
pub async fn request_access(slug: String, kind: String, message: Option<String>) -> Result<AccessRequestView, AppError> {
    use crate::backend::services::auth::{require_confirmed, require_member};
    use crate::backend::services::requests;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::domain::request::RequestKind;
    respond(
        async {
            let (user, m) = require_member(crate::domain::organisation::Capability::Pull).await?;
            require_confirmed(&user)?;
            let kind = RequestKind::parse(&kind).ok_or_else(|| AppError::invalid("kind", "trial or contact"))?;
            let meta = RequestMeta::current().await;
            requests::ask(&state()?.db, &user, &m, &slug, kind, message.as_deref().unwrap_or(""), &meta).await
        }
        .await,
    )
}

/// What the caller's organisation has of each product (access and until
/// when, open requests). Empty for visitors, staff and people outside an
/// organisation: the catalogue shows them no ownership.
#[server(prefix = "/fn", endpoint = "my/ownership")]
pub async fn my_ownership() -> Result<Vec<Ownership>, AppError> {
    use crate::backend::services::auth::current_user;
    use crate::backend::services::requests;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            match current_user().await?.and_then(|u| u.membership) {
                Some(m) => requests::ownership(&state()?.db, m.organisation_id).await,
                None => Ok(Vec::new()),
            }
        }
        .await,
    )
}

/// Requests, newest first: `status` "open", "granted", "answered" or none for all (admins).
#[server(prefix = "/fn", endpoint = "admin/requests")]
pub async fn admin_requests(status: Option<String>) -> Result<Vec<AccessRequestView>, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::requests;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    use crate::domain::request::RequestStatus;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            let status = match status.as_deref().filter(|s| !s.is_empty()) {
                Some(s) => Some(RequestStatus::parse(s).ok_or_else(|| AppError::invalid("status", "open, granted or answered"))?),
                None => None,
            };
            requests::list(&state()?.db, status).await
        }
        .await,
    )
}

/// Answers a request: `action` "grant" (access for `days`, optional words
/// in `reply`) or "reply" (words only). The member who asked gets a mail.
#[server(prefix = "/fn", endpoint = "admin/answer_request")]
pub async fn answer_request(id: i64, action: String, days: Option<u32>, reply: Option<String>) -> Result<AccessRequestView, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::requests::{self, Answer};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let answer = Answer::parse(&action, days, reply.as_deref().unwrap_or(""))?;
            let meta = RequestMeta::current().await;
            requests::answer(&state()?.db, admin.actor(), Some(admin.id), id, &answer, &meta).await
        }
        .await,
    )
}

/// The admin dashboard's numbers.
#[server(prefix = "/fn", endpoint = "admin/dashboard")]
pub async fn dashboard_figures() -> Result<DashboardNumbers, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::{dashboard, harbor};
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            let st = state()?;
            let mut n = dashboard::numbers(&st.db, chrono::Utc::now()).await?;
            if st.harbor.is_some() {
                n.provisioning_failing = Some(harbor::health(&st.db).await?.failing);
            }
            Ok(n)
        }
        .await,
    )
}
