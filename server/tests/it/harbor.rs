//! Harbor provisioning against the Harbor stand-in (checked against
//! Harbor's published API), on SQLite and PostgreSQL: a bought subscription
//! drives its credential's robot through the real registry (skopeo pulls
//! with the robot; overdue past grace → disabled; paid → enabled; refunded →
//! deleted); Harbor down during a grant and a `kill -9` of the portal in the
//! middle of a Harbor call converge without a second robot; the reconciler
//! repairs drift made by hand in Harbor, and a robot it had to make again
//! gets a new secret its owner reveals once, told why; a rotation reaches
//! Harbor; a credential made without a robot is adopted.

use crate::support::billing::{self, Shop};
use crate::support::harbor::{self, until};
use crate::support::registry::{require_tools, Skopeo};
use crate::support::{json, Backend, Options, TestApp, PASSWORD};
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, credentials, entitlements, harbor as provisioning};
use app::backend::web::RequestMeta;
use app::domain::access::EntitlementSource;
use app::domain::credential::CredentialKind;
use app::domain::Role;
use harbor_standin::StandIn;
use serde_json::{json, Value};
use std::time::Duration;

on_both_backends!(
    a_bought_subscription_drives_its_robot_on_the_real_registry,
    harbor_down_and_a_crash_mid_call_converge_without_a_second_robot,
    the_reconciler_repairs_drift_and_the_owner_sees_why,
);

fn no_violations(s: &StandIn) {
    let v = s.controls().violations();
    assert!(v.is_empty(), "requests or answers outside Harbor's API: {v:#?}");
}

fn robot_state(s: &StandIn, login: &str) -> Option<(bool, Vec<String>)> {
    s.controls().robot(login).map(|r| (r.disabled, r.pull_projects))
}

