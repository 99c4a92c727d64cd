//! Robot accounts v2: round trips, Harbor's rules, lists and paging.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::{robot_create, Harbor};

fn unix(time: &Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(time.as_str().expect("a time"))
        .expect("RFC 3339")
        .timestamp()
}

#[tokio::test]
async fn create_get_put_patch_delete_round_trip() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.project("proj2").await;

    // Create.
    let answer = harbor
        .post("/robots", robot_create("portal-1", &["proj"], 30))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let created = answer.body.clone();
    let id = created["id"].as_i64().expect("id");
    assert_eq!(
        answer.header("location"),
        Some(format!("/api/v2.0/robots/{id}").as_str())
    );
    assert_eq!(created["name"], "robot$portal-1");
    let secret = created["secret"].as_str().expect("secret").to_string();
    assert_eq!(secret.len(), 32);
    let creation = unix(&created["creation_time"]);
    assert_eq!(created["expires_at"].as_i64(), Some(creation + 30 * 86_400));
    assert!(answer.header("x-request-id").is_some());

    // Get: no secret, the permissions by project name.
    let got = harbor.get(&format!("/robots/{id}")).await;
    assert_eq!(got.status, StatusCode::OK);
    let robot = got.body.clone();
    assert_eq!(robot["name"], "robot$portal-1");
    assert_eq!(robot["level"], "system");
    assert_eq!(robot["duration"], 30);
    assert_eq!(robot["disable"], false);
    assert_eq!(robot["editable"], true);
    assert_eq!(robot["description"], "portal-1 for tests");
    assert_eq!(robot["creator_type"], "local");
    assert!(robot.get("secret").is_none());
    assert_eq!(
        robot["permissions"],
        json!([{"kind": "project", "namespace": "proj",
                "access": [{"resource": "repository", "action": "pull"}]}])
    );
    assert!(harbor.controls().check_secret("robot$portal-1", &secret));

    // Put: the whole Robot back, with changes.
    let mut changed = robot.clone();
    changed["disable"] = json!(true);
    changed["duration"] = json!(60);
    changed["description"] = json!("changed");
    changed["permissions"][0]["namespace"] = json!("proj2");
    let put = harbor.put(&format!("/robots/{id}"), changed).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text);
    assert_eq!(put.text, "");
    let robot = harbor.get(&format!("/robots/{id}")).await.body;
    assert_eq!(robot["disable"], true);
    assert_eq!(robot["duration"], 60);
    assert_eq!(robot["description"], "changed");
    assert_eq!(robot["permissions"][0]["namespace"], "proj2");
    // expires_at counts from the creation time, not from the update.
    assert_eq!(robot["expires_at"].as_i64(), Some(creation + 60 * 86_400));
    let snapshot = harbor.controls().robot("robot$portal-1").expect("snapshot");
    assert!(snapshot.disabled);
    assert_eq!(snapshot.projects, vec!["proj2"]);
    assert_eq!(snapshot.pull_projects, vec!["proj2"]);

    // Patch without a secret: a new random one.
    let patched = harbor.patch(&format!("/robots/{id}"), json!({})).await;
    assert_eq!(patched.status, StatusCode::OK);
    let fresh = patched.body["secret"].as_str().expect("secret").to_string();
    assert_ne!(fresh, secret);
    assert!(harbor.controls().check_secret("robot$portal-1", &fresh));
    // Patch with a secret: set, not echoed.
    let patched = harbor
        .patch(&format!("/robots/{id}"), json!({"secret": "Chosen123"}))
        .await;
    assert_eq!(patched.status, StatusCode::OK);
    assert_eq!(patched.body, json!({}));
    assert!(harbor
        .controls()
        .check_secret("robot$portal-1", "Chosen123"));
    // A weak secret is refused.
    for weak in ["short1A", "alllower123", "ALLUPPER123", "NoDigitsHere"] {
        let refused = harbor
            .patch(&format!("/robots/{id}"), json!({"secret": weak}))
            .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{weak}");
        assert_eq!(
            refused.error().1,
            "the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number"
        );
    }

    // Delete.
    let deleted = harbor.delete(&format!("/robots/{id}")).await;
    assert_eq!(deleted.status, StatusCode::OK);
    let gone = harbor.get(&format!("/robots/{id}")).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(
        gone.error(),
        ("NOT_FOUND".into(), format!("robot {id} not found"))
    );
    assert_eq!(
        harbor.delete(&format!("/robots/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        harbor
            .patch(&format!("/robots/{id}"), json!({}))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert!(harbor.controls().robots().is_empty());
    harbor.assert_no_violations();
}

#[tokio::test]
async fn create_ignores_the_secret_and_disable_it_is_given() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    let mut body = robot_create("chosen", &["proj"], -1);
    body["secret"] = json!("Chosen123");
    body["disable"] = json!(true);
    let created = harbor.post("/robots", body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["expires_at"], -1);
    let secret = created.body["secret"].as_str().expect("secret");
    assert_ne!(secret, "Chosen123");
    let controls = harbor.controls();
    assert!(!controls.check_secret("robot$chosen", "Chosen123"));
    assert!(controls.check_secret("robot$chosen", secret));
    let robot = controls.robot("robot$chosen").expect("robot");
    assert!(!robot.disabled);
    assert_eq!(robot.expires_at, -1);
    harbor.assert_no_violations();
}

#[tokio::test]
async fn create_follows_harbors_rules() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    let bad = |body: Value, code: &'static str, message: &'static str| (body, code, message);
    let base = robot_create("ok", &["proj"], 7);
    let with = |key: &str, value: Value| {
        let mut b = base.clone();
        b[key] = value;
        b
    };
    let cases = vec![
        bad(with("name", json!("Upper")), "BAD_REQUEST", "robot name is not in lower case or contains illegal characters"),
        bad(with("name", json!("robot$x")), "BAD_REQUEST", "robot name is not in lower case or contains illegal characters"),
        bad(with("name", json!("")), "BAD_REQUEST", "robot name is not in lower case or contains illegal characters"),
        bad(with("duration", json!(0)), "BAD_REQUEST", "bad request error duration input: 0, duration must be either -1(Never) or a positive integer"),
        bad(with("duration", json!(2_147_483_647_i64)), "BAD_REQUEST", "bad request error duration input: 2147483647, duration must be either -1(Never) or a positive integer"),
        bad(with("level", json!("global")), "BAD_REQUEST", "bad request error level input: global"),
        bad(with("permissions", json!([])), "BAD_REQUEST", "bad request empty permission"),
        bad(with("permissions", json!([{"kind": "project", "namespace": "proj", "access": []}])), "BAD_REQUEST", "bad request empty access"),
        bad(with("permissions", json!([{"kind": "project", "namespace": "proj", "access": [{"resource": "repository", "action": "fly"}]}])), "BAD_REQUEST", "bad request permission: repository:fly"),
        bad(with("permissions", json!([{"kind": "team", "namespace": "proj", "access": [{"resource": "repository", "action": "pull"}]}])), "BAD_REQUEST", "bad request permission level: team"),
        bad(with("permissions", json!([{"kind": "system", "namespace": "proj", "access": [{"resource": "project", "action": "create"}]}])), "BAD_REQUEST", "unknown namespace"),
        bad(with("permissions", json!([{"kind": "project", "namespace": "nope", "access": [{"resource": "repository", "action": "pull"}]}])), "NOT_FOUND", "project nope not found"),
    ];
    for (body, code, message) in cases {
        let answer = harbor.post("/robots", body.clone()).await;
        assert_eq!(
            answer.error(),
            (code.to_string(), message.to_string()),
            "{body}"
        );
        let status = if code == "NOT_FOUND" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(answer.status, status);
    }
    // Without a duration (0 in Harbor's model) it is refused too.
    let mut body = base.clone();
    body.as_object_mut().expect("object").remove("duration");
    assert_eq!(
        harbor.post("/robots", body).await.status,
        StatusCode::BAD_REQUEST
    );
    // A project robot names one project only.
    let mut body = robot_create("two", &["proj", "library"], 7);
    body["level"] = json!("project");
    assert_eq!(
        harbor.post("/robots", body).await.error().1,
        "bad request permission"
    );
    assert!(harbor.controls().robots().is_empty(), "nothing was created");
    harbor.assert_no_violations();
}

