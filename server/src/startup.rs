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
use app::backend::services::audit::{chain, retention};
use app::backend::services::jobs::{self, Job};
use app::backend::services::mail::{outbox, Mail};
use app::backend::web::metrics::Metrics;
use app::backend::web::ratelimit::{self, FailureLimiter};
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
    /// A setting that names its variable in the message.
    #[error("{0}")]
    Config(String),
}

/// Harbor provisioning, when configured: the client, and the switch the
/// database's outbox triggers read (turned on, every customer with a pull
/// credential is queued once, so credentials made before get robots).
async fn harbor(db: &Db, config: &Config) -> Result<Option<Arc<app::backend::services::harbor::Harbor>>, StartupError> {
    use app::backend::services::harbor::{client, Harbor};
    let on = config.harbor.is_some();
    let turned_on = app::backend::db::harbor::set_enabled(db, on).await.map_err(|e| StartupError::Config(e.to_string()))?;
    let Some(h) = &config.harbor else { return Ok(None) };
    if turned_on {
        let cause = app::domain::harbor::OutboxCause::Start;
        app::backend::db::harbor::enqueue_everyone(db, cause, chrono::Utc::now()).await.map_err(|e| StartupError::Config(e.to_string()))?;
    }
    let client = client::Client::new(&h.url, h.user.clone(), client::AdminPassword(h.password.expose().to_owned()), h.timeout)
        .map_err(|e| StartupError::Config(format!("PORTCULLIS_HARBOR_URL: {e}")))?;
    Ok(Some(Arc::new(Harbor {
        client,
        prefix: h.prefix.clone(),
        registry_host: h.registry_host.clone(),
        reconcile_every: h.reconcile_every,
    })))
}

/// The Stripe client and billing settings, when Stripe is configured.
fn billing(config: &Config, base_url: &Url) -> Result<Option<Arc<app::backend::services::billing::Billing>>, StartupError> {
    let Some(stripe) = &config.stripe else {
        tracing::info!("Stripe is not configured: online payment is off, admins grant access by hand");
        return Ok(None);
    };
    billing_from(stripe, base_url).map(|b| Some(Arc::new(b)))
}

