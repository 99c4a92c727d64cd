//! The real registry in tests: Debian's `docker-registry` (CNCF Distribution
//! 2.8.2) run from a config that `portcullis registry config` writes, skopeo
//! as the client, and a tiny image built offline with umoci.
//!
//! Everything lives under the caller's temp dir: the registry's storage, the
//! image, skopeo's home, temp files, auth file and trust policy. As root,
//! skopeo writes a blob cache to `/var/lib/containers` whatever it is told,
//! so it then runs in a user namespace as an ordinary uid (`unshare`), which
//! makes it use `$HOME/.local/share` instead. The tools come from
//! `scripts/install.sh`.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

/// A free loopback port (bound, read, released) for a registry to listen on.
/// Picked at random below the kernel's ephemeral range, so that an outgoing
/// connection made meanwhile (tests run in parallel) cannot take it before
/// the registry binds it; port 0 if that range is unusable.
pub fn free_port() -> u16 {
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|p| p.parse::<u16>().ok()))
        .unwrap_or(32768);
    if low > 12_000 {
        for _ in 0..100 {
            let port = 10_000 + rand::random::<u16>() % (low - 10_000);
            if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
                return port;
            }
        }
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}

/// Fails with a hint when the registry tools are missing.
pub fn require_tools() {
    for tool in ["docker-registry", "skopeo", "umoci"] {
        let found = Command::new(tool).arg("--version").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
        assert!(found, "`{tool}` is not installed: run `bash scripts/install.sh` (Debian packages docker-registry skopeo umoci)");
    }
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?} did not start: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed: {stderr}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds a one-layer OCI image offline (`DIR/oci:TAG`, holding
/// `/etc/widget.txt` with `content`) and returns the layout directory.
pub fn build_image(dir: &Path, tag: &str, content: &str) -> PathBuf {
    let layout = dir.join("oci");
    let image = format!("{}:{tag}", layout.display());
    run(Command::new("umoci").arg("init").arg("--layout").arg(&layout));
    run(Command::new("umoci").args(["new", "--image", &image]));
    let file = dir.join("widget.txt");
    std::fs::write(&file, content).expect("write the image's file");
    run(Command::new("umoci").args(["insert", "--rootless", "--image", &image]).arg(&file).arg("/etc/widget.txt"));
    layout
}

/// The portal's CLI with a clean environment (nothing from the developer's
/// shell or `.env`), the database and registry key dir of the app under
/// test, and `env`.
pub fn portcullis(app: &super::TestApp, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let cwd = tempfile::tempdir().expect("temp dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_portcullis"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_LOG", "error")
        .env("PORTCULLIS_REGISTRY_KEY_DIR", &app.registry_key_dir)
        .env("PORTCULLIS_DATABASE_URL", &app.database_url)
        .current_dir(cwd.path())
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("portcullis runs")
}

/// `portcullis registry config --out DIR --listen 127.0.0.1:PORT --portal-url BASE`:
/// returns `DIR/config.yml`.
pub fn write_config(app: &super::TestApp, out: &Path, port: u16, portal: &str) -> PathBuf {
    let listen = format!("127.0.0.1:{port}");
    let out_s = out.display().to_string();
    let res = portcullis(app, &["registry", "config", "--out", &out_s, "--listen", &listen, "--portal-url", portal], &[]);
    assert!(res.status.success(), "registry config: {}", String::from_utf8_lossy(&res.stderr));
    let config = out.join("config.yml");
    assert!(config.is_file() && out.join("bundle.pem").is_file(), "config.yml and bundle.pem written in {out_s}");
    config
}

/// A `docker-registry serve CONFIG` child, killed (by its PID) on drop.
pub struct Registry {
    child: Option<std::process::Child>,
    pub port: u16,
    pub log: PathBuf,
}

impl Registry {
    /// Starts the registry and waits (≤ 15 s) until `/v2/` answers on `port`.
    pub async fn start(config: &Path, port: u16) -> Registry {
        let log = config.with_extension(format!("{port}.log"));
        let file = std::fs::File::create(&log).expect("registry log file");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file)
            .spawn()
            .expect("docker-registry starts");
        let mut reg = Registry { child: Some(child), port, log };
        let client = reqwest::Client::builder().timeout(Duration::from_secs(2)).build().expect("client");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(res) = client.get(format!("http://{}/v2/", reg.host())).send().await {
                // 401 with token auth, 200 without.
                if res.status().as_u16() == 401 || res.status().is_success() {
                    return reg;
                }
            }
            if let Some(Ok(Some(status))) = reg.child.as_mut().map(|c| c.try_wait()) {
                panic!("docker-registry exited ({status}): {}", reg.log_text());
            }
            assert!(Instant::now() < deadline, "docker-registry did not answer on {}: {}", reg.host(), reg.log_text());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Kills the registry by its PID and reaps it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What one skopeo run ended with.
#[derive(Debug)]
pub struct Outcome {
    pub ok: bool,
    /// Printed with the rest when an assertion fails (`{out:?}`).
    #[allow(dead_code, reason = "read through Debug in failure messages")]
    pub stdout: String,
    pub stderr: String,
}

/// Whether skopeo must run in a user namespace (we are root) and can.
fn use_namespace() -> bool {
    static NS: OnceLock<bool> = OnceLock::new();
    *NS.get_or_init(|| {
        let probe = tempfile::tempfile().expect("temp file");
        let root = std::os::unix::fs::MetadataExt::uid(&probe.metadata().expect("metadata")) == 0;
        let ns = root
            && Command::new("unshare")
                .args(["--user", "--map-user=1000", "--map-group=1000", "true"])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
        if root && !ns {
            eprintln!("note: no user namespace (unshare): skopeo runs as root and keeps a blob cache in /var/lib/containers");
        }
        ns
    })
}

/// skopeo, isolated from the machine under `dir`.
pub struct Skopeo {
    dir: PathBuf,
}

impl Skopeo {
    pub fn new(dir: &Path) -> Skopeo {
        let dir = dir.join("skopeo");
        for sub in ["home", "tmp", "config"] {
            std::fs::create_dir_all(dir.join(sub)).expect("skopeo dirs");
        }
        std::fs::write(dir.join("auth.json"), "{}").expect("auth file");
        std::fs::write(dir.join("policy.json"), r#"{"default":[{"type":"insecureAcceptAnything"}]}"#).expect("policy");
        Skopeo { dir }
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = if use_namespace() {
            let mut c = tokio::process::Command::new("unshare");
            c.args(["--user", "--map-user=1000", "--map-group=1000", "skopeo"]);
            c
        } else {
            tokio::process::Command::new("skopeo")
        };
        let d = &self.dir;
        cmd.env("HOME", d.join("home"))
            .env("TMPDIR", d.join("tmp"))
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_DATA_HOME", d.join("home/.local/share"))
            .env("XDG_RUNTIME_DIR", d.join("tmp"))
            .env("REGISTRY_AUTH_FILE", d.join("auth.json"))
            .arg("--policy")
            .arg(d.join("policy.json"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--command-timeout", "60s"])
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    async fn outcome(mut cmd: tokio::process::Command) -> Outcome {
        let out = cmd.output().await.expect("skopeo runs");
        Outcome {
            ok: out.status.success(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// `skopeo copy oci:LAYOUT:TAG docker://HOST/REPO_TAG` with `user:secret`.
    pub async fn push(&self, layout: &Path, tag: &str, host: &str, repo_tag: &str, creds: (&str, &str)) -> Outcome {
        let mut cmd = self.command();
        cmd.arg("copy")
            .arg("--authfile")
            .arg(self.dir.join("auth.json"))
            .args(["--dest-tls-verify=false", "--dest-creds", &format!("{}:{}", creds.0, creds.1)])
            .arg(format!("oci:{}:{tag}", layout.display()))
            .arg(format!("docker://{host}/{repo_tag}"));
        Self::outcome(cmd).await
    }

    /// `skopeo copy SRC DST` for local transports (`oci-archive:…`, `dir:…`).
    pub async fn copy(&self, src: &str, dst: &str) -> Outcome {
        let mut cmd = self.command();
        cmd.arg("copy").arg(src).arg(dst);
        Self::outcome(cmd).await
    }

    /// `skopeo copy docker://HOST/REPO_TAG dir:…` (a full pull: manifest,
    /// config and layers) with `user:secret`, into a fresh directory.
    pub async fn pull(&self, host: &str, repo_tag: &str, creds: (&str, &str)) -> Outcome {
        let target = tempfile::tempdir_in(self.dir.join("tmp")).expect("pull target");
        let mut cmd = self.command();
        cmd.arg("copy")
            .arg("--authfile")
            .arg(self.dir.join("auth.json"))
            .args(["--src-tls-verify=false", "--src-creds", &format!("{}:{}", creds.0, creds.1)])
            .arg(format!("docker://{host}/{repo_tag}"))
            .arg(format!("dir:{}", target.path().display()));
        Self::outcome(cmd).await
    }
}

/// Polls `check` every 100 ms until it returns `Some`, for at most `limit`.
pub async fn eventually<T, F, Fut>(limit: Duration, mut check: F) -> Option<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
