//! Robot accounts v2 (`/robots`), after Harbor's
//! `src/server/v2.0/handler/robot.go` and `src/controller/robot/controller.go`.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::query::{self, Cond, Field};
use super::{Call, Reply};
use crate::error::HarborError;
use crate::rbac;
use crate::state::{
    format_time, is_valid_secret, new_secret, now, random_string, Access, Permission, Robot, Scope,
    Shared, Store, ADMIN_USER_ID,
};

/// A permission as the request gives it (`None`: a JSON null in the list).
pub struct PermissionIn {
    pub kind: String,
    pub namespace: String,
    pub access: Vec<Option<Access>>,
}

fn text<'a>(body: &'a Value, key: &str) -> &'a str {
    body.get(key).and_then(Value::as_str).unwrap_or("")
}

pub fn permissions_in(body: &Value) -> Vec<Option<PermissionIn>> {
    let Some(list) = body.get("permissions").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .map(|p| {
            p.as_object()?;
            let access = p
                .get("access")
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .map(|a| {
                            a.as_object()?;
                            Some(Access {
                                resource: text(a, "resource").to_string(),
                                action: text(a, "action").to_string(),
                                effect: text(a, "effect").to_string(),
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            Some(PermissionIn {
                kind: text(p, "kind").to_string(),
                namespace: text(p, "namespace").to_string(),
                access,
            })
        })
        .collect()
}

/// `validateName`: lower case letters and digits, in runs joined by one
/// `.`, `_` or `-` (`^[a-z0-9]+(?:[._-][a-z0-9]+)*$`).
pub fn valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let sep = |b: u8| matches!(b, b'.' | b'_' | b'-');
    !bytes.is_empty()
        && alnum(bytes[0])
        && alnum(bytes[bytes.len() - 1])
        && bytes.iter().all(|&b| alnum(b) || sep(b))
        && !bytes.windows(2).any(|w| sep(w[0]) && sep(w[1]))
}

fn validate_name(name: &str) -> Result<(), HarborError> {
    if valid_name(name) {
        Ok(())
    } else {
        Err(HarborError::bad_request(
            "robot name is not in lower case or contains illegal characters",
        ))
    }
}

/// `isValidDuration`: -1 (never) or 1 ..= 2^31-2 days.
pub fn valid_duration(d: i64) -> bool {
    d == -1 || (d > 0 && d < i64::from(i32::MAX))
}

/// `robotAPI.validate`: duration, level, permissions (non-empty, each with
/// access; one only for a project robot; every access allowed for its kind).
fn validate(
    duration: i64,
    level: &str,
    permissions: &[Option<PermissionIn>],
) -> Result<(), HarborError> {
    if !valid_duration(duration) {
        return Err(HarborError::bad_request(format!(
            "bad request error duration input: {duration}, duration must be either -1(Never) or a positive integer"
        )));
    }
    if level != "system" && level != "project" {
        return Err(HarborError::bad_request(format!(
            "bad request error level input: {level}"
        )));
    }
    if permissions.is_empty() {
        return Err(HarborError::bad_request("bad request empty permission"));
    }
    for p in permissions {
        let Some(p) = p else {
            return Err(HarborError::bad_request("bad request empty permission"));
        };
        if p.access.is_empty() || p.access.iter().any(Option::is_none) {
            return Err(HarborError::bad_request("bad request empty access"));
        }
    }
    if level == "project" && permissions.len() > 1 {
        return Err(HarborError::bad_request("bad request permission"));
    }
    for p in permissions.iter().flatten() {
        for a in p.access.iter().flatten() {
            match rbac::access_allowed(&p.kind, &a.resource, &a.action) {
                Some(true) => {}
                Some(false) => {
                    return Err(HarborError::bad_request(format!(
                        "bad request permission: {}:{}",
                        a.resource, a.action
                    )))
                }
                None => {
                    return Err(HarborError::bad_request(format!(
                        "bad request permission level: {}",
                        p.kind
                    )))
                }
            }
        }
    }
    Ok(())
}

/// A project by name as Harbor's project manager finds it.
fn project_named<'s>(
    store: &'s Store,
    name: &str,
) -> Result<&'s crate::state::Project, HarborError> {
    if name.contains(' ') {
        return Err(HarborError::bad_request(format!(
            "invalid project name: '{name}'"
        )));
    }
    store
        .project_by_name(name)
        .ok_or_else(|| HarborError::not_found(format!("project {name} not found")))
}

/// `controller.toScope`.
fn to_scope(store: &Store, kind: &str, namespace: &str) -> Result<Scope, HarborError> {
    match kind {
        "system" if namespace == "/" => Ok(Scope::System),
        "system" => Err(HarborError::bad_request("unknown namespace")),
        "project" if namespace == "*" => Ok(Scope::AllProjects),
        "project" => Ok(Scope::Project(project_named(store, namespace)?.id)),
        _ => Err(HarborError::bad_request("unknown robot kind")),
    }
}

fn to_permissions(
    store: &Store,
    permissions: &[Option<PermissionIn>],
) -> Result<Vec<Permission>, HarborError> {
    permissions
        .iter()
        .flatten()
        .map(|p| {
            Ok(Permission {
                scope: to_scope(store, &p.kind, &p.namespace)?,
                access: p.access.iter().flatten().cloned().collect(),
            })
        })
        .collect()
}

/// `expires_at` for a duration counted from `from` (Unix seconds): -1 for
/// never, else `from` plus that many days (Go's `AddDate(0, 0, d)` in UTC).
pub fn expires_at(from: i64, duration: i64) -> i64 {
    if duration == -1 {
        -1
    } else {
        from.saturating_add(duration.saturating_mul(86_400))
    }
}

/// The permissions as Harbor lists them: grouped by scope, a project's by
/// its name, those of deleted projects left out.
pub fn render_permissions(store: &Store, robot: &Robot) -> Vec<Value> {
    let mut groups: Vec<(&Scope, Vec<&Access>)> = Vec::new();
    for p in &robot.permissions {
        match groups.iter_mut().find(|(s, _)| *s == &p.scope) {
            Some((_, access)) => access.extend(p.access.iter()),
            None => groups.push((&p.scope, p.access.iter().collect())),
        }
    }
    groups
        .into_iter()
        .filter_map(|(scope, access)| {
            let (kind, namespace) = match scope {
                Scope::System => ("system", "/".to_string()),
                Scope::AllProjects => ("project", "*".to_string()),
                Scope::Project(id) => ("project", store.projects.get(id)?.name.clone()),
            };
            let access: Vec<Value> = access
                .into_iter()
                .map(|a| {
                    let mut o = Map::new();
                    o.insert("resource".into(), json!(a.resource));
                    o.insert("action".into(), json!(a.action));
                    if !a.effect.is_empty() {
                        o.insert("effect".into(), json!(a.effect));
                    }
                    Value::Object(o)
                })
                .collect();
            Some(json!({ "kind": kind, "namespace": namespace, "access": access }))
        })
        .collect()
}

/// A robot as `GET /robots/{id}` answers it (go-swagger leaves empty
/// optional fields out; the secret is never shown).
pub fn render(shared: &Shared, store: &Store, robot: &Robot) -> Value {
    let mut o = Map::new();
    o.insert("id".into(), json!(robot.id));
    o.insert("name".into(), json!(shared.full_name(robot)));
    if !robot.description.is_empty() {
        o.insert("description".into(), json!(robot.description));
    }
    o.insert("level".into(), json!(robot.level()));
    o.insert("duration".into(), json!(robot.duration));
    o.insert("editable".into(), json!(true));
    o.insert("disable".into(), json!(robot.disabled));
    if robot.expires_at != 0 {
        o.insert("expires_at".into(), json!(robot.expires_at));
    }
    let permissions = render_permissions(store, robot);
    if !permissions.is_empty() {
        o.insert("permissions".into(), Value::Array(permissions));
    }
    if !robot.creator_type.is_empty() {
        o.insert("creator_type".into(), json!(robot.creator_type));
    }
    if robot.creator_ref != 0 {
        o.insert("creator_ref".into(), json!(robot.creator_ref));
    }
    o.insert(
        "creation_time".into(),
        json!(format_time(&robot.creation_time)),
    );
    o.insert("update_time".into(), json!(format_time(&robot.update_time)));
    Value::Object(o)
}

fn robot_id(call: &Call<'_>) -> Result<i64, HarborError> {
    call.path_param("robot_id")
        .and_then(|id| id.parse().ok())
        .ok_or_else(|| HarborError::bad_request("invalid robot id"))
}

fn not_found(id: i64) -> HarborError {
    HarborError::not_found(format!("robot {id} not found"))
}

/// `POST /robots`.
pub fn create(call: &Call<'_>) -> Result<Reply, HarborError> {
    let body = call.body;
    let name = text(body, "name");
    validate_name(name)?;
    // RobotCreate.duration is a plain int64 in Harbor: absent is 0, refused.
    let duration = body.get("duration").and_then(Value::as_i64).unwrap_or(0);
    let level = text(body, "level");
    let permissions = permissions_in(body);
    validate(duration, level, &permissions)?;
    call.require_auth()?;
    let shared = call.shared;
    let mut store = shared.lock();
    let (stored_name, project_id) = if level == "project" {
        let namespace = permissions
            .iter()
            .flatten()
            .next()
            .map(|p| p.namespace.as_str())
            .unwrap_or("");
        let project = project_named(&store, namespace)?;
        (format!("{}+{name}", project.name), project.id)
    } else {
        (name.to_string(), 0)
    };
    if stored_name.len() > 255 {
        // The column is varchar(255): Postgres refuses, Harbor answers 500.
        return Err(HarborError::internal());
    }
    if store
        .robots
        .values()
        .any(|r| r.name == stored_name && r.project_id == project_id)
    {
        return Err(HarborError::conflict(format!(
            "robot account {project_id}:{stored_name} already exists"
        )));
    }
    let permissions = to_permissions(&store, &permissions)?;
    let created = now();
    // Harbor ignores RobotCreate's `secret` and `disable`: a new robot is
    // enabled and gets a random secret (set one with PATCH).
    let secret = new_secret();
    let id = store.next_robot_id();
    let mut robot = Robot {
        id,
        name: stored_name,
        description: text(body, "description").to_string(),
        salt: random_string(32),
        secret_hash: String::new(),
        project_id,
        duration,
        expires_at: expires_at(created.timestamp(), duration),
        disabled: false,
        creator_type: "local".into(),
        creator_ref: ADMIN_USER_ID,
        creation_time: created,
        update_time: created,
        permissions,
    };
    robot.set_secret(&secret);
    let answer = json!({
        "id": id,
        "name": shared.full_name(&robot),
        "secret": secret,
        "creation_time": format_time(&robot.creation_time),
        "expires_at": robot.expires_at,
    });
    store.robots.insert(id, robot);
    let location = format!("{}/{id}", call.path.trim_end_matches('/'));
    Ok(Reply::json(StatusCode::CREATED, answer).header("location", location))
}

/// `GET /robots/{robot_id}`.
pub fn get(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let id = robot_id(call)?;
    let store = call.shared.lock();
    let robot = store.robots.get(&id).ok_or_else(|| not_found(id))?;
    Ok(Reply::json(
        StatusCode::OK,
        render(call.shared, &store, robot),
    ))
}

/// `DELETE /robots/{robot_id}`.
pub fn delete(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let id = robot_id(call)?;
    let mut store = call.shared.lock();
    store.robots.remove(&id).ok_or_else(|| not_found(id))?;
    Ok(Reply::empty(StatusCode::OK))
}

/// `PATCH /robots/{robot_id}` (`RefreshSec`): a given `secret` (8–128
/// characters, upper and lower case and a digit) is set and not echoed
/// (`{}`); without one a random secret is made and returned.
pub fn refresh_secret(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let id = robot_id(call)?;
    let mut store = call.shared.lock();
    let robot = store.robots.get_mut(&id).ok_or_else(|| not_found(id))?;
    let given = text(call.body, "secret");
    if given.is_empty() {
        let secret = new_secret();
        robot.set_secret(&secret);
        robot.update_time = now();
        return Ok(Reply::json(StatusCode::OK, json!({ "secret": secret })));
    }
    if !is_valid_secret(given) {
        return Err(HarborError::bad_request(
            "the secret must be 8-128, inclusively, characters long with at least 1 uppercase letter, 1 lowercase letter and 1 number",
        ));
    }
    robot.set_secret(given);
    robot.update_time = now();
    Ok(Reply::json(StatusCode::OK, json!({})))
}

/// `PUT /robots/{robot_id}` (`updateV2Robot`).
pub fn update(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let id = robot_id(call)?;
    let shared = call.shared;
    let mut store = shared.lock();
    let robot = store.robots.get(&id).ok_or_else(|| not_found(id))?;
    let body = call.body;
    // Robot.duration is nullable: absent or null keeps the robot's.
    let duration = body
        .get("duration")
        .and_then(Value::as_i64)
        .unwrap_or(robot.duration);
    let level = text(body, "level");
    let permissions = permissions_in(body);
    validate(duration, level, &permissions)?;
    if robot.level() != "system" {
        let namespace = permissions
            .iter()
            .flatten()
            .next()
            .map(|p| p.namespace.as_str())
            .unwrap_or("");
        if project_named(&store, namespace)?.id != robot.project_id {
            return Err(HarborError::bad_request(
                "cannot update the project id of robot",
            ));
        }
    }
    if level != robot.level() || text(body, "name") != shared.full_name(robot) {
        return Err(HarborError::bad_request(
            "cannot update the level or name of robot",
        ));
    }
    let permissions = to_permissions(&store, &permissions)?;
    let description = text(body, "description").to_string();
    let disabled = body
        .get("disable")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let robot = store.robots.get_mut(&id).ok_or_else(|| not_found(id))?;
    if duration != robot.duration {
        robot.duration = duration;
        robot.expires_at = expires_at(robot.creation_time.timestamp(), duration);
    }
    robot.description = description;
    robot.disabled = disabled;
    robot.permissions = permissions;
    robot.update_time = now();
    Ok(Reply::empty(StatusCode::OK))
}

/// The filterable and sortable columns of a robot (field or column name).
fn robot_field(robot: &&Robot, key: &str) -> Option<Field> {
    let key = column(key);
    Some(match key.as_str() {
        "id" => Field::Int(robot.id),
        "name" => Field::Str(robot.name.clone()),
        "description" => Field::Str(robot.description.clone()),
        "duration" => Field::Int(robot.duration),
        "project_id" => Field::Int(robot.project_id),
        "expiresat" | "expires_at" => Field::Int(robot.expires_at),
        "disabled" => Field::Bool(robot.disabled),
        "visible" => Field::Bool(true),
        "creator_ref" => Field::Int(robot.creator_ref),
        "creator_type" => Field::Str(robot.creator_type.clone()),
        "creation_time" => Field::Time(robot.creation_time),
        "update_time" => Field::Time(robot.update_time),
        _ => return None,
    })
}

/// A field name (`ProjectID`, `CreationTime`) or column name to the column.
pub fn column(key: &str) -> String {
    match key {
        "ID" => return "id".into(),
        "ProjectID" => return "project_id".into(),
        _ => {}
    }
    let chars: Vec<char> = key.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        if c.is_ascii_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_ascii_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(char::is_ascii_lowercase);
            if i > 0 && (prev_lower || (next_lower && chars[i - 1].is_ascii_uppercase())) {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(*c);
        }
    }
    out
}