/// The Stripe client and billing settings (also for `portcullis stripe …`).
pub fn billing_from(stripe: &crate::config::stripe::StripeConfig, base_url: &Url) -> Result<app::backend::services::billing::Billing, StartupError> {
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
    Ok(billing)
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
    /// The fleet's background jobs (`app::backend::services::jobs`): stopped
    /// after the last request, each finishing its run in flight.
    jobs: (tokio::sync::watch::Sender<bool>, tokio::task::JoinHandle<()>),
    /// Writes the counts of unauthenticated attempts (`services::audit::attempts`).
    attempts: Task,
    edge: crate::config::EdgeConfig,
    /// The pull gateway on a listener of its own (`PORTCULLIS_GATEWAY_LISTEN`).
    gateway: Option<(tokio::net::TcpListener, Router)>,
    /// Where the gateway listens on its own, when it does.
    pub gateway_addr: Option<SocketAddr>,
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
        let metrics = Arc::new(Metrics::default());
        let mail = Arc::new(
            Mail::new(db.clone(), config.mail.smtp.as_ref(), config.demo, base_url.as_str(), config.mail.limits)
                .map_err(StartupError::Config)?,
        );
        let billing = billing(&config, &base_url)?;
        let harbor = harbor(&db, &config).await?;
        // The key-encryption keys seal TOTP and Harbor robot secrets too.
        let sealer: Arc<dyn app::backend::web::sealer::Sealer> = Arc::new(config.registry.keks.clone());
        let state = AppState {
            leptos_options: leptos_options.clone(),
            db: db.clone(),
            auth: Arc::new(AuthSettings {
                public_origin: base_url.origin().ascii_serialization(),
                client_ip_header: config.client_ip_header.clone(),
            }),
            limiter: Arc::new(LoginLimiter::new(db.clone(), config.login_limits)),
            registry: Arc::new(RegistrySettings {
                // Under Harbor, customers pull from Harbor (snippets name it).
                host: harbor.as_ref().map_or_else(|| config.registry.host.clone(), |h| h.registry_host.clone()),
                service: config.registry.service.clone(),
                gateway_host: config.gateway.as_ref().map(|g| {
                    g.host.clone().unwrap_or_else(|| match (g.listen, base_url.host_str()) {
                        (Some(at), Some(h)) => format!("{h}:{}", at.port()),
                        _ => base_url.host_str().map_or_else(String::new, |h| match base_url.port() {
                            Some(p) => format!("{h}:{p}"),
                            None => h.to_owned(),
                        }),
                    })
                }),
            }),
            billing: billing.clone(),
            audit_query_timeout: config.audit_query_timeout,
            attempts: attempts.clone(),
            metrics: metrics.clone(),
            mail: mail.clone(),
            sealer: sealer.clone(),
            two_factor: config.two_factor.clone(),
            harbor: harbor.clone(),
        };
        spawn_housekeeping(&state);
        app::backend::web::password::warm_up().await;

        let cache_max_age = Duration::from_millis(config.registry.cache_max_age_ms);
        let failures = FailureLimiter::new(db.clone(), config.edge.token_failures_per_minute);
        let (services, audit_drain) = app::backend::services::registry::Registry::start(
            db.clone(),
            cache_max_age,
            attempts.clone(),
            failures,
            metrics.clone(),
        );
        let keys = crate::signing::store::open(&db, &config.registry).await?;
        let gateway_service = config.gateway.as_ref().map(|g| g.service.clone());
        let registry = registry::start(services, keys, &config.registry, config.client_ip_header.clone(), gateway_service);
        // The pull gateway: `/v2/` here, or on its own listener.
        let mut gateway_service = None;
        let (gateway_routes, gateway) = match &config.gateway {
            None => (None, None),
            Some(g) => {
                let gw = routes::gateway::Gateway::new(
                    g,
                    base_url.as_str(),
                    app::backend::services::gateway::Versions::new(db.clone()),
                    registry.clone(),
                    config.client_ip_header.clone(),
                );
                gateway_service = Some(gw.clone());
                let routes = routes::gateway::router(gw);
                match g.listen {
                    None => (Some(routes), None),
                    Some(at) => {
                        let l = tokio::net::TcpListener::bind(at).await.map_err(StartupError::Bind)?;
                        (None, Some((l, routes.layer(PropagateRequestIdLayer::x_request_id()).layer(SetRequestIdLayer::x_request_id(MakeRequestUuid)))))
                    }
                }
            }
        };
        let gateway_addr = gateway.as_ref().and_then(|(l, _)| l.local_addr().ok());
        let (sessions, store) = session_layer(&db, &config, &base_url).await?;
        let metrics_access = routes::health::MetricsAccess(config.fleet.metrics_token.as_ref().map(|t| t.expose().to_owned()));
        let router = router(state, sessions, registry.clone(), &config.edge, metrics_access, gateway_routes, gateway_service);
        let (stop_jobs, jobs_stopped) = tokio::sync::watch::channel(false);
        let mut job_list = fleet_jobs(&db, &store, &config, &mail, billing);
        if let Some(harbor) = harbor {
            use app::backend::services::harbor::provision;
            let (pdb, psealer, h) = (db.clone(), sealer.clone(), harbor.clone());
            job_list.push(Job::new("harbor.provision", Duration::from_secs(2), provision::LEASE, move || {
                let (db, harbor, sealer) = (pdb.clone(), h.clone(), psealer.clone());
                async move { provision::run(&db, &harbor, sealer.as_ref()).await }
            }));
            let (rdb, every) = (db.clone(), harbor.reconcile_every);
            job_list.push(Job::new("harbor.reconcile", every, Duration::from_secs(30 * 60), move || {
                let (db, harbor, sealer) = (rdb.clone(), harbor.clone(), sealer.clone());
                async move { provision::reconcile_job(&db, &harbor, sealer.as_ref()).await }
            }));
        }
        let jobs = (stop_jobs, tokio::spawn(jobs::run(db.clone(), job_list, metrics, jobs_stopped)));
        // Closed counts are written within a few seconds of their window's end.
        let every = config.edge.attempt_window.min(Duration::from_secs(5));
        let attempts = spawn_task(|stopped| attempts::run_flusher(db.clone(), attempts, every, stopped));
        let edge = config.edge.clone();
        Ok(Self { listener, router, addr, base_url, db, demo_accounts, registry, audit_drain, jobs, attempts, edge, gateway, gateway_addr })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run_until<F>(self, shutdown: F) -> std::io::Result<()>
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        let served = match self.gateway {
            None => crate::listener::serve(self.listener, self.router, &self.edge, shutdown).await,
            Some((listener, routes)) => {
                // Both listeners stop on the same signal.
                let (stop, stopped) = tokio::sync::watch::channel(false);
                let edge = self.edge.clone();
                let wait = move |mut rx: tokio::sync::watch::Receiver<bool>| async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                let gateway = tokio::spawn({
                    let rx = stopped.clone();
                    async move { crate::listener::serve(listener, routes, &edge, wait(rx)).await }
                });
                let main = crate::listener::serve(self.listener, self.router, &self.edge, {
                    async move {
                        shutdown.await;
                        let _ = stop.send(true);
                    }
                })
                .await;
                if let Ok(Err(e)) = gateway.await {
                    tracing::error!(error = %e, "the gateway's listener failed");
                }
                main
            }
        };
        // Every request has been answered: write the decisions and counts
        // still queued, stop the jobs, then seal the chain over everything.
        self.audit_drain.finish().await;
        stop(self.attempts, "the attempt counter's writer").await;
        let (stop_jobs, jobs) = self.jobs;
        let _ = stop_jobs.send(true);
        if let Err(e) = jobs.await {
            tracing::error!(error = %e, "the job runner failed");
        }
        if let Err(e) = chain::seal_pending(&self.db).await {
            tracing::warn!(error = %e, "sealing the audit chain at shutdown failed");
        }
        served
    }
}