async fn a_bought_subscription_drives_its_robot_on_the_real_registry(backend: Backend) {
    require_tools();
    let hs = harbor::standin().await;
    let dir = tempfile::tempdir().unwrap();
    let skopeo = Skopeo::new(dir.path());
    let registry = harbor::registry(dir.path(), &hs, &skopeo).await;
    let host = registry.host();
    let mut stripe = billing::stripe_config("http://unused/");
    stripe.grace = Duration::from_secs(3);
    let opts = Options {
        harbor: Some(harbor::config(&hs, Duration::from_secs(3600))),
        keks: Some(harbor::keks()),
        stripe: Some(stripe),
        ..Options::default()
    };
    let shop = Shop::open_with(backend, opts).await;
    let (_, monthly, _) = shop.product().await;
    let (customer, _) = shop.customer("fleet@example.com").await;
    let session = shop.checkout(&customer, monthly).await;
    shop.standin_post(&format!("test/checkout/sessions/{session}/pay"), json!({})).await;
    shop.flush().await;

    // A credential is a robot: its login carries Harbor's prefix, and the
    // snippets name Harbor's registry.
    let made = json(shop.app.call(&customer, "my/create_credential", &[("name", "ci")]).await).await;
    let login = made["username"].as_str().expect("login").to_owned();
    let secret = made["secret"].as_str().expect("secret").to_owned();
    assert!(login.starts_with("robot$pull-"), "{made}");
    until(15, "the robot is made, enabled, pull on acme", || async { robot_state(&hs, &login) == Some((false, vec!["acme".into()])) }).await;
    assert!(hs.controls().check_secret(&login, &secret), "Harbor has the secret the customer was shown");
    let pull = skopeo.pull(&host, "acme/widget:1.0", (&login, &secret)).await;
    assert!(pull.ok, "the robot pulls through the real registry: {pull:?}");
    let listed = json(shop.app.call(&customer, "my/credentials", &[]).await).await;
    assert_eq!(listed[0]["robot"]["state"], "enabled", "{listed}");

    // A renewal fails: through the grace period the robot pulls; at its end
    // (no event announces it) the scheduled job disables it.
    let sub = shop.subscription_of(&session).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/fail_next_invoice"), json!({})).await;
    shop.standin_post(&format!("test/subscriptions/{sub}/advance"), json!({})).await;
    shop.flush().await;
    until(20, "disabled after the grace period", || async { robot_state(&hs, &login).is_some_and(|(disabled, _)| disabled) }).await;
    let refused = skopeo.pull(&host, "acme/widget:1.0", (&login, &secret)).await;
    assert!(!refused.ok, "a disabled robot cannot pull: {refused:?}");

    // Paid: enabled again, same secret.
    shop.standin_post(&format!("test/subscriptions/{sub}/pay_open_invoice"), json!({})).await;
    shop.flush().await;
    until(15, "enabled once paid", || async { robot_state(&hs, &login).is_some_and(|(disabled, _)| !disabled) }).await;
    let pull = skopeo.pull(&host, "acme/widget:1.0", (&login, &secret)).await;
    assert!(pull.ok, "paid: pulls again: {pull:?}");

    // The renewal is refunded: the period it paid for is taken back, nothing
    // can grant again, the robot goes.
    let payments = shop.standin_get(&format!("test/subscriptions/{sub}")).await["payments"].as_array().cloned().expect("payments");
    let pi = payments.last().and_then(|p| p["payment_intent"].as_str()).expect("the renewal's payment").to_owned();
    shop.http_form("v1/refunds", &[("payment_intent", &pi)]).await;
    shop.flush().await;
    until(15, "deleted after the refund", || async { hs.controls().robot(&login).is_none() }).await;
    let refused = skopeo.pull(&host, "acme/widget:1.0", (&login, &secret)).await;
    assert!(!refused.ok, "refunded: no robot, no pull: {refused:?}");

    assert_eq!(hs.controls().create_calls(&login), 1, "one robot, ever");
    let actions: Vec<String> = shop.app.audit().await.into_iter().map(|e| e.0).filter(|a| a.starts_with("harbor.robot")).collect();
    for a in ["harbor.robot_create", "harbor.robot_update", "harbor.robot_delete"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
    no_violations(&hs);
}

/// A published product on `acme/widget` (contact sales) and a customer
/// with a manual year of it: (product id, customer id).
async fn granted(app: &TestApp, email: &str) -> (i64, i64) {
    let meta = RequestMeta::default();
    let product = match app::backend::db::products::find_by_slug(&app.db, "acme-widget").await.unwrap() {
        Some(p) => p.id,
        None => {
            let input = catalogue::ProductInput {
                name: "Acme Widget".into(),
                slug: Some("acme-widget".into()),
                description: "Widgets.".into(),
                contact_sales: true,
                repositories: vec!["acme/widget".into()],
            };
            let p = catalogue::create(&app.db, &input, &[], Actor::System, &meta).await.unwrap();
            catalogue::set_status(&app.db, p.id, app::domain::catalogue::ProductStatus::Published, Actor::System, &meta).await.unwrap();
            p.id
        }
    };
    let customer = app.create_user(email, PASSWORD, Role::Customer).await;
    let now = chrono::Utc::now();
    let grant = entitlements::Grant {
        customer_id: customer,
        product_id: product,
        source: EntitlementSource::Manual,
        starts_at: now - chrono::Duration::minutes(1),
        ends_at: Some(now + chrono::Duration::days(365)),
        note: None,
    };
    entitlements::grant(&app.db, &grant, Actor::System, &meta).await.expect("the grant succeeds whatever Harbor does");
    (product, customer)
}

async fn logged_in(app: &TestApp, email: &str) -> reqwest::Client {
    let c = crate::support::client();
    assert!(app.call(&c, "login", &[("email", email), ("password", PASSWORD)]).await.status().is_success());
    c
}

async fn harbor_down_and_a_crash_mid_call_converge_without_a_second_robot(backend: Backend) {
    let hs = harbor::standin().await;
    let opts = || Options {
        harbor: Some(harbor::config(&hs, Duration::from_secs(3600))),
        keks: Some(harbor::keks()),
        ..Options::default()
    };
    // Harbor is down while access is granted and a credential made: both
    // succeed in the portal; the dashboard says what is waiting and why.
    hs.controls().down(true);
    let mut app = TestApp::spawn_with(backend, opts()).await;
    granted(&app, "down@example.com").await;
    let customer = logged_in(&app, "down@example.com").await;
    let made = json(app.call(&customer, "my/create_credential", &[("name", "cluster")]).await).await;
    let (login, secret) = (made["username"].as_str().unwrap().to_owned(), made["secret"].as_str().unwrap().to_owned());
    let (admin, _) = app.logged_in(Role::Admin).await;
    until(15, "the outbox reports the failure", || async {
        json(app.call(&admin, "admin/provisioning_status", &[]).await).await["failing"].as_i64().unwrap_or(0) > 0
    })
    .await;
    let health = json(app.call(&admin, "admin/provisioning_status", &[]).await).await;
    assert!(health["last_error"].as_str().unwrap_or_default().contains("503"), "{health}");
    assert!(hs.controls().robot(&login).is_none());

    // Harbor is back: the robot appears, with the secret shown.
    hs.controls().down(false);
    until(30, "the robot appears once Harbor is back", || async { robot_state(&hs, &login) == Some((false, vec!["acme".into()])) }).await;
    assert!(hs.controls().check_secret(&login, &secret));
    until(10, "the outbox is empty", || async {
        json(app.call(&admin, "admin/provisioning_status", &[]).await).await["pending"] == 0
    })
    .await;
    app.stop().await;

    // A second customer's credential is made while no portal runs; then a
    // portal starts, its Harbor calls hang, and it is killed (SIGKILL) in the
    // middle of one. As if its create had reached Harbor before the kill,
    // the robot exists there (with a secret of Harbor's own).
    let (_, second) = granted(&app, "crash@example.com").await;
    let keks = harbor::keks();
    let robots = provisioning::Robots { prefix: "robot$", sealer: &keks };
    let made = credentials::create(&app.db, second, CredentialKind::Pull, "edge", None, Some(robots), Actor::System, &RequestMeta::default())
        .await
        .unwrap();
    let (login2, secret2) = (made.username.clone(), made.secret.clone());
    hs.controls().slow(5_000);
    hs.controls().clear_requests();
    let mut child = portal_process(&app, &hs);
    // Started, its job at once in a Harbor call that takes 5 s to answer.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(child.try_wait().unwrap().is_none(), "the portal runs");
    child.kill().expect("kill -9");
    child.wait().expect("reaped");
    hs.controls().slow(0);
    let short = login2.trim_start_matches("robot$");
    let res = reqwest::Client::new()
        .post(format!("{}/robots", hs.api_url()))
        .basic_auth(hs.admin_user(), Some(hs.admin_password()))
        .json(&json!({ "name": short, "level": "system", "duration": -1, "disable": false,
            "permissions": [{ "kind": "project", "namespace": "acme", "access": [{ "resource": "repository", "action": "pull" }] }] }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 201);

    // Restarted: it finds the robot by its name, gives it the secret the
    // customer was shown, and makes no second one.
    let app2 = TestApp::spawn_with(backend, Options { database_url: Some(app.database_url.clone()), registry_key_dir: Some(app.registry_key_dir.clone()), ..opts() }).await;
    // (After the killed process's 45 s lease on the delivery job ran out.)
    until(75, "the robot gets the customer's secret", || async { hs.controls().check_secret(&login2, &secret2) }).await;
    assert_eq!(hs.controls().robots().iter().filter(|r| r.name == login2).count(), 1);
    assert_eq!(hs.controls().create_calls(&login2), 1, "only the create that reached Harbor before the kill");
    assert_eq!(hs.controls().create_calls(&login), 1);
    drop(app2);
    no_violations(&hs);
}

/// `portcullis serve` as a child process on `app`'s database, with Harbor.
fn portal_process(app: &TestApp, hs: &StandIn) -> std::process::Child {
    let cwd = tempfile::tempdir().unwrap().keep();
    std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("PORTCULLIS_LOG", "error")
        .env("PORTCULLIS_DATABASE_URL", &app.database_url)
        .env("PORTCULLIS_REGISTRY_KEY_DIR", &app.registry_key_dir)
        .env("PORTCULLIS_SESSION_SECRET", "a-session-secret-for-the-harbor-crash-test-0123456789")
        .env("PORTCULLIS_KEY_ENCRYPTION_KEY", hex::encode(harbor::KEK))
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("PORTCULLIS_HARBOR_URL", &hs.base_url)
        .env("PORTCULLIS_HARBOR_USER", hs.admin_user())
        .env("PORTCULLIS_HARBOR_PASSWORD", hs.admin_password())
        .env("PORTCULLIS_HARBOR_RECONCILE_EVERY", "1h")
        .current_dir(cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("portcullis serve starts")
}

async fn the_reconciler_repairs_drift_and_the_owner_sees_why(backend: Backend) {
    let hs = harbor::standin().await;
    let app = TestApp::spawn_with(
        backend,
        Options { harbor: Some(harbor::config(&hs, Duration::from_secs(3600))), keks: Some(harbor::keks()), ..Options::default() },
    )
    .await;
    // The job's first reconcile (at start) is over before drift is made.
    until(15, "the first reconcile ran", || async { app::backend::db::harbor::last_run(&app.db).await.unwrap().is_some() }).await;
    granted(&app, "drift@example.com").await;
    let customer = logged_in(&app, "drift@example.com").await;
    let made = json(app.call(&customer, "my/create_credential", &[("name", "cluster")]).await).await;
    let id = made["credential"]["id"].as_i64().unwrap();
    let (login, secret) = (made["username"].as_str().unwrap().to_owned(), made["secret"].as_str().unwrap().to_owned());
    until(15, "the robot is made", || async { robot_state(&hs, &login) == Some((false, vec!["acme".into()])) }).await;
    // The delivery marks its outbox row done after Harbor answered; until
    // then the reconciler leaves the customer to it (and would repair less).
    let customer_id = app::backend::db::users::find_by_email(&app.db, &app::domain::Email::parse("drift@example.com").unwrap()).await.unwrap().unwrap().id;
    until(15, "the delivery is done", || async { !app::backend::db::harbor::has_pending(&app.db, customer_id).await.unwrap() }).await;
    let h = harbor::harbor(&hs);
    let keks = harbor::keks();
    let reconcile = || provisioning::provision::reconcile(&app.db, &h, &keks);

    // Widened and disabled by hand in Harbor; a stray robot of the portal's
    // naming; a vendor's own robot.
    hs.controls().set_permissions(&login, &["acme", "library"]).unwrap();
    let c = reqwest::Client::new();
    for name in ["pull-zzzzzzzzzzzzzz", "ci-builder"] {
        let res = c
            .post(format!("{}/robots", hs.api_url()))
            .basic_auth(hs.admin_user(), Some(hs.admin_password()))
            .json(&json!({ "name": name, "level": "system", "duration": -1,
                "permissions": [{ "kind": "project", "namespace": "library", "access": [{ "resource": "repository", "action": "pull" }] }] }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), 201);
    }
    let run = reconcile().await.unwrap();
    assert_eq!((run.repaired, run.failed, run.error.as_deref()), (2, 0, None), "{run:?}");
    assert_eq!(robot_state(&hs, &login), Some((false, vec!["acme".into()])), "narrowed back");
    assert!(hs.controls().robot("robot$pull-zzzzzzzzzzzzzz").is_none(), "a stray robot of ours goes");
    assert!(hs.controls().robot("robot$ci-builder").is_some(), "the vendor's robots are never touched");
    assert!(hs.controls().check_secret(&login, &secret), "repairs keep the secret");

    // Deleted by hand: made again with a new secret, which its owner reveals
    // once, with the reason; the old secret is dead.
    assert!(hs.controls().delete_robot_by_name(&login));
    let run = reconcile().await.unwrap();
    assert_eq!(run.repaired, 1, "{run:?}");
    assert!(hs.controls().robot(&login).is_some(), "made again");
    assert!(!hs.controls().check_secret(&login, &secret));
    let listed = json(app.call(&customer, "my/credentials", &[]).await).await;
    let why = listed[0]["robot"]["new_secret_reason"].as_str().unwrap_or_default().to_owned();
    assert!(why.contains("removed from Harbor"), "{listed}");
    let one = credentials::get(&app.db, id, None).await.unwrap();
    assert_eq!(one.robot.and_then(|r| r.new_secret_reason).as_deref(), Some(why.as_str()), "one credential (REST) says it too");
    let page = app.get(&customer, "/account/credentials").await.text().await.unwrap();
    assert!(page.contains("removed from Harbor"), "the credentials page says why");
    let shown = json(app.call(&customer, "my/reveal_credential", &[("id", &id.to_string())]).await).await;
    let new_secret = shown["secret"].as_str().expect("the new secret").to_owned();
    assert!(hs.controls().check_secret(&login, &new_secret), "the revealed secret works");
    let again = app.call(&customer, "my/reveal_credential", &[("id", &id.to_string())]).await;
    assert_eq!(again.status().as_u16(), 409, "shown once");
    let (other, _) = app.logged_in(Role::Customer).await;
    assert_eq!(app.call(&other, "my/reveal_credential", &[("id", &id.to_string())]).await.status().as_u16(), 404);

    // Rotated: Harbor gets the new secret (PATCH), the old one dies.
    let rotated = json(app.call(&customer, "my/rotate_credential", &[("id", &id.to_string())]).await).await;
    let rotated = rotated["secret"].as_str().expect("a rotated secret").to_owned();
    until(15, "Harbor has the rotated secret", || async { hs.controls().check_secret(&login, &rotated) }).await;
    assert!(!hs.controls().check_secret(&login, &new_secret));

    // A credential made without a robot (as before Harbor was turned on) is
    // adopted: its user name becomes the robot's login, and a new secret
    // waits for its owner, with the reason.
    let old = credentials::create(&app.db, customer_id, CredentialKind::Pull, "older", None, None, Actor::System, &RequestMeta::default())
        .await
        .unwrap();
    let adopted_login = format!("robot${}", old.username);
    until(15, "the older credential gets a robot", || async { hs.controls().robot(&adopted_login).is_some() }).await;
    let listed = json(app.call(&customer, "my/credentials", &[]).await).await;
    let older = listed.as_array().unwrap().iter().find(|c| c["id"] == old.credential.id).cloned().expect("listed");
    assert_eq!(older["username"], adopted_login.as_str(), "{older}");
    assert!(older["robot"]["new_secret_reason"].as_str().unwrap_or_default().contains("Harbor"), "{older}");
    let shown = json(app.call(&customer, "my/reveal_credential", &[("id", &old.credential.id.to_string())]).await).await;
    assert!(hs.controls().check_secret(&adopted_login, shown["secret"].as_str().unwrap()));

    let audit = app.audit().await;
    let drift: Vec<&Value> = audit.iter().filter(|e| e.0.starts_with("harbor.robot") && e.4.get("drift").is_some()).map(|e| &e.4).collect();
    assert!(drift.len() >= 3, "each repair audited with what drifted: {drift:?}");
    assert!(audit.iter().any(|e| e.0 == "credential.reveal"));
    assert!(audit.iter().any(|e| e.0 == "harbor.reconcile"));
    no_violations(&hs);
}
