//! The token-signing keys themselves: ES256 (P-256), each with a
//! self-signed certificate the registry trusts through its
//! `rootcertbundle`. Tokens carry the key's certificate in their `x5c`
//! header, which Distribution 2.8 and 3.x both try first (3.x rejects the
//! libtrust key ids 2.8 also accepts) and Zot does not need; the libtrust
//! id (`kid`) still names a key in the database, the CLI and the audit log,
//! and the RFC 7638 thumbprint names it in the `jwks` file of 3.x.
//! `Signer` is the key that signs; `ActiveSigner` holds the current one
//! behind a cheap swap, so a replica follows an activation without a
//! restart (`store::follow`). Where keys are kept: `store.rs` (the
//! database, sealed by `kek.rs`); `folder.rs` reads the key folders of
//! earlier versions for their import.

use data_encoding::BASE32_NOPAD;
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use sha2::{Digest, Sha256};
use std::{
    path::PathBuf,
    sync::{Arc, RwLock},
};

/// What can go wrong with keys; each names the setting to look at.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading a key folder for its import.
    #[error("PORTCULLIS_REGISTRY_KEY_DIR: {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// A key folder that cannot be imported as it is.
    #[error("PORTCULLIS_REGISTRY_KEY_DIR: {0}")]
    Folder(String),
    /// A sealed value this process cannot open.
    #[error("PORTCULLIS_KEY_ENCRYPTION_KEY: {0}")]
    Kek(String),
    #[error("PORTCULLIS_DATABASE_URL: the signing keys: {0}")]
    Database(String),
    #[error("{0}")]
    Invalid(String),
}

impl From<app::error::AppError> for KeyError {
    fn from(e: app::error::AppError) -> Self {
        use app::error::AppError;
        match e {
            AppError::Invalid { message, .. } | AppError::Conflict { message, .. } => Self::Invalid(message),
            AppError::NotFound => Self::Invalid("no such key (see `portcullis registry key list`)".into()),
            other => Self::Database(other.for_log()),
        }
    }
}

/// The libtrust key id of a DER SubjectPublicKeyInfo: SHA-256, first 30
/// bytes, base32 without padding, twelve groups of four joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    let digest = Sha256::digest(spki_der);
    let b32 = BASE32_NOPAD.encode(&digest[..30]);
    b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":")
}

/// The RFC 7638 thumbprint of a JWK given its required members: SHA-256 of
/// the members sorted by name in compact JSON, base64url without padding.
/// (The values here are base64url or fixed names: nothing to escape.)
pub fn jwk_thumbprint(members: &[(&str, &str)]) -> String {
    use base64::Engine;
    let mut members = members.to_vec();
    members.sort_by_key(|(name, _)| *name);
    let body: Vec<String> = members.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{{{}}}", body.join(","))))
}

/// A P-256 public key (the uncompressed point) as a JWK's `x` and `y`.
pub fn p256_xy(point: &[u8]) -> Option<(String, String)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    (point.len() == 65 && point[0] == 4).then(|| (b64.encode(&point[1..33]), b64.encode(&point[33..])))
}

