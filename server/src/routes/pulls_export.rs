//! `GET /account/pulls.csv?repository=&member=&credential=&from=&to=`: the
//! organisation's pull history as a CSV file, for a logged-in member
//! (session cookie; the same filters and rule as the pulls page,
//! `app::backend::services::pulls`).

use crate::routes::rest::error::ApiError;
use app::backend::services::auth::authorise;
use app::backend::services::pulls;
use app::backend::web::{AppState, RequestMeta};
use app::domain::Role;
use app::error::AppError;
use app::views::{Membership, PullFilterView, SessionUser};
use axum::{
    extract::{ConnectInfo, State},
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};

pub async fn export(State(st): State<AppState>, req: axum::extract::Request) -> Response {
    let (parts, _) = req.into_parts();
    // Authorised first: the query is read for members only.
    let (_, m, _) = match signed_in_member(&st, &parts).await {
        Ok(who) => who,
        Err(refusal) => return refusal,
    };
    let query = parts.uri.query().unwrap_or_default();
    if query.len() > 4096 {
        return (StatusCode::BAD_REQUEST, "the query is too long").into_response();
    }
    let filter: PullFilterView = match serde_urlencoded::from_str(query) {
        Ok(f) => f,
        Err(_) => return (StatusCode::BAD_REQUEST, "expected repository, member, credential, from and to").into_response(),
    };
    match pulls::csv(&st.db, m.organisation_id, &filter).await {
        Ok(body) => {
            let mut res = body.into_response();
            let h = res.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"pulls.csv\""));
            res
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The member a browser request comes from (session cookie), with their
/// organisation and the request's origin, or the answer refusing it: the
/// plain routes of a member's account (this export, offline downloads).
pub(crate) async fn signed_in_member(st: &AppState, parts: &axum::http::request::Parts) -> Result<(SessionUser, Membership, RequestMeta), Response> {
    let Some(session) = parts.extensions.get::<tower_sessions::Session>() else {
        return Err(ApiError::from(AppError::internal("the session layer is missing")).into_response());
    };
    let peer = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
    let meta = RequestMeta::from_parts(&parts.headers, peer, st.auth.client_ip_header.as_deref());
    let user = match authorise(session, &st.db, &st.two_factor, &[Role::Customer], &meta, parts.uri.path()).await {
        Ok(u) => u,
        Err(AppError::Unauthenticated) => return Err((StatusCode::UNAUTHORIZED, "log in first").into_response()),
        Err(AppError::Forbidden) => return Err((StatusCode::FORBIDDEN, "customers only").into_response()),
        Err(e) => return Err(ApiError::from(e).into_response()),
    };
    match user.membership.clone() {
        Some(m) => Ok((user, m, meta)),
        None => Err((StatusCode::CONFLICT, "you are not a member of an organisation").into_response()),
    }
}
