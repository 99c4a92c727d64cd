//! One's own account (`/settings`, every role): change the password (the
//! current one first; every other session ends; the owner is told by
//! mail), change the e-mail address (the new one confirmed by a mailed link
//! first, `services::recovery::confirm_email`; the old one told), see the
//! account's sessions and end one, and log out everywhere.

use crate::backend::db;
use crate::backend::services::audit::attempts::Attempt;
use crate::backend::services::audit::{self, AuditEvent, Outcome};
use crate::backend::services::auth::start_session;
use crate::backend::web::password;
use crate::backend::web::request::{state, RequestMeta};
use crate::domain::mail::MailKind;
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::views::SessionUser;
use chrono::Utc;
use serde_json::json;

/// Checks `current` against the account's password, under the log-in
/// limits (a stolen session must not become a password oracle).
async fn check_current(me: &SessionUser, current: &str) -> Result<db::users::UserRow, AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    if let Err(retry_after_secs) = st.limiter.check(meta.ip, Some(&me.email)).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let current = Password::for_login(current).map_err(|e| AppError::invalid("current_password", e))?;
    let row = db::users::find_by_id(&st.db, me.id).await?.ok_or(AppError::Unauthenticated)?;
    if !password::verify(&current, Some(row.password_hash.clone())).await? {
        st.attempts.note(Attempt::failed("account.password_check", "wrong_password"), meta.ip, Utc::now(), || json!({ "email": me.email }));
        return Err(AppError::invalid("current_password", "this is not your current password"));
    }
    Ok(row)
}

/// Sets a new password; this session stays, every other ends.
pub async fn change_password(me: &SessionUser, current: &str, new: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let row = check_current(me, current).await?;
    let new = Password::parse(new, Some(&row.email)).map_err(|e| AppError::invalid("new_password", e))?;
    let hash = password::hash(&new).await?;
    let mut tx = st.db.begin().await?;
    let epoch = db::users::replace_password(&mut tx, me.id, &hash).await?.ok_or(AppError::Unauthenticated)?;
    db::mail::enqueue(&mut tx, MailKind::PasswordChanged, me.id, &row.email, Utc::now()).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(me.actor(), "account.password_change", Outcome::Success)
            .target("user", me.id)
            .subject(me.id)
            .meta(&meta)
            .details(json!({ "other_sessions_ended": true })),
    )
    .await?;
    tx.commit().await?;
    start_session(me.id, epoch).await
}

/// Mails a link to `new_email` that makes it the account's address once
/// followed. Said the same way whether or not the address has an account
/// (the link then fails when followed).
pub async fn request_email_change(me: &SessionUser, new_email: &str, current: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let new = Email::parse(new_email).map_err(|e| AppError::invalid("new_email", e))?;
    if new.as_str() == me.email {
        return Err(AppError::invalid("new_email", "this is the account's address already"));
    }
    check_current(me, current).await?;
    if let Err(retry_after_secs) = st.mail.limiter.check(meta.ip, new.as_str()).await? {
        return Err(AppError::RateLimited { retry_after_secs });
    }
    let mut tx = st.db.begin().await?;
    let mail_id = db::mail::enqueue(&mut tx, MailKind::EmailChange, me.id, new.as_str(), Utc::now()).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(me.actor(), "account.email_change_request", Outcome::Success)
            .target("user", me.id)
            .subject(me.id)
            .meta(&meta)
            .details(json!({ "to": new.as_str(), "mail_id": mail_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of the account but this one.
pub async fn logout_everywhere(me: &SessionUser) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let mut tx = st.db.begin().await?;
    let epoch = db::users::end_sessions(&mut tx, me.id).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(me.actor(), "auth.logout_everywhere", Outcome::Success).target("user", me.id).subject(me.id).meta(&meta),
    )
    .await?;
    tx.commit().await?;
    start_session(me.id, epoch).await
}

/// The sessions of account `user_id` (the owner's settings, an admin's
/// view), this request's marked.
pub async fn sessions(user_id: i64) -> Result<Vec<crate::views::SessionView>, AppError> {
    let current = crate::backend::services::auth::current_sid().await?;
    sessions_of(&state()?.db, user_id, current.as_deref()).await
}

/// The sessions of account `user_id`, `current` marked (no request
/// context: the REST API calls it too).
pub async fn sessions_of(db: &db::Db, user_id: i64, current: Option<&str>) -> Result<Vec<crate::views::SessionView>, AppError> {
    Ok(db::sessions::of_user(db, user_id)
        .await?
        .into_iter()
        .map(|r| crate::views::SessionView {
            current: current == Some(r.id.as_str()),
            id: r.id,
            created_at: crate::domain::time::rfc3339(r.created_at),
            last_seen_at: crate::domain::time::rfc3339(r.last_seen_at),
            ip: r.ip,
            user_agent: r.user_agent,
        })
        .collect())
}

/// Ends one session of account `user_id` (by its owner or an admin).
pub async fn end_session(user_id: i64, session_id: &str, actor: crate::backend::services::audit::Actor) -> Result<(), AppError> {
    let meta = RequestMeta::current().await;
    end_session_of(&state()?.db, user_id, session_id, actor, &meta).await
}

/// Ends one session of account `user_id`, audited as
/// `auth.session_ended`. `NotFound` if it was gone.
pub async fn end_session_of(
    db: &db::Db,
    user_id: i64,
    session_id: &str,
    actor: crate::backend::services::audit::Actor,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    if session_id.len() > 64 {
        return Err(AppError::NotFound);
    }
    let mut tx = db.begin().await?;
    if !db::sessions::delete_one(&mut tx, user_id, session_id).await? {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "auth.session_ended", Outcome::Success).target("user", user_id).subject(user_id).meta(meta),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
