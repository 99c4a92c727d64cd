//! Two-factor sign-in: TOTP (RFC 6238: SHA-1, 6 digits, 30 s steps, one
//! step of skew, as every authenticator app does) and single-use recovery
//! codes.
//!
//! - TwoFactorEnrolment (`/settings`): `begin` makes a random 160-bit secret, seals
//!   it with the key-encryption key (bound to the user id) and shows it as
//!   a QR code drawn as inline SVG on the server (the CSP allows no `data:`
//!   image and no outside service) and as text; `confirm` takes the first
//!   code, enables it and returns ten recovery codes, shown once (only
//!   their SHA-256 is stored).
//! - Checking a code (`verify`): a TOTP code is accepted once: the time
//!   step it matched must be later than the last one accepted, recorded by
//!   one conditional UPDATE (no replay within its window, also between
//!   replicas); a recovery code is used up the same way. Attempts are
//!   limited per account with the log-in limits; failures are counted
//!   attempts in the audit log.
//! - Log-in (`services::auth`): after the password, an account with a
//!   second factor gets a pending session and `/login/code`.
//! - Off: by its owner with a current code; by an admin for another account
//!   (`users::AccountChange::ResetTwoFactor`), audited.

use crate::backend::db::{self, Db};
use crate::backend::services::audit::attempts::Attempt;
use crate::backend::services::audit::{self, AuditEvent, Outcome};
use crate::backend::web::request::{state, RequestMeta};
use crate::backend::web::secrets::hash_secret;
use crate::domain::signing_key::Sealable;
use crate::domain::two_factor::{format_recovery, SecondFactor, RECOVERY_CODES, RECOVERY_CODE_CHARS};
use crate::error::AppError;
use crate::views::{SessionUser, TwoFactorEnrolment};
use chrono::Utc;
use rand::Rng;
use serde_json::json;
use totp_rs::{Algorithm, Builder, Totp};


fn totp(secret: Vec<u8>, account: &str, issuer: &str) -> Result<Totp, AppError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_step_duration(30)
        .with_skew(1)
        .with_secret(secret)
        .with_account_name(account)
        .with_issuer(Some(issuer))
        .build()
        .map_err(|e| AppError::internal(format!("TOTP: {e:?}")))
}

/// The issuer shown in authenticator apps: the portal's host.
fn issuer() -> Result<String, AppError> {
    let st = state()?;
    Ok(url::Url::parse(&st.mail.url("/")).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "Portcullis".into()))
}

/// Starts an enrolment (or starts it again); refused while one is enabled.
pub async fn begin(me: &SessionUser) -> Result<TwoFactorEnrolment, AppError> {
    let st = state()?;
    if db::two_factor::find(&st.db, me.id).await?.is_some_and(|r| r.enabled_at.is_some()) {
        return Err(AppError::conflict("code", "two-factor sign-in is on already: turn it off first to start again"));
    }
    let secret: Vec<u8> = (0..20).map(|_| rand::rngs::OsRng.gen::<u8>()).collect();
    let sealed = st.sealer.seal(Sealable::TwoFactor(me.id), &secret).map_err(AppError::internal)?;
    db::two_factor::begin(&st.db, me.id, &sealed, Utc::now()).await?;
    let issuer = issuer()?;
    let t = totp(secret, &me.email, &issuer)?;
    let otpauth = t.to_url().map_err(|e| AppError::internal(format!("TOTP address: {e:?}")))?;
    let qr = qrcode::QrCode::new(otpauth.as_bytes()).map_err(|e| AppError::internal(format!("QR code: {e}")))?;
    let qr_svg = qr.render::<qrcode::render::svg::Color>().min_dimensions(200, 200).quiet_zone(true).build();
    Ok(TwoFactorEnrolment { qr_svg, secret: t.secret().to_base32(), otpauth })
}

/// The code's time step if `code` is a current TOTP code of `row`.
fn step_of(row: &db::two_factor::TwoFactorRow, code: &str, account: &str) -> Result<Option<i64>, AppError> {
    let st = state()?;
    let secret = st.sealer.open(Sealable::TwoFactor(row.user_id), &row.secret()).map_err(AppError::internal)?;
    let t = totp(secret, account, "portcullis")?;
    let now = Utc::now().timestamp().max(0) as u64;
    Ok(t.check(code, now).and_then(|step| i64::try_from(step).ok()))
}

