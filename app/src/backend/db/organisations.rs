//! `organisations` and memberships (`users.organisation_id`, `member_role`,
//! `joined_at`). An organisation's id is its founder's user id (see
//! migrations/*/0013_organisations.sql).

use crate::backend::db::{Db, Tx};
use crate::domain::organisation::MemberRole;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrganisationRow {
    pub id: i64,
    pub name: String,
    pub stripe_customer_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Joined members.
    pub members: i64,
    /// The first owner's address (by id), for lists.
    pub owner_email: Option<String>,
    /// Joined members who may log in.
    pub enabled_members: i64,
    /// Any member's latest log-in.
    pub last_login_at: Option<DateTime<Utc>>,
}

const SELECT: &str = "SELECT o.id, o.name, o.stripe_customer_id, o.created_at, \
    (SELECT COUNT(*) FROM users m WHERE m.organisation_id = o.id AND m.joined_at IS NOT NULL) AS members, \
    (SELECT m.email FROM users m WHERE m.organisation_id = o.id AND m.member_role = 'owner' AND m.joined_at IS NOT NULL \
     ORDER BY m.id LIMIT 1) AS owner_email, \
    (SELECT COUNT(*) FROM users m WHERE m.organisation_id = o.id AND m.joined_at IS NOT NULL AND NOT m.disabled) \
      AS enabled_members, \
    (SELECT MAX(m.last_login_at) FROM users m WHERE m.organisation_id = o.id) AS last_login_at \
    FROM organisations o";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct MemberRow {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub member_role: MemberRole,
    pub joined_at: Option<DateTime<Utc>>,
    pub invited_by_email: Option<String>,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// The member's last pull with any credential they hold.
    pub last_pulled_at: Option<DateTime<Utc>>,
}

/// Makes `founder`'s organisation (its id is theirs) with them as owner.
pub async fn insert(tx: &mut Tx, founder: i64, name: &str, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| {
        sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(founder)
            .bind(name)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        sqlx::query("UPDATE users SET organisation_id = $1, member_role = 'owner', joined_at = $2, invited_by = NULL WHERE id = $1")
            .bind(founder)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map(|_| ())
    })
}

pub async fn find(db: &Db, id: i64) -> Result<Option<OrganisationRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE o.id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn find_in(tx: &mut Tx, id: i64) -> Result<Option<OrganisationRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE o.id = $1");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

const FILTER: &str = "($1 IS NULL OR lower(o.name) LIKE $1 ESCAPE '\\' OR EXISTS (SELECT 1 FROM users m \
    WHERE m.organisation_id = o.id AND lower(m.email) LIKE $1 ESCAPE '\\'))";

/// A page of organisations (newest first) whose name or a member's address
/// contains `pattern` (a LIKE pattern, escaped by the caller).
pub async fn list(db: &Db, pattern: Option<&str>, limit: i64, offset: i64) -> Result<Vec<OrganisationRow>, sqlx::Error> {
    let sql = format!("{SELECT} WHERE {FILTER} ORDER BY o.id DESC LIMIT $2 OFFSET $3");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(pattern).bind(limit).bind(offset).fetch_all(pool).await)
}

pub async fn count(db: &Db, pattern: Option<&str>) -> Result<i64, sqlx::Error> {
    let sql = format!("SELECT COUNT(*) FROM organisations o WHERE {FILTER}");
    on_db!(db, |pool| sqlx::query_scalar(&sql).bind(pattern).fetch_one(pool).await)
}

const MEMBERS: &str = "SELECT u.id, u.email, u.name, u.member_role, u.joined_at, i.email AS invited_by_email, u.disabled, \
    u.created_at, u.last_login_at, \
    (SELECT MAX(c.last_pulled_at) FROM registry_credentials c WHERE c.owner_user_id = u.id AND c.organisation_id = u.organisation_id) \
      AS last_pulled_at \
    FROM users u LEFT JOIN users i ON i.id = u.invited_by WHERE u.organisation_id = $1";

/// Members and invitations (joined first, then by address).
pub async fn members(db: &Db, org: i64) -> Result<Vec<MemberRow>, sqlx::Error> {
    let sql = format!("{MEMBERS} ORDER BY u.joined_at IS NULL, u.email");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).fetch_all(pool).await)
}

pub async fn member_in(tx: &mut Tx, org: i64, user: i64) -> Result<Option<MemberRow>, sqlx::Error> {
    let sql = format!("{MEMBERS} AND u.id = $2");
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(org).bind(user).fetch_optional(conn).await)
}

/// The joined, enabled owners, locked for this transaction where the
/// backend can (PostgreSQL; SQLite's write lock already serialises), so two
/// owners cannot both step down at once.
pub async fn lock_owners(tx: &mut Tx, org: i64) -> Result<Vec<i64>, sqlx::Error> {
    let sql = "SELECT id FROM users WHERE organisation_id = $1 AND member_role = 'owner' \
               AND joined_at IS NOT NULL AND NOT disabled ORDER BY id";
    match tx {
        Tx::Sqlite(t) => sqlx::query_scalar(sql).bind(org).fetch_all(&mut **t).await,
        Tx::Postgres(t) => sqlx::query_scalar(&format!("{sql} FOR UPDATE")).bind(org).fetch_all(&mut **t).await,
    }
}

/// Puts `user` in `org` with `role`, waiting for acceptance (`joined_at`
/// NULL), invited by `by`.
pub async fn attach(tx: &mut Tx, user: i64, org: i64, role: MemberRole, by: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET organisation_id = $1, member_role = $2, joined_at = NULL, invited_by = $3 WHERE id = $4";
    on_tx!(tx, |conn| sqlx::query(sql).bind(org).bind(role).bind(by).bind(user).execute(conn).await.map(|_| ()))
}

/// The invitation of `user` accepted: returns the organisation joined.
pub async fn join(tx: &mut Tx, user: i64, now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE users SET joined_at = $1 WHERE id = $2 AND organisation_id IS NOT NULL AND joined_at IS NULL \
               RETURNING organisation_id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(now).bind(user).fetch_optional(conn).await)
}

/// Takes `user` out of their organisation.
pub async fn detach(tx: &mut Tx, user: i64) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET organisation_id = NULL, member_role = NULL, joined_at = NULL, invited_by = NULL WHERE id = $1";
    on_tx!(tx, |conn| sqlx::query(sql).bind(user).execute(conn).await.map(|_| ()))
}

pub async fn set_role(tx: &mut Tx, user: i64, role: MemberRole) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET member_role = $1 WHERE id = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(role).bind(user).execute(conn).await.map(|_| ()))
}

pub async fn rename(tx: &mut Tx, org: i64, name: &str) -> Result<(), sqlx::Error> {
    let sql = "UPDATE organisations SET name = $1 WHERE id = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(name).bind(org).execute(conn).await.map(|_| ()))
}

/// The addresses of the joined, enabled members of `org` with one of `roles`
/// who take notices: `(user id, address)`.
pub async fn recipients(db: &Db, org: i64, roles: &[MemberRole]) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let sql = "SELECT id, email, member_role FROM users WHERE organisation_id = $1 AND joined_at IS NOT NULL \
               AND NOT disabled AND NOT notices_opt_out ORDER BY id";
    let rows: Vec<(i64, String, MemberRole)> = on_db!(db, |pool| sqlx::query_as(sql).bind(org).fetch_all(pool).await)?;
    Ok(rows.into_iter().filter(|r| roles.contains(&r.2)).map(|r| (r.0, r.1)).collect())
}
