//! Requests for a trial or for sales: a member asks from the product page,
//! the admin answers from the dashboard with a grant (a trial or a manual
//! entitlement, `entitlements::grant_in`) or a reply, and the member who
//! asked gets the answer by mail (`MailKind::RequestAnswered`, written in
//! the answer's transaction). Each step is audited in its transaction.
//! Also what a customer owns of each product (`ownership`), for the
//! catalogue and product pages.

use crate::backend::db;
use crate::backend::db::requests::RequestRow;
use crate::backend::db::Db;
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::services::entitlements::{self, Grant};
use crate::backend::web::request::RequestMeta;
use crate::domain::access::{self, Window};
use crate::domain::catalogue::{PriceKind, ProductStatus};
use crate::domain::request::{self, RequestKind, RequestStatus};
use crate::domain::time::rfc3339;
use crate::error::AppError;
use crate::views::{AccessRequestView, EntitlementFilter, Membership, Ownership, SessionUser};
use chrono::{Duration, Utc};
use serde_json::json;
use std::collections::BTreeMap;

fn view(r: RequestRow) -> AccessRequestView {
    AccessRequestView {
        id: r.id,
        organisation_id: r.organisation_id,
        organisation: r.organisation,
        requested_by: r.requested_by_email,
        product_id: r.product_id,
        product: r.product_name,
        product_slug: r.product_slug,
        kind: r.kind,
        message: r.message,
        status: r.status,
        created_at: rfc3339(r.created_at),
        answered_at: r.answered_at.map(rfc3339),
        answered_by: r.answered_by_email,
        answer: r.answer,
        entitlement_id: r.entitlement_id,
    }
}

