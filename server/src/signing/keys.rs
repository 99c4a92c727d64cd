//! The token-signing keys themselves: ES256 (P-256), each with a
//! self-signed certificate the registry trusts through its
//! `rootcertbundle`. Tokens name the key by its libtrust key id (`kid`),
//! which Distribution 2.8 matches against the bundle's certificates.
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

/// The key that signs tokens. `Debug` shows only the key id.
pub struct Signer {
    pub kid: String,
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
        Ok(Self { kid, key, rng })
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
