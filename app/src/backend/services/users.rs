//! Creating accounts: one path for sign-up, the admin UI, the CLI and the
//! demo seed, so every account is hashed and audited the same way.

use crate::backend::services::{audit, organisations};
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::{Db, Tx};
use crate::backend::web::password;
use crate::backend::web::request::RequestMeta;
use crate::domain::{Email, Password, Role};
use crate::error::AppError;
use chrono::Utc;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum CreateUserError {
    #[error("an account with this e-mail address already exists")]
    EmailTaken,
    #[error("no account with this e-mail address")]
    EmailUnknown,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] password::HashError),
}

impl From<CreateUserError> for AppError {
    fn from(err: CreateUserError) -> Self {
        match err {
            CreateUserError::EmailTaken => AppError::conflict("email", err),
            CreateUserError::EmailUnknown => AppError::NotFound,
            CreateUserError::Db(e) => e.into(),
            CreateUserError::Hash(e) => e.into(),
        }
    }
}

/// Inserts the account with its hash and its `user.create` (or
/// `auth.signup`) audit event in `tx` (`verified`: its address counts as
/// confirmed: made by an admin, the CLI or the demo). The caller commits.
/// Returns the new id.
#[allow(clippy::too_many_arguments)]
pub async fn create_hashed_in(
    tx: &mut Tx,
    email: &Email,
    hash: &password::PasswordHash,
    role: Role,
    actor: Actor,
    action: &'static str,
    meta: &RequestMeta,
    verified: bool,
) -> Result<i64, CreateUserError> {
    let now = Utc::now();
    let id = match db::users::insert(tx, email, hash, role, now, verified).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => return Err(CreateUserError::EmailTaken),
        Err(e) => return Err(e.into()),
    };
    // A customer account founds its organisation (a customer is one).
    if role == Role::Customer {
        organisations::found_in(tx, id, email.as_str(), now).await?;
    }
    let actor = match actor {
        // A sign-up is its own actor: the account it just made.
        Actor::Anonymous { .. } => Actor::User { id, email: email.to_string() },
        other => other,
    };
    audit::record(
        tx,
        &AuditEvent::new(actor, action, Outcome::Success)
            .target("user", id)
            .subject(id)
            .meta(meta)
            .details(json!({ "email": email.as_str(), "role": role.as_str(), "email_verified": verified })),
    )
    .await?;
    Ok(id)
}

/// Creates an account in a transaction of its own (an admin, the CLI, the
/// demo seed: its address counts as confirmed).
pub async fn create(
    db: &Db,
    email: &Email,
    password: &Password,
    role: Role,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<i64, CreateUserError> {
    let hash = password::hash(password).await?;
    let mut tx = db.begin().await?;
    let id = create_hashed_in(&mut tx, email, &hash, role, actor, "user.create", meta, true).await?;
    tx.commit().await?;
    Ok(id)
}

/// Replaces an account's password (demo start-up, CLI), audited in the same
/// transaction. An unknown e-mail is `EmailUnknown`.
pub async fn reset_password(
    db: &Db,
    email: &Email,
    password: &Password,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<i64, CreateUserError> {
    let hash = password::hash(password).await?;
    let mut tx = db.begin().await?;
    let id = db::users::set_password_hash(&mut tx, email, &hash).await?.ok_or(CreateUserError::EmailUnknown)?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "user.password_reset", Outcome::Success).target("user", id).meta(meta),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Inserts a customer (optionally with a password and a display name) and
/// its `customer.create` event in `tx`. Without a password the stored hash is
/// `!`, which never verifies, and an invitation to set one is queued
/// (`services::recovery`).
pub async fn create_customer_in(
    tx: &mut Tx,
    email: &Email,
    password: Option<&Password>,
    name: Option<&str>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<i64, CreateUserError> {
    let hash = match password {
        Some(p) => password::hash(p).await?,
        None => password::PasswordHash::unusable(),
    };
    // An admin who sets the password vouches for the address; an invited
    // customer confirms it by following the invitation.
    let now = Utc::now();
    let id = match db::users::insert(tx, email, &hash, Role::Customer, now, password.is_some()).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => return Err(CreateUserError::EmailTaken),
        Err(e) => return Err(e.into()),
    };
    db::users::set_name(tx, id, name).await?;
    organisations::found_in(tx, id, name.unwrap_or(email.as_str()), now).await?;
    // Without a password the customer is invited to set one by mail.
    let invitation = match password {
        Some(_) => None,
        None => Some(crate::backend::services::recovery::invite_in(tx, id, email).await?),
    };
    audit::record(
        tx,
        &AuditEvent::new(actor, "customer.create", Outcome::Success)
            .target("user", id)
            .subject(id)
            .meta(meta)
            .details(json!({ "email": email.as_str(), "name": name, "can_log_in": password.is_some(), "invitation_mail_id": invitation })),
    )
    .await?;
    Ok(id)
}

/// What an admin does to an account (`/admin/users`; customers also through
/// the REST API).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccountChange {
    /// No log-in, every session ends at once.
    Disable,
    Enable,
    /// Another role (admin, auditor, customer).
    Role(Role),
    /// Mails the account a password reset link.
    SendReset,
    /// Ends every session of the account.
    EndSessions,
    /// Turns the account's two-factor sign-in off (a lost phone); it sets
    /// it up again at its next log-in if its role requires one.
    ResetTwoFactor,
}

impl AccountChange {
    /// The form's words: `disable`, `enable`, `role` (with `role`),
    /// `send_reset`, `end_sessions`.
    pub fn parse(action: &str, role: Option<&str>) -> Result<Self, AppError> {
        Ok(match action {
            "disable" => Self::Disable,
            "enable" => Self::Enable,
            "send_reset" => Self::SendReset,
            "end_sessions" => Self::EndSessions,
            "reset_2fa" => Self::ResetTwoFactor,
            "role" => Self::Role(role.unwrap_or_default().parse().map_err(|e| AppError::invalid("role", e))?),
            _ => return Err(AppError::invalid("action", "expected disable, enable, role, send_reset, end_sessions or reset_2fa")),
        })
    }

    fn action(self) -> &'static str {
        match self {
            Self::Disable => "user.disable",
            Self::Enable => "user.enable",
            Self::Role(_) => "user.role_change",
            Self::SendReset => "user.reset_sent",
            Self::EndSessions => "user.sessions_ended",
            Self::ResetTwoFactor => "user.2fa_reset",
        }
    }
}

