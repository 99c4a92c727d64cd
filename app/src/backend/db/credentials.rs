//! `registry_credentials`: pull credentials (a customer's) and push
//! credentials (an admin's). The secret is stored only as SHA-256. Both row
//! shapes carry the owner's standing, so lists and the token service hand
//! `domain::credential::usable` the same facts.

use crate::backend::db::{Db, Tx};
use crate::domain::credential::{CredentialFacts, CredentialKind};
use crate::domain::organisation::CredentialHolder;
use crate::domain::Role;
use crate::{on_db, on_tx};
use chrono::{DateTime, Utc};

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CredentialRow {
    pub id: i64,
    pub owner_user_id: i64,
    pub owner_email: String,
    pub owner_role: Role,
    pub owner_disabled: bool,
    pub kind: CredentialKind,
    pub name: String,
    pub username: String,
    /// Hex SHA-256 of the secret; never shown.
    pub secret_hash: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub last_pulled_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// Pull credentials: the organisation, who holds it, the address ranges
    /// it may be used from (stored form of `domain::net::parse_cidrs`).
    pub organisation_id: Option<i64>,
    pub holder: Option<CredentialHolder>,
    pub networks: String,
    /// The products it is limited to, `(id, name)` (empty: every product).
    #[sqlx(skip)]
    pub products: Vec<(i64, String)>,
}

/// What the token service needs to authenticate a credential and decide.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CredentialAuthRow {
    pub id: i64,
    pub owner_user_id: i64,
    pub owner_email: String,
    pub owner_role: Role,
    pub owner_disabled: bool,
    pub kind: CredentialKind,
    pub username: String,
    pub secret_hash: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub organisation_id: Option<i64>,
    pub networks: String,
    #[sqlx(skip)]
    pub products: Vec<(i64, String)>,
}

impl CredentialRow {
    pub fn facts(&self) -> CredentialFacts {
        facts(self.kind, self.revoked_at, self.expires_at, self.owner_disabled, self.owner_role)
    }
}

impl CredentialAuthRow {
    pub fn facts(&self) -> CredentialFacts {
        facts(self.kind, self.revoked_at, self.expires_at, self.owner_disabled, self.owner_role)
    }
}

fn facts(
    kind: CredentialKind,
    revoked_at: Option<DateTime<Utc>>,
    expires_at: Option<DateTime<Utc>>,
    owner_disabled: bool,
    owner_role: Role,
) -> CredentialFacts {
    CredentialFacts { kind, revoked_at, expires_at, owner_disabled, owner_role }
}

/// Whether the holder can no longer use it: a member's credential, when
/// the member is disabled or no longer in its organisation; the
/// organisation's, when no joined member of it is enabled; a push
/// credential, when its admin is disabled.
const HOLDER_DISABLED: &str = "CASE WHEN c.holder = 'organisation' THEN NOT EXISTS (SELECT 1 FROM users m \
    WHERE m.organisation_id = c.organisation_id AND m.joined_at IS NOT NULL AND NOT m.disabled) \
    WHEN c.holder = 'member' THEN (u.disabled OR u.joined_at IS NULL \
    OR COALESCE(u.organisation_id, -1) <> COALESCE(c.organisation_id, -1)) \
    ELSE u.disabled END";

fn select() -> String {
    format!(
        "SELECT c.id, c.owner_user_id, u.email AS owner_email, u.role AS owner_role, \
         {HOLDER_DISABLED} AS owner_disabled, c.kind, c.name, c.username, \
         c.secret_hash, c.created_by, c.created_at, c.expires_at, c.rotated_at, c.last_used_at, c.last_pulled_at, \
         c.revoked_at, c.organisation_id, c.holder, c.networks FROM registry_credentials c JOIN users u ON u.id = c.owner_user_id"
    )
}

pub struct NewCredentialRow<'a> {
    pub owner_user_id: i64,
    pub organisation_id: Option<i64>,
    pub holder: Option<CredentialHolder>,
    pub networks: &'a str,
    pub kind: CredentialKind,
    pub name: &'a str,
    pub username: &'a str,
    pub secret_hash: &'a str,
    pub created_by: &'a str,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

