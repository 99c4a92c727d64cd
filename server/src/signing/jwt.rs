//! The registry token itself: a compact JWS (ES256) with the claims
//! Distribution 2.8 and 3.x and Zot check, signed by the active key (`keys.rs`: the one
//! `ActiveSigner` holds when the token is made). What goes
//! into its `access` claim is decided by `app::backend::services::registry`.

use crate::signing::keys::{ActiveSigner, KeyError};
use app::domain::registry::Access;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Serialize;

/// The key travels as its certificate (`x5c`): Distribution 2.8 and 3.x
/// verify it against their `rootcertbundle` before any `kid`, and 3.x no
/// longer knows libtrust key ids. A signer without a certificate (tests)
/// names its key by `kid`.
#[derive(Serialize)]
struct Header<'a> {
    alg: &'static str,
    typ: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    x5c: Option<[&'a str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    sub: &'a str,
    /// A string: Distribution 2.8 rejects an array.
    aud: &'a str,
    exp: i64,
    nbf: i64,
    iat: i64,
    jti: &'a str,
    access: &'a [Access],
}

pub struct TokenSpec<'a> {
    pub issuer: &'a str,
    pub subject: &'a str,
    pub audience: &'a str,
    pub issued_at: i64,
    pub ttl_secs: i64,
    pub jti: &'a str,
    pub access: &'a [Access],
}

/// A compact JWS (ES256) the registry accepts, its certificate and
/// signature from the same key.
pub fn sign_token(signer: &ActiveSigner, spec: &TokenSpec<'_>) -> Result<String, KeyError> {
    let signer = signer.current();
    let header = match signer.header.get() {
        Some(h) => h,
        None => {
            let x5c = signer.x5c.as_deref().map(|c| [c]);
            let kid = if x5c.is_some() { None } else { Some(signer.kid.as_str()) };
            let encoded = URL_SAFE_NO_PAD.encode(to_json(&Header { alg: "ES256", typ: "JWT", x5c, kid })?);
            signer.header.get_or_init(|| encoded)
        }
    };
    let claims = to_json(&Claims {
        iss: spec.issuer,
        sub: spec.subject,
        aud: spec.audience,
        exp: spec.issued_at + spec.ttl_secs,
        nbf: spec.issued_at - 5,
        iat: spec.issued_at,
        jti: spec.jti,
        access: spec.access,
    })?;
    let mut token = String::with_capacity(header.len() + 512);
    token.push_str(header);
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(claims));
    let signature = signer.sign(token.as_bytes())?;
    token.push('.');
    token.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(token)
}

/// What the pull gateway reads of a token it verified.
#[derive(Debug, serde::Deserialize)]
pub struct Verified {
    /// The credential's user name.
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    #[serde(default)]
    pub nbf: i64,
    #[serde(default)]
    pub access: Vec<Access>,
}

impl Verified {
    /// Whether the token grants `action` on repository `name`.
    pub fn grants(&self, name: &str, action: &str) -> bool {
        self.access.iter().any(|a| a.kind == "repository" && a.name == name && a.actions.iter().any(|x| x == action))
    }
}

/// Verifies a token this portal signed (ES256 by the active key) for
/// `audience`, valid at `now`. A token signed by a key rotated out since is
/// refused: the client asks the token service again.
pub fn verify_token(signer: &ActiveSigner, token: &str, audience: &str, now: i64) -> Result<Verified, &'static str> {
    if token.len() > 16 * 1024 {
        return Err("the token is too long");
    }
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a signed token");
    };
    let signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| "not a signed token")?;
    let signer = signer.current();
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, signer.public_key());
    key.verify(&token.as_bytes()[..head.len() + 1 + body.len()], &signature).map_err(|_| "the token's signature does not verify")?;
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).map_err(|_| "not a signed token")?)
        .map_err(|_| "not a signed token")?;
    if header["alg"] != "ES256" {
        return Err("the token is not ES256");
    }
    let claims: Verified =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).map_err(|_| "not a signed token")?).map_err(|_| "the token's claims do not parse")?;
    if claims.aud != audience {
        return Err("the token is for another service");
    }
    if claims.exp <= now || claims.nbf > now + 60 {
        return Err("the token has expired");
    }
    Ok(claims)
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, KeyError> {
    serde_json::to_vec(v).map_err(|e| KeyError::Invalid(format!("cannot encode the token: {e}")))
}
