//! Requests customers make when a product cannot simply be bought: a trial,
//! or a word with sales. The admin answers each with a grant (a trial or a
//! manual entitlement) or a reply by mail; either way the member who asked
//! gets a mail. One open request per organisation and product.

use serde::{Deserialize, Serialize};

/// The longest message a customer may send with a request.
pub const MESSAGE_MAX: usize = 2000;
/// The longest reply an admin may send.
pub const ANSWER_MAX: usize = 4000;
/// The longest trial or grant an answer may give, in days.
pub const GRANT_DAYS_MAX: u32 = 3660;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum RequestKind {
    /// "Start a trial": the product has a trial price the vendor grants by hand.
    Trial,
    /// "Contact sales": terms other than the online prices, or none online.
    Contact,
}

impl RequestKind {
    pub const ALL: [RequestKind; 2] = [RequestKind::Trial, RequestKind::Contact];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Trial => "trial",
            RequestKind::Contact => "contact",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// In a sentence: "a trial", "contact with sales".
    pub fn words(self) -> &'static str {
        match self {
            RequestKind::Trial => "a trial",
            RequestKind::Contact => "contact with sales",
        }
    }

    /// What a grant answering this request is: a trial, or a manual grant.
    pub fn grant_source(self) -> crate::domain::access::EntitlementSource {
        match self {
            RequestKind::Trial => crate::domain::access::EntitlementSource::Trial,
            RequestKind::Contact => crate::domain::access::EntitlementSource::Manual,
        }
    }
}

crate::text_column!(RequestKind, RequestKind::parse);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum RequestStatus {
    /// Waiting for the vendor.
    Open,
    /// Answered with an entitlement.
    Granted,
    /// Answered with a reply (no access given).
    Answered,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 3] = [RequestStatus::Open, RequestStatus::Granted, RequestStatus::Answered];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Open => "open",
            RequestStatus::Granted => "granted",
            RequestStatus::Answered => "answered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

crate::text_column!(RequestStatus, RequestStatus::parse);

/// A customer's message or an admin's reply, checked: trimmed, at most
/// `max` characters, free text (line breaks and tabs, no other control
/// character). Empty is allowed for a message (`required` false).
pub fn parse_text(field: &'static str, text: &str, max: usize, required: bool) -> Result<String, (&'static str, String)> {
    let text = text.trim();
    if required && text.is_empty() {
        return Err((field, "write a few words".into()));
    }
    if text.chars().count() > max {
        return Err((field, format!("at most {max} characters")));
    }
    if !crate::domain::text::is_free_text(text) {
        return Err((field, "no control characters (line breaks and tabs are fine)".into()));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_statuses_read_back() {
        for k in RequestKind::ALL {
            assert_eq!(RequestKind::parse(k.as_str()), Some(k));
        }
        for s in RequestStatus::ALL {
            assert_eq!(RequestStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(RequestKind::parse("buy"), None);
    }

    #[test]
    fn texts_are_bounded_and_plain() {
        assert_eq!(parse_text("message", "  hello\nthere ", MESSAGE_MAX, false).unwrap(), "hello\nthere");
        assert_eq!(parse_text("message", "", MESSAGE_MAX, false).unwrap(), "");
        assert_eq!(parse_text("answer", "  ", ANSWER_MAX, true).unwrap_err().0, "answer");
        assert!(parse_text("message", &"x".repeat(MESSAGE_MAX + 1), MESSAGE_MAX, false).is_err());
        assert!(parse_text("message", "bell\u{7}", MESSAGE_MAX, false).is_err());
    }
}
