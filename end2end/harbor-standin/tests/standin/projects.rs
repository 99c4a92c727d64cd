//! Projects: create, head, list, get.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::Harbor;

#[tokio::test]
async fn create_head_list_and_get_projects() {
    let harbor = Harbor::start().await;
    // Harbor ships with the public project `library`.
    let listed = harbor.get("/projects").await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.header("x-total-count"), Some("1"));
    assert_eq!(listed.body[0]["name"], "library");
    assert_eq!(listed.body[0]["metadata"]["public"], "true");

    let created = harbor
        .post(
            "/projects",
            json!({"project_name": "proj", "metadata": {"public": "false"}}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(created.text, "");
    assert_eq!(created.header("location"), Some("/api/v2.0/projects/2"));
    let by_name = harbor
        .send(
            harbor
                .client
                .post(harbor.url("/projects"))
                .basic_auth("admin", Some("Harbor12345"))
                .header("X-Resource-Name-In-Location", "true")
                .json(&json!({"project_name": "project-two", "public": true})),
        )
        .await;
    assert_eq!(by_name.status, StatusCode::CREATED);
    assert_eq!(
        by_name.header("location"),
        Some("/api/v2.0/projects/project-two")
    );

    let again = harbor
        .post("/projects", json!({"project_name": "proj"}))
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(
        again.error(),
        (
            "CONFLICT".into(),
            "The project named proj already exists".into()
        )
    );
    let bad = harbor
        .post("/projects", json!({"project_name": "Proj"}))
        .await;
    assert_eq!(
        bad.error(),
        (
            "BAD_REQUEST".into(),
            "project name is not in lower case or contains illegal characters".into()
        )
    );
    let bad = harbor
        .post(
            "/projects",
            json!({"project_name": "p", "metadata": {"public": "yes"}}),
        )
        .await;
    assert_eq!(
        bad.error().1,
        "metadata.public should only be 'true' or 'false', but got: 'yes'"
    );

    // HEAD ?project_name=
    let head = |name: &str| {
        harbor
            .client
            .request(
                Method::HEAD,
                harbor.url(&format!("/projects?project_name={name}")),
            )
            .basic_auth("admin", Some("Harbor12345"))
    };
    assert_eq!(harbor.send(head("proj")).await.status, StatusCode::OK);
    assert_eq!(
        harbor.send(head("nope")).await.status,
        StatusCode::NOT_FOUND
    );
    let anonymous = harbor
        .client
        .request(Method::HEAD, harbor.url("/projects?project_name=proj"));
    assert_eq!(
        harbor.send(anonymous).await.status,
        StatusCode::UNAUTHORIZED
    );

    // ?name= is a fuzzy match, as in Harbor; q=name= is exact.
    let fuzzy = harbor.get("/projects?name=proj").await;
    let names: Vec<&str> = fuzzy
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, vec!["proj", "project-two"]);
    let exact = harbor.get("/projects?q=name%3Dproj").await;
    assert_eq!(exact.body.as_array().map(Vec::len), Some(1));
    assert_eq!(exact.body[0]["project_id"], 2);
    assert_eq!(exact.body[0]["owner_name"], "admin");
    let none = harbor.get("/projects?name=zzz").await;
    assert_eq!(none.body, json!([]));
    assert_eq!(none.header("x-total-count"), Some("0"));
    let paged = harbor.get("/projects?page=1&page_size=2").await;
    assert_eq!(paged.header("x-total-count"), Some("3"));
    assert_eq!(
        paged.header("link"),
        Some("</api/v2.0/projects?page=2&page_size=2>; rel=\"next\"")
    );

    // Anonymous callers see public projects only.
    let public = harbor
        .send(harbor.client.get(harbor.url("/projects")))
        .await;
    let names: Vec<&str> = public
        .body
        .as_array()
        .expect("list")
        .iter()
        .map(|p| p["name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(names, vec!["library", "project-two"]);

    // GET by id or name.
    let got = harbor.get("/projects/2").await;
    assert_eq!(got.body["name"], "proj");
    let got = harbor.get("/projects/proj").await;
    assert_eq!(got.body["project_id"], 2);
    assert_eq!(
        harbor.get("/projects/nope").await.status,
        StatusCode::NOT_FOUND
    );
    let controls = harbor.controls();
    assert_eq!(controls.projects().len(), 3);
    assert!(controls
        .projects()
        .iter()
        .any(|p| p.name == "project-two" && p.public));
    harbor.assert_no_violations();
}

#[tokio::test]
async fn projects_from_the_controls_are_seen_by_the_api() {
    let harbor = Harbor::start().await;
    let controls = harbor.controls();
    let id = controls.create_project("made-in-ui").expect("create");
    assert!(controls.create_project("made-in-ui").is_err());
    assert!(controls.create_project("Bad Name").is_err());
    let got = harbor.get(&format!("/projects/{id}")).await;
    assert_eq!(got.body["name"], "made-in-ui");
    assert_eq!(got.body["metadata"]["public"], "false");
    harbor.assert_no_violations();
}
