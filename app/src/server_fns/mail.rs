//! Mail: the admin's outbox page (recent and failed mails, send again) and
//! demo mode's local mailbox.

use crate::error::AppError;
use crate::views::{LocalMailView, MailOverview};
use leptos::prelude::*;

/// The outbox: how mail leaves, counts, the newest mails (`status`:
/// pending, sent or failed; none = all).
#[server(prefix = "/fn", endpoint = "admin/mail")]
pub async fn outbox_overview(status: Option<String>) -> Result<MailOverview, AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::mail::outbox;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    use crate::domain::mail::MailStatus;
    respond(
        async {
            require_role(&[crate::domain::Role::Admin]).await?;
            let status = match status.as_deref().filter(|s| !s.is_empty()) {
                None => None,
                Some(s) => Some(MailStatus::parse(s).ok_or_else(|| AppError::invalid("status", "expected pending, sent or failed"))?),
            };
            let st = state()?;
            outbox::overview(&st.db, &st.mail, status).await
        }
        .await,
    )
}

/// Sends a mail again (a mail with a link gets a new link).
#[server(prefix = "/fn", endpoint = "admin/resend_mail")]
pub async fn resend_mail(id: i64) -> Result<(), AppError> {
    use crate::backend::services::auth::require_role;
    use crate::backend::services::mail::outbox;
    use crate::backend::web::request::state;
    use crate::backend::web::{respond, RequestMeta};
    respond(
        async {
            let admin = require_role(&[crate::domain::Role::Admin]).await?;
            let meta = RequestMeta::current().await;
            outbox::resend(&state()?.db, id, admin.actor(), &meta).await
        }
        .await,
    )
}

/// Demo mode without SMTP: the mails as delivered, links included; 404
/// anywhere else.
#[server(prefix = "/fn", endpoint = "demo/mailbox")]
pub async fn demo_mailbox() -> Result<Vec<LocalMailView>, AppError> {
    use crate::backend::services::mail::outbox;
    use crate::backend::web::request::state;
    use crate::backend::web::respond;
    respond(
        async {
            let st = state()?;
            outbox::local_mailbox(&st.db, &st.mail).await
        }
        .await,
    )
}
