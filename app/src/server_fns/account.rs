//! One's own account, every role (`/settings`): password, address, the
//! confirmation mail again, log out everywhere, notices, two-factor
//! sign-in. Each needs a log-in (`require_login`), not a role: an admin who
//! must still set up a second factor can do it here.

use crate::error::AppError;
use leptos::prelude::*;


#[server(prefix = "/fn", endpoint = "me/change_password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_login};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            account::change_password(&me, &current_password, &new_password).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "me/change_email")]
pub async fn change_email(new_email: String, current_password: String) -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_login};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            account::request_email_change(&me, &new_email, &current_password).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "me/resend_confirmation")]
pub async fn resend_confirmation() -> Result<(), AppError> {
    use crate::backend::services::{auth::require_login, recovery};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            recovery::resend_confirmation(me.id).await
        }
        .await,
    )
}

#[server(prefix = "/fn", endpoint = "me/logout_everywhere")]
pub async fn logout_everywhere() -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_login};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            account::logout_everywhere(&me).await
        }
        .await,
    )
}

/// Turns notices (access ending, payment) and, for admins, the digest on
/// or off for one's own account; answers whether they are on now.
#[server(prefix = "/fn", endpoint = "me/notices")]
pub async fn set_notices(on: bool) -> Result<bool, AppError> {
    use crate::backend::services::{auth::require_login, notices};
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let me = require_login().await?;
            let meta = RequestMeta::current().await;
            notices::set_in(&state()?.db, me.id, &me.email, !on, &meta).await?;
            Ok(on)
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

/// Starts (or restarts) setting up two-factor sign-in.
#[server(prefix = "/fn", endpoint = "me/two_factor_begin")]
pub async fn two_factor_begin() -> Result<crate::views::TwoFactorEnrolment, AppError> {
    use crate::backend::services::{auth::require_login, two_factor};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            two_factor::begin(&me).await
        }
        .await,
    )
}

/// Turns two-factor sign-in on with the app's first code; answers the
/// recovery codes, shown this once.
#[server(prefix = "/fn", endpoint = "me/two_factor_confirm")]
pub async fn two_factor_confirm(code: String) -> Result<Vec<String>, AppError> {
    use crate::backend::services::{auth::require_login, two_factor};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            two_factor::confirm(&me, &code).await
        }
        .await,
    )
}

/// Turns one's own two-factor sign-in off, with a current code.
#[server(prefix = "/fn", endpoint = "me/two_factor_disable")]
pub async fn two_factor_disable(code: String) -> Result<(), AppError> {
    use crate::backend::services::{auth::require_login, two_factor};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            two_factor::disable(&me, &code).await
        }
        .await,
    )
}

/// One's own sessions (this one marked).
#[server(prefix = "/fn", endpoint = "me/sessions")]
pub async fn my_sessions() -> Result<Vec<crate::views::SessionView>, AppError> {
    use crate::backend::services::{account, auth::require_login};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            account::sessions(me.id).await
        }
        .await,
    )
}

/// Ends one of one's own sessions.
#[server(prefix = "/fn", endpoint = "me/end_session")]
pub async fn end_my_session(session_id: String) -> Result<(), AppError> {
    use crate::backend::services::{account, auth::require_login};
    use crate::backend::web::respond;
    respond(
        async {
            let me = require_login().await?;
            account::end_session(me.id, &session_id, me.actor()).await
        }
        .await,
    )
}
