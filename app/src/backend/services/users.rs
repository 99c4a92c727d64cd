//! Creating accounts: one path for sign-up, the admin UI, the CLI and the
//! demo seed, so every account is hashed and audited the same way.

use crate::backend::services::audit;
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

/// Inserts the account and its `user.create` (or `auth.signup`) audit event in
/// `tx`. The caller commits. Returns the new id.
pub async fn create_in(
    tx: &mut Tx,
    email: &Email,
    password: &Password,
    role: Role,
    actor: Actor,
    action: &'static str,
    meta: &RequestMeta,
) -> Result<i64, CreateUserError> {
    let hash = password::hash(password).await?;
    let id = match db::users::insert(tx, email, &hash, role, Utc::now()).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => return Err(CreateUserError::EmailTaken),
        Err(e) => return Err(e.into()),
    };
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
            .details(json!({ "email": email.as_str(), "role": role.as_str() })),
    )
    .await?;
    Ok(id)
}

/// Creates an account in a transaction of its own.
pub async fn create(
    db: &Db,
    email: &Email,
    password: &Password,
    role: Role,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<i64, CreateUserError> {
    let mut tx = db.begin().await?;
    let id = create_in(&mut tx, email, password, role, actor, "user.create", meta).await?;
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
    let id = match db::users::insert(tx, email, &hash, Role::Customer, Utc::now()).await {
        Ok(id) => id,
        Err(e) if db::is_unique_violation(&e) => return Err(CreateUserError::EmailTaken),
        Err(e) => return Err(e.into()),
    };
    db::users::set_name(tx, id, name).await?;
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
