//! Converges one customer's robots on what their access says now. Used by
//! the outbox delivery and by the reconciler, so both apply the same rule
//! (`domain::harbor::desired`) the same way. Idempotent: it reads Harbor
//! (the robot by its deterministic name) before every change, so a replay
//! after a crash, or a second look, finds nothing left to do and never
//! makes a second robot. Each change is committed with its audit event
//! and the robot's row right after Harbor accepted it.

use crate::backend::db;
use crate::backend::db::credentials::CredentialRow;
use crate::backend::db::harbor::{Applied, RobotRow};
use crate::backend::db::Db;
use crate::backend::services::audit::{self, Actor, AuditEvent, Outcome};
use crate::backend::services::harbor::client::{HarborError, Permission, Robot, RobotCreate};
use crate::backend::services::harbor::{keep_secret, new_secret, Harbor};
use crate::backend::web::sealer::Sealer;
use crate::domain::access::Window;
use crate::domain::credential::{usable, CredentialKind};
use crate::domain::harbor::{desired, duration_days, next_change, project_of, Entry, Plan, RobotState, SecretPurpose};
use crate::domain::signing_key::Sealable;
use crate::domain::time::rfc3339;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Why the robots are looked at: an outbox delivery, or a reconcile run
/// (whose every change is drift repaired).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    Delivery,
    Reconcile { run: i64 },
}

/// What failed: Harbor (retried later) or the portal's own database.
#[derive(Debug)]
pub enum Failure {
    Harbor(HarborError),
    Portal(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Harbor(e) => e.fmt(f),
            Self::Portal(e) => write!(f, "portal: {e}"),
        }
    }
}

impl From<HarborError> for Failure {
    fn from(e: HarborError) -> Self {
        Self::Harbor(e)
    }
}

impl From<sqlx::Error> for Failure {
    fn from(e: sqlx::Error) -> Self {
        Self::Portal(e.to_string())
    }
}

impl From<crate::error::AppError> for Failure {
    fn from(e: crate::error::AppError) -> Self {
        Self::Portal(e.for_log())
    }
}

/// What was done to Harbor for a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Done {
    pub checked: usize,
    pub changed: usize,
    /// Changes that undid drift (a robot deleted, re-enabled or widened in
    /// Harbor by hand, or a call that never arrived).
    pub drift: usize,
}

/// The customer's entitlements as provisioning sees them.
pub async fn entries(db: &Db, customer_id: i64) -> Result<Vec<Entry>, sqlx::Error> {
    let rows = db::registry::entitled_patterns(db, customer_id).await?;
    Ok(rows
        .into_iter()
        .map(|r| Entry {
            window: Window {
                status: r.status,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                grace_until: r.grace_until,
                suspended_reason: r.suspended_reason,
            },
            projects: project_of(&r.pattern).map(|c| c.project).into_iter().collect(),
        })
        .collect())
}

/// Converges every robot of `customer_id`. `listed`: Harbor's robots by
/// full name when the caller has just paged through them (the reconciler);
/// otherwise each robot is looked up by name.
pub async fn customer(
    db: &Db,
    harbor: &Harbor,
    sealer: &dyn Sealer,
    customer_id: i64,
    listed: Option<&HashMap<String, Robot>>,
    why: Why,
) -> Result<Done, Failure> {
    let now = Utc::now();
    let credentials: Vec<CredentialRow> = db::credentials::list_for_owner(db, customer_id)
        .await?
        .into_iter()
        .filter(|c| c.kind == CredentialKind::Pull)
        .collect();
    let mut robots: BTreeMap<i64, RobotRow> =
        db::harbor::robots_of(db, customer_id).await?.into_iter().map(|r| (r.credential_id, r)).collect();
    let entries = entries(db, customer_id).await?;
    let mut done = Done::default();
    for c in &credentials {
        let row = match robots.remove(&c.id) {
            Some(row) => row,
            None if c.revoked_at.is_some() => continue,
            None => adopt(db, harbor, sealer, c).await?,
        };
        if row.state == RobotState::Deleted && c.revoked_at.is_some() {
            continue;
        }
        done.checked += 1;
        let plan = desired(c.revoked_at.is_some(), usable(&c.facts(), now).is_ok(), c.expires_at, &entries, now);
        let next = next_change(&entries, c.expires_at, now);
        let full = harbor.login(&row.name);
        let found = match listed {
            Some(map) => map.get(&full).cloned(),
            None => harbor.client.find(&row.name, &full).await?,
        };
        let change = robot(db, harbor, sealer, c, &row, &plan, found, next, why).await?;
        if let Some(drift) = change {
            done.changed += 1;
            done.drift += usize::from(drift);
        }
    }
    Ok(done)
}