type Sessions = SessionManagerLayer<PortalSessionStore, tower_sessions::service::SignedCookie>;

/// The session layer and its store (whose expired sessions a job sweeps).
async fn session_layer(db: &Db, config: &Config, base_url: &Url) -> Result<(Sessions, PortalSessionStore), StartupError> {
    let store = PortalSessionStore::new(db).await?;
    // The cookie key must be 64 bytes; derive it from the configured secret.
    let key = Key::from(Sha512::digest(config.session_secret.expose().as_bytes()).as_slice());
    let layer = SessionManagerLayer::new(store.clone())
        .with_name("portcullis_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(base_url.scheme() == "https")
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(time::Duration::hours(12)))
        .with_signed(key);
    Ok((layer, store))
}

/// The background jobs every replica offers and the fleet runs once each
/// (`app::backend::services::jobs`).
fn fleet_jobs(db: &Db, store: &PortalSessionStore, config: &Config, mail: &Arc<Mail>, billing: Option<Arc<app::backend::services::billing::Billing>>) -> Vec<Job> {
    let minute = Duration::from_secs(60);
    let seal_db = db.clone();
    let sweep_db = db.clone();
    let sessions_db = db.clone();
    let store = store.clone();
    let mut list = vec![
        Job::new("audit.seal", Duration::from_secs(1), Duration::from_secs(30), move || {
            let db = seal_db.clone();
            async move { chain::seal_pending(&db).await.map(|n| format!("{n} sealed")).map_err(|e| e.to_string()) }
        }),
        Job::new("sessions.sweep", 60 * minute, 5 * minute, move || {
            let (store, db) = (store.clone(), sessions_db.clone());
            async move {
                use tower_sessions::ExpiredDeletion;
                store.delete_expired().await.map_err(|e| e.to_string())?;
                // The session list forgets what expired by inactivity (12 h).
                let listed = app::backend::db::sessions::sweep(&db, chrono::Utc::now() - chrono::Duration::hours(12)).await.map_err(|e| e.to_string())?;
                Ok(format!("expired sessions deleted, {listed} from the session list"))
            }
        }),
        Job::new("rate_limits.sweep", 10 * minute, minute, move || {
            let db = sweep_db.clone();
            async move { ratelimit::sweep(&db).await.map(|n| format!("{n} windows deleted")).map_err(|e| e.to_string()) }
        }),
    ];
    {
        let (db, settings) = (db.clone(), config.mail.notices.clone());
        list.push(Job::new("notices.send", 5 * minute, 5 * minute, move || {
            let (db, settings) = (db.clone(), settings.clone());
            async move { app::backend::services::notices::run(&db, &settings, chrono::Utc::now()).await }
        }));
    }
    if mail.delivers() {
        let (db, mail) = (db.clone(), mail.clone());
        list.push(Job::new("mail.deliver", Duration::from_secs(2), 5 * minute, move || {
            let (db, mail) = (db.clone(), mail.clone());
            async move { outbox::deliver_due(&db, &mail, chrono::Utc::now()).await }
        }));
    }
    if let (Some(billing), Some(stripe)) = (billing, &config.stripe) {
        // Checks every 10 minutes whether a run is due (daily, or after
        // refused webhook deliveries); a run may take long on a big store.
        let (db, every) = (db.clone(), stripe.reconcile_every);
        list.push(Job::new("billing.reconcile", 10 * minute, 60 * minute, move || {
            let (db, billing) = (db.clone(), billing.clone());
            async move { app::backend::services::billing::reconcile::when_due(&billing, &db, every).await }
        }));
    }
    if let Some((days, dir)) = config.fleet.retention.clone() {
        let db = db.clone();
        list.push(Job::new("audit.retain", 24 * 60 * minute, 60 * minute, move || {
            let (db, dir) = (db.clone(), dir.clone());
            async move {
                let cutoff = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
                retention::retain(&db, cutoff, &dir).await.map(|r| format!("{} events archived and deleted", r.deleted)).map_err(|e| e.to_string())
            }
        }));
    }
    list
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
}

