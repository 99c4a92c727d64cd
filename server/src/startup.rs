//! Building the running application: database, migrations, sessions, the
//! router with its layers. `Application::build` binds first, so tests can ask
//! for port 0 and read the port back.

use crate::config::Config;
use crate::{middleware, routes};
use crate::middleware::OriginPolicy;
use crate::routes::registry;
use app::backend::db::Db;
use app::backend::web::ratelimit::LoginLimiter;
use app::backend::web::session::PortalSessionStore;
use app::backend::web::state::{AppState, AuthSettings, RegistrySettings};
use app::{shell, App};
use app::backend::services::audit::attempts::{self, Attempts};
use app::backend::web::ratelimit::FailureLimiter;
use axum::{extract::DefaultBodyLimit, routing::get, Router};
use leptos::prelude::*;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sha2::{Digest, Sha512};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use tower_http::{
    timeout::RequestBodyTimeoutLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};
use tower_sessions::{cookie::Key, cookie::SameSite, Expiry, SessionManagerLayer};
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("PORTCULLIS_DATABASE_URL: cannot open the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("PORTCULLIS_DATABASE_URL: migrations failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("LEPTOS_SITE_ADDR: cannot listen: {0}")]
    Bind(std::io::Error),
    #[error("demo data: {0}")]
    Demo(String),
    #[error("leptos configuration: {0}")]
    Leptos(String),
    #[error("{0}")]
    RegistryKeys(#[from] crate::signing::keys::KeyError),
    #[error("PORTCULLIS_STRIPE_SECRET_KEY: {0}")]
    Stripe(String),
}

/// The Stripe client and billing settings, when Stripe is configured.
fn billing(config: &Config, base_url: &Url) -> Result<Option<Arc<app::backend::services::billing::Billing>>, StartupError> {
    let Some(stripe) = &config.stripe else {
        tracing::info!("Stripe is not configured: online payment is off, admins grant access by hand");
        return Ok(None);
    };
    let settings = app::backend::services::billing::BillingSettings {
        grace: stripe.grace,
        end_access: stripe.end_access,
        public_base: base_url.clone(),
    };
    let billing = app::backend::services::billing::Billing::new(
        stripe.secret_key.expose(),
        stripe.webhook_secret.expose(),
        &stripe.api_base,
        settings,
    )
    .map_err(StartupError::Stripe)?;
    Ok(Some(Arc::new(billing)))
}

/// The largest request body anyone may send (the REST API, server
/// functions, webhooks, registry notifications): 1 MiB.
pub const MAX_BODY: usize = 1 << 20;

/// A bound, ready-to-run portal.
pub struct Application {
    listener: tokio::net::TcpListener,
    router: Router,
    pub addr: SocketAddr,
    pub base_url: Url,
    pub db: Db,
    pub demo_accounts: Vec<app::backend::services::demo::DemoAccount>,
    /// The token service (tests read its cache and counters).
    pub registry: Arc<registry::RegistryService>,
    /// Flushes the registry decisions still queued for the audit log.
    audit_drain: app::backend::services::registry::Drain,
    /// Seals the audit hash chain every second (`app::backend::services::audit::chain`).
    sealer: Task,
    /// Writes the counts of unauthenticated attempts (`services::audit::attempts`).
    attempts: Task,
    edge: crate::config::EdgeConfig,
}

/// A background task and the switch that stops it (it finishes its work).
type Task = (tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>);

async fn stop(task: Task, what: &str) {
    let (stop, handle) = task;
    let _ = stop.send(());
    if let Err(e) = handle.await {
        tracing::error!(error = %e, "{what} failed");
    }
}

