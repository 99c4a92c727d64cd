//! A Stripe stand-in for Portcullis's tests: the slice of Stripe's API the
//! portal calls (API version 2026-09-30.endive), hosted Checkout and billing
//! portal pages, test controls under `/test/`, and signed webhook delivery
//! with retries, duplicates and reordering. In memory, loopback only.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let standin = stripe_standin::spawn(stripe_standin::Config {
//!     webhook_url: Some("http://127.0.0.1:3000/stripe/webhook".into()),
//!     ..stripe_standin::Config::default()
//! })
//! .await?;
//! // Point the portal's Stripe client at `standin.base_url`, then:
//! let controls = standin.controls();
//! # let session_id = "cs_test_x";
//! controls.pay_checkout_session(session_id).ok();
//! controls.flush(std::time::Duration::from_secs(10)).await;
//! standin.shutdown().await;
//! # Ok(()) }
//! ```

#![recursion_limit = "256"]

mod actions;
mod api;
mod controls;
mod error;
mod form;
mod objects;
mod pages;
mod records;
mod state;
mod webhooks;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use controls::{Controls, WebhookSwitches};
pub use error::ApiError;
pub use objects::API_VERSION;
pub use webhooks::signature_header;

/// How to run a stand-in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; must be a loopback address (port 0: any free port).
    pub addr: SocketAddr,
    /// The secret key clients must send as `Authorization: Bearer <api_key>`.
    pub api_key: String,
    /// Where events are POSTed; `None`: events are only recorded (set it
    /// later with [`Controls::set_webhooks`] or `POST /test/webhooks`).
    pub webhook_url: Option<String>,
    /// The `whsec_...` secret events are signed with.
    pub webhook_secret: String,
    /// The base of the hosted pages' URLs (session `url`s), if browsers must
    /// reach the stand-in under another name; default: `base_url`.
    pub public_base: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            api_key: "sk_test_standin".into(),
            webhook_url: None,
            webhook_secret: "whsec_standin".into(),
            public_base: None,
        }
    }
}

/// A running stand-in.
pub struct StandIn {
    /// `http://127.0.0.1:PORT/`, with the trailing slash (the API base).
    pub base_url: String,
    /// The bound address.
    pub addr: SocketAddr,
    controls: Controls,
    stop: watch::Sender<bool>,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
}

impl StandIn {
    /// The test controls as Rust calls (the same as the `/test/` routes).
    pub fn controls(&self) -> Controls {
        self.controls.clone()
    }

    /// The key clients must present.
    pub fn api_key(&self) -> &str {
        &self.controls.shared.api_key
    }

    /// The base of the hosted pages' URLs.
    pub fn public_base(&self) -> &str {
        &self.controls.shared.public_base
    }

    /// Stops serving and delivering (queued deliveries are dropped).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.server.await;
        let _ = self.worker.await;
    }
}

/// Binds `config.addr` and starts serving and delivering in the background.
pub async fn spawn(config: Config) -> std::io::Result<StandIn> {
    if !config.addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "stripe-standin binds loopback addresses only, not {}",
                config.addr
            ),
        ));
    }
    let listener = tokio::net::TcpListener::bind(config.addr).await?;
    let addr = listener.local_addr()?;
    let base_url = format!("http://{addr}/");
    let public_base = match config.public_base {
        Some(base) if base.ends_with('/') => base,
        Some(base) => format!("{base}/"),
        None => base_url.clone(),
    };
    let hooks = state::WebhookSettings {
        url: config.webhook_url.filter(|u| !u.is_empty()),
        secret: config.webhook_secret,
        duplicates: false,
        out_of_order: false,
        hold: false,
    };
    let shared = Arc::new(state::Shared::new(config.api_key, public_base, hooks));
    let app = Router::new()
        .merge(api::router(shared.clone()))
        .merge(pages::router())
        .merge(controls::router())
        .fallback(
            |method: axum::http::Method, uri: axum::http::Uri| async move {
                ApiError::not_found_route(method.as_str(), uri.path())
            },
        )
        .with_state(shared.clone());
    let (stop, stopped) = watch::channel(false);
    let mut server_stop = stopped.clone();
    let server = tokio::spawn(async move {
        let service = app.into_make_service_with_connect_info::<SocketAddr>();
        let result = axum::serve(listener, service)
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(err) = result {
            tracing::error!("stripe-standin: server: {err}");
        }
    });
    let worker = tokio::spawn(webhooks::deliver_forever(shared.clone(), stopped));
    Ok(StandIn {
        base_url,
        addr,
        controls: Controls { shared },
        stop,
        server,
        worker,
    })
}
