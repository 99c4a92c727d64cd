//! Test controls: the fault switches, what the stand-in saw (requests,
//! `POST /robots` per name, spec violations), and what a Harbor admin does
//! in Harbor's UI behind the portal's back (delete or disable a robot,
//! change its projects, create a project) — as Rust calls ([`Controls`]) and
//! as JSON routes under `/test/` (no auth, loopback peers only).

mod routes;

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use routes::router;

use crate::api::robots::render_permissions;
use crate::faults::Faults;
use crate::state::{
    now, Access, Permission, RequestRecord, Robot, Scope, Shared, Violation, ADMIN_USER_ID,
};

/// A handle on a running stand-in's state (cheap to clone).
#[derive(Clone)]
pub struct Controls {
    pub(crate) shared: Arc<Shared>,
}

/// A control that could not be done (HTTP: this status, Harbor's error shape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    pub status: u16,
    pub message: String,
}

impl ControlError {
    fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: 404,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: 400,
            message: message.into(),
        }
    }
}

impl fmt::Display for ControlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status, self.message)
    }
}

impl std::error::Error for ControlError {}

/// One access of a permission.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessSnapshot {
    pub resource: String,
    pub action: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub effect: String,
}

/// One permission as Harbor lists it (`kind`, `namespace`, `access`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PermissionSnapshot {
    pub kind: String,
    pub namespace: String,
    pub access: Vec<AccessSnapshot>,
}

/// A robot as a Harbor admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RobotSnapshot {
    pub id: i64,
    /// The full name, prefix included (`robot$foo`, `robot$proj+foo`).
    pub name: String,
    /// `system` or `project`.
    pub level: String,
    pub description: String,
    pub disabled: bool,
    /// Days; -1: never expires.
    pub duration: i64,
    /// Unix seconds; -1: never.
    pub expires_at: i64,
    /// The namespaces of its project permissions (`*`: every project).
    pub projects: Vec<String>,
    /// The namespaces it may pull from (`repository:pull`, or push for a
    /// project robot, or `*`).
    pub pull_projects: Vec<String>,
    pub permissions: Vec<PermissionSnapshot>,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

/// A project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProjectSnapshot {
    pub id: i64,
    pub name: String,
    pub public: bool,
}