/// The public JWK (with its RFC 7638 thumbprint as `kid`) of a P-256 point.
pub fn p256_jwk(point: &[u8]) -> Option<serde_json::Value> {
    let (x, y) = p256_xy(point)?;
    let kid = jwk_thumbprint(&[("crv", "P-256"), ("kty", "EC"), ("x", &x), ("y", &y)]);
    Some(serde_json::json!({ "kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "alg": "ES256", "use": "sig" }))
}

/// The DER of every certificate in a PEM text (a bundle), in order.
pub fn certificates_der(text: &str) -> Result<Vec<Vec<u8>>, KeyError> {
    let blocks = pem::parse_many(text).map_err(|e| KeyError::Invalid(format!("not PEM: {e}")))?;
    Ok(blocks.into_iter().filter(|b| b.tag() == "CERTIFICATE").map(pem::Pem::into_contents).collect())
}

/// The DER of the first certificate in a PEM text.
pub fn certificate_der(text: &str) -> Result<Vec<u8>, KeyError> {
    certificates_der(text)?
        .into_iter()
        .next()
        .ok_or_else(|| KeyError::Invalid("the signing key's certificate is not a PEM CERTIFICATE".into()))
}

/// The P-256 public key (uncompressed point) a certificate (DER) holds:
/// found by its SubjectPublicKeyInfo's fixed algorithm header.
pub fn certificate_point(der: &[u8]) -> Option<&[u8]> {
    let header = &p256_spki(&[])[..];
    let at = der.windows(header.len()).position(|w| w == header)? + header.len();
    der.get(at..at + 65)
}

/// The libtrust key id of the key a certificate (DER) holds.
pub fn certificate_kid(der: &[u8]) -> Option<String> {
    certificate_point(der).map(|point| libtrust_kid(&p256_spki(point)))
}

/// The DER SubjectPublicKeyInfo of a P-256 public key (the uncompressed
/// point): the fixed algorithm header, then the point.
fn p256_spki(point: &[u8]) -> Vec<u8> {
    const HEADER: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
        0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    [&HEADER[..], point].concat()
}

/// A new key: its kid, the private key (PKCS#8 DER) and a self-signed
/// certificate (PEM). No `Debug`: it holds the private key.
pub struct NewKeyPair {
    pub kid: String,
    pub pkcs8_der: Vec<u8>,
    pub cert_pem: String,
}

impl NewKeyPair {
    /// The private key as PEM (`PRIVATE KEY`), as key folders held it.
    pub fn pkcs8_pem(&self) -> String {
        let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &self.pkcs8_der);
        let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap_or_default()).collect();
        format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", lines.join("\n"))
    }
}

/// Generates a P-256 key with a ten-year self-signed certificate.
pub fn generate() -> Result<NewKeyPair, KeyError> {
    let bad = |e: rcgen::Error| KeyError::Invalid(format!("cannot generate a key: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(bad)?;
    let kid = libtrust_kid(&key.public_key_der());
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(bad)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("Portcullis token signer {kid}"));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.self_signed(&key).map_err(bad)?;
    Ok(NewKeyPair { kid, pkcs8_der: key.serialize_der(), cert_pem: cert.pem() })
}

/// The key that signs tokens, with its certificate (base64 DER, for the
/// `x5c` header). `Debug` shows only the key id.
pub struct Signer {
    pub kid: String,
    pub x5c: Option<String>,
    /// The token header, encoded once per signer (`jwt::sign_token`): it
    /// is the same for every token the key signs.
    pub(crate) header: std::sync::OnceLock<String>,
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("kid", &self.kid).finish_non_exhaustive()
    }
}

impl Signer {
    /// A P-256 private key (PKCS#8 DER); its kid is computed from it.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
            .map_err(|e| KeyError::Invalid(format!("not a P-256 private key: {e}")))?;
        let kid = libtrust_kid(&p256_spki(key.public_key().as_ref()));
        Ok(Self { kid, x5c: None, header: Default::default(), key, rng })
    }

    /// The key's certificate (PEM), sent in every token's `x5c` header;
    /// refused unless it holds this very key.
    pub fn with_certificate(mut self, cert_pem: &str) -> Result<Self, KeyError> {
        use base64::Engine;
        let der = certificate_der(cert_pem)?;
        if certificate_point(&der) != Some(self.public_key()) {
            return Err(KeyError::Invalid(format!("signing key {}: its certificate holds another key", self.kid)));
        }
        self.x5c = Some(base64::engine::general_purpose::STANDARD.encode(der));
        self.header = Default::default();
        Ok(self)
    }

    /// ES256 over `message`: the 64-byte `r || s` JOSE form.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.key
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Invalid("signing failed".into()))
    }

    /// The public key (the uncompressed point), to verify what it signed.
    pub fn public_key(&self) -> &[u8] {
        self.key.public_key().as_ref()
    }
}

