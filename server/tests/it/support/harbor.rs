//! Harbor in tests: the stand-in (`end2end/harbor-standin`, in process, on
//! loopback) with project `acme`, the portal's settings for it, a real
//! `docker-registry` that uses the stand-in as its token service (as a
//! Harbor's registry uses Harbor's), and checks of what Harbor holds.

use super::registry::{build_image, free_port, Registry, Skopeo};
use app::backend::services::harbor::{client, Harbor};
use harbor_standin::{Config, StandIn};
use server::config::harbor::HarborConfig;
use server::config::Secret;
use server::signing::kek::Keks;
use std::path::Path;
use std::time::Duration;

/// The key-encryption key of the Harbor tests (fixed, so a portal process
/// started from the command line opens what the test's portal sealed).
pub const KEK: [u8; 32] = [7; 32];

pub fn keks() -> Keks {
    Keks::explicit(KEK, None)
}

/// The stand-in, with the project `acme` the products live in.
pub async fn standin() -> StandIn {
    let s = harbor_standin::spawn(Config::default()).await.expect("Harbor stand-in starts");
    s.controls().create_project("acme").expect("project acme");
    s
}

/// The portal's Harbor settings for the stand-in.
pub fn config(s: &StandIn, reconcile_every: Duration) -> HarborConfig {
    HarborConfig {
        url: url::Url::parse(&s.base_url).unwrap(),
        user: s.admin_user().to_owned(),
        password: Secret::new(s.admin_password()),
        prefix: "robot$".into(),
        registry_host: "127.0.0.1:5000".into(),
        reconcile_every,
        timeout: Duration::from_secs(10),
    }
}

/// What the portal's job uses, for a test that runs a reconcile itself.
pub fn harbor(s: &StandIn) -> Harbor {
    let c = config(s, Duration::from_secs(3600));
    Harbor {
        client: client::Client::new(&c.url, c.user, client::AdminPassword(c.password.expose().to_owned()), c.timeout).unwrap(),
        prefix: c.prefix,
        registry_host: c.registry_host,
        reconcile_every: c.reconcile_every,
    }
}

/// A `docker-registry` whose token service is the stand-in, holding
/// `acme/widget:1.0` (pushed by Harbor's admin).
pub async fn registry(dir: &Path, s: &StandIn, skopeo: &Skopeo) -> Registry {
    let port = free_port();
    let cert = dir.join("harbor-token.pem");
    std::fs::write(&cert, s.token_certificate_pem()).expect("certificate");
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {data}\n\
         http:\n  addr: 127.0.0.1:{port}\nauth:\n  token:\n    realm: {realm}\n    service: {service}\n\
         \x20   issuer: {issuer}\n    rootcertbundle: {cert}\n",
        data = dir.join("harbor-data").display(),
        realm = s.token_realm(),
        service = s.token_service(),
        issuer = s.token_issuer(),
        cert = cert.display(),
    );
    let path = dir.join("harbor-registry.yml");
    std::fs::write(&path, config).expect("registry config");
    let registry = Registry::start(&path, port).await;
    let image = dir.join("image");
    std::fs::create_dir_all(&image).unwrap();
    let layout = build_image(&image, "1.0", "widget 1.0");
    let pushed = skopeo.push(&layout, "1.0", &registry.host(), "acme/widget:1.0", (s.admin_user(), s.admin_password())).await;
    assert!(pushed.ok, "push as Harbor's admin: {pushed:?}");
    registry
}

/// Waits (≤ `secs`) until `check` holds, else fails with `what`.
pub async fn until<F, Fut>(secs: u64, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let ok = super::registry::eventually(Duration::from_secs(secs), || {
        let f = check();
        async move { f.await.then_some(()) }
    })
    .await;
    assert!(ok.is_some(), "not within {secs} s: {what}");
}
