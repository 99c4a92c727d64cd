//! What a replica of a fleet needs beyond the rest: the metrics endpoint's
//! secret (`PORTCULLIS_METRICS_TOKEN`) and the retention job
//! (`PORTCULLIS_AUDIT_RETENTION_DAYS` with `PORTCULLIS_AUDIT_ARCHIVE_DIR`,
//! the same variables `portcullis audit retain` reads).

use super::{err, ConfigError, Env, Secret, MIN_SECRET_CHARS};
use std::path::PathBuf;

#[derive(Clone, Debug, Default)]
pub struct FleetConfig {
    /// `GET /metrics` answers only `Authorization: Bearer <this>`; unset = 404.
    pub metrics_token: Option<Secret>,
    /// Archive and delete audit events older than this many days, daily,
    /// once across the fleet; `None` = only by hand (`portcullis audit retain`).
    pub retention: Option<(u32, PathBuf)>,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn fleet(&self) -> Result<FleetConfig, ConfigError> {
        let metrics_token = match self.get("PORTCULLIS_METRICS_TOKEN") {
            Some(t) if t.chars().count() >= MIN_SECRET_CHARS && t.chars().all(|c| c.is_ascii_graphic()) => Some(Secret::new(t)),
            Some(_) => {
                return Err(err(
                    "PORTCULLIS_METRICS_TOKEN",
                    format!("at least {MIN_SECRET_CHARS} printable characters without spaces"),
                ))
            }
            None => None,
        };
        let retention = match (self.get("PORTCULLIS_AUDIT_RETENTION_DAYS"), self.get("PORTCULLIS_AUDIT_ARCHIVE_DIR")) {
            (None, None) => None,
            (Some(days), Some(dir)) => match days.parse::<u32>() {
                Ok(d) if d >= 1 => Some((d, PathBuf::from(dir))),
                _ => return Err(err("PORTCULLIS_AUDIT_RETENTION_DAYS", format!("expected whole days ≥ 1, got {days:?}"))),
            },
            (Some(_), None) => return Err(err("PORTCULLIS_AUDIT_ARCHIVE_DIR", "set it with PORTCULLIS_AUDIT_RETENTION_DAYS")),
            (None, Some(_)) => return Err(err("PORTCULLIS_AUDIT_RETENTION_DAYS", "set it with PORTCULLIS_AUDIT_ARCHIVE_DIR")),
        };
        Ok(FleetConfig { metrics_token, retention })
    }
}