/// The signer the token route uses now: read once per token (an `Arc`
/// clone under a read lock), replaced when another key is activated.
pub struct ActiveSigner(RwLock<Arc<Signer>>);

impl ActiveSigner {
    pub fn new(signer: Signer) -> Self {
        Self(RwLock::new(Arc::new(signer)))
    }

    /// The signer now; a token takes its kid and signature from this one.
    pub fn current(&self) -> Arc<Signer> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn replace(&self, signer: Signer) {
        *self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(signer);
    }
}

impl std::fmt::Debug for ActiveSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("ActiveSigner").field(&self.current()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kid must be what Distribution computes from the certificate; the
    /// shell recipe from its documentation is the reference.
    #[test]
    fn kid_matches_the_openssl_recipe() {
        let dir = tempfile::tempdir().unwrap();
        let key = generate().unwrap();
        let cert = dir.path().join("c.pem");
        std::fs::write(&cert, &key.cert_pem).unwrap();
        let script = format!(
            "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary \
             | head -c 30 | base32 -w0 | tr -d = | sed -E 's/(....)/\\1:/g;s/:$//'",
            cert.display()
        );
        let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), key.kid);
        assert_eq!(key.kid.len(), 59, "12 groups of 4 and 11 colons");
    }

    #[test]
    fn the_signer_computes_the_same_kid_and_signs_verifiably() {
        let key = generate().unwrap();
        let signer = Signer::from_pkcs8(&key.pkcs8_der).unwrap();
        assert_eq!(signer.kid, key.kid);
        let pem = rcgen::KeyPair::from_pem(&key.pkcs8_pem()).unwrap();
        assert_eq!(pem.serialize_der(), key.pkcs8_der, "the PEM form holds the same key");
        let sig = signer.sign(b"header.claims").unwrap();
        assert_eq!(sig.len(), 64);
        let public = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, signer.public_key());
        public.verify(b"header.claims", &sig).unwrap();
        assert!(!format!("{signer:?}").contains("key:"), "Debug shows the kid only");
        assert!(Signer::from_pkcs8(b"not a key").is_err());
    }

    /// RFC 7638 section 3.1's published example.
    #[test]
    fn the_jwk_thumbprint_is_rfc_7638s() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(jwk_thumbprint(&[("n", n), ("kty", "RSA"), ("e", "AQAB")]), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let key = generate().unwrap();
        let signer = Signer::from_pkcs8(&key.pkcs8_der).unwrap();
        let jwk = p256_jwk(signer.public_key()).unwrap();
        assert_eq!(jwk["kid"].as_str().unwrap().len(), 43, "a SHA-256 in base64url");
    }

    #[test]
    fn the_certificate_rides_along_only_with_its_own_key() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        let signer = Signer::from_pkcs8(&a.pkcs8_der).unwrap().with_certificate(&a.cert_pem).unwrap();
        let der = certificate_der(&a.cert_pem).unwrap();
        assert_eq!(certificate_kid(&der).as_deref(), Some(a.kid.as_str()), "the certificate names the key by the same kid");
        assert!(signer.x5c.is_some());
        assert!(Signer::from_pkcs8(&a.pkcs8_der).unwrap().with_certificate(&b.cert_pem).is_err());
        assert!(Signer::from_pkcs8(&a.pkcs8_der).unwrap().with_certificate("not a certificate").is_err());
    }

    #[test]
    fn the_active_signer_swaps() {
        let (a, b) = (generate().unwrap(), generate().unwrap());
        let active = ActiveSigner::new(Signer::from_pkcs8(&a.pkcs8_der).unwrap());
        let held = active.current();
        active.replace(Signer::from_pkcs8(&b.pkcs8_der).unwrap());
        assert_eq!(held.kid, a.kid, "a token being signed keeps its signer");
        assert_eq!(active.current().kid, b.kid);
    }
}
