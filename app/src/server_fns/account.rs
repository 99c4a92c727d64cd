//! One's own account, every role (`/settings`): password, address, the
//! confirmation mail again, log out everywhere.

use crate::error::AppError;
use leptos::prelude::*;

#[cfg(feature = "ssr")]
const ANYONE: &[crate::domain::Role] = &[crate::domain::Role::Customer, crate::domain::Role::Admin, crate::domain::Role::Auditor];

#[server(prefix = "/fn", endpoint = "me/change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_role};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_role(ANYONE).await?;
            account::change_password(&me, &current_password, &new_password).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "me/change_email")]
pub async fn change_email(new_email: String, current_password: String) -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_role};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_role(ANYONE).await?;
            account::request_email_change(&me, &new_email, &current_password).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "me/resend_confirmation")]
pub async fn resend_confirmation() -> Result<(), AppError> {
    use crate::backend::services::{auth::require_role, recovery};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_role(ANYONE).await?;
            recovery::resend_confirmation(me.id).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "me/logout_everywhere")]
pub async fn logout_everywhere() -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_role};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_role(ANYONE).await?;
            account::logout_everywhere(&me).await
        }
        .await,
    )
}

/// Turns notices (access ending, payment) and, for admins, the digest on
/// or off for one's own account.
#[server(prefix = "/fn", endpoint = "me/notices")]
pub async fn set_notices(on: bool) -> Result<(), AppError> {
    use crate::backend::services::{auth::require_role, notices};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let me = require_role(ANYONE).await?;
            let meta = RequestMeta::current().await;
            Ok(notices::set_in(&state()?.db, me.id, &me.email, !on, &meta).await?)
        }
        .await,
    )
}

/// The page of a mail's unsubscribe link: no log-in needed, the token is
/// the proof.
#[server(prefix = "/fn", endpoint = "unsubscribe")]
pub async fn unsubscribe(token: String) -> Result<(), AppError> {
    use crate::backend::services::notices;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let meta = RequestMeta::current().await;
            notices::unsubscribe(&state()?.db, &token, &meta).await
        }
        .await,
    )
}
