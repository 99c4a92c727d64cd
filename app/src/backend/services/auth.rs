//! Who is calling, and may they? `require_role` starts every server function
//! that needs a login; the login, sign-up and logout flows live here too.

use crate::backend::services::{audit, users};
use crate::backend::services::audit::attempts::Attempt;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::users::UserRow;
use crate::backend::db::Db;
use crate::backend::web::password;
use crate::backend::web::request::{state, RequestMeta};
use crate::backend::web::session::{EPOCH_KEY, SID_KEY, USER_ID_KEY};
use crate::domain::mail::MailKind;
use crate::backend::services::users::CreateUserError;
use crate::views::{Membership, SessionUser};
use crate::domain::organisation::Capability;
use crate::domain::two_factor::TwoFactorPolicy;
use crate::domain::{Email, Password, Role};
use crate::error::AppError;
use chrono::Utc;
use serde_json::json;
use tower_sessions::Session;

async fn session() -> Result<Session, AppError> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| crate::backend::web::request::internal(format!("session layer missing: {e}")))
}

impl SessionUser {
    /// This user as the actor of an audit event.
    pub fn actor(&self) -> Actor {
        Actor::User { id: self.id, email: self.email.clone() }
    }
}

fn to_session_user(row: &UserRow) -> SessionUser {
    SessionUser {
        id: row.id,
        email: row.email.clone(),
        role: row.role(),
        email_verified: row.email_verified_at.is_some(),
        notices: !row.notices_opt_out,
        two_factor: row.two_factor,
        membership: match (row.organisation_id, row.member_role, row.joined_at, &row.organisation_name) {
            (Some(organisation_id), Some(role), Some(_), Some(name)) if row.role == Role::Customer => {
                Some(Membership { organisation_id, organisation: name.clone(), role })
            }
            _ => None,
        },
    }
}

/// The logged-in user of a server function's request (`session_user`).
pub async fn current_user() -> Result<Option<SessionUser>, AppError> {
    session_user(&session().await?, &state()?.db).await
}

/// The user a session belongs to, read fresh from the database so a
/// disabled account, a changed role or a new password (which ends every
/// session made before it) takes effect on the next request.
pub async fn session_user(session: &Session, db: &Db) -> Result<Option<SessionUser>, AppError> {
    let Some(id) = session.get::<i64>(USER_ID_KEY).await? else {
        return Ok(None);
    };
    // Sessions from before epochs existed count as epoch 0; sessions from
    // before the session list have no id and end with the epoch only.
    let epoch = session.get::<i64>(EPOCH_KEY).await?.unwrap_or(0);
    let listed = match session.get::<String>(SID_KEY).await? {
        Some(sid) => db::sessions::alive(db, &sid, id, Utc::now()).await?,
        None => true,
    };
    let row = if listed { db::users::find_by_id(db, id).await? } else { None };
    match row {
        Some(row) if !row.disabled && row.session_epoch == epoch => Ok(Some(to_session_user(&row))),
        _ => {
            // Cleared, not flushed: a page's resources may still run while
            // the session layer saves the response's session, and a flush
            // (which drops the session's id) in between made that a 500
            // ("missing session id"). The emptied session is saved under
            // its old id as an anonymous one; a log-in cycles the id.
            session.clear().await;
            Ok(None)
        }
    }
}

/// The first line of every protected server function: the caller must be
/// logged in with one of `roles` (`authorise`, with the request's session).
pub async fn require_role(roles: &[Role]) -> Result<SessionUser, AppError> {
    let meta = RequestMeta::current().await;
    let path = use_path().unwrap_or_default();
    let st = state()?;
    authorise(&session().await?, &st.db, &st.two_factor, roles, &meta, &path).await
}

/// The first line of every customer server function: a customer who has
/// joined an organisation and whose role there may do `c`
/// (`MemberRole::may`). A customer without an organisation is refused with
/// the reason; a role that may not is refused and audited like any other.
pub async fn require_member(c: Capability) -> Result<(SessionUser, Membership), AppError> {
    let user = require_role(&[Role::Customer]).await?;
    let Some(m) = user.membership.clone() else {
        return Err(AppError::conflict("organisation", "you are not a member of an organisation: ask an owner to invite you"));
    };
    if m.role.may(c) {
        return Ok((user, m));
    }
    let meta = RequestMeta::current().await;
    let db = &state()?.db;
    audit::record_alone(
        db,
        &AuditEvent::new(user.actor(), "authz.denied", Outcome::Denied)
            .meta(&meta)
            .organisation(m.organisation_id)
            .details(json!({ "path": use_path().unwrap_or_default(), "member_role": m.role.as_str() })),
    )
    .await?;
    Err(AppError::Forbidden)
}

/// The first line of the server functions of one's own account (settings,
/// two-factor set-up): logged in with any role, even one that must still
/// set up its second factor.
pub async fn require_login() -> Result<SessionUser, AppError> {
    current_user().await?.ok_or(AppError::Unauthenticated)
}