fn invalid((field, message): (&'static str, String)) -> AppError {
    AppError::invalid(field, message)
}

/// A member asks for `kind` of the published product `slug`, with an
/// optional message. One open request per organisation and product: asking
/// again is a conflict naming when the first was made.
pub async fn ask(
    db: &Db,
    user: &SessionUser,
    m: &Membership,
    slug: &str,
    kind: RequestKind,
    message: &str,
    meta: &RequestMeta,
) -> Result<AccessRequestView, AppError> {
    let message = request::parse_text("message", message, request::MESSAGE_MAX, false).map_err(invalid)?;
    let product = db::products::find_by_slug(db, slug)
        .await?
        .filter(|p| p.status == ProductStatus::Published)
        .ok_or(AppError::NotFound)?;
    if kind == RequestKind::Trial {
        // The same rule as the product page: a trial of a product that has a
        // trial price, for an organisation that has no access to it yet.
        let prices = db::products::prices(db, Some(product.id), true).await?;
        if !prices.iter().any(|p| matches!(PriceKind::from_parts(&p.kind, p.duration), Ok(PriceKind::Trial { .. }))) {
            return Err(AppError::conflict("kind", format!("{} has no trial: contact sales instead", product.name)));
        }
        if ownership(db, m.organisation_id).await?.iter().any(|o| o.product_id == product.id && o.access) {
            return Err(AppError::conflict("kind", format!("your organisation has access to {} already", product.name)));
        }
    }
    let now = Utc::now();
    let mut tx = db.begin().await?;
    let new = db::requests::NewRequest { organisation_id: m.organisation_id, requested_by: user.id, product_id: product.id, kind, message: &message };
    let Some(id) = db::requests::insert(&mut tx, &new, now).await? else {
        drop(tx);
        let since = match db::requests::open_for(db, m.organisation_id, product.id).await? {
            Some(open) => format!(" on {}", access::human_date(open.created_at)),
            None => String::new(),
        };
        return Err(AppError::conflict("kind", format!("your organisation already asked about {}{since}: the vendor will answer by mail", product.name)));
    };
    audit::record(
        &mut tx,
        &AuditEvent::new(user.actor(), "request.create", Outcome::Success)
            .target("access_request", id)
            .subject(user.id)
            .organisation(m.organisation_id)
            .meta(meta)
            .details(json!({ "product_id": product.id, "product": product.name, "kind": kind.as_str() })),
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

/// One request.
pub async fn get(db: &Db, id: i64) -> Result<AccessRequestView, AppError> {
    db::requests::find(db, id).await?.map(view).ok_or(AppError::NotFound)
}

/// How an admin answers a request.
#[derive(Clone, Debug)]
pub enum Answer {
    /// Grant access for `days` from now (a trial for a trial request, a
    /// manual entitlement otherwise), with optional words for the mail.
    Grant { days: u32, reply: String },
    /// Reply by mail without giving access.
    Reply { reply: String },
}

impl Answer {
    /// From the form: `action` "grant" (with `days`) or "reply" (with words).
    pub fn parse(action: &str, days: Option<u32>, reply: &str) -> Result<Self, AppError> {
        match action {
            "grant" => {
                let days = days.ok_or_else(|| AppError::invalid("days", "how many days of access?"))?;
                if days == 0 || days > request::GRANT_DAYS_MAX {
                    return Err(AppError::invalid("days", format!("from 1 to {} days", request::GRANT_DAYS_MAX)));
                }
                let reply = request::parse_text("reply", reply, request::ANSWER_MAX, false).map_err(invalid)?;
                Ok(Answer::Grant { days, reply })
            }
            "reply" => Ok(Answer::Reply { reply: request::parse_text("reply", reply, request::ANSWER_MAX, true).map_err(invalid)? }),
            _ => Err(AppError::invalid("action", "grant or reply")),
        }
    }
}

/// Answers an open request: the grant (if any), the request closed, the
/// mail to the member who asked and the audit event, in one transaction.
/// A request answered meanwhile (another admin, another replica) is a
/// conflict and nothing is written. `by`: the admin's account (the UI), or
/// `None` for an API key (the audit event names the key).
pub async fn answer(db: &Db, actor: Actor, by: Option<i64>, id: i64, answer: &Answer, meta: &RequestMeta) -> Result<AccessRequestView, AppError> {
    let req = db::requests::find(db, id).await?.ok_or(AppError::NotFound)?;
    if req.status != RequestStatus::Open {
        return Err(AppError::conflict("id", "this request was answered already"));
    }
    let now = Utc::now();
    let grant = match answer {
        Answer::Grant { days, .. } => Some(Grant {
            customer_id: req.organisation_id,
            product_id: req.product_id,
            source: req.kind.grant_source(),
            starts_at: now,
            ends_at: Some(now + Duration::days(i64::from(*days))),
            note: Some(format!("answer to request #{} for {}", req.id, req.kind.words())),
        }),
        Answer::Reply { .. } => None,
    };
    if let Some(g) = &grant {
        entitlements::check_grant(db, g).await?;
    }
    let mut tx = db.begin().await?;
    let entitlement_id = match &grant {
        Some(g) => Some(entitlements::grant_in(&mut tx, g, actor.clone(), meta, now).await?),
        None => None,
    };
    let (status, reply) = match answer {
        Answer::Grant { reply, .. } => (RequestStatus::Granted, reply),
        Answer::Reply { reply } => (RequestStatus::Answered, reply),
    };
    let words = Some(reply.as_str()).filter(|r| !r.is_empty());
    if !db::requests::close(&mut tx, id, status, by, words, entitlement_id, now).await? {
        return Err(AppError::conflict("id", "this request was answered already"));
    }
    let asker = db::users::find_by_id(db, req.requested_by).await?;
    let mail = match asker.filter(|u| !u.disabled) {
        Some(u) => Some(db::mail::enqueue_answer(&mut tx, u.id, &u.email, id, now).await?),
        None => None,
    };
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "request.answer", Outcome::Success)
            .target("access_request", id)
            .subject(req.requested_by)
            .organisation(req.organisation_id)
            .meta(meta)
            .details(json!({
                "product_id": req.product_id,
                "product": req.product_name,
                "kind": req.kind.as_str(),
                "status": status.as_str(),
                "entitlement_id": entitlement_id,
                "mail_id": mail,
            })),
    )
    .await?;
    tx.commit().await?;
    db::requests::find(db, id).await?.map(view).ok_or(AppError::NotFound)
}

/// Requests in `status` (all when `None`), newest first (at most 200).
pub async fn list(db: &Db, status: Option<RequestStatus>) -> Result<Vec<AccessRequestView>, AppError> {
    Ok(db::requests::list(db, status, 200).await?.into_iter().map(view).collect())
}

/// An organisation's requests, newest first.
pub async fn of_organisation(db: &Db, org: i64) -> Result<Vec<AccessRequestView>, AppError> {
    Ok(db::requests::of_organisation(db, org).await?.into_iter().map(view).collect())
}

/// What an organisation has of each product it ever had an entitlement to
/// or asked about: access now and until when (`access::standing` and
/// `describe`, the access decision's own rules), and any open request.
pub async fn ownership(db: &Db, org: i64) -> Result<Vec<Ownership>, AppError> {
    let now = Utc::now();
    let filter = EntitlementFilter { customer_id: Some(org), product_id: None, status: None };
    let rows = db::entitlements::list(db, &filter, 1000, 0).await?;
    let mut by_product: BTreeMap<i64, Ownership> = BTreeMap::new();
    // Newest first: the first row of a product is its latest entitlement.
    for r in rows {
        let w = Window { status: r.status, starts_at: r.starts_at, ends_at: r.ends_at, grace_until: r.grace_until, suspended_reason: r.suspended_reason };
        let grants = access::standing(&w, now).is_ok();
        let end = w.grace_until.or(w.ends_at);
        let entry = by_product.entry(r.product_id).or_insert_with(|| Ownership {
            product_id: r.product_id,
            access: false,
            summary: access::describe(&w, now),
            until: None,
            renews: false,
            open_request: None,
        });
        // Among the entitlements that grant, the one that lasts longest speaks.
        let longer = match (entry.access, &entry.until, end) {
            (false, _, _) => true,
            (true, None, _) => false,
            (true, Some(_), None) => true,
            (true, Some(have), Some(e)) => rfc3339(e) > *have,
        };
        if grants && longer {
            entry.access = true;
            entry.summary = access::describe(&w, now);
            entry.until = end.map(rfc3339);
        }
    }
    let renewing = db::orders::live_subscription_products(db, org).await?;
    for o in by_product.values_mut() {
        o.renews = o.access && renewing.contains(&o.product_id);
    }
    for r in db::requests::list_open_of(db, org).await? {
        let product_id = r.product_id;
        by_product
            .entry(product_id)
            .or_insert_with(|| Ownership { product_id, access: false, summary: "no access yet".into(), until: None, renews: false, open_request: None })
            .open_request = Some(view(r));
    }
    Ok(by_product.into_values().collect())
}
