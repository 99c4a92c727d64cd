//! `portcullis registry config --out DIR`: a ready-to-run configuration for
//! the CNCF Distribution registry (Debian's `docker-registry` 2.8): token
//! auth against this portal, notifications to `/registry/events` with the
//! shared secret, filesystem storage under DIR, loopback by default.

use crate::signing::keys::KeyError;
use std::{fs, io::Write, net::SocketAddr, path::Path};

pub struct RegistryFile<'a> {
    /// The portal as clients (realm) and the registry (events) reach it.
    pub portal_url: &'a str,
    pub listen: SocketAddr,
    pub service: &'a str,
    pub issuer: &'a str,
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

pub fn render(f: &RegistryFile<'_>, dir: &Path, events_secret: &str, http_secret: &str) -> String {
    let base = f.portal_url.trim_end_matches('/');
    format!(
        "# Written by `portcullis registry config`; start with: docker-registry serve {config}
# Contains secrets (http.secret, the events bearer token): keep it private.
version: 0.1
log:
  level: info
  formatter: text
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: {listen}
  secret: {http_secret}
  headers:
    X-Content-Type-Options: [nosniff]
auth:
  token:
    realm: {realm}
    service: {service}
    issuer: {issuer}
    rootcertbundle: {bundle}
notifications:
  events:
    includereferences: true
  endpoints:
    - name: portcullis
      url: {events}
      headers:
        Authorization: [{bearer}]
      timeout: 2s
      threshold: 3
      backoff: 5s
      ignore:
        mediatypes:
          - application/octet-stream
",
        config = dir.join("config.yml").display(),
        storage = q(&dir.join("storage").display().to_string()),
        listen = q(&f.listen.to_string()),
        http_secret = q(http_secret),
        realm = q(&format!("{base}/registry/token")),
        service = q(f.service),
        issuer = q(f.issuer),
        bundle = q(&dir.join("bundle.pem").display().to_string()),
        events = q(&format!("{base}/registry/events")),
        bearer = q(&format!("Bearer {events_secret}")),
    )
}

/// Writes `config.yml` (mode 0600) and `bundle.pem` (the certificates of
/// every key not retired) into `dir` (created), with `dir/storage` for the
/// images. Rewriting keeps the storage and the `http.secret` of an existing
/// config.
pub fn write(f: &RegistryFile<'_>, dir: &Path, bundle_pem: &str, events_secret: &str) -> Result<(), KeyError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source: std::io::Error| KeyError::Invalid(format!("--out: {}: {source}", p.display()))
    };
    fs::create_dir_all(dir.join("storage")).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    let config = dir.join("config.yml");
    let http_secret = fs::read_to_string(&config)
        .ok()
        .and_then(|old| {
            old.lines()
                .find_map(|l| l.trim().strip_prefix("secret: ").map(|v| v.trim_matches('"').to_owned()))
        })
        .unwrap_or_else(|| app::backend::web::session::random_token(48));
    let text = render(f, &dir, events_secret, &http_secret);
    let tmp = dir.join("config.yml.tmp");
    let _ = fs::remove_file(&tmp);
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut file = opts.open(&tmp).map_err(io(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io(&tmp))?;
    fs::rename(&tmp, &config).map_err(io(&config))?;
    let bundle = dir.join("bundle.pem");
    fs::write(&bundle, bundle_pem).map_err(io(&bundle))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_points_at_the_portal_and_keeps_its_http_secret() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = crate::signing::keys::generate().unwrap().cert_pem;
        let out = dir.path().join("registry");
        let f = RegistryFile {
            portal_url: "http://127.0.0.1:3000/",
            listen: "127.0.0.1:5000".parse().unwrap(),
            service: "portcullis-registry",
            issuer: "portcullis",
        };
        let secret = "an-events-secret-an-events-secret-0123";
        write(&f, &out, &bundle, secret).unwrap();
        let text = fs::read_to_string(out.join("config.yml")).unwrap();
        assert!(text.contains("realm: \"http://127.0.0.1:3000/registry/token\""));
        assert!(text.contains("url: \"http://127.0.0.1:3000/registry/events\""));
        assert!(text.contains(&format!("Authorization: [\"Bearer {secret}\"]")));
        assert!(text.contains("addr: \"127.0.0.1:5000\""));
        let secret_line = |t: &str| t.lines().find(|l| l.trim().starts_with("secret: ")).unwrap().to_owned();
        write(&f, &out, &bundle, secret).unwrap();
        assert_eq!(secret_line(&text), secret_line(&fs::read_to_string(out.join("config.yml")).unwrap()));
        assert_eq!(fs::read_to_string(out.join("bundle.pem")).unwrap(), bundle);
        assert!(out.join("storage").is_dir());
    }
}
