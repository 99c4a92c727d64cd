//! `portcullis audit …`: `verify` walks the hash chain and names the first
//! broken link (exit status 1 if any); `seal` seals what is pending (the
//! running portal does so every second); `retain` archives events older than
//! the retention period to JSON Lines and deletes them.

use crate::{cli::CliError, config, startup};
use app::backend::services::audit::{chain as audit_chain, retention as audit_retention};
use chrono::{Duration, Utc};
use clap::Subcommand;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain (and any archives given); exit 1 at the first broken link.
    Verify {
        /// Also check these retention archives (JSON Lines files).
        #[arg(long)]
        archive: Vec<PathBuf>,
    },
    /// Seal the events not yet in the chain (the running portal does this every second).
    Seal,
    /// Archive events older than the retention period to a JSON Lines file, then delete them.
    Retain {
        /// Keep this many days of events.
        #[arg(long, env = "PORTCULLIS_AUDIT_RETENTION_DAYS")]
        days: u32,
        /// Where archives are written (created if missing).
        #[arg(long, env = "PORTCULLIS_AUDIT_ARCHIVE_DIR")]
        archive_dir: PathBuf,
    },
}

pub async fn run(cmd: AuditCommand) -> Result<(), CliError> {
    for path in match &cmd {
        AuditCommand::Verify { archive } => archive.as_slice(),
        _ => &[],
    } {
        let (n, (id, hash)) = audit_retention::verify_archive(path).map_err(|e| CliError::Other(format!("archive {}: {e}", path.display())))?;
        println!("archive {}: {n} events, chain head at event {id} ({hash})", path.display());
    }
    let db = startup::open_database(&config::process_env().db()?.database_url).await?;
    let result = match cmd {
        AuditCommand::Verify { .. } => verify(&db).await,
        AuditCommand::Seal => audit_chain::seal_pending(&db)
            .await
            .map(|n| println!("sealed {n} events"))
            .map_err(|e| CliError::Other(format!("database: {e}"))),
        AuditCommand::Retain { days, archive_dir } => {
            let cutoff = Utc::now() - Duration::days(i64::from(days));
            match audit_retention::retain(&db, cutoff, &archive_dir).await {
                Ok(r) => {
                    match (&r.archive, &r.head) {
                        (Some(path), Some((id, hash))) => println!(
                            "archived to {} and deleted {} events older than {}; chain head at the cut: event {id} ({hash})",
                            path.display(), r.deleted, cutoff.format("%Y-%m-%d %H:%M UTC")
                        ),
                        _ => println!("no events older than {}", cutoff.format("%Y-%m-%d %H:%M UTC")),
                    }
                    Ok(())
                }
                Err(e) => Err(CliError::Other(e.to_string())),
            }
        }
    };
    db.close().await;
    result
}

async fn verify(db: &app::backend::db::Db) -> Result<(), CliError> {
    let v = audit_chain::verify(db).await.map_err(|e| CliError::Other(format!("database: {e}")))?;
    if let Some((id, reason)) = &v.broken {
        return Err(CliError::Other(format!("audit chain BROKEN at event {id}: {reason} ({} events checked before it)", v.checked)));
    }
    println!(
        "audit chain OK: {} events from event {} to the head, event {} ({}); {} newer events not sealed yet",
        v.checked, v.state.anchor_id + 1, v.state.sealed_id, v.state.sealed_hash, v.unsealed
    );
    if v.state.anchor_id > 0 {
        println!("events up to {} were archived; the chain starts from their head {}", v.state.anchor_id, v.state.anchor_hash);
    }
    Ok(())
}