/// `GET /robots`: `q` (`Level=system|project`, `ProjectID=<id>` with
/// project, other keys filter the robot's columns, names without the
/// prefix), `sort`, `page`, `page_size`; system robots unless `Level=project`.
pub fn list(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let mut q = query::build(
        call.param("q").unwrap_or(""),
        call.param("sort").unwrap_or(""),
        call.int_param("page", 1),
        call.int_param("page_size", 10),
    )?;
    match q.get("Level").cloned() {
        Some(Cond::Exact(level)) if level == "project" => match q.get("ProjectID") {
            None => {
                return Err(HarborError::bad_request(
                    "must with project ID when to query project robots",
                ))
            }
            Some(Cond::Exact(id)) if id.parse::<i64>().is_ok_and(|id| id > 0) => {}
            Some(_) => {
                return Err(HarborError::bad_request(
                    "ProjectID must be a positive integer",
                ))
            }
        },
        Some(Cond::Exact(level)) if level == "system" => q.set("ProjectID", Cond::Int(0)),
        Some(_) => return Err(HarborError::bad_request("bad request error level input")),
        None => q.set("ProjectID", Cond::Int(0)),
    }
    q.set("Visible", Cond::Bool(true));
    let store = call.shared.lock();
    let robots: Vec<&Robot> = store.robots.values().collect();
    let mut found = query::filter(robots, &q, robot_field);
    let total = found.len() as i64;
    query::sort(&mut found, &q, "name", robot_field);
    let page: Vec<Value> = query::page(found, &q)
        .into_iter()
        .map(|r| render(call.shared, &store, r))
        .collect();
    let link = query::links(call.path, call.query, total, q.page, q.page_size);
    let mut reply =
        Reply::json(StatusCode::OK, Value::Array(page)).header("x-total-count", total.to_string());
    if !link.is_empty() {
        reply = reply.header("link", link);
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_harbor() {
        for ok in ["a", "portal-1", "a.b_c-d", "0x"] {
            assert!(valid_name(ok), "{ok}");
        }
        for bad in ["", "A", "-a", "a-", "a--b", "a+b", "robot$a", "a b", "é"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn durations_like_harbor() {
        assert!(valid_duration(-1));
        assert!(valid_duration(1));
        assert!(valid_duration(i64::from(i32::MAX) - 1));
        assert!(!valid_duration(0));
        assert!(!valid_duration(-2));
        assert!(!valid_duration(i64::from(i32::MAX)));
        assert_eq!(expires_at(1000, -1), -1);
        assert_eq!(expires_at(1000, 2), 1000 + 2 * 86_400);
    }

    #[test]
    fn columns() {
        assert_eq!(column("ProjectID"), "project_id");
        assert_eq!(column("CreationTime"), "creation_time");
        assert_eq!(column("name"), "name");
        assert_eq!(column("ExpiresAt"), "expires_at");
    }
}
