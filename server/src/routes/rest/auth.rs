//! Who is calling the REST API, and may they? `Authorization: Bearer pc_…`
//! names an API key; the key's role decides. Handlers take `CanRead` or
//! `CanWrite` as their *first* extractor, so the role is checked before the
//! path, query or body is even looked at: an auditor's write is refused with
//! 403 whatever it sends, and the refusal is audited as `authz.denied`.

use crate::routes::rest::error::ApiError;
use app::domain::Role;
use app::backend::services::{api_keys, audit};
use app::backend::services::audit::attempts::Attempt;
use app::backend::services::audit::{Actor, AuditEvent, Outcome};
use app::backend::web::{AppState, RequestMeta};
use axum::{
    extract::{ConnectInfo, FromRequestParts, OriginalUri},
    http::{header, request::Parts},
};
use chrono::Utc;
use serde_json::json;
use std::net::SocketAddr;

/// An authenticated API key and the request it made.
#[derive(Clone, Debug)]
pub struct ApiCaller {
    pub key_id: i64,
    pub name: String,
    pub role: Role,
    pub meta: RequestMeta,
}

impl ApiCaller {
    /// Who the audit log says did it.
    pub fn actor(&self) -> Actor {
        Actor::ApiKey { id: self.key_id, name: self.name.clone() }
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme
/// case-insensitive, RFC 7235); `None` for a missing header or another scheme.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Authenticates the key (records its use) or answers 401.
/// A refusal that authenticated nothing is counted per network and minute
/// (`services::audit::attempts`), not recorded one by one.
async fn authenticate(parts: &Parts, state: &AppState) -> Result<ApiCaller, ApiError> {
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let meta = RequestMeta::from_parts(&parts.headers, peer, state.auth.client_ip_header.as_deref());
    let refuse = |reason: &'static str| {
        let path = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path(), |u| u.0.path());
        state.attempts.note(Attempt::denied("api.auth", reason), meta.ip, Utc::now(), || {
            json!({ "method": parts.method.as_str(), "path": path, "user_agent": meta.user_agent })
        });
        ApiError::Unauthenticated
    };
    let token = bearer_token(parts).ok_or_else(|| refuse("no_key"))?;
    let Some(row) = api_keys::authenticate(&state.db, token).await? else {
        return Err(refuse("bad_key"));
    };
    // A row with a role keys may not have is not a usable key.
    let role = api_keys::key_role(row.role).map_err(|_| refuse("bad_key"))?;
    Ok(ApiCaller { key_id: row.id, name: row.name, role, meta })
}

/// The caller must hold one of `roles`; a refusal is audited.
async fn require(parts: &Parts, state: &AppState, roles: &[Role]) -> Result<ApiCaller, ApiError> {
    let caller = authenticate(parts, state).await?;
    if roles.contains(&caller.role) {
        return Ok(caller);
    }
    // The nested router strips `/api/v1`; the audit log wants the real path.
    let path = parts.extensions.get::<OriginalUri>().map_or_else(|| parts.uri.path(), |u| u.0.path());
    audit::record_alone(
        &state.db,
        &AuditEvent::new(caller.actor(), "authz.denied", Outcome::Denied)
            .target("api_key", caller.key_id)
            .meta(&caller.meta)
            .details(json!({ "method": parts.method.as_str(), "path": path, "role": caller.role.as_str() })),
    )
    .await?;
    Err(ApiError::Forbidden)
}

/// A key that may read (admin or auditor).
pub struct CanRead(pub ApiCaller);

/// A key that may change things (admin only).
pub struct CanWrite(pub ApiCaller);

impl FromRequestParts<AppState> for CanRead {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        require(parts, state, &[Role::Admin, Role::Auditor]).await.map(CanRead)
    }
}

impl FromRequestParts<AppState> for CanWrite {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        require(parts, state, &[Role::Admin]).await.map(CanWrite)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(auth: Option<&str>) -> Parts {
        let mut b = axum::http::Request::builder();
        if let Some(a) = auth {
            b = b.header(header::AUTHORIZATION, a);
        }
        b.body(()).map(|r| r.into_parts().0).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn only_bearer_tokens_count() {
        assert_eq!(bearer_token(&parts(Some("Bearer pc_abc"))), Some("pc_abc"));
        assert_eq!(bearer_token(&parts(Some("bearer   pc_abc "))), Some("pc_abc"));
        assert_eq!(bearer_token(&parts(Some("Basic dXNlcjpwdw=="))), None);
        assert_eq!(bearer_token(&parts(Some("Bearer"))), None);
        assert_eq!(bearer_token(&parts(None)), None);
    }
}
