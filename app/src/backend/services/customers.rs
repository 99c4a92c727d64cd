//! Customers: accounts with the `customer` role, as admins and the REST API
//! manage them.

use crate::backend::services::audit::Actor;
use crate::backend::db;
use crate::backend::db::users::UserFilter;
use crate::backend::db::Db;
use crate::backend::web::request::RequestMeta;
use crate::backend::services::users;
use crate::domain::time::rfc3339;
use crate::domain::{Email, Password, Role};
use crate::error::AppError;
use crate::views::CustomerView;

pub const NAME_MAX: usize = 200;

pub fn view(r: db::users::UserRow) -> CustomerView {
    CustomerView {
        id: r.id,
        email: r.email,
        name: r.name,
        disabled: r.disabled,
        created_at: rfc3339(r.created_at),
        last_login_at: r.last_login_at.map(rfc3339),
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

/// Creates a customer. Without a password the account cannot log in until
/// one is set (it may only exist for offline deals and API use).
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

pub async fn get(db: &Db, id: i64) -> Result<CustomerView, AppError> {
    match db::users::find_by_id(db, id).await? {
        Some(r) if r.role() == Role::Customer => Ok(view(r)),
        _ => Err(AppError::NotFound),
    }
}

pub const SEARCH_MAX: usize = 100;

/// A page of customers (newest first) and how many match in all.
pub async fn list(db: &Db, search: Option<&str>, limit: i64, offset: i64) -> Result<(Vec<CustomerView>, i64), AppError> {
    let search = search.map(str::trim).filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > SEARCH_MAX) {
        return Err(AppError::invalid("search", format!("at most {SEARCH_MAX} characters")));
    }
    let filter = UserFilter { search, role: Some(Role::Customer) };
    let rows = db::users::list(db, &filter, limit, offset).await?;
    let total = db::users::count(db, &filter).await?;
    Ok((rows.into_iter().map(view).collect(), total))
}
