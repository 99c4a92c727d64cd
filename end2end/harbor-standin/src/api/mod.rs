//! The API under `/api/v2.0` and the token service `/service/token`.
//!
//! Every API request goes through one entry: the body is read (1 MiB at
//! most), routed by Harbor's spec (go-swagger's router: 404 for an unknown
//! path, 405 for another method), checked against the operation's
//! parameters and body schema (violations recorded; what go-swagger's
//! binding refuses is answered 422 or 415), passed through the fault
//! switches, answered by the operation's emulation, and the answer checked
//! against the operation's declared response before it goes out.

pub mod projects;
pub mod query;
pub mod robots;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use crate::error::HarborError;
use crate::faults::{ConnInfo, Verdict};
use crate::spec::validator::{self, Issue, Severity};
use crate::spec::{Operation, Route, Spec};
use crate::state::{RequestRecord, Shared, Violation};
use crate::token::{self, TokenAnswer};

pub type AppState = Arc<Shared>;

/// Request bodies larger than this are refused (413).
pub const MAX_BODY: usize = 1 << 20;

/// The operations the stand-in answers; the spec's others get 501.
pub const EMULATED: &[&str] = &[
    "ListRobot",
    "CreateRobot",
    "GetRobotByID",
    "UpdateRobot",
    "RefreshSec",
    "DeleteRobot",
    "listProjects",
    "headProject",
    "createProject",
    "getProject",
    "getPing",
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v2.0/{*rest}", any(entry))
        .route("/service/token", get(token_entry))
}

/// Who calls the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// The admin user (basic auth with the configured credentials).
    Admin,
    /// No or wrong credentials (Harbor falls back to anonymous).
    Anonymous,
}

/// One API call, as the emulations see it.
pub struct Call<'a> {
    pub shared: &'a Shared,
    pub op: &'a Operation,
    /// The request path (`/api/v2.0/robots`).
    pub path: &'a str,
    pub query: &'a [(String, String)],
    pub path_params: &'a [(String, String)],
    pub headers: &'a HeaderMap,
    /// The JSON body (`Null` when absent).
    pub body: &'a Value,
    pub who: Who,
}

impl Call<'_> {
    /// A query parameter (the last of that name, as go-swagger takes it).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// An integer query parameter with go-swagger's default.
    pub fn int_param(&self, name: &str, default: i64) -> i64 {
        self.param(name)
            .filter(|v| !v.is_empty())
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }

    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `RequireAuthenticated`: 401 for anonymous callers.
    pub fn require_auth(&self) -> Result<(), HarborError> {
        match self.who {
            Who::Admin => Ok(()),
            Who::Anonymous => Err(HarborError::unauthorized()),
        }
    }
}

/// An emulation's answer.
pub struct Reply {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub body: ReplyBody,
}

pub enum ReplyBody {
    None,
    Json(Value),
    Text(String),
}

impl Reply {
    pub fn json(status: StatusCode, body: Value) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: ReplyBody::Json(body),
        }
    }

    pub fn empty(status: StatusCode) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: ReplyBody::None,
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

impl From<HarborError> for Reply {
    fn from(err: HarborError) -> Self {
        Reply::json(err.status, err.body())
    }
}

/// The request's basic credentials, if any.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

fn who(shared: &Shared, headers: &HeaderMap) -> Who {
    match basic_credentials(headers) {
        Some((user, password))
            if user == shared.settings.admin_user && password == shared.settings.admin_password =>
        {
            Who::Admin
        }
        _ => Who::Anonymous,
    }
}

fn query_pairs(raw: Option<&str>) -> Vec<(String, String)> {
    serde_urlencoded::from_str(raw.unwrap_or("")).unwrap_or_default()
}

fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| {
            let hex = hex::encode(rand::random::<[u8; 16]>());
            format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            )
        })
}

