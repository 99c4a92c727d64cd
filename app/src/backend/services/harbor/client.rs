//! The slice of Harbor's REST API (v2.0, robot v2 since Harbor 2.2) the
//! portal calls, with HTTP basic auth of a Harbor admin: find, list,
//! create, update, refresh the secret of and delete system-level robots.
//! Shapes follow Harbor's published swagger (`Robot`, `RobotCreate`,
//! `RobotCreated`, `RobotSec`, `RobotPermission`, `Access`, `Errors`); the
//! stand-in in `end2end/harbor-standin` checks every request against it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::Duration;

/// The admin password: never printed.
#[derive(Clone)]
pub struct AdminPassword(pub String);

impl std::fmt::Debug for AdminPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminPassword(<redacted>)")
    }
}

#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    /// `https://harbor.example.com/api/v2.0/`
    api: url::Url,
    user: String,
    password: AdminPassword,
}

/// A call that did not work: Harbor's status (if it answered) and its
/// message, or what went wrong on the way. Carries no credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HarborError {
    pub status: Option<u16>,
    pub message: String,
}

impl std::fmt::Display for HarborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "Harbor answered {s}: {}", self.message),
            None => write!(f, "Harbor unreachable: {}", self.message),
        }
    }
}

impl From<reqwest::Error> for HarborError {
    fn from(e: reqwest::Error) -> Self {
        // reqwest's message names the URL, never the basic-auth header.
        Self { status: e.status().map(|s| s.as_u16()), message: e.without_url().to_string() }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Access {
    #[serde(default)]
    pub resource: String,
    #[serde(default)]
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effect: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub access: Vec<Access>,
}

impl Permission {
    /// Pull on every repository of `project`: the only permission the
    /// portal gives.
    pub fn pull(project: &str) -> Self {
        Self {
            kind: "project".into(),
            namespace: project.into(),
            access: vec![Access { resource: "repository".into(), action: "pull".into(), effect: None }],
        }
    }
}

/// A robot as Harbor returns it (and as `PUT` takes it back whole).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Robot {
    #[serde(default)]
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub level: String,
    #[serde(default)]
    pub duration: Option<i64>,
    #[serde(default)]
    pub editable: bool,
    #[serde(default)]
    pub disable: bool,
    #[serde(default)]
    pub expires_at: i64,
    #[serde(default)]
    pub permissions: Vec<Permission>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<DateTime<Utc>>,
}

impl Robot {
    /// Whether its permissions are exactly pull on `projects`: anything
    /// else (another project, push, a wider resource) is drift.
    pub fn grants_exactly(&self, projects: &BTreeSet<String>) -> bool {
        let mut seen = BTreeSet::new();
        for p in &self.permissions {
            let pull_only = p.kind == "project"
                && !p.access.is_empty()
                && p.access.iter().all(|a| a.resource == "repository" && a.action == "pull" && a.effect.as_deref().is_none_or(|e| e == "allow"));
            if !pull_only || !projects.contains(&p.namespace) {
                return false;
            }
            seen.insert(p.namespace.clone());
        }
        &seen == projects
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct RobotCreate<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub secret: &'a str,
    pub level: &'a str,
    pub disable: bool,
    pub duration: i64,
    pub permissions: Vec<Permission>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct RobotCreated {
    pub id: i64,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub creation_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expires_at: Option<i64>,
}

#[derive(Deserialize)]
struct Errors {
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// Largest page Harbor serves.
pub const PAGE_SIZE: u32 = 100;
/// How much of an answer is read (a robot page of 100 is ~60 KB).
const MAX_BODY: usize = 4 << 20;

impl Client {
    /// `base`: Harbor's URL (`https://harbor.example.com`).
    pub fn new(base: &url::Url, user: String, password: AdminPassword, timeout: Duration) -> Result<Self, String> {
        let api = base.join("api/v2.0/").map_err(|e| e.to_string())?;
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self { http, api, user, password })
    }

    fn url(&self, path: &str) -> url::Url {
        self.api.join(path).expect("a fixed relative path")
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).basic_auth(&self.user, Some(&self.password.0)).header("accept", "application/json")
    }

    async fn send(rb: reqwest::RequestBuilder) -> Result<(reqwest::StatusCode, reqwest::header::HeaderMap, Vec<u8>), HarborError> {
        let mut res = rb.send().await?;
        let status = res.status();
        let headers = res.headers().clone();
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(HarborError { status: Some(status.as_u16()), message: "answer too large".into() });
            }
            body.extend_from_slice(&chunk);
        }
        Ok((status, headers, body))
    }

