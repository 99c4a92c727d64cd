//! Fault switches, as Rust calls and as `/test/` routes, and the request log.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::Harbor;

#[tokio::test]
async fn fail_answers_the_next_calls_with_a_status() {
    let harbor = Harbor::start().await;
    let controls = harbor.controls();
    controls.fail(500, Some(2));
    for _ in 0..2 {
        let failed = harbor.get("/robots").await;
        assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            failed.error(),
            ("UNKNOWN".into(), "internal server error".into())
        );
    }
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);

    controls.fail(409, None);
    for _ in 0..3 {
        let failed = harbor.get("/projects").await;
        assert_eq!(failed.status, StatusCode::CONFLICT);
        assert_eq!(failed.error().0, "CONFLICT");
    }
    controls.fail_off();
    assert_eq!(harbor.get("/projects").await.status, StatusCode::OK);

    let log = controls.requests();
    let seen: Vec<(Option<u16>, Option<&str>)> =
        log.iter().map(|r| (r.status, r.fault.as_deref())).collect();
    assert_eq!(
        seen,
        vec![
            (Some(500), Some("fail")),
            (Some(500), Some("fail")),
            (Some(200), None),
            (Some(409), Some("fail")),
            (Some(409), Some("fail")),
            (Some(409), Some("fail")),
            (Some(200), None),
        ]
    );
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/api/v2.0/robots");
    harbor.assert_no_violations();
}