/// Reads a request body of at most [`MAX_BODY`] bytes; `None` when it is
/// larger (the rest is read and dropped, up to 64 MiB, so that the client
/// gets the 413 rather than a reset) or breaks off.
async fn read_body(mut body: axum::body::Body) -> Option<Bytes> {
    use axum::body::HttpBody as _;
    let mut buf = Vec::new();
    let mut drained = 0usize;
    let mut too_large = false;
    while let Some(frame) =
        std::future::poll_fn(|cx| std::pin::Pin::new(&mut body).poll_frame(cx)).await
    {
        let Ok(data) = frame.ok()?.into_data() else {
            continue;
        };
        if too_large || buf.len() + data.len() > MAX_BODY {
            too_large = true;
            drained += data.len();
            if drained > 64 * MAX_BODY {
                break;
            }
            continue;
        }
        buf.extend_from_slice(&data);
    }
    (!too_large).then(|| Bytes::from(buf))
}

/// What the request checks made of a call.
enum Prepared<'s> {
    Ready {
        op: &'s Operation,
        params: Vec<(String, String)>,
        body: Value,
    },
    Refused(&'s Operation, HarborError),
    NoRoute(HarborError),
}

fn prepare<'s>(
    spec: &'s Spec,
    method: &str,
    path: &str,
    pairs: &[(String, String)],
    content_type: Option<&str>,
    bytes: &[u8],
    issues: &mut Vec<Issue>,
) -> Prepared<'s> {
    let (op, params) = match spec.route(method, path) {
        Route::Found { operation, params } => (operation, params),
        Route::MethodNotAllowed(allowed) => {
            return Prepared::NoRoute(HarborError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "METHOD_NOT_ALLOWED",
                format!(
                    "method {method} is not allowed, but [{}] are",
                    allowed.join(",")
                ),
            ))
        }
        Route::NotFound => {
            return Prepared::NoRoute(HarborError::not_found(format!("path {path} was not found")))
        }
    };
    validator::check_path(op, &params, issues);
    validator::check_query(op, pairs, issues);
    let body = validator::check_body(spec, op, content_type, bytes, issues);
    if let Some(media) = body.unsupported_media_type {
        let err = HarborError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UNSUPPORTED_MEDIA_TYPE",
            format!(
                "unsupported media type {media:?}, only {:?} are allowed",
                op.consumes
            ),
        );
        return Prepared::Refused(op, err);
    }
    let refused: Vec<String> = issues
        .iter()
        .filter(|i| i.severity == Severity::Reject)
        .map(Issue::to_string)
        .collect();
    if !refused.is_empty() {
        return Prepared::Refused(op, HarborError::unprocessable(&refused));
    }
    Prepared::Ready {
        op,
        params,
        body: body.value,
    }
}

fn dispatch(call: &Call<'_>) -> Result<Reply, HarborError> {
    match call.op.id.as_str() {
        "ListRobot" => robots::list(call),
        "CreateRobot" => robots::create(call),
        "GetRobotByID" => robots::get(call),
        "UpdateRobot" => robots::update(call),
        "RefreshSec" => robots::refresh_secret(call),
        "DeleteRobot" => robots::delete(call),
        "listProjects" => projects::list(call),
        "headProject" => projects::head(call),
        "createProject" => projects::create(call),
        "getProject" => projects::get(call),
        "getPing" => Ok(Reply {
            status: StatusCode::OK,
            headers: Vec::new(),
            body: ReplyBody::Text("Pong".into()),
        }),
        other => Err(HarborError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NOT_IMPLEMENTED",
            format!("the Harbor stand-in does not emulate {other}"),
        )),
    }
}

/// The body bytes and content type of a reply.
fn encode(reply: &Reply) -> (Option<&'static str>, Bytes) {
    match &reply.body {
        ReplyBody::None => (None, Bytes::new()),
        ReplyBody::Text(text) => (Some("text/plain"), Bytes::from(text.clone())),
        ReplyBody::Json(value) => {
            let content_type = if reply.status.is_success() {
                "application/json"
            } else {
                "application/json; charset=utf-8"
            };
            (Some(content_type), Bytes::from(value.to_string()))
        }
    }
}

