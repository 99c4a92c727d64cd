//! What mailed links do: "Forgot password" and invitations (an account
//! made for a customer by an admin or the REST API) send a single-use link
//! (`services::mail`) that opens `/reset-password`, where its holder sets a
//! password (every session of the account ends then); sign-up and an
//! address change send one that opens `/confirm-email`, where a button
//! confirms the address. A link only does what its purpose says.
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

/// Which links a page takes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// Any (the page that says what a link is for).
    Any,
    /// Links that set a password (reset, invitation).
    Password,
    /// Links that confirm an address (sign-up, address change).
    Address,
}

/// A usable link: its row and its account.
async fn usable_link(db: &Db, token: &str, takes: Takes) -> Result<(db::mail::LinkRow, db::users::UserRow), AppError> {
    let gone = || AppError::invalid("token", LINK_GONE);
    if !plausible_link_token(token) {
        return Err(gone());
    }
    let link = db::mail::find_link(db, &hash_secret(token)).await?.ok_or_else(gone)?;
    let fits = match takes {
        Takes::Any => true,
        Takes::Password => link.purpose.sets_password(),
        Takes::Address => !link.purpose.sets_password(),
    };
    if !fits || link.used_at.is_some() || link.expires_at <= Utc::now() {
        return Err(gone());
    }
    match db::users::find_by_id(db, link.user_id).await? {
        Some(user) if !user.disabled => Ok((link, user)),
        _ => Err(gone()),
    }
}

/// What a link is for and the address it concerns (the account's, or the
/// new address an address change confirms).
pub async fn link_info(token: &str) -> Result<LinkInfo, AppError> {
    let (link, user) = usable_link(&state()?.db, token, Takes::Any).await?;
    Ok(LinkInfo { purpose: link.purpose, email: link.new_email.unwrap_or(user.email) })
}

/// Sets the password through a link: the link is used up (once, also
/// between replicas), every other link of the account retired, every
/// session of the account ended; audited as `account.password_reset` or
/// `account.invitation_accepted`. The caller then logs in.
pub async fn reset_password(token: &str, new_password: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let (link, user) = usable_link(&st.db, token, Takes::Password).await?;
    let password = Password::parse(new_password, Some(&user.email)).map_err(|e| AppError::invalid("password", e))?;
    let hash = password::hash(&password).await?;
    let now = Utc::now();
    let mut tx = st.db.begin().await?;
    if !db::mail::use_link(&mut tx, link.id, now).await? {
        return Err(AppError::invalid("token", LINK_GONE));
    }
    db::mail::retire_links(&mut tx, user.id, &[LinkPurpose::Reset, LinkPurpose::Invite], now).await?;
    db::users::replace_password(&mut tx, user.id, &hash).await?.ok_or(AppError::NotFound)?;
    // Following a mailed link shows the address is the holder's.
    db::users::mark_verified(&mut tx, user.id, now).await?;
    // An invitation's link accepts it: the member joins their organisation.
    let joined = match link.purpose {
        LinkPurpose::Invite => crate::backend::services::organisations::accept_in(&mut tx, user.id, now).await?,
        _ => None,
    };
    let action = match link.purpose {
        LinkPurpose::Reset => "account.password_reset",
        LinkPurpose::Invite => "account.invitation_accepted",
        LinkPurpose::Verify | LinkPurpose::EmailChange => return Err(AppError::invalid("token", LINK_GONE)),
    };
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::User { id: user.id, email: user.email.clone() }, action, Outcome::Success)
            .target("user", user.id)
            .subject(user.id)
            .organisation_opt(joined)
            .meta(&meta)
            .details(json!({ "sessions_ended": true, "organisation": user.organisation_name, "joined": joined.is_some() })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Confirms an address through a link: the sign-up address (the account is
/// confirmed) or a new address (the account moves to it, its old address
/// is told). Returns the account's id.
pub async fn confirm_email(token: &str) -> Result<i64, AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let (link, user) = usable_link(&st.db, token, Takes::Address).await?;
    let now = Utc::now();
    let mut tx = st.db.begin().await?;
    if !db::mail::use_link(&mut tx, link.id, now).await? {
        return Err(AppError::invalid("token", LINK_GONE));
    }
    let actor = Actor::User { id: user.id, email: user.email.clone() };
    let event = match (link.purpose, link.new_email.as_deref()) {
        (LinkPurpose::EmailChange, Some(new)) => {
            let new = Email::parse(new).map_err(|e| AppError::invalid("token", e))?;
            match db::users::change_email(&mut tx, user.id, &new, now).await {
                Ok(()) => {}
                Err(e) if db::is_unique_violation(&e) => {
                    return Err(AppError::invalid("token", "this address belongs to another account now"));
                }
                Err(e) => return Err(e.into()),
            }
            db::mail::retire_links(&mut tx, user.id, &[LinkPurpose::EmailChange, LinkPurpose::Verify], now).await?;
            db::mail::enqueue(&mut tx, MailKind::EmailChanged, user.id, &user.email, now).await?;
            AuditEvent::new(actor, "account.email_change", Outcome::Success).details(json!({ "from": user.email, "to": new.as_str() }))
        }
        _ => {
            db::users::mark_verified(&mut tx, user.id, now).await?;
            db::mail::retire_links(&mut tx, user.id, &[LinkPurpose::Verify], now).await?;
            AuditEvent::new(actor, "account.email_verified", Outcome::Success).details(json!({ "email": user.email }))
        }
    };
    audit::record(&mut tx, &event.target("user", user.id).subject(user.id).meta(&meta)).await?;
    tx.commit().await?;
    Ok(user.id)
}

/// Mails the confirmation link again (limited like every mail a request
/// can trigger); nothing for a confirmed account.
pub async fn resend_confirmation(user_id: i64) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let user = db::users::find_by_id(&st.db, user_id).await?.ok_or(AppError::NotFound)?;
    if user.email_verified_at.is_some() {
        return Ok(());
    }
    if let Err(retry_after_secs) = st.mail.limiter.check(meta.ip, &user.email).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let mut tx = st.db.begin().await?;
    db::mail::enqueue(&mut tx, MailKind::VerifyEmail, user.id, &user.email, Utc::now()).await?;
    tx.commit().await?;
    Ok(())
}
