//! Test harness shared by every integration test module: the real
//! application on port 0, a fresh database per test (a SQLite file in a temp
//! dir, or a new database on the PostgreSQL server named by
//! `PORTCULLIS_TEST_POSTGRES_URL`), spoken to over real HTTP; the
//! `on_both_backends!` macro; and per-area helpers in the submodules.

pub mod api;
pub mod audit;
pub mod billing;
pub mod harbor;
pub mod mail;
pub mod registry;

use app::domain::{Email, Password, Role};
use app::backend::services::audit::Actor;
use app::backend::db::Db;
use app::backend::services::users;
use app::backend::web::RequestMeta;
use reqwest::{header, redirect::Policy, Client, Response};
use server::{
    config::{Config, DbConfig, RegistryConfig, Secret},
    startup::Application,
};
use std::{num::NonZeroU32, time::Duration};
use tokio::sync::oneshot;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares `mod sqlite` and `mod postgres`, each running every listed test
/// function (an `async fn(Backend)`) against its backend: the test names
/// carry `sqlite::` or `postgres::`, which `scripts/test.sh` selects by.
/// In scope in every test module through `#[macro_use] mod support;`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name($crate::support::Backend::Postgres).await }
            )*
        }
    };
}

pub struct TestApp {
    pub base: String,
    /// The token service (its cache, counters and limits).
    pub registry: std::sync::Arc<server::routes::registry::RegistryService>,
    pub db: Db,
    pub database_url: String,
    pub client: Client,
    /// The key folder imported at the first start (`PORTCULLIS_REGISTRY_KEY_DIR`).
    pub registry_key_dir: std::path::PathBuf,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
}

pub struct Options {
    pub per_ip_per_minute: u32,
    pub per_account_per_minute: u32,
    pub base_url: Option<String>,
    /// The registry host shown in snippets (`PORTCULLIS_REGISTRY_HOST`).
    pub registry_host: Option<String>,
    /// Stripe (the tests point it at the stand-in).
    pub stripe: Option<server::config::StripeConfig>,
    /// The time limit of audit reads (`PORTCULLIS_AUDIT_QUERY_TIMEOUT_MS`).
    pub audit_query_timeout: Duration,
    /// Connection bounds, token failure limit, attempt window.
    pub edge: server::config::EdgeConfig,
    /// Another app's database (a second replica); `None` = a fresh one.
    pub database_url: Option<String>,
    /// The key folder imported at the first start; `None` = an empty path in the app's temp dir.
    pub registry_key_dir: Option<std::path::PathBuf>,
    /// The key-encryption keys; `None` = the built-in one (as the CLI has without secrets).
    pub keks: Option<server::signing::kek::Keks>,
    /// `PORTCULLIS_METRICS_TOKEN`.
    pub metrics_token: Option<String>,
    /// SMTP (`support::mail::SmtpServer::settings`) and the mail limits;
    /// the default has no SMTP: mails wait in the outbox.
    pub mail: server::config::MailConfig,
    /// Which roles must sign in with a second factor (none unless a test asks).
    pub two_factor: app::domain::two_factor::TwoFactorPolicy,
    /// Harbor provisioning (off unless a test turns it on).
    pub harbor: Option<server::config::harbor::HarborConfig>,
    /// The pull gateway (off unless a test turns it on).
    pub gateway: Option<server::config::gateway::GatewayConfig>,
}

/// The edge settings of test portals: counted attempts are written a
/// second after they happen, and failures are not limited unless a test
/// asks for it.
pub fn test_edge() -> server::config::EdgeConfig {
    server::config::EdgeConfig {
        attempt_window: Duration::from_secs(1),
        token_failures_per_minute: NonZeroU32::new(100_000).unwrap(),
        ..Default::default()
    }
}