/// A live pull credential without a robot (made before provisioning was
/// turned on, or by a path that could not seal): it gets a robot named
/// after it, its user name becomes the robot's login, and a new secret
/// waits for its owner to reveal.
async fn adopt(db: &Db, harbor: &Harbor, sealer: &dyn Sealer, c: &CredentialRow) -> Result<RobotRow, Failure> {
    let name = c.username.strip_prefix(harbor.prefix.as_str()).unwrap_or(&c.username).to_owned();
    let login = harbor.login(&name);
    let mut tx = db.begin().await?;
    db::harbor::insert_robot(&mut tx, c.id, c.owner_user_id, &name, Utc::now()).await?;
    if login != c.username {
        db::harbor::rename_credential(&mut tx, c.id, &login).await?;
    }
    let reason = format!("this credential now works with the vendor's Harbor registry as {login}, with a new secret");
    keep_secret(&mut tx, sealer, c.id, SecretPurpose::Reveal, &new_secret(), Some(&reason)).await?;
    tx.commit().await?;
    db::harbor::robot(db, c.id).await?.ok_or_else(|| Failure::Portal("robot row vanished".into()))
}

fn projects_text(p: &BTreeSet<String>) -> String {
    p.iter().cloned().collect::<Vec<_>>().join(",")
}

/// The secret kept for `purpose`, opened, with its nonce (to forget exactly it).
async fn kept(db: &Db, sealer: &dyn Sealer, credential: i64, purpose: SecretPurpose) -> Result<Option<(String, Vec<u8>)>, Failure> {
    let Some(row) = db::harbor::secret(db, credential, purpose).await? else { return Ok(None) };
    let plain = sealer.open(Sealable::RobotSecret(credential, purpose), &row.secret()).map_err(Failure::Portal)?;
    let plain = String::from_utf8(plain).map_err(|e| Failure::Portal(e.to_string()))?;
    Ok(Some((plain, row.nonce)))
}

