//! Harbor provisioning as rules: what robot account a pull credential should
//! have in Harbor now, given its credential's standing and its owner's
//! entitlements (`desired`), when that answer changes by itself (`next_change`),
//! which Harbor projects a product's repository patterns map to
//! (`project_of`), and how long Harbor's own expiry backstop runs
//! (`duration_days`). Pure, so the delivery job, the reconciler and the pages
//! agree; `services::harbor` does the I/O.
//!
//! A Harbor robot cannot be narrower than a project (goharbor/harbor #17616):
//! a product whose patterns are not whole projects (`acme/*`) gives its
//! customers every repository of those projects, which the admin pages say.

use crate::domain::access::{standing, Denial, Window};
use chrono::{DateTime, Utc};
use std::collections::BTreeSet;

/// Where a credential's robot stands, as the portal last applied it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RobotState {
    /// Not yet confirmed by Harbor (just created, or Harbor unreachable).
    Pending,
    Enabled,
    Disabled,
    /// Deleted in Harbor (credential revoked, or no access left to follow).
    Deleted,
}

impl RobotState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Enabled => "enabled",
            Self::Disabled => "disabled",
            Self::Deleted => "deleted",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "enabled" => Self::Enabled,
            "disabled" => Self::Disabled,
            "deleted" => Self::Deleted,
            _ => return None,
        })
    }

    /// What the customer reads beside the credential.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Pending => "being set up in the registry",
            Self::Enabled => "active in the registry",
            Self::Disabled => "disabled in the registry until access resumes",
            Self::Deleted => "removed from the registry",
        }
    }
}
crate::text_column!(RobotState, RobotState::parse);

/// Why a robot secret is kept sealed for a while.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretPurpose {
    /// Harbor must still get it (a new or rotated credential).
    Deliver,
    /// Its owner must still see it (the robot was made again).
    Reveal,
}

impl SecretPurpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deliver => "deliver",
            Self::Reveal => "reveal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "deliver" => Self::Deliver,
            "reveal" => Self::Reveal,
            _ => return None,
        })
    }
}
crate::text_column!(SecretPurpose, SecretPurpose::parse);

/// Why a customer's robots are looked at again (the outbox row's cause).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutboxCause {
    Entitlement,
    Credential,
    Account,
    Product,
    /// A window or grace end fell due.
    Schedule,
    /// Provisioning was turned on for a deployment with credentials.
    Start,
}

impl OutboxCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Entitlement => "entitlement",
            Self::Credential => "credential",
            Self::Account => "account",
            Self::Product => "product",
            Self::Schedule => "schedule",
            Self::Start => "start",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "entitlement" => Self::Entitlement,
            "credential" => Self::Credential,
            "account" => Self::Account,
            "product" => Self::Product,
            "schedule" => Self::Schedule,
            "start" => Self::Start,
            _ => return None,
        })
    }
}
crate::text_column!(OutboxCause, OutboxCause::parse);

/// The Harbor project a repository pattern lives in, and whether the
/// pattern covers all of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProjectCover {
    pub project: String,
    pub whole: bool,
}

/// `acme/*` is all of project `acme`; `acme/widget` and `acme/widget-*` are
/// part of it (a robot for them opens all of `acme`); a pattern without a
/// project (`widget`, `acme*`) maps to none: Harbor keeps every repository
/// inside a project.
pub fn project_of(pattern: &str) -> Option<ProjectCover> {
    let (project, rest) = pattern.split_once('/')?;
    if project.is_empty() || project.contains('*') || rest.is_empty() {
        return None;
    }
    Some(ProjectCover { project: project.to_owned(), whole: rest == "*" })
}

/// What the admin is told about a product's patterns under Harbor: one
/// line per pattern that a robot cannot follow exactly.
pub fn pattern_notes(patterns: &[String]) -> Vec<String> {
    patterns
        .iter()
        .filter_map(|p| match project_of(p) {
            Some(ProjectCover { whole: true, .. }) => None,
            Some(ProjectCover { project, .. }) => Some(format!(
                "{p}: Harbor robots cannot be narrower than a project, so customers of this product can pull every repository of project {project}"
            )),
            None => Some(format!("{p}: not inside one Harbor project (project/…), so Harbor robots do not grant it")),
        })
        .collect()
}