#[tokio::test]
async fn slow_delays_every_answer() {
    let harbor = Harbor::start().await;
    harbor.controls().slow(300);
    let started = Instant::now();
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    harbor.controls().slow(0);
    let started = Instant::now();
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn drop_connections_closes_without_an_answer() {
    let harbor = Harbor::start().await;
    // A pooled keep-alive connection first, then the switch.
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    harbor.controls().drop_connections(true);
    for _ in 0..2 {
        let result = harbor
            .client
            .get(harbor.url("/robots"))
            .basic_auth("admin", Some("Harbor12345"))
            .send()
            .await;
        assert!(result.is_err(), "dropped: {result:?}");
    }
    let token = harbor
        .client
        .get(harbor.standin.token_realm())
        .query(&[
            ("service", "harbor-registry"),
            ("scope", "repository:library/a:pull"),
        ])
        .send()
        .await;
    assert!(token.is_err(), "the token service is dropped too");
    // The controls still answer, over HTTP too.
    let faults: Value = harbor
        .client
        .post(format!("{}test/faults", harbor.standin.base_url))
        .json(&json!({"drop_connections": false}))
        .send()
        .await
        .expect("controls")
        .json()
        .await
        .expect("json");
    assert_eq!(faults["drop_connections"], false);
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    let log = harbor.controls().requests();
    let dropped: Vec<&str> = log
        .iter()
        .filter(|r| r.status.is_none())
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(
        dropped,
        vec!["/api/v2.0/robots", "/api/v2.0/robots", "/service/token"]
    );
    assert!(log
        .iter()
        .filter(|r| r.status.is_none())
        .all(|r| r.fault.as_deref() == Some("drop")));
}

#[tokio::test]
async fn down_answers_503() {
    let harbor = Harbor::start().await;
    harbor.controls().down(true);
    let api = harbor.get("/robots").await;
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(api.error().0, "SERVICE_UNAVAILABLE");
    let token = harbor
        .send(
            harbor
                .client
                .get(harbor.standin.token_realm())
                .query(&[("service", "harbor-registry")]),
        )
        .await;
    assert_eq!(token.status, StatusCode::SERVICE_UNAVAILABLE);
    harbor.controls().reset_faults();
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
}

#[tokio::test]
async fn the_http_controls_set_and_reset_the_switches() {
    let harbor = Harbor::start().await;
    let base = &harbor.standin.base_url;
    let set = |body: Value| {
        let client = harbor.client.clone();
        let url = format!("{base}test/faults");
        async move {
            let response = client.post(url).json(&body).send().await.expect("controls");
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.expect("json")
        }
    };
    let faults = set(json!({"fail": {"status": 502, "times": 1}, "slow_ms": 1})).await;
    assert_eq!(faults["fail_status"], 502);
    assert_eq!(faults["fail_remaining"], 1);
    assert_eq!(harbor.get("/robots").await.status, StatusCode::BAD_GATEWAY);
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    set(json!({"fail": {"status": 404}})).await;
    assert_eq!(harbor.get("/robots").await.status, StatusCode::NOT_FOUND);
    let faults = set(json!({"fail": null})).await;
    assert_eq!(faults["fail_status"], Value::Null);
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    set(json!({"down": true})).await;
    let reset: Value = harbor
        .client
        .post(format!("{base}test/faults/reset"))
        .send()
        .await
        .expect("reset")
        .json()
        .await
        .expect("json");
    assert_eq!(reset["down"], false);
    assert_eq!(harbor.get("/robots").await.status, StatusCode::OK);
    let bad = harbor
        .client
        .post(format!("{base}test/faults"))
        .body("not json")
        .send()
        .await
        .expect("controls");
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_http_controls_act_as_a_harbor_admin() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.project("other").await;
    harbor.robot("ui", &["proj"], 1).await;
    let base = &harbor.standin.base_url;
    let client = &harbor.client;
    let robot: Value = client
        .get(format!("{base}test/robots/robot$ui"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(robot["name"], "robot$ui");
    assert_eq!(robot["projects"], json!(["proj"]));
    let robot: Value = client
        .put(format!("{base}test/robots/robot%24ui/permissions"))
        .json(&json!({"projects": ["other", "proj"]}))
        .send()
        .await
        .expect("put")
        .json()
        .await
        .expect("json");
    assert_eq!(robot["pull_projects"], json!(["other", "proj"]));
    let robot: Value = client
        .post(format!("{base}test/robots/robot$ui/disabled"))
        .json(&json!({"disabled": true}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(robot["disabled"], true);
    let created = client
        .post(format!("{base}test/projects"))
        .json(&json!({"name": "pub", "public": true}))
        .send()
        .await
        .expect("post");
    assert_eq!(created.status(), StatusCode::OK);
    let calls: Value = client
        .get(format!("{base}test/create_calls?name=ui"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(calls["count"], 1);
    let deleted = client
        .delete(format!("{base}test/robots/robot$ui"))
        .send()
        .await
        .expect("delete");
    assert_eq!(deleted.status(), StatusCode::OK);
    let missing = client
        .get(format!("{base}test/robots/robot$ui"))
        .send()
        .await
        .expect("get");
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    let pem = client
        .get(format!("{base}test/token/certificate"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert_eq!(pem, harbor.standin.token_certificate_pem());
    let requests: Value = client
        .get(format!("{base}test/requests"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    // The /test/ calls are not logged: three API calls only.
    assert_eq!(requests.as_array().map(Vec::len), Some(3));
    let violations: Value = client
        .get(format!("{base}test/violations"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(violations, json!([]));
    assert!(harbor.controls().robots().is_empty());
}

#[tokio::test]
async fn the_rust_controls_act_as_a_harbor_admin() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.robot("ctl", &["proj"], 3).await;
    let controls = harbor.controls();
    assert!(controls.set_permissions("robot$ctl", &["nope"]).is_err());
    assert!(controls.set_disabled("robot$missing", true).is_err());
    controls
        .set_permissions("robot$ctl", &["*"])
        .expect("all projects");
    let robot = harbor
        .get(&format!(
            "/robots/{}",
            controls.robot("robot$ctl").expect("robot").id
        ))
        .await;
    assert_eq!(robot.body["permissions"][0]["namespace"], "*");
    controls.set_expires_at("robot$ctl", 5).expect("expire");
    assert_eq!(controls.robot("robot$ctl").expect("robot").expires_at, 5);
    assert_eq!(controls.robots().len(), 1);
    assert!(controls.delete_robot_by_name("robot$ctl"));
    assert!(!controls.delete_robot_by_name("robot$ctl"));
    assert!(controls.robot("robot$ctl").is_none());
    harbor.assert_no_violations();
}
