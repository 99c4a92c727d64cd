//! Where the portal learns of pulls and releases: the two sources a pull
//! is recorded from, and what recorded a release's time.

use serde::{Deserialize, Serialize};

/// What reported a pull (`pulls.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum PullSource {
    /// The pull gateway served the manifest (it saw the pull itself).
    Gateway,
    /// The registry's pull notification (a token this portal issued).
    Registry,
}

impl PullSource {
    pub const ALL: [PullSource; 2] = [PullSource::Gateway, PullSource::Registry];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::Registry => "registry",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

crate::text_column!(PullSource, PullSource::parse);

/// What recorded a release's time (`releases.source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum ReleaseSource {
    /// A registry push notification.
    Push,
    /// The gateway read the manifest or a tag list.
    Gateway,
    /// A vendor admin set it.
    Admin,
}

impl ReleaseSource {
    pub const ALL: [ReleaseSource; 3] = [ReleaseSource::Push, ReleaseSource::Gateway, ReleaseSource::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Gateway => "gateway",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// For people: "pushed", "seen by the gateway", "set by an admin".
    pub fn words(self) -> &'static str {
        match self {
            Self::Push => "pushed",
            Self::Gateway => "seen by the gateway",
            Self::Admin => "set by an admin",
        }
    }
}

crate::text_column!(ReleaseSource, ReleaseSource::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_read_back_what_they_write() {
        for s in PullSource::ALL {
            assert_eq!(PullSource::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        for s in ReleaseSource::ALL {
            assert_eq!(ReleaseSource::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(PullSource::parse("Gateway"), None);
    }
}