/// One entitlement as provisioning sees it: its window and the Harbor
/// projects of its product.
#[derive(Clone, Debug)]
pub struct Entry {
    pub window: Window,
    pub projects: BTreeSet<String>,
}

/// What a credential's robot should be.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Plan {
    /// No robot: the credential is revoked, or no entitlement can grant
    /// anything again (revoked, refunded, ended).
    Absent,
    Present {
        /// Whether the robot may pull now.
        enabled: bool,
        /// The projects it may pull (when disabled: those of the access
        /// that may come back, harmless while disabled).
        projects: BTreeSet<String>,
        /// Harbor's own expiry as a backstop: the latest end of the access
        /// granted now (a grace end counts), capped by the credential's
        /// expiry; `None` = never.
        until: Option<DateTime<Utc>>,
    },
}

/// Whether a denial can lift by itself or by a payment or an admin (a
/// suspension, a payment overdue, a start in the future) rather than
/// being over for good.
fn may_return(denial: &Denial) -> bool {
    matches!(denial, Denial::Suspended { .. } | Denial::PaymentOverdue { .. } | Denial::NotStarted { .. })
}

/// The robot a pull credential should have at `now`. `credential_ok`:
/// `domain::credential::usable` said yes; `revoked`: the credential is
/// revoked (a robot is deleted, not disabled).
pub fn desired(
    revoked: bool,
    credential_ok: bool,
    credential_expires: Option<DateTime<Utc>>,
    entries: &[Entry],
    now: DateTime<Utc>,
) -> Plan {
    if revoked {
        return Plan::Absent;
    }
    let mut granting = BTreeSet::new();
    let mut returning = BTreeSet::new();
    let mut until: Option<Option<DateTime<Utc>>> = None;
    for e in entries.iter().filter(|e| !e.projects.is_empty()) {
        match standing(&e.window, now) {
            Ok(()) => {
                granting.extend(e.projects.iter().cloned());
                let end = e.window.grace_until.or(e.window.ends_at);
                until = Some(match (until, end) {
                    (Some(None), _) | (_, None) => None,
                    (Some(Some(a)), Some(b)) => Some(a.max(b)),
                    (None, Some(b)) => Some(b),
                });
            }
            Err(d) if may_return(&d) => returning.extend(e.projects.iter().cloned()),
            Err(_) => {}
        }
    }
    if granting.is_empty() && returning.is_empty() {
        return Plan::Absent;
    }
    let until = match (until.flatten(), credential_expires) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if credential_ok && !granting.is_empty() {
        Plan::Present { enabled: true, projects: granting, until }
    } else {
        granting.extend(returning);
        Plan::Present { enabled: false, projects: granting, until }
    }
}

/// The next moment after `now` at which `desired` may answer differently
/// without any event: an entitlement's start, end or grace end, or the
/// credential's expiry.
pub fn next_change(entries: &[Entry], credential_expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    entries
        .iter()
        .flat_map(|e| [Some(e.window.starts_at), e.window.ends_at, e.window.grace_until])
        .chain([credential_expires])
        .flatten()
        .filter(|t| *t > now)
        .min()
}

/// Harbor's `duration` (days from the robot's creation, -1 = never) that
/// keeps the robot alive until at least `until`: a backstop only, the job
/// disables the robot at the minute access ends.
pub fn duration_days(until: Option<DateTime<Utc>>, created: DateTime<Utc>) -> i64 {
    match until {
        None => -1,
        Some(u) => {
            let secs = (u - created).num_seconds().max(0);
            (secs + 86_399) / 86_400 + 1
        }
    }
}

