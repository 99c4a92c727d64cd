//! Customers: organisations (`services::organisations`), as admins and the
//! REST API manage them. A customer's id is its organisation's.

use crate::backend::db;
use crate::backend::db::organisations::{MemberRow, OrganisationRow};
use crate::backend::db::Db;
use crate::backend::services::audit::Actor;
use crate::backend::services::organisations::member_view;
use crate::backend::services::users;
use crate::backend::web::request::RequestMeta;
use crate::domain::time::rfc3339;
use crate::domain::{Email, Password};
use crate::error::AppError;
use crate::views::CustomerView;

pub const NAME_MAX: usize = 200;

pub fn view(o: OrganisationRow, members: Vec<MemberRow>) -> CustomerView {
    CustomerView {
        id: o.id,
        email: o.owner_email.unwrap_or_default(),
        name: Some(o.name),
        disabled: o.enabled_members == 0,
        created_at: rfc3339(o.created_at),
        last_login_at: o.last_login_at.map(rfc3339),
        member_count: o.members,
        members: members.into_iter().map(member_view).collect(),
    }
}

fn parse_name(name: Option<&str>) -> Result<Option<String>, AppError> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) if n.chars().count() > NAME_MAX || n.chars().any(char::is_control) => {
            Err(AppError::invalid("name", format!("at most {NAME_MAX} characters, no control characters")))
        }
        Some(n) => Ok(Some(n.to_owned())),
    }
}

/// Creates a customer: an organisation (named `name`, else the address)
/// whose owner is a new account. Without a password the account cannot log
/// in until one is set through the invitation it is mailed.
pub async fn create(
    db: &Db,
    email: &str,
    name: Option<&str>,
    password: Option<&str>,
    actor: Actor,
    meta: &RequestMeta,
) -> Result<CustomerView, AppError> {
    let email = Email::parse(email).map_err(|e| AppError::invalid("email", e))?;
    let name = parse_name(name)?;
    let password = match password.filter(|p| !p.is_empty()) {
        Some(p) => Some(Password::parse(p, Some(email.as_str())).map_err(|e| AppError::invalid("password", e))?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let id = users::create_customer_in(&mut tx, &email, password.as_ref(), name.as_deref(), actor, meta).await?;
    tx.commit().await?;
    get(db, id).await
}

/// A customer with its members and invitations.
pub async fn get(db: &Db, id: i64) -> Result<CustomerView, AppError> {
    let o = db::organisations::find(db, id).await?.ok_or(AppError::NotFound)?;
    let members = db::organisations::members(db, id).await?;
    Ok(view(o, members))
}

/// The account that holds what is made for a customer without a member
/// choosing (an admin's or the API's credentials): its first owner.
pub async fn first_owner(db: &Db, id: i64) -> Result<i64, AppError> {
    let members = db::organisations::members(db, id).await?;
    members
        .iter()
        .filter(|m| m.joined_at.is_some() && !m.disabled && m.member_role == crate::domain::organisation::MemberRole::Owner)
        .map(|m| m.id)
        .min()
        .ok_or_else(|| AppError::conflict("customer", "this customer has no enabled owner"))
}

/// Disables (or enables) every member of a customer: nobody logs in, every
/// session ends, its credentials stop. Each account's change is audited.
pub async fn set_disabled(db: &Db, id: i64, disabled: bool, actor: Actor, meta: &RequestMeta) -> Result<(), AppError> {
    let change = if disabled { users::AccountChange::Disable } else { users::AccountChange::Enable };
    for m in db::organisations::members(db, id).await? {
        users::change_account(db, m.id, change, Some(crate::domain::Role::Customer), actor.clone(), meta).await?;
    }
    Ok(())
}

pub const SEARCH_MAX: usize = 100;

/// A page of customers (newest first) whose name or a member's address
/// contains `search`, and how many match in all.
pub async fn list(
    db: &Db,
    search: Option<&str>,
    segment: Option<crate::views::CustomerSegment>,
    limit: i64,
    offset: i64,
) -> Result<(Vec<CustomerView>, i64), AppError> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > SEARCH_MAX) {
        return Err(AppError::invalid("search", format!("at most {SEARCH_MAX} characters")));
    }
    let pattern = search.map(db::users::like_pattern);
    // A dashboard number's list: the organisations it counts, in the same
    // order and pages (read whole: the dashboard counts thousands, not millions).
    if let Some(segment) = segment {
        let ids = crate::backend::services::dashboard::segment(db, segment, chrono::Utc::now()).await?;
        let all = db::organisations::list(db, pattern.as_deref(), i64::MAX, 0).await?;
        let matching: Vec<_> = all.into_iter().filter(|o| ids.contains(&o.id)).collect();
        let total = matching.len() as i64;
        let page = matching.into_iter().skip(offset.max(0) as usize).take(limit.max(0) as usize);
        return Ok((page.map(|o| view(o, Vec::new())).collect(), total));
    }
    let rows = db::organisations::list(db, pattern.as_deref(), limit, offset).await?;
    let total = db::organisations::count(db, pattern.as_deref()).await?;
    Ok((rows.into_iter().map(|o| view(o, Vec::new())).collect(), total))
}
