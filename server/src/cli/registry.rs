//! The registry commands: `portcullis registry config|key …` and
//! `portcullis credential create`. The keys are the database's
//! (`PORTCULLIS_DATABASE_URL`, `signing::store`): every command first makes
//! sure it has them, as a starting portal does (importing the key folder or
//! generating a key), and every change is audited; running portals follow
//! an activation within seconds.

use crate::cli::registry_config as config_file;
use crate::cli::registry_config::RegistryFile;
use crate::signing::keys::KeyError;
use crate::signing::store;
use crate::{
    cli::CliError,
    config::{self, RegistryConfig, DEFAULT_SITE_ADDR},
    startup,
};
use app::domain::credential::CredentialKind;
use app::domain::Email;
use app::backend::services::audit::Actor;
use app::backend::services::{credentials, signing_keys};
use app::backend::db;
use app::domain::signing_key::KeyState;
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
        /// Which registry: distribution2 (Debian's docker-registry 2.8), distribution3 (registry:3) or zot.
        #[arg(long, value_enum, default_value_t)]
        flavour: config_file::Flavour,
    },
    /// Manage the token-signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// List the keys: the active one signs, pending ones are in the bundle, retired ones are not.
    List,
    /// Generate a key and add it to the bundle (it does not sign yet).
    Add,
    /// Make a key sign new tokens, on every portal within seconds (once the registry has the new bundle).
    Activate { kid: String },
    /// Take a key out of the bundle (after its last tokens have expired).
    Retire { kid: String },
    /// Re-seal every key and secret with the current PORTCULLIS_KEY_ENCRYPTION_KEY
    /// (after a rotation, with the old one in PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS).
    Rewrap,
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

pub async fn registry(mut cmd: RegistryCommand) -> Result<(), CliError> {
    let env = config::process_env();
    let settings = env.registry()?;
    if let RegistryCommand::Config { portal_url, .. } = &mut cmd {
        *portal_url = Some(portal_url_or_default(portal_url.take()).map_err(CliError::Input)?);
    }
    let database = startup::open_database(&env.db()?.database_url).await?;
    let result = run(&database, &settings, cmd).await.map_err(|e| CliError::Other(e.to_string()));
    database.close().await;
    result
}

async fn run(db: &db::Db, settings: &RegistryConfig, cmd: RegistryCommand) -> Result<(), KeyError> {
    let keks = &settings.keks;
    store::ensure(db, keks, &settings.key_dir, Actor::Cli).await?;
    match cmd {
        RegistryCommand::Config { out, listen, portal_url, flavour } => {
            let portal_url = portal_url.unwrap_or_default();
            let events_secret = match &settings.events_secret {
                Some(s) => s.expose().to_owned(),
                None => store::events_secret(db, keks).await?,
            };
            let file = RegistryFile { portal_url: &portal_url, listen, service: &settings.service, issuer: &settings.issuer, flavour };
            let (bundle_pem, active_pem) = (store::bundle_pem(db).await?, store::active_certificate(db).await?);
            let config = config_file::write(&file, &out, &config_file::TrustedKeys { bundle_pem: &bundle_pem, active_pem: &active_pem }, &events_secret)?;
            println!("wrote {} (images go to {}/storage)", config.display(), out.display());
            match flavour {
                config_file::Flavour::Distribution2 => println!("start the registry with: docker-registry serve {}", config.display()),
                config_file::Flavour::Distribution3 => println!("start the registry with: registry serve {} (registry:3)", config.display()),
                config_file::Flavour::Zot => {
                    println!("start the registry with: zot serve {}", config.display());
                    println!("zot trusts the active key alone: after `registry key activate`, write this again and restart zot");
                }
            }
        }
        RegistryCommand::Key(KeyCommand::List) => {
            let at = |t: chrono::DateTime<chrono::Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
            for k in signing_keys::list(db).await? {
                let what = match (k.state, k.retired_at) {
                    (KeyState::Active, _) => "active (signs tokens)".to_owned(),
                    (KeyState::Pending, _) => "in bundle (not signing)".to_owned(),
                    (KeyState::Retired, Some(t)) => format!("retired {} (out of the bundle)", at(t)),
                    (KeyState::Retired, None) => "retired (out of the bundle)".to_owned(),
                };
                println!("{}  {}  {what}  sealed with {}", k.kid, at(k.created_at), k.kek_id);
            }
        }
        RegistryCommand::Key(KeyCommand::Add) => {
            let kid = store::add(db, keks, Actor::Cli).await?;
            println!("added {kid} to the bundle (not signing yet)");
            println!("next: rewrite the registry config (portcullis registry config --out DIR) and restart the registry,");
            println!("then: portcullis registry key activate {kid}");
        }
        RegistryCommand::Key(KeyCommand::Activate { kid }) => {
            let (kid, done) = store::activate(db, keks, &kid, Actor::Cli).await?;
            match done {
                signing_keys::Activated::Already => println!("{kid} signs new tokens already"),
                signing_keys::Activated::Now { .. } => println!(
                    "{kid} now signs new tokens: every running portal switches to it within {} s, no restart",
                    store::FOLLOW_EVERY.as_secs() + 1
                ),
            }
        }
        RegistryCommand::Key(KeyCommand::Retire { kid }) => {
            let (kid, retired) = store::retire(db, &kid, Actor::Cli).await?;
            if retired {
                println!("retired {kid}: rewrite the registry config and restart the registry to drop it from the bundle");
            } else {
                println!("{kid} was retired already");
            }
        }
        RegistryCommand::Key(KeyCommand::Rewrap) => {
            let n = store::rewrap(db, keks, Actor::Cli).await?;
            println!("re-sealed {n} keys and secrets with the key-encryption key {}", keks.current_id());
        }
    }
    Ok(())
}