/// The rule behind `require_role`, without any request context (routes
/// outside server functions call it with what they extracted): the session
/// must belong to an enabled user with one of `roles`, who has set up a
/// second factor if `policy` requires one of that role. A refusal by role
/// is audited.
pub async fn authorise(
    session: &Session,
    db: &Db,
    policy: &TwoFactorPolicy,
    roles: &[Role],
    meta: &RequestMeta,
    path: &str,
) -> Result<SessionUser, AppError> {
    let user = session_user(session, db).await?.ok_or(AppError::Unauthenticated)?;
    if roles.contains(&user.role) {
        if policy.requires(user.role) && !user.two_factor {
            return Err(AppError::TwoFactorRequired);
        }
        return Ok(user);
    }
    audit::record_alone(
        db,
        &AuditEvent::new(Actor::User { id: user.id, email: user.email.clone() }, "authz.denied", Outcome::Denied)
            .meta(meta)
            .details(json!({ "path": path, "role": user.role.as_str() })),
    )
    .await?;
    Err(AppError::Forbidden)
}

/// Buying and making registry credentials wait until the account's address
/// is confirmed (the one rule; the server functions that do either call it).
pub fn require_confirmed(user: &SessionUser) -> Result<(), AppError> {
    if user.email_verified {
        Ok(())
    } else {
        Err(AppError::Unconfirmed)
    }
}

fn use_path() -> Option<String> {
    leptos::prelude::use_context::<axum::http::request::Parts>().map(|p| p.uri.path().to_owned())
}

/// Checks the password, rate limits, cycles the session id and records the
/// outcome. An account with a second factor is not logged in yet: its
/// code comes next (`second_factor`).
pub async fn login(email: &str, password: &str) -> Result<LoginOutcome, AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let password = Password::for_login(password).map_err(|e| AppError::invalid("password", e))?;

    // Attempts that authenticate nothing are counted per network and
    // minute (`audit::attempts`), with the first one's e-mail as sample.
    let sample = || json!({ "email": email.as_str(), "user_agent": meta.user_agent });
    if let Err(retry_after_secs) = st.limiter.check(meta.ip, Some(email.as_str())).await? {
        st.attempts.note(Attempt::denied("auth.login", "rate_limited"), meta.ip, Utc::now(), sample);
        return Err(AppError::RateLimited { retry_after_secs });
    }

    let row = db::users::find_by_email(&st.db, &email).await?;
    let ok = password::verify(&password, row.as_ref().map(|r| r.password_hash.clone())).await?;
    let row = match row {
        Some(row) if ok && !row.disabled => row,
        // The right password of a disabled account: a decision about an
        // account, recorded on its own.
        Some(row) if ok => {
            audit::record_alone(
                &st.db,
                &AuditEvent::new(Actor::Anonymous { claimed: Some(email.to_string()) }, "auth.login", Outcome::Failure)
                    .target("user", row.id)
                    .meta(&meta)
                    .details(json!({ "reason": "account_disabled" })),
            )
            .await?;
            return Err(AppError::InvalidCredentials);
        }
        other => {
            let reason = if other.is_none() { "unknown_account" } else { "wrong_password" };
            st.attempts.note(Attempt::failed("auth.login", reason), meta.ip, Utc::now(), sample);
            return Err(AppError::InvalidCredentials);
        }
    };

    // A second factor: the password alone opens only a pending session.
    if row.two_factor {
        let session = session().await?;
        session.cycle_id().await?;
        session.insert(PENDING_KEY, (row.id, row.session_epoch, Utc::now().timestamp())).await?;
        return Ok(LoginOutcome::SecondFactor(to_session_user(&row)));
    }
    finish_login(&row, &meta, None).await?;
    Ok(LoginOutcome::Done(to_session_user(&row)))
}

/// How a password log-in ended.
pub enum LoginOutcome {
    /// Logged in.
    Done(SessionUser),
    /// The password was right; the second factor is next (`/login/code`).
    SecondFactor(SessionUser),
}

/// The session key of a log-in waiting for its second factor: (user id,
/// session epoch, when the password was checked).
const PENDING_KEY: &str = "pending_2fa";

/// How long the second factor may take after the password.
const PENDING_SECS: i64 = 300;

/// Records the log-in and starts the session.
async fn finish_login(row: &UserRow, meta: &RequestMeta, second_factor: Option<&str>) -> Result<(), AppError> {
    let st = state()?;
    let mut tx = st.db.begin().await?;
    db::users::touch_last_login(&mut tx, row.id, Utc::now()).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::User { id: row.id, email: row.email.clone() }, "auth.login", Outcome::Success)
            .target("user", row.id)
            .meta(meta)
            .details(json!({ "second_factor": second_factor })),
    )
    .await?;
    tx.commit().await?;
    start_session(row.id, row.session_epoch).await
}

