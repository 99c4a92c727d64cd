//! Mail as the admin's page, the demo mailbox and the password pages see it.

use crate::domain::mail::{LinkPurpose, MailKind, MailStatus};
use serde::{Deserialize, Serialize};

/// One mail of the outbox (never its text: links are secrets).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailView {
    pub id: i64,
    pub created_at: String,
    pub kind: MailKind,
    pub to_address: String,
    pub status: MailStatus,
    pub attempts: i32,
    /// When the next attempt is due (pending mails).
    pub next_attempt_at: String,
    pub last_error: Option<String>,
    pub sent_at: Option<String>,
}

/// The admin's mail page: how mail leaves, counts, the newest mails.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailOverview {
    pub transport: String,
    /// Whether mails leave at all (else they wait for SMTP settings).
    pub delivers: bool,
    pub pending: i64,
    pub sent: i64,
    pub failed: i64,
    pub mails: Vec<MailView>,
}

/// A mail in demo mode's local mailbox, as delivered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LocalMailView {
    pub id: i64,
    pub sent_at: String,
    pub to_address: String,
    pub subject: String,
    pub text: String,
}

/// What a password link is for, shown before its form.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    pub purpose: LinkPurpose,
    pub email: String,
}
