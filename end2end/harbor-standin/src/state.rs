//! What the stand-in remembers: robots, projects, the request log, the
//! violations found, the fault switches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::faults::Faults;
use crate::token::Signer;

/// `robot$`: Harbor's default robot name prefix (`common.RobotPrefix`).
pub const DEFAULT_ROBOT_PREFIX: &str = "robot$";

/// Where a permission applies (Harbor's RBAC scope).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// `kind: system, namespace: "/"`.
    System,
    /// `kind: project, namespace: "*"`.
    AllProjects,
    /// `kind: project, namespace: <name>`, kept by project id as Harbor does.
    Project(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub resource: String,
    pub action: String,
    pub effect: String,
}

#[derive(Debug, Clone)]
pub struct Permission {
    pub scope: Scope,
    pub access: Vec<Access>,
}

/// A robot as Harbor stores it: the name without the prefix (`foo`, or
/// `proj+foo` for a project robot), the secret only as a salted hash.
#[derive(Debug, Clone)]
pub struct Robot {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub salt: String,
    pub secret_hash: String,
    /// 0 for a system robot.
    pub project_id: i64,
    pub duration: i64,
    pub expires_at: i64,
    pub disabled: bool,
    pub creator_type: String,
    pub creator_ref: i64,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
    pub permissions: Vec<Permission>,
}

impl Robot {
    /// `system` or `project`, from the project id as Harbor derives it.
    pub fn level(&self) -> &'static str {
        if self.project_id == 0 {
            "system"
        } else {
            "project"
        }
    }

    pub fn set_secret(&mut self, secret: &str) {
        self.salt = random_string(32);
        self.secret_hash = hash_secret(&self.salt, secret);
    }

    pub fn secret_matches(&self, secret: &str) -> bool {
        hash_secret(&self.salt, secret) == self.secret_hash
    }

    /// Expired at `now` (Harbor: `expires_at != -1 && expires_at <= now`).
    pub fn expired(&self, now: i64) -> bool {
        self.expires_at != -1 && self.expires_at <= now
    }
}

fn hash_secret(salt: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update([0]);
    hasher.update(secret.as_bytes());
    hex::encode(hasher.finalize())
}

#[derive(Debug, Clone)]
pub struct Project {
    pub id: i64,
    pub name: String,
    pub owner_id: i64,
    /// `public` and whatever other string metadata the creator gave.
    pub metadata: BTreeMap<String, String>,
    pub creation_time: DateTime<Utc>,
    pub update_time: DateTime<Utc>,
}

impl Project {
    pub fn is_public(&self) -> bool {
        self.metadata.get("public").map(String::as_str) == Some("true")
    }
}

/// One request the stand-in received (API and token service; not `/test/`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    pub method: String,
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// The status answered; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The fault switch that answered instead of Harbor (`down`, `drop`, `fail`).
    pub fault: Option<String>,
}

/// A difference between a request the stand-in received (or a response it
/// sent) and Harbor's published API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub method: String,
    pub path: String,
    /// The spec's operationId, when the request matched one.
    pub operation: Option<String>,
    /// `query`, `path`, `body`, `content-type`, `operation` (an unknown or
    /// unemulated operation), `response body (STATUS)`.
    pub location: String,
    pub message: String,
    /// Harbor refuses such a request (`true`) or lets it through (`false`:
    /// an unknown property or query parameter, a null).
    pub rejected_by_harbor: bool,
}

#[derive(Default)]
pub struct Store {
    pub next_robot_id: i64,
    pub next_project_id: i64,
    pub robots: BTreeMap<i64, Robot>,
    pub projects: BTreeMap<i64, Project>,
    pub requests: Vec<RequestRecord>,
    pub violations: Vec<Violation>,
    /// POST /robots received, by the `name` in the body.
    pub create_calls: HashMap<String, usize>,
    pub faults: Faults,
}

impl Store {
    pub fn project_by_name(&self, name: &str) -> Option<&Project> {
        self.projects.values().find(|p| p.name == name)
    }

    /// A robot by its name as stored (without the prefix).
    pub fn robot_by_stored_name(&self, name: &str) -> Option<&Robot> {
        self.robots.values().find(|r| r.name == name)
    }

    pub fn next_robot_id(&mut self) -> i64 {
        self.next_robot_id += 1;
        self.next_robot_id
    }

    pub fn add_project(&mut self, name: &str, public: bool, owner_id: i64) -> i64 {
        self.next_project_id += 1;
        let id = self.next_project_id;
        let now = now();
        let mut metadata = BTreeMap::new();
        metadata.insert("public".to_string(), public.to_string());
        self.projects.insert(
            id,
            Project {
                id,
                name: name.to_string(),
                owner_id,
                metadata,
                creation_time: now,
                update_time: now,
            },
        );
        id
    }
}

/// Settings fixed at spawn.
#[derive(Debug, Clone)]
pub struct Settings {
    pub admin_user: String,
    pub admin_password: String,
    pub robot_prefix: String,
    pub token_issuer: String,
    pub token_service: String,
    pub token_expiration_minutes: i64,
}

/// The admin's user id (Harbor's first user).
pub const ADMIN_USER_ID: i64 = 1;

/// Everything the routes share.
pub struct Shared {
    store: Mutex<Store>,
    pub settings: Settings,
    pub signer: Signer,
}

impl Shared {
    pub fn new(settings: Settings, signer: Signer) -> Self {
        let mut store = Store::default();
        // Harbor ships with one public project, `library`.
        store.add_project("library", true, ADMIN_USER_ID);
        Self {
            store: Mutex::new(store),
            settings,
            signer,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves plain data; keep serving it.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `robot$foo` → `foo` (None without the prefix).
    pub fn stored_name<'a>(&self, full_name: &'a str) -> Option<&'a str> {
        full_name.strip_prefix(self.settings.robot_prefix.as_str())
    }

    /// `foo` → `robot$foo`.
    pub fn full_name(&self, robot: &Robot) -> String {
        format!("{}{}", self.settings.robot_prefix, robot.name)
    }
}

pub fn now() -> DateTime<Utc> {
    // Harbor keeps microseconds in Postgres and renders milliseconds.
    let now = Utc::now();
    DateTime::from_timestamp_millis(now.timestamp_millis()).unwrap_or(now)
}

/// `strfmt.DateTime`'s JSON form: RFC 3339 with milliseconds, UTC.
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Harbor's `utils.GenerateRandomStringWithLen`: letters and digits.
pub fn random_string(len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect()
}

/// Harbor's `robot.IsValidSec`: 8 to 128 bytes with a lower case letter,
/// an upper case letter and a digit.
pub fn is_valid_secret(secret: &str) -> bool {
    (8..=128).contains(&secret.len())
        && secret.bytes().any(|b| b.is_ascii_lowercase())
        && secret.bytes().any(|b| b.is_ascii_uppercase())
        && secret.bytes().any(|b| b.is_ascii_digit())
}

/// Harbor's `robot.CreateSec`: a random 32-character secret that passes
/// [`is_valid_secret`].
pub fn new_secret() -> String {
    loop {
        let secret = random_string(32);
        if is_valid_secret(&secret) {
            return secret;
        }
    }
}
