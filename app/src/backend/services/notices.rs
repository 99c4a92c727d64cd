//! Notices, decided from the current state by the `notices.send` job (once
//! across the fleet, every few minutes), each sent exactly once per
//! entitlement, kind and occasion: the `notices` row is written in the
//! transaction that queues its mail and audits it, and its primary key
//! refuses a second one (another replica, a restart, a re-run).
//!
//! - access ends soon: for each threshold (`PORTCULLIS_NOTICE_DAYS`, default
//!   30, 7 and 1 days) the smallest one within reach
//!   (`domain::mail::ending_threshold`), keyed by the end it counts to, so
//!   an extension starts the count again; subscriptions that renew by
//!   themselves are left out (their end moves every period);
//! - a renewal payment failed: once per grace end (`grace_started`, with
//!   the date access continues to);
//! - the grace period ended unpaid: once per grace end (`grace_ended`);
//! - the admins' daily digest of what ends within 7 days, once per day of
//!   `PORTCULLIS_DIGEST_TIMEZONE` at or after `PORTCULLIS_DIGEST_AT`.
//!
//! Customers who opted out (`/settings`, or the mails' one-click
//! unsubscribe link) get no mail; the notice is still recorded and audited
//! (`notice.skipped`).

use crate::domain::organisation::MemberRole;
use crate::backend::db::{self, Db};
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::domain::mail::{ending_threshold, MailKind, NoticeKind};
use crate::domain::time::rfc3339;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use serde_json::json;

/// When notices go out (`PORTCULLIS_NOTICE_DAYS`, `PORTCULLIS_DIGEST_AT`,
/// `PORTCULLIS_DIGEST_TIMEZONE`).
#[derive(Clone, Debug)]
pub struct NoticeSettings {
    /// Days before an end, e.g. [30, 7, 1]; empty: no ending notices.
    pub thresholds: Vec<u32>,
    /// The digest's local time of day; `None`: no digest.
    pub digest_at: Option<NaiveTime>,
    pub timezone: chrono_tz::Tz,
}

impl Default for NoticeSettings {
    fn default() -> Self {
        Self { thresholds: vec![30, 7, 1], digest_at: NaiveTime::from_hms_opt(8, 0, 0), timezone: chrono_tz::UTC }
    }
}

/// How far back a grace end still gets its "ended" notice (a portal that
/// was down for a day still sends it; one that first runs this code does
/// not mail about years-old grace periods).
const GRACE_ENDED_LOOKBACK_DAYS: i64 = 7;

/// How far ahead the digest looks.
pub const DIGEST_DAYS: i64 = 7;

/// One run: every notice due at `now`, then the digest if it is due.
/// Returns what it did, in words.
pub async fn run(db: &Db, settings: &NoticeSettings, now: DateTime<Utc>) -> Result<String, String> {
    let e = |e: sqlx::Error| e.to_string();
    let (mut sent, mut skipped) = (0, 0);
    let mut tally = |done: Option<bool>| match done {
        Some(true) => sent += 1,
        Some(false) => skipped += 1,
        None => {}
    };
    if let Some(max) = settings.thresholds.iter().max() {
        for c in db::notices::ending_between(db, now, now + Duration::days(i64::from(*max))).await.map_err(e)? {
            let (Some(ends_at), false) = (c.ends_at, c.renews) else { continue };
            if let Some(days) = ending_threshold(now, ends_at, &settings.thresholds) {
                tally(send(db, &c, NoticeKind::Ending, &format!("{days}d {}", rfc3339(ends_at)), now).await.map_err(e)?);
            }
        }
    }
    for c in db::notices::in_grace(db, now - Duration::days(GRACE_ENDED_LOOKBACK_DAYS)).await.map_err(e)? {
        let Some(grace_until) = c.grace_until else { continue };
        let kind = if grace_until > now { NoticeKind::GraceStarted } else { NoticeKind::GraceEnded };
        tally(send(db, &c, kind, &rfc3339(grace_until), now).await.map_err(e)?);
    }
    let digest = digest(db, settings, now).await.map_err(e)?;
    Ok(format!("{sent} notices sent, {skipped} recorded without mail (opted out or disabled){digest}"))
}