/// Confirms an enrolment with its first code: on, and ten recovery codes
/// (shown this once).
pub async fn confirm(me: &SessionUser, code: &str) -> Result<Vec<String>, AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    let row = db::two_factor::find(&st.db, me.id).await?.ok_or_else(|| AppError::conflict("code", "start the set-up first"))?;
    if row.enabled_at.is_some() {
        return Err(AppError::conflict("code", "two-factor sign-in is on already"));
    }
    let Some(SecondFactor::Totp(code)) = SecondFactor::parse(code) else {
        return Err(AppError::invalid("code", "enter the 6-digit code your app shows"));
    };
    limit(me.id, &meta).await?;
    let Some(step) = step_of(&row, &code, &me.email)? else {
        return Err(wrong(me.id, "two_factor.confirm", &meta));
    };
    let codes: Vec<String> = (0..RECOVERY_CODES)
        .map(|_| {
            let mut rng = rand::rngs::OsRng;
            (0..RECOVERY_CODE_CHARS).map(|_| char::from(b"abcdefghijkmnpqrstuvwxyz23456789"[rng.gen_range(0..32)])).collect()
        })
        .collect();
    let hashes: Vec<String> = codes.iter().map(|c| hash_secret(c)).collect();
    let mut tx = st.db.begin().await?;
    if !db::two_factor::accept_step(&mut tx, me.id, step, Some(Utc::now())).await? {
        return Err(AppError::invalid("code", "this code was used already: wait for the next one"));
    }
    db::two_factor::set_recovery_codes(&mut tx, me.id, &hashes).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(me.actor(), "account.2fa_enabled", Outcome::Success).target("user", me.id).subject(me.id).meta(&meta),
    )
    .await?;
    tx.commit().await?;
    Ok(codes.iter().map(|c| format_recovery(c)).collect())
}

/// Counts a check against the log-in limits of the account.
async fn limit(user_id: i64, meta: &RequestMeta) -> Result<(), AppError> {
    let st = state()?;
    st.limiter.check(meta.ip, Some(&format!("2fa:{user_id}"))).await?.map_err(|retry_after_secs| AppError::RateLimited { retry_after_secs })
}

/// A wrong code: counted (per network and window), answered on the field.
fn wrong(user_id: i64, action: &'static str, meta: &RequestMeta) -> AppError {
    if let Ok(st) = state() {
        st.attempts.note(Attempt::failed(action, "wrong_code"), meta.ip, Utc::now(), || json!({ "user_id": user_id }));
    }
    AppError::invalid("code", "this code is not right, or was used already")
}

/// How the second factor was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Used {
    Totp,
    RecoveryCode,
}

impl Used {
    pub fn as_str(self) -> &'static str {
        match self {
            Used::Totp => "totp",
            Used::RecoveryCode => "recovery_code",
        }
    }
}

/// Checks a code (TOTP or recovery) of an enabled account: each is
/// accepted once. `action` names the attempt if it fails.
pub async fn verify(db: &Db, user_id: i64, account: &str, typed: &str, action: &'static str) -> Result<Used, AppError> {
    let meta = RequestMeta::current().await;
    let row = db::two_factor::find(db, user_id).await?.filter(|r| r.enabled_at.is_some());
    let Some(row) = row else { return Err(AppError::conflict("code", "two-factor sign-in is off for this account")) };
    let Some(factor) = SecondFactor::parse(typed) else {
        return Err(AppError::invalid("code", "enter the 6-digit code your app shows, or a recovery code"));
    };
    limit(user_id, &meta).await?;
    let mut tx = db.begin().await?;
    let used = match factor {
        SecondFactor::Totp(code) => match step_of(&row, &code, account)? {
            Some(step) if db::two_factor::accept_step(&mut tx, user_id, step, None).await? => Used::Totp,
            _ => return Err(wrong(user_id, action, &meta)),
        },
        SecondFactor::Recovery(code) => {
            if !db::two_factor::use_recovery_code(&mut tx, user_id, &hash_secret(&code), Utc::now()).await? {
                return Err(wrong(user_id, action, &meta));
            }
            Used::RecoveryCode
        }
    };
    tx.commit().await?;
    Ok(used)
}

/// Turns one's own second factor off, with a current code.
pub async fn disable(me: &SessionUser, code: &str) -> Result<(), AppError> {
    let st = state()?;
    let meta = RequestMeta::current().await;
    verify(&st.db, me.id, &me.email, code, "two_factor.disable").await?;
    let mut tx = st.db.begin().await?;
    db::two_factor::remove(&mut tx, me.id).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(me.actor(), "account.2fa_disabled", Outcome::Success).target("user", me.id).subject(me.id).meta(&meta),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Recovery codes left for the account (the settings page).
pub async fn codes_left(me: &SessionUser) -> Result<i64, AppError> {
    Ok(db::two_factor::recovery_codes_left(&state()?.db, me.id).await?)
}