fn violation(method: &str, path: &str, op: Option<&Operation>, issue: &Issue) -> Violation {
    let message = if issue.at.is_empty() {
        issue.message.clone()
    } else {
        format!("{}: {}", issue.at, issue.message)
    };
    Violation {
        method: method.to_string(),
        path: path.to_string(),
        operation: op.map(|o| o.id.clone()),
        location: issue.place.clone(),
        message,
        rejected_by_harbor: issue.severity == Severity::Reject,
    }
}

fn record(
    shared: &Shared,
    method: &str,
    path: &str,
    query: Option<&str>,
    status: Option<u16>,
    fault: Option<&str>,
) {
    shared.lock().requests.push(RequestRecord {
        method: method.to_string(),
        path: path.to_string(),
        query: query.map(str::to_string),
        status,
        fault: fault.map(str::to_string),
    });
}

/// The full name a `POST /robots` body asks for (`robot$foo`,
/// `robot$proj+foo` for a project robot).
fn requested_robot_name(shared: &Shared, body: &Value) -> Option<String> {
    let name = body.get("name")?.as_str()?;
    let prefix = &shared.settings.robot_prefix;
    if body.get("level").and_then(Value::as_str) == Some("project") {
        let namespace = body
            .pointer("/permissions/0/namespace")
            .and_then(Value::as_str)
            .unwrap_or("");
        return Some(format!("{prefix}{namespace}+{name}"));
    }
    Some(format!("{prefix}{name}"))
}

impl<'s> Prepared<'s> {
    fn operation(&self) -> Option<&'s Operation> {
        match self {
            Prepared::Ready { op, .. } | Prepared::Refused(op, _) => Some(op),
            Prepared::NoRoute(_) => None,
        }
    }
}

/// Records what the request checks found, and counts `POST /robots`.
fn note_request(
    shared: &Shared,
    method: &str,
    path: &str,
    prepared: &Prepared<'_>,
    issues: &[Issue],
    bytes: &[u8],
) {
    let mut store = shared.lock();
    let op = prepared.operation();
    if let Prepared::NoRoute(err) = prepared {
        store.violations.push(Violation {
            method: method.to_string(),
            path: path.to_string(),
            operation: None,
            location: "operation".into(),
            message: format!("no operation in Harbor's spec: {}", err.message),
            rejected_by_harbor: true,
        });
    }
    for issue in issues {
        store.violations.push(violation(method, path, op, issue));
    }
    if let Some(op) = op.filter(|op| !EMULATED.contains(&op.id.as_str())) {
        store.violations.push(Violation {
            method: method.to_string(),
            path: path.to_string(),
            operation: Some(op.id.clone()),
            location: "operation".into(),
            message: format!(
                "{} is in Harbor's spec but not emulated by the stand-in",
                op.id
            ),
            rejected_by_harbor: false,
        });
    }
    if op.is_some_and(|op| op.id == "CreateRobot") {
        let body: Value = serde_json::from_slice(bytes).unwrap_or(Value::Null);
        if let Some(name) = requested_robot_name(shared, &body) {
            *store.create_calls.entry(name).or_default() += 1;
        }
    }
}

/// What a fault switch answers instead of Harbor (`None`: Harbor answers).
fn fault_reply(verdict: Verdict) -> Option<Reply> {
    match verdict {
        Verdict::Pass | Verdict::Drop => None,
        Verdict::Down => Some(Reply::from(HarborError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "SERVICE_UNAVAILABLE",
            "harbor-standin: Harbor is down (fault switch)",
        ))),
        Verdict::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(Reply::from(HarborError::from_status(
                status,
                "harbor-standin: injected failure (fault switch)",
            )))
        }
    }
}

