//! `portcullis stripe reconcile [--since DATE]`: re-reads from Stripe what
//! is behind every live and pending order (and with `--since`, every order
//! made or changed since then) and converges orders and entitlements on it,
//! as the running portal's `billing.reconcile` job does daily.

use crate::{cli::CliError, config, startup};
use app::backend::services::audit::Actor;
use app::backend::services::billing::reconcile;
use app::backend::web::RequestMeta;
use app::domain::order::ReconcileCause;
use app::domain::time::{parse_time, BareDate};
use chrono::{DateTime, Utc};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum StripeCommand {
    /// Re-read Stripe behind live and pending orders and repair what the webhook missed.
    Reconcile {
        /// Also re-read every order made or changed since this day (YYYY-MM-DD, UTC) or moment (RFC 3339).
        #[arg(long)]
        since: Option<String>,
    },
}

/// A day (midnight UTC) or a moment, as every typed time is read
/// (`domain::time::parse_time`).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    parse_time(s, BareDate::StartOfDay).map_err(|expected| format!("expected {expected}, got {:?}", s.trim()))
}

pub async fn run(cmd: StripeCommand) -> Result<(), CliError> {
    let StripeCommand::Reconcile { since } = cmd;
    let since = since.as_deref().map(parse_since).transpose().map_err(|e| CliError::Input(format!("--since: {e}")))?;
    let env = config::process_env();
    let Some(stripe) = env.stripe()? else {
        return Err(CliError::Input(
            "Stripe is not configured: set PORTCULLIS_STRIPE_SECRET_KEY and PORTCULLIS_STRIPE_WEBHOOK_SECRET".into(),
        ));
    };
    // Checkout's return URLs are not used here; any base will do.
    let base = env.get("PORTCULLIS_BASE_URL").and_then(|u| url::Url::parse(&u).ok()).unwrap_or_else(|| url::Url::parse("http://localhost/").expect("a valid URL"));
    let billing = startup::billing_from(&stripe, &base)?;
    let db = startup::open_database(&env.db()?.database_url).await?;
    let result = reconcile::run(&billing, &db, ReconcileCause::Cli, since, Actor::Cli, &RequestMeta::default()).await;
    db.close().await;
    let run = result.map_err(|e| CliError::Other(e.for_log()))?;
    println!("reconciliation {}: {}", run.id, reconcile::summary(&run));
    if run.failed > 0 {
        return Err(CliError::Other(format!("{} order(s) could not be read from Stripe", run.failed)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_is_a_day_or_a_moment() {
        assert_eq!(parse_since("2026-11-01").unwrap().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(parse_since("2026-11-01T10:00:00+02:00").unwrap().to_rfc3339(), "2026-11-01T08:00:00+00:00");
        assert!(parse_since("yesterday").is_err());
        assert!(parse_since("2026-13-01").is_err());
    }
}
