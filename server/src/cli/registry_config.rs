//! `portcullis registry config --out DIR [--flavour F]`: a ready-to-run
//! configuration for a registry whose token service is this portal,
//! filesystem storage under DIR, loopback by default:
//! - `distribution2` (Debian's `docker-registry` 2.8): `config.yml` with
//!   token auth (`rootcertbundle: bundle.pem`, the certificates of every key
//!   not retired) and notifications to `/registry/events` with the shared
//!   secret;
//! - `distribution3` (`registry:3`): the same, plus `jwks.json` (each key as
//!   a JWK whose `kid` is its RFC 7638 thumbprint) and `signingalgorithms`
//!   listing only ES256; 3.x reads both envelopes' events the same way;
//! - `zot`: `config.json` with `http.auth.bearer` trusting `token.pem`, the
//!   active key's certificate only (Zot trusts one: a key rotation is a
//!   cut-over with a restart). Zot sends no notifications.

use crate::signing::keys::{certificate_point, certificates_der, p256_jwk, KeyError};
use std::{
    fs,
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
};

/// Which registry the config is for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Flavour {
    /// CNCF Distribution 2.8 (Debian's docker-registry).
    #[default]
    Distribution2,
    /// CNCF Distribution 3.x (registry:3).
    Distribution3,
    /// Zot (project-zot/zot).
    Zot,
}

pub struct RegistryFile<'a> {
    /// The portal as clients (realm) and the registry (events) reach it.
    pub portal_url: &'a str,
    pub listen: SocketAddr,
    pub service: &'a str,
    pub issuer: &'a str,
    pub flavour: Flavour,
}

/// The keys a registry trusts: every certificate not retired (PEM), and the
/// active key's alone (for a registry that trusts one).
pub struct TrustedKeys<'a> {
    pub bundle_pem: &'a str,
    pub active_pem: &'a str,
}

