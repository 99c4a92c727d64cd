//! Fault switches: a Harbor that fails, is slow, drops connections or is
//! down; and the listener that lets a handler close its connection without
//! an answer.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::connect_info::Connected;
use axum::serve::IncomingStream;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// The switches. Every API call (`/api/v2.0/…`) passes them in this order:
/// `slow_ms`, then `down`, `drop_connections`, `fail_status`. The token
/// service (`/service/token`) obeys `down` and `drop_connections` only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Faults {
    /// Answer API calls with this status (and a Harbor error body).
    pub fail_status: Option<u16>,
    /// How many more calls fail; `None`: every call while `fail_status` is set.
    pub fail_remaining: Option<u32>,
    /// Delay before every API answer, in milliseconds (0: none).
    pub slow_ms: u64,
    /// Close the connection of every API and token request without an answer.
    pub drop_connections: bool,
    /// Harbor is down: API and token requests are answered 503.
    pub down: bool,
}

/// What the switches make of one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Down,
    Drop,
    Fail(u16),
}

impl Verdict {
    pub fn name(self) -> Option<&'static str> {
        match self {
            Verdict::Pass => None,
            Verdict::Down => Some("down"),
            Verdict::Drop => Some("drop"),
            Verdict::Fail(_) => Some("fail"),
        }
    }
}

impl Faults {
    /// The delay and the verdict for one API call (uses up one counted failure).
    pub fn api_call(&mut self) -> (Duration, Verdict) {
        let delay = Duration::from_millis(self.slow_ms);
        if self.down {
            return (delay, Verdict::Down);
        }
        if self.drop_connections {
            return (delay, Verdict::Drop);
        }
        if let Some(status) = self.fail_status {
            match self.fail_remaining {
                None => return (delay, Verdict::Fail(status)),
                Some(0) => {
                    self.fail_status = None;
                    self.fail_remaining = None;
                }
                Some(n) => {
                    self.fail_remaining = Some(n - 1);
                    if n == 1 {
                        self.fail_status = None;
                        self.fail_remaining = None;
                    }
                    return (delay, Verdict::Fail(status));
                }
            }
        }
        (delay, Verdict::Pass)
    }

    /// The verdict for one token request.
    pub fn token_call(&self) -> Verdict {
        if self.down {
            Verdict::Down
        } else if self.drop_connections {
            Verdict::Drop
        } else {
            Verdict::Pass
        }
    }
}

/// A TCP listener whose connections a handler can kill ([`ConnInfo::kill`]).
pub struct KillableListener {
    inner: TcpListener,
}

impl KillableListener {
    pub fn new(inner: TcpListener) -> Self {
        Self { inner }
    }
}

impl axum::serve::Listener for KillableListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.inner.accept().await {
                Ok((stream, peer)) => {
                    let stream = KillableStream {
                        stream,
                        killed: Arc::new(AtomicBool::new(false)),
                    };
                    return (stream, peer);
                }
                // Out of descriptors and the like: wait a little, as axum does.
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A connection that fails every read and write once killed; the server
/// then drops it, and with a zero linger the peer gets a reset.
pub struct KillableStream {
    stream: TcpStream,
    killed: Arc<AtomicBool>,
}

impl KillableStream {
    fn check(&mut self) -> io::Result<()> {
        if self.killed.load(Ordering::SeqCst) {
            let _ = self.stream.set_zero_linger();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionReset,
                "harbor-standin: connection dropped by the fault switch",
            ));
        }
        Ok(())
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.check()?;
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The peer of a request and the switch that kills its connection.
#[derive(Clone, Debug)]
pub struct ConnInfo {
    pub peer: SocketAddr,
    killed: Arc<AtomicBool>,
}

impl ConnInfo {
    /// The connection fails from now on: the answer being prepared is never sent.
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, KillableListener>> for ConnInfo {
    fn connect_info(stream: IncomingStream<'_, KillableListener>) -> Self {
        Self {
            peer: *stream.remote_addr(),
            killed: stream.io().killed.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counted_failures_run_out() {
        let mut faults = Faults {
            fail_status: Some(500),
            fail_remaining: Some(2),
            ..Faults::default()
        };
        assert_eq!(faults.api_call().1, Verdict::Fail(500));
        assert_eq!(faults.api_call().1, Verdict::Fail(500));
        assert_eq!(faults.api_call().1, Verdict::Pass);
        assert_eq!(faults, Faults::default());
    }

    #[test]
    fn down_wins_over_drop_and_fail() {
        let mut faults = Faults {
            fail_status: Some(500),
            drop_connections: true,
            down: true,
            slow_ms: 5,
            ..Faults::default()
        };
        assert_eq!(faults.api_call(), (Duration::from_millis(5), Verdict::Down));
        faults.down = false;
        assert_eq!(faults.api_call().1, Verdict::Drop);
        assert_eq!(faults.token_call(), Verdict::Drop);
        faults.drop_connections = false;
        assert_eq!(faults.api_call().1, Verdict::Fail(500));
        assert_eq!(faults.token_call(), Verdict::Pass);
    }
}