#[tokio::test]
async fn a_duplicate_name_is_a_conflict() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.robot("dup", &["proj"], 1).await;
    let again = harbor
        .post("/robots", robot_create("dup", &["proj"], 1))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.error(),
        (
            "CONFLICT".into(),
            "robot account 0:dup already exists".into()
        )
    );
    let controls = harbor.controls();
    assert_eq!(controls.create_calls("robot$dup"), 2);
    assert_eq!(controls.create_calls("dup"), 2);
    assert_eq!(controls.create_calls("other"), 0);
    assert_eq!(controls.robots().len(), 1);
    harbor.assert_no_violations();
}

#[tokio::test]
async fn put_may_not_change_name_level_or_project() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.project("proj2").await;
    let id = harbor.robot("keep", &["proj"], 10).await["id"]
        .as_i64()
        .expect("id");
    let path = format!("/robots/{id}");
    let robot = harbor.get(&path).await.body;

    let mut renamed = robot.clone();
    renamed["name"] = json!("robot$other");
    let answer = harbor.put(&path, renamed).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert_eq!(answer.error().1, "cannot update the level or name of robot");
    // The name without the prefix is a different name.
    let mut short = robot.clone();
    short["name"] = json!("keep");
    assert_eq!(
        harbor.put(&path, short).await.error().1,
        "cannot update the level or name of robot"
    );
    let mut relevelled = robot.clone();
    relevelled["level"] = json!("project");
    assert_eq!(
        harbor.put(&path, relevelled).await.status,
        StatusCode::BAD_REQUEST
    );
    let mut no_level = robot.clone();
    no_level.as_object_mut().expect("object").remove("level");
    assert_eq!(
        harbor.put(&path, no_level).await.error().1,
        "bad request error level input: "
    );

    // Omitted (or null) duration keeps it; omitted disable means enabled;
    // omitted description clears it.
    harbor
        .controls()
        .set_disabled("robot$keep", true)
        .expect("disable");
    let minimal = json!({
        "name": "robot$keep", "level": "system", "duration": null,
        "permissions": robot["permissions"],
    });
    assert_eq!(harbor.put(&path, minimal).await.status, StatusCode::OK);
    let after = harbor.get(&path).await.body;
    assert_eq!(after["duration"], 10);
    assert_eq!(after["expires_at"], robot["expires_at"]);
    assert_eq!(after["disable"], false);
    assert!(after.get("description").is_none());
    // Never expires.
    let mut forever = after.clone();
    forever["duration"] = json!(-1);
    assert_eq!(harbor.put(&path, forever).await.status, StatusCode::OK);
    assert_eq!(harbor.get(&path).await.body["expires_at"], -1);
    // Empty permissions are refused.
    let mut empty = after.clone();
    empty["permissions"] = json!([]);
    assert_eq!(
        harbor.put(&path, empty).await.error().1,
        "bad request empty permission"
    );
    assert_eq!(
        harbor.put("/robots/999", after).await.status,
        StatusCode::NOT_FOUND
    );

    // A project robot stays in its project.
    let mut body = robot_create("ci", &["proj"], 5);
    body["level"] = json!("project");
    let created = harbor.post("/robots", body).await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.body["name"], "robot$proj+ci");
    let path = format!("/robots/{}", created.body["id"]);
    let mut moved = harbor.get(&path).await.body;
    assert_eq!(moved["level"], "project");
    moved["permissions"][0]["namespace"] = json!("proj2");
    let answer = harbor.put(&path, moved).await;
    assert_eq!(answer.error().1, "cannot update the project id of robot");
    harbor.assert_no_violations();
}

