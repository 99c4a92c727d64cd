//! Versions as rules: what a product's licence covers (`Licence`), the one
//! rule that says whether a customer may pull a version released at a given
//! time (`version_allowed`), and the grammar of what the pull gateway reads
//! (digests, tags, cosign's tags, the references a manifest makes).
//!
//! A release belongs to a digest: the first time the portal saw it (a push
//! notification, or the gateway reading a manifest or a tag list), which a
//! vendor admin may set. Moving a tag to a new digest makes a new release.

use crate::domain::access::{standing, Denial, EntitlementStatus, Window};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an entitlement to a product covers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Licence {
    /// Every version, past and future, while the entitlement grants access.
    #[default]
    Subscription,
    /// The versions released up to the entitlement's end (the end of its
    /// updates), for good; later ones only after a renewal moves the end.
    Perpetual,
}

impl Licence {
    pub const ALL: [Licence; 2] = [Licence::Subscription, Licence::Perpetual];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Subscription => "subscription",
            Self::Perpetual => "perpetual",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s.trim())
    }

    /// How pages name it.
    pub fn describe(self) -> &'static str {
        match self {
            Self::Subscription => "every version while access lasts",
            Self::Perpetual => "versions released until the updates end, for good (served through the pull gateway)",
        }
    }
}

impl fmt::Display for Licence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

crate::text_column!(Licence, Licence::parse);

/// Why a version is refused, in words the client prints.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionDenial {
    /// Access itself is refused (suspended, revoked, not started, ended for
    /// a subscription): the access rule's reason.
    Access(Denial),
    /// A perpetual licence whose updates ended before this release.
    ReleasedAfterUpdates { released_at: DateTime<Utc>, updates_ended: DateTime<Utc> },
}

impl VersionDenial {
    pub fn message(&self, what: &str) -> String {
        match self {
            Self::Access(d) => format!("{what}: {}", d.message()),
            Self::ReleasedAfterUpdates { released_at, updates_ended } => format!(
                "{what} was released on {} after your updates ended on {}: renew your updates to pull it",
                released_at.format("%-d %B %Y"),
                updates_ended.format("%-d %B %Y"),
            ),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Access(d) => d.code(),
            Self::ReleasedAfterUpdates { .. } => "released_after_updates",
        }
    }
}

/// May a customer whose entitlements to a product of `licence` have these
/// windows pull a version released at `released_at`, at `now`?
///
/// - a subscription: any entitlement that grants access now (`standing`)
///   grants every version;
/// - a perpetual licence: an entitlement that is active and has started
///   grants every version released up to its end (no end: every version),
///   whether or not that end has passed.
pub fn version_allowed(licence: Licence, windows: &[&Window], released_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), VersionDenial> {
    let mut worst: Option<VersionDenial> = None;
    let mut keep = |d: VersionDenial| {
        let better = match (&worst, &d) {
            (None, _) => true,
            // A version past the updates says more than an ended window.
            (Some(VersionDenial::Access(_)), VersionDenial::ReleasedAfterUpdates { .. }) => true,
            (Some(VersionDenial::Access(a)), VersionDenial::Access(b)) => b > a,
            (Some(VersionDenial::ReleasedAfterUpdates { updates_ended: a, .. }), VersionDenial::ReleasedAfterUpdates { updates_ended: b, .. }) => b > a,
            _ => false,
        };
        if better {
            worst = Some(d);
        }
    };
    for w in windows {
        match licence {
            Licence::Subscription => match standing(w, now) {
                Ok(()) => return Ok(()),
                Err(d) => keep(VersionDenial::Access(d)),
            },
            Licence::Perpetual => {
                // Suspension, revocation and a start ahead still refuse; the
                // end of the window only bounds the versions.
                let open = Window { ends_at: None, grace_until: None, ..(*w).clone() };
                if let Err(d) = standing(&open, now) {
                    keep(VersionDenial::Access(d));
                    continue;
                }
                match w.ends_at {
                    Some(end) if released_at > end && w.status == EntitlementStatus::Active => {
                        keep(VersionDenial::ReleasedAfterUpdates { released_at, updates_ended: end })
                    }
                    _ => return Ok(()),
                }
            }
        }
    }
    Err(worst.unwrap_or(VersionDenial::Access(Denial::NoEntitlement)))
}

