//! The registry commands: `portcullis registry config|key …` and
//! `portcullis credential create`.

use crate::cli::registry_config as config_file;
use crate::cli::registry_config::RegistryFile;
use crate::signing::keys::KeyStore;
use crate::{
    cli::CliError,
    config::{self, RegistryConfig, DEFAULT_SITE_ADDR},
    startup,
};
use app::domain::credential::CredentialKind;
use app::domain::Email;
use app::backend::services::audit::Actor;
use app::backend::services::credentials;
use app::backend::db;
use app::backend::web::RequestMeta;
use clap::Subcommand;
use std::{net::SocketAddr, path::PathBuf};

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Write a ready-to-run Distribution registry config (config.yml,
    /// bundle.pem, storage/) into DIR.
    Config {
        /// The folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Where the registry listens.
        #[arg(long, default_value = "127.0.0.1:5000")]
        listen: SocketAddr,
        /// The portal's URL as clients and the registry reach it
        /// (default: PORTCULLIS_BASE_URL, else http:// + LEPTOS_SITE_ADDR).
        #[arg(long)]
        portal_url: Option<String>,
    },
    /// Manage the token-signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List the keys in the bundle; the active one signs.
    List,
    /// Generate a key and add it to the bundle (it does not sign yet).
    Add,
    /// Make a key sign new tokens (once the registry has the new bundle).
    Activate { kid: String },
    /// Take a key out of the bundle (after its last tokens have expired).
    Retire { kid: String },
}

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Create a registry credential; its secret is printed once.
    Create {
        /// The owner: a customer (pull credential) or, with --push, an admin.
        #[arg(long)]
        email: String,
        /// A name to recognise it by (e.g. "prod-cluster", "ci").
        #[arg(long)]
        name: String,
        /// A push credential (admins: push and pull on every product's repositories).
        #[arg(long)]
        push: bool,
        /// Expiry: a date (2027-01-31, end of day UTC) or an RFC 3339 time.
        #[arg(long)]
        expires: Option<String>,
    },
}

fn keys(settings: &RegistryConfig) -> Result<KeyStore, CliError> {
    KeyStore::open_or_init(&settings.key_dir)
        .map_err(|e| CliError::Other(format!("PORTCULLIS_REGISTRY_KEY_DIR: {e}")))
}

pub async fn registry(cmd: RegistryCommand) -> Result<(), CliError> {
    let env = config::process_env();
    let settings = env.registry()?;
    let store = keys(&settings)?;
    let fail = |e: crate::signing::keys::KeyError| CliError::Other(e.to_string());
    match cmd {
        RegistryCommand::Config { out, listen, portal_url } => {
            let portal_url = match portal_url {
                Some(u) => u,
                None => match std::env::var("PORTCULLIS_BASE_URL").ok().filter(|v| !v.trim().is_empty()) {
                    Some(u) => u,
                    None => format!(
                        "http://{}",
                        std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| DEFAULT_SITE_ADDR.into())
                    ),
                },
            };
            let parsed = url::Url::parse(&portal_url)
                .map_err(|e| CliError::Input(format!("--portal-url: not a URL ({e}): {portal_url:?}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(CliError::Input("--portal-url: must be http:// or https://".into()));
            }
            let events_secret = match &settings.events_secret {
                Some(s) => s.expose().to_owned(),
                None => store.events_secret().map_err(fail)?,
            };
            let file = RegistryFile { portal_url: &portal_url, listen, service: &settings.service, issuer: &settings.issuer };
            config_file::write(&file, &out, &store, &events_secret).map_err(fail)?;
            println!("wrote {0}/config.yml and {0}/bundle.pem (images go to {0}/storage)", out.display());
            println!("start the registry with: docker-registry serve {}/config.yml", out.display());
            Ok(())
        }
        RegistryCommand::Key(KeyCommand::List) => {
            for k in store.list().map_err(fail)? {
                println!("{}  {}  {}", k.kid, k.created, if k.active { "active (signs tokens)" } else { "in bundle" });
            }
            Ok(())
        }
        RegistryCommand::Key(KeyCommand::Add) => {
            let kid = store.add().map_err(fail)?;
            println!("added {kid} to the bundle (not signing yet)");
            println!("next: rewrite the registry config (portcullis registry config --out DIR), restart the registry,");
            println!("then: portcullis registry key activate {kid}, and restart the portal");
            Ok(())
        }
        RegistryCommand::Key(KeyCommand::Activate { kid }) => {
            let kid = store.activate(&kid).map_err(fail)?;
            println!("{kid} now signs new tokens (restart the portal to apply)");
            Ok(())
        }
        RegistryCommand::Key(KeyCommand::Retire { kid }) => {
            let kid = store.retire(&kid).map_err(fail)?;
            println!("retired {kid}: rewrite the registry config and restart the registry to drop it from the bundle");
            Ok(())
        }
    }
}

pub async fn credential(cmd: CredentialCommand) -> Result<(), CliError> {
    let CredentialCommand::Create { email, name, push, expires } = cmd;
    let env = config::process_env();
    let email = Email::parse(&email).map_err(|e| CliError::Input(format!("--email: {e}")))?;
    let expires = credentials::parse_expiry(expires.as_deref().unwrap_or_default())
        .map_err(|e| CliError::Input(format!("--expires: {e}")))?;
    let database = startup::open_database(&env.db()?.database_url).await?;
    let result = async {
        let owner = db::users::find_by_email(&database, &email)
            .await
            .map_err(|e| CliError::Other(e.to_string()))?
            .ok_or_else(|| CliError::Input(format!("--email: no account {email}")))?;
        let kind = if push { CredentialKind::Push } else { CredentialKind::Pull };
        credentials::create(&database, owner.id, kind, &name, expires, Actor::Cli, &RequestMeta::default())
            .await
            .map_err(|e| match e {
                app::error::AppError::Invalid { field, message } | app::error::AppError::Conflict { field, message } => {
                    CliError::Input(format!("--{field}: {message}"))
                }
                other => CliError::Other(other.for_log()),
            })
    }
    .await;
    database.close().await;
    let created = result?;
    println!("created {} credential {:?} for {email}", created.credential.kind, created.credential.name);
    println!("username: {}", created.username);
    println!("secret: {}", created.secret);
    println!("(the secret is shown only now; the portal keeps a hash)");
    Ok(())
}
