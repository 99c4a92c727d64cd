//! What auditors read (the page's server functions, the REST API and the
//! exports): pages of events matching a parsed filter, one event, the
//! newest id, each bounded by the deployment's time limit
//! (`AppState::audit_query_timeout`; a read past it is
//! `QueryError::TooBroad`, answered 422 `search_too_broad`). The row,
//! filter and error types are the database layer's, named here so callers
//! above the services never reach into it.

use crate::backend::db;
pub use crate::backend::db::audit::{AuditRow, Filter};
pub use crate::backend::db::bounded::QueryError;
use crate::backend::web::AppState;

/// Up to `limit` events matching `filter`, newest first (keyset on id).
pub async fn search(st: &AppState, filter: &Filter, limit: i64) -> Result<Vec<AuditRow>, QueryError> {
    db::audit::search(&st.db, filter, limit, st.audit_query_timeout).await
}

/// One event by id.
pub async fn get(st: &AppState, id: i64) -> Result<Option<AuditRow>, QueryError> {
    db::audit::get(&st.db, id, st.audit_query_timeout).await
}

/// The largest id so far (0 for an empty log): an export's fixed upper end.
pub async fn newest_id(st: &AppState) -> Result<i64, QueryError> {
    db::audit::max_id(&st.db).await.map_err(QueryError::Db)
}
