//! The words of every mail, as plain text and as HTML (every value
//! escaped). One function per kind; `render` picks it.

use crate::backend::db::notices::{DigestLine, Facts};
use crate::backend::db::requests::RequestRow;
use crate::domain::access::human_date;
use crate::domain::mail::{LinkPurpose, MailKind};

/// A mail ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What a template may say.
pub struct Context<'a> {
    /// The recipient's address.
    pub to: &'a str,
    /// The account's address now (after a change: the new one).
    pub account: &'a str,
    /// The portal's public URL (no trailing slash).
    pub site: &'a str,
    /// The mail's single-use link, when its kind has one.
    pub link: Option<&'a str>,
    /// A notice's entitlement, as it stands when the mail is sent.
    pub notice: Option<&'a Facts>,
    /// The digest's lines.
    pub digest: &'a [DigestLine],
    /// The digest's requests waiting for an answer (oldest first).
    pub open_requests: &'a [RequestRow],
    /// Optional mail: the one-click unsubscribe link.
    pub unsubscribe: Option<&'a str>,
    /// An invitation to an organisation: its name, who invited, the role.
    pub invitation: Option<&'a Invitation>,
    /// The vendor's answer to an access request, as it stands when sent.
    pub answer: Option<&'a Answer>,
}

/// What an answer to an access request says.
pub struct Answer {
    pub product: String,
    pub kind: crate::domain::request::RequestKind,
    /// A grant: `Some(end)` (`Some(None)`: open-ended); a reply only: `None`.
    pub granted_until: Option<Option<chrono::DateTime<chrono::Utc>>>,
    /// The vendor's words, if any.
    pub reply: Option<String>,
}

/// What an invitation mail says of the organisation it invites to.
pub struct Invitation {
    pub organisation: String,
    pub invited_by: Option<String>,
    pub role: String,
}

impl<'a> Context<'a> {
    /// A context with nothing but the addresses and the site (tests, account mails).
    pub fn plain(to: &'a str, account: &'a str, site: &'a str, link: Option<&'a str>) -> Self {
        Self { to, account, site, link, notice: None, digest: &[], open_requests: &[], unsubscribe: None, invitation: None, answer: None }
    }
}

