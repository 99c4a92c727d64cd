//! Sign-up, login, logout and "who am I".

use crate::domain::Role;
use crate::error::AppError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The logged-in user as the pages see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: Role,
}

#[server(prefix = "/fn", endpoint = "current_user")]
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    crate::server::respond(crate::server::auth::current_user().await)
}

/// Logs in and sends the user to their role's home page.
#[server(prefix = "/fn", endpoint = "login")]
pub async fn login(email: String, password: String) -> Result<SessionUser, AppError> {
    let result = crate::server::auth::login(&email, &password).await;
    if let Ok(user) = &result {
        leptos_axum::redirect(user.role.home_path());
    }
    crate::server::respond(result)
}

/// Creates a customer account, logs it in and opens the customer area.
#[server(prefix = "/fn", endpoint = "signup")]
pub async fn signup(email: String, password: String) -> Result<SessionUser, AppError> {
    let result = crate::server::auth::signup(&email, &password).await;
    if let Ok(user) = &result {
        leptos_axum::redirect(user.role.home_path());
    }
    crate::server::respond(result)
}

#[server(prefix = "/fn", endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    let result = crate::server::auth::logout().await;
    if result.is_ok() {
        leptos_axum::redirect("/");
    }
    crate::server::respond(result)
}
