//! Vendor-admin server functions: accounts.

use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// One account in the admin list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub role: crate::domain::Role,
    pub disabled: bool,
    pub email_verified: bool,
    pub two_factor: bool,
    pub created_at: String,
    pub last_login_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPage {
    pub users: Vec<UserSummary>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

pub const USERS_PER_PAGE: u32 = 25;
/// Longest search string accepted (longer is a 422, not a slow query).
pub const SEARCH_MAX_CHARS: usize = 100;

#[server(prefix = "/fn", endpoint = "admin/list_users")]
pub async fn list_users(search: Option<String>, page: Option<u32>) -> Result<UserPage, AppError> {
    use crate::domain::Role;
    use crate::backend::services::auth::require_role;
    use crate::backend::db;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[Role::Admin]).await?;
            let st = state()?;
            let search = search.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            if search.as_ref().is_some_and(|s| s.chars().count() > SEARCH_MAX_CHARS) {
                return Err(AppError::invalid("search", format!("at most {SEARCH_MAX_CHARS} characters")));
            }
            let page = page.unwrap_or(1).clamp(1, 100_000);
            let offset = i64::from(page - 1) * i64::from(USERS_PER_PAGE);
            let filter = db::users::UserFilter { search: search.as_deref(), role: None };
            let rows = db::users::list(&st.db, &filter, i64::from(USERS_PER_PAGE), offset).await?;
            let total = db::users::count(&st.db, &filter).await?;
            let users = rows
                .into_iter()
                .map(|r| UserSummary {
                    id: r.id,
                    role: r.role(),
                    email: r.email,
                    disabled: r.disabled,
                    email_verified: r.email_verified_at.is_some(),
                    two_factor: r.two_factor,
                    created_at: crate::domain::time::rfc3339(r.created_at),
                    last_login_at: r.last_login_at.map(crate::domain::time::rfc3339),
                })
                .collect();
            Ok(UserPage { users, total, page, per_page: USERS_PER_PAGE })
        }
        .await,
    )
}

/// Creates an account of any role (an admin making a colleague or auditor).
#[server(prefix = "/fn", endpoint = "admin/create_user")]
pub async fn create_user(email: String, password: String, role: String) -> Result<i64, AppError> {
    use crate::domain::{Email, Password, Role};
    use crate::backend::services::audit::Actor;
    use crate::backend::services::auth::require_role;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    use crate::backend::services::users;
    respond(
        async {
            let admin = require_role(&[Role::Admin]).await?;
            let st = state()?;
            let email = Email::parse(&email).map_err(|e| AppError::invalid("email", e))?;
            let role: Role = role.parse().map_err(|e| AppError::invalid("role", e))?;
            let password =
                Password::parse(&password, Some(email.as_str())).map_err(|e| AppError::invalid("password", e))?;
            let meta = RequestMeta::current().await;
            let actor = Actor::User { id: admin.id, email: admin.email };
            Ok(users::create(&st.db, &email, &password, role, actor, &meta).await?)
        }
        .await,
    )
}

/// Disables, enables, changes the role of, mails a reset link to, or ends
/// the sessions of an account (`action`: disable, enable, role (with
/// `role`), send_reset, end_sessions, reset_2fa). The last active admin
/// stays one.
#[server(prefix = "/fn", endpoint = "admin/change_user")]
pub async fn change_user(id: i64, action: String, role: Option<String>) -> Result<(), AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::users::{self, AccountChange};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let change = AccountChange::parse(&action, role.as_deref())?;
            let meta = RequestMeta::current().await;
            users::change_account(&state()?.db, id, change, None, admin.actor(), &meta).await
        }
        .await,
    )
}

/// An account's sessions, for an admin.
#[server(prefix = "/fn", endpoint = "admin/user_sessions")]
pub async fn user_sessions(id: i64) -> Result<Vec<crate::views::SessionView>, AppError> {
    use crate::backend::services::{account, auth::require_role};
    use crate::backend::web::respond;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            account::sessions(id).await
        }
        .await,
    )
}

/// Ends one session of an account, for an admin.
#[server(prefix = "/fn", endpoint = "admin/end_user_session")]
pub async fn end_user_session(id: i64, session_id: String) -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_role};
    use crate::backend::web::respond;
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            account::end_session(id, &session_id, admin.actor()).await
        }
        .await,
    )
}