async fn entry(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let method = parts.method.as_str().to_string();
    let path = parts.uri.path().to_string();
    let raw_query = parts.uri.query().map(str::to_string);
    let headers = parts.headers;
    let request_id = request_id(&headers);
    let log = |status: Option<u16>, fault: Option<&str>| {
        record(&shared, &method, &path, raw_query.as_deref(), status, fault)
    };
    let Some(bytes) = read_body(body).await else {
        let err = HarborError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "REQUEST_ENTITY_TOO_LARGE",
            format!("the request body is larger than {MAX_BODY} bytes"),
        );
        log(Some(413), None);
        return respond(Reply::from(err), &request_id);
    };
    let pairs = query_pairs(raw_query.as_deref());
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let spec = Spec::get();
    let mut issues = Vec::new();
    let prepared = prepare(
        spec,
        &method,
        &path,
        &pairs,
        content_type,
        &bytes,
        &mut issues,
    );
    note_request(&shared, &method, &path, &prepared, &issues, &bytes);

    let (delay, verdict) = shared.lock().faults.api_call();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if verdict == Verdict::Drop {
        conn.kill();
        log(None, verdict.name());
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    let op = prepared.operation();
    let (reply, faulted) = match (fault_reply(verdict), prepared) {
        (Some(reply), _) => (reply, true),
        (None, Prepared::NoRoute(err) | Prepared::Refused(_, err)) => (Reply::from(err), false),
        (None, Prepared::Ready { op, params, body }) => {
            let call = Call {
                shared: &shared,
                op,
                path: &path,
                query: &pairs,
                path_params: &params,
                headers: &headers,
                body: &body,
                who: who(&shared, &headers),
            };
            (dispatch(&call).unwrap_or_else(Reply::from), false)
        }
    };
    let status = reply.status.as_u16();
    let (content_type, body) = encode(&reply);
    // Harbor's own answers must match the spec; the faults' need not.
    if let (Some(op), false) = (op, faulted) {
        let issues = validator::check_response(spec, op, status, content_type, &body);
        let mut store = shared.lock();
        for issue in &issues {
            store
                .violations
                .push(violation(&method, &path, Some(op), issue));
        }
    }
    log(Some(status), if faulted { verdict.name() } else { None });
    finish(reply.status, reply.headers, content_type, body, &request_id)
}

fn respond(reply: Reply, request_id: &str) -> Response {
    let (content_type, body) = encode(&reply);
    finish(reply.status, reply.headers, content_type, body, request_id)
}

fn finish(
    status: StatusCode,
    extra: Vec<(&'static str, String)>,
    content_type: Option<&'static str>,
    body: Bytes,
    request_id: &str,
) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    match content_type {
        Some(ct) => {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        None => {
            headers.remove(header::CONTENT_TYPE);
        }
    }
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert("x-request-id", value);
    }
    for (name, value) in extra {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

async fn token_entry(
    State(shared): State<AppState>,
    ConnectInfo(conn): ConnectInfo<ConnInfo>,
    request: Request,
) -> Response {
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let raw_query = request.uri().query().map(str::to_string);
    let verdict = shared.lock().faults.token_call();
    match verdict {
        Verdict::Drop => {
            conn.kill();
            record(
                &shared,
                &method,
                &path,
                raw_query.as_deref(),
                None,
                verdict.name(),
            );
            return StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        Verdict::Down => {
            record(
                &shared,
                &method,
                &path,
                raw_query.as_deref(),
                Some(503),
                verdict.name(),
            );
            let err = HarborError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "SERVICE_UNAVAILABLE",
                "harbor-standin: Harbor is down (fault switch)",
            );
            return (err.status, axum::Json(err.body())).into_response();
        }
        _ => {}
    }
    let pairs = query_pairs(raw_query.as_deref());
    let credentials = basic_credentials(request.headers());
    let answer = token::answer(
        &shared,
        &pairs,
        credentials.as_ref().map(|(u, p)| (u.as_str(), p.as_str())),
    );
    let response = match answer {
        TokenAnswer::Token(body) => {
            let mut response = (StatusCode::OK, body.to_string()).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json; charset=utf-8"),
            );
            response
        }
        TokenAnswer::BadService(message) => {
            (StatusCode::BAD_REQUEST, html_escape(&message)).into_response()
        }
        TokenAnswer::Unauthorized => StatusCode::UNAUTHORIZED.into_response(),
        TokenAnswer::Failed => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    record(
        &shared,
        &method,
        &path,
        raw_query.as_deref(),
        Some(response.status().as_u16()),
        None,
    );
    response
}

/// `template.HTMLEscapeString`.
fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&#39;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
}