/// The second step of a log-in: a TOTP or recovery code for the account
/// whose password was checked in this session within the last 5 minutes.
pub async fn second_factor(code: &str) -> Result<SessionUser, AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let session = session().await?;
    let expired = || AppError::invalid("code", "log in with your password again: this step waited too long");
    let (id, epoch, at) = session.get::<(i64, i64, i64)>(PENDING_KEY).await?.ok_or_else(expired)?;
    if Utc::now().timestamp() - at > PENDING_SECS {
        session.remove::<(i64, i64, i64)>(PENDING_KEY).await?;
        return Err(expired());
    }
    let row = db::users::find_by_id(&st.db, id).await?.filter(|r| !r.disabled && r.session_epoch == epoch).ok_or_else(expired)?;
    let used = crate::backend::services::two_factor::verify(&st.db, row.id, &row.email, code, "auth.second_factor").await?;
    session.remove::<(i64, i64, i64)>(PENDING_KEY).await?;
    finish_login(&row, &meta, Some(used.as_str())).await?;
    Ok(to_session_user(&row))
}

/// A new id for the session (no fixation) holding the user id and the
/// account's session epoch.
pub(crate) async fn start_session(user_id: i64, epoch: i64) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let session = session().await?;
    session.cycle_id().await?;
    let now = Utc::now();
    let row = db::sessions::SessionRow {
        id: crate::backend::web::session::random_token(32),
        user_id,
        created_at: now,
        last_seen_at: now,
        ip: meta.ip_string(),
        user_agent: meta.user_agent.as_deref().map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect()),
    };
    db::sessions::insert(&st.db, &row).await?;
    if let Some(old) = session.get::<String>(SID_KEY).await? {
        db::sessions::delete(&st.db, &old).await?;
    }
    session.insert(USER_ID_KEY, user_id).await?;
    session.insert(EPOCH_KEY, epoch).await?;
    session.insert(SID_KEY, row.id).await?;
    Ok(())
}

/// Sign-up: a new address gets an unconfirmed customer account and a mail
/// with a link that confirms it; an address that has an account gets a mail
/// to its owner instead. The visitor gets the same answer either way, after
/// the same password hashing, and is not logged in (an unconfirmed account
/// may log in with its password and browse).
pub async fn signup(email: &str, password: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let password =
        Password::parse(password, Some(email.as_str())).map_err(|e| AppError::invalid("password", e))?;
    let limited = |retry_after_secs| {
        st.attempts.note(Attempt::denied("auth.signup", "rate_limited"), meta.ip, Utc::now(), || json!({ "user_agent": meta.user_agent }));
        AppError::RateLimited { retry_after_secs }
    };
    st.limiter.check(meta.ip, None).await?.map_err(limited)?;
    st.mail.limiter.check(meta.ip, email.as_str()).await?.map_err(limited)?;
    // Hashed whether or not the address is taken: the same work either way.
    let hash = password::hash(&password).await?;
    let mut tx = st.db.begin().await?;
    let anonymous = Actor::Anonymous { claimed: None };
    match users::create_hashed_in(&mut tx, &email, &hash, Role::Customer, anonymous, "auth.signup", &meta, false).await {
        Ok(id) => {
            db::mail::enqueue(&mut tx, MailKind::VerifyEmail, id, email.as_str(), Utc::now()).await?;
            tx.commit().await?;
        }
        Err(CreateUserError::EmailTaken) => {
            drop(tx);
            let owner = db::users::find_by_email(&st.db, &email).await?.ok_or(AppError::NotFound)?;
            let mut tx = st.db.begin().await?;
            let mail_id = db::mail::enqueue(&mut tx, MailKind::SignupTaken, owner.id, &owner.email, Utc::now()).await?;
            audit::record(
                &mut tx,
                &AuditEvent::new(Actor::Anonymous { claimed: Some(email.to_string()) }, "auth.signup", Outcome::Failure)
                    .target("user", owner.id)
                    .subject(owner.id)
                    .meta(&meta)
                    .details(json!({ "reason": "email_taken", "owner_told_by_mail": mail_id })),
            )
            .await?;
            tx.commit().await?;
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Ends the session (server-side record deleted, cookie cleared).
pub async fn logout() -> Result<(), AppError> {
    let Some(user) = current_user().await? else {
        return Ok(());
    };
    let st = state()?;
    let meta = RequestMeta::current().await;
    let mut tx = st.db.begin().await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::User { id: user.id, email: user.email.clone() }, "auth.logout", Outcome::Success)
            .target("user", user.id)
            .meta(&meta),
    )
    .await?;
    tx.commit().await?;
    let session = session().await?;
    if let Some(sid) = session.get::<String>(SID_KEY).await? {
        db::sessions::delete(&st.db, &sid).await?;
    }
    session.flush().await?;
    Ok(())
}

/// The session id of this request's session, if it has one (to mark "this
/// one" in lists).
pub async fn current_sid() -> Result<Option<String>, AppError> {
    Ok(session().await?.get::<String>(SID_KEY).await?)
}
