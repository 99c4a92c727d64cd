//! Mail that is never lost. The event that causes a mail writes it to the
//! outbox in its own transaction (`db::mail::enqueue`); the `mail.deliver`
//! job (once across the fleet, `outbox::deliver_due`) renders it
//! (`templates`), makes its single-use link if it has one, and hands it to
//! the transport, retrying with backoff (`domain::mail::retry_delay_secs`).
//!
//! Transports: SMTP (`PORTCULLIS_SMTP_*`, lettre with rustls); in demo mode
//! without SMTP, a local mailbox (the text as delivered is kept on the row
//! and shown on `/demo/mailbox`); otherwise none, and mails wait in the
//! outbox until SMTP is configured (the admin's mail page says so).
//! Delivery is at least once: a replica that dies between the SMTP server's
//! acceptance and the row's update sends that mail again (with the same
//! `Message-ID`, and a new link; both links work until one is used).

pub mod outbox;
pub mod templates;

use crate::backend::db::Db;
use crate::backend::web::ratelimit::{MailLimiter, MailLimits};
use lettre::{
    message::{
        header::{Header, HeaderName, HeaderValue},
        Mailbox, MultiPart,
    },
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use std::{fmt, time::Duration};

/// How the SMTP connection is protected (`PORTCULLIS_SMTP_TLS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// STARTTLS, required (the default; port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
    /// None: only for a relay on the same host or a test server.
    None,
}

impl SmtpTls {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "starttls" => Some(Self::StartTls),
            "tls" => Some(Self::Tls),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    pub fn default_port(self) -> u16 {
        match self {
            Self::StartTls => 587,
            Self::Tls => 465,
            Self::None => 25,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Self::StartTls => "STARTTLS",
            Self::Tls => "TLS",
            Self::None => "no TLS",
        }
    }
}

/// Where and how to send (`PORTCULLIS_SMTP_*`, `PORTCULLIS_MAIL_FROM`).
/// `Debug` never shows the password.
#[derive(Clone)]
pub struct SmtpSettings {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    /// User name and password, both or neither.
    pub login: Option<(String, String)>,
    /// The sender, `Name <address>` or an address.
    pub from: String,
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("user", &self.login.as_ref().map(|(u, _)| u))
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

/// Whether `from` is a sender address mail can carry (`Name <a@b>` or `a@b`).
pub fn parse_from(from: &str) -> Result<(), String> {
    from.parse::<Mailbox>().map(|_| ()).map_err(|e| format!("not a sender address ({e}): {from:?}"))
}

/// `List-Unsubscribe: <https://…>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_owned())
    }
}

/// Where mails go.
enum Transport {
    Smtp { relay: AsyncSmtpTransport<Tokio1Executor>, describe: String },
    /// Demo mode without SMTP: the local mailbox.
    Local,
    /// Nowhere yet: mails wait in the outbox.
    Off,
}

/// Why one delivery did not happen.
#[derive(Debug)]
pub struct SendError {
    /// The server refused for good (a 5xx answer): no retry.
    pub permanent: bool,
    pub message: String,
}

/// The mail service every replica holds (`AppState::mail`).
pub struct Mail {
    transport: Transport,
    from: Mailbox,
    /// The public base URL without a trailing slash (links start with it).
    base_url: String,
    /// The host part of `Message-ID`s.
    id_host: String,
    pub limiter: MailLimiter,
}

/// How long one SMTP exchange may take.
const SMTP_TIMEOUT: Duration = Duration::from_secs(15);

impl Mail {
    /// `smtp` when configured; else demo mode's local mailbox, else none.
    pub fn new(db: Db, smtp: Option<&SmtpSettings>, demo: bool, base_url: &str, limits: MailLimits) -> Result<Self, String> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let id_host = url::Url::parse(&base_url).ok().and_then(|u| u.host_str().map(str::to_owned)).unwrap_or_else(|| "portcullis".into());
        let (transport, from) = match smtp {
            Some(s) => {
                let from: Mailbox = s.from.parse().map_err(|e| format!("PORTCULLIS_MAIL_FROM: {e}"))?;
                let builder = match s.tls {
                    SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone()),
                    SmtpTls::StartTls | SmtpTls::Tls => {
                        let params = TlsParameters::new(s.host.clone()).map_err(|e| format!("PORTCULLIS_SMTP_HOST: {e}"))?;
                        let tls = if s.tls == SmtpTls::Tls { Tls::Wrapper(params) } else { Tls::Required(params) };
                        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(s.host.clone()).tls(tls)
                    }
                };
                let mut builder = builder.port(s.port).timeout(Some(SMTP_TIMEOUT));
                if let Some((user, password)) = &s.login {
                    builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
                }
                let describe = format!("SMTP {}:{} ({})", s.host, s.port, s.tls.as_str());
                (Transport::Smtp { relay: builder.build(), describe }, from)
            }
            None => {
                let from: Mailbox = format!("Portcullis <portcullis@{id_host}>")
                    .parse()
                    .unwrap_or_else(|_| "portcullis@localhost".parse().expect("a valid address"));
                (if demo { Transport::Local } else { Transport::Off }, from)
            }
        };
        Ok(Self { transport, from, base_url, id_host, limiter: MailLimiter::new(db, limits) })
    }

    /// How mail leaves, in words (the admin's mail page).
    pub fn describe(&self) -> String {
        match &self.transport {
            Transport::Smtp { describe, .. } => describe.clone(),
            Transport::Local => "the demo mailbox (/demo/mailbox): no SMTP server is configured".into(),
            Transport::Off => "nowhere yet: set PORTCULLIS_SMTP_HOST and PORTCULLIS_MAIL_FROM; mails wait in the outbox until then".into(),
        }
    }

    /// Whether mails leave at all (SMTP or the demo mailbox).
    pub fn delivers(&self) -> bool {
        !matches!(self.transport, Transport::Off)
    }

    /// Whether this is demo mode's local mailbox.
    pub fn is_local(&self) -> bool {
        matches!(self.transport, Transport::Local)
    }

    /// A link to `path` (with its query) on the public site.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base_url)
    }

    /// Hands one rendered mail to the transport. `Ok(Some(text))`: put in
    /// the local mailbox (keep the text); `Ok(None)`: accepted by SMTP.
    async fn send(&self, outbox_id: i64, to: &str, mail: &templates::Rendered, unsubscribe: Option<&str>) -> Result<Option<String>, SendError> {
        let relay = match &self.transport {
            Transport::Smtp { relay, .. } => relay,
            Transport::Local => return Ok(Some(mail.text.clone())),
            Transport::Off => return Err(SendError { permanent: false, message: "no SMTP server is configured".into() }),
        };
        let to: Mailbox = to.parse().map_err(|e| SendError { permanent: true, message: format!("not a deliverable address: {e}") })?;
        let mut builder = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .message_id(Some(format!("<mail-{outbox_id}@{}>", self.id_host)))
            .date_now();
        if let Some(url) = unsubscribe {
            // RFC 2369 and RFC 8058: mail clients offer "unsubscribe" and POST to it.
            builder = builder.header(ListUnsubscribe(format!("<{url}>"))).header(ListUnsubscribePost);
        }
        let message = builder
            .multipart(MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone()))
            .map_err(|e| SendError { permanent: true, message: format!("could not build the message: {e}") })?;
        match relay.send(message).await {
            Ok(_) => Ok(None),
            Err(e) => Err(SendError { permanent: e.is_permanent(), message: e.to_string() }),
        }
    }
}
