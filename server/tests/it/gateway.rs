//! The pull gateway in front of the real registry (Debian's
//! `docker-registry`, itself on the portal's token service), on SQLite and
//! PostgreSQL: a perpetual licence whose updates ended pulls the versions
//! released before and is refused a later one by tag and by digest (and does
//! not see it in the tag list, nor get its blobs); a renewal brings it in; a
//! subscription pulls everything; a token for the upstream itself is
//! refused; and the artifacts Helm and cosign push (a chart's config media
//! type, a signature tag, a referrer by `subject`) are pulled through the
//! gateway with the requests those clients make (they cannot run here).

use crate::support::registry::{self as harness, eventually, Registry, Skopeo};
use crate::support::{Backend, Options, TestApp, PASSWORD};
use app::backend::services::audit::Actor;
use app::backend::services::catalogue::ProductInput;
use app::backend::services::entitlements::{Change, Grant};
use app::backend::services::{catalogue, credentials, customers, entitlements, gateway};
use app::backend::web::RequestMeta;
use app::domain::access::EntitlementSource;
use app::domain::catalogue::ProductStatus;
use app::domain::credential::CredentialKind;
use app::domain::release::Licence;
use app::domain::Role;
use chrono::{Duration, Utc};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::time::Duration as StdDuration;

on_both_backends!(versions_are_decided_at_the_gateway);

fn meta() -> RequestMeta {
    RequestMeta::default()
}

async fn product(app: &TestApp, name: &str, repo: &str, licence: Licence) -> i64 {
    let input = ProductInput { name: name.into(), slug: Some(name.to_lowercase()), contact_sales: true, repositories: vec![repo.into()], ..Default::default() };
    let p = catalogue::create(&app.db, &input, &[], Actor::System, &meta()).await.unwrap();
    catalogue::set_status(&app.db, p.id, ProductStatus::Published, Actor::System, &meta()).await.unwrap();
    catalogue::set_delivery(&app.db, p.id, licence, true, Actor::System, &meta()).await.unwrap();
    p.id
}

fn sha(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A client of the distribution API speaking for `creds` to the token
/// service at `realm_base` for `service`, the way registry clients do.
struct Api {
    http: reqwest::Client,
    base: String,
    realm_base: String,
    service: &'static str,
    creds: (String, String),
}

impl Api {
    async fn token(&self, scope: &str) -> String {
        let res = self
            .http
            .get(format!("{}/registry/token", self.realm_base))
            .query(&[("service", self.service), ("scope", scope)])
            .basic_auth(&self.creds.0, Some(&self.creds.1))
            .send()
            .await
            .unwrap();
        let body: Value = res.json().await.unwrap();
        body["token"].as_str().unwrap_or_else(|| panic!("a token for {scope}: {body}")).to_owned()
    }

    async fn get(&self, path: &str, accept: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        self.call(reqwest::Method::GET, path, accept).await
    }

    async fn call(&self, method: reqwest::Method, path: &str, accept: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
        let name = path.trim_start_matches("/v2/").split(['/']).take(2).collect::<Vec<_>>().join("/");
        let token = self.token(&format!("repository:{name}:pull")).await;
        let mut req = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(token);
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        (status, headers, res.bytes().await.unwrap().to_vec())
    }

    /// Pushes a blob (monolithic upload) to the upstream.
    async fn push_blob(&self, name: &str, data: &[u8]) -> String {
        let token = self.token(&format!("repository:{name}:pull,push")).await;
        let res = self.http.post(format!("{}/v2/{name}/blobs/uploads/", self.base)).bearer_auth(&token).send().await.unwrap();
        assert_eq!(res.status().as_u16(), 202, "upload starts");
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let url = if location.starts_with("http") { location } else { format!("{}{location}", self.base) };
        let digest = sha(data);
        let sep = if url.contains('?') { '&' } else { '?' };
        let res = self
            .http
            .put(format!("{url}{sep}digest={digest}"))
            .bearer_auth(&token)
            .header("content-type", "application/octet-stream")
            .body(data.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201, "blob pushed: {}", res.text().await.unwrap_or_default());
        digest
    }

    /// Pushes a manifest under `reference` (a tag or its digest).
    async fn push_manifest(&self, name: &str, reference: &str, media_type: &str, body: &Value) -> String {
        let token = self.token(&format!("repository:{name}:pull,push")).await;
        let bytes = serde_json::to_vec(body).unwrap();
        let digest = sha(&bytes);
        let reference = if reference.is_empty() { digest.clone() } else { reference.to_owned() };
        let res = self
            .http
            .put(format!("{}/v2/{name}/manifests/{reference}", self.base))
            .bearer_auth(token)
            .header("content-type", media_type)
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201, "manifest {reference} pushed: {}", res.text().await.unwrap_or_default());
        digest
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// An OCI artifact manifest: a config of `config_type` and one layer.
async fn artifact(up: &Api, name: &str, config_type: &str, layer_type: &str, layer: &[u8], subject: Option<(&str, i64)>) -> Value {
    let config = up.push_blob(name, b"{}").await;
    let layer_digest = up.push_blob(name, layer).await;
    let mut m = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": { "mediaType": config_type, "digest": config, "size": 2 },
        "layers": [{ "mediaType": layer_type, "digest": layer_digest, "size": layer.len() }],
    });
    if let Some((d, size)) = subject {
        m["subject"] = json!({ "mediaType": "application/vnd.docker.distribution.manifest.v2+json", "digest": d, "size": size });
    }
    m
}

