//! Projects (`/projects`), after Harbor's `src/server/v2.0/handler/project.go`
//! and `src/pkg/project/manager.go`: list, head, create, get.

use axum::http::StatusCode;
use serde_json::{json, Map, Value};

use super::query::{self, Cond, Field};
use super::robots::column;
use super::{Call, Reply, Who};
use crate::error::HarborError;
use crate::spec::validator::parse_bool;
use crate::state::{format_time, Project, Shared, ADMIN_USER_ID};

/// Metadata keys a project keeps from `ProjectReq.metadata` (the proxy-cache
/// ones only matter for proxy projects, which are not emulated).
const METADATA_KEYS: &[&str] = &[
    "public",
    "enable_content_trust",
    "enable_content_trust_cosign",
    "prevent_vul",
    "severity",
    "auto_scan",
    "auto_sbom_generation",
    "reuse_sys_cve_allowlist",
];

/// A project as Harbor lists it (go-swagger leaves empty optional fields out).
pub fn render(shared: &Shared, project: &Project, who: Who) -> Value {
    let mut o = Map::new();
    o.insert("project_id".into(), json!(project.id));
    o.insert("owner_id".into(), json!(project.owner_id));
    o.insert("name".into(), json!(project.name));
    o.insert(
        "creation_time".into(),
        json!(format_time(&project.creation_time)),
    );
    o.insert(
        "update_time".into(),
        json!(format_time(&project.update_time)),
    );
    o.insert("owner_name".into(), json!(shared.settings.admin_user));
    if who == Who::Admin {
        // The admin created every project, so is its project admin (role 1).
        o.insert("current_user_role_id".into(), json!(1));
        o.insert("current_user_role_ids".into(), json!([1]));
    }
    o.insert("repo_count".into(), json!(0));
    o.insert("metadata".into(), json!(project.metadata));
    o.insert(
        "cve_allowlist".into(),
        json!({
            "project_id": project.id,
            "items": [],
            "creation_time": "0001-01-01T00:00:00.000Z",
            "update_time": "0001-01-01T00:00:00.000Z",
        }),
    );
    Value::Object(o)
}

fn project_field(shared: &Shared) -> impl Fn(&&Project, &str) -> Option<Field> + '_ {
    move |project, key| {
        Some(match column(key).as_str() {
            "project_id" => Field::Int(project.id),
            "name" => Field::Str(project.name.clone()),
            "owner_id" => Field::Int(project.owner_id),
            "owner" => Field::Str(shared.settings.admin_user.clone()),
            "public" => Field::Bool(project.is_public()),
            "registry_id" => Field::Int(0),
            "deleted" => Field::Bool(false),
            "creation_time" => Field::Time(project.creation_time),
            "update_time" => Field::Time(project.update_time),
            _ => return None,
        })
    }
}

/// `GET /projects`: `name` is a fuzzy (substring) match, as in Harbor; an
/// exact one is `q=name=<name>`. Anonymous callers see public projects only.
pub fn list(call: &Call<'_>) -> Result<Reply, HarborError> {
    let mut q = query::build(
        call.param("q").unwrap_or(""),
        call.param("sort").unwrap_or(""),
        call.int_param("page", 1),
        call.int_param("page_size", 10),
    )?;
    if let Some(name) = call.param("name").filter(|n| !n.is_empty()) {
        q.set("name", Cond::Fuzzy(name.to_string()));
    }
    if let Some(owner) = call.param("owner").filter(|o| !o.is_empty()) {
        q.set("owner", Cond::Exact(owner.to_string()));
    }
    let public = call.param("public").and_then(parse_bool);
    if let Some(public) = public {
        q.set("public", Cond::Bool(public));
    }
    let empty = || Reply::json(StatusCode::OK, json!([])).header("x-total-count", "0");
    if call.who == Who::Anonymous {
        if public == Some(false) {
            return Ok(empty());
        }
        q.set("public", Cond::Bool(true));
    }
    let store = call.shared.lock();
    let field = project_field(call.shared);
    let projects: Vec<&Project> = store.projects.values().collect();
    let mut found = query::filter(projects, &q, &field);
    let total = found.len() as i64;
    if total == 0 {
        return Ok(empty());
    }
    query::sort(&mut found, &q, "name", &field);
    let page: Vec<Value> = query::page(found, &q)
        .into_iter()
        .map(|p| render(call.shared, p, call.who))
        .collect();
    let link = query::links(call.path, call.query, total, q.page, q.page_size);
    let mut reply =
        Reply::json(StatusCode::OK, Value::Array(page)).header("x-total-count", total.to_string());
    if !link.is_empty() {
        reply = reply.header("link", link);
    }
    Ok(reply)
}

