//! The `users` table.

use crate::backend::db::{Db, PasswordHash, Tx};
use crate::domain::organisation::MemberRole;
use crate::domain::{Email, Role};
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

/// A row of `users`. Not `Serialize`: the hash must never leave the server.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub password_hash: PasswordHash,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    pub name: Option<String>,
    /// Raised when the password is reset or changed: sessions made under an
    /// older value are over.
    pub session_epoch: i64,
    /// When the address was shown to be the owner's; `None`: unconfirmed.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// Opted out of notices and the digest.
    pub notices_opt_out: bool,
    /// Signs in with a second factor (an enabled TOTP enrolment).
    pub two_factor: bool,
    /// The organisation a customer belongs to (or was invited to).
    pub organisation_id: Option<i64>,
    pub member_role: Option<MemberRole>,
    /// `None` while an invitation waits.
    pub joined_at: Option<DateTime<Utc>>,
    /// The member who invited this one.
    pub invited_by: Option<i64>,
    pub organisation_name: Option<String>,
}

impl UserRow {
    /// The stored role; the CHECK constraint keeps it one of the three.
    pub fn role(&self) -> Role {
        self.role
    }
}

const COLUMNS: &str = "id, email, password_hash, role, disabled, created_at, last_login_at, name, session_epoch, email_verified_at, notices_opt_out, \
    organisation_id, member_role, joined_at, invited_by, \
    (SELECT o.name FROM organisations o WHERE o.id = users.organisation_id) AS organisation_name, \
    EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = users.id AND t.enabled_at IS NOT NULL) AS two_factor";

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(email.as_str()).fetch_optional(pool).await)
}

pub async fn find_by_id(db: &Db, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// Inserts a user and returns its id (`verified`: the address counts as
/// confirmed from now). A taken e-mail is a unique violation.
pub async fn insert(
    tx: &mut Tx,
    email: &Email,
    hash: &PasswordHash,
    role: Role,
    now: DateTime<Utc>,
    verified: bool,
) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO users (email, password_hash, role, disabled, created_at, email_verified_at) \
               VALUES ($1, $2, $3, FALSE, $4, $5) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(email.as_str())
        .bind(hash.expose())
        .bind(role.as_str())
        .bind(now)
        .bind(verified.then_some(now))
        .fetch_one(conn)
        .await)
}

/// Marks the address of `id` confirmed (if it was not yet).
pub async fn mark_verified(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET email_verified_at = COALESCE(email_verified_at, $1) WHERE id = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(now).bind(id).execute(conn).await.map(|_| ()))
}

/// Moves account `id` to a confirmed new address. A taken address is a
/// unique violation.
pub async fn change_email(tx: &mut Tx, id: i64, email: &Email, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET email = $1, email_verified_at = $2 WHERE id = $3";
    on_tx!(tx, |conn| sqlx::query(sql).bind(email.as_str()).bind(now).bind(id).execute(conn).await.map(|_| ()))
}

/// Locks the enabled admins' rows until `tx` ends (PostgreSQL; SQLite's
/// write transaction already excludes other writers) and returns their ids,
/// so two admins demoting each other at once cannot leave none.
pub async fn lock_active_admins(tx: &mut Tx) -> Result<Vec<i64>, sqlx::Error> {
    match tx {
        Tx::Sqlite(t) => sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' AND NOT disabled").fetch_all(&mut **t).await,
        Tx::Postgres(t) => {
            sqlx::query_scalar("SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE").fetch_all(&mut **t).await
        }
    }
}

/// Disables or enables account `id`; `false` without such account.
pub async fn set_disabled(tx: &mut Tx, id: i64, disabled: bool) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE users SET disabled = $1 WHERE id = $2";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(disabled).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Gives account `id` another role; `false` without such account.
pub async fn set_role(tx: &mut Tx, id: i64, role: Role) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE users SET role = $1 WHERE id = $2";
    let n = on_tx!(tx, |conn| sqlx::query(sql).bind(role.as_str()).bind(id).execute(conn).await.map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

/// Ends every session of `id` (raises `session_epoch`); returns the new epoch.
pub async fn end_sessions(tx: &mut Tx, id: i64) -> Result<i64, sqlx::Error> {
    let sql = "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch";
    let epoch = on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(id).fetch_one(conn).await)?;
    crate::backend::db::sessions::delete_all(tx, id).await?;
    Ok(epoch)
}

