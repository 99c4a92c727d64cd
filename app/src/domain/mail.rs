//! The mails the portal sends and the single-use links some of them carry.
//! One rule per fact: what a kind of mail links to, for how long, and
//! whether its recipient may opt out, is decided here and nowhere else.

use serde::{Deserialize, Serialize};

/// What a mail is for. Each kind is written to the outbox by the event that
/// causes it and rendered when it is delivered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// "Forgot password": a link to choose a new password.
    PasswordReset,
    /// A customer account made by an admin or through the REST API: a link
    /// to set the first password.
    Invitation,
    /// After sign-up: a link that confirms the address.
    VerifyEmail,
    /// Someone signed up with an address that has an account: its owner is
    /// told (the visitor sees the same answer as for a new address).
    SignupTaken,
    /// The password was changed (a notice, no link).
    PasswordChanged,
    /// To a new address: a link that confirms it and makes it the account's.
    EmailChange,
    /// To the old address, once the account moved to a new one (a notice).
    EmailChanged,
    /// Access to a product ends soon (a notice, per threshold).
    AccessEnding,
    /// A renewal payment failed: access continues until the grace end.
    GraceStarted,
    /// The grace period ended unpaid: access stopped.
    GraceEnded,
    /// To vendor admins, daily: what ends soon.
    AdminDigest,
    /// To the member who asked for a trial or for sales: the vendor's answer
    /// (a grant and its end, or a reply).
    RequestAnswered,
}

impl MailKind {
    pub const ALL: [MailKind; 12] = [
        MailKind::PasswordReset,
        MailKind::Invitation,
        MailKind::VerifyEmail,
        MailKind::SignupTaken,
        MailKind::PasswordChanged,
        MailKind::EmailChange,
        MailKind::EmailChanged,
        MailKind::AccessEnding,
        MailKind::GraceStarted,
        MailKind::GraceEnded,
        MailKind::AdminDigest,
        MailKind::RequestAnswered,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password_reset",
            MailKind::Invitation => "invitation",
            MailKind::VerifyEmail => "verify_email",
            MailKind::SignupTaken => "signup_taken",
            MailKind::PasswordChanged => "password_changed",
            MailKind::EmailChange => "email_change",
            MailKind::EmailChanged => "email_changed",
            MailKind::AccessEnding => "access_ending",
            MailKind::GraceStarted => "grace_started",
            MailKind::GraceEnded => "grace_ended",
            MailKind::AdminDigest => "admin_digest",
            MailKind::RequestAnswered => "request_answered",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How people read it in the admin's list.
    pub fn label(self) -> &'static str {
        match self {
            MailKind::PasswordReset => "password reset",
            MailKind::Invitation => "invitation",
            MailKind::VerifyEmail => "address confirmation",
            MailKind::SignupTaken => "sign-up with a taken address",
            MailKind::PasswordChanged => "password changed",
            MailKind::EmailChange => "new address confirmation",
            MailKind::EmailChanged => "address changed",
            MailKind::AccessEnding => "access ends soon",
            MailKind::GraceStarted => "renewal payment failed",
            MailKind::GraceEnded => "grace period ended",
            MailKind::AdminDigest => "daily digest",
            MailKind::RequestAnswered => "answer to a request",
        }
    }

    /// The link this mail carries, made when it is delivered.
    pub fn link(self) -> Option<LinkPurpose> {
        match self {
            MailKind::PasswordReset => Some(LinkPurpose::Reset),
            MailKind::Invitation => Some(LinkPurpose::Invite),
            MailKind::VerifyEmail => Some(LinkPurpose::Verify),
            MailKind::EmailChange => Some(LinkPurpose::EmailChange),
            MailKind::SignupTaken
            | MailKind::PasswordChanged
            | MailKind::EmailChanged
            | MailKind::AccessEnding
            | MailKind::GraceStarted
            | MailKind::GraceEnded
            | MailKind::AdminDigest
            | MailKind::RequestAnswered => None,
        }
    }

    /// Whether the recipient may opt out (such mails carry
    /// `List-Unsubscribe`): the notices and the digest; account mails are
    /// never optional.
    pub fn optional(self) -> bool {
        matches!(self, MailKind::AccessEnding | MailKind::GraceStarted | MailKind::GraceEnded | MailKind::AdminDigest)
    }
}

