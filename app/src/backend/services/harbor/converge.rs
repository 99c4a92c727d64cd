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
use crate::domain::credential::usable;
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
pub async fn entries(db: &Db, customer_id: i64) -> Result<Vec<(i64, Entry)>, sqlx::Error> {
    let rows = db::registry::entitled_patterns(db, customer_id).await?;
    Ok(rows
        .into_iter()
        .map(|r| (r.product_id, Entry {
            window: Window {
                status: r.status,
                starts_at: r.starts_at,
                ends_at: r.ends_at,
                grace_until: r.grace_until,
                suspended_reason: r.suspended_reason,
            },
            projects: project_of(&r.pattern).map(|c| c.project).into_iter().collect(),
        }))
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
    let credentials: Vec<CredentialRow> = crate::backend::services::credentials::rows_of_organisation(db, customer_id).await?;
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
        // A credential limited to products follows only their entitlements.
        let entries: Vec<Entry> = entries
            .iter()
            .filter(|(p, _)| c.products.is_empty() || c.products.iter().any(|(id, _)| id == p))
            .map(|(_, e)| e.clone())
            .collect();
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
    db::harbor::insert_robot(&mut tx, c.id, c.organisation_id.unwrap_or(c.owner_user_id), &name, Utc::now()).await?;
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

/// Harbor's robot level of every robot the portal makes.
const LEVEL: &str = "system";

/// What one look at a robot did in Harbor, to record with its row.
struct Change {
    action: &'static str,
    /// Whether it undid something done outside the portal.
    drift: bool,
    details: Value,
    /// The `deliver` secret Harbor now has (its nonce), to forget.
    forget: Option<Vec<u8>>,
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
    let (state, projects, until, harbor_id, change) = match (plan, found) {
        (Plan::Absent, None) => (RobotState::Deleted, String::new(), None, None, None),
        (Plan::Absent, Some(r)) => {
            harbor.client.delete(r.id).await?;
            let drift = row.state == RobotState::Deleted;
            let mut details = json!({});
            if drift || matches!(why, Why::Reconcile { .. }) {
                details["drift"] = json!("the robot was still in Harbor");
            }
            (RobotState::Deleted, String::new(), None, None, Some(Change { action: "harbor.robot_delete", drift, details, forget: None }))
        }
        (Plan::Present { enabled, projects, until }, None) => {
            let (id, change) = create(db, harbor, sealer, c, row, &full, *enabled, projects, *until).await?;
            (state_of(*enabled), projects_text(projects), *until, Some(id), Some(change))
        }
        (Plan::Present { enabled, projects, until }, Some(r)) => {
            let id = r.id;
            let change = update(db, harbor, sealer, c, row, r, *enabled, projects, *until).await?;
            (state_of(*enabled), projects_text(projects), *until, Some(id), change)
        }
    };
    let applied = Applied { harbor_id, state, projects: &projects, expires_at: until, next_check_at: next };
    let Some(mut change) = change else {
        // Nothing to do in Harbor; keep the row true (a replay after a crash
        // between Harbor's answer and our commit ends here).
        let unchanged = row.state == state
            && row.projects == projects
            && row.expires_at == until
            && (row.harbor_id == harbor_id || harbor_id.is_none())
            && row.next_check_at == next;
        if !unchanged {
            let mut tx = db.begin().await?;
            db::harbor::save_robot(&mut tx, c.id, &applied, Utc::now()).await?;
            tx.commit().await?;
        }
        return Ok(None);
    };
    let drift = change.drift || matches!(why, Why::Reconcile { .. });
    let d = &mut change.details;
    d["robot"] = json!(full);
    d["credential"] = json!(c.name);
    d["enabled"] = json!(state == RobotState::Enabled);
    d["projects"] = json!(projects);
    d["until"] = json!(until.map(rfc3339));
    if let Why::Reconcile { run } = why {
        d["reconciliation"] = json!(run);
    }
    let mut tx = db.begin().await?;
    db::harbor::save_robot(&mut tx, c.id, &applied, Utc::now()).await?;
    if let Some(nonce) = &change.forget {
        db::harbor::forget_secret(&mut tx, c.id, SecretPurpose::Deliver, nonce).await?;
    }
    let event = AuditEvent::new(Actor::System, change.action, Outcome::Success)
        .target("credential", c.id)
        .subject(c.owner_user_id)
        .organisation(c.organisation_id.unwrap_or(c.owner_user_id))
        .details(change.details);
    audit::record(&mut tx, &event).await?;
    tx.commit().await?;
    Ok(Some(drift))
}

fn state_of(enabled: bool) -> RobotState {
    if enabled { RobotState::Enabled } else { RobotState::Disabled }
}

/// Makes the robot Harbor lacks: again if Harbor had it once (deleted by
/// hand, or Harbor restored from an older backup). Its secret: the one the
/// owner was shown if Harbor never got it, else a new one to reveal.
/// Returns Harbor's id and the change.
#[allow(clippy::too_many_arguments)]
async fn create(
    db: &Db,
    harbor: &Harbor,
    sealer: &dyn Sealer,
    c: &CredentialRow,
    row: &RobotRow,
    full: &str,
    enabled: bool,
    projects: &BTreeSet<String>,
    until: Option<DateTime<Utc>>,
) -> Result<(i64, Change), Failure> {
    let had_it = row.harbor_id.is_some() && row.state != RobotState::Deleted;
    let mut details = json!({});
    let (secret, forget) = match kept(db, sealer, c.id, SecretPurpose::Deliver).await? {
        Some((s, nonce)) => (s, Some(nonce)),
        // A new secret its owner has not seen yet: Harbor gets that one.
        None => match kept(db, sealer, c.id, SecretPurpose::Reveal).await? {
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
    let duration = duration_days(until, Utc::now());
    let robot = RobotCreate {
        name: &row.name,
        description: &description,
        secret: &secret,
        level: LEVEL,
        disable: !enabled,
        duration,
        permissions: permissions.clone(),
    };
    let created = harbor.client.create(&robot).await?;
    // Harbor made it enabled with a secret of its own: ours, then the state
    // (a crash in between is finished by the next look, which finds the
    // robot and sets both again).
    harbor.client.set_secret(created.id, &secret).await?;
    if !enabled {
        let robot = Robot {
            id: created.id,
            name: full.to_owned(),
            description: Some(description),
            level: LEVEL.into(),
            duration: Some(duration),
            disable: true,
            permissions,
            ..Robot::default()
        };
        harbor.client.update(&robot).await?;
    }
    if had_it {
        details["drift"] = json!("the robot was missing from Harbor");
    }
    let action = if had_it { "harbor.robot_recreate" } else { "harbor.robot_create" };
    Ok((created.id, Change { action, drift: had_it, details, forget }))
}

/// Brings an existing robot in step: the secret Harbor must still get
/// (`PATCH`), then state, projects and expiry (`PUT` of the whole robot);
/// `None` when it already was.
#[allow(clippy::too_many_arguments)]
async fn update(
    db: &Db,
    harbor: &Harbor,
    sealer: &dyn Sealer,
    c: &CredentialRow,
    row: &RobotRow,
    mut r: Robot,
    enabled: bool,
    projects: &BTreeSet<String>,
    until: Option<DateTime<Utc>>,
) -> Result<Option<Change>, Failure> {
    let mut changes: Vec<Value> = Vec::new();
    let mut forget = None;
    if let Some((secret, nonce)) = kept(db, sealer, c.id, SecretPurpose::Deliver).await? {
        harbor.client.set_secret(r.id, &secret).await?;
        changes.push(json!("secret"));
        forget = Some(nonce);
    }
    // Drift: Harbor's robot is not what the portal last applied.
    let applied = row.state != RobotState::Pending;
    let mut drift = Vec::new();
    let duration = duration_days(until, r.creation_time.unwrap_or_else(Utc::now));
    let mut put = false;
    if r.disable == enabled {
        if applied && r.disable != (row.state == RobotState::Disabled) {
            drift.push(if r.disable { "disabled in Harbor" } else { "enabled in Harbor" });
        }
        changes.push(json!({ "disable": !enabled }));
        put = true;
    }
    if !r.grants_exactly(projects) {
        let last: BTreeSet<String> = row.projects.split(',').filter(|p| !p.is_empty()).map(str::to_owned).collect();
        if applied && !r.grants_exactly(&last) {
            drift.push("permissions changed in Harbor");
        }
        changes.push(json!({ "projects": projects }));
        put = true;
    }
    if r.duration != Some(duration) {
        changes.push(json!({ "duration": duration }));
        put = true;
    }
    if put {
        r.disable = !enabled;
        r.permissions = projects.iter().map(|p| Permission::pull(p)).collect();
        r.duration = Some(duration);
        harbor.client.update(&r).await?;
    }
    if changes.is_empty() {
        return Ok(None);
    }
    let mut details = json!({ "changes": changes });
    if !drift.is_empty() {
        details["drift"] = json!(drift.join(", "));
    }
    Ok(Some(Change { action: "harbor.robot_update", drift: !drift.is_empty(), details, forget }))
}
