//! Anonymous: "Forgot password" and the pages mailed links open (set a
//! password: reset, invitation; confirm an address: sign-up, change). Bounded before any look-up (`domain::Email`,
//! `domain::mail::plausible_link_token`, `domain::Password`).

use crate::error::AppError;
use crate::views::LinkInfo;
use leptos::prelude::*;

/// Queues a reset mail if the address has an account; the same answer
/// whether or not it has.
#[server(prefix = "/fn", endpoint = "forgot_password")]
pub async fn request_password_reset(email: String) -> Result<(), AppError> {
    use crate::backend::services::recovery;
    use crate::backend::web::respond;
    respond(recovery::request_reset(&email).await)
}

/// What a mailed link is for and the address it concerns.
#[server(prefix = "/fn", endpoint = "mail_link")]
pub async fn mail_link(token: String) -> Result<LinkInfo, AppError> {
    use crate::backend::services::recovery;
    use crate::backend::web::respond;
    respond(recovery::link_info(&token).await)
}

/// Sets the password through a link, then sends the visitor to log in.
#[server(prefix = "/fn", endpoint = "reset_password")]
pub async fn set_password_by_link(token: String, password: String) -> Result<(), AppError> {
    use crate::backend::services::recovery;
    use crate::backend::web::respond;
    let result = recovery::reset_password(&token, &password).await;
    if result.is_ok() {
        leptos_axum::redirect("/login?password=set");
    }
    respond(result)
}

/// Confirms an address through a link, then sends the visitor on: to the
/// account page when this session is that account's, else to log in.
#[server(prefix = "/fn", endpoint = "confirm_email")]
pub async fn confirm_email(token: String) -> Result<(), AppError> {
    use crate::backend::services::{auth, recovery};
    use crate::backend::web::respond;
    let result = async {
        let id = recovery::confirm_email(&token).await?;
        let here = auth::current_user().await?.is_some_and(|u| u.id == id);
        leptos_axum::redirect(if here { "/settings?email=confirmed" } else { "/login?email=confirmed" });
        Ok(())
    }
    .await;
    respond(result)
}