impl Default for Options {
    fn default() -> Self {
        Self {
            per_ip_per_minute: 1000,
            per_account_per_minute: 1000,
            base_url: None,
            registry_host: None,
            stripe: None,
            audit_query_timeout: app::backend::db::audit::DEFAULT_QUERY_TIMEOUT,
            edge: test_edge(),
            database_url: None,
            registry_key_dir: None,
            keks: None,
            metrics_token: None,
            // The notices job finds nothing to do in tests unless a test
            // runs it with settings of its own (`services::notices::run`).
            mail: server::config::MailConfig {
                notices: app::backend::services::notices::NoticeSettings { thresholds: Vec::new(), digest_at: None, ..Default::default() },
                ..Default::default()
            },
            two_factor: app::domain::two_factor::TwoFactorPolicy::none(),
            harbor: None,
            gateway: None,
        }
    }
}

/// A fresh, empty database URL for `backend`.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("portcullis.db").display()),
        Backend::Postgres => {
            let admin = std::env::var("PORTCULLIS_TEST_POSTGRES_URL").expect(
                "PORTCULLIS_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, \
                 which starts a private PostgreSQL server",
            );
            let name = format!("portcullis_test_{}", uuid::Uuid::new_v4().simple());
            let admin_db = Db::connect(&admin).await.expect("connect to the test PostgreSQL server");
            if let Db::Postgres(pool) = &admin_db {
                sqlx::query(&format!("CREATE DATABASE {name}")).execute(pool).await.expect("create test database");
            }
            admin_db.close().await;
            let (base, _) = admin.rsplit_once('/').expect("URL has a database path");
            format!("{base}/{name}")
        }
    }
}

