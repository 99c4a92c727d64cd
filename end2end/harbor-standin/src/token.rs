//! The registry token service, as Harbor's `/service/token`
//! (`src/core/service/token/`): a CNCF Distribution registry configured with
//! `auth.token.realm = {base_url}service/token`, `service = harbor-registry`,
//! `issuer = harbor-token-issuer` and `rootcertbundle` = the stand-in's
//! certificate asks it for a JWT granting the scopes a client needs.
//!
//! Differences from Harbor: the JWT is signed with ES256 and carries the
//! self-signed certificate in `x5c` (Harbor: RS256 with a `kid`).

use std::io;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::SystemRandom;
use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde_json::{json, Value};

use crate::rbac::{self, Caller, TOKEN_ACTIONS};
use crate::state::{random_string, Shared, Store};

/// The ES256 key the tokens are signed with and its self-signed certificate.
pub struct Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    certificate_der_base64: String,
    certificate_pem: String,
}

impl Signer {
    /// A new P-256 key and a self-signed certificate for it (CN = `issuer`).
    pub fn generate(issuer: &str) -> io::Result<Self> {
        let err = |e: &dyn std::fmt::Display| io::Error::other(format!("token key: {e}"));
        let key_pair =
            rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(|e| err(&e))?;
        let mut params =
            rcgen::CertificateParams::new(vec![issuer.to_string()]).map_err(|e| err(&e))?;
        let mut name = rcgen::DistinguishedName::new();
        name.push(rcgen::DnType::CommonName, issuer);
        params.distinguished_name = name;
        let certificate = params.self_signed(&key_pair).map_err(|e| err(&e))?;
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &key_pair.serialize_der(),
            &rng,
        )
        .map_err(|e| err(&e))?;
        Ok(Self {
            key,
            rng,
            certificate_der_base64: STANDARD.encode(certificate.der()),
            certificate_pem: certificate.pem(),
        })
    }

    /// The certificate, PEM (a registry's `rootcertbundle`).
    pub fn certificate_pem(&self) -> &str {
        &self.certificate_pem
    }

    /// `header.claims.signature`, ES256 (r‖s), the certificate in `x5c`.
    pub fn sign(&self, claims: &Value) -> io::Result<String> {
        let header = json!({
            "alg": "ES256",
            "typ": "JWT",
            "x5c": [self.certificate_der_base64],
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .key
            .sign(&self.rng, signing_input.as_bytes())
            .map_err(|e| io::Error::other(format!("signing: {e}")))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// What the token endpoint answers.
pub enum TokenAnswer {
    /// 200 with this JSON.
    Token(Value),
    /// 400 text: a `service` Harbor does not handle.
    BadService(String),
    /// 401, empty: anonymous without a scope (`docker login` with wrong credentials).
    Unauthorized,
    /// 500: signing failed.
    Failed,
}

/// Basic credentials → who is calling, as Harbor's security middleware
/// decides: a robot (prefixed name, right secret, enabled, not expired),
/// else the admin, else anonymous (wrong credentials are not an error).
pub fn caller(shared: &Shared, store: &Store, credentials: Option<(&str, &str)>) -> Caller {
    let Some((user, password)) = credentials else {
        return Caller::Anonymous;
    };
    if let Some(stored) = shared.stored_name(user) {
        let now = chrono::Utc::now().timestamp();
        if let Some(robot) = store.robot_by_stored_name(stored) {
            if robot.secret_matches(password) && !robot.disabled && !robot.expired(now) {
                return Caller::Robot(robot.id);
            }
        }
    }
    if user == shared.settings.admin_user && password == shared.settings.admin_password {
        return Caller::Admin;
    }
    Caller::Anonymous
}

/// One `type:name:actions` scope (`name` may contain `:`).
struct ResourceActions {
    kind: String,
    name: String,
    actions: Vec<String>,
}

fn parse_scope(scope: &str) -> ResourceActions {
    let items: Vec<&str> = scope.split(':').collect();
    let (kind, name, actions) = match items.len() {
        1 => (items[0], String::new(), Vec::new()),
        2 => (items[0], items[1].to_string(), Vec::new()),
        n => {
            let actions = if items[n - 1].is_empty() {
                Vec::new()
            } else {
                items[n - 1].split(',').map(str::to_string).collect()
            };
            (items[0], items[1..n - 1].join(":"), actions)
        }
    };
    ResourceActions {
        kind: kind.to_string(),
        name,
        actions,
    }
}

/// The actions Harbor grants on one requested resource. For a repository:
/// every action the caller has on the project (not only those asked for),
/// none when the project does not exist; `registry:catalog:*` only for the
/// admin; anything else gets none.
fn granted(store: &Store, who: &Caller, requested: &ResourceActions) -> Vec<String> {
    match requested.kind.as_str() {
        "repository" => {
            // `namespace/repo[:tag]`: the project is the first path segment.
            let Some((namespace, _)) = requested.name.split_once('/') else {
                return Vec::new();
            };
            let Some(project) = store.project_by_name(namespace) else {
                return Vec::new();
            };
            let robot = match who {
                Caller::Robot(id) => store.robots.get(id),
                _ => None,
            };
            TOKEN_ACTIONS
                .iter()
                .filter(|action| rbac::can(who, robot, project, action))
                .map(|a| a.to_string())
                .collect()
        }
        "registry" if requested.name == "catalog" && *who == Caller::Admin => {
            requested.actions.clone()
        }
        _ => Vec::new(),
    }
}

/// Answers `GET /service/token?service=…&scope=…` for these credentials.
pub fn answer(
    shared: &Shared,
    query: &[(String, String)],
    credentials: Option<(&str, &str)>,
) -> TokenAnswer {
    let service = query
        .iter()
        .find(|(k, _)| k == "service")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if service != shared.settings.token_service {
        return TokenAnswer::BadService(format!("Unable to handle service: {service}"));
    }
    let scopes: Vec<&str> = query
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split(' '))
        .collect();
    let store = shared.lock();
    let who = caller(shared, &store, credentials);
    if who == Caller::Anonymous && scopes.is_empty() {
        return TokenAnswer::Unauthorized;
    }
    let access: Vec<Value> = scopes
        .iter()
        .filter(|s| !s.is_empty())
        .map(|s| {
            let requested = parse_scope(s);
            let actions = granted(&store, &who, &requested);
            json!({ "type": requested.kind, "name": requested.name, "actions": actions })
        })
        .collect();
    let subject = match &who {
        Caller::Admin => shared.settings.admin_user.clone(),
        Caller::Robot(id) => store
            .robots
            .get(id)
            .map(|r| shared.full_name(r))
            .unwrap_or_default(),
        Caller::Anonymous => String::new(),
    };
    drop(store);
    let now = chrono::Utc::now();
    let expires_in = shared.settings.token_expiration_minutes * 60;
    let mut claims = serde_json::Map::new();
    claims.insert("iss".into(), json!(shared.settings.token_issuer));
    // golang-jwt leaves an empty subject out (anonymous).
    if !subject.is_empty() {
        claims.insert("sub".into(), json!(subject));
    }
    claims.insert("aud".into(), json!(service));
    claims.insert("exp".into(), json!(now.timestamp() + expires_in));
    claims.insert("nbf".into(), json!(now.timestamp()));
    claims.insert("iat".into(), json!(now.timestamp()));
    claims.insert("jti".into(), json!(random_string(16)));
    claims.insert("access".into(), Value::Array(access));
    match shared.signer.sign(&Value::Object(claims)) {
        Ok(token) => TokenAnswer::Token(json!({
            "token": token,
            // Harbor fills only `token`; `access_token` stays empty.
            "access_token": "",
            "expires_in": expires_in,
            "issued_at": now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })),
        Err(_) => TokenAnswer::Failed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scopes_like_harbor() {
        let s = parse_scope("repository:proj/app:pull,push");
        assert_eq!(
            (s.kind.as_str(), s.name.as_str()),
            ("repository", "proj/app")
        );
        assert_eq!(s.actions, vec!["pull", "push"]);
        let s = parse_scope("repository:host:5000/proj/app:pull");
        assert_eq!(s.name, "host:5000/proj/app");
        let s = parse_scope("registry:catalog:*");
        assert_eq!((s.name.as_str(), s.actions.len()), ("catalog", 1));
        let s = parse_scope("repository");
        assert_eq!((s.name.as_str(), s.actions.len()), ("", 0));
    }

    #[test]
    fn signs_verifiably() {
        let signer = Signer::generate("harbor-token-issuer").expect("signer");
        let jwt = signer.sign(&json!({"a": 1})).expect("sign");
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
        assert_eq!(signature.len(), 64);
        use ring::signature::KeyPair as _;
        let public = ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_FIXED,
            signer.key.public_key().as_ref().to_vec(),
        );
        public
            .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
            .expect("verifies");
        assert!(signer
            .certificate_pem()
            .starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