#[tokio::test]
async fn lists_filter_by_name_and_level() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.robot("portal-a", &["proj"], 1).await;
    harbor.robot("portal-b", &["proj"], 1).await;
    let mut body = robot_create("ci", &["proj"], 5);
    body["level"] = json!("project");
    assert_eq!(
        harbor.post("/robots", body).await.status,
        StatusCode::CREATED
    );

    // The default lists system robots, by name.
    let all = harbor.get("/robots").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_eq!(all.header("x-total-count"), Some("2"));
    let names: Vec<&str> = all
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|r| r["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, vec!["robot$portal-a", "robot$portal-b"]);
    assert_eq!(all.header("link"), None);

    // Exact match on the name as stored, without the prefix.
    let exact = harbor.get("/robots?q=name%3Dportal-a").await;
    assert_eq!(exact.body.as_array().map(Vec::len), Some(1));
    assert_eq!(exact.body[0]["name"], "robot$portal-a");
    let with_prefix = harbor.get("/robots?q=name%3Drobot%24portal-a").await;
    assert_eq!(with_prefix.body, json!([]));
    assert_eq!(with_prefix.header("x-total-count"), Some("0"));
    // Fuzzy.
    let fuzzy = harbor.get("/robots?q=name%3D~PORTAL").await;
    assert_eq!(fuzzy.body.as_array().map(Vec::len), Some(2));
    let sorted = harbor.get("/robots?sort=-name").await;
    assert_eq!(sorted.body[0]["name"], "robot$portal-b");

    // Project robots need Level=project and the project's id.
    let proj_id = harbor
        .controls()
        .projects()
        .into_iter()
        .find(|p| p.name == "proj")
        .expect("proj")
        .id;
    let project = harbor
        .get(&format!(
            "/robots?q=Level%3Dproject%2CProjectID%3D{proj_id}"
        ))
        .await;
    assert_eq!(project.body.as_array().map(Vec::len), Some(1));
    assert_eq!(project.body[0]["name"], "robot$proj+ci");
    assert_eq!(project.body[0]["permissions"][0]["namespace"], "proj");
    for (q, message) in [
        (
            "Level%3Dproject",
            "must with project ID when to query project robots",
        ),
        (
            "Level%3Dproject%2CProjectID%3Dx",
            "ProjectID must be a positive integer",
        ),
        ("Level%3D~sys", "bad request error level input"),
        (
            "name",
            r#"the query string must contain "=" and the key/value cannot be empty"#,
        ),
        ("name%3D~", "invalid query string value: ~"),
    ] {
        let answer = harbor.get(&format!("/robots?q={q}")).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(
            answer.error(),
            ("BAD_REQUEST".into(), message.into()),
            "{q}"
        );
    }
    harbor.assert_no_violations();
}

