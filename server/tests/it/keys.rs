//! The token-signing keys in the database, as N replicas of the portal on
//! one database see them: they sign with one key, follow an activation
//! within seconds without a restart, agree on the first key when they start
//! together, import a key folder of an earlier version once, and open the
//! keys only with the right key-encryption key (rotated by `rewrap`).

use crate::support::registry::{self as harness, eventually};
use crate::support::{self, fresh_database, Backend, Options, TestApp, PASSWORD};
use app::backend::services::audit::Actor;
use app::backend::services::{credentials, signing_keys};
use app::domain::credential::CredentialKind;
use app::domain::signing_key::KeyState;
use app::domain::Role;
use app::backend::web::RequestMeta;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use server::signing::{kek::Keks, keys, store};
use std::{path::Path, time::Duration};

on_both_backends!(
    replicas_sign_with_one_key_and_follow_an_activation,
    replicas_starting_together_make_one_key,
    a_key_folder_is_imported_at_the_first_start,
    the_key_encryption_key_rotates_with_rewrap,
);

/// A customer's pull credential: (user name, secret).
async fn credential(app: &TestApp) -> (String, String) {
    let email = format!("c-{}@example.com", uuid::Uuid::new_v4().simple());
    let owner = app.create_user(&email, PASSWORD, Role::Customer).await;
    let c = credentials::create(&app.db, owner, CredentialKind::Pull, "laptop", None, None, Actor::System, &RequestMeta::default())
        .await
        .unwrap();
    (c.username, c.secret)
}

/// A login token (no scope) from `app`: (its kid, the JWT).
async fn token(app: &TestApp, cred: &(String, String)) -> (String, String) {
    let res = app
        .client
        .get(app.url("/registry/token"))
        .query(&[("service", "portcullis-registry")])
        .basic_auth(&cred.0, Some(&cred.1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let jwt = support::json(res).await["token"].as_str().unwrap().to_owned();
    let header: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(jwt.split('.').next().unwrap()).unwrap()).unwrap();
    (crate::support::token_kid(&header), jwt)
}

/// Whether `jwt` carries a valid ES256 signature by `public_key`.
fn signed_by(jwt: &str, public_key: &[u8]) -> bool {
    let (signed, signature) = jwt.rsplit_once('.').unwrap();
    let public = ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, public_key);
    public.verify(signed.as_bytes(), &URL_SAFE_NO_PAD.decode(signature).unwrap()).is_ok()
}

/// A second replica: another portal on `app`'s database.
async fn replica(backend: Backend, app: &TestApp, opts: Options) -> TestApp {
    TestApp::spawn_with(backend, Options { database_url: Some(app.database_url.clone()), ..opts }).await
}

fn cli_ok(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = harness::portcullis(app, args, env);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "portcullis {args:?}: {}{stdout}", String::from_utf8_lossy(&out.stderr));
    stdout
}

async fn actions(app: &TestApp, prefix: &str) -> Vec<(String, String, serde_json::Value)> {
    app.audit().await.into_iter().filter(|a| a.0.starts_with(prefix)).map(|(action, _, actor, _, details)| (action, actor, details)).collect()
}

