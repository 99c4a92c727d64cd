//! Delivering the outbox (the `mail.deliver` job) and what admins do with
//! it: the list of recent and failed mails, and sending one again.

use super::{templates, Mail};
use crate::backend::db::{self, Db};
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::web::request::RequestMeta;
use crate::backend::web::secrets::hash_secret;
use crate::backend::web::session::random_token;
use crate::backend::services::notices;
use crate::domain::mail::{retry_delay_secs, LinkPurpose, MailKind, MailStatus, LINK_TOKEN_CHARS, UNSUBSCRIBE_TOKEN_CHARS};
use crate::domain::time::rfc3339;
use crate::error::AppError;
use crate::views::{MailOverview, MailView};
use chrono::{DateTime, Duration, Utc};
use serde_json::json;

/// The open requests an admin digest lists at most (the newest).
const DIGEST_REQUESTS: i64 = 100;

/// Mails one run of the job delivers at most (the next run, a second or
/// two later, takes the rest).
const BATCH: i64 = 25;

/// Delivers the mails due at `now`: each is rendered, given its link if
/// its kind has one (only the link's hash is stored), sent, and marked
/// sent, or marked for another attempt with backoff, or failed for good.
/// Returns what it did, in words.
pub async fn deliver_due(db: &Db, mail: &Mail, now: DateTime<Utc>) -> Result<String, String> {
    if !mail.delivers() {
        return Ok("no transport: mails wait".into());
    }
    let due = db::mail::due(db, now, BATCH).await.map_err(|e| e.to_string())?;
    let (mut sent, mut retry, mut failed) = (0, 0, 0);
    for row in due {
        let link = match row.kind.link() {
            Some(purpose) => {
                let token = random_token(LINK_TOKEN_CHARS);
                let expires = now + Duration::seconds(purpose.lifetime_secs());
                // A new address is confirmed by the link sent to it.
                let new_email = (purpose == LinkPurpose::EmailChange).then_some(row.to_address.as_str());
                db::mail::insert_link(db, row.user_id, purpose, &hash_secret(&token), row.id, new_email, now, expires)
                    .await
                    .map_err(|e| e.to_string())?;
                Some(mail.url(&format!("{}?token={token}", purpose.path())))
            }
            None => None,
        };
        let user = db::users::find_by_id(db, row.user_id).await.map_err(|e| e.to_string())?;
        let account = user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
        // An invitation of a member who has not joined yet names the
        // organisation and who invited them.
        let invitation = match &user {
            Some(u) if row.kind == MailKind::Invitation && u.joined_at.is_none() && u.invited_by.is_some() => {
                let by = match u.invited_by {
                    Some(id) => db::users::find_by_id(db, id).await.map_err(|e| e.to_string())?.map(|i| i.email),
                    None => None,
                };
                Some(templates::Invitation {
                    organisation: u.organisation_name.clone().unwrap_or_default(),
                    invited_by: by,
                    role: u.member_role.map(|r| r.label().to_lowercase()).unwrap_or_default(),
                })
            }
            _ => None,
        };
        // What notices and the digest say is read now, as it stands.
        let facts = match row.entitlement_id {
            Some(id) => db::notices::facts(db, id).await.map_err(|e| e.to_string())?,
            None => None,
        };
        let digest = if row.kind == MailKind::AdminDigest {
            db::notices::digest_lines(db, now, now + Duration::days(notices::DIGEST_DAYS), 200).await.map_err(|e| e.to_string())?
        } else {
            Vec::new()
        };
        let open_requests = if row.kind == MailKind::AdminDigest {
            let mut open = db::requests::list(db, Some(crate::domain::request::RequestStatus::Open), DIGEST_REQUESTS).await.map_err(|e| e.to_string())?;
            open.reverse(); // oldest first: the longest waiting leads
            open
        } else {
            Vec::new()
        };
        let answer = match row.request_id {
            Some(id) => db::requests::find(db, id).await.map_err(|e| e.to_string())?.map(|r| templates::Answer {
                product: r.product_name,
                kind: r.kind,
                granted_until: r.entitlement_id.map(|_| r.granted_until),
                reply: r.answer,
            }),
            None => None,
        };
        let unsubscribe = if row.kind.optional() {
            let token = db::notices::unsubscribe_token(db, row.user_id, &random_token(UNSUBSCRIBE_TOKEN_CHARS)).await.map_err(|e| e.to_string())?;
            Some(mail.url(&format!("/unsubscribe?token={token}")))
        } else {
            None
        };
        let site = mail.url("");
        let cx = templates::Context {
            to: &row.to_address,
            account: &account,
            site: &site,
            link: link.as_deref(),
            notice: facts.as_ref(),
            digest: &digest,
            open_requests: &open_requests,
            unsubscribe: unsubscribe.as_deref(),
            invitation: invitation.as_ref(),
            answer: answer.as_ref(),
        };
        let rendered = templates::render(row.kind, &cx);
        match mail.send(row.id, &row.to_address, &rendered, unsubscribe.as_deref()).await {
            Ok(local_copy) => {
                db::mail::mark_sent(db, row.id, &rendered.subject, Utc::now(), local_copy.as_deref()).await.map_err(|e| e.to_string())?;
                sent += 1;
            }
            Err(e) => {
                let attempt = row.attempts + 1;
                let retry_at = if e.permanent { None } else { retry_delay_secs(attempt).map(|s| Utc::now() + Duration::seconds(s)) };
                tracing::warn!(mail = row.id, kind = row.kind.as_str(), attempt, permanent = e.permanent, error = %e.message, "a mail was not delivered");
                if retry_at.is_some() {
                    retry += 1;
                } else {
                    failed += 1;
                }
                db::mail::mark_attempt_failed(db, row.id, &e.message, retry_at, Utc::now()).await.map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(format!("{sent} sent, {retry} to retry, {failed} failed"))
}

/// Recent mails for the admin's page (newest first), optionally only one
/// status, with how mail leaves and the counts per status.
pub async fn overview(db: &Db, mail: &Mail, status: Option<MailStatus>) -> Result<MailOverview, AppError> {
    let rows = db::mail::recent(db, status, 200).await?;
    let counts = db::mail::counts(db).await?;
    let count = |s: MailStatus| counts.iter().find(|(k, _)| *k == s).map_or(0, |(_, n)| *n);
    Ok(MailOverview {
        transport: mail.describe(),
        delivers: mail.delivers(),
        pending: count(MailStatus::Pending),
        sent: count(MailStatus::Sent),
        failed: count(MailStatus::Failed),
        mails: rows
            .into_iter()
            .map(|r| MailView {
                id: r.id,
                created_at: rfc3339(r.created_at),
                kind: r.kind,
                to_address: r.to_address,
                status: r.status,
                attempts: r.attempts,
                next_attempt_at: rfc3339(r.next_attempt_at),
                last_error: r.last_error,
                sent_at: r.sent_at.map(rfc3339),
            })
            .collect(),
    })
}

/// Puts a mail back in the queue (fresh attempts, due at once; a mail with
/// a link gets a new one), audited as `mail.resend`.
pub async fn resend(db: &Db, id: i64, actor: Actor, meta: &RequestMeta) -> Result<(), AppError> {
    let mut tx = db.begin().await?;
    let row = db::mail::requeue(&mut tx, id, Utc::now()).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "mail.resend", Outcome::Success)
            .target("mail", row.id)
            .subject(row.user_id)
            .meta(meta)
            .details(json!({ "kind": row.kind.as_str(), "to": row.to_address })),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Demo mode's local mailbox (newest first); `NotFound` anywhere else.
pub async fn local_mailbox(db: &Db, mail: &Mail) -> Result<Vec<crate::views::LocalMailView>, AppError> {
    if !mail.is_local() {
        return Err(AppError::NotFound);
    }
    let rows = db::mail::local_mailbox(db, 50).await?;
    Ok(rows
        .into_iter()
        .map(|m| crate::views::LocalMailView {
            id: m.id,
            sent_at: rfc3339(m.sent_at),
            to_address: m.to_address,
            subject: m.subject,
            text: m.local_copy,
        })
        .collect())
}
