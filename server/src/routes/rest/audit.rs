//! `/api/v1/audit`: the audit log for auditors' tools (admin or auditor
//! key): one filtered keyset page as JSON, or every matching event streamed
//! as CSV or JSON Lines (`format=csv|jsonl`); `/api/v1/audit/{id}`: one event.
//! The same filters as the auditor page (`app::backend::services::audit::query`).

use crate::routes::rest::{audit_export, schema, IdPath};
use crate::routes::rest::audit_export::Format;
use crate::routes::rest::auth::CanRead;
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{ApiPath, ApiQuery};
use app::views::AuditFilter;
use app::backend::services::audit;
use app::backend::services::audit::{Actor, AuditEvent, Outcome, query as audit_query};
use app::backend::services::audit::read::{self, AuditRow};
use app::backend::web::{AppState, RequestMeta};
use axum::{
    extract::State,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    #[param(schema_with = from)]
    pub from: Option<String>,
    #[param(schema_with = to)]
    pub to: Option<String>,
    #[param(schema_with = customer)]
    pub customer: Option<i64>,
    #[param(schema_with = member)]
    pub member: Option<i64>,
    #[param(schema_with = credential)]
    pub credential: Option<String>,
    #[param(schema_with = repository)]
    pub repository: Option<String>,
    #[param(schema_with = product)]
    pub product: Option<i64>,
    #[param(schema_with = action)]
    pub action: Option<String>,
    #[param(schema_with = outcome)]
    pub outcome: Option<String>,
    #[param(schema_with = ip)]
    pub ip: Option<String>,
    #[param(schema_with = text)]
    pub q: Option<String>,
    #[param(schema_with = before)]
    pub before: Option<i64>,
    #[param(schema_with = limit)]
    pub limit: Option<i64>,
    #[param(schema_with = format)]
    pub format: Option<Format>,
}

schema::documented! {
    fn from() = schema::day_or_time(false), "From this time, inclusive: a day (`2026-11-22`, UTC) or RFC 3339.";
    fn to() = schema::day_or_time(false), "Until this time, exclusive (a day: the end of that day); after `from` (422 otherwise).";
    fn customer() = schema::id(), "The customer's (organisation's) id: events about it, also those from before organisations.";
    fn member() = schema::id(), "A person's user id: events they did or that concern them.";
    fn credential() = schema::text(100, true, false), "A registry credential's user name (`pull-…`/`push-…`).";
    fn repository() = schema::text(255, true, false), "A repository, e.g. `acme/widget`.";
    fn product() = schema::id(), "A product's id: its catalogue changes, the events naming it (entitlements, orders, requests) and the decisions and pulls on its exact repositories.";
    fn action() = schema::action(), "An action (`registry.token`) or a prefix (`registry.*`).";
    fn outcome() = schema::one_of(schema::AUDIT_OUTCOME, false), "`granted` (= `success`), `denied` or `failure`.";
    fn ip() = schema::ip(), "The client IP address.";
    fn text() = schema::text(200, true, false), "Text to find (case-insensitive substring) in the actor, target, IP, user agent or detail values.";
    fn before() = schema::id(), "Keyset cursor: only events older than this id (from `next_before`).";
    fn limit() = schema::range(1, 1000, false), "Page size for `format=json`: 1–1000, default 100.";
    fn format() = schema::one_of(schema::AUDIT_FORMAT, false), "`json` (a page, default), `csv` or `jsonl` (every matching event, streamed).";
}

impl AuditQuery {
    pub fn filter(&self) -> AuditFilter {
        AuditFilter {
            from: self.from.clone(),
            to: self.to.clone(),
            customer: self.customer.map(|c| c.to_string()),
            member: self.member.map(|c| c.to_string()),
            credential: self.credential.clone(),
            repository: self.repository.clone(),
            product: self.product.map(|p| p.to_string()),
            action: self.action.clone(),
            outcome: self.outcome.clone(),
            ip: self.ip.clone(),
            q: self.q.clone(),
            before: self.before,
        }
    }
}

/// One event. `chain_hash` links it to the event before (see the README's *Audit*).
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    pub id: i64,
    /// RFC 3339, UTC, microseconds.
    pub occurred_at: String,
    pub actor: String,
    pub actor_user_id: Option<i64>,
    pub action: String,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    /// The person whose access it concerns.
    pub subject_user_id: Option<i64>,
    /// The customer (organisation) it concerns: as recorded, or for events
    /// from before organisations, the customer their subject was.
    pub organisation_id: Option<i64>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    /// `null` until sealed (about a second after the event).
    pub chain_hash: Option<String>,
}

impl From<AuditRow> for AuditEventView {
    fn from(r: AuditRow) -> Self {
        Self {
            id: r.id,
            occurred_at: r.occurred_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
            actor: r.actor,
            actor_user_id: r.actor_user_id,
            action: r.action,
            outcome: r.outcome,
            target_type: r.target_type,
            target_id: r.target_id,
            subject_user_id: r.subject_user_id,
            organisation_id: r.organisation_id,
            ip: r.ip,
            user_agent: r.user_agent,
            details: r.details.0,
            chain_hash: r.chain_hash,
        }
    }
}

/// A page of events, newest first; `next_before` is the cursor of the next (older) page.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    pub items: Vec<AuditEventView>,
    pub next_before: Option<i64>,
}