/// Sets the hash of the account with `email` and ends its sessions;
/// returns its id, or `None`.
pub async fn set_password_hash(tx: &mut Tx, email: &Email, hash: &PasswordHash) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE email = $2 RETURNING id";
    let id: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(hash.expose()).bind(email.as_str()).fetch_optional(conn).await)?;
    if let Some(id) = id {
        crate::backend::db::sessions::delete_all(tx, id).await?;
    }
    Ok(id)
}

/// Sets the hash of account `id` and ends its sessions (raises
/// `session_epoch`); returns the new epoch, or `None` without such account.
pub async fn replace_password(tx: &mut Tx, id: i64, hash: &PasswordHash) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 WHERE id = $2 RETURNING session_epoch";
    let epoch: Option<i64> = on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(hash.expose()).bind(id).fetch_optional(conn).await)?;
    crate::backend::db::sessions::delete_all(tx, id).await?;
    Ok(epoch)
}

pub async fn touch_last_login(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE users SET last_login_at = $1 WHERE id = $2";
    on_tx!(tx, |conn| sqlx::query(sql).bind(now).bind(id).execute(conn).await.map(|_| ()))
}

/// Which users a list shows: a substring of the e-mail address or name, a role.
#[derive(Clone, Debug, Default)]
pub struct UserFilter<'a> {
    pub search: Option<&'a str>,
    pub role: Option<Role>,
}

const FILTER: &str = "($1 IS NULL OR lower(email) LIKE $1 ESCAPE '\\' OR lower(coalesce(name, '')) LIKE $1 ESCAPE '\\') \
                      AND ($2 IS NULL OR role = $2)";

/// A page of users, newest first. `limit` is capped by the caller.
pub async fn list(db: &Db, f: &UserFilter<'_>, limit: i64, offset: i64) -> Result<Vec<UserRow>, sqlx::Error> {
    let pattern = f.search.map(like_pattern);
    let sql = format!("SELECT {COLUMNS} FROM users WHERE {FILTER} ORDER BY id DESC LIMIT $3 OFFSET $4");
    on_db!(db, |pool| sqlx::query_as(&sql)
        .bind(&pattern)
        .bind(f.role.map(Role::as_str))
        .bind(limit)
        .bind(offset)
        .fetch_all(pool)
        .await)
}

/// How many users the same filter matches (for pagination).
pub async fn count(db: &Db, f: &UserFilter<'_>) -> Result<i64, sqlx::Error> {
    let pattern = f.search.map(like_pattern);
    let sql = format!("SELECT COUNT(*) FROM users WHERE {FILTER}");
    on_db!(db, |pool| sqlx::query_scalar(&sql).bind(&pattern).bind(f.role.map(Role::as_str)).fetch_one(pool).await)
}

/// Sets the display name.
pub async fn set_name(tx: &mut Tx, id: i64, name: Option<&str>) -> Result<(), sqlx::Error> {
    on_tx!(tx, |conn| sqlx::query("UPDATE users SET name = $1 WHERE id = $2").bind(name).bind(id).execute(conn).await.map(|_| ()))
}

/// `%needle%` with LIKE's own wildcards escaped, so a search for `_` or `%`
/// finds those characters instead of matching everything.
pub fn like_pattern(needle: &str) -> String {
    let mut out = String::with_capacity(needle.len() + 2);
    out.push('%');
    for c in needle.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_pattern_escapes_wildcards() {
        assert_eq!(super::like_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
        assert_eq!(super::like_pattern("Ada"), "%ada%");
    }
}
