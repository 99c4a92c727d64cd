//! `harbor-standin`: the stand-in as a process, for the browser tests.
//! Prints `harbor-standin listening on http://127.0.0.1:PORT/` once bound.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "harbor-standin",
    about = "A Harbor stand-in for Portcullis's tests (loopback only)."
)]
struct Args {
    /// Address to bind (loopback only; port 0 picks a free port).
    #[arg(long, env = "STANDIN_ADDR", default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// The admin user the API accepts (basic auth).
    #[arg(long, env = "STANDIN_ADMIN_USER", default_value = "admin")]
    admin_user: String,
    /// The admin's password.
    #[arg(long, env = "STANDIN_ADMIN_PASSWORD", default_value = "Harbor12345")]
    admin_password: String,
    /// Harbor's robot name prefix.
    #[arg(long, env = "STANDIN_ROBOT_PREFIX", default_value = "robot$")]
    robot_prefix: String,
    /// The tokens' issuer (the registry's auth.token.issuer).
    #[arg(
        long,
        env = "STANDIN_TOKEN_ISSUER",
        default_value = "harbor-token-issuer"
    )]
    token_issuer: String,
    /// The token service's service name (the registry's auth.token.service).
    #[arg(long, env = "STANDIN_TOKEN_SERVICE", default_value = "harbor-registry")]
    token_service: String,
    /// Token lifetime in minutes.
    #[arg(long, env = "STANDIN_TOKEN_EXPIRATION", default_value_t = 30)]
    token_expiration: u32,
    /// Write the token certificate (PEM, the registry's rootcertbundle) here.
    #[arg(long, env = "STANDIN_TOKEN_CERT_FILE")]
    token_cert_file: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let config = harbor_standin::Config {
        addr: args.addr,
        admin_user: args.admin_user,
        admin_password: args.admin_password,
        robot_prefix: args.robot_prefix,
        token_issuer: args.token_issuer,
        token_service: args.token_service,
        token_expiration_minutes: args.token_expiration,
    };
    let standin = match harbor_standin::spawn(config).await {
        Ok(standin) => standin,
        Err(err) => {
            eprintln!("harbor-standin: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(path) = &args.token_cert_file {
        if let Err(err) = std::fs::write(path, standin.token_certificate_pem()) {
            eprintln!("harbor-standin: writing {}: {err}", path.display());
            standin.shutdown().await;
            return std::process::ExitCode::FAILURE;
        }
    }
    let mut out = std::io::stdout();
    let _ = writeln!(out, "harbor-standin listening on {}", standin.base_url);
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