fn router(
    state: AppState,
    sessions: Sessions,
    registry: Arc<registry::RegistryService>,
    edge: &crate::config::EdgeConfig,
    metrics_access: routes::health::MetricsAccess,
    gateway: Option<Router>,
    downloads: Option<Arc<routes::gateway::Gateway>>,
) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = route_list();
    let origin = Arc::new(OriginPolicy { public_origin: state.auth.public_origin.clone() });
    let context_state = state.clone();
    // What people use in a browser: pages, server functions and the audit
    // page's export, behind the session and the same-origin check.
    let people = match downloads {
        // Offline downloads (an OCI archive of a version) need the gateway's upstream.
        Some(gw) => Router::new().route(
            "/account/download",
            get(routes::gateway::download::download).layer(axum::Extension(gw)),
        ),
        None => Router::new(),
    };
    let people = people
        .route("/account/pulls.csv", get(routes::pulls_export::export).layer(axum::middleware::from_fn(routes::rest::error::log_internal_errors)))
        .route(
            "/audit/export",
            get(routes::rest::audit::page_export).layer(axum::middleware::from_fn(routes::rest::error::log_internal_errors)),
        )
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
        .with_state(state.clone())
        .layer(sessions)
        .layer(axum::middleware::from_fn_with_state(origin, middleware::same_origin_writes));
    // What machines call with their own credentials: no session is loaded
    // and no page layer runs for them (the token service's hot path).
    // The wasm, JS and CSS: served as files, not through leptos's file and
    // error handler, whose fresh reactive owner can inherit the response
    // options of a page rendering on the same thread (a 404 page's status
    // then reached the wasm: seen as a page that never hydrated).
    let machines = Router::new()
        .route_service(&leptos_axum::site_pkg_dir_service_route_path(&leptos_options), leptos_axum::site_pkg_dir_service(&leptos_options))
        .route("/livez", get(routes::health::livez))
        .route("/readyz", get(routes::health::readyz))
        .route("/healthz", get(routes::health::readyz))
        .route("/metrics", get(routes::health::metrics).layer(axum::Extension(metrics_access)))
        .nest(routes::rest::PREFIX, routes::rest::router())
        .route("/stripe/webhook", axum::routing::post(routes::stripe::webhook))
        .route("/unsubscribe", axum::routing::post(routes::unsubscribe::one_click))
        .with_state(state)
        .nest_service("/registry", registry::router(registry));
    let machines = match gateway {
        Some(g) => machines.merge(g),
        None => machines,
    };
    machines
        .merge(people)
        // Every body, server functions' included: at most MAX_BODY bytes
        // (`middleware::bounded_bodies`), arriving within the body timeout.
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn(middleware::bounded_bodies))
        .layer(RequestBodyTimeoutLayer::new(edge.body_timeout))
        // Outside the panic catcher, so its 500 page gets the headers too.
        .layer(axum::middleware::from_fn(middleware::catch_panic))
        .layer(axum::middleware::from_fn(middleware::security_headers))
        .layer(PropagateRequestIdLayer::x_request_id())
        // The span names the path, never the query: a mailed link's token
        // travels in it.
        .layer(TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
            tracing::debug_span!("request", method = %req.method(), path = %req.uri().path())
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
}
