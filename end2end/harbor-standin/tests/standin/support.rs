//! The harness: a stand-in, an admin client and helpers.

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use harbor_standin::{Config, Controls, StandIn};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "Harbor12345";

pub struct Harbor {
    pub standin: StandIn,
    pub client: reqwest::Client,
}

/// One answer: status, headers, body (JSON, or `Null` when empty or not JSON).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first error's (code, message).
    pub fn error(&self) -> (String, String) {
        let e = &self.body["errors"][0];
        (
            e["code"].as_str().unwrap_or("").to_string(),
            e["message"].as_str().unwrap_or("").to_string(),
        )
    }
}

impl Harbor {
    pub async fn start() -> Self {
        let standin = harbor_standin::spawn(Config::default())
            .await
            .expect("spawn the stand-in");
        Self {
            standin,
            client: reqwest::Client::new(),
        }
    }

    pub fn controls(&self) -> Controls {
        self.standin.controls()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.standin.api_url(), path)
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.expect("body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            text,
            body,
        }
    }

    /// An API call as the admin; `body` as JSON when given.
    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut request = self
            .client
            .request(method, self.url(path))
            .basic_auth(ADMIN, Some(PASSWORD));
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, None).await
    }

    /// Creates a project through the API.
    pub async fn project(&self, name: &str) {
        let answer = self
            .post(
                "/projects",
                json!({"project_name": name, "metadata": {"public": "false"}}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }

    /// Creates a system robot with pull on `projects`; answers `RobotCreated`.
    pub async fn robot(&self, name: &str, projects: &[&str], duration: i64) -> Value {
        let answer = self
            .post("/robots", robot_create(name, projects, duration))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body
    }

    /// Fails the test if any violation of the spec was recorded.
    pub fn assert_no_violations(&self) {
        let violations = self.controls().violations();
        assert!(violations.is_empty(), "violations: {violations:#?}");
    }
}

/// A `RobotCreate` for a system robot with `repository:pull` on each project.
pub fn robot_create(name: &str, projects: &[&str], duration: i64) -> Value {
    json!({
        "name": name,
        "description": format!("{name} for tests"),
        "level": "system",
        "duration": duration,
        "permissions": projects.iter().map(|p| json!({
            "kind": "project",
            "namespace": p,
            "access": [{"resource": "repository", "action": "pull"}],
        })).collect::<Vec<_>>(),
    })
}
