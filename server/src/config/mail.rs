//! Mail: the SMTP server (`PORTCULLIS_SMTP_HOST`, `_PORT`, `_TLS`,
//! `_USERNAME`, `_PASSWORD`), the sender (`PORTCULLIS_MAIL_FROM`) and the
//! limits on mails a visitor can trigger (`PORTCULLIS_MAIL_LIMIT_PER_ADDRESS`,
//! `PORTCULLIS_MAIL_LIMIT_PER_NETWORK`, per hour), and when notices go out
//! (`PORTCULLIS_NOTICE_DAYS`, `PORTCULLIS_DIGEST_AT`,
//! `PORTCULLIS_DIGEST_TIMEZONE`). Without a host, mails wait in the outbox
//! (demo mode: the local mailbox).

use super::{err, ConfigError, Env};
use app::backend::services::mail::{parse_from, SmtpSettings, SmtpTls};
use app::backend::services::notices::NoticeSettings;
use app::backend::web::ratelimit::MailLimits;
use std::num::NonZeroU32;

#[derive(Clone, Debug, Default)]
pub struct MailConfig {
    /// `None` = no SMTP server.
    pub smtp: Option<SmtpSettings>,
    pub limits: MailLimits,
    pub notices: NoticeSettings,
}

impl<F: Fn(&str) -> Option<String>> Env<F> {
    pub fn mail(&self) -> Result<MailConfig, ConfigError> {
        let defaults = MailLimits::default();
        let limits = MailLimits {
            per_address_per_hour: self.per_hour("PORTCULLIS_MAIL_LIMIT_PER_ADDRESS", defaults.per_address_per_hour)?,
            per_network_per_hour: self.per_hour("PORTCULLIS_MAIL_LIMIT_PER_NETWORK", defaults.per_network_per_hour)?,
        };
        let notices = self.notices()?;
        let Some(host) = self.get("PORTCULLIS_SMTP_HOST") else {
            for other in ["PORTCULLIS_SMTP_PORT", "PORTCULLIS_SMTP_TLS", "PORTCULLIS_SMTP_USERNAME", "PORTCULLIS_SMTP_PASSWORD"] {
                if self.get(other).is_some() {
                    return Err(err("PORTCULLIS_SMTP_HOST", format!("not set, but {other} is")));
                }
            }
            return Ok(MailConfig { smtp: None, limits, notices });
        };
        if host.is_empty() || host.len() > 253 || !host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')) {
            return Err(err("PORTCULLIS_SMTP_HOST", format!("expected a host name or IP address, got {host:?}")));
        }
        let tls = match self.get("PORTCULLIS_SMTP_TLS") {
            None => SmtpTls::StartTls,
            Some(v) => SmtpTls::parse(&v).ok_or_else(|| err("PORTCULLIS_SMTP_TLS", format!("expected starttls, tls or none, got {v:?}")))?,
        };
        let port = match self.get("PORTCULLIS_SMTP_PORT") {
            None => tls.default_port(),
            Some(v) => match v.parse::<u16>() {
                Ok(p) if p > 0 => p,
                _ => return Err(err("PORTCULLIS_SMTP_PORT", format!("expected a port from 1 to 65535, got {v:?}"))),
            },
        };
        let login = match (self.get("PORTCULLIS_SMTP_USERNAME"), self.get("PORTCULLIS_SMTP_PASSWORD")) {
            (None, None) => None,
            (Some(u), Some(p)) => Some((u, p)),
            (Some(_), None) => return Err(err("PORTCULLIS_SMTP_PASSWORD", "set it with PORTCULLIS_SMTP_USERNAME")),
            (None, Some(_)) => return Err(err("PORTCULLIS_SMTP_USERNAME", "set it with PORTCULLIS_SMTP_PASSWORD")),
        };
        let from = self.get("PORTCULLIS_MAIL_FROM").ok_or_else(|| err("PORTCULLIS_MAIL_FROM", "set it with PORTCULLIS_SMTP_HOST (e.g. Portcullis <portal@example.com>)"))?;
        parse_from(&from).map_err(|m| err("PORTCULLIS_MAIL_FROM", m))?;
        Ok(MailConfig { smtp: Some(SmtpSettings { host, port, tls, login, from }), limits, notices })
    }

    fn notices(&self) -> Result<NoticeSettings, ConfigError> {
        let mut n = NoticeSettings::default();
        if let Some(v) = self.get("PORTCULLIS_NOTICE_DAYS") {
            let days: Result<Vec<u32>, _> = v.split(',').map(|d| d.trim().parse::<u32>()).collect();
            match days {
                Ok(d) if !d.is_empty() && d.len() <= 10 && d.iter().all(|x| (1..=365).contains(x)) => n.thresholds = d,
                _ if v.trim().eq_ignore_ascii_case("none") => n.thresholds = Vec::new(),
                _ => return Err(err("PORTCULLIS_NOTICE_DAYS", format!("expected days before an end, e.g. 30,7,1 (1–365, at most 10), or none; got {v:?}"))),
            }
        }
        if let Some(v) = self.get("PORTCULLIS_DIGEST_AT") {
            n.digest_at = if v.eq_ignore_ascii_case("none") {
                None
            } else {
                Some(
                    chrono::NaiveTime::parse_from_str(&v, "%H:%M")
                        .map_err(|_| err("PORTCULLIS_DIGEST_AT", format!("expected a time of day such as 08:00, or none; got {v:?}")))?,
                )
            };
        }
        if let Some(v) = self.get("PORTCULLIS_DIGEST_TIMEZONE") {
            n.timezone = v
                .parse::<chrono_tz::Tz>()
                .map_err(|_| err("PORTCULLIS_DIGEST_TIMEZONE", format!("expected an IANA time zone such as Europe/Berlin, got {v:?}")))?;
        }
        Ok(n)
    }

    fn per_hour(&self, key: &'static str, default: NonZeroU32) -> Result<NonZeroU32, ConfigError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.parse::<NonZeroU32>().map_err(|_| err(key, format!("expected a whole number of mails per hour ≥ 1, got {v:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Env;
    use app::backend::services::mail::SmtpTls;

    fn env(vars: &[(&str, &str)]) -> Env<impl Fn(&str) -> Option<String>> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Env(move |k: &str| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn smtp_settings_with_defaults_and_errors_naming_the_variable() {
        assert!(env(&[]).mail().unwrap().smtp.is_none());
        let c = env(&[("PORTCULLIS_SMTP_HOST", "smtp.example.com"), ("PORTCULLIS_MAIL_FROM", "Shop <shop@example.com>")]).mail().unwrap();
        let smtp = c.smtp.unwrap();
        assert_eq!((smtp.port, smtp.tls), (587, SmtpTls::StartTls));
        let c = env(&[("PORTCULLIS_SMTP_HOST", "mx"), ("PORTCULLIS_SMTP_TLS", "tls"), ("PORTCULLIS_MAIL_FROM", "a@b.example")]).mail().unwrap();
        assert_eq!(c.smtp.unwrap().port, 465);
        for (vars, variable) in [
            (vec![("PORTCULLIS_SMTP_HOST", "mx")], "PORTCULLIS_MAIL_FROM"),
            (vec![("PORTCULLIS_SMTP_HOST", "mx"), ("PORTCULLIS_MAIL_FROM", "not an address")], "PORTCULLIS_MAIL_FROM"),
            (vec![("PORTCULLIS_SMTP_HOST", "mx"), ("PORTCULLIS_MAIL_FROM", "a@b.c"), ("PORTCULLIS_SMTP_TLS", "ssl")], "PORTCULLIS_SMTP_TLS"),
            (vec![("PORTCULLIS_SMTP_HOST", "mx"), ("PORTCULLIS_MAIL_FROM", "a@b.c"), ("PORTCULLIS_SMTP_PORT", "0")], "PORTCULLIS_SMTP_PORT"),
            (vec![("PORTCULLIS_SMTP_HOST", "mx"), ("PORTCULLIS_MAIL_FROM", "a@b.c"), ("PORTCULLIS_SMTP_USERNAME", "u")], "PORTCULLIS_SMTP_PASSWORD"),
            (vec![("PORTCULLIS_SMTP_PORT", "25")], "PORTCULLIS_SMTP_HOST"),
            (vec![("PORTCULLIS_MAIL_LIMIT_PER_ADDRESS", "0")], "PORTCULLIS_MAIL_LIMIT_PER_ADDRESS"),
            (vec![("PORTCULLIS_NOTICE_DAYS", "30,x")], "PORTCULLIS_NOTICE_DAYS"),
            (vec![("PORTCULLIS_NOTICE_DAYS", "0")], "PORTCULLIS_NOTICE_DAYS"),
            (vec![("PORTCULLIS_DIGEST_AT", "8am")], "PORTCULLIS_DIGEST_AT"),
            (vec![("PORTCULLIS_DIGEST_TIMEZONE", "Mars/Olympus")], "PORTCULLIS_DIGEST_TIMEZONE"),
        ] {
            assert_eq!(env(&vars).mail().unwrap_err().variable, variable, "{vars:?}");
        }
    }

    #[test]
    fn notice_settings_default_and_parse() {
        let n = env(&[]).mail().unwrap().notices;
        assert_eq!((n.thresholds, n.digest_at.map(|t| t.to_string()), n.timezone.name()), (vec![30, 7, 1], Some("08:00:00".into()), "UTC"));
        let n = env(&[("PORTCULLIS_NOTICE_DAYS", "14, 3"), ("PORTCULLIS_DIGEST_AT", "06:30"), ("PORTCULLIS_DIGEST_TIMEZONE", "Europe/Berlin")])
            .mail()
            .unwrap()
            .notices;
        assert_eq!((n.thresholds, n.digest_at.map(|t| t.to_string()), n.timezone.name()), (vec![14, 3], Some("06:30:00".into()), "Europe/Berlin"));
        let n = env(&[("PORTCULLIS_NOTICE_DAYS", "none"), ("PORTCULLIS_DIGEST_AT", "none")]).mail().unwrap().notices;
        assert!(n.thresholds.is_empty() && n.digest_at.is_none());
    }

    #[test]
    fn the_password_never_shows_in_debug() {
        let c = env(&[
            ("PORTCULLIS_SMTP_HOST", "mx"),
            ("PORTCULLIS_MAIL_FROM", "a@b.c"),
            ("PORTCULLIS_SMTP_USERNAME", "user"),
            ("PORTCULLIS_SMTP_PASSWORD", "hunter2-very-secret"),
        ])
        .mail()
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
