//! `/test/...`: the controls as JSON routes (no auth; loopback peers only).

use axum::extract::{ConnectInfo, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use super::{ControlError, Controls};
use crate::api::AppState;
use crate::error::HarborError;
use crate::faults::ConnInfo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/test/robots", get(robots))
        .route("/test/robots/{name}", get(robot).delete(delete_robot))
        .route("/test/robots/{name}/disabled", post(set_disabled))
        .route("/test/robots/{name}/permissions", put(set_permissions))
        .route("/test/robots/{name}/expires_at", post(set_expires_at))
        .route("/test/projects", get(projects).post(create_project))
        .route("/test/faults", get(faults).post(set_faults))
        .route("/test/faults/reset", post(reset_faults))
        .route("/test/requests", get(requests).delete(clear_requests))
        .route("/test/create_calls", get(create_calls))
        .route("/test/violations", get(violations).delete(clear_violations))
        .route("/test/token/certificate", get(certificate))
        .layer(middleware::from_fn(loopback_only))
}

async fn loopback_only(request: Request, next: Next) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<ConnInfo>>()
        .map(|c| c.0.peer.ip());
    if peer.is_some_and(|ip| !ip.is_loopback()) {
        return error(ControlError {
            status: 403,
            message: "Test controls answer loopback peers only.".into(),
        });
    }
    next.run(request).await
}

fn controls(shared: AppState) -> Controls {
    Controls { shared }
}

fn error(err: ControlError) -> Response {
    let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
    let err = HarborError::from_status(status, err.message);
    (err.status, Json(err.body())).into_response()
}

fn answer<T: serde::Serialize>(result: Result<T, ControlError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(err) => error(err),
    }
}

/// A JSON body, or a 400 in Harbor's shape.
fn body<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, ControlError> {
    serde_json::from_str(text).map_err(|e| ControlError {
        status: 400,
        message: format!("bad JSON body: {e}"),
    })
}

async fn robots(State(s): State<AppState>) -> Response {
    Json(controls(s).robots()).into_response()
}

async fn robot(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    answer(controls(s).robot(&name).ok_or(ControlError {
        status: 404,
        message: format!("no robot named {name}"),
    }))
}

async fn delete_robot(State(s): State<AppState>, Path(name): Path<String>) -> Response {
    let deleted = controls(s).delete_robot_by_name(&name);
    answer(if deleted {
        Ok(json!({ "deleted": name }))
    } else {
        Err(ControlError {
            status: 404,
            message: format!("no robot named {name}"),
        })
    })
}

#[derive(Deserialize)]
struct Disabled {
    disabled: bool,
}

async fn set_disabled(
    State(s): State<AppState>,
    Path(name): Path<String>,
    text: String,
) -> Response {
    let controls = controls(s);
    answer(body::<Disabled>(&text).and_then(|b| {
        controls.set_disabled(&name, b.disabled)?;
        Ok(controls.robot(&name))
    }))
}

#[derive(Deserialize)]
struct Projects {
    projects: Vec<String>,
}

async fn set_permissions(
    State(s): State<AppState>,
    Path(name): Path<String>,
    text: String,
) -> Response {
    let controls = controls(s);
    answer(body::<Projects>(&text).and_then(|b| {
        let projects: Vec<&str> = b.projects.iter().map(String::as_str).collect();
        controls.set_permissions(&name, &projects)?;
        Ok(controls.robot(&name))
    }))
}

#[derive(Deserialize)]
struct ExpiresAt {
    expires_at: i64,
}

async fn set_expires_at(
    State(s): State<AppState>,
    Path(name): Path<String>,
    text: String,
) -> Response {
    let controls = controls(s);
    answer(body::<ExpiresAt>(&text).and_then(|b| {
        controls.set_expires_at(&name, b.expires_at)?;
        Ok(controls.robot(&name))
    }))
}

async fn projects(State(s): State<AppState>) -> Response {
    Json(controls(s).projects()).into_response()
}

#[derive(Deserialize)]
struct NewProject {
    name: String,
    #[serde(default)]
    public: bool,
}

async fn create_project(State(s): State<AppState>, text: String) -> Response {
    let controls = controls(s);
    answer(body::<NewProject>(&text).and_then(|b| {
        let id = if b.public {
            controls.create_public_project(&b.name)?
        } else {
            controls.create_project(&b.name)?
        };
        Ok(json!({ "id": id, "name": b.name, "public": b.public }))
    }))
}

async fn faults(State(s): State<AppState>) -> Response {
    Json(controls(s).faults()).into_response()
}

/// `{"fail": {"status": 500, "times": 2} | null, "slow_ms": 0,
/// "drop_connections": false, "down": false}`, each optional.
#[derive(Deserialize)]
struct FaultChange {
    #[serde(default, deserialize_with = "some")]
    fail: Option<Option<Fail>>,
    slow_ms: Option<u64>,
    drop_connections: Option<bool>,
    down: Option<bool>,
}

#[derive(Deserialize)]
struct Fail {
    status: u16,
    times: Option<u32>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent field (`None`).
fn some<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

async fn set_faults(State(s): State<AppState>, text: String) -> Response {
    let controls = controls(s);
    answer(body::<FaultChange>(&text).map(|change| {
        match change.fail {
            Some(Some(fail)) => controls.fail(fail.status, fail.times),
            Some(None) => controls.fail_off(),
            None => {}
        }
        if let Some(ms) = change.slow_ms {
            controls.slow(ms);
        }
        if let Some(on) = change.drop_connections {
            controls.drop_connections(on);
        }
        if let Some(on) = change.down {
            controls.down(on);
        }
        controls.faults()
    }))
}

async fn reset_faults(State(s): State<AppState>) -> Response {
    let controls = controls(s);
    controls.reset_faults();
    Json(controls.faults()).into_response()
}

async fn requests(State(s): State<AppState>) -> Response {
    Json(controls(s).requests()).into_response()
}

async fn clear_requests(State(s): State<AppState>) -> Response {
    controls(s).clear_requests();
    Json(json!({ "cleared": true })).into_response()
}

#[derive(Deserialize)]
struct NameQuery {
    name: String,
}

async fn create_calls(State(s): State<AppState>, Query(q): Query<NameQuery>) -> Response {
    let count = controls(s).create_calls(&q.name);
    Json(json!({ "name": q.name, "count": count })).into_response()
}

async fn violations(State(s): State<AppState>) -> Response {
    Json(controls(s).violations()).into_response()
}

async fn clear_violations(State(s): State<AppState>) -> Response {
    controls(s).clear_violations();
    Json(json!({ "cleared": true })).into_response()
}

async fn certificate(State(s): State<AppState>) -> Response {
    let pem = controls(s).token_certificate_pem();
    (
        [(axum::http::header::CONTENT_TYPE, "application/x-pem-file")],
        pem,
    )
        .into_response()
}
