//! What a token request asks for and what a token grants, as the Docker
//! Registry v2 token protocol spells them; pure, so the rules about them are
//! table-tested without a server.
//!
//! Clients send `scope=type:name:actions`, repeated, sometimes duplicated;
//! names may contain a registry host with a port (`host:5000/a/b`), so the
//! actions are split off at the *last* colon and the type at the first.

use serde::{Deserialize, Serialize};

/// What one token request may carry; past these it is refused with 400
/// before anything is looked up, logged or audited. Real clients send one
/// or two scopes of well under 300 bytes.
pub mod limits {
    /// The query string, raw.
    pub const QUERY_BYTES: usize = 8 * 1024;
    /// Scopes after splitting (`scope` repeated and space-separated).
    pub const SCOPES: usize = 32;
    /// One scope: `repository:` + a name of at most 255 + actions.
    pub const SCOPE_BYTES: usize = 512;
    /// The `service` parameter.
    pub const SERVICE_BYTES: usize = 256;
    /// The `Authorization` header.
    pub const AUTHORIZATION_BYTES: usize = 1024;
}

/// What a scope asks about (`Scope::target`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeTarget {
    /// `repository:NAME:…`
    Repository,
    /// `registry:catalog:*`
    Catalog,
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Scope {
    pub fn parse(raw: &str) -> Option<Self> {
        let (kind, rest) = raw.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        let mut list: Vec<String> = Vec::new();
        for a in actions.split(',').map(str::trim).filter(|a| !a.is_empty()) {
            if !list.iter().any(|x| x == a) {
                list.push(a.to_owned());
            }
        }
        Some(Self { kind: kind.to_owned(), name: name.to_owned(), actions: list })
    }

    /// What the scope names: a repository, the registry's catalog, or
    /// something this portal does not offer.
    pub fn target(&self) -> ScopeTarget {
        match (self.kind.as_str(), self.name.as_str()) {
            ("repository", _) => ScopeTarget::Repository,
            ("registry", "catalog") => ScopeTarget::Catalog,
            _ => ScopeTarget::Other,
        }
    }

    pub fn wants(&self, action: &str) -> bool {
        self.actions.iter().any(|a| a == action || a == "*")
    }
}

/// The scopes of a request, de-duplicated (same type and name merge their
/// actions), in first-seen order; unparseable ones are returned apart.
pub fn parse_all<'a>(raw: impl IntoIterator<Item = &'a str>) -> (Vec<Scope>, Vec<String>) {
    let mut scopes: Vec<Scope> = Vec::new();
    let mut bad = Vec::new();
    for r in raw {
        match Scope::parse(r) {
            Some(s) => match scopes.iter_mut().find(|x| x.kind == s.kind && x.name == s.name) {
                Some(existing) => {
                    for a in s.actions {
                        if !existing.actions.contains(&a) {
                            existing.actions.push(a);
                        }
                    }
                }
                None => scopes.push(s),
            },
            None => bad.push(r.to_owned()),
        }
    }
    (scopes, bad)
}

/// One entry of the token's `access` claim.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Access {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_with_ports_split_at_the_last_colon() {
        let s = Scope::parse("repository:localhost:5000/acme/widget:pull,push").unwrap();
        assert_eq!(s.kind, "repository");
        assert_eq!(s.name, "localhost:5000/acme/widget");
        assert_eq!(s.actions, ["pull", "push"]);
        assert_eq!(Scope::parse("registry:catalog:*").unwrap().actions, ["*"]);
        assert!(Scope::parse("nonsense").is_none());
        assert!(Scope::parse("repository::pull").is_none());
    }

    #[test]
    fn repeated_and_duplicated_scopes_merge() {
        let (scopes, bad) = parse_all([
            "repository:acme/widget:pull",
            "repository:acme/widget:pull",
            "repository:acme/widget:push,pull",
            "repository:acme/other:pull",
            "garbage",
        ]);
        assert_eq!(scopes.len(), 2);
        assert_eq!(scopes[0].actions, ["pull", "push"]);
        assert_eq!(scopes[1].name, "acme/other");
        assert_eq!(bad, ["garbage"]);
        assert!(scopes[0].wants("push") && !scopes[1].wants("push"));
    }
}
