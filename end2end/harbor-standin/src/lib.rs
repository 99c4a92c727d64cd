//! A Harbor stand-in for Portcullis's tests: the slice of Harbor's API v2.0
//! the portal calls (robot accounts v2, projects), checked against Harbor's
//! published spec in both directions, fault switches, controls that act as
//! a Harbor admin would in Harbor's UI, and Harbor's registry token service
//! so that a real CNCF Distribution registry can use it as its token realm.
//! In memory, loopback only.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let standin = harbor_standin::spawn(harbor_standin::Config::default()).await?;
//! // Point the portal's Harbor client at `standin.api_url()` with basic auth
//! // admin / Harbor12345, and a registry at `standin.token_realm()`.
//! let controls = standin.controls();
//! controls.create_project("proj").ok();
//! // ... run the portal ...
//! assert!(controls.violations().is_empty());
//! standin.shutdown().await;
//! # Ok(()) }
//! ```

mod api;
mod controls;
mod error;
mod faults;
mod rbac;
pub mod spec;
mod state;
mod token;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use controls::{
    AccessSnapshot, ControlError, Controls, PermissionSnapshot, ProjectSnapshot, RobotSnapshot,
};
pub use error::HarborError;
pub use faults::Faults;
pub use state::{RequestRecord, Violation, DEFAULT_ROBOT_PREFIX};

/// How to run a stand-in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; must be a loopback address (port 0: any free port).
    pub addr: SocketAddr,
    /// The admin user the API accepts (basic auth).
    pub admin_user: String,
    pub admin_password: String,
    /// Harbor's robot name prefix (`robot$`).
    pub robot_prefix: String,
    /// The tokens' `iss` (the registry's `auth.token.issuer`).
    pub token_issuer: String,
    /// The only `service` the token service serves (the registry's
    /// `auth.token.service`); Harbor's is `harbor-registry`.
    pub token_service: String,
    /// Token lifetime in minutes (Harbor's default: 30).
    pub token_expiration_minutes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            admin_user: "admin".into(),
            admin_password: "Harbor12345".into(),
            robot_prefix: DEFAULT_ROBOT_PREFIX.into(),
            token_issuer: "harbor-token-issuer".into(),
            token_service: "harbor-registry".into(),
            token_expiration_minutes: 30,
        }
    }
}

/// A running stand-in.
pub struct StandIn {
    /// `http://127.0.0.1:PORT/`, with the trailing slash.
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    controls: Controls,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
}

impl StandIn {
    /// The test controls as Rust calls (the same as the `/test/` routes).
    pub fn controls(&self) -> Controls {
        self.controls.clone()
    }

    /// `http://127.0.0.1:PORT/api/v2.0` (Harbor's API base, no trailing slash).
    pub fn api_url(&self) -> String {
        format!("{}api/v2.0", self.base_url)
    }

    /// `http://127.0.0.1:PORT/service/token`: the registry's `auth.token.realm`.
    pub fn token_realm(&self) -> String {
        format!("{}service/token", self.base_url)
    }

    /// The certificate the tokens are signed with, PEM: the registry's
    /// `auth.token.rootcertbundle`.
    pub fn token_certificate_pem(&self) -> &str {
        self.controls.shared.signer.certificate_pem()
    }

    /// The registry's `auth.token.service`.
    pub fn token_service(&self) -> &str {
        &self.controls.shared.settings.token_service
    }

    /// The registry's `auth.token.issuer`.
    pub fn token_issuer(&self) -> &str {
        &self.controls.shared.settings.token_issuer
    }

    pub fn admin_user(&self) -> &str {
        &self.controls.shared.settings.admin_user
    }

    pub fn admin_password(&self) -> &str {
        &self.controls.shared.settings.admin_password
    }

    /// Stops serving (open connections are closed).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
    }
}

/// Binds `config.addr` and starts serving in the background.
pub async fn spawn(config: Config) -> std::io::Result<StandIn> {
    if !config.addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "harbor-standin binds loopback addresses only, not {}",
                config.addr
            ),
        ));
    }
    if config.robot_prefix.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "harbor-standin: the robot prefix must not be empty",
        ));
    }
    // Parse the spec now rather than on the first request.
    let _ = spec::Spec::get();
    let signer = token::Signer::generate(&config.token_issuer)?;
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}/");
    let settings = state::Settings {
        admin_user: config.admin_user,
        admin_password: config.admin_password,
        robot_prefix: config.robot_prefix,
        token_issuer: config.token_issuer,
        token_service: config.token_service,
        token_expiration_minutes: i64::from(config.token_expiration_minutes),
    };
    let shared = Arc::new(state::Shared::new(settings, signer));
    let app = Router::new()
        .merge(api::router())
        .merge(controls::router())
        .fallback(|uri: axum::http::Uri| async move {
            let err = HarborError::not_found(format!("path {} was not found", uri.path()));
            (StatusCode::NOT_FOUND, axum::Json(err.body())).into_response()
        })
        .with_state(shared.clone());
    let (stop, mut stopped) = watch::channel(false);
    let listener = faults::KillableListener::new(listener);
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<faults::ConnInfo>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = stopped.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(err) = result {
            tracing::error!("harbor-standin: server: {err}");
        }
    });
    Ok(StandIn {
        base_url,
        addr,
        controls: Controls { shared },
        stop,
        server,
    })
}
