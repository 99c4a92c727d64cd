//! Requests checked against Harbor's spec: what is recorded, what Harbor
//! refuses, what it lets through.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{robot_create, Harbor};

#[tokio::test]
async fn a_wrong_type_is_recorded_and_refused_422() {
    let harbor = Harbor::start().await;
    let mut body = robot_create("typed", &["library"], 1);
    body["duration"] = json!("30");
    body["permissions"][0]["access"][0]["action"] = json!(7);
    let answer = harbor.post("/robots", body).await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (code, message) = answer.error();
    assert_eq!(code, "UNPROCESSABLE_ENTITY");
    assert!(
        message.starts_with("validation failure list:\n"),
        "{message}"
    );
    assert!(
        message.contains("duration in body must be of type int64, got string"),
        "{message}"
    );
    let violations = harbor.controls().violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert_eq!(violations[0].method, "POST");
    assert_eq!(violations[0].path, "/api/v2.0/robots");
    assert_eq!(violations[0].operation.as_deref(), Some("CreateRobot"));
    assert_eq!(violations[0].location, "body");
    assert_eq!(
        violations[0].message,
        "duration: must be of type int64, got string"
    );
    assert!(violations[0].rejected_by_harbor);
    assert_eq!(
        violations[1].message,
        "permissions.0.access.0.action: must be of type string, got integer"
    );
    assert!(harbor.controls().robots().is_empty());
    assert_eq!(harbor.controls().create_calls("typed"), 1);
}

#[tokio::test]
async fn missing_required_values_are_recorded_and_refused() {
    let harbor = Harbor::start().await;
    // HEAD /projects requires project_name.
    let head = harbor
        .send(
            harbor
                .client
                .request(Method::HEAD, harbor.url("/projects"))
                .basic_auth("admin", Some("Harbor12345")),
        )
        .await;
    assert_eq!(head.status, StatusCode::UNPROCESSABLE_ENTITY);
    // POST /robots requires a body.
    let empty = harbor
        .send(
            harbor
                .client
                .post(harbor.url("/robots"))
                .basic_auth("admin", Some("Harbor12345")),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        empty.error().1,
        "validation failure list:\nrobot in body is required"
    );
    let violations = harbor.controls().violations();
    assert_eq!(violations.len(), 2, "{violations:#?}");
    assert_eq!(violations[0].location, "query");
    assert_eq!(violations[0].message, "project_name: is required");
    assert_eq!(violations[1].location, "body");
    assert_eq!(violations[1].message, "robot: is required");
    assert!(violations.iter().all(|v| v.rejected_by_harbor));
}

#[tokio::test]
async fn unknown_properties_and_parameters_pass_but_are_recorded() {
    let harbor = Harbor::start().await;
    let mut body = robot_create("extra", &["library"], 1);
    body["project_id"] = json!(1);
    body["permissions"][0]["scope"] = json!("/project/1");
    let created = harbor.post("/robots", body).await;
    // Harbor ignores what its model does not define.
    assert_eq!(created.status, StatusCode::CREATED);
    let listed = harbor.get("/robots?limit=5").await;
    assert_eq!(listed.status, StatusCode::OK);
    let violations = harbor.controls().violations();
    let found: Vec<(String, String, bool)> = violations
        .iter()
        .map(|v| (v.location.clone(), v.message.clone(), v.rejected_by_harbor))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "body".into(),
                "permissions.0.scope: is not a property the spec defines".into(),
                false
            ),
            (
                "body".into(),
                "project_id: is not a property the spec defines".into(),
                false
            ),
            (
                "query".into(),
                "limit: is not a parameter of ListRobot (unknown query parameter)".into(),
                false
            ),
        ]
    );
    harbor.controls().clear_violations();
    assert!(harbor.controls().violations().is_empty());
}

#[tokio::test]
async fn bad_media_types_bodies_paths_and_methods() {
    let harbor = Harbor::start().await;
    let admin = |m: Method, path: &str| {
        harbor
            .client
            .request(m, harbor.url(path))
            .basic_auth("admin", Some("Harbor12345"))
    };
    let text = harbor
        .send(
            admin(Method::POST, "/robots")
                .header("content-type", "text/plain")
                .body("{}"),
        )
        .await;
    assert_eq!(text.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let broken = harbor
        .send(
            admin(Method::POST, "/robots")
                .header("content-type", "application/json")
                .body("{"),
        )
        .await;
    assert_eq!(broken.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = harbor.get("/nothing/here").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.error(),
        (
            "NOT_FOUND".into(),
            "path /api/v2.0/nothing/here was not found".into()
        )
    );
    let method = harbor.send(admin(Method::PATCH, "/robots")).await;
    assert_eq!(method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(method.error().0, "METHOD_NOT_ALLOWED");
    let path_type = harbor.get("/robots/abc").await;
    assert_eq!(path_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unemulated = harbor.get("/users").await;
    assert_eq!(unemulated.status, StatusCode::NOT_IMPLEMENTED);
    let huge = harbor
        .send(
            admin(Method::POST, "/robots")
                .header("content-type", "application/json")
                .body(vec![b' '; 2 << 20]),
        )
        .await;
    assert_eq!(huge.status, StatusCode::PAYLOAD_TOO_LARGE);
    let locations: Vec<String> = harbor
        .controls()
        .violations()
        .iter()
        .map(|v| v.location.clone())
        .collect();
    assert_eq!(
        locations,
        vec![
            "content-type",
            "body",
            "operation",
            "operation",
            "path",
            "operation"
        ]
    );
}

#[tokio::test]
async fn ping_answers_pong() {
    let harbor = Harbor::start().await;
    let pong = harbor.send(harbor.client.get(harbor.url("/ping"))).await;
    assert_eq!(pong.status, StatusCode::OK);
    assert_eq!(pong.text, "Pong");
    harbor.assert_no_violations();
}
