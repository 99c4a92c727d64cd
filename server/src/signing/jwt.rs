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

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>, KeyError> {
    serde_json::to_vec(v).map_err(|e| KeyError::Invalid(format!("cannot encode the token: {e}")))
}