/// Records one notice, queues its mail to each owner and billing member of
/// the organisation who takes notices, and audits it, in one transaction.
/// `None`: it was recorded before.
async fn send(db: &Db, c: &db::notices::Candidate, kind: NoticeKind, occasion: &str, now: DateTime<Utc>) -> Result<Option<bool>, sqlx::Error> {
    let recipients = db::organisations::recipients(db, c.customer_id, &[MemberRole::Owner, MemberRole::Billing]).await?;
    let mut tx = db.begin().await?;
    let mut mail_ids = Vec::new();
    for (user, address) in &recipients {
        // Due at once, whatever moment the decision was made for.
        mail_ids.push(db::mail::enqueue_notice(&mut tx, kind.mail(), *user, address, c.entitlement_id, Utc::now()).await?);
    }
    let mails = !mail_ids.is_empty();
    let mail_id = mail_ids.first().copied();
    if !db::notices::record(&mut tx, c.entitlement_id, kind, occasion, mail_id, now).await? {
        return Ok(None); // dropped: the mail queued above goes with the transaction
    }
    let action = if mails { "notice.sent" } else { "notice.skipped" };
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::System, action, Outcome::Success)
            .target("entitlement", c.entitlement_id)
            .subject(c.customer_id)
            .organisation(c.customer_id)
            .details(json!({
                "kind": kind.as_str(), "occasion": occasion,
                "to": recipients.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(), "mail_id": mail_ids,
            })),
    )
    .await?;
    tx.commit().await?;
    Ok(Some(mails))
}

/// The admins' digest, once per local day at or after the configured time.
async fn digest(db: &Db, settings: &NoticeSettings, now: DateTime<Utc>) -> Result<String, sqlx::Error> {
    let local = now.with_timezone(&settings.timezone);
    match settings.digest_at {
        Some(at) if local.time() >= at => {}
        _ => return Ok(String::new()),
    }
    let day = local.date_naive().to_string();
    let admins = db::notices::digest_recipients(db).await?;
    let mut tx = db.begin().await?;
    if !db::notices::record_digest(&mut tx, &day, admins.len() as i64, now).await? {
        return Ok(String::new());
    }
    for (id, email) in &admins {
        db::mail::enqueue(&mut tx, MailKind::AdminDigest, *id, email, Utc::now()).await?;
    }
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::System, "notice.digest", Outcome::Success)
            .details(json!({ "day": day, "timezone": settings.timezone.name(), "admins": admins.len() })),
    )
    .await?;
    tx.commit().await?;
    Ok(format!("; the digest of {day} to {} admins", admins.len()))
}

/// Opts the account of an unsubscribe token out of notices (the mails'
/// one-click link, or its page's button); audited when it changes
/// something. `NotFound` for an unknown token.
pub async fn unsubscribe(db: &Db, token: &str, meta: &crate::backend::web::RequestMeta) -> Result<(), crate::error::AppError> {
    use crate::error::AppError;
    if !crate::domain::mail::plausible_unsubscribe_token(token) {
        return Err(AppError::invalid("token", "this unsubscribe link is not valid"));
    }
    let (id, email, opted_out) = db::notices::by_unsubscribe_token(db, token).await?.ok_or(AppError::NotFound)?;
    if !opted_out {
        set_in(db, id, &email, true, meta).await?;
    }
    Ok(())
}

/// Opts an account out of (`true`) or back into notices, audited.
pub async fn set_in(db: &Db, id: i64, email: &str, opted_out: bool, meta: &crate::backend::web::RequestMeta) -> Result<(), sqlx::Error> {
    let mut tx = db.begin().await?;
    db::notices::set_opt_out(&mut tx, id, opted_out).await?;
    let action = if opted_out { "account.notices_off" } else { "account.notices_on" };
    audit::record(
        &mut tx,
        &AuditEvent::new(Actor::User { id, email: email.to_owned() }, action, Outcome::Success).target("user", id).subject(id).meta(meta),
    )
    .await?;
    tx.commit().await
}