/// Harbor's rule for a robot secret: 8 to 128 characters with a lower-case
/// letter, an upper-case letter and a digit.
pub fn secret_acceptable(secret: &str) -> bool {
    (8..=128).contains(&secret.len())
        && secret.bytes().any(|b| b.is_ascii_lowercase())
        && secret.bytes().any(|b| b.is_ascii_uppercase())
        && secret.bytes().any(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::EntitlementStatus;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap()
    }

    fn entry(status: EntitlementStatus, ends: Option<u32>, grace: Option<u32>, projects: &[&str]) -> Entry {
        Entry {
            window: Window {
                status,
                starts_at: t(1),
                ends_at: ends.map(t),
                grace_until: grace.map(t),
                suspended_reason: None,
            },
            projects: projects.iter().map(|p| p.to_string()).collect(),
        }
    }

    fn set(p: &[&str]) -> BTreeSet<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn patterns_map_to_projects() {
        assert_eq!(project_of("acme/*"), Some(ProjectCover { project: "acme".into(), whole: true }));
        assert_eq!(project_of("acme/widget"), Some(ProjectCover { project: "acme".into(), whole: false }));
        assert_eq!(project_of("acme/widget-*"), Some(ProjectCover { project: "acme".into(), whole: false }));
        assert_eq!(project_of("widget"), None);
        assert_eq!(project_of("acme*"), None);
        let notes = pattern_notes(&["acme/*".into(), "tools/cli".into(), "loose".into()]);
        assert_eq!(notes.len(), 2);
        assert!(notes[0].contains("every repository of project tools"), "{notes:?}");
    }

    #[test]
    fn the_robot_follows_access() {
        use EntitlementStatus::*;
        let now = t(10);
        // Granting now: enabled, its projects, until its end.
        let e = [entry(Active, Some(20), None, &["acme"])];
        assert_eq!(desired(false, true, None, &e, now), Plan::Present { enabled: true, projects: set(&["acme"]), until: Some(t(20)) });
        // Revoked credential: gone, whatever the access.
        assert_eq!(desired(true, false, None, &e, now), Plan::Absent);
        // Credential expired or owner disabled: kept, disabled.
        assert!(matches!(desired(false, false, None, &e, now), Plan::Present { enabled: false, .. }));
        // Payment overdue past grace, or suspended: disabled, may come back.
        let overdue = [entry(Active, None, Some(9), &["acme"])];
        assert_eq!(desired(false, true, None, &overdue, now), Plan::Present { enabled: false, projects: set(&["acme"]), until: None });
        let suspended = [entry(Suspended, None, None, &["acme"])];
        assert!(matches!(desired(false, true, None, &suspended, now), Plan::Present { enabled: false, .. }));
        // In grace: enabled until the grace end.
        let grace = [entry(Active, Some(5), Some(12), &["acme"])];
        assert_eq!(desired(false, true, None, &grace, now), Plan::Present { enabled: true, projects: set(&["acme"]), until: Some(t(12)) });
        // Revoked (refund) or ended: nothing can come back, the robot goes.
        assert_eq!(desired(false, true, None, &[entry(Revoked, None, None, &["acme"])], now), Plan::Absent);
        assert_eq!(desired(false, true, None, &[entry(Active, Some(9), None, &["acme"])], now), Plan::Absent);
        // Only the projects granted now, while enabled; open-ended wins.
        let two = [entry(Active, Some(20), None, &["acme"]), entry(Suspended, None, None, &["tools"]), entry(Active, None, None, &["acme"])];
        assert_eq!(desired(false, true, Some(t(15)), &two, now), Plan::Present { enabled: true, projects: set(&["acme"]), until: Some(t(15)) });
        // Products with no Harbor project grant nothing.
        assert_eq!(desired(false, true, None, &[entry(Active, None, None, &[])], now), Plan::Absent);
    }

    #[test]
    fn changes_fall_due_at_window_and_grace_ends() {
        use EntitlementStatus::*;
        let e = [entry(Active, Some(20), None, &["acme"]), entry(Active, Some(5), Some(12), &["tools"])];
        assert_eq!(next_change(&e, None, t(10)), Some(t(12)));
        assert_eq!(next_change(&e, Some(t(11)), t(10)), Some(t(11)));
        assert_eq!(next_change(&e, None, t(20)), None);
    }

    #[test]
    fn the_backstop_outlives_the_access() {
        assert_eq!(duration_days(None, t(1)), -1);
        assert_eq!(duration_days(Some(t(1)), t(1)), 1);
        assert_eq!(duration_days(Some(t(2)), t(1)), 2);
        let later = t(1) + chrono::Duration::days(30);
        assert_eq!(duration_days(Some(later), t(1)), 31);
        assert!(secret_acceptable("abcDEF123"));
        assert!(!secret_acceptable("abcdef123"));
        assert!(!secret_acceptable("aB1"));
    }
}