/// A YAML double-quoted scalar (JSON string syntax is valid YAML).
fn q(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

pub fn render(f: &RegistryFile<'_>, dir: &Path, events_secret: &str, http_secret: &str) -> String {
    let base = f.portal_url.trim_end_matches('/');
    // 3.x: the keys also as JWKs, and only the algorithm the portal signs with.
    let v3 = if f.flavour == Flavour::Distribution3 {
        format!("    jwks: {}\n    signingalgorithms: [ES256]\n", q(&dir.join("jwks.json").display().to_string()))
    } else {
        String::new()
    };
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
{v3}notifications:
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

/// Zot's `config.json`: bearer auth against the portal, trusting `token.pem`.
pub fn render_zot(f: &RegistryFile<'_>, dir: &Path) -> String {
    let base = f.portal_url.trim_end_matches('/');
    let config = serde_json::json!({
        "distSpecVersion": "1.1.1",
        "storage": { "rootDirectory": dir.join("storage").display().to_string() },
        "http": {
            "address": f.listen.ip().to_string(),
            "port": f.listen.port().to_string(),
            "auth": { "bearer": {
                "realm": format!("{base}/registry/token"),
                "service": f.service,
                "cert": dir.join("token.pem").display().to_string(),
            } },
        },
        "log": { "level": "info" },
    });
    serde_json::to_string_pretty(&config).unwrap_or_default() + "\n"
}

/// The bundle's keys as a JWK Set, each named by its RFC 7638 thumbprint.
pub fn jwks(bundle_pem: &str) -> Result<String, KeyError> {
    let mut keys = Vec::new();
    for der in certificates_der(bundle_pem)? {
        let jwk = certificate_point(&der)
            .and_then(p256_jwk)
            .ok_or_else(|| KeyError::Invalid("a bundle certificate does not hold a P-256 key".into()))?;
        keys.push(jwk);
    }
    Ok(serde_json::to_string_pretty(&serde_json::json!({ "keys": keys })).unwrap_or_default() + "\n")
}

/// Writes the flavour's files into `dir` (created), with `dir/storage` for
/// the images, and answers the config file's path. Distribution:
/// `config.yml` (mode 0600), `bundle.pem` and for 3.x `jwks.json`;
/// rewriting keeps the storage and the `http.secret` of an existing config.
/// Zot: `config.json` and `token.pem`.
pub fn write(f: &RegistryFile<'_>, dir: &Path, keys: &TrustedKeys<'_>, events_secret: &str) -> Result<PathBuf, KeyError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source: std::io::Error| KeyError::Invalid(format!("--out: {}: {source}", p.display()))
    };
    fs::create_dir_all(dir.join("storage")).map_err(io(dir))?;
    let dir = dir.canonicalize().map_err(io(dir))?;
    if f.flavour == Flavour::Zot {
        let cert = dir.join("token.pem");
        fs::write(&cert, keys.active_pem).map_err(io(&cert))?;
        let config = dir.join("config.json");
        fs::write(&config, render_zot(f, &dir)).map_err(io(&config))?;
        return Ok(config);
    }
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
    fs::write(&bundle, keys.bundle_pem).map_err(io(&bundle))?;
    if f.flavour == Flavour::Distribution3 {
        let path = dir.join("jwks.json");
        fs::write(&path, jwks(keys.bundle_pem)?).map_err(io(&path))?;
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::keys::certificate_der;

    #[test]
    fn config_points_at_the_portal_and_keeps_its_http_secret() {
        let dir = tempfile::tempdir().unwrap();
        let bundle = crate::signing::keys::generate().unwrap().cert_pem;
        let out = dir.path().join("registry");
        let f = file(Flavour::Distribution2);
        let secret = "an-events-secret-an-events-secret-0123";
        let keys = TrustedKeys { bundle_pem: &bundle, active_pem: &bundle };
        write(&f, &out, &keys, secret).unwrap();
        let text = fs::read_to_string(out.join("config.yml")).unwrap();
        assert!(text.contains("realm: \"http://127.0.0.1:3000/registry/token\""));
        assert!(text.contains("url: \"http://127.0.0.1:3000/registry/events\""));
        assert!(text.contains(&format!("Authorization: [\"Bearer {secret}\"]")));
        assert!(text.contains("addr: \"127.0.0.1:5000\""));
        let secret_line = |t: &str| t.lines().find(|l| l.trim().starts_with("secret: ")).unwrap().to_owned();
        write(&f, &out, &keys, secret).unwrap();
        assert_eq!(secret_line(&text), secret_line(&fs::read_to_string(out.join("config.yml")).unwrap()));
        assert_eq!(fs::read_to_string(out.join("bundle.pem")).unwrap(), bundle);
        assert!(out.join("storage").is_dir());
        assert!(!text.contains("jwks") && !out.join("jwks.json").exists(), "2.8 has no JWKS");
    }

    fn file(flavour: Flavour) -> RegistryFile<'static> {
        RegistryFile {
            portal_url: "http://127.0.0.1:3000/",
            listen: "127.0.0.1:5000".parse().unwrap(),
            service: "portcullis-registry",
            issuer: "portcullis",
            flavour,
        }
    }

    /// 3.x's documented `auth.token` keys: realm, service, issuer,
    /// rootcertbundle, jwks, signingalgorithms; the JWKs' kids are the
    /// thumbprints 3.x computes from the bundle's keys.
    #[test]
    fn distribution_3_gets_a_jwks_and_one_algorithm() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (crate::signing::keys::generate().unwrap(), crate::signing::keys::generate().unwrap());
        let bundle = format!("{}{}", a.cert_pem, b.cert_pem);
        let out = dir.path().join("r3");
        let keys = TrustedKeys { bundle_pem: &bundle, active_pem: &a.cert_pem };
        let config = write(&file(Flavour::Distribution3), &out, &keys, "an-events-secret-an-events-secret-0123").unwrap();
        let text = fs::read_to_string(&config).unwrap();
        let token: Vec<&str> = text.lines().skip_while(|l| l.trim() != "token:").skip(1).take_while(|l| l.starts_with("    ")).collect();
        let names: Vec<&str> = token.iter().map(|l| l.trim().split(':').next().unwrap()).collect();
        assert_eq!(names, ["realm", "service", "issuer", "rootcertbundle", "jwks", "signingalgorithms"], "{text}");
        assert!(text.contains("signingalgorithms: [ES256]"));
        let set: serde_json::Value = serde_json::from_str(&fs::read_to_string(out.join("jwks.json")).unwrap()).unwrap();
        let kids: Vec<&str> = set["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap()).collect();
        let thumb = |pem: &str| {
            let der = certificate_der(pem).unwrap();
            let (x, y) = crate::signing::keys::p256_xy(certificate_point(&der).unwrap()).unwrap();
            crate::signing::keys::jwk_thumbprint(&[("kty", "EC"), ("crv", "P-256"), ("x", &x), ("y", &y)])
        };
        assert_eq!(kids, [thumb(&a.cert_pem), thumb(&b.cert_pem)]);
        for k in set["keys"].as_array().unwrap() {
            assert_eq!((k["kty"].as_str(), k["crv"].as_str(), k["alg"].as_str()), (Some("EC"), Some("P-256"), Some("ES256")));
            assert!(k.get("d").is_none(), "public keys only");
        }
    }

    /// Zot's documented bearer settings (`http.auth.bearer`: realm, service,
    /// cert) with the active key's certificate alone.
    #[test]
    fn zot_trusts_the_active_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (crate::signing::keys::generate().unwrap(), crate::signing::keys::generate().unwrap());
        let bundle = format!("{}{}", a.cert_pem, b.cert_pem);
        let out = dir.path().join("zot");
        let keys = TrustedKeys { bundle_pem: &bundle, active_pem: &b.cert_pem };
        let config = write(&file(Flavour::Zot), &out, &keys, "unused").unwrap();
        let v: serde_json::Value = serde_json::from_str(&fs::read_to_string(&config).unwrap()).unwrap();
        let bearer = &v["http"]["auth"]["bearer"];
        let mut names: Vec<&String> = bearer.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["cert", "realm", "service"]);
        assert_eq!(bearer["realm"], "http://127.0.0.1:3000/registry/token");
        assert_eq!(bearer["service"], "portcullis-registry");
        assert_eq!((v["http"]["address"].as_str(), v["http"]["port"].as_str()), (Some("127.0.0.1"), Some("5000")));
        assert_eq!(fs::read_to_string(out.join("token.pem")).unwrap(), b.cert_pem);
        assert!(v["storage"]["rootDirectory"].as_str().unwrap().ends_with("storage"));
    }
}
