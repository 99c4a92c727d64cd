//! The key folders of earlier versions (`PORTCULLIS_REGISTRY_KEY_DIR`),
//! read for their import into the database at the first start
//! (`store::ensure`); never written, never deleted. Layout:
//! `keys/<ID>.key.pem` (PKCS#8) and `keys/<ID>.crt.pem` (in the bundle),
//! `active` (the `<ID>` of the key that signs), `retired/` (the same pairs,
//! out of the bundle), `events-secret` (the registry-notification secret).
//! `<ID>` is the kid without its colons.

use crate::signing::keys::{KeyError, Signer};
use app::domain::signing_key::KeyState;
use chrono::{DateTime, Utc};
use std::{
    fs,
    io::ErrorKind,
    path::{Path, PathBuf},
};

/// A key as the folder holds it. No `Debug`: it holds the private key.
pub struct FolderKey {
    pub kid: String,
    pub pkcs8_der: Vec<u8>,
    pub cert_pem: String,
    pub state: KeyState,
    /// The certificate file's time.
    pub created_at: DateTime<Utc>,
    /// When it became active (the `active` file's time) or was retired
    /// (its files' time in `retired/`).
    pub changed_at: Option<DateTime<Utc>>,
}

/// What a folder holds: its keys (exactly one active, when any is in the
/// bundle) and its events secret.
pub struct Folder {
    pub keys: Vec<FolderKey>,
    pub events_secret: Option<String>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.to_owned(), source }
}

/// A file's text, `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, KeyError> {
    match fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Io { path: path.to_owned(), source: e }),
    }
}

fn modified(path: &Path) -> Option<DateTime<Utc>> {
    fs::metadata(path).and_then(|m| m.modified()).ok().map(DateTime::<Utc>::from)
}

/// The key pairs in `sub` (missing = none), as `(file id, key)`.
fn pairs(sub: &Path, state: KeyState) -> Result<Vec<(String, FolderKey)>, KeyError> {
    let entries = match fs::read_dir(sub) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(KeyError::Io { path: sub.to_owned(), source: e }),
    };
    let mut out = Vec::new();
    for entry in entries {
        let path: PathBuf = entry.map_err(io(sub))?.path();
        let Some(id) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".crt.pem")) else { continue };
        let id = id.to_owned();
        let cert_pem = fs::read_to_string(&path).map_err(io(&path))?;
        let key_path = sub.join(format!("{id}.key.pem"));
        let pem = fs::read_to_string(&key_path).map_err(io(&key_path))?;
        let not_key = |e: String| KeyError::Folder(format!("{}: {e}", key_path.display()));
        let pkcs8_der = rcgen::KeyPair::from_pem(&pem).map_err(|e| not_key(format!("not a private key: {e}")))?.serialize_der();
        let kid = Signer::from_pkcs8(&pkcs8_der).map_err(|e| not_key(e.to_string()))?.kid;
        let created_at = modified(&path).unwrap_or_else(Utc::now);
        let changed_at = (state == KeyState::Retired).then(|| modified(&key_path)).flatten();
        out.push((id, FolderKey { kid, pkcs8_der, cert_pem, state, created_at, changed_at }));
    }
    out.sort_by(|a, b| a.1.created_at.cmp(&b.1.created_at).then(a.0.cmp(&b.0)));
    Ok(out)
}

/// Reads the folder at `dir`: `None` if it does not exist. A folder with
/// keys in the bundle must name the one that signs in `active`.
pub fn read(dir: &Path) -> Result<Option<Folder>, KeyError> {
    if !dir.exists() {
        return Ok(None);
    }
    let mut keys = pairs(&dir.join("keys"), KeyState::Pending)?;
    let active_path = dir.join("active");
    if !keys.is_empty() {
        let active = read_optional(&active_path)?.map(|s| s.trim().to_owned()).unwrap_or_default();
        let Some((_, key)) = keys.iter_mut().find(|(id, _)| *id == active) else {
            return Err(KeyError::Folder(format!(
                "{}: names no key in {} (write there the id of the key that signs: its kid without colons)",
                active_path.display(),
                dir.join("keys").display()
            )));
        };
        key.state = KeyState::Active;
        key.changed_at = Some(modified(&active_path).unwrap_or_else(Utc::now));
    }
    keys.extend(pairs(&dir.join("retired"), KeyState::Retired)?);
    let secret_path = dir.join("events-secret");
    let events_secret = read_optional(&secret_path)?.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Ok(Some(Folder { keys: keys.into_iter().map(|(_, k)| k).collect(), events_secret }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::keys::{generate, NewKeyPair};

    /// Writes a folder as earlier versions did: `active` is signing, the
    /// others are in the bundle or `retired`.
    fn write_folder(dir: &Path, active: &NewKeyPair, others: &[&NewKeyPair], retired: &[&NewKeyPair], secret: Option<&str>) {
        let id = |k: &NewKeyPair| k.kid.replace(':', "");
        for (sub, list) in [("keys", [&[active][..], others].concat()), ("retired", retired.to_vec())] {
            fs::create_dir_all(dir.join(sub)).unwrap();
            for k in list {
                fs::write(dir.join(sub).join(format!("{}.key.pem", id(k))), k.pkcs8_pem()).unwrap();
                fs::write(dir.join(sub).join(format!("{}.crt.pem", id(k))), &k.cert_pem).unwrap();
            }
        }
        fs::write(dir.join("active"), id(active)).unwrap();
        if let Some(s) = secret {
            fs::write(dir.join("events-secret"), format!("{s}\n")).unwrap();
        }
    }

    #[test]
    fn a_folder_reads_as_its_keys_states_and_secret() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read(&dir.path().join("missing")).unwrap().is_none());
        let (a, b, c) = (generate().unwrap(), generate().unwrap(), generate().unwrap());
        write_folder(dir.path(), &a, &[&b], &[&c], Some("the-events-secret"));
        let folder = read(dir.path()).unwrap().unwrap();
        let state = |kid: &str| folder.keys.iter().find(|k| k.kid == kid).map(|k| k.state);
        assert_eq!(folder.keys.len(), 3);
        assert_eq!(state(&a.kid), Some(KeyState::Active));
        assert_eq!(state(&b.kid), Some(KeyState::Pending));
        assert_eq!(state(&c.kid), Some(KeyState::Retired));
        assert_eq!(folder.events_secret.as_deref(), Some("the-events-secret"));
        let active = folder.keys.iter().find(|k| k.state == KeyState::Active).unwrap();
        assert_eq!(active.pkcs8_der, a.pkcs8_der);
        assert_eq!(active.cert_pem, a.cert_pem);

        // Without `active`, the folder is refused naming the file.
        fs::remove_file(dir.path().join("active")).unwrap();
        let e = read(dir.path()).err().unwrap().to_string();
        assert!(e.starts_with("PORTCULLIS_REGISTRY_KEY_DIR: ") && e.contains("active"), "{e}");

        // An empty folder has no keys.
        let empty = tempfile::tempdir().unwrap();
        let folder = read(empty.path()).unwrap().unwrap();
        assert!(folder.keys.is_empty() && folder.events_secret.is_none());
    }
}