/// `--portal-url`, else PORTCULLIS_BASE_URL, else http:// + LEPTOS_SITE_ADDR;
/// an http(s) URL.
fn portal_url_or_default(given: Option<String>) -> Result<String, String> {
    let portal_url = match given {
        Some(u) => u,
        None => match std::env::var("PORTCULLIS_BASE_URL").ok().filter(|v| !v.trim().is_empty()) {
            Some(u) => u,
            None => format!("http://{}", std::env::var("LEPTOS_SITE_ADDR").unwrap_or_else(|_| DEFAULT_SITE_ADDR.into())),
        },
    };
    let parsed = url::Url::parse(&portal_url).map_err(|e| format!("--portal-url: not a URL ({e}): {portal_url:?}"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("--portal-url: must be http:// or https://".into());
    }
    Ok(portal_url)
}

pub async fn credential(cmd: CredentialCommand) -> Result<(), CliError> {
    let CredentialCommand::Create { email, name, push, expires } = cmd;
    let env = config::process_env();
    let email = Email::parse(&email).map_err(|e| CliError::Input(format!("--email: {e}")))?;
    let expires = credentials::parse_expiry(expires.as_deref().unwrap_or_default())
        .map_err(|e| CliError::Input(format!("--expires: {e}")))?;
    // Under Harbor a pull credential is a robot whose secret is sealed
    // until Harbor has it: the key-encryption keys are needed then.
    let harbor = env.harbor()?;
    let keks = match &harbor {
        Some(_) => Some(env.registry()?.keks),
        None => None,
    };
    let robots = match (&harbor, &keks) {
        (Some(h), Some(k)) => Some(app::backend::services::harbor::Robots { prefix: &h.prefix, sealer: k }),
        _ => None,
    };
    let database = startup::open_database(&env.db()?.database_url).await?;
    let result = async {
        let owner = db::users::find_by_email(&database, &email)
            .await
            .map_err(|e| CliError::Other(e.to_string()))?
            .ok_or_else(|| CliError::Input(format!("--email: no account {email}")))?;
        let kind = if push { CredentialKind::Push } else { CredentialKind::Pull };
        credentials::create(&database, owner.id, kind, &name, expires, robots, Actor::Cli, &RequestMeta::default())
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
