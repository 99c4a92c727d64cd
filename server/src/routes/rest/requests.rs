//! `/api/v1/requests`: customers' requests for a trial or for contact with
//! sales, for a CRM: list (by status, newest first), read one, and answer
//! with a grant (access for N days: a trial for a trial request, a manual
//! entitlement otherwise) or a reply. As from the dashboard
//! (`services::requests::answer`): the grant, the request's close, the mail
//! to the member who asked and the audit event are one transaction, and a
//! request answered already is 409.

use crate::routes::rest::auth::{CanRead, CanWrite};
use crate::routes::rest::error::{ApiError, ErrorBody};
use crate::routes::rest::json::{self, ApiJson, ApiPath, ApiQuery};
use crate::routes::rest::{schema, IdPath};
use app::backend::services::requests::{self, Answer};
use app::backend::web::AppState;
use app::domain::request::{RequestStatus, ANSWER_MAX, GRANT_DAYS_MAX};
use app::views::AccessRequestView;
use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    #[param(schema_with = status_filter)]
    pub status: Option<String>,
}

/// How to answer; see each field's description.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    #[schema(schema_with = action)]
    pub action: String,
    #[serde(default, deserialize_with = "json::opt_integer")]
    #[schema(schema_with = days)]
    pub days: Option<i64>,
    #[schema(schema_with = reply)]
    pub reply: Option<String>,
}

schema::documented! {
    fn status_filter() = schema::one_of(schema::STATUS_REQUEST, false), "Only requests with this status: `open` (waiting), `granted` or `answered` (a reply).";
    fn action() = schema::one_of(schema::REQUEST_ANSWER, false), "`grant` (access for `days`, with an optional `reply`) or `reply` (words only, no access).";
    fn days() = schema::range(1, GRANT_DAYS_MAX as i64, true), "With `grant`: days of access from now (422 without).";
    fn reply() = schema::lines(ANSWER_MAX, true), "The words mailed to the member who asked; required with `reply`.";
}

/// The requests, newest first (the latest 200).
#[derive(Debug, Serialize, ToSchema)]
pub struct RequestList {
    pub items: Vec<AccessRequestView>,
}

/// Requests for a trial or for sales, newest first (the latest 200).
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(RequestQuery),
    responses((status = 200, body = RequestList)))]
pub async fn list(CanRead(_caller): CanRead, State(st): State<AppState>, ApiQuery(q): ApiQuery<RequestQuery>) -> Result<Json<RequestList>, ApiError> {
    let status = match q.status.as_deref() {
        Some(s) => Some(RequestStatus::parse(s).ok_or_else(|| ApiError::bad_request(Some("status".into()), "status must be open, granted or answered"))?),
        None => None,
    };
    Ok(Json(RequestList { items: requests::list(&st.db, status).await? }))
}

/// One request.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(IdPath),
    responses((status = 200, body = AccessRequestView)))]
pub async fn get_one(CanRead(_caller): CanRead, State(st): State<AppState>, ApiPath(p): ApiPath<IdPath>) -> Result<Json<AccessRequestView>, ApiError> {
    Ok(Json(requests::get(&st.db, p.id).await?))
}

/// Answers an open request with a grant or a reply; the member who asked
/// gets the answer by mail.
#[utoipa::path(post, path = "/api/v1/requests/{id}/answer", tag = "requests", params(IdPath), request_body = AnswerBody,
    responses((status = 200, body = AccessRequestView),
        (status = 409, description = "The request was answered already (`id`): by another admin, key or replica", body = ErrorBody)))]
pub async fn answer(
    CanWrite(caller): CanWrite,
    State(st): State<AppState>,
    ApiPath(p): ApiPath<IdPath>,
    ApiJson(body): ApiJson<AnswerBody>,
) -> Result<Json<AccessRequestView>, ApiError> {
    let days = match body.days {
        Some(d) => Some(u32::try_from(d).map_err(|_| ApiError::invalid("days", format!("from 1 to {GRANT_DAYS_MAX} days")))?),
        None => None,
    };
    let answer = Answer::parse(&body.action, days, body.reply.as_deref().unwrap_or(""))?;
    Ok(Json(requests::answer(&st.db, caller.actor(), None, p.id, &answer, &caller.meta).await?))
}
