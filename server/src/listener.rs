//! The accept loop: HTTP/1.1 over hyper with the bounds a public listener
//! needs, which `axum::serve` does not set (it has no timer, so a client
//! that never finishes its headers holds its connection for ever):
//! - at most `max_connections` connections at once: past it the loop stops
//!   accepting until one closes, and the kernel's backlog queues the rest;
//! - a request head must arrive within `header_timeout`, which also closes
//!   a kept-alive connection that stays idle that long (hyper starts the
//!   timer whenever it waits for a head);
//! - request heads (line and headers) of at most [`MAX_HEAD_BYTES`]
//!   (hyper answers 431 past it);
//! - `TCP_NODELAY` (pages stream in small writes; with Nagle's algorithm
//!   each waited for the client's delayed ACK, ~40 ms a page).
//!
//! The body's own timeout and size limit are router layers
//! (`startup::router`). HTTP/2 is not offered: the portal sits behind a
//! TLS-terminating proxy that speaks HTTP/1.1 to it. On shutdown every
//! connection finishes the request in flight and closes.

use crate::config::EdgeConfig;
use axum::{extract::ConnectInfo, Router};
use hyper::{body::Incoming, server::conn::http1, Request};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
};
use std::{future::Future, sync::Arc, time::Duration};
use tokio::{net::TcpListener, sync::Semaphore};
use tower::ServiceExt;

/// The largest request head read (hyper's buffer; it answers 431 past it).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long shutdown waits for requests in flight before it stops anyway.
const DRAIN_LIMIT: Duration = Duration::from_secs(30);

/// Serves `router` on `listener` until `shutdown` resolves, then lets the
/// requests in flight finish (at most [`DRAIN_LIMIT`]).
pub async fn serve<F>(listener: TcpListener, router: Router, edge: &EdgeConfig, shutdown: F) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(edge.max_connections));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(edge.header_timeout)
        .max_buf_size(MAX_HEAD_BYTES)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait, do not spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::warn!(error = %e, "could not set TCP_NODELAY");
        }
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(req)
        });
        let conn = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
        tokio::spawn(async move {
            // Errors here are the client's (reset, timeout, bad request line).
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_LIMIT, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still running after {DRAIN_LIMIT:?} at shutdown; stopping anyway");
    }
    Ok(())
}
