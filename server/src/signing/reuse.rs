//! Reusing a signed token. Every token request is decided afresh and
//! audited (its own row, `details.reused`); when the decision grants the
//! same credential exactly the same access as a token this replica signed
//! with the current key less than a short window ago, that token is sent
//! again instead of a new signature (ES256 is most of a grant's CPU). The
//! window is a tenth of the token lifetime, at most 30 s, so a reused
//! token still has at least nine tenths of its life, and it expires
//! earlier, never later, than a fresh one would. A revocation or any change
//! of access changes the decision, which then matches no cached token.
//!
//! Bounded: at most [`CAP`] tokens; when full, expired ones are dropped,
//! and if none has expired nothing more is cached until one has.

use app::domain::registry::Access;
use std::{collections::HashMap, sync::Mutex};

pub const CAP: usize = 50_000;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    kid: String,
    subject: String,
    access: Vec<Access>,
}

/// A token as sent: the compact JWT, its id and its `iat`.
#[derive(Clone, Debug)]
pub struct Issued {
    pub token: String,
    pub jti: String,
    pub issued_at: i64,
}

pub struct Reuse {
    window_secs: i64,
    tokens: Mutex<HashMap<Key, Issued>>,
}

impl Reuse {
    /// For tokens living `ttl_secs`.
    pub fn new(ttl_secs: u64) -> Self {
        Self { window_secs: (ttl_secs / 10).min(30) as i64, tokens: Mutex::new(HashMap::new()) }
    }

    /// The token signed by key `kid` for `subject` with exactly `access`
    /// within the window before `now` (seconds since the epoch), if any.
    pub fn get(&self, kid: &str, subject: &str, access: &[Access], now: i64) -> Option<Issued> {
        if self.window_secs == 0 {
            return None;
        }
        let key = Key { kid: kid.to_owned(), subject: subject.to_owned(), access: access.to_vec() };
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.get(&key).filter(|t| now - t.issued_at < self.window_secs && now >= t.issued_at).cloned()
    }

    pub fn put(&self, kid: &str, subject: &str, access: &[Access], issued: Issued) {
        if self.window_secs == 0 {
            return;
        }
        let key = Key { kid: kid.to_owned(), subject: subject.to_owned(), access: access.to_vec() };
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        if !tokens.contains_key(&key) && tokens.len() >= CAP {
            let (now, window) = (issued.issued_at, self.window_secs);
            tokens.retain(|_, t| now - t.issued_at < window);
            if tokens.len() >= CAP {
                return;
            }
        }
        tokens.insert(key, issued);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(name: &str) -> Vec<Access> {
        vec![Access { kind: "repository".into(), name: name.into(), actions: vec!["pull".into()] }]
    }

    fn issued(at: i64) -> Issued {
        Issued { token: format!("t{at}"), jti: format!("j{at}"), issued_at: at }
    }

    #[test]
    fn the_same_grant_by_the_same_key_within_the_window_reuses_the_token() {
        let r = Reuse::new(300);
        r.put("k1", "pull-a", &pull("acme/widget"), issued(1000));
        assert_eq!(r.get("k1", "pull-a", &pull("acme/widget"), 1029).unwrap().token, "t1000");
        assert!(r.get("k1", "pull-a", &pull("acme/widget"), 1030).is_none(), "past a tenth of the TTL (30 s)");
        assert!(r.get("k2", "pull-a", &pull("acme/widget"), 1001).is_none(), "another key");
        assert!(r.get("k1", "pull-b", &pull("acme/widget"), 1001).is_none(), "another credential");
        assert!(r.get("k1", "pull-a", &pull("acme/other"), 1001).is_none(), "other access");
        assert!(r.get("k1", "pull-a", &pull("acme/widget"), 999).is_none(), "never a token from the future");
    }

    #[test]
    fn short_lifetimes_shorten_the_window() {
        let r = Reuse::new(40);
        r.put("k", "s", &[], issued(0));
        assert!(r.get("k", "s", &[], 3).is_some());
        assert!(r.get("k", "s", &[], 4).is_none());
    }
}