/// Applies `change` to account `id`, audited in the same transaction. The
/// last enabled admin can be neither disabled nor given another role (the
/// enabled admins are locked for the check, so two admins demoting each
/// other at once cannot both succeed). `only_role`: the account must have
/// this role (the REST API changes customers only).
pub async fn change_account(
    db: &Db,
    id: i64,
    change: AccountChange,
    only_role: Option<Role>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let admins = db::users::lock_active_admins(&mut tx).await?;
    let user = db::users::find_by_id(db, id).await?.ok_or(AppError::NotFound)?;
    if only_role.is_some_and(|r| r != user.role) {
        return Err(AppError::NotFound);
    }
    let demotes = matches!(change, AccountChange::Disable) || matches!(change, AccountChange::Role(r) if r != Role::Admin);
    if demotes && admins == [id] {
        return Err(AppError::conflict("action", "this is the last active admin: make another admin first"));
    }
    let mut details = json!({ "email": user.email });
    match change {
        AccountChange::Disable | AccountChange::Enable => {
            let disabled = change == AccountChange::Disable;
            if user.disabled == disabled {
                return Ok(()); // nothing changes, nothing to record
            }
            db::users::set_disabled(&mut tx, id, disabled).await?;
            db::users::end_sessions(&mut tx, id).await?;
        }
        AccountChange::Role(role) => {
            if user.role == role {
                return Ok(());
            }
            db::users::set_role(&mut tx, id, role).await?;
            // An account made a customer founds an organisation, unless it
            // has one (or founded one it has left: it can be invited).
            if role == Role::Customer && user.organisation_id.is_none() && db::organisations::find(db, id).await?.is_none() {
                organisations::found_in(&mut tx, id, &user.email, Utc::now()).await?;
            }
            details["from"] = json!(user.role.as_str());
            details["to"] = json!(role.as_str());
        }
        AccountChange::SendReset => {
            let mail = db::mail::enqueue(&mut tx, crate::domain::mail::MailKind::PasswordReset, id, &user.email, Utc::now()).await?;
            details["mail_id"] = json!(mail);
        }
        AccountChange::EndSessions => {
            db::users::end_sessions(&mut tx, id).await?;
        }
        AccountChange::ResetTwoFactor => {
            if !db::two_factor::remove(&mut tx, id).await? {
                return Ok(()); // it had none: nothing to record
            }
        }
    }
    audit::record(&mut tx, &AuditEvent::new(actor, change.action(), Outcome::Success).target("user", id).subject(id).meta(meta).details(details))
        .await?;
    tx.commit().await?;
    Ok(())
}
