//! The token-signing keys: ES256 (P-256), each with a self-signed certificate
//! the registry trusts through its `rootcertbundle`. Tokens name the key by
//! its libtrust key id (`kid`), which Distribution 2.8 matches against the
//! bundle's certificates.
//!
//! On disk (`PORTCULLIS_REGISTRY_KEY_DIR`, mode 0700):
//! `keys/<ID>.key.pem` (PKCS#8, mode 0600), `keys/<ID>.crt.pem`, `active`
//! (the id of the key that signs), `retired/` (keys taken out of the bundle),
//! `events-secret` (mode 0600, the registry-notification shared secret).
//! `<ID>` is the kid without its colons.
//!
//! Rotation: `add` (the new key joins the bundle but does not sign) → give
//! the registry the new bundle and restart it → `activate` the new key and
//! restart the portal → once the old key's last tokens have expired,
//! `retire` it. Tokens signed with a key stay valid while it is in the bundle.

use data_encoding::BASE32_NOPAD;
use ring::{
    rand::SystemRandom,
    signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING},
};
use sha2::{Digest, Sha256};
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Invalid(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

/// The libtrust key id of a DER SubjectPublicKeyInfo: SHA-256, first 30
/// bytes, base32 without padding, twelve groups of four joined by `:`.
pub fn libtrust_kid(spki_der: &[u8]) -> String {
    let digest = Sha256::digest(spki_der);
    let b32 = BASE32_NOPAD.encode(&digest[..30]);
    b32.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":")
}

fn file_id(kid: &str) -> String {
    kid.replace(':', "")
}

/// A key as listed: its id, whether it signs, and its certificate.
#[derive(Clone, Debug)]
pub struct KeyInfo {
    pub kid: String,
    pub active: bool,
    pub created: String,
    pub cert_pem: String,
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
    /// ES256 over `message`: the 64-byte `r || s` JOSE form.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        self.key
            .sign(&self.rng, message)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| KeyError::Invalid("signing failed".into()))
    }
}

/// The key directory.
#[derive(Clone, Debug)]
pub struct KeyStore {
    dir: PathBuf,
}

fn write_private(path: &Path, contents: &str) -> Result<(), KeyError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(io(path))?;
    f.write_all(contents.as_bytes()).map_err(io(path))
}

fn generate() -> Result<(String, String, String), KeyError> {
    let bad = |e: rcgen::Error| KeyError::Invalid(format!("cannot generate a key: {e}"));
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(bad)?;
    let kid = libtrust_kid(&key.public_key_der());
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(bad)?;
    params.distinguished_name.push(rcgen::DnType::CommonName, format!("Portcullis token signer {kid}"));
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    let cert = params.self_signed(&key).map_err(bad)?;
    Ok((kid, key.serialize_pem(), cert.pem()))
}