    fn error(status: reqwest::StatusCode, body: &[u8]) -> HarborError {
        let message = serde_json::from_slice::<Errors>(body)
            .ok()
            .and_then(|e| e.errors.into_iter().next())
            .map(|e| format!("{} {}", e.code, e.message))
            .unwrap_or_else(|| String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned());
        HarborError { status: Some(status.as_u16()), message: message.chars().take(300).collect() }
    }

    fn parse<T: for<'de> Deserialize<'de>>(status: reqwest::StatusCode, body: &[u8]) -> Result<T, HarborError> {
        serde_json::from_slice(body)
            .map_err(|e| HarborError { status: Some(status.as_u16()), message: format!("unexpected answer: {e}") })
    }

    /// The system robot called `name` (as stored, without Harbor's prefix),
    /// whose full name is `full_name`, if any. Harbor's `q=name=` matches the
    /// stored name exactly; lists show full names.
    pub async fn find(&self, name: &str, full_name: &str) -> Result<Option<Robot>, HarborError> {
        let q = format!("name={name}");
        let rb = self.request(reqwest::Method::GET, "robots").query(&[("q", q.as_str()), ("page", "1"), ("page_size", "10")]);
        let (status, _, body) = Self::send(rb).await?;
        if !status.is_success() {
            return Err(Self::error(status, &body));
        }
        let robots: Vec<Robot> = Self::parse(status, &body)?;
        Ok(robots.into_iter().find(|r| r.name == full_name))
    }

    /// One page of system robots (from 1) and Harbor's total count.
    pub async fn list(&self, page: u32) -> Result<(Vec<Robot>, Option<u64>), HarborError> {
        let (p, size) = (page.to_string(), PAGE_SIZE.to_string());
        // Without a `Level` term Harbor lists system robots only.
        let rb = self.request(reqwest::Method::GET, "robots").query(&[("page", p.as_str()), ("page_size", size.as_str())]);
        let (status, headers, body) = Self::send(rb).await?;
        if !status.is_success() {
            return Err(Self::error(status, &body));
        }
        let total = headers.get("x-total-count").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
        Ok((Self::parse(status, &body)?, total))
    }

    /// Creates a robot. Harbor (2.2 to now) ignores `secret` and `disable`
    /// here: it makes the robot enabled with a random secret, so the caller
    /// sets both afterwards (`set_secret`, `update`).
    pub async fn create(&self, robot: &RobotCreate<'_>) -> Result<RobotCreated, HarborError> {
        let (status, _, body) = Self::send(self.request(reqwest::Method::POST, "robots").json(robot)).await?;
        if status != reqwest::StatusCode::CREATED {
            return Err(Self::error(status, &body));
        }
        Self::parse(status, &body)
    }

    /// Replaces the robot (`PUT` takes the whole robot).
    pub async fn update(&self, robot: &Robot) -> Result<(), HarborError> {
        let path = format!("robots/{}", robot.id);
        let (status, _, body) = Self::send(self.request(reqwest::Method::PUT, &path).json(robot)).await?;
        if !status.is_success() {
            return Err(Self::error(status, &body));
        }
        Ok(())
    }

    /// Sets the robot's secret to ours.
    pub async fn set_secret(&self, id: i64, secret: &str) -> Result<(), HarborError> {
        let path = format!("robots/{id}");
        let rb = self.request(reqwest::Method::PATCH, &path).json(&serde_json::json!({ "secret": secret }));
        let (status, _, body) = Self::send(rb).await?;
        if !status.is_success() {
            return Err(Self::error(status, &body));
        }
        Ok(())
    }

    /// Deletes the robot; one already gone counts as deleted.
    pub async fn delete(&self, id: i64) -> Result<(), HarborError> {
        let path = format!("robots/{id}");
        let (status, _, body) = Self::send(self.request(reqwest::Method::DELETE, &path)).await?;
        if status.is_success() || status == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        Err(Self::error(status, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_anything_but_exact_pull() {
        let set = |p: &[&str]| p.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        let mut r = Robot { permissions: vec![Permission::pull("acme")], ..Robot::default() };
        assert!(r.grants_exactly(&set(&["acme"])));
        assert!(!r.grants_exactly(&set(&["acme", "tools"])));
        r.permissions.push(Permission::pull("tools"));
        assert!(!r.grants_exactly(&set(&["acme"])), "widened to another project");
        r.permissions.pop();
        r.permissions[0].access.push(Access { resource: "repository".into(), action: "push".into(), effect: None });
        assert!(!r.grants_exactly(&set(&["acme"])), "widened to push");
        assert!(!format!("{:?}", AdminPassword("hunter2".into())).contains("hunter2"));
    }
}