/// Opens the database and applies migrations (used by `serve` and `migrate`).
pub async fn open_database(url: &str) -> Result<Db, StartupError> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    Ok(db)
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let db = open_database(&config.db.database_url).await?;
        let demo_accounts = if config.demo {
            let accounts = app::backend::services::demo::seed(&db).await.map_err(|e| StartupError::Demo(e.to_string()))?;
            app::backend::services::demo::seed_catalogue(&db).await.map_err(|e| StartupError::Demo(e.to_string()))?;
            accounts
        } else {
            Vec::new()
        };

        let listener = tokio::net::TcpListener::bind(config.site_addr).await.map_err(StartupError::Bind)?;
        let addr = listener.local_addr().map_err(StartupError::Bind)?;
        let base_url = match &config.base_url {
            Some(u) => u.clone(),
            None => Url::parse(&format!("http://{addr}")).expect("a socket address makes a valid URL"),
        };

        let mut leptos_options = get_configuration(None).map_err(|e| StartupError::Leptos(e.to_string()))?.leptos_options;
        leptos_options.site_addr = addr;

        let attempts = Arc::new(Attempts::new(config.edge.attempt_window));
        let state = AppState {
            leptos_options: leptos_options.clone(),
            db: db.clone(),
            auth: Arc::new(AuthSettings {
                public_origin: base_url.origin().ascii_serialization(),
                client_ip_header: config.client_ip_header.clone(),
            }),
            limiter: Arc::new(LoginLimiter::new(config.login_limits)),
            registry: Arc::new(RegistrySettings {
                host: config.registry.host.clone(),
                service: config.registry.service.clone(),
            }),
            billing: billing(&config, &base_url)?,
            audit_query_timeout: config.audit_query_timeout,
            attempts: attempts.clone(),
        };
        spawn_housekeeping(&state);
        app::backend::web::password::warm_up().await;

        let cache_max_age = Duration::from_millis(config.registry.cache_max_age_ms);
        let failures = FailureLimiter::new(config.edge.token_failures_per_minute);
        let (services, audit_drain) =
            app::backend::services::registry::Registry::start(db.clone(), cache_max_age, attempts.clone(), failures);
        let keys = crate::signing::store::open(&db, &config.registry).await?;
        let registry = registry::start(services, keys, &config.registry, config.client_ip_header.clone());
        let sessions = session_layer(&db, &config, &base_url).await?;
        let router = router(state, sessions, registry.clone(), &config.edge);
        let sealer = spawn_task(|stopped| app::backend::services::audit::chain::run_sealer(db.clone(), Duration::from_secs(1), stopped));
        // Closed counts are written within a few seconds of their window's end.
        let every = config.edge.attempt_window.min(Duration::from_secs(5));
        let attempts = spawn_task(|stopped| attempts::run_flusher(db.clone(), attempts, every, stopped));
        let edge = config.edge.clone();
        Ok(Self { listener, router, addr, base_url, db, demo_accounts, registry, audit_drain, sealer, attempts, edge })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let served = crate::listener::serve(self.listener, self.router, &self.edge, shutdown).await;
        // Every request has been answered: write the decisions and counts
        // still queued, then seal the chain over them.
        self.audit_drain.finish().await;
        stop(self.attempts, "the attempt counter's writer").await;
        stop(self.sealer, "the audit chain sealer").await;
        served
    }
}

async fn session_layer(
    db: &Db,
    config: &Config,
    base_url: &Url,
) -> Result<SessionManagerLayer<PortalSessionStore, tower_sessions::service::SignedCookie>, StartupError> {
    let store = PortalSessionStore::new(db).await?;
    let cleaner = store.clone();
    tokio::spawn(async move {
        use tower_sessions::ExpiredDeletion;
        if let Err(e) = cleaner.continuously_delete_expired(Duration::from_secs(3600)).await {
            tracing::error!(error = %e, "expired-session cleanup stopped");
        }
    });
    // The cookie key must be 64 bytes; derive it from the configured secret.
    let key = Key::from(Sha512::digest(config.session_secret.expose().as_bytes()).as_slice());
    Ok(SessionManagerLayer::new(store)
        .with_name("portcullis_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(base_url.scheme() == "https")
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)))
        .with_signed(key))
}

/// The page routes, generated once per process. Generating them renders
/// the app with leptos's *process-wide* `SuppressResourceLoad` flag set, so
/// any page another portal in the same process renders meanwhile waits for
/// resources that never load: with the tests' many portals in one process,
/// a page now and then never got its answer. Once per process, it always
/// happens before any portal serves.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::OnceLock<Vec<leptos_axum::AxumRouteListing>> = std::sync::OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

fn spawn_task<F, Fut>(start: F) -> Task
where
    F: FnOnce(tokio::sync::oneshot::Receiver<()>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let (stop, stopped) = tokio::sync::oneshot::channel();
    (stop, tokio::spawn(start(stopped)))
}

fn spawn_housekeeping(state: &AppState) {
    let catalogue = state.clone();
    tokio::spawn(async move { app::backend::services::billing::sync_published(&catalogue).await });
    let limiter = state.limiter.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.prune();
        }
    });
}

fn router(
    state: AppState,
    sessions: SessionManagerLayer<PortalSessionStore, tower_sessions::service::SignedCookie>,
    registry: Arc<registry::RegistryService>,
    edge: &crate::config::EdgeConfig,
) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = route_list();
    let origin = Arc::new(OriginPolicy { public_origin: state.auth.public_origin.clone() });
    let context_state = state.clone();
    Router::new()
        .route("/healthz", get(routes::health::healthz))
        .route(
            "/audit/export",
            get(routes::rest::audit::page_export).layer(axum::middleware::from_fn(routes::rest::error::log_internal_errors)),
        )
        .nest(routes::rest::PREFIX, routes::rest::router())
        .nest_service("/registry", registry::router(registry))
        .route("/stripe/webhook", axum::routing::post(routes::stripe::webhook))
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context_state.clone()),
            {
                let options = leptos_options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
        .layer(sessions)
        // Every body, server functions' included: at most MAX_BODY bytes
        // (`middleware::bounded_bodies`), arriving within the body timeout.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(middleware::bounded_bodies))
        .layer(RequestBodyTimeoutLayer::new(edge.body_timeout))
        .layer(axum::middleware::from_fn_with_state(origin, middleware::same_origin_writes))
        // Outside the panic catcher, so its 500 page gets the headers too.
        .layer(axum::middleware::from_fn(middleware::catch_panic))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
