//! Getting into an account by mail: "Forgot password" and invitations
//! (an account made for a customer by an admin or the REST API). Both send
//! a single-use link (`services::mail`) that opens `/reset-password`, where
//! its holder sets a password; every session of the account ends then.
//!
//! A request for a reset answers the same whether or not the address has
//! an account (and is limited per address and network either way); only
//! the audit log, which visitors never read, says which it was.

use crate::backend::db::{self, Db, Tx};
use crate::backend::services::audit::attempts::Attempt;
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::web::password;
use crate::backend::web::request::{state, RequestMeta};
use crate::backend::web::secrets::hash_secret;
use crate::domain::mail::{plausible_link_token, LinkPurpose, MailKind};
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::views::LinkInfo;
use chrono::Utc;
use serde_json::json;

/// What every unusable link gets: one message for unknown, used and expired.
const LINK_GONE: &str = "this link has expired or was already used: ask for a new one";

/// "Forgot password": queues a reset mail when `email` has an enabled
/// account. The same answer either way; refused only by the mail limits.
pub async fn request_reset(email: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let sample = || json!({ "email": email.as_str(), "user_agent": meta.user_agent });
    if let Err(retry_after_secs) = st.mail.limiter.check(meta.ip, email.as_str()).await? {
        st.attempts.note(Attempt::denied("account.reset_request", "rate_limited"), meta.ip, Utc::now(), sample);
        return Err(AppError::RateLimited { retry_after_secs });
    }
    match db::users::find_by_email(&st.db, &email).await? {
        Some(user) if !user.disabled => {
            let mut tx = st.db.begin().await?;
            let mail_id = db::mail::enqueue(&mut tx, MailKind::PasswordReset, user.id, &user.email, Utc::now()).await?;
            audit::record(
                &mut tx,
                &AuditEvent::new(Actor::Anonymous { claimed: Some(email.to_string()) }, "account.reset_request", Outcome::Success)
                    .target("user", user.id)
                    .subject(user.id)
                    .meta(&meta)
                    .details(json!({ "mail_id": mail_id })),
            )
            .await?;
            tx.commit().await?;
        }
        other => {
            let reason = if other.is_some() { "account_disabled" } else { "unknown_account" };
            st.attempts.note(Attempt::failed("account.reset_request", reason), meta.ip, Utc::now(), sample);
        }
    }
    Ok(())
}

/// Queues the invitation of a customer account made without a password
/// (in the transaction that makes it).
pub async fn invite_in(tx: &mut Tx, user_id: i64, email: &Email) -> Result<i64, sqlx::Error> {
    db::mail::enqueue(tx, MailKind::Invitation, user_id, email.as_str(), Utc::now()).await
}

/// A usable link: its row and its account.
async fn usable_link(db: &Db, token: &str) -> Result<(db::mail::LinkRow, db::users::UserRow), AppError> {
    let gone = || AppError::invalid("token", LINK_GONE);
    if !plausible_link_token(token) {
        return Err(gone());
    }
    let link = db::mail::find_link(db, &hash_secret(token)).await?.ok_or_else(gone)?;
    if link.used_at.is_some() || link.expires_at <= Utc::now() {
        return Err(gone());
    }
    match db::users::find_by_id(db, link.user_id).await? {
        Some(user) if !user.disabled => Ok((link, user)),
        _ => Err(gone()),
    }
}

/// What a link is for and whose account it opens (the page's heading).
pub async fn link_info(token: &str) -> Result<LinkInfo, AppError> {
    let (link, user) = usable_link(&state()?.db, token).await?;
    Ok(LinkInfo { purpose: link.purpose, email: user.email })
}

/// Sets the password through a link: the link is used up (once, also
/// between replicas), every other link of the account retired, every
/// session of the account ended; audited as `account.password_reset` or
/// `account.invitation_accepted`. The caller then logs in.
pub async fn reset_password(token: &str, new_password: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let (link, user) = usable_link(&st.db, token).await?;
    let password = Password::parse(new_password, Some(&user.email)).map_err(|e| AppError::invalid("password", e))?;
    let hash = password::hash(&password).await?;
    let now = Utc::now();
    let mut tx = st.db.begin().await?;
    if !db::mail::use_link(&mut tx, link.id, now).await? {
        return Err(AppError::invalid("token", LINK_GONE));
    }
    db::mail::retire_links(&mut tx, user.id, now).await?;
    db::users::replace_password(&mut tx, user.id, &hash).await?.ok_or(AppError::NotFound)?;
    let action = match link.purpose {
        LinkPurpose::Reset => "account.password_reset",
        LinkPurpose::Invite => "account.invitation_accepted",
    };
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::User { id: user.id, email: user.email.clone() }, action, Outcome::Success)
            .target("user", user.id)
            .subject(user.id)
            .meta(&meta)
            .details(json!({ "sessions_ended": true })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