/// `sha256:` and 64 lowercase hex digits, or `sha512:` and 128.
pub fn valid_digest(s: &str) -> bool {
    let hex = |h: &str, n: usize| h.len() == n && h.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    match s.split_once(':') {
        Some(("sha256", h)) => hex(h, 64),
        Some(("sha512", h)) => hex(h, 128),
        _ => false,
    }
}

/// A tag as the distribution spec allows: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// The digest a tag stands for when it is cosign's (`sha256-<hex>.sig`,
/// `.att`, `.sbom`) or the referrers tag schema's (`sha256-<hex>`): what
/// it signs, attests or lists. `None` for any other tag.
pub fn tag_subject(tag: &str) -> Option<String> {
    let rest = tag.strip_prefix("sha256-")?;
    let hex = match rest.split_once('.') {
        Some((h, "sig" | "att" | "sbom")) => h,
        Some(_) => return None,
        None => rest,
    };
    let digest = format!("sha256:{hex}");
    valid_digest(&digest).then_some(digest)
}

/// What a manifest refers to: blobs (its config and layers), child
/// manifests (an index's), and the manifest it is about (`subject`, OCI 1.1
/// referrers: signatures, attestations, SBOMs).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct References {
    pub blobs: Vec<String>,
    pub children: Vec<String>,
    pub subject: Option<String>,
    /// The sizes the manifest states of its config and layers, summed.
    pub blob_bytes: u64,
}

/// At most this many references are kept of one manifest.
pub const REFERENCES_MAX: usize = 4_096;