/// Records who exported what (an export is a read worth knowing about).
pub async fn record_export(st: &AppState, actor: Actor, meta: &RequestMeta, filter: &AuditFilter, format: &str) -> Result<(), sqlx::Error> {
    let pairs: serde_json::Map<String, serde_json::Value> =
        filter.pairs().into_iter().map(|(k, v)| (k.to_owned(), json!(v))).collect();
    let event = AuditEvent::new(actor, "audit.export", Outcome::Success)
        .meta(meta)
        .details(json!({ "format": format, "filter": pairs, "before": filter.before }));
    audit::record_alone(&st.db, &event).await.map(|_| ())
}

/// The audit log, newest first: one page, or every matching event streamed.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, description = "A page (format=json), or a CSV / JSON Lines download of every matching event (recorded as `audit.export`)",
            content((AuditPageView = "application/json"), (String = "text/csv"), (String = "application/jsonl"))),
        (status = 422, body = ErrorBody, description = "`validation_failed` (a bad filter, naming it; `to` not after `from`), or `search_too_broad`: the query ran past its time limit (PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS); narrow it with a time range, a customer or a longer text")))]
pub async fn list(CanRead(caller): CanRead, State(st): State<AppState>, ApiQuery(q): ApiQuery<AuditQuery>) -> Result<Response, ApiError> {
    let filter = q.filter();
    let parsed = audit_query::parse(&filter)?;
    match q.format.unwrap_or(Format::Json) {
        Format::Json => {
            let limit = q.limit.unwrap_or(100);
            if !(1..=1000).contains(&limit) {
                return Err(ApiError::bad_request(Some("limit".into()), "limit must be 1–1000"));
            }
            let mut rows = read::search(&st, &parsed, limit + 1).await?;
            let more = rows.len() as i64 > limit;
            rows.truncate(limit as usize);
            let next_before = if more { rows.last().map(|r| r.id) } else { None };
            Ok(Json(AuditPageView { items: rows.into_iter().map(Into::into).collect(), next_before }).into_response())
        }
        format => {
            record_export(&st, caller.actor(), &caller.meta, &filter, if format == Format::Csv { "csv" } else { "jsonl" }).await?;
            Ok(audit_export::stream(st.clone(), parsed, format).await)
        }
    }
}

/// One audit event.
#[utoipa::path(get, path = "/api/v1/audit/{id}", tag = "audit", params(IdPath),
    responses((status = 200, body = AuditEventView),
        (status = 422, body = ErrorBody, description = "`search_too_broad`: the read ran past its time limit")))]
pub async fn get_one(CanRead(_caller): CanRead, State(st): State<AppState>, ApiPath(p): ApiPath<IdPath>) -> Result<Json<AuditEventView>, ApiError> {
    let row = read::get(&st, p.id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(row.into()))
}

/// The page's download link: the page's filter as it spells it (a customer
/// or member by e-mail, a credential or product by name), and the format.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageExportQuery {
    from: Option<String>,
    to: Option<String>,
    customer: Option<String>,
    member: Option<String>,
    credential: Option<String>,
    repository: Option<String>,
    product: Option<String>,
    action: Option<String>,
    outcome: Option<String>,
    ip: Option<String>,
    q: Option<String>,
    before: Option<i64>,
    format: Option<Format>,
}

impl PageExportQuery {
    fn filter(self) -> (AuditFilter, Option<Format>) {
        let Self { from, to, customer, member, credential, repository, product, action, outcome, ip, q, before, format } = self;
        (AuditFilter { from, to, customer, member, credential, repository, product, action, outcome, ip, q, before }, format)
    }
}

/// `GET /audit/export?format=csv|jsonl&…`: the auditor page's download of
/// its current filter, for a logged-in admin or auditor (session cookie).
/// It reads the filter as the page does (`parse_naming`), so what the page
/// lists is what the file holds.
pub async fn page_export(State(st): State<AppState>, req: axum::extract::Request) -> Response {
    use app::domain::Role;
    use app::error::AppError;
    use app::backend::services::auth::authorise;
    use axum::{extract::ConnectInfo, http::StatusCode};
    let (parts, _) = req.into_parts();
    let Some(session) = parts.extensions.get::<tower_sessions::Session>() else {
        return ApiError::from(AppError::internal("the session layer is missing")).into_response();
    };
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    let meta = app::backend::web::RequestMeta::from_parts(&parts.headers, peer, st.auth.client_ip_header.as_deref());
    let user = authorise(session, &st.db, &st.two_factor, &[Role::Admin, Role::Auditor], &meta, parts.uri.path()).await;
    let user = match user {
        Ok(u) => u,
        Err(AppError::Unauthenticated) => return (StatusCode::UNAUTHORIZED, "log in first").into_response(),
        Err(AppError::Forbidden) => return (StatusCode::FORBIDDEN, "admins and auditors only").into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    // Authorised first: the query is read (and names looked up) only for staff.
    let q: PageExportQuery = match crate::routes::rest::json::parse_query(parts.uri.query().unwrap_or_default()) {
        Ok(q) => q,
        Err(e) => return e.into_response(),
    };
    let (filter, format) = q.filter();
    let parsed = match audit_query::parse_naming(&st.db, &filter).await {
        Ok(p) => p,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let format = match format {
        Some(Format::Jsonl) => Format::Jsonl,
        _ => Format::Csv,
    };
    let actor = Actor::User { id: user.id, email: user.email.clone() };
    if let Err(e) = record_export(&st, actor, &meta, &filter, if format == Format::Csv { "csv" } else { "jsonl" }).await {
        return ApiError::from(e).into_response();
    }
    audit_export::stream(st.clone(), parsed, format).await
}