/// Applies `plan` to one robot. `Ok(Some(drift))` when Harbor was changed.
#[allow(clippy::too_many_arguments)]
async fn robot(
    db: &Db,
    harbor: &Harbor,
    sealer: &dyn Sealer,
    c: &CredentialRow,
    row: &RobotRow,
    plan: &Plan,
    found: Option<Robot>,
    next: Option<DateTime<Utc>>,
    why: Why,
) -> Result<Option<bool>, Failure> {
    let full = harbor.login(&row.name);
    let now = Utc::now();
    let mut details = json!({ "robot": full, "credential": c.name });
    if let Why::Reconcile { run } = why {
        details["reconciliation"] = json!(run);
    }
    let (action, drift, applied_state, applied_projects, applied_until, harbor_id, forget) = match (plan, found) {
        (Plan::Absent, None) => {
            if row.state != RobotState::Deleted {
                save(db, c, RobotState::Deleted, "", None, None, next).await?;
            }
            return Ok(None);
        }
        (Plan::Absent, Some(r)) => {
            harbor.client.delete(r.id).await?;
            let drift = row.state == RobotState::Deleted || matches!(why, Why::Reconcile { .. });
            if drift {
                details["drift"] = json!("the robot was still in Harbor");
            }
            ("harbor.robot_delete", drift, RobotState::Deleted, String::new(), None, None, None)
        }
        (Plan::Present { enabled, projects, until }, None) => {
            // Made again if Harbor had it once (deleted by hand, or Harbor
            // restored from an older backup): with the secret the owner
            // already has if Harbor never got it, else a new one to reveal.
            let had_it = row.harbor_id.is_some() && row.state != RobotState::Deleted;
            let deliver = kept(db, sealer, c.id, SecretPurpose::Deliver).await?;
            let (secret, forget) = match deliver {
                Some((s, nonce)) => (s, Some(nonce)),
                None => match kept(db, sealer, c.id, SecretPurpose::Reveal).await? {
                    // A new secret its owner has not seen yet: Harbor gets that one.
                    Some((s, _)) => (s, None),
                    None => {
                        let reason = if had_it {
                            "the robot account was removed from Harbor outside the portal, so it was made again with a new secret"
                        } else {
                            "access resumed after the robot account had been removed, so it was made again with a new secret"
                        };
                        let secret = new_secret();
                        let mut tx = db.begin().await?;
                        keep_secret(&mut tx, sealer, c.id, SecretPurpose::Reveal, &secret, Some(reason)).await?;
                        tx.commit().await?;
                        details["reason"] = json!(reason);
                        (secret, None)
                    }
                },
            };
            let description = format!("Portcullis pull credential {} of {}", c.name, c.owner_email);
            let permissions: Vec<Permission> = projects.iter().map(|p| Permission::pull(p)).collect();
            let duration = duration_days(*until, now);
            let created = harbor
                .client
                .create(&RobotCreate {
                    name: &row.name,
                    description: &description,
                    secret: &secret,
                    level: "system",
                    disable: !enabled,
                    duration,
                    permissions: permissions.clone(),
                })
                .await?;
            // Harbor made it enabled with a secret of its own: ours, then the
            // state (a crash in between is finished by the next look, which
            // finds the robot and sets both again).
            harbor.client.set_secret(created.id, &secret).await?;
            if !enabled {
                let robot = Robot {
                    id: created.id,
                    name: full.clone(),
                    description: Some(description),
                    level: "system".into(),
                    duration: Some(duration),
                    disable: true,
                    permissions,
                    ..Robot::default()
                };
                harbor.client.update(&robot).await?;
            }
            let drift = had_it;
            if drift {
                details["drift"] = json!("the robot was missing from Harbor");
            }
            let action = if drift { "harbor.robot_recreate" } else { "harbor.robot_create" };
            let state = if *enabled { RobotState::Enabled } else { RobotState::Disabled };
            (action, drift, state, projects_text(projects), *until, Some(created.id), forget)
        }
        (Plan::Present { enabled, projects, until }, Some(mut r)) => {
            let mut changes: Vec<Value> = Vec::new();
            let mut forget = None;
            if let Some((secret, nonce)) = kept(db, sealer, c.id, SecretPurpose::Deliver).await? {
                harbor.client.set_secret(r.id, &secret).await?;
                changes.push(json!("secret"));
                forget = Some(nonce);
            }
            let created = r.creation_time.unwrap_or(now);
            let duration = duration_days(*until, created);
            let mut drift_seen = Vec::new();
            if r.disable == *enabled {
                if r.disable != (row.state == RobotState::Disabled) && row.state != RobotState::Pending {
                    drift_seen.push(if r.disable { "disabled in Harbor" } else { "enabled in Harbor" });
                }
                changes.push(json!({ "disable": !enabled }));
            }
            if !r.grants_exactly(projects) {
                if projects_text(&r.projects()) != row.projects || r.permissions.iter().any(|p| p.access.len() != 1) {
                    drift_seen.push("permissions changed in Harbor");
                }
                changes.push(json!({ "projects": projects }));
            }
            if r.duration != Some(duration) {
                changes.push(json!({ "duration": duration }));
            }
            let id = r.id;
            let only_secret = changes.len() == usize::from(forget.is_some());
            if !only_secret {
                r.disable = !enabled;
                r.permissions = projects.iter().map(|p| Permission::pull(p)).collect();
                r.duration = Some(duration);
                harbor.client.update(&r).await?;
            }
            let state = if *enabled { RobotState::Enabled } else { RobotState::Disabled };
            if changes.is_empty() {
                // Nothing to do in Harbor; keep the row true (a replay after a
                // crash between Harbor's answer and our commit ends here).
                let text = projects_text(projects);
                if row.state != state || row.projects != text || row.harbor_id != Some(id) || row.next_check_at != next {
                    save(db, c, state, &text, *until, Some(id), next).await?;
                }
                return Ok(None);
            }
            let drift = !drift_seen.is_empty() || matches!(why, Why::Reconcile { .. });
            if !drift_seen.is_empty() {
                details["drift"] = json!(drift_seen.join(", "));
            }
            details["changes"] = json!(changes);
            ("harbor.robot_update", drift, state, projects_text(projects), *until, Some(id), forget)
        }
    };
    details["enabled"] = json!(applied_state == RobotState::Enabled);
    details["projects"] = json!(applied_projects);
    details["until"] = json!(applied_until.map(rfc3339));
    let mut tx = db.begin().await?;
    let a = Applied { harbor_id, state: applied_state, projects: &applied_projects, expires_at: applied_until, next_check_at: next };
    db::harbor::save_robot(&mut tx, c.id, &a, now).await?;
    if let Some(nonce) = &forget {
        db::harbor::forget_secret(&mut tx, c.id, SecretPurpose::Deliver, nonce).await?;
    }
    let event = AuditEvent::new(Actor::System, action, Outcome::Success)
        .target("credential", c.id)
        .subject(c.owner_user_id)
        .details(details);
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(Some(drift))
}

/// Writes the row when Harbor needed no change.
#[allow(clippy::too_many_arguments)]
async fn save(
    db: &Db,
    c: &CredentialRow,
    state: RobotState,
    projects: &str,
    until: Option<DateTime<Utc>>,
    harbor_id: Option<i64>,
    next: Option<DateTime<Utc>>,
) -> Result<(), Failure> {
    let mut tx = db.begin().await?;
    let a = Applied { harbor_id, state, projects, expires_at: until, next_check_at: next };
    db::harbor::save_robot(&mut tx, c.id, &a, Utc::now()).await?;
    tx.commit().await?;
    Ok(())
}