async fn replicas_sign_with_one_key_and_follow_an_activation(backend: Backend) {
    let a = TestApp::spawn(backend).await;
    let b = replica(backend, &a, Options::default()).await;
    let cred = credential(&a).await;
    let (first, _) = token(&a, &cred).await;
    assert_eq!(token(&b, &cred).await.0, first, "both replicas sign with the one key");
    let keys = signing_keys::list(&a.db).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0].kid.as_str(), keys[0].state), (first.as_str(), KeyState::Active));

    // A key added (by the CLI) joins the bundle but signs nowhere yet.
    let added = cli_ok(&a, &["registry", "key", "add"], &[]);
    let new = signing_keys::list(&a.db).await.unwrap().into_iter().find(|k| k.state == KeyState::Pending).unwrap().kid;
    assert!(added.contains(&new), "{added}");
    assert_eq!(signing_keys::bundle(&a.db).await.unwrap().matches("BEGIN CERTIFICATE").count(), 2);
    assert_eq!(token(&a, &cred).await.0, first);

    // Activated (through the service, as the CLI does), both replicas sign
    // with it within a poll, without a restart; the token verifies with it.
    let started = std::time::Instant::now();
    store::activate(&a.db, &Keks::builtin(), &new[..9], Actor::System).await.unwrap();
    let (cred, want) = (&cred, &new);
    for r in [&a, &b] {
        let jwt = eventually(Duration::from_secs(4), || async move {
            let (kid, jwt) = token(r, cred).await;
            (kid == *want).then_some(jwt)
        })
        .await
        .expect("the replica signs with the activated key");
        assert!(signed_by(&jwt, r.registry.signer.current().public_key()));
    }
    assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());

    // The signing key cannot be retired; the old one can, once, and then
    // never signs again.
    let e = store::retire(&a.db, &new, Actor::System).await.unwrap_err().to_string();
    assert!(e.contains("signs tokens"), "{e}");
    assert!(store::retire(&a.db, &first, Actor::System).await.unwrap().1);
    assert!(!store::retire(&a.db, &first, Actor::System).await.unwrap().1, "retired already");
    let e = store::activate(&a.db, &Keks::builtin(), &first, Actor::System).await.unwrap_err().to_string();
    assert!(e.contains("retired"), "{e}");
    assert_eq!(signing_keys::bundle(&a.db).await.unwrap().matches("BEGIN CERTIFICATE").count(), 1);
    let listed = cli_ok(&a, &["registry", "key", "list"], &[]);
    assert!(listed.lines().any(|l| l.starts_with(&new) && l.contains("active")), "{listed}");
    assert!(listed.lines().any(|l| l.starts_with(&first) && l.contains("retired")), "{listed}");

    // Each change is audited, with who made it.
    let audited = actions(&a, "registry.key.").await;
    let names: Vec<(&str, &str)> = audited.iter().map(|(action, actor, _)| (action.as_str(), actor.as_str())).collect();
    assert_eq!(
        names,
        [
            ("registry.key.add", "cli"),
            ("registry.key.activate", "system"),
            ("registry.key.retire", "system"),
        ]
    );
    assert_eq!(audited[1].2["previous"], first.as_str());
    assert_eq!(audited[1].2["kid"], new.as_str());
}

async fn replicas_starting_together_make_one_key(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_database(backend, dir.path()).await;
    server::startup::open_database(&url).await.unwrap().close().await;
    let opts = || Options { database_url: Some(url.clone()), ..Options::default() };
    let (a, b) = tokio::join!(TestApp::spawn_with(backend, opts()), TestApp::spawn_with(backend, opts()));
    let keys = signing_keys::list(&a.db).await.unwrap();
    assert_eq!(keys.len(), 1, "one key for both");
    assert_eq!(a.registry.signer.current().kid, keys[0].kid);
    assert_eq!(b.registry.signer.current().kid, keys[0].kid);
    assert_eq!(a.registry.events_secret, b.registry.events_secret, "one events secret for both");
}

/// A key folder as earlier versions of the portal wrote it.
fn write_folder(dir: &Path, active: &keys::NewKeyPair, in_bundle: &keys::NewKeyPair, retired: &keys::NewKeyPair, secret: &str) {
    for (sub, key) in [("keys", active), ("keys", in_bundle), ("retired", retired)] {
        let sub = dir.join(sub);
        std::fs::create_dir_all(&sub).unwrap();
        let id = key.kid.replace(':', "");
        std::fs::write(sub.join(format!("{id}.key.pem")), key.pkcs8_pem()).unwrap();
        std::fs::write(sub.join(format!("{id}.crt.pem")), &key.cert_pem).unwrap();
    }
    std::fs::write(dir.join("active"), active.kid.replace(':', "")).unwrap();
    std::fs::write(dir.join("events-secret"), format!("{secret}\n")).unwrap();
}

fn files(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = walk(dir).into_iter().map(|p| p.strip_prefix(dir).unwrap().display().to_string()).collect();
    out.sort();
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}

