//! Entitlements: grant, extend, suspend, resume, revoke (each audited in the
//! same transaction), their views, and `access_entries`: a customer's
//! entitlements as the access decision takes them. "May this customer pull R
//! at T, and if not, why?" is answered by the token decision
//! (`services::registry::Decider`, which caches these entries) with
//! `domain::access::decide`.

use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::entitlements::EntitlementRow;
use crate::backend::db::{Db, Tx};
use crate::backend::web::request::RequestMeta;
use crate::domain::{
    access::{self, EntitlementSource, EntitlementStatus, Window},
    catalogue::RepoPattern,
};
use crate::error::AppError;
use crate::views::EntitlementView;
use crate::domain::time::rfc3339;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;

/// A customer's entitlements as `decide` takes them: id, product id, window,
/// and the patterns of the product (rows whose pattern no longer parses are skipped),
/// read with one indexed query. The registry token service caches this per
/// customer.
pub async fn access_entries(db: &Db, customer_id: i64) -> Result<Vec<AccessEntry>, sqlx::Error> {
    let mut grouped: BTreeMap<i64, AccessEntry> = BTreeMap::new();
    for r in db::entitlements::access_rows(db, customer_id).await? {
        let Ok(pattern) = RepoPattern::parse(&r.pattern) else { continue };
        let entry = grouped.entry(r.id).or_insert_with(|| AccessEntry {
            id: r.id,
            product: r.product_id,
            window: window(r.status, r.starts_at, r.ends_at, r.grace_until, &r.suspended_reason),
            patterns: Vec::new(),
            licence: r.licence,
            gateway: r.gateway,
        });
        entry.patterns.push(pattern);
    }
    Ok(grouped.into_values().collect())
}

/// One entitlement as the access decision takes it: its window, its
/// product's patterns, licence and delivery.
#[derive(Clone, Debug)]
pub struct AccessEntry {
    pub id: i64,
    pub product: i64,
    pub window: Window,
    pub patterns: Vec<RepoPattern>,
    pub licence: crate::domain::release::Licence,
    /// Pulled through the gateway only.
    pub gateway: bool,
}

/// The decision's view of a stored row.
pub fn window(
    status: EntitlementStatus,
    starts_at: DateTime<Utc>,
    ends_at: Option<DateTime<Utc>>,
    grace_until: Option<DateTime<Utc>>,
    reason: &Option<String>,
) -> Window {
    Window {
        status,
        starts_at,
        ends_at,
        grace_until,
        suspended_reason: reason.clone(),
    }
}

fn window_of(r: &EntitlementRow) -> Window {
    window(r.status, r.starts_at, r.ends_at, r.grace_until, &r.suspended_reason)
}

pub fn view(r: EntitlementRow, now: DateTime<Utc>) -> EntitlementView {
    let w = window_of(&r);
    EntitlementView {
        id: r.id,
        customer_id: r.customer_id,
        customer_name: r.customer_name,
        customer_email: r.customer_email,
        product_id: r.product_id,
        product_name: r.product_name,
        product_slug: r.product_slug,
        status: w.status,
        source: r.source,
        starts_at: rfc3339(r.starts_at),
        ends_at: r.ends_at.map(rfc3339),
        grace_until: r.grace_until.map(rfc3339),
        suspended_reason: r.suspended_reason,
        note: r.note,
        summary: access::describe(&w, now),
        grants_access: access::standing(&w, now).is_ok(),
    }
}

/// A manual (or trial) grant as an admin enters it.
#[derive(Clone, Debug)]
pub struct Grant {
    pub customer_id: i64,
    pub product_id: i64,
    pub source: EntitlementSource,
    pub starts_at: DateTime<Utc>,
    /// `None`: open-ended.
    pub ends_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// A grant by hand (admins in the UI, API keys): `manual` or `trial` only
/// (`EntitlementSource::granted_by_hand`); bought access is made by billing.
pub async fn grant(db: &Db, g: &Grant, actor: Actor, meta: &RequestMeta) -> Result<EntitlementView, AppError> {
    check_grant(db, g).await?;
    let mut tx = db.begin().await?;
    let id = grant_in(&mut tx, g, actor, meta, Utc::now()).await?;
    tx.commit().await?;
    get(db, id).await
}

/// What makes a grant acceptable: a source people may grant, an end after
/// the start, a plain note, an existing customer and product.
pub async fn check_grant(db: &Db, g: &Grant) -> Result<(), AppError> {
    if !g.source.granted_by_hand() {
        return Err(AppError::invalid(
            "source",
            "subscription and one_time entitlements come only from Stripe payments: grant manual or trial",
        ));
    }
    if let Some(end) = g.ends_at {
        if end <= g.starts_at {
            return Err(AppError::invalid("ends_at", "the end must be after the start"));
        }
    }
    if let Some(note) = &g.note {
        if note.chars().count() > 1000 {
            return Err(AppError::invalid("note", "at most 1000 characters"));
        }
        if !crate::domain::text::is_free_text(note) {
            return Err(AppError::invalid("note", "no control characters (line breaks and tabs are fine)"));
        }
    }
    if db::organisations::find(db, g.customer_id).await?.is_none() {
        return Err(AppError::invalid("customer_id", "no customer with this id"));
    }
    if db::products::find(db, g.product_id).await?.is_none() {
        return Err(AppError::invalid("product_id", "no product with this id"));
    }
    Ok(())
}

/// Writes a grant checked by `check_grant` and its audit event in `tx`
/// (the caller commits, with whatever else belongs to the same change).
pub async fn grant_in(tx: &mut Tx, g: &Grant, actor: Actor, meta: &RequestMeta, now: DateTime<Utc>) -> Result<i64, AppError> {
    let id = db::entitlements::insert(
        tx,
        &db::entitlements::NewEntitlement {
            customer_id: g.customer_id,
            product_id: g.product_id,
            source: g.source,
            starts_at: g.starts_at,
            ends_at: g.ends_at,
            note: g.note.as_deref(),
        },
        now,
    )
    .await?;
    audit::record(
        tx,
        &AuditEvent::new(actor, "entitlement.grant", Outcome::Success)
            .target("entitlement", id)
            .subject(g.customer_id)
            .meta(meta)
            .details(json!({
                "customer_id": g.customer_id,
                "product_id": g.product_id,
                "source": g.source.as_str(),
                "starts_at": rfc3339(g.starts_at),
                "ends_at": g.ends_at.map(rfc3339),
            })),
    )
    .await?;
    Ok(id)
}

/// A change to one entitlement. Fields left `None` stay as they are; for
/// `ends_at`, `Some(None)` makes it open-ended.
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub status: Option<EntitlementStatus>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<Option<DateTime<Utc>>>,
    pub suspended_reason: Option<String>,
}