/// The configuration of a test portal on `database_url` with `registry_key_dir`.
pub fn config(opts: &Options, database_url: &str, registry_key_dir: &std::path::Path) -> Config {
    let mut registry = RegistryConfig::with_key_dir(registry_key_dir);
    if let Some(host) = &opts.registry_host {
        registry.host = host.clone();
    }
    if let Some(keks) = &opts.keks {
        registry.keks = keks.clone();
    }
    Config {
        db: DbConfig { database_url: database_url.to_owned() },
        site_addr: "127.0.0.1:0".parse().unwrap(),
        base_url: opts.base_url.as_deref().map(|u| u.parse().unwrap()),
        session_secret: Secret::new("test-secret-test-secret-test-secret-0123456789"),
        demo: false,
        client_ip_header: None,
        login_limits: app::backend::web::ratelimit::LoginLimits {
            per_ip_per_minute: NonZeroU32::new(opts.per_ip_per_minute).unwrap(),
            per_account_per_minute: NonZeroU32::new(opts.per_account_per_minute).unwrap(),
        },
        registry,
        stripe: opts.stripe.clone(),
        audit_query_timeout: opts.audit_query_timeout,
        edge: opts.edge.clone(),
        fleet: server::config::FleetConfig {
            metrics_token: opts.metrics_token.clone().map(Secret::new),
            ..Default::default()
        },
        mail: opts.mail.clone(),
        two_factor: opts.two_factor.clone(),
        harbor: opts.harbor.clone(),
        gateway: opts.gateway.clone(),
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, opts: Options) -> Self {
        // One subscriber for the whole test process: the first test installs
        // it, `try_init` leaves it in place for the others. Its test writer
        // prints to the output of the test whose threads logged (a test's
        // runtime threads inherit its capture): shown only when it fails.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("warn,server=info,app=info").try_init();
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = match &opts.database_url {
            Some(url) => url.clone(),
            None => fresh_database(backend, dir.path()).await,
        };
        let registry_key_dir = opts.registry_key_dir.clone().unwrap_or_else(|| dir.path().join("registry-keys"));
        let config = config(&opts, &database_url, &registry_key_dir);
        let app = Application::build(config).await.expect("application builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let db = app.db.clone();
        let registry = app.registry.clone();
        let (tx, rx) = oneshot::channel();
        let server = tokio::spawn(app.run_until(async move {
            let _ = rx.await;
        }));
        Self {
            base,
            registry,
            db,
            database_url,
            client: client(),
            registry_key_dir,
            shutdown: Some(tx),
            server: Some(server),
            _dir: dir,
        }
    }

    /// A second portal on this one's database and key folder: another
    /// replica of the same fleet.
    pub async fn replica(&self, opts: Options) -> Self {
        let opts = Options {
            database_url: Some(self.database_url.clone()),
            registry_key_dir: Some(self.registry_key_dir.clone()),
            ..opts
        };
        Self::spawn_with(Backend::Sqlite, opts).await
    }

    /// Shuts the server down cleanly (as on SIGTERM) and waits until it has
    /// finished, queued audit writes included. The database stays readable.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("server task").expect("server ran");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Calls a server function the way a hydrated page does (form-encoded POST).
    pub async fn call(&self, client: &Client, endpoint: &str, form: &[(&str, &str)]) -> Response {
        client
            .post(self.url(&format!("/fn/{endpoint}")))
            .header(header::ORIGIN, &self.base)
            .form(form)
            .send()
            .await
            .expect("request sent")
    }

    /// A page load as a browser makes it (asking for HTML).
    pub async fn get(&self, client: &Client, path: &str) -> Response {
        client.get(self.url(path)).header(header::ACCEPT, "text/html").send().await.expect("request sent")
    }

    /// Creates an account directly through the service layer.
    pub async fn create_user(&self, email: &str, password: &str, role: Role) -> i64 {
        users::create(
            &self.db,
            &Email::parse(email).unwrap(),
            &Password::parse(password, None).unwrap(),
            role,
            Actor::System,
            &RequestMeta::default(),
        )
        .await
        .expect("user created")
    }

    /// A new cookie-keeping client, logged in as a fresh account of `role`.
    pub async fn logged_in(&self, role: Role) -> (Client, String) {
        let email = format!("{}-{}@example.com", role.as_str(), uuid::Uuid::new_v4().simple());
        self.create_user(&email, PASSWORD, role).await;
        let c = client();
        let res = self.call(&c, "login", &[("email", &email), ("password", PASSWORD)]).await;
        assert!(res.status().is_success(), "login as {role}: {}", res.status());
        (c, email)
    }

    /// Runs raw SQL against the app's database (to break or inspect it).
    pub async fn exec(&self, sql: &str) -> Result<u64, sqlx::Error> {
        match &self.db {
            Db::Sqlite(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
            Db::Postgres(p) => sqlx::query(sql).execute(p).await.map(|r| r.rows_affected()),
        }
    }

    /// The audit rows as (action, outcome, actor, ip, details) tuples, oldest first.
    /// Writes the counted unauthenticated attempts now (as the flusher does
    /// when their minute ends), so a test can read their audit rows.
    pub async fn flush_attempts(&self) {
        self.registry.services.attempts.flush(&self.db, None).await.expect("attempts written");
    }

    pub async fn audit(&self) -> Vec<(String, String, String, Option<String>, serde_json::Value)> {
        let rows = app::backend::db::audit::list_recent(&self.db, None, 1000).await.unwrap();
        rows.into_iter()
            .rev()
            .map(|r| (r.action, r.outcome, r.actor, r.ip, r.details.0))
            .collect()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

pub fn client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

/// The JSON body of a response.
pub async fn json(res: Response) -> serde_json::Value {
    let text = res.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The key a registry token's header names: the libtrust id of the key in
/// its `x5c` certificate (tokens carry no `kid`: Distribution 3.x refuses
/// libtrust ids).
pub fn token_kid(header: &serde_json::Value) -> String {
    use base64::Engine;
    assert!(header.get("kid").is_none(), "x5c only: {header}");
    let cert = header["x5c"][0].as_str().unwrap_or_else(|| panic!("no x5c in {header}"));
    let der = base64::engine::general_purpose::STANDARD.decode(cert).expect("x5c is base64 DER");
    server::signing::keys::certificate_kid(&der).expect("a P-256 certificate")
}