impl KeyStore {
    /// Opens the directory, creating it, a first key and the events secret
    /// when missing.
    pub fn open_or_init(dir: impl Into<PathBuf>) -> Result<Self, KeyError> {
        let store = Self { dir: dir.into() };
        let keys = store.dir.join("keys");
        fs::create_dir_all(&keys).map_err(io(&keys))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&store.dir, fs::Permissions::from_mode(0o700)).map_err(io(&store.dir))?;
        }
        if store.list()?.is_empty() {
            let kid = store.add()?;
            store.activate(&kid)?;
        }
        store.events_secret()?;
        Ok(store)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn active_id(&self) -> Result<Option<String>, KeyError> {
        let path = self.dir.join("active");
        match fs::read_to_string(&path) {
            Ok(s) => Ok(Some(s.trim().to_owned())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(KeyError::Io { path, source: e }),
        }
    }

    /// The keys in the bundle, oldest first.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        let keys = self.dir.join("keys");
        let active = self.active_id()?;
        let mut out = Vec::new();
        for entry in fs::read_dir(&keys).map_err(io(&keys))? {
            let path = entry.map_err(io(&keys))?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
            let Some(id) = name.strip_suffix(".crt.pem") else { continue };
            let cert_pem = fs::read_to_string(&path).map_err(io(&path))?;
            let key_path = keys.join(format!("{id}.key.pem"));
            let key_pem = fs::read_to_string(&key_path).map_err(io(&key_path))?;
            let key = rcgen::KeyPair::from_pem(&key_pem)
                .map_err(|e| KeyError::Invalid(format!("{}: not a private key: {e}", key_path.display())))?;
            let kid = libtrust_kid(&key.public_key_der());
            let created = fs::metadata(&path)
                .and_then(|m| m.modified())
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            out.push(KeyInfo { active: active.as_deref() == Some(id), kid, created, cert_pem });
        }
        out.sort_by(|a, b| a.created.cmp(&b.created).then(a.kid.cmp(&b.kid)));
        Ok(out)
    }

    /// The key named by a kid (with or without colons) or a unique prefix of it.
    fn resolve(&self, wanted: &str) -> Result<KeyInfo, KeyError> {
        let wanted = file_id(wanted.trim()).to_ascii_uppercase();
        if wanted.len() < 4 {
            return Err(KeyError::Invalid("give at least 4 characters of the key id".into()));
        }
        let matches: Vec<KeyInfo> =
            self.list()?.into_iter().filter(|k| file_id(&k.kid).starts_with(&wanted)).collect();
        match matches.len() {
            1 => Ok(matches.into_iter().next().ok_or_else(|| KeyError::Invalid("no key".into()))?),
            0 => Err(KeyError::Invalid(format!("no key in the bundle matches {wanted:?} (see `registry key list`)"))),
            _ => Err(KeyError::Invalid(format!("{wanted:?} matches several keys: give more of the id"))),
        }
    }

    /// Generates a key and adds it to the bundle (it does not sign yet).
    pub fn add(&self) -> Result<String, KeyError> {
        let (kid, key_pem, cert_pem) = generate()?;
        let keys = self.dir.join("keys");
        write_private(&keys.join(format!("{}.key.pem", file_id(&kid))), &key_pem)?;
        let cert = keys.join(format!("{}.crt.pem", file_id(&kid)));
        fs::write(&cert, cert_pem).map_err(io(&cert))?;
        Ok(kid)
    }

    /// Makes the key sign new tokens (after the registry has it in its bundle).
    pub fn activate(&self, kid: &str) -> Result<String, KeyError> {
        let key = self.resolve(kid)?;
        let path = self.dir.join("active");
        let tmp = self.dir.join("active.tmp");
        fs::write(&tmp, file_id(&key.kid)).map_err(io(&tmp))?;
        fs::rename(&tmp, &path).map_err(io(&path))?;
        Ok(key.kid)
    }

    /// Takes a key out of the bundle (its tokens stop working once the
    /// registry reloads the bundle). The signing key cannot be retired.
    pub fn retire(&self, kid: &str) -> Result<String, KeyError> {
        let key = self.resolve(kid)?;
        if key.active {
            return Err(KeyError::Invalid("this key signs tokens: activate another one first".into()));
        }
        let retired = self.dir.join("retired");
        fs::create_dir_all(&retired).map_err(io(&retired))?;
        for suffix in ["key.pem", "crt.pem"] {
            let name = format!("{}.{suffix}", file_id(&key.kid));
            let from = self.dir.join("keys").join(&name);
            fs::rename(&from, retired.join(&name)).map_err(io(&from))?;
        }
        Ok(key.kid)
    }

    /// The certificates of every key in the bundle, for the registry.
    pub fn bundle_pem(&self) -> Result<String, KeyError> {
        Ok(self.list()?.into_iter().map(|k| k.cert_pem).collect::<Vec<_>>().join(""))
    }

    /// The key that signs: the active one.
    pub fn signer(&self) -> Result<Signer, KeyError> {
        let id = self
            .active_id()?
            .ok_or_else(|| KeyError::Invalid(format!("{}: no active key", self.dir.join("active").display())))?;
        let path = self.dir.join("keys").join(format!("{id}.key.pem"));
        let pem = fs::read_to_string(&path).map_err(io(&path))?;
        let key = rcgen::KeyPair::from_pem(&pem)
            .map_err(|e| KeyError::Invalid(format!("{}: not a private key: {e}", path.display())))?;
        let kid = libtrust_kid(&key.public_key_der());
        let rng = SystemRandom::new();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &key.serialize_der(), &rng)
            .map_err(|e| KeyError::Invalid(format!("{}: not a P-256 key: {e}", path.display())))?;
        Ok(Signer { kid, key, rng })
    }

    /// The shared secret the registry sends with its notifications; made at
    /// first start.
    pub fn events_secret(&self) -> Result<String, KeyError> {
        let path = self.dir.join("events-secret");
        match fs::read_to_string(&path) {
            Ok(s) if !s.trim().is_empty() => Ok(s.trim().to_owned()),
            Ok(_) => Err(KeyError::Invalid(format!("{}: empty", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = app::backend::web::session::random_token(48);
                write_private(&path, &secret)?;
                Ok(secret)
            }
            Err(e) => Err(KeyError::Io { path, source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_makes_one_active_key_and_a_secret_with_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open_or_init(dir.path().join("k")).unwrap();
        let keys = store.list().unwrap();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].active);
        assert_eq!(store.signer().unwrap().kid, keys[0].kid);
        assert_eq!(keys[0].kid.len(), 59, "12 groups of 4 and 11 colons");
        let secret = store.events_secret().unwrap();
        assert_eq!(KeyStore::open_or_init(dir.path().join("k")).unwrap().events_secret().unwrap(), secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode(&store.dir.join("events-secret")), 0o600);
            assert_eq!(mode(&store.dir.join("keys").join(format!("{}.key.pem", file_id(&keys[0].kid)))), 0o600);
            assert_eq!(mode(&store.dir), 0o700);
        }
    }

    #[test]
    fn rotation_adds_then_activates_then_retires() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open_or_init(dir.path()).unwrap();
        let old = store.signer().unwrap().kid;
        let new = store.add().unwrap();
        assert_eq!(store.signer().unwrap().kid, old, "a new key does not sign until activated");
        assert_eq!(store.bundle_pem().unwrap().matches("BEGIN CERTIFICATE").count(), 2);
        assert!(store.retire(&old).is_err(), "the signing key cannot be retired");
        store.activate(&new[..9]).unwrap();
        assert_eq!(store.signer().unwrap().kid, new);
        store.retire(&old).unwrap();
        assert_eq!(store.bundle_pem().unwrap().matches("BEGIN CERTIFICATE").count(), 1);
        assert!(store.activate("ZZZZ").is_err());
    }

    /// The kid must be what Distribution computes from the certificate; the
    /// shell recipe from its documentation is the reference.
    #[test]
    fn kid_matches_the_openssl_recipe() {
        let dir = tempfile::tempdir().unwrap();
        let store = KeyStore::open_or_init(dir.path()).unwrap();
        let key = &store.list().unwrap()[0];
        let cert = dir.path().join("c.pem");
        fs::write(&cert, &key.cert_pem).unwrap();
        let script = format!(
            "openssl x509 -in {} -pubkey -noout | openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary \
             | head -c 30 | base32 -w0 | tr -d = | sed -E 's/(....)/\\1:/g;s/:$//'",
            cert.display()
        );
        let out = std::process::Command::new("sh").arg("-c").arg(script).output().unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), key.kid);
    }
}
