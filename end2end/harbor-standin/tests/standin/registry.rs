//! Against a real CNCF Distribution registry (Debian's `docker-registry`,
//! 2.8), when one is installed: the registry takes the stand-in as its
//! token realm, the admin pushes an image, a robot pulls it from its
//! project only. Skipped (with a note) where `docker-registry` is missing.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::Harbor;

const MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn find_registry() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("docker-registry"))
            .find(|p| p.is_file())
    })
}

async fn token(harbor: &Harbor, user: &str, password: &str, scope: &str) -> String {
    let answer: Value = harbor
        .client
        .get(harbor.standin.token_realm())
        .query(&[("service", "harbor-registry"), ("scope", scope)])
        .basic_auth(user, Some(password))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    answer["token"].as_str().expect("token").to_string()
}

async fn push_blob(client: &reqwest::Client, registry: &str, token: &str, data: &[u8]) -> String {
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(data)));
    let started = client
        .post(format!("{registry}/v2/proj/app/blobs/uploads/"))
        .bearer_auth(token)
        .send()
        .await
        .expect("start upload");
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let location = started
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("location")
        .to_string();
    let location = if location.starts_with("http") {
        location
    } else {
        format!("{registry}{location}")
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    let put = client
        .put(format!("{location}{separator}digest={digest}"))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(data.to_vec())
        .send()
        .await
        .expect("upload");
    assert_eq!(put.status(), StatusCode::CREATED);
    digest
}

fn write_config(dir: &Path, port: u16, harbor: &Harbor) -> std::path::PathBuf {
    let cert = dir.join("token.pem");
    std::fs::write(&cert, harbor.standin.token_certificate_pem()).expect("cert");
    let config = format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {data}\n\
         http:\n  addr: 127.0.0.1:{port}\nauth:\n  token:\n    realm: {realm}\n    service: {service}\n\
         \x20   issuer: {issuer}\n    rootcertbundle: {cert}\n",
        data = dir.join("data").display(),
        realm = harbor.standin.token_realm(),
        service = harbor.standin.token_service(),
        issuer = harbor.standin.token_issuer(),
        cert = cert.display(),
    );
    let path = dir.join("config.yml");
    std::fs::write(&path, config).expect("config");
    path
}

#[tokio::test]
async fn a_distribution_registry_accepts_the_tokens() {
    let Some(binary) = find_registry() else {
        eprintln!("skipped: docker-registry is not installed");
        return;
    };
    let harbor = Harbor::start().await;
    harbor.project("proj").await;
    harbor.project("other").await;
    let secret = harbor.robot("puller", &["proj"], 1).await["secret"]
        .as_str()
        .expect("secret")
        .to_string();

    let dir = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = write_config(dir.path(), port, &harbor);
    let mut child = tokio::process::Command::new(binary)
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start docker-registry");
    let registry = format!("http://127.0.0.1:{port}");
    let client = &harbor.client;
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match client.get(format!("{registry}/v2/")).send().await {
            Ok(r) => {
                assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
                let challenge = r
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                assert!(
                    challenge.contains(&harbor.standin.token_realm()),
                    "{challenge}"
                );
                break;
            }
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            Err(err) => panic!("docker-registry did not come up: {err}"),
        }
    }

    // The admin pushes proj/app:v1.
    let admin = token(
        &harbor,
        "admin",
        "Harbor12345",
        "repository:proj/app:pull,push",
    )
    .await;
    let config_blob = json!({"architecture": "amd64", "os": "linux",
                             "rootfs": {"type": "layers", "diff_ids": []}})
    .to_string();
    let config_digest = push_blob(client, &registry, &admin, config_blob.as_bytes()).await;
    let layer_digest = push_blob(client, &registry, &admin, b"layer").await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                   "size": config_blob.len(), "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 5, "digest": layer_digest}],
    });
    let pushed = client
        .put(format!("{registry}/v2/proj/app/manifests/v1"))
        .bearer_auth(&admin)
        .header("content-type", MANIFEST)
        .body(manifest.to_string())
        .send()
        .await
        .expect("push manifest");
    assert_eq!(pushed.status(), StatusCode::CREATED);

    let pull = |token: String, repo: &'static str| {
        let url = format!("{registry}/v2/{repo}/manifests/v1");
        async move {
            client
                .get(url)
                .bearer_auth(token)
                .header("accept", MANIFEST)
                .send()
                .await
                .expect("pull")
                .status()
        }
    };
    let robot = token(&harbor, "robot$puller", &secret, "repository:proj/app:pull").await;
    assert_eq!(pull(robot, "proj/app").await, StatusCode::OK);
    let other = token(
        &harbor,
        "robot$puller",
        &secret,
        "repository:other/app:pull",
    )
    .await;
    assert_eq!(pull(other, "other/app").await, StatusCode::UNAUTHORIZED);
    let wrong = token(
        &harbor,
        "robot$puller",
        "Wrong1234",
        "repository:proj/app:pull",
    )
    .await;
    assert_eq!(pull(wrong, "proj/app").await, StatusCode::UNAUTHORIZED);
    let push = token(&harbor, "robot$puller", &secret, "repository:proj/app:push").await;
    let refused = client
        .post(format!("{registry}/v2/proj/app/blobs/uploads/"))
        .bearer_auth(push)
        .send()
        .await
        .expect("push");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    harbor
        .controls()
        .set_disabled("robot$puller", true)
        .expect("disable");
    let disabled = token(&harbor, "robot$puller", &secret, "repository:proj/app:pull").await;
    assert_eq!(pull(disabled, "proj/app").await, StatusCode::UNAUTHORIZED);

    let _ = child.kill().await;
    harbor.assert_no_violations();
}