#[tokio::test]
async fn lists_page_with_link_and_total() {
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    for i in 0..25 {
        harbor.robot(&format!("bot-{i:02}"), &["proj"], 1).await;
    }
    let first = harbor.get("/robots?page=1&page_size=10").await;
    assert_eq!(first.body.as_array().map(Vec::len), Some(10));
    assert_eq!(first.header("x-total-count"), Some("25"));
    assert_eq!(first.body[0]["name"], "robot$bot-00");
    assert_eq!(
        first.header("link"),
        Some("</api/v2.0/robots?page=2&page_size=10>; rel=\"next\"")
    );
    let second = harbor
        .get("/robots?page=2&page_size=10&q=name%3D~bot")
        .await;
    assert_eq!(second.body[0]["name"], "robot$bot-10");
    assert_eq!(
        second.header("link"),
        Some(
            "</api/v2.0/robots?page=1&page_size=10&q=name=~bot>; rel=\"prev\" , \
             </api/v2.0/robots?page=3&page_size=10&q=name=~bot>; rel=\"next\""
        )
    );
    let third = harbor.get("/robots?page=3").await;
    assert_eq!(third.body.as_array().map(Vec::len), Some(5));
    assert_eq!(
        third.header("link"),
        Some("</api/v2.0/robots?page=2&page_size=10>; rel=\"prev\"")
    );
    let beyond = harbor.get("/robots?page=4").await;
    assert_eq!(beyond.body, json!([]));
    assert_eq!(beyond.header("x-total-count"), Some("25"));
    let big = harbor.get("/robots?page_size=100").await;
    assert_eq!(big.body.as_array().map(Vec::len), Some(25));
    assert_eq!(big.header("link"), None);
    harbor.assert_no_violations();

    // Above the spec's maximum: go-swagger refuses it.
    let too_big = harbor.get("/robots?page_size=101").await;
    assert_eq!(too_big.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        too_big.error(),
        (
            "UNPROCESSABLE_ENTITY".into(),
            "validation failure list:\npage_size in query should be less than or equal to 100"
                .into()
        )
    );
    let violations = harbor.controls().violations();
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].location, "query");
    assert!(violations[0].rejected_by_harbor);
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_401() {
    let harbor = Harbor::start().await;
    let none = harbor.send(harbor.client.get(harbor.url("/robots"))).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(none.error(), ("UNAUTHORIZED".into(), "unauthorized".into()));
    assert_eq!(none.header("www-authenticate"), None);
    let wrong = harbor
        .send(
            harbor
                .client
                .get(harbor.url("/robots/1"))
                .basic_auth("admin", Some("nope")),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let create = harbor
        .send(
            harbor
                .client
                .post(harbor.url("/robots"))
                .json(&robot_create("x", &["library"], 1)),
        )
        .await;
    assert_eq!(create.status, StatusCode::UNAUTHORIZED);
    // Harbor validates the name before it checks who is asking.
    let bad_name = harbor
        .send(
            harbor
                .client
                .post(harbor.url("/robots"))
                .json(&robot_create("X", &["library"], 1)),
        )
        .await;
    assert_eq!(bad_name.status, StatusCode::BAD_REQUEST);
    assert!(harbor.controls().robots().is_empty());
    harbor.assert_no_violations();
}