/// `HEAD /projects?project_name=`: 200 when it exists, else 404.
pub fn head(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let name = call.param("project_name").unwrap_or("");
    let store = call.shared.lock();
    if store.project_by_name(name).is_some() {
        Ok(Reply::empty(StatusCode::OK))
    } else {
        Err(HarborError::not_found(format!("project {name} not found")))
    }
}

/// Harbor's project names: 1–255 characters, `^[a-z0-9]+(?:[._-][a-z0-9]+)*$`.
fn validate_name(name: &str) -> Result<(), HarborError> {
    if name.is_empty() || name.len() > 255 {
        return Err(HarborError::bad_request(format!(
            "Project name {name} is illegal in length. (greater than 255 or less than 1)"
        )));
    }
    if !super::robots::valid_name(name) {
        return Err(HarborError::bad_request(
            "project name is not in lower case or contains illegal characters",
        ));
    }
    Ok(())
}

/// `POST /projects` (`ProjectReq`): `metadata.public` (`"true"`/`"false"`,
/// from the deprecated `public` when absent, default `"false"`); 201 with
/// `Location: /api/v2.0/projects/<id>` (the name with
/// `X-Resource-Name-In-Location: true`).
pub fn create(call: &Call<'_>) -> Result<Reply, HarborError> {
    call.require_auth()?;
    let body = call.body;
    let mut metadata: Vec<(String, String)> = body
        .get("metadata")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| METADATA_KEYS.contains(&k.as_str()))
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default();
    let public_meta = metadata
        .iter()
        .find(|(k, _)| k == "public")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let public = match (
        public_meta.as_str(),
        body.get("public").and_then(Value::as_bool),
    ) {
        ("", Some(public)) => public.to_string(),
        ("", None) => "false".to_string(),
        (p, _) => p.to_string(),
    };
    if public != "true" && public != "false" {
        return Err(HarborError::bad_request(format!(
            "metadata.public should only be 'true' or 'false', but got: '{public}'"
        )));
    }
    metadata.retain(|(k, _)| k != "public");
    let retention = body
        .pointer("/metadata/retention_id")
        .and_then(Value::as_str)
        .unwrap_or("");
    if !retention.is_empty() {
        return Err(HarborError::bad_request(
            "bad request: the retention_id in the request's payload when creating a project should be omitted, alternatively passing an empty string",
        ));
    }
    if let Some(registry) = body.get("registry_id").and_then(Value::as_i64) {
        if registry <= 0 {
            return Err(HarborError::bad_request(format!(
                "bad request: {registry} is invalid value of registry_id, it should be geater than 0"
            )));
        }
        // No registries exist here: Harbor fails to look it up (500).
        return Err(HarborError::internal());
    }
    let name = body
        .get("project_name")
        .and_then(Value::as_str)
        .unwrap_or("");
    validate_name(name)?;
    let mut store = call.shared.lock();
    if store.project_by_name(name).is_some() {
        return Err(HarborError::conflict(format!(
            "The project named {name} already exists"
        )));
    }
    let id = store.add_project(name, public == "true", ADMIN_USER_ID);
    if let Some(project) = store.projects.get_mut(&id) {
        project.metadata.extend(metadata);
    }
    let by_name = call
        .headers
        .get("x-resource-name-in-location")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bool)
        == Some(true);
    let base = call.path.trim_end_matches('/');
    let location = if by_name {
        format!("{base}/{name}")
    } else {
        format!("{base}/{id}")
    };
    Ok(Reply::empty(StatusCode::CREATED).header("location", location))
}

/// `GET /projects/{project_name_or_id}` (an id unless it is not a number
/// or `X-Is-Resource-Name: true`). Anonymous callers see public ones only.
pub fn get(call: &Call<'_>) -> Result<Reply, HarborError> {
    let key = call.path_param("project_name_or_id").unwrap_or("");
    let by_name = call
        .headers
        .get("x-is-resource-name")
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bool)
        == Some(true);
    let store = call.shared.lock();
    let project = match key.parse::<i64>() {
        Ok(id) if !by_name => store.projects.get(&id),
        _ => store.project_by_name(key),
    };
    let Some(project) = project else {
        if call.who == Who::Anonymous {
            return Err(HarborError::unauthorized());
        }
        return Err(HarborError::not_found(format!("project {key} not found")));
    };
    if call.who == Who::Anonymous && !project.is_public() {
        return Err(HarborError::unauthorized());
    }
    Ok(Reply::json(
        StatusCode::OK,
        render(call.shared, project, call.who),
    ))
}
