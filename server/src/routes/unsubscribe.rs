//! `POST /unsubscribe?token=…`: the one-click unsubscribe of optional mail
//! (RFC 8058: a mail client posts `List-Unsubscribe=One-Click` to the URL
//! in `List-Unsubscribe`). No session, no origin: the token is the proof
//! and can do nothing but stop notices. A person opening the same URL gets
//! the page with a button (`GET`, a Leptos page).

use app::backend::services::notices;
use app::backend::web::{AppState, RequestMeta};
use axum::{
    extract::{ConnectInfo, RawQuery, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use std::net::SocketAddr;

pub async fn one_click(
    State(st): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let token = query
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .find_map(|p| p.strip_prefix("token="))
        .unwrap_or_default()
        .to_owned();
    let meta = RequestMeta::from_parts(&headers, Some(peer), st.auth.client_ip_header.as_deref());
    match notices::unsubscribe(&st.db, &token, &meta).await {
        Ok(()) => (StatusCode::OK, "unsubscribed: no more notices for this account\n").into_response(),
        Err(e) if e.status() < 500 => (StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_REQUEST), format!("{e}\n")).into_response(),
        Err(e) => {
            let e = e.logged(&uuid::Uuid::new_v4().to_string());
            (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response()
        }
    }
}
