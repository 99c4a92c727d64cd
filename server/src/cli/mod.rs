//! The command line: `serve` (the default), `migrate`, `user create`,
//! `apikey create`; `registry …` and `credential create` live in
//! `registry.rs` (with `registry_config.rs`, the registry's config file), `audit …` in `audit.rs`,
//! `stripe reconcile` in `stripe.rs`.

pub mod audit;
pub mod registry;
pub mod registry_config;
pub mod stripe;

use crate::{
    config::{self, ConfigError},
    startup::{self, Application},
};
use app::domain::{Email, Password, Role};
use app::backend::services::{api_keys, users};
use app::backend::services::audit::Actor;
use app::backend::web::RequestMeta;
use clap::{Parser, Subcommand};
use std::io::Read;

#[derive(Debug, Parser)]
#[command(
    name = "portcullis",
    version,
    about = "Portcullis: a self-service vendor portal for software sold as container images.",
    long_about = "Portcullis: a self-service vendor portal for software sold as container images.\n\n\
                  Configuration comes from environment variables (and a .env file): \
                  PORTCULLIS_DATABASE_URL, LEPTOS_SITE_ADDR, PORTCULLIS_BASE_URL, \
                  PORTCULLIS_SESSION_SECRET and more; see README.md."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the portal (the default when no command is given).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage REST API keys.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// The container registry: its config, the token-signing keys.
    #[command(subcommand)]
    Registry(crate::cli::registry::RegistryCommand),
    /// Registry credentials (pull for customers, push for admins).
    #[command(subcommand)]
    Credential(crate::cli::registry::CredentialCommand),
    /// The audit log: verify its hash chain, seal, apply retention.
    #[command(subcommand)]
    Audit(crate::cli::audit::AuditCommand),
    /// Online payment: reconcile orders and entitlements with Stripe.
    #[command(subcommand)]
    Stripe(crate::cli::stripe::StripeCommand),
}

#[derive(Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// Demo mode: create demo accounts with fresh passwords (printed at start)
    /// and allow running without PORTCULLIS_SESSION_SECRET.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input.
    Create {
        /// The account's e-mail address.
        #[arg(long)]
        email: String,
        /// admin, auditor or customer.
        #[arg(long)]
        role: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a REST API key; its secret is printed once, never stored.
    Create {
        /// A name to recognise the key by (e.g. "crm").
        #[arg(long)]
        name: String,
        /// admin (read and write) or auditor (read only).
        #[arg(long)]
        role: String,
    },
}

/// What went wrong, as the one line printed before exiting non-zero.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Startup(#[from] startup::StartupError),
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Other(String),
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let env = config::process_env();
    match cli.command.unwrap_or(Command::Serve(ServeArgs::default())) {
        Command::Serve(args) => serve(env.serve(args.demo)?).await,
        Command::Migrate => {
            let db = env.db()?;
            let opened = startup::open_database(&db.database_url).await?;
            opened.close().await;
            println!("migrations applied to {}", db.redacted_url());
            Ok(())
        }
        Command::User(UserCommand::Create { email, role }) => {
            let email = Email::parse(&email).map_err(|e| CliError::Input(format!("--email: {e}")))?;
            let role: Role = role.parse().map_err(|e| CliError::Input(format!("--role: {e}")))?;
            let password = read_password()?;
            let password = Password::parse(&password, Some(email.as_str()))
                .map_err(|e| CliError::Input(format!("password (stdin): {e}")))?;
            let db = startup::open_database(&env.db()?.database_url).await?;
            let result = users::create(&db, &email, &password, role, Actor::Cli, &RequestMeta::default()).await;
            db.close().await;
            let id = result.map_err(|e| CliError::Other(e.to_string()))?;
            println!("created {role} {email} (id {id})");
            Ok(())
        }
        Command::Apikey(ApikeyCommand::Create { name, role }) => apikey_create(&env.db()?.database_url, &name, &role).await,
        Command::Registry(cmd) => crate::cli::registry::registry(cmd).await,
        Command::Credential(cmd) => crate::cli::registry::credential(cmd).await,
        Command::Audit(cmd) => crate::cli::audit::run(cmd).await,
        Command::Stripe(cmd) => crate::cli::stripe::run(cmd).await,
    }
}

/// Creates an API key and prints its secret: the only time it is shown
/// (the database keeps a hash).
async fn apikey_create(database_url: &str, name: &str, role: &str) -> Result<(), CliError> {
    let role = api_keys::parse_role(role).map_err(|e| CliError::Input(format!("--role: {e}")))?;
    let db = startup::open_database(database_url).await?;
    let result = api_keys::create(&db, name, role, Actor::Cli, &RequestMeta::default()).await;
    db.close().await;
    let created = result.map_err(|e| match e {
        app::error::AppError::Invalid { field, message } => CliError::Input(format!("--{field}: {message}")),
        other => CliError::Other(other.for_log()),
    })?;
    println!("created {} API key {:?} (id {}, key id {})", created.key.role, created.key.name, created.key.id, created.key.key_id);
    println!("secret (shown only now; it will not be shown again): {}", created.secret);
    println!("send it as: Authorization: Bearer <secret>");
    Ok(())
}

/// The password is the first line of standard input (a trailing newline is
/// not part of it), so `echo "$PW" | portcullis user create …` works.
fn read_password() -> Result<String, CliError> {
    let mut input = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut input)
        .map_err(|e| CliError::Input(format!("password (stdin): cannot read: {e}")))?;
    let line = input.lines().next().unwrap_or_default().to_owned();
    if line.is_empty() {
        return Err(CliError::Input("password (stdin): empty; pipe the password on standard input".into()));
    }
    Ok(line)
}

async fn serve(config: config::Config) -> Result<(), CliError> {
    let db_url = config.db.redacted_url();
    let demo = config.demo;
    let app = Application::build(config).await?;
    tracing::info!(address = %app.addr, base_url = %app.base_url, database = %db_url, "Portcullis listening");
    println!("Portcullis is running at {}", app.base_url);
    if demo {
        println!("Demo mode: these accounts have fresh passwords (printed only now):");
        for account in &app.demo_accounts {
            println!("  demo {:<8} {:<32} password: {}", account.role.as_str(), account.email, account.password);
        }
    }
    app.run_until(shutdown_signal()).await.map_err(|e| CliError::Other(format!("server error: {e}")))?;
    tracing::info!("Portcullis stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