async fn a_key_folder_is_imported_at_the_first_start(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let (active, in_bundle, retired) = (keys::generate().unwrap(), keys::generate().unwrap(), keys::generate().unwrap());
    let secret = "events-secret-of-the-old-folder-0123456789";
    write_folder(folder.path(), &active, &in_bundle, &retired, secret);
    let before = files(folder.path());
    let app = TestApp::spawn_with(backend, Options { registry_key_dir: Some(folder.path().to_owned()), ..Options::default() }).await;

    // The folder's active key keeps signing, its secret still authenticates.
    let cred = credential(&app).await;
    let (kid, jwt) = token(&app, &cred).await;
    assert_eq!(kid, active.kid);
    assert!(signed_by(&jwt, keys::Signer::from_pkcs8(&active.pkcs8_der).unwrap().public_key()));
    assert_eq!(app.registry.events_secret, secret);
    let state = |kid: &str, rows: &[signing_keys::KeyRow]| rows.iter().find(|k| k.kid == kid).map(|k| k.state);
    let rows = signing_keys::list(&app.db).await.unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(state(&active.kid, &rows), Some(KeyState::Active));
    assert_eq!(state(&in_bundle.kid, &rows), Some(KeyState::Pending));
    assert_eq!(state(&retired.kid, &rows), Some(KeyState::Retired));
    let bundle = signing_keys::bundle(&app.db).await.unwrap();
    assert!(bundle.contains(&active.cert_pem) && bundle.contains(&in_bundle.cert_pem) && !bundle.contains(&retired.cert_pem));
    let imported = actions(&app, "registry.key.import").await;
    assert_eq!(imported.len(), 1);
    assert_eq!(imported[0].2["from"], folder.path().display().to_string());
    assert_eq!(imported[0].2["events_secret"], "imported");
    assert_eq!(files(folder.path()), before, "the folder is left as it was");

    // Another replica with a folder of its own (as before the keys moved to
    // the database) signs with the database's key; nothing more is imported.
    let own = tempfile::tempdir().unwrap();
    let (other, o2, o3) = (keys::generate().unwrap(), keys::generate().unwrap(), keys::generate().unwrap());
    write_folder(own.path(), &other, &o2, &o3, "another-events-secret-0123456789-abcdef");
    let b = replica(backend, &app, Options { registry_key_dir: Some(own.path().to_owned()), ..Options::default() }).await;
    assert_eq!(token(&b, &cred).await.0, active.kid);
    assert_eq!(b.registry.events_secret, secret);
    assert_eq!(signing_keys::list(&app.db).await.unwrap().len(), 3);
}

async fn the_key_encryption_key_rotates_with_rewrap(backend: Backend) {
    let (old, new) = ([0x11u8; 32], [0x22u8; 32]);
    let (old_hex, new_hex) = (hex::encode(old), hex::encode(new));
    let app = TestApp::spawn_with(backend, Options { keks: Some(Keks::explicit(old, None)), ..Options::default() }).await;
    let kid = app.registry.signer.current().kid.clone();
    let old_id = Keks::explicit(old, None).current_id().to_owned();
    assert!(signing_keys::list(&app.db).await.unwrap().iter().all(|k| k.kek_id == old_id));

    // Without the portal's KEK the CLI can neither add a key nor write the
    // registry's config: one line naming the variable and the KEK it lacks.
    for args in [&["registry", "key", "add"][..], &["registry", "config", "--out", "reg"]] {
        let out = harness::portcullis(&app, args, &[]);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{args:?}");
        assert!(err.starts_with("error: PORTCULLIS_KEY_ENCRYPTION_KEY: ") && err.contains(&old_id), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    assert_eq!(signing_keys::list(&app.db).await.unwrap().len(), 1);

    // The new KEK with the old one as PREVIOUS: rewrap re-seals the key and
    // the events secret, audited.
    let rotated = [("PORTCULLIS_KEY_ENCRYPTION_KEY", new_hex.as_str()), ("PORTCULLIS_KEY_ENCRYPTION_KEY_PREVIOUS", old_hex.as_str())];
    let out = cli_ok(&app, &["registry", "key", "rewrap"], &rotated);
    assert!(out.contains("re-sealed 2 "), "{out}");
    let new_id = Keks::explicit(new, None).current_id().to_owned();
    assert!(signing_keys::list(&app.db).await.unwrap().iter().all(|k| k.kek_id == new_id));
    let rewrapped = actions(&app, "registry.key.rewrap").await;
    assert_eq!((rewrapped.len(), rewrapped[0].1.as_str()), (1, "cli"));
    assert_eq!(rewrapped[0].2["from"][&old_id], 2);

    // A replica with the new KEK alone signs with the same key; one with the
    // old KEK alone does not start, and says why.
    let b = replica(backend, &app, Options { keks: Some(Keks::explicit(new, None)), ..Options::default() }).await;
    assert_eq!(b.registry.signer.current().kid, kid);
    let dir = tempfile::tempdir().unwrap();
    let stale = Options { keks: Some(Keks::explicit(old, None)), ..Options::default() };
    let err = server::startup::Application::build(support::config(&stale, &app.database_url, dir.path())).await.err().unwrap().to_string();
    assert!(err.starts_with("PORTCULLIS_KEY_ENCRYPTION_KEY: ") && err.contains(&new_id), "{err}");
}
