//! Anonymous: "Forgot password" and the page a mailed link opens (reset or
//! invitation). Bounded before any look-up (`domain::Email`,
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

/// What a link is for and whose account it opens.
#[server(prefix = "/fn", endpoint = "password_link")]
pub async fn password_link(token: String) -> Result<LinkInfo, AppError> {
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