/// Applies `change` (suspend, resume, revoke, extend, reschedule) and audits
/// before/after. A revoked entitlement is final. A change that changes
/// nothing writes nothing, not even an audit event.
pub async fn change(db: &Db, id: i64, change: &Change, actor: Actor, meta: &RequestMeta) -> Result<EntitlementView, AppError> {
    let mut tx = db.begin().await?;
    let before = db::entitlements::find_in(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    let mut after = before.clone();
    if before.status == EntitlementStatus::Revoked && change.status.is_some_and(|s| s != EntitlementStatus::Revoked) {
        return Err(AppError::invalid("status", "a revoked entitlement cannot be reactivated: grant a new one"));
    }
    if let Some(status) = change.status {
        after.status = status;
        after.suspended_reason = match status {
            EntitlementStatus::Suspended => change.suspended_reason.clone().filter(|r| !r.trim().is_empty()),
            _ => None,
        };
        if status == EntitlementStatus::Active {
            // Resuming clears a billing grace period.
            after.grace_until = None;
        }
    }
    if let Some(reason) = &after.suspended_reason {
        if reason.chars().count() > 200 {
            return Err(AppError::invalid("suspended_reason", "at most 200 characters"));
        }
        if !crate::domain::text::is_one_line(reason) {
            return Err(AppError::invalid("suspended_reason", "one line, without control characters"));
        }
    }
    if let Some(start) = change.starts_at {
        after.starts_at = start;
    }
    if let Some(end) = change.ends_at {
        after.ends_at = end;
    }
    if after.ends_at.is_some_and(|end| end <= after.starts_at) {
        return Err(AppError::invalid("ends_at", "the end must be after the start"));
    }
    let same = (&after.status, &after.suspended_reason, after.grace_until, after.starts_at, after.ends_at)
        == (&before.status, &before.suspended_reason, before.grace_until, before.starts_at, before.ends_at);
    if same {
        // Nothing changes: nothing to write or audit.
        return Ok(view(before, Utc::now()));
    }
    db::entitlements::update(&mut tx, &after, Utc::now()).await?;
    let action = match change.status.filter(|to| *to != before.status) {
        Some(EntitlementStatus::Suspended) => "entitlement.suspend",
        Some(EntitlementStatus::Active) => "entitlement.resume",
        Some(EntitlementStatus::Revoked) => "entitlement.revoke",
        _ if after.ends_at != before.ends_at || after.starts_at != before.starts_at => "entitlement.window",
        _ => "entitlement.update",
    };
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, action, Outcome::Success)
            .target("entitlement", id)
            .subject(before.customer_id)
            .meta(meta)
            .details(json!({
                "customer_id": before.customer_id,
                "product_id": before.product_id,
                "before": { "status": before.status, "starts_at": rfc3339(before.starts_at), "ends_at": before.ends_at.map(rfc3339) },
                "after": { "status": after.status, "starts_at": rfc3339(after.starts_at), "ends_at": after.ends_at.map(rfc3339), "reason": after.suspended_reason },
            })),
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

pub async fn get(db: &Db, id: i64) -> Result<EntitlementView, AppError> {
    let row = db::entitlements::find(db, id).await?.ok_or(AppError::NotFound)?;
    Ok(view(row, Utc::now()))
}

pub async fn list(db: &Db, filter: &crate::views::EntitlementFilter, limit: i64, offset: i64) -> Result<Vec<EntitlementView>, AppError> {
    let now = Utc::now();
    Ok(db::entitlements::list(db, filter, limit, offset).await?.into_iter().map(|r| view(r, now)).collect())
}