crate::text_column!(MailKind, MailKind::parse);

/// Where a mail is on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Accepted by the SMTP server (or, in demo mode without SMTP, put in the
    /// local mailbox).
    Sent,
    /// Refused for good, or out of attempts; an admin may send it again.
    Failed,
}

impl MailStatus {
    pub const ALL: [MailStatus; 3] = [MailStatus::Pending, MailStatus::Sent, MailStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

crate::text_column!(MailStatus, MailStatus::parse);

/// Delivery attempts before a mail fails for good (an admin may send it
/// again).
pub const MAX_ATTEMPTS: i32 = 8;

/// How long to wait after the failed attempt number `attempt` (from 1)
/// before the next: 30 s, doubling, at most an hour; `None` once
/// `MAX_ATTEMPTS` have failed (about 2 hours 8 minutes in all).
pub fn retry_delay_secs(attempt: i32) -> Option<i64> {
    if attempt >= MAX_ATTEMPTS {
        return None;
    }
    let doubled = 30i64.checked_shl(attempt.clamp(1, 30) as u32 - 1).unwrap_or(i64::MAX);
    Some(doubled.min(3600))
}

/// What a notice is about (`notices.kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// Access ends within one of the thresholds.
    Ending,
    /// A renewal payment failed; access runs to the grace end.
    GraceStarted,
    /// The grace end passed unpaid.
    GraceEnded,
}

impl NoticeKind {
    pub const ALL: [NoticeKind; 3] = [NoticeKind::Ending, NoticeKind::GraceStarted, NoticeKind::GraceEnded];

    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Ending => "ending",
            NoticeKind::GraceStarted => "grace_started",
            NoticeKind::GraceEnded => "grace_ended",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The mail that carries it.
    pub fn mail(self) -> MailKind {
        match self {
            NoticeKind::Ending => MailKind::AccessEnding,
            NoticeKind::GraceStarted => MailKind::GraceStarted,
            NoticeKind::GraceEnded => MailKind::GraceEnded,
        }
    }
}

crate::text_column!(NoticeKind, NoticeKind::parse);

/// The threshold (in days) whose "access ends soon" notice is due for an
/// access that ends at `ends_at`: the smallest of `thresholds` that the
/// time left is within, so a grant that starts with 5 days left gets the
/// 7-day notice and then the 1-day one, never the 30-day one. `None` once
/// it has ended or while it is further away than every threshold.
pub fn ending_threshold(now: chrono::DateTime<chrono::Utc>, ends_at: chrono::DateTime<chrono::Utc>, thresholds: &[u32]) -> Option<u32> {
    if ends_at <= now {
        return None;
    }
    let left = ends_at - now;
    thresholds.iter().copied().filter(|d| left <= chrono::Duration::days(i64::from(*d))).min()
}

/// What a single-use link lets its holder do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkPurpose {
    /// Choose a new password (from "Forgot password").
    Reset,
    /// Set the first password of an account made for its owner.
    Invite,
    /// Confirm the address given at sign-up.
    Verify,
    /// Confirm a new address and make it the account's.
    EmailChange,
}

impl LinkPurpose {
    pub const ALL: [LinkPurpose; 4] = [LinkPurpose::Reset, LinkPurpose::Invite, LinkPurpose::Verify, LinkPurpose::EmailChange];

    pub fn as_str(self) -> &'static str {
        match self {
            LinkPurpose::Reset => "reset",
            LinkPurpose::Invite => "invite",
            LinkPurpose::Verify => "verify",
            LinkPurpose::EmailChange => "email_change",
        }
    }

    /// The page the link opens (`?token=` follows): a password form, or a
    /// button that confirms an address (a button, not the visit itself, so
    /// a mail scanner that opens links confirms nothing).
    pub fn path(self) -> &'static str {
        match self {
            LinkPurpose::Reset | LinkPurpose::Invite => "/reset-password",
            LinkPurpose::Verify | LinkPurpose::EmailChange => "/confirm-email",
        }
    }

    /// Whether following it sets a password (else it confirms an address).
    pub fn sets_password(self) -> bool {
        matches!(self, LinkPurpose::Reset | LinkPurpose::Invite)
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How long a link works after it is sent, in seconds.
    pub fn lifetime_secs(self) -> i64 {
        match self {
            LinkPurpose::Reset => 60 * 60,
            LinkPurpose::Invite => 7 * 24 * 60 * 60,
            LinkPurpose::Verify | LinkPurpose::EmailChange => 48 * 60 * 60,
        }
    }

    /// The lifetime as the mail states it.
    pub fn lifetime_words(self) -> &'static str {
        match self {
            LinkPurpose::Reset => "1 hour",
            LinkPurpose::Invite => "7 days",
            LinkPurpose::Verify | LinkPurpose::EmailChange => "48 hours",
        }
    }
}