/// The references of a manifest (OCI image manifest or index, Docker
/// schema 2 manifest or list, OCI artifact manifest). Digests that do not
/// parse are left out; anything that is not a JSON object is an error.
pub fn references(body: &[u8]) -> Result<References, String> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| format!("not a JSON manifest: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON manifest object".into());
    }
    let digest_of = |x: &serde_json::Value| x.get("digest").and_then(|d| d.as_str()).filter(|d| valid_digest(d)).map(str::to_owned);
    let list = |key: &str| -> Vec<String> {
        v.get(key).and_then(|l| l.as_array()).map(|l| l.iter().filter_map(digest_of).take(REFERENCES_MAX).collect()).unwrap_or_default()
    };
    let size_of = |x: &serde_json::Value| x.get("size").and_then(|s| s.as_u64()).unwrap_or(0);
    let blob_bytes = v.get("config").map(size_of).unwrap_or(0)
        + v.get("layers").and_then(|l| l.as_array()).map(|l| l.iter().map(size_of).sum()).unwrap_or(0);
    let mut blobs: Vec<String> = v.get("config").and_then(digest_of).into_iter().collect();
    blobs.extend(list("layers"));
    blobs.extend(list("blobs"));
    blobs.sort();
    blobs.dedup();
    let mut children = list("manifests");
    children.sort();
    children.dedup();
    Ok(References { blobs, children, subject: v.get("subject").and_then(digest_of), blob_bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, d, 12, 0, 0).single().unwrap_or_default()
    }

    fn window(starts: u32, ends: Option<u32>) -> Window {
        Window { status: EntitlementStatus::Active, starts_at: t(starts), ends_at: ends.map(t), grace_until: None, suspended_reason: None }
    }

    #[test]
    fn a_perpetual_licence_keeps_what_was_released_before_its_updates_ended() {
        let w = window(1, Some(10));
        assert_eq!(version_allowed(Licence::Perpetual, &[&w], t(5), t(20)), Ok(()), "1.0, long after the end");
        let denied = version_allowed(Licence::Perpetual, &[&w], t(15), t(20)).unwrap_err();
        assert_eq!(denied.code(), "released_after_updates");
        assert_eq!(
            denied.message("acme/widget:2.0"),
            "acme/widget:2.0 was released on 15 March 2027 after your updates ended on 10 March 2027: renew your updates to pull it"
        );
        // A renewal (a later end, or a second entitlement) brings 2.0 in.
        let renewed = window(10, Some(25));
        assert_eq!(version_allowed(Licence::Perpetual, &[&w, &renewed], t(15), t(20)), Ok(()));
        // No end: every version.
        assert_eq!(version_allowed(Licence::Perpetual, &[&window(1, None)], t(28), t(28)), Ok(()));
    }

    #[test]
    fn suspension_and_revocation_refuse_every_version() {
        let mut w = window(1, Some(10));
        w.status = EntitlementStatus::Suspended;
        w.suspended_reason = Some("invoice unpaid".into());
        let d = version_allowed(Licence::Perpetual, &[&w], t(5), t(20)).unwrap_err();
        assert_eq!(d.code(), "suspended");
        w.status = EntitlementStatus::Revoked;
        assert_eq!(version_allowed(Licence::Perpetual, &[&w], t(5), t(20)).unwrap_err().code(), "revoked");
        assert_eq!(version_allowed(Licence::Perpetual, &[&window(25, None)], t(5), t(20)).unwrap_err().code(), "not_started");
        assert_eq!(version_allowed(Licence::Perpetual, &[], t(5), t(20)).unwrap_err().code(), "no_entitlement");
    }

    #[test]
    fn a_subscription_covers_every_version_while_it_lasts() {
        let w = window(1, Some(10));
        assert_eq!(version_allowed(Licence::Subscription, &[&w], t(28), t(5)), Ok(()), "a version released later");
        assert_eq!(version_allowed(Licence::Subscription, &[&w], t(2), t(20)).unwrap_err().code(), "expired");
    }

    #[test]
    fn digests_tags_and_cosign_tags_parse() {
        let hex = "a".repeat(64);
        assert!(valid_digest(&format!("sha256:{hex}")));
        assert!(!valid_digest(&format!("sha256:{}", "A".repeat(64))));
        assert!(!valid_digest("sha256:abc") && !valid_digest("md5:abc") && !valid_digest(""));
        assert!(valid_tag("1.0") && valid_tag("v1.2.3-rc.1_x") && valid_tag("_x"));
        assert!(!valid_tag("") && !valid_tag("-x") && !valid_tag(".x") && !valid_tag(&"x".repeat(129)) && !valid_tag("a/b"));
        assert_eq!(tag_subject(&format!("sha256-{hex}.sig")), Some(format!("sha256:{hex}")));
        assert_eq!(tag_subject(&format!("sha256-{hex}.att")), Some(format!("sha256:{hex}")));
        assert_eq!(tag_subject(&format!("sha256-{hex}")), Some(format!("sha256:{hex}")), "the referrers tag schema");
        assert_eq!(tag_subject(&format!("sha256-{hex}.exe")), None);
        assert_eq!(tag_subject("1.0"), None);
    }

    #[test]
    fn manifests_name_their_blobs_children_and_subject() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let image = serde_json::json!({
            "schemaVersion": 2,
            "config": { "digest": d('c') },
            "layers": [{ "digest": d('1') }, { "digest": d('2') }, { "digest": "nonsense" }],
            "subject": { "digest": d('5') },
        });
        let r = references(image.to_string().as_bytes()).unwrap();
        assert_eq!(r.blobs, vec![d('1'), d('2'), d('c')]);
        assert_eq!(r.subject, Some(d('5')));
        let index = serde_json::json!({ "manifests": [{ "digest": d('a') }, { "digest": d('b') }] });
        assert_eq!(references(index.to_string().as_bytes()).unwrap().children, vec![d('a'), d('b')]);
        assert!(references(b"[1,2]").is_err() && references(b"\xff").is_err());
    }
}
