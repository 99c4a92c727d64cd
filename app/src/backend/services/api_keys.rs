//! REST API keys: `pc_<key id>_<secret>`. The key id finds the row; the
//! secret (≥ 190 bits) is stored only as SHA-256 and compared in constant
//! time. Shown once at creation; revocable; last use recorded.

use crate::backend::services::audit;
use crate::backend::services::audit::{Actor, AuditEvent, Outcome};
use crate::backend::db;
use crate::backend::db::api_keys::ApiKeyRow;
use crate::backend::db::Db;
use crate::backend::web::request::RequestMeta;
use crate::backend::web::secrets::{constant_time_eq, hash_secret};
use crate::backend::web::session::random_token;
use crate::domain::time::rfc3339;
use crate::domain::Role;
use crate::error::AppError;
use crate::views::{ApiKeyView, NewApiKey};
use chrono::Utc;
use serde_json::json;

const PREFIX: &str = "pc_";
const KEY_ID_LEN: usize = 12;
const SECRET_LEN: usize = 40;

pub fn view(r: ApiKeyRow) -> ApiKeyView {
    ApiKeyView {
        id: r.id,
        name: r.name,
        role: r.role,
        key_id: r.key_id,
        created_by: r.created_by,
        created_at: rfc3339(r.created_at),
        last_used_at: r.last_used_at.map(rfc3339),
        revoked_at: r.revoked_at.map(rfc3339),
    }
}

/// API keys act as admins (read and write) or auditors (read only).
pub fn key_role(role: Role) -> Result<Role, AppError> {
    match role {
        Role::Admin | Role::Auditor => Ok(role),
        Role::Customer => Err(not_a_key_role()),
    }
}

/// `key_role` of a role as typed (forms, the CLI).
pub fn parse_role(role: &str) -> Result<Role, AppError> {
    role.parse::<Role>().map_err(|_| not_a_key_role()).and_then(key_role)
}

fn not_a_key_role() -> AppError {
    AppError::invalid("role", "an API key's role is admin or auditor")
}

pub async fn create(db: &Db, name: &str, role: Role, actor: Actor, meta: &RequestMeta) -> Result<NewApiKey, AppError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(AppError::invalid("name", "1–100 characters, no control characters"));
    }
    let role = key_role(role)?;
    let key_id = random_token(KEY_ID_LEN).to_ascii_lowercase();
    let secret = random_token(SECRET_LEN);
    let created_by = match &actor {
        Actor::User { email, .. } => email.clone(),
        Actor::Cli => "cli".into(),
        _ => "system".into(),
    };
    let mut tx = db.begin().await?;
    let id = db::api_keys::insert(&mut tx, name, role.as_str(), &key_id, &hash_secret(&secret), &created_by, Utc::now()).await?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "apikey.create", Outcome::Success)
            .target("api_key", id)
            .meta(meta)
            .details(json!({ "name": name, "role": role.as_str(), "key_id": key_id })),
    )
    .await?;
    tx.commit().await?;
    let row = db::api_keys::find_by_key_id(db, &key_id).await?.ok_or(AppError::NotFound)?;
    Ok(NewApiKey { key: view(row), secret: format!("{PREFIX}{key_id}_{secret}") })
}

/// The live key a bearer token names, or `None` (unknown, malformed, wrong
/// secret or revoked). Records the use.
pub async fn authenticate(db: &Db, token: &str) -> Result<Option<ApiKeyRow>, sqlx::Error> {
    let Some(rest) = token.strip_prefix(PREFIX) else { return Ok(None) };
    let Some((key_id, secret)) = rest.split_once('_') else { return Ok(None) };
    if key_id.len() != KEY_ID_LEN || secret.len() != SECRET_LEN {
        return Ok(None);
    }
    let Some(row) = db::api_keys::find_by_key_id(db, key_id).await? else { return Ok(None) };
    if row.revoked_at.is_some() || !constant_time_eq(hash_secret(secret).as_bytes(), row.secret_hash.as_bytes()) {
        return Ok(None);
    }
    db::api_keys::touch(db, row.id, Utc::now()).await?;
    Ok(Some(row))
}

pub async fn revoke(db: &Db, id: i64, actor: Actor, meta: &RequestMeta) -> Result<ApiKeyView, AppError> {
    let mut tx = db.begin().await?;
    let row = db::api_keys::revoke(&mut tx, id, Utc::now()).await?.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &AuditEvent::new(actor, "apikey.revoke", Outcome::Success)
            .target("api_key", id)
            .meta(meta)
            .details(json!({ "name": row.name, "key_id": row.key_id })),
    )
    .await?;
    tx.commit().await?;
    Ok(view(row))
}

pub async fn list(db: &Db) -> Result<Vec<ApiKeyView>, AppError> {
    Ok(db::api_keys::list(db).await?.into_iter().map(view).collect())
}