pub fn render(kind: MailKind, cx: &Context<'_>) -> Rendered {
    match kind {
        MailKind::PasswordReset => with_link(
            cx,
            "Choose a new password",
            &format!("Someone (we hope you) asked to reset the password of the account {} at {}.", cx.to, cx.site),
            "Choose a new password",
            LinkPurpose::Reset,
            "If you did not ask for this, ignore this mail: your password stays as it is.",
        ),
        MailKind::Invitation => match cx.invitation {
            Some(inv) => with_link(
                cx,
                &format!("You are invited to join {} on {}", inv.organisation, cx.site),
                &format!(
                    "{} invited {} to join {} at {} as {}. Choose a password to accept; then you can make your own registry credentials for what {} bought.",
                    inv.invited_by.as_deref().unwrap_or("An owner"),
                    cx.to,
                    inv.organisation,
                    cx.site,
                    inv.role,
                    inv.organisation,
                ),
                "Accept and set your password",
                LinkPurpose::Invite,
                "If you did not expect this, ignore this mail: the invitation expires and nobody can use the account without this link.",
            ),
            None => with_link(
                cx,
                "Your account is ready: set your password",
                &format!("An account was made for {} at {}, where you can copy registry credentials for what your company bought.", cx.to, cx.site),
                "Set your password",
                LinkPurpose::Invite,
                "If you did not expect this, ignore this mail: nobody can use the account without this link.",
            ),
        },
        MailKind::VerifyEmail => with_link(
            cx,
            "Confirm your e-mail address",
            &format!("Welcome to {}. Confirm that {} is your address: until then you can look around, but not buy or make registry credentials.", cx.site, cx.to),
            "Confirm my address",
            LinkPurpose::Verify,
            "If you did not sign up, ignore this mail: the account stays unconfirmed.",
        ),
        MailKind::EmailChange => with_link(
            cx,
            "Confirm your new e-mail address",
            &format!("You asked to change the address of your account at {} from {} to {}.", cx.site, cx.account, cx.to),
            "Confirm the new address",
            LinkPurpose::EmailChange,
            "If you did not ask for this, ignore this mail: the account keeps its address.",
        ),
        MailKind::SignupTaken => notice(
            cx,
            "Someone tried to sign up with your address",
            &format!(
                "Someone (perhaps you) tried to create an account at {} with {}, which already has one. If it was you, log in at {}/login, or choose a new password at {}/forgot-password.",
                cx.site, cx.to, cx.site, cx.site
            ),
            "If it was not you, you need not do anything: your account is unchanged.",
        ),
        MailKind::PasswordChanged => notice(
            cx,
            "Your password was changed",
            &format!("The password of your account {} at {} was just changed, and every other session of the account ended.", cx.to, cx.site),
            &format!("If you did not do this, choose a new password at once at {}/forgot-password and tell your vendor.", cx.site),
        ),
        MailKind::EmailChanged => notice(
            cx,
            "Your account's e-mail address was changed",
            &format!("The account at {} that used {} now uses {}. Mail about it goes there from now on.", cx.site, cx.to, cx.account),
            "If you did not do this, tell your vendor at once.",
        ),
        MailKind::AccessEnding => {
            let (product, ends) = facts(cx, |f| f.ends_at);
            notice(
                cx,
                &format!("Your access to {product} ends on {ends}"),
                &format!("Your access to {product} at {} ends on {ends}. After that, registry credentials no longer pull its images.", cx.site),
                &format!("To keep it, renew or buy it again at {}/catalogue, or ask your vendor. Your access: {}/account", cx.site, cx.site),
            )
        }
        MailKind::GraceStarted => {
            let (product, until) = facts(cx, |f| f.grace_until);
            notice(
                cx,
                &format!("Payment failed: access to {product} continues until {until}"),
                &format!("The renewal payment for {product} at {} failed. Your access continues until {until}.", cx.site),
                &format!("Pay the open invoice before then to keep it: {}/account/orders", cx.site),
            )
        }
        MailKind::GraceEnded => {
            let (product, until) = facts(cx, |f| f.grace_until);
            notice(
                cx,
                &format!("Access to {product} stopped: payment overdue"),
                &format!("Your access to {product} at {} stopped on {until}: the renewal invoice is unpaid.", cx.site),
                &format!("Pay it and access returns at once: {}/account/orders", cx.site),
            )
        }
        MailKind::AdminDigest => {
            let lines: Vec<String> =
                cx.digest.iter().map(|l| format!("- {} ({}): ends on {}", l.product, l.customer, human_date(l.ends_at))).collect();
            let mut body = if lines.is_empty() {
                format!("Nothing ends at {} in the next 7 days.", cx.site)
            } else {
                format!("Access that ends at {} in the next 7 days ({}):\n{}", cx.site, lines.len(), lines.join("\n"))
            };
            let mut subject = format!("Ending in the next 7 days: {}", cx.digest.len());
            if !cx.open_requests.is_empty() {
                let asked: Vec<String> = cx
                    .open_requests
                    .iter()
                    .map(|r| format!("- {} of {}, asked by {} ({}) on {}", r.kind.words(), r.product_name, r.requested_by_email, r.organisation, human_date(r.created_at)))
                    .collect();
                body.push_str(&format!(
                    "\n\nRequests waiting for an answer ({}):\n{}\nAnswer them on the dashboard: {}/admin",
                    asked.len(),
                    asked.join("\n"),
                    cx.site
                ));
                subject.push_str(&format!("; requests waiting: {}", asked.len()));
            }
            notice(cx, &subject, &body, &format!("Customers and entitlements: {}/admin/customers", cx.site))
        }
        MailKind::RequestAnswered => {
            let (product, kind) = cx.answer.map_or(("the product", "your request"), |a| (a.product.as_str(), a.kind.words()));
            let reply = cx.answer.and_then(|a| a.reply.as_deref()).filter(|r| !r.is_empty());
            let (subject, lead) = match cx.answer.and_then(|a| a.granted_until) {
                Some(Some(end)) => (
                    format!("Your access to {product} is ready"),
                    format!("You asked for {kind} of {product} at {}. Your access is ready, until {}.", cx.site, human_date(end)),
                ),
                Some(None) => (
                    format!("Your access to {product} is ready"),
                    format!("You asked for {kind} of {product} at {}. Your access is ready.", cx.site),
                ),
                None => (format!("About {product}: the vendor answered"), format!("You asked for {kind} of {product} at {}.", cx.site)),
            };
            let body = match reply {
                Some(r) => format!("{lead}\n\nThe vendor wrote:\n\n{r}"),
                None => lead,
            };
            notice(cx, &subject, &body, &format!("Your products and credentials: {}/account", cx.site))
        }
    }
}

/// A notice's product and one of its dates, in words.
fn facts(cx: &Context<'_>, date: impl Fn(&Facts) -> Option<chrono::DateTime<chrono::Utc>>) -> (String, String) {
    match cx.notice {
        Some(f) => (f.product.clone(), date(f).map(human_date).unwrap_or_else(|| "(no date)".into())),
        None => ("your product".into(), "(no date)".into()),
    }
}

/// A short mail that tells something, without a link of its own (optional
/// mail ends with how to stop it).
fn notice(cx: &Context<'_>, subject: &str, body: &str, closing: &str) -> Rendered {
    let stop = cx.unsubscribe.map(|u| format!("You get these notices for your account {}. Stop them: {u}", cx.to)).unwrap_or_default();
    let text = format!("{body}\n\n{closing}\n\n-- \nPortcullis, {site}\n{stop}\n", site = cx.site);
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;color:#0f172a\"><p>{body}</p><p>{closing}</p>\
         <p style=\"color:#64748b\">Portcullis, {site}<br>{stop}</p></body></html>",
        body = escape(body).replace('\n', "<br>"),
        closing = escape(closing),
        site = escape(cx.site),
        stop = escape(&stop),
    );
    Rendered { subject: subject.to_owned(), text, html }
}