fn snapshot(shared: &Shared, store: &crate::state::Store, robot: &Robot) -> RobotSnapshot {
    let permissions: Vec<PermissionSnapshot> = render_permissions(store, robot)
        .into_iter()
        .map(|p| PermissionSnapshot {
            kind: p["kind"].as_str().unwrap_or("").to_string(),
            namespace: p["namespace"].as_str().unwrap_or("").to_string(),
            access: p["access"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|a| AccessSnapshot {
                            resource: a["resource"].as_str().unwrap_or("").to_string(),
                            action: a["action"].as_str().unwrap_or("").to_string(),
                            effect: a["effect"].as_str().unwrap_or("").to_string(),
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect();
    let project_robot = robot.level() == "project";
    let projects = permissions
        .iter()
        .filter(|p| p.kind == "project")
        .map(|p| p.namespace.clone())
        .collect();
    let pull_projects = permissions
        .iter()
        .filter(|p| p.kind == "project")
        .filter(|p| {
            p.access.iter().any(|a| {
                (a.resource == "repository" || a.resource == "*")
                    && a.effect != "deny"
                    && (a.action == "pull"
                        || a.action == "*"
                        || (project_robot && a.action == "push"))
            })
        })
        .map(|p| p.namespace.clone())
        .collect();
    RobotSnapshot {
        id: robot.id,
        name: shared.full_name(robot),
        level: robot.level().to_string(),
        description: robot.description.clone(),
        disabled: robot.disabled,
        duration: robot.duration,
        expires_at: robot.expires_at,
        projects,
        pull_projects,
        permissions,
        creation_time: robot.creation_time,
        update_time: robot.update_time,
    }
}

impl Controls {
    // ----- fault switches -------------------------------------------------

    /// API calls answer `status` with a Harbor error body: the next `times`
    /// calls, or every call (`None`) until [`Controls::fail_off`].
    pub fn fail(&self, status: u16, times: Option<u32>) {
        let mut store = self.shared.lock();
        store.faults.fail_status = Some(status);
        store.faults.fail_remaining = times;
    }

    /// Stops [`Controls::fail`].
    pub fn fail_off(&self) {
        let mut store = self.shared.lock();
        store.faults.fail_status = None;
        store.faults.fail_remaining = None;
    }

    /// Delays every API answer by `ms` milliseconds (0: no delay).
    pub fn slow(&self, ms: u64) {
        self.shared.lock().faults.slow_ms = ms;
    }

    /// While on, every API and token request's connection is closed
    /// (reset) without an answer.
    pub fn drop_connections(&self, on: bool) {
        self.shared.lock().faults.drop_connections = on;
    }

    /// While on, Harbor is down: every API and token request is answered
    /// 503 (the `/test/` controls keep working).
    pub fn down(&self, on: bool) {
        self.shared.lock().faults.down = on;
    }

    /// Every switch off.
    pub fn reset_faults(&self) {
        self.shared.lock().faults = Faults::default();
    }

    /// The switches as they are.
    pub fn faults(&self) -> Faults {
        self.shared.lock().faults.clone()
    }

    /// Sets every switch at once.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.lock().faults = faults;
    }

    // ----- what the stand-in saw ------------------------------------------

    /// Every API and token request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().requests.clone()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().requests.clear();
    }

    /// How many `POST /robots` asked for this robot (full name, or the
    /// name without the prefix), whatever was answered.
    pub fn create_calls(&self, name: &str) -> usize {
        let full = if name.starts_with(self.shared.settings.robot_prefix.as_str()) {
            name.to_string()
        } else {
            format!("{}{name}", self.shared.settings.robot_prefix)
        };
        self.shared
            .lock()
            .create_calls
            .get(&full)
            .copied()
            .unwrap_or(0)
    }

    /// Every difference from Harbor's spec found so far, in requests
    /// received and responses sent.
    pub fn violations(&self) -> Vec<Violation> {
        self.shared.lock().violations.clone()
    }

    pub fn clear_violations(&self) {
        self.shared.lock().violations.clear();
    }

    // ----- a Harbor admin in Harbor's UI ------------------------------------

    /// Every robot, by id.
    pub fn robots(&self) -> Vec<RobotSnapshot> {
        let store = self.shared.lock();
        store
            .robots
            .values()
            .map(|r| snapshot(&self.shared, &store, r))
            .collect()
    }

    /// The robot with this full name (`robot$foo`).
    pub fn robot(&self, full_name: &str) -> Option<RobotSnapshot> {
        let stored = self.shared.stored_name(full_name)?;
        let store = self.shared.lock();
        let robot = store.robot_by_stored_name(stored)?;
        Some(snapshot(&self.shared, &store, robot))
    }

    fn with_robot<T>(
        &self,
        full_name: &str,
        f: impl FnOnce(&mut crate::state::Store, i64) -> Result<T, ControlError>,
    ) -> Result<T, ControlError> {
        let missing = || ControlError::not_found(format!("no robot named {full_name}"));
        let stored = self.shared.stored_name(full_name).ok_or_else(missing)?;
        let mut store = self.shared.lock();
        let id = store.robot_by_stored_name(stored).ok_or_else(missing)?.id;
        f(&mut store, id)
    }

    /// Deletes the robot; false when there is none of that name.
    pub fn delete_robot_by_name(&self, full_name: &str) -> bool {
        self.with_robot(full_name, |store, id| {
            store.robots.remove(&id);
            Ok(())
        })
        .is_ok()
    }

    /// Disables or enables the robot.
    pub fn set_disabled(&self, full_name: &str, disabled: bool) -> Result<(), ControlError> {
        self.with_robot(full_name, |store, id| {
            if let Some(robot) = store.robots.get_mut(&id) {
                robot.disabled = disabled;
                robot.update_time = now();
            }
            Ok(())
        })
    }

    /// Replaces the robot's permissions with `repository:pull` on each of
    /// these projects (`*`: every project). The projects must exist; a
    /// project robot can only name its own project. An empty list removes
    /// every permission (Harbor's API would refuse that; its database can
    /// get there when projects are deleted).
    pub fn set_permissions(&self, full_name: &str, projects: &[&str]) -> Result<(), ControlError> {
        self.with_robot(full_name, |store, id| {
            let mut permissions = Vec::new();
            for name in projects {
                let scope = if *name == "*" {
                    Scope::AllProjects
                } else {
                    let project = store.project_by_name(name).ok_or_else(|| {
                        ControlError::bad_request(format!("project {name} not found"))
                    })?;
                    Scope::Project(project.id)
                };
                permissions.push(Permission {
                    scope,
                    access: vec![Access {
                        resource: "repository".into(),
                        action: "pull".into(),
                        effect: String::new(),
                    }],
                });
            }
            let robot = store
                .robots
                .get_mut(&id)
                .ok_or_else(|| ControlError::not_found("robot vanished"))?;
            if robot.project_id != 0
                && permissions
                    .iter()
                    .any(|p| p.scope != Scope::Project(robot.project_id))
            {
                return Err(ControlError::bad_request(
                    "a project robot's permissions name its own project only",
                ));
            }
            robot.permissions = permissions;
            robot.update_time = now();
            Ok(())
        })
    }

    /// Sets `expires_at` (Unix seconds, -1: never), e.g. to the past to
    /// make the robot expired.
    pub fn set_expires_at(&self, full_name: &str, expires_at: i64) -> Result<(), ControlError> {
        self.with_robot(full_name, |store, id| {
            if let Some(robot) = store.robots.get_mut(&id) {
                robot.expires_at = expires_at;
            }
            Ok(())
        })
    }

    /// Whether `secret` is the robot's secret.
    pub fn check_secret(&self, full_name: &str, secret: &str) -> bool {
        let Some(stored) = self.shared.stored_name(full_name) else {
            return false;
        };
        self.shared
            .lock()
            .robot_by_stored_name(stored)
            .is_some_and(|r| r.secret_matches(secret))
    }

    /// Creates a private project; answers its id.
    pub fn create_project(&self, name: &str) -> Result<i64, ControlError> {
        self.add_project(name, false)
    }

    /// Creates a public project (anyone may pull from it); answers its id.
    pub fn create_public_project(&self, name: &str) -> Result<i64, ControlError> {
        self.add_project(name, true)
    }

    fn add_project(&self, name: &str, public: bool) -> Result<i64, ControlError> {
        if !crate::api::robots::valid_name(name) || name.len() > 255 {
            return Err(ControlError::bad_request(format!(
                "invalid project name {name:?}"
            )));
        }
        let mut store = self.shared.lock();
        if store.project_by_name(name).is_some() {
            return Err(ControlError {
                status: 409,
                message: format!("The project named {name} already exists"),
            });
        }
        Ok(store.add_project(name, public, ADMIN_USER_ID))
    }

    /// Every project (`library` included), by id.
    pub fn projects(&self) -> Vec<ProjectSnapshot> {
        self.shared
            .lock()
            .projects
            .values()
            .map(|p| ProjectSnapshot {
                id: p.id,
                name: p.name.clone(),
                public: p.is_public(),
            })
            .collect()
    }

    /// The token service's certificate, PEM (the registry's `rootcertbundle`).
    pub fn token_certificate_pem(&self) -> String {
        self.shared.signer.certificate_pem().to_string()
    }
}