async fn versions_are_decided_at_the_gateway(backend: Backend) {
    harness::require_tools();
    // The token service of the upstream registry (and the vendor's CI).
    let app = TestApp::spawn(backend).await;
    let admin = app.create_user("vendor@example.com", PASSWORD, Role::Admin).await;
    let push = credentials::create(&app.db, admin, CredentialKind::Push, "ci", None, None, Actor::System, &meta()).await.unwrap();
    let widget = product(&app, "Widget", "acme/widget", Licence::Perpetual).await;
    let suite = product(&app, "Suite", "acme/suite", Licence::Subscription).await;
    let org = customers::create(&app.db, "buyer@example.com", Some("Buyer"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    let now = Utc::now();
    let grant = |product_id, starts, ends| Grant { customer_id: org, product_id, source: EntitlementSource::Manual, starts_at: starts, ends_at: ends, note: None };
    // A perpetual licence whose year of updates ended 30 days ago.
    let licence = entitlements::grant(&app.db, &grant(widget, now - Duration::days(395), Some(now - Duration::days(30))), Actor::System, &meta()).await.unwrap();
    entitlements::grant(&app.db, &grant(suite, now - Duration::days(1), Some(now + Duration::days(30))), Actor::System, &meta()).await.unwrap();
    let pull = credentials::create(&app.db, org, CredentialKind::Pull, "cluster", None, None, Actor::System, &meta()).await.unwrap();
    let creds = (pull.username.as_str(), pull.secret.as_str());

    let work = tempfile::tempdir().unwrap();
    let port = harness::free_port();
    let registry = Registry::start(&harness::write_config(&app, &work.path().join("registry"), port, &app.base), port).await;
    let host = registry.host();
    let skopeo = Skopeo::new(work.path());
    for (repo, tag) in [("acme/widget", "1.0"), ("acme/widget", "1.1"), ("acme/widget", "2.0"), ("acme/suite", "9.0")] {
        let image = harness::build_image(&work.path().join(format!("{repo}-{tag}").replace('/', "-")), tag, &format!("{repo} {tag}\n"));
        let out = skopeo.push(&image, tag, &host, &format!("{repo}:{tag}"), (&push.username, &push.secret)).await;
        assert!(out.ok, "push {repo}:{tag}: {}", out.stderr);
    }
    // Releases come from the push notifications; 1.0 and 1.1 were out
    // before the updates ended, 2.0 after.
    let db = &app.db;
    let digests = eventually(StdDuration::from_secs(15), || async move {
        let rows = app::backend::db::releases::list(db, &["acme/widget".to_owned()], 10).await.unwrap();
        let by_tag = |t: &str| rows.iter().find(|r| r.tag.as_deref() == Some(t)).map(|r| r.digest.clone());
        Some((by_tag("1.0")?, by_tag("1.1")?, by_tag("2.0")?))
    })
    .await
    .unwrap_or_else(|| panic!("push notifications record releases\n{}", registry.log_text()));
    let (d10, d11, d20) = digests;
    for (d, days) in [(&d10, 200), (&d11, 60)] {
        gateway::set_release(db, "acme/widget", d, now - Duration::days(days), Actor::System, &meta()).await.unwrap();
    }
    gateway::set_release(db, "acme/widget", &d20, now - Duration::days(2), Actor::System, &meta()).await.unwrap();

    // The gateway: a replica of the portal with the upstream and the CI's credential.
    let gw = app
        .replica(Options {
            gateway: Some(server::config::gateway::GatewayConfig {
                upstream: format!("http://{host}").parse().unwrap(),
                user: Some(push.username.clone()),
                password: Some(server::config::Secret::new(push.secret.clone())),
                service: "portcullis-gateway".into(),
                listen: None,
                host: None,
                concurrency: 8,
            }),
            ..Options::default()
        })
        .await;
    let gw_host = gw.base.trim_start_matches("http://").to_owned();

    // What was released while the updates ran pulls; 2.0 is refused, by tag and by digest.
    for tag in ["1.0", "1.1"] {
        let out = skopeo.pull(&gw_host, &format!("acme/widget:{tag}"), creds).await;
        assert!(out.ok, "{tag} through the gateway: {}", out.stderr);
    }
    let out = skopeo.pull(&gw_host, "acme/widget:2.0", creds).await;
    assert!(!out.ok && out.stderr.contains("after your updates ended on"), "2.0 refused: {out:?}");
    let out = skopeo.pull(&gw_host, &format!("acme/widget@{d20}"), creds).await;
    assert!(!out.ok && out.stderr.contains("was released on"), "2.0 by digest refused: {out:?}");
    let out = skopeo.pull(&gw_host, &format!("acme/widget@{d10}"), creds).await;
    assert!(out.ok, "1.0 by digest: {}", out.stderr);
    // A subscription pulls everything, released whenever.
    assert!(skopeo.pull(&gw_host, "acme/suite:9.0", creds).await.ok, "a subscription through the gateway");

    // The pulls are the organisation's history, with the member and the address.
    let history = app::backend::services::pulls::list(db, org, &Default::default(), 100).await.unwrap();
    let one = history.iter().find(|p| p.tag.as_deref() == Some("1.0")).expect("the pull of 1.0 in the history");
    assert_eq!((one.source.as_str(), one.member.as_deref(), one.ip.as_deref()), ("gateway", Some("buyer@example.com"), Some("127.0.0.1")));
    assert!(one.user_agent.as_deref().unwrap_or_default().contains("skopeo") && one.digest.as_deref() == Some(d10.as_str()));
    assert!(!history.iter().any(|p| p.tag.as_deref() == Some("2.0")), "a refused pull is none");

    // Offline: 1.0 as an OCI archive that skopeo loads with the registry's digests;
    // 2.0 refused; a broken download resumes with a range.
    let browser = crate::support::client();
    let res = gw.call(&browser, "login", &[("email", "buyer@example.com"), ("password", PASSWORD)]).await;
    assert!(res.status().is_success());
    let download = |range: Option<&'static str>, reference: &'static str| {
        let req = browser.get(gw.url(&format!("/account/download?repository=acme/widget&reference={reference}")));
        let req = match range {
            Some(r) => req.header("range", r),
            None => req,
        };
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            let range = res.headers().get("content-range").map(|v| v.to_str().unwrap().to_owned());
            (status, range, res.bytes().await.unwrap().to_vec())
        }
    };
    let (status, _, whole) = download(None, "1.0").await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&whole[..whole.len().min(300)]));
    let archive = work.path().join("widget-1.0.tar");
    std::fs::write(&archive, &whole).unwrap();
    let out_dir = work.path().join("loaded");
    let out = skopeo.copy(&format!("oci-archive:{}", archive.display()), &format!("dir:{}", out_dir.display())).await;
    assert!(out.ok, "skopeo loads the archive: {}", out.stderr);
    assert_eq!(sha(&std::fs::read(out_dir.join("manifest.json")).unwrap()), d10, "the registry's manifest, byte for byte");
    let (status, first, head) = download(Some("bytes=0-999"), "1.0").await;
    assert_eq!((status, first.as_deref()), (206, Some(format!("bytes 0-999/{}", whole.len()).as_str())));
    let (status, _, rest) = download(Some("bytes=1000-"), "1.0").await;
    assert_eq!(status, 206);
    assert_eq!([head, rest].concat(), whole, "a resumed download is the same archive");
    let (status, _, body) = download(None, "2.0").await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    // The history as a file, for a spreadsheet.
    let csv = browser.get(gw.url("/account/pulls.csv?repository=acme/widget")).send().await.unwrap();
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("id,occurred_at,member,credential") && csv.contains(",buyer@example.com,") && csv.contains(",1.0,"), "{csv}");
    assert!(!csv.contains("acme/suite"), "filtered by repository");

    let customer = Api { http: reqwest::Client::new(), base: gw.base.clone(), realm_base: gw.base.clone(), service: "portcullis-gateway", creds: (creds.0.into(), creds.1.into()) };
    let vendor_up = Api { http: reqwest::Client::new(), base: format!("http://{host}"), realm_base: app.base.clone(), service: "portcullis-registry", creds: (push.username.clone(), push.secret.clone()) };
    let tag_list = |api: &Api| {
        let api = api.clone_for();
        async move {
            let (status, _, body) = api.get("/v2/acme/widget/tags/list", None).await;
            assert_eq!(status, 200);
            let v: Value = serde_json::from_slice(&body).unwrap();
            v["tags"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    let mut tags = tag_list(&customer).await;
    tags.sort();
    assert_eq!(tags, ["1.0", "1.1"], "2.0 is not listed");
    // A blob only 2.0 has is refused; HEAD decides like GET without counting a pull.
    let (_, _, m20) = vendor_up.get(&format!("/v2/acme/widget/manifests/{d20}"), Some("application/vnd.oci.image.manifest.v1+json")).await;
    let m20: Value = serde_json::from_slice(&m20).unwrap();
    let layer20 = m20["layers"][0]["digest"].as_str().unwrap().to_owned();
    let (status, _, body) = customer.get(&format!("/v2/acme/widget/blobs/{layer20}"), None).await;
    assert_eq!(status, 403, "{}", String::from_utf8_lossy(&body));
    let (status, headers, _) = customer.call(reqwest::Method::HEAD, "/v2/acme/widget/manifests/1.1", Some(OCI_MANIFEST)).await;
    assert_eq!((status, headers["docker-content-digest"].to_str().unwrap()), (200, d11.as_str()));
    // A push through the gateway is refused.
    let res = reqwest::Client::new().post(format!("{}/v2/acme/widget/blobs/uploads/", gw.base)).send().await.unwrap();
    assert_eq!(res.status().as_u16(), 405);

    // The upstream gives the customer nothing for a product behind the gateway.
    let direct = Api { http: reqwest::Client::new(), base: format!("http://{host}"), realm_base: app.base.clone(), service: "portcullis-registry", creds: (creds.0.into(), creds.1.into()) };
    let res = direct
        .http
        .get(format!("{}/registry/token", app.base))
        .query(&[("service", "portcullis-registry"), ("scope", "repository:acme/widget:pull")])
        .basic_auth(creds.0, Some(creds.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 401);
    assert!(res.text().await.unwrap().contains("delivered through the vendor's pull gateway"));
    let out = skopeo.pull(&host, "acme/widget:1.0", creds).await;
    assert!(!out.ok, "no pull straight from the upstream: {out:?}");

    // Artifacts, pushed as Helm and cosign do, pulled as they would.
    // A cosign signature of 1.0 (tag sha256-<hex>.sig) and of 2.0.
    let sig_type = "application/vnd.dev.cosign.simplesigning.v1+json";
    for (subject, expected) in [(&d10, 200), (&d20, 403)] {
        let tag = format!("{}.sig", subject.replace(':', "-"));
        let m = artifact(&vendor_up, "acme/widget", "application/vnd.oci.image.config.v1+json", sig_type, b"signature", None).await;
        vendor_up.push_manifest("acme/widget", &tag, OCI_MANIFEST, &m).await;
        let (status, _, body) = customer.get(&format!("/v2/acme/widget/manifests/{tag}"), Some(OCI_MANIFEST)).await;
        assert_eq!(status, expected, "signature of {subject}: {}", String::from_utf8_lossy(&body));
        if expected == 200 {
            let sig: Value = serde_json::from_slice(&body).unwrap();
            let (status, _, blob) = customer.get(&format!("/v2/acme/widget/blobs/{}", sig["layers"][0]["digest"].as_str().unwrap()), None).await;
            assert_eq!((status, blob.as_slice()), (200, b"signature".as_slice()), "the signature's payload");
        }
    }
    // A referrer (an SBOM with `subject` = 1.0), pushed by digest only: new,
    // yet allowed because what it describes is.
    let size10 = vendor_up.get(&format!("/v2/acme/widget/manifests/{d10}"), Some(OCI_MANIFEST)).await.2.len() as i64;
    let sbom = artifact(&vendor_up, "acme/widget", "application/vnd.oci.empty.v1+json", "application/spdx+json", b"{\"spdx\":1}", Some((&d10, size10))).await;
    let sbom_digest = vendor_up.push_manifest("acme/widget", "", OCI_MANIFEST, &sbom).await;
    let (status, _, body) = customer.get(&format!("/v2/acme/widget/manifests/{sbom_digest}"), Some(OCI_MANIFEST)).await;
    assert_eq!(status, 200, "a referrer of 1.0: {}", String::from_utf8_lossy(&body));
    let (status, _, _) = customer.get(&format!("/v2/acme/widget/referrers/{d20}"), None).await;
    assert_eq!(status, 403, "the referrers of 2.0 are refused");
    // A Helm chart (its config media type), released with 1.1.
    let chart = artifact(&vendor_up, "acme/widget", "application/vnd.cncf.helm.config.v1+json", "application/vnd.cncf.helm.chart.content.v1.tar+gzip", b"chart bytes", None).await;
    let chart_digest = vendor_up.push_manifest("acme/widget", "chart-1.1", OCI_MANIFEST, &chart).await;
    gateway::set_release(db, "acme/widget", &chart_digest, now - Duration::days(60), Actor::System, &meta()).await.unwrap();
    let (status, _, body) = customer.get("/v2/acme/widget/manifests/chart-1.1", Some(OCI_MANIFEST)).await;
    assert_eq!(status, 200);
    let got: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(got["config"]["mediaType"], "application/vnd.cncf.helm.config.v1+json");
    let (status, _, bytes) = customer.get(&format!("/v2/acme/widget/blobs/{}", got["layers"][0]["digest"].as_str().unwrap()), None).await;
    assert_eq!((status, bytes.as_slice()), (200, b"chart bytes".as_slice()));

    // Renewing the updates brings 2.0 in.
    let change = Change { ends_at: Some(Some(now + Duration::days(365))), ..Default::default() };
    entitlements::change(db, licence.id, &change, Actor::System, &meta()).await.unwrap();
    let out = skopeo.pull(&gw_host, "acme/widget:2.0", creds).await;
    assert!(out.ok, "2.0 after the renewal: {}", out.stderr);
    assert!(tag_list(&customer).await.contains(&"2.0".to_owned()));

    // Every decision is in the audit log: pulls (GET), checks (HEAD), refusals with their reasons.
    let rows = app::backend::db::audit::list_recent(db, None, 1000).await.unwrap();
    let of = |action: &str, outcome: &str| rows.iter().filter(|r| r.action == action && r.outcome == outcome).count();
    assert!(of("gateway.pull", "success") >= 4 && of("gateway.pull", "denied") >= 2, "pulls audited");
    assert!(of("gateway.check", "success") >= 1 && of("gateway.blob", "denied") == 1);
    let refused = rows.iter().find(|r| r.action == "gateway.pull" && r.outcome == "denied").unwrap();
    assert_eq!((refused.details.0["reason"].as_str(), refused.organisation_id), (Some("released_after_updates"), Some(org)));
}

impl Api {
    fn clone_for(&self) -> Api {
        Api { http: self.http.clone(), base: self.base.clone(), realm_base: self.realm_base.clone(), service: self.service, creds: self.creds.clone() }
    }
}
