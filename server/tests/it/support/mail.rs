//! A real SMTP server for the mail tests: `python -m aiosmtpd` (PyPI, in
//! the repository's `.venv/`, installed by scripts/install.sh) on a
//! loopback port, storing what it receives in a Maildir the tests read.
//! Killed by its PID on drop.

use super::registry::free_port;
use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

pub struct SmtpServer {
    child: Option<Child>,
    pub port: u16,
    maildir: tempfile::TempDir,
}

/// The Python of the repository's `.venv/`.
fn python() -> PathBuf {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python");
    assert!(py.is_file(), "{} is missing: run bash scripts/install.sh (it installs aiosmtpd)", py.display());
    py
}

impl SmtpServer {
    /// Starts on a free port and waits (≤ 15 s) until it accepts connections.
    pub async fn start() -> Self {
        Self::start_on(free_port()).await
    }

    /// Starts on `port` (a port a portal was told about before).
    pub async fn start_on(port: u16) -> Self {
        let maildir = tempfile::tempdir().expect("maildir");
        let child = Command::new(python())
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let mut server = SmtpServer { child: Some(child), port, maildir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Some(Ok(Some(status))) = server.child.as_mut().map(|c| c.try_wait()) {
                panic!("aiosmtpd exited ({status})");
            }
            assert!(Instant::now() < deadline, "aiosmtpd did not listen on 127.0.0.1:{port}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        server
    }

    /// The portal's settings for this server (no TLS, no login).
    pub fn settings(port: u16) -> app::backend::services::mail::SmtpSettings {
        app::backend::services::mail::SmtpSettings {
            host: "127.0.0.1".into(),
            port,
            tls: app::backend::services::mail::SmtpTls::None,
            login: None,
            from: "Portcullis tests <portal@example.com>".into(),
        }
    }

    /// Every message received so far, as text (bodies decoded).
    pub fn messages(&self) -> Vec<Mail> {
        let new = self.maildir.path().join("mail").join("new");
        let mut files: Vec<_> = std::fs::read_dir(&new).map(|d| d.flatten().map(|e| e.path()).collect()).unwrap_or_default();
        files.sort();
        files.iter().filter_map(|f| std::fs::read_to_string(f).ok()).map(|raw| Mail::parse(&raw)).collect()
    }

    /// The messages to `to`, once there are at least `n` (≤ 20 s).
    pub async fn wait_for(&self, to: &str, n: usize) -> Vec<Mail> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found: Vec<Mail> = self.messages().into_iter().filter(|m| m.to.contains(to)).collect();
            if found.len() >= n {
                return found;
            }
            assert!(Instant::now() < deadline, "{} mail(s) to {to} expected, {} arrived", n, found.len());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One received message: a few headers and its plain-text part, decoded.
#[derive(Clone, Debug)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub message_id: String,
    /// The text/plain part (or the whole body of a single-part message).
    pub text: String,
    /// The text/html part, if any.
    pub html: String,
}

/// Headers and body of an entity (LF line ends).
fn split_entity(raw: &str) -> (&str, &str) {
    raw.split_once("\n\n").unwrap_or((raw, ""))
}

/// A header's value (unfolded) from a header block.
fn header(headers: &str, name: &str) -> String {
    let mut value: Option<String> = None;
    for line in headers.lines() {
        match (&mut value, line.starts_with([' ', '\t'])) {
            (Some(v), true) => v.push_str(line.trim_start()),
            (Some(_), false) => break,
            (None, _) => {
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case(name) {
                        value = Some(v.trim().to_owned());
                    }
                }
            }
        }
    }
    value.unwrap_or_default()
}

/// A body decoded by its `Content-Transfer-Encoding`.
fn decode(headers: &str, body: &str) -> String {
    let cte = header(headers, "Content-Transfer-Encoding").to_ascii_lowercase();
    match cte.as_str() {
        "quoted-printable" => unquote(body),
        "base64" => {
            use base64::Engine;
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            String::from_utf8_lossy(&base64::engine::general_purpose::STANDARD.decode(compact).unwrap_or_default()).into_owned()
        }
        _ => body.to_owned(),
    }
}

impl Mail {
    fn parse(raw: &str) -> Mail {
        let raw = raw.replace("\r\n", "\n");
        let (headers, body) = split_entity(&raw);
        let content_type = header(headers, "Content-Type");
        let (mut text, mut html) = (String::new(), String::new());
        match content_type.split("boundary=").nth(1).map(|b| b.trim_matches('"').split(';').next().unwrap_or("").trim_matches('"').to_owned()) {
            Some(boundary) if content_type.to_ascii_lowercase().starts_with("multipart/") => {
                for part in body.split(&format!("--{boundary}")).skip(1) {
                    let part = part.strip_prefix('\n').unwrap_or(part);
                    let (h, b) = split_entity(part);
                    let ct = header(h, "Content-Type").to_ascii_lowercase();
                    if ct.starts_with("text/plain") && text.is_empty() {
                        text = decode(h, b);
                    } else if ct.starts_with("text/html") && html.is_empty() {
                        html = decode(h, b);
                    }
                }
            }
            _ => text = decode(headers, body),
        }
        Mail { to: header(headers, "To"), subject: header(headers, "Subject"), message_id: header(headers, "Message-ID"), text, html }
    }

    /// The token of the `/reset-password?token=` link of the text part.
    pub fn link_token(&self) -> String {
        let at = self.text.find("/reset-password?token=").unwrap_or_else(|| panic!("no link in: {}", self.text));
        self.text[at + "/reset-password?token=".len()..].chars().take_while(char::is_ascii_alphanumeric).collect()
    }
}

/// Undoes quoted-printable: soft line breaks and `=XX`.
fn unquote(s: &str) -> String {
    let s = s.replace("=\n", "");
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if let Some(v) = b.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
