//! Harbor's robot permission model: which `resource:action` pairs a robot
//! may be given per kind (`src/common/rbac/const.go`, the `NolimitProvider`),
//! and what a robot, the admin or an anonymous caller may do to a project's
//! repositories (`src/common/security/robot/context.go`,
//! `src/common/rbac/project/rbac_util.go`).

use crate::state::{Project, Robot, Scope};

/// `PoliciesMap[ScopeProject]` plus the `NolimitProvider`'s additions.
const PROJECT_ACCESS: &[(&str, &str)] = &[
    ("log", "list"),
    ("project", "read"),
    ("project", "delete"),
    ("project", "update"),
    ("metadata", "read"),
    ("metadata", "create"),
    ("metadata", "delete"),
    ("metadata", "list"),
    ("metadata", "update"),
    ("repository", "read"),
    ("repository", "update"),
    ("repository", "delete"),
    ("repository", "list"),
    ("repository", "pull"),
    ("repository", "push"),
    ("artifact", "read"),
    ("artifact", "create"),
    ("artifact", "list"),
    ("artifact", "delete"),
    ("scan", "create"),
    ("scan", "read"),
    ("scan", "stop"),
    ("sbom", "create"),
    ("sbom", "stop"),
    ("sbom", "read"),
    ("tag", "create"),
    ("tag", "list"),
    ("tag", "delete"),
    ("accessory", "list"),
    ("artifact-addition", "read"),
    ("artifact-label", "create"),
    ("artifact-label", "delete"),
    ("scanner", "create"),
    ("scanner", "read"),
    ("preheat-policy", "read"),
    ("preheat-policy", "create"),
    ("preheat-policy", "delete"),
    ("preheat-policy", "list"),
    ("preheat-policy", "update"),
    ("immutable-tag", "create"),
    ("immutable-tag", "delete"),
    ("immutable-tag", "list"),
    ("immutable-tag", "update"),
    ("notification-policy", "read"),
    ("notification-policy", "create"),
    ("notification-policy", "delete"),
    ("notification-policy", "list"),
    ("notification-policy", "update"),
    ("tag-retention", "read"),
    ("tag-retention", "create"),
    ("tag-retention", "delete"),
    ("tag-retention", "list"),
    ("tag-retention", "update"),
    ("label", "read"),
    ("label", "create"),
    ("label", "delete"),
    ("label", "list"),
    ("label", "update"),
    ("quota", "read"),
    ("robot", "create"),
    ("robot", "read"),
    ("robot", "list"),
    ("robot", "delete"),
    ("export-cve", "create"),
    ("export-cve", "read"),
    ("member", "create"),
    ("member", "read"),
    ("member", "update"),
    ("member", "list"),
    ("member", "delete"),
];

/// `PoliciesMap[ScopeSystem]` plus the `NolimitProvider`'s additions.
const SYSTEM_ACCESS: &[(&str, &str)] = &[
    ("audit-log", "list"),
    ("preheat-instance", "read"),
    ("preheat-instance", "create"),
    ("preheat-instance", "delete"),
    ("preheat-instance", "list"),
    ("preheat-instance", "update"),
    ("project", "list"),
    ("project", "create"),
    ("replication-policy", "read"),
    ("replication-policy", "create"),
    ("replication-policy", "delete"),
    ("replication-policy", "list"),
    ("replication-policy", "update"),
    ("replication", "read"),
    ("replication", "create"),
    ("replication", "list"),
    ("replication-adapter", "list"),
    ("registry", "read"),
    ("registry", "create"),
    ("registry", "delete"),
    ("registry", "list"),
    ("registry", "update"),
    ("scan-all", "read"),
    ("scan-all", "update"),
    ("scan-all", "stop"),
    ("scan-all", "create"),
    ("system-volumes", "read"),
    ("garbage-collection", "read"),
    ("garbage-collection", "create"),
    ("garbage-collection", "list"),
    ("garbage-collection", "update"),
    ("garbage-collection", "stop"),
    ("purge-audit", "read"),
    ("purge-audit", "create"),
    ("purge-audit", "list"),
    ("purge-audit", "update"),
    ("purge-audit", "stop"),
    ("jobservice-monitor", "list"),
    ("jobservice-monitor", "stop"),
    ("scanner", "read"),
    ("scanner", "create"),
    ("scanner", "delete"),
    ("scanner", "list"),
    ("scanner", "update"),
    ("label", "read"),
    ("label", "create"),
    ("label", "delete"),
    ("label", "update"),
    ("security-hub", "read"),
    ("security-hub", "list"),
    ("catalog", "read"),
    ("quota", "read"),
    ("quota", "list"),
    ("robot", "create"),
    ("robot", "read"),
    ("robot", "list"),
    ("robot", "delete"),
    ("user", "create"),
    ("user", "read"),
    ("user", "update"),
    ("user", "list"),
    ("user", "delete"),
    ("ldap-user", "create"),
    ("ldap-user", "list"),
    ("quota", "update"),
    ("user-group", "create"),
    ("user-group", "read"),
    ("user-group", "update"),
    ("user-group", "list"),
    ("user-group", "delete"),
];

