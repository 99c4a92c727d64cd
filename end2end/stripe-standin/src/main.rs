//! `stripe-standin`: the stand-in as a process, for the browser tests.
//! Prints `stripe-standin listening on http://127.0.0.1:PORT/` once bound.

use std::io::Write as _;
use std::net::SocketAddr;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "stripe-standin",
    about = "A Stripe stand-in for Portcullis's tests (loopback only)."
)]
struct Args {
    /// Address to bind (loopback only; port 0 picks a free port).
    #[arg(long, env = "STANDIN_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// Secret key clients must send as `Authorization: Bearer <key>`.
    #[arg(long, env = "STANDIN_API_KEY", default_value = "sk_test_standin")]
    api_key: String,
    /// Where signed events are POSTed (none: events are only recorded).
    #[arg(long, env = "STANDIN_WEBHOOK_URL")]
    webhook_url: Option<String>,
    /// Webhook signing secret.
    #[arg(long, env = "STANDIN_WEBHOOK_SECRET", default_value = "whsec_standin")]
    webhook_secret: String,
    /// Base URL of the hosted pages, if browsers reach the stand-in under another name.
    #[arg(long, env = "STANDIN_PUBLIC_BASE")]
    public_base: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = stripe_standin::Config {
        addr: args.addr,
        api_key: args.api_key,
        webhook_url: args.webhook_url,
        webhook_secret: args.webhook_secret,
        public_base: args.public_base,
    };
    let standin = match stripe_standin::spawn(config).await {
        Ok(standin) => standin,
        Err(err) => {
            eprintln!("stripe-standin: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "stripe-standin listening on {}", standin.base_url);
    let _ = out.flush();
    wait_for_signal().await;
    standin.shutdown().await;
    std::process::ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