pub async fn insert(tx: &mut Tx, row: &NewCredentialRow<'_>) -> Result<i64, sqlx::Error> {
    let sql = "INSERT INTO registry_credentials \
        (owner_user_id, kind, name, username, secret_hash, created_by, created_at, expires_at, \
        organisation_id, holder, networks) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql)
        .bind(row.owner_user_id)
        .bind(row.kind)
        .bind(row.name)
        .bind(row.username)
        .bind(row.secret_hash)
        .bind(row.created_by)
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(row.organisation_id)
        .bind(row.holder)
        .bind(row.networks)
        .fetch_one(conn)
        .await)
}

pub async fn find(db: &Db, id: i64) -> Result<Option<CredentialRow>, sqlx::Error> {
    let sql = format!("{} WHERE c.id = $1", select());
    on_db!(db, |pool| sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

pub async fn find_in(tx: &mut Tx, id: i64) -> Result<Option<CredentialRow>, sqlx::Error> {
    let sql = format!("{} WHERE c.id = $1", select());
    on_tx!(tx, |conn| sqlx::query_as(&sql).bind(id).fetch_optional(conn).await)
}

/// Newest first.
pub async fn list_for_owner(db: &Db, owner_user_id: i64) -> Result<Vec<CredentialRow>, sqlx::Error> {
    let sql = format!("{} WHERE c.owner_user_id = $1 ORDER BY c.id DESC", select());
    on_db!(db, |pool| sqlx::query_as(&sql).bind(owner_user_id).fetch_all(pool).await)
}

pub async fn list_kind(db: &Db, kind: CredentialKind) -> Result<Vec<CredentialRow>, sqlx::Error> {
    let sql = format!("{} WHERE c.kind = $1 ORDER BY c.id DESC", select());
    on_db!(db, |pool| sqlx::query_as(&sql).bind(kind).fetch_all(pool).await)
}

pub async fn count_live_with_name(tx: &mut Tx, owner_user_id: i64, name: &str) -> Result<i64, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM registry_credentials WHERE COALESCE(organisation_id, owner_user_id) = $1 AND name = $2 AND revoked_at IS NULL";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(owner_user_id).bind(name).fetch_one(conn).await)
}

/// Marks it revoked; `None` if it does not exist or was already revoked.
pub async fn revoke(tx: &mut Tx, id: i64, now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE registry_credentials SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(now).bind(id).fetch_optional(conn).await)
}

/// Replaces the secret of a live credential; `None` if revoked or missing.
pub async fn rotate(tx: &mut Tx, id: i64, secret_hash: &str, now: DateTime<Utc>) -> Result<Option<i64>, sqlx::Error> {
    let sql = "UPDATE registry_credentials SET secret_hash = $1, rotated_at = $2 \
               WHERE id = $3 AND revoked_at IS NULL RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(secret_hash).bind(now).bind(id).fetch_optional(conn).await)
}

/// The token service's lookup: the credential and its owner's standing.
pub async fn auth_by_username(db: &Db, username: &str) -> Result<Option<CredentialAuthRow>, sqlx::Error> {
    let sql = format!(
        "SELECT c.id, c.owner_user_id, u.email AS owner_email, u.role AS owner_role, \
         {HOLDER_DISABLED} AS owner_disabled, c.kind, c.username, c.secret_hash, c.expires_at, c.revoked_at, \
         c.organisation_id, c.networks \
         FROM registry_credentials c JOIN users u ON u.id = c.owner_user_id WHERE c.username = $1"
    );
    let row: Option<CredentialAuthRow> = on_db!(db, |pool| sqlx::query_as(&sql).bind(username).fetch_optional(pool).await)?;
    match row {
        Some(mut r) => {
            r.products = products_of(db, r.id).await?;
            Ok(Some(r))
        }
        None => Ok(None),
    }
}

/// The products a credential is limited to, `(id, name)`, by name.
pub async fn products_of(db: &Db, credential: i64) -> Result<Vec<(i64, String)>, sqlx::Error> {
    let sql = "SELECT p.id, p.name FROM credential_products cp JOIN products p ON p.id = cp.product_id \
               WHERE cp.credential_id = $1 ORDER BY p.name, p.id";
    on_db!(db, |pool| sqlx::query_as(sql).bind(credential).fetch_all(pool).await)
}