/// A short mail around one button-like link.
fn with_link(cx: &Context<'_>, subject: &str, intro: &str, action: &str, purpose: LinkPurpose, closing: &str) -> Rendered {
    let link = cx.link.unwrap_or(cx.site);
    let lifetime = purpose.lifetime_words();
    let text = format!(
        "{intro}\n\n{action}:\n{link}\n\nThe link works once, for {lifetime}.\n{closing}\n\n-- \nPortcullis, {site}\n",
        site = cx.site
    );
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;color:#0f172a\">\
         <p>{intro}</p>\
         <p><a href=\"{link_attr}\" style=\"display:inline-block;padding:8px 16px;background:#4338ca;color:#ffffff;text-decoration:none;border-radius:6px\">{action}</a></p>\
         <p>Or open this address: <br><span style=\"word-break:break-all\">{link_text}</span></p>\
         <p>The link works once, for {lifetime}.<br>{closing}</p>\
         <p style=\"color:#64748b\">Portcullis, {site}</p></body></html>",
        intro = escape(intro),
        link_attr = escape(link),
        link_text = escape(link),
        action = escape(action),
        lifetime = escape(lifetime),
        closing = escape(closing),
        site = escape(cx.site),
    );
    Rendered { subject: subject.to_owned(), text, html }
}

/// HTML-escapes text for element content and quoted attributes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_renders_its_link_in_text_and_html() {
        let link = "https://portal.example.com/reset-password?token=abc";
        for kind in MailKind::ALL {
            let r = render(kind, &Context::plain("a@example.com", "a@example.com", "https://portal.example.com", Some(link)));
            if kind.link().is_some() {
                assert!(r.text.contains(link), "{kind:?}");
                assert!(r.html.contains(link), "{kind:?}");
            } else {
                assert!(!r.text.contains(link), "{kind:?} carries no link");
            }
            assert!(!r.subject.is_empty());
        }
    }

    #[test]
    fn notices_name_the_product_and_date_and_say_how_to_stop_them() {
        use chrono::TimeZone;
        let facts = Facts { product: "Widget <Pro>".into(), ends_at: Some(chrono::Utc.with_ymd_and_hms(2027, 3, 12, 0, 0, 0).unwrap()), grace_until: None };
        let cx = Context { notice: Some(&facts), unsubscribe: Some("https://p/unsubscribe?token=abc"), ..Context::plain("a@example.com", "a@example.com", "https://p", None) };
        let r = render(MailKind::AccessEnding, &cx);
        assert_eq!(r.subject, "Your access to Widget <Pro> ends on 12 March 2027");
        assert!(r.text.contains("https://p/unsubscribe?token=abc"));
        assert!(r.html.contains("Widget &lt;Pro&gt;") && !r.html.contains("Widget <Pro>"));
    }

    #[test]
    fn the_digest_lists_requests_waiting_for_an_answer() {
        use crate::domain::request::{RequestKind, RequestStatus};
        use chrono::TimeZone;
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap();
        let open = RequestRow {
            id: 1,
            organisation_id: 2,
            organisation: "Acme <Ltd>".into(),
            requested_by: 2,
            requested_by_email: "ops@acme.example".into(),
            product_id: 3,
            product_name: "Widget".into(),
            product_slug: "widget".into(),
            kind: RequestKind::Trial,
            message: String::new(),
            status: RequestStatus::Open,
            created_at: at,
            answered_at: None,
            answered_by_email: None,
            answer: None,
            entitlement_id: None,
            granted_until: None,
        };
        let quiet = render(MailKind::AdminDigest, &Context::plain("boss@example.com", "boss@example.com", "https://p", None));
        assert_eq!(quiet.subject, "Ending in the next 7 days: 0");
        assert!(!quiet.text.contains("Requests"));
        let requests = [open];
        let cx = Context { open_requests: &requests, ..Context::plain("boss@example.com", "boss@example.com", "https://p", None) };
        let r = render(MailKind::AdminDigest, &cx);
        assert_eq!(r.subject, "Ending in the next 7 days: 0; requests waiting: 1");
        assert!(r.text.contains("- a trial of Widget, asked by ops@acme.example (Acme <Ltd>) on 1 December 2026"), "{}", r.text);
        assert!(r.text.contains("https://p/admin"));
        assert!(r.html.contains("Acme &lt;Ltd&gt;") && !r.html.contains("Acme <Ltd>"));
    }

    #[test]
    fn values_are_escaped_in_html() {
        let r = render(MailKind::Invitation, &Context::plain("<b>x</b>@example.com", "", "https://p\"x", Some("https://p/?a=1&b=2")));
        assert!(!r.html.contains("<b>x</b>"));
        assert!(r.html.contains("&lt;b&gt;x&lt;/b&gt;@example.com"));
        assert!(r.html.contains("a=1&amp;b=2"));
        assert!(!r.html.contains("p\"x"));
    }
}