crate::text_column!(LinkPurpose, LinkPurpose::parse);

/// Characters of a link's token: alphanumeric from the OS generator,
/// ≈ 256 bits.
pub const LINK_TOKEN_CHARS: usize = 43;

/// Characters of an account's one-click unsubscribe token (it can only
/// stop optional mail, so it is stored as it is).
pub const UNSUBSCRIBE_TOKEN_CHARS: usize = 32;

/// Whether `token` could be an unsubscribe token (checked before any look-up).
pub fn plausible_unsubscribe_token(token: &str) -> bool {
    token.len() == UNSUBSCRIBE_TOKEN_CHARS && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Whether `token` could be a link token at all (checked before any look-up).
pub fn plausible_link_token(token: &str) -> bool {
    token.len() == LINK_TOKEN_CHARS && token.bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_through_text() {
        for k in MailKind::ALL {
            assert_eq!(MailKind::parse(k.as_str()), Some(k));
        }
        for s in MailStatus::ALL {
            assert_eq!(MailStatus::parse(s.as_str()), Some(s));
        }
        for p in LinkPurpose::ALL {
            assert_eq!(LinkPurpose::parse(p.as_str()), Some(p));
        }
        assert_eq!(MailKind::parse("spam"), None);
    }

    #[test]
    fn account_mails_carry_links_and_are_not_optional() {
        assert_eq!(MailKind::PasswordReset.link(), Some(LinkPurpose::Reset));
        assert_eq!(MailKind::Invitation.link(), Some(LinkPurpose::Invite));
        assert_eq!(MailKind::SignupTaken.link(), None, "the visitor may not own the address: no link");
        assert!(LinkPurpose::ALL.iter().all(|p| p.path().starts_with('/')));
        assert!(MailKind::ALL.iter().filter(|k| k.link().is_some()).all(|k| !k.optional()), "account mails are never optional");
        assert!(MailKind::AccessEnding.optional() && MailKind::AdminDigest.optional());
        assert!(LinkPurpose::Reset.lifetime_secs() < LinkPurpose::Invite.lifetime_secs());
    }

    #[test]
    fn retries_back_off_to_an_hour_then_stop() {
        let delays: Vec<_> = (1..=MAX_ATTEMPTS).map(retry_delay_secs).collect();
        assert_eq!(delays, vec![Some(30), Some(60), Some(120), Some(240), Some(480), Some(960), Some(1920), None]);
        assert_eq!(retry_delay_secs(0), Some(30));
    }

    #[test]
    fn the_ending_notice_is_the_smallest_threshold_within_reach() {
        use chrono::{Duration, TimeZone, Utc};
        let now = Utc.with_ymd_and_hms(2027, 1, 1, 8, 0, 0).unwrap();
        let t = [30, 7, 1];
        assert_eq!(ending_threshold(now, now + Duration::days(40), &t), None);
        assert_eq!(ending_threshold(now, now + Duration::days(30), &t), Some(30));
        assert_eq!(ending_threshold(now, now + Duration::days(5), &t), Some(7));
        assert_eq!(ending_threshold(now, now + Duration::hours(3), &t), Some(1));
        assert_eq!(ending_threshold(now, now, &t), None, "ended: no notice");
        assert_eq!(ending_threshold(now, now + Duration::days(5), &[]), None);
    }

    #[test]
    fn link_tokens_are_checked_before_any_lookup() {
        assert!(plausible_link_token(&"a".repeat(LINK_TOKEN_CHARS)));
        assert!(!plausible_link_token(&"a".repeat(LINK_TOKEN_CHARS + 1)));
        assert!(!plausible_link_token(&format!("{}%", "a".repeat(LINK_TOKEN_CHARS - 1))));
        assert!(!plausible_link_token(""));
    }
}