/// Whether a robot may be given `resource:action` in a permission of this
/// kind (`system` or `project`); `None` for another kind.
pub fn access_allowed(kind: &str, resource: &str, action: &str) -> Option<bool> {
    let table = match kind {
        "system" => SYSTEM_ACCESS,
        "project" => PROJECT_ACCESS,
        _ => return None,
    };
    Some(table.iter().any(|(r, a)| *r == resource && *a == action))
}

/// The repository actions the token service grants, in the order the
/// stand-in lists them (`actionScopeMap` in Harbor's token creator).
pub const TOKEN_ACTIONS: [&str; 4] = ["pull", "push", "delete", "scanner-pull"];

/// Who asks for a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    Admin,
    /// A robot that authenticated (enabled, not expired, right secret).
    Robot(i64),
    Anonymous,
}

/// Whether `caller` may do `action` (a [`TOKEN_ACTIONS`] one) on the
/// repositories of `project`.
pub fn can(caller: &Caller, robot: Option<&Robot>, project: &Project, action: &str) -> bool {
    match caller {
        Caller::Admin => true,
        // Anonymous: the public-project policies only (pull).
        Caller::Anonymous => project.is_public() && action == "pull",
        Caller::Robot(_) => robot.is_some_and(|r| robot_can(r, project, action)),
    }
}

fn robot_can(robot: &Robot, project: &Project, action: &str) -> bool {
    let project_permissions: Vec<_> = robot
        .permissions
        .iter()
        .filter(|p| matches!(p.scope, Scope::Project(_) | Scope::AllProjects))
        .collect();
    // A system robot without project permissions has no project evaluator at all.
    if robot.level() == "system" && project_permissions.is_empty() {
        return false;
    }
    // Every project evaluator adds the public-project policies.
    if project.is_public() && action == "pull" {
        return true;
    }
    let project_robot = robot.level() == "project";
    project_permissions
        .iter()
        .filter(|p| match p.scope {
            Scope::Project(id) => id == project.id,
            Scope::AllProjects => true,
            Scope::System => false,
        })
        .flat_map(|p| p.access.iter())
        .filter(|a| a.effect != "deny")
        .filter(|a| a.resource == "repository" || a.resource == "*")
        .any(|a| {
            a.action == action
                || a.action == "*"
                // filterRobotPolicies: a project robot's push brings pull.
                || (project_robot && action == "pull" && a.action == "push")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_permission_tables() {
        assert_eq!(access_allowed("project", "repository", "pull"), Some(true));
        assert_eq!(access_allowed("project", "repository", "fly"), Some(false));
        assert_eq!(access_allowed("system", "repository", "pull"), Some(false));
        assert_eq!(access_allowed("system", "project", "create"), Some(true));
        assert_eq!(access_allowed("team", "repository", "pull"), None);
    }
}