/// The product limits of many credentials: `(credential id, product id, name)`.
pub async fn products_of_many(db: &Db, ids: &[i64]) -> Result<Vec<(i64, i64, String)>, sqlx::Error> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in ids.chunks(500) {
        let list = chunk.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
        let sql = format!(
            "SELECT cp.credential_id, p.id, p.name FROM credential_products cp JOIN products p ON p.id = cp.product_id \
             WHERE cp.credential_id IN ({list}) ORDER BY p.name, p.id"
        );
        let rows: Vec<(i64, i64, String)> = on_db!(db, |pool| sqlx::query_as(&sql).fetch_all(pool).await)?;
        out.extend(rows);
    }
    Ok(out)
}

/// Limits a new credential to `products`.
pub async fn limit_products(tx: &mut Tx, credential: i64, products: &[i64]) -> Result<(), sqlx::Error> {
    for p in products {
        on_tx!(tx, |conn| sqlx::query("INSERT INTO credential_products (credential_id, product_id) VALUES ($1, $2)")
            .bind(credential)
            .bind(p)
            .execute(conn)
            .await
            .map(|_| ()))?;
    }
    Ok(())
}

/// The credentials an organisation's member holds, newest first.
pub async fn list_for_organisation(db: &Db, org: i64) -> Result<Vec<CredentialRow>, sqlx::Error> {
    let sql = format!("{} WHERE c.organisation_id = $1 AND c.kind = 'pull' ORDER BY c.id DESC", select());
    on_db!(db, |pool| sqlx::query_as(&sql).bind(org).fetch_all(pool).await)
}

/// Revokes every live credential `member` holds in `org` (a member leaving
/// or removed); returns their ids.
pub async fn revoke_member_held(tx: &mut Tx, org: i64, member: i64, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
    let sql = "UPDATE registry_credentials SET revoked_at = $1 WHERE organisation_id = $2 AND owner_user_id = $3 \
               AND holder = 'member' AND revoked_at IS NULL RETURNING id";
    on_tx!(tx, |conn| sqlx::query_scalar(sql).bind(now).bind(org).bind(member).fetch_all(conn).await)
}

/// Records token use in bulk (one statement per credential, latest time).
pub async fn touch_used(tx: &mut Tx, id: i64, at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let sql = "UPDATE registry_credentials SET last_used_at = $1 \
               WHERE id = $2 AND (last_used_at IS NULL OR last_used_at < $1)";
    on_tx!(tx, |conn| sqlx::query(sql).bind(at).bind(id).execute(conn).await.map(|_| ()))
}

pub async fn touch_pulled(tx: &mut Tx, username: &str, at: DateTime<Utc>) -> Result<Option<(i64, i64)>, sqlx::Error> {
    let sql = "UPDATE registry_credentials SET last_pulled_at = $1 \
               WHERE username = $2 AND (last_pulled_at IS NULL OR last_pulled_at < $1) \
               RETURNING id, owner_user_id";
    on_tx!(tx, |conn| sqlx::query_as(sql).bind(at).bind(username).fetch_optional(conn).await)
}

/// `(credential id, owner id, owner e-mail)` of a user name.
pub async fn find_by_username(tx: &mut Tx, username: &str) -> Result<Option<(i64, i64, String)>, sqlx::Error> {
    let sql = "SELECT c.id, c.owner_user_id, u.email FROM registry_credentials c \
               JOIN users u ON u.id = c.owner_user_id WHERE c.username = $1";
    on_tx!(tx, |conn| sqlx::query_as(sql).bind(username).fetch_optional(conn).await)
}

/// The user names of credentials called `name` (any case), within the
/// organisation `org` when given; at most `limit`.
pub async fn usernames_named(db: &Db, name: &str, org: Option<i64>, limit: i64) -> Result<Vec<String>, sqlx::Error> {
    let sql = "SELECT username FROM registry_credentials WHERE lower(name) = lower($1) AND ($2 IS NULL OR organisation_id = $2) \
               ORDER BY id LIMIT $3";
    on_db!(db, |pool| sqlx::query_scalar(sql).bind(name).bind(org).bind(limit).fetch_all(pool).await)
}
