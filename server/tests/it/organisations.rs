//! Customers are organisations, on SQLite and PostgreSQL: an owner invites
//! a colleague (the invitation read from a real SMTP server), who accepts,
//! makes a credential and pulls with skopeo from the real registry; removal
//! revokes at the next token request while the organisation's credential
//! keeps working; roles and the last owner; credentials narrowed to products
//! and to address ranges (token requests from 127.0.0.2 with
//! `curl --interface`); and the migration of a populated database from
//! before organisations.

use crate::support::mail::SmtpServer;
use crate::support::registry::{self as harness, Registry, Skopeo};
use crate::support::{self, client, json, Backend, Options, TestApp, PASSWORD};
use app::backend::services::audit::Actor;
use app::backend::services::catalogue::ProductInput;
use app::backend::services::credentials::{self, Limits};
use app::backend::services::entitlements::Grant;
use app::backend::services::{catalogue, customers, entitlements, harbor as provisioning};
use app::backend::web::RequestMeta;
use app::domain::access::EntitlementSource;
use app::domain::catalogue::ProductStatus;
use app::domain::credential::CredentialKind;
use app::domain::organisation::CredentialHolder;
use app::domain::Role;
use chrono::{Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    an_owner_invites_a_colleague_who_pulls_until_removed,
    roles_decide_what_members_do_and_an_owner_stays,
    credentials_are_narrowed_to_products_and_networks,
    customers_from_before_become_one_member_organisations,
);

fn meta() -> RequestMeta {
    RequestMeta::default()
}

const NEW_PASSWORD: &str = "a colleague's own passphrase 7";

/// A published product on `repos`, named `name`.
async fn product(app: &TestApp, name: &str, repos: &[&str]) -> i64 {
    let input = ProductInput {
        name: name.into(),
        slug: Some(name.to_lowercase()),
        contact_sales: true,
        repositories: repos.iter().map(|r| r.to_string()).collect(),
        ..Default::default()
    };
    let p = catalogue::create(&app.db, &input, &[], Actor::System, &meta()).await.unwrap();
    catalogue::set_status(&app.db, p.id, ProductStatus::Published, Actor::System, &meta()).await.unwrap();
    p.id
}

async fn grant(app: &TestApp, org: i64, product_id: i64) {
    let now = Utc::now();
    let g = Grant {
        customer_id: org,
        product_id,
        source: EntitlementSource::Manual,
        starts_at: now - Duration::days(1),
        ends_at: Some(now + Duration::days(30)),
        note: None,
    };
    entitlements::grant(&app.db, &g, Actor::System, &meta()).await.unwrap();
}

/// A logged-in client of `email`.
async fn log_in(app: &TestApp, email: &str, password: &str) -> reqwest::Client {
    let c = client();
    let res = app.call(&c, "login", &[("email", email), ("password", password)]).await;
    assert!(res.status().is_success(), "log in as {email}: {}", res.status());
    c
}

async fn call(app: &TestApp, c: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = app.call(c, endpoint, form).await;
    let status = res.status();
    (status, json(res).await)
}

/// The member id of `email` in the owner's organisation page.
fn member_id(org: &Value, email: &str) -> i64 {
    org["members"].as_array().unwrap().iter().find(|m| m["email"] == email).unwrap_or_else(|| panic!("{email} in {org}"))["id"]
        .as_i64()
        .unwrap()
}

async fn an_owner_invites_a_colleague_who_pulls_until_removed(backend: Backend) {
    harness::require_tools();
    let smtp = SmtpServer::start().await;
    let mut opts = Options::default();
    opts.mail.smtp = Some(SmtpServer::settings(smtp.port));
    let app = TestApp::spawn_with(backend, opts).await;
    let widget = product(&app, "Widget", &["acme/widget"]).await;
    let org = customers::create(&app.db, "owner@acme.example", Some("Acme Ltd"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    grant(&app, org, widget).await;
    let admin = app.create_user("vendor@example.com", PASSWORD, Role::Admin).await;
    let push = credentials::create(&app.db, admin, CredentialKind::Push, "ci", None, None, Actor::System, &meta()).await.unwrap();

    // The owner invites a colleague; the invitation arrives by mail.
    let owner = log_in(&app, "owner@acme.example", PASSWORD).await;
    let colleague = "dev@acme.example";
    let (status, body) = call(&app, &owner, "my/invite", &[("email", colleague), ("role", "member")]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mail = smtp.wait_for(colleague, 1).await.remove(0);
    assert!(mail.subject.contains("invited to join Acme Ltd"), "{mail:?}");
    assert!(mail.text.contains("owner@acme.example invited dev@acme.example"), "{}", mail.text);
    // Not a member until accepted: the pending colleague has no access.
    let (_, org_page) = call(&app, &owner, "my/organisation", &[]).await;
    let dev_id = member_id(&org_page, colleague);
    assert!(org_page["members"].as_array().unwrap().iter().any(|m| m["email"] == colleague && m["joined_at"].is_null()));

    // Accepting sets the password through the link (single use).
    let token = mail.link_token();
    let res = app.call(&client(), "reset_password", &[("token", &token), ("password", NEW_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.call(&client(), "reset_password", &[("token", &token), ("password", NEW_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "the link works once");
    let dev = log_in(&app, colleague, NEW_PASSWORD).await;

    // The colleague makes their own credential; the owner one for CI.
    let (status, mine) = call(&app, &dev, "my/create_credential", &[("name", "laptop")]).await;
    assert_eq!(status, StatusCode::OK, "{mine}");
    assert_eq!(mine["credential"]["holder"], "member");
    let (status, refused) = call(&app, &dev, "my/create_credential", &[("name", "ci"), ("holder", "organisation")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "members make only their own: {refused}");
    let (status, ci) = call(&app, &owner, "my/create_credential", &[("name", "ci"), ("holder", "organisation")]).await;
    assert_eq!(status, StatusCode::OK, "{ci}");
    let login = |v: &Value| (v["username"].as_str().unwrap().to_owned(), v["secret"].as_str().unwrap().to_owned());
    let (dev_user, dev_secret) = login(&mine);
    let (ci_user, ci_secret) = login(&ci);

    // Owners see every credential, members their own.
    let (_, all) = call(&app, &owner, "my/credentials", &[]).await;
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    let (_, own) = call(&app, &dev, "my/credentials", &[]).await;
    assert_eq!(own.as_array().unwrap().len(), 1, "{own}");
    let ci_id = ci["credential"]["id"].as_i64().unwrap().to_string();
    let (status, _) = call(&app, &dev, "my/revoke_credential", &[("id", &ci_id)]).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a member cannot reach the organisation's credential");

    // Both pull from the real registry.
    let work = tempfile::tempdir().unwrap();
    let port = harness::free_port();
    let config = harness::write_config(&app, &work.path().join("registry"), port, &app.base);
    let registry = Registry::start(&config, port).await;
    let host = registry.host();
    let image = harness::build_image(&work.path().join("image"), "1.0", "widget 1.0\n");
    let skopeo = Skopeo::new(work.path());
    let out = skopeo.push(&image, "1.0", &host, "acme/widget:1.0", (&push.username, &push.secret)).await;
    assert!(out.ok, "push: {}", out.stderr);
    let out = skopeo.pull(&host, "acme/widget:1.0", (&dev_user, &dev_secret)).await;
    assert!(out.ok, "the colleague pulls: {}\n{}", out.stderr, registry.log_text());
    assert!(skopeo.pull(&host, "acme/widget:1.0", (&ci_user, &ci_secret)).await.ok, "CI pulls");
    // The registry's pull notifications are the organisation's pull history,
    // each with its member and the address of the token request.
    let (db, who) = (&app.db, colleague);
    let filter = app::views::PullFilterView { member: Some(who.into()), ..Default::default() };
    let f = &filter;
    let pulled = crate::support::registry::eventually(std::time::Duration::from_secs(10), || async move {
        app::backend::services::pulls::list(db, org, f, 10).await.unwrap().into_iter().find(|p| p.source == app::domain::pull::PullSource::Registry)
    })
    .await
    .unwrap_or_else(|| panic!("the colleague's pull in the history\n{}", registry.log_text()));
    assert_eq!((pulled.repository.as_str(), pulled.tag.as_deref(), pulled.ip.as_deref()), ("acme/widget", Some("1.0"), Some("127.0.0.1")));
    assert_eq!(pulled.credential.as_deref(), Some(dev_user.as_str()));

    // Removed: the colleague's credential is refused at once, CI's works.
    let (status, body) = call(&app, &owner, "my/remove_member", &[("id", &dev_id.to_string())]).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let out = skopeo.pull(&host, "acme/widget:1.0", (&dev_user, &dev_secret)).await;
    assert!(!out.ok && out.stderr.contains("revoked"), "refused after removal: {out:?}");
    assert!(skopeo.pull(&host, "acme/widget:1.0", (&ci_user, &ci_secret)).await.ok, "the organisation's credential survives");
    let (status, _) = call(&app, &dev, "my/credentials", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "a former member reaches nothing");

    // The audit log names the member and the organisation.
    let events = app::backend::db::audit::list_for_organisation(&app.db, org, 200).await.unwrap();
    let find = |action: &str| events.iter().find(|e| e.action == action).unwrap_or_else(|| panic!("{action} in the organisation's log"));
    assert_eq!(find("organisation.invite").subject_user_id, Some(dev_id));
    assert_eq!(find("account.invitation_accepted").actor, colleague);
    let removal = find("organisation.member_remove");
    assert_eq!(removal.details.0["credentials_revoked"].as_array().unwrap().len(), 1);
    let pulls = app::backend::db::audit::list_recent(&app.db, None, 500).await.unwrap();
    let dev_token = pulls
        .iter()
        .find(|e| e.action == "registry.token" && e.details.0["username"] == dev_user.as_str() && e.outcome == "success")
        .expect("the colleague's token grant");
    assert_eq!((dev_token.actor.as_str(), dev_token.organisation_id), (colleague, Some(org)));
    let auditor = support::api::key(&app, "reporting", Role::Auditor).await;
    let url = app.url(&format!("/api/v1/audit?member={dev_id}&customer={org}"));
    let by_member: Value = app.client.get(url).bearer_auth(&auditor).send().await.unwrap().json().await.unwrap();
    assert!(by_member["items"].as_array().unwrap().len() >= 3, "auditors filter by member and organisation: {by_member}");
}

async fn roles_decide_what_members_do_and_an_owner_stays(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let org = customers::create(&app.db, "boss@acme.example", Some("Acme"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    let other = customers::create(&app.db, "someone@else.example", None, Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    let boss = log_in(&app, "boss@acme.example", PASSWORD).await;
    // The last owner can neither leave nor step down.
    let (status, body) = call(&app, &boss, "my/leave_organisation", &[]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = call(&app, &boss, "my/member_role", &[("id", &org.to_string()), ("role", "member")]).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Invitations: a member elsewhere gets nothing, the owner the same answer.
    let (status, _) = call(&app, &boss, "my/invite", &[("email", "someone@else.example"), ("role", "member")]).await;
    assert_eq!(status, StatusCode::OK);
    let refused = app::backend::db::audit::list_for_organisation(&app.db, org, 50).await.unwrap();
    assert!(refused.iter().any(|e| e.action == "organisation.invite" && e.outcome == "failure" && e.details.0["reason"] == "member_elsewhere"));
    let (status, _) = call(&app, &boss, "my/invite", &[("email", "bad address"), ("role", "member")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = call(&app, &boss, "my/invite", &[("email", "x@acme.example"), ("role", "admin")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    // Two colleagues join (their links read from the outbox's accounts).
    for (email, role) in [("pay@acme.example", "billing"), ("dev@acme.example", "member")] {
        let (status, _) = call(&app, &boss, "my/invite", &[("email", email), ("role", role)]).await;
        assert_eq!(status, StatusCode::OK);
        let id: i64 = sqlx_id(&app, email).await;
        let mut tx = app.db.begin().await.unwrap();
        app::backend::services::organisations::accept_in(&mut tx, id, Utc::now()).await.unwrap();
        tx.commit().await.unwrap();
        app::backend::services::users::reset_password(
            &app.db,
            &app::domain::Email::parse(email).unwrap(),
            &app::domain::Password::parse(PASSWORD, None).unwrap(),
            Actor::System,
            &meta(),
        )
        .await
        .unwrap();
    }
    let pay = log_in(&app, "pay@acme.example", PASSWORD).await;
    let dev = log_in(&app, "dev@acme.example", PASSWORD).await;
    assert_eq!(call(&app, &pay, "my/orders", &[]).await.0, StatusCode::OK, "billing sees orders");
    assert_eq!(call(&app, &dev, "my/orders", &[]).await.0, StatusCode::FORBIDDEN, "a member does not");
    assert_eq!(call(&app, &dev, "my/invite", &[("email", "z@acme.example"), ("role", "owner")]).await.0, StatusCode::FORBIDDEN);
    assert_eq!(call(&app, &pay, "my/remove_member", &[("id", &org.to_string())]).await.0, StatusCode::FORBIDDEN);
    // Every member sees the products and the member list.
    assert_eq!(call(&app, &dev, "my/entitlements", &[]).await.0, StatusCode::OK);
    let (_, page) = call(&app, &dev, "my/organisation", &[]).await;
    assert_eq!(page["members"].as_array().unwrap().len(), 3);
    // Someone else's id is 404, whatever it is.
    assert_eq!(call(&app, &boss, "my/remove_member", &[("id", &other.to_string())]).await.0, StatusCode::NOT_FOUND);

    // Ownership moves; the former owner may now leave.
    let dev_id = member_id(&page, "dev@acme.example");
    assert_eq!(call(&app, &boss, "my/transfer_ownership", &[("id", &dev_id.to_string())]).await.0, StatusCode::OK);
    let (_, page) = call(&app, &dev, "my/organisation", &[]).await;
    let role = |email: &str| page["members"].as_array().unwrap().iter().find(|m| m["email"] == email).unwrap()["role"].clone();
    assert_eq!((role("dev@acme.example"), role("boss@acme.example")), ("owner".into(), "member".into()));
    assert_eq!(call(&app, &boss, "my/leave_organisation", &[]).await.0, StatusCode::OK);
    // The organisation keeps its entitlements, orders and id: the admin's view.
    let view = customers::get(&app.db, org).await.unwrap();
    assert_eq!((view.member_count, view.email.as_str()), (2, "dev@acme.example"));

    // Auditors filter the log by the addresses they know: a member's
    // address names the member, or (as the customer) their organisation.
    let (auditor, _) = app.logged_in(Role::Auditor).await;
    let search = |field: &'static str, value: &'static str| {
        let (app, auditor) = (&app, &auditor);
        async move { call(app, auditor, "audit/search", &[(field, value)]).await }
    };
    let (status, by_member) = search("filter[member]", "pay@acme.example").await;
    assert_eq!(status, StatusCode::OK, "{by_member}");
    let actions = |v: &Value| v["events"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(actions(&by_member).contains(&"organisation.invite".to_owned()), "{by_member}");
    let (_, by_customer) = search("filter[customer]", "dev@acme.example").await;
    let events = by_customer["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["action"] == "organisation.ownership_transfer"), "{by_customer}");
    assert!(events.iter().all(|e| e["organisation_id"] == org), "only the organisation's events");
    let (status, unknown) = search("filter[member]", "nobody@nowhere.example").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown["Invalid"]["field"], "member", "{unknown}");
}

async fn sqlx_id(app: &TestApp, email: &str) -> i64 {
    let sql = format!("SELECT id FROM users WHERE email = '{email}'");
    match &app.db {
        app::backend::db::Db::Sqlite(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
        app::backend::db::Db::Postgres(p) => sqlx::query_scalar(&sql).fetch_one(p).await.unwrap(),
    }
}

/// A token request with `curl`, from `source` (`--interface`), as a client
/// on another address would make it: `(status, body)`.
fn curl_token(app: &TestApp, source: &str, login: (&str, &str), scope: &str) -> (u16, Value) {
    let url = format!("{}/registry/token?service=portcullis-registry&scope={scope}", app.base);
    let out = std::process::Command::new("curl")
        .args(["-s", "--max-time", "10", "--interface", source, "-u", &format!("{}:{}", login.0, login.1), "-w", "\n%{http_code}", &url])
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn credentials_are_narrowed_to_products_and_networks(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let widget = product(&app, "Widget", &["acme/widget"]).await;
    let gadget = product(&app, "Gadget", &["acme/gadget"]).await;
    let elsewhere = product(&app, "Elsewhere", &["acme/elsewhere"]).await;
    let org = customers::create(&app.db, "ops@acme.example", Some("Acme"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id;
    grant(&app, org, widget).await;
    grant(&app, org, gadget).await;
    let make = |limits: Limits| {
        let db = app.db.clone();
        async move { credentials::create_limited(&db, org, CredentialKind::Pull, "limited", None, &limits, None, Actor::System, &meta()).await }
    };

    // Limited to one product: the other product's repository is refused, saying why.
    let widget_only = make(Limits { holder: Some(CredentialHolder::Member), products: vec![widget], networks: String::new() }).await.unwrap();
    assert_eq!(widget_only.credential.products.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["Widget"]);
    let login = (widget_only.username.as_str(), widget_only.secret.as_str());
    assert_eq!(curl_token(&app, "127.0.0.1", login, "repository:acme/widget:pull").0, 200);
    let (status, body) = curl_token(&app, "127.0.0.1", login, "repository:acme/gadget:pull");
    assert_eq!(status, 401);
    let said = body["errors"][0]["message"].as_str().unwrap_or_default().to_owned();
    assert!(said.contains("this credential is limited to Widget"), "{said}");
    // A product the organisation does not have cannot be chosen; nor a bad range.
    let err = make(Limits { products: vec![elsewhere], ..Default::default() }).await.unwrap_err();
    assert!(matches!(err, app::error::AppError::Invalid { ref field, .. } if field == "products"), "{err:?}");
    let err = make(Limits { networks: "10.0.0.0/33".into(), ..Default::default() }).await.unwrap_err();
    assert!(matches!(err, app::error::AppError::Invalid { ref field, .. } if field == "networks"), "{err:?}");

    // Limited to 127.0.0.2: granted from there, refused from 127.0.0.1 with the rule.
    revoke_all(&app, org).await;
    let near = credentials::create_limited(
        &app.db,
        org,
        CredentialKind::Pull,
        "near",
        None,
        &Limits { networks: "127.0.0.2/32, 2001:db8::/32".into(), ..Default::default() },
        None,
        Actor::System,
        &meta(),
    )
    .await
    .unwrap();
    assert_eq!(near.credential.networks, ["127.0.0.2/32", "2001:db8::/32"]);
    let login = (near.username.as_str(), near.secret.as_str());
    let (status, body) = curl_token(&app, "127.0.0.2", login, "repository:acme/widget:pull");
    assert_eq!(status, 200, "from 127.0.0.2: {body}");
    let (status, body) = curl_token(&app, "127.0.0.1", login, "repository:acme/widget:pull");
    assert_eq!(status, 401);
    let said = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(said.contains("this credential is limited to 127.0.0.2/32, 2001:db8::/32") && said.contains("127.0.0.1"), "{said}");
    // The refusal is in the audit log with its reason.
    let rows = app::backend::db::audit::list_recent(&app.db, None, 100).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let mut rows = rows;
    while !rows.iter().any(|r| r.action == "registry.token" && r.details.0["reason"] == "network_limit") {
        assert!(std::time::Instant::now() < deadline, "the network refusal is audited");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        rows = app::backend::db::audit::list_recent(&app.db, None, 100).await.unwrap();
    }

    // Under Harbor provisioning an address range cannot be enforced: refused.
    let keks = support::harbor::keks();
    let robots = provisioning::Robots { prefix: "robot$", sealer: &keks };
    let err = credentials::create_limited(
        &app.db,
        org,
        CredentialKind::Pull,
        "harbor",
        None,
        &Limits { networks: "10.0.0.0/8".into(), ..Default::default() },
        Some(robots),
        Actor::System,
        &meta(),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, app::error::AppError::Invalid { ref field, ref message } if field == "networks" && message.contains("Harbor")), "{err:?}");
}

async fn revoke_all(app: &TestApp, org: i64) {
    for c in credentials::list_for_organisation(&app.db, org, credentials::Reach::Any).await.unwrap() {
        if c.revoked_at.is_none() {
            credentials::revoke(&app.db, c.id, None, Actor::System, &meta()).await.unwrap();
        }
    }
}

/// Runs `sql` (statements separated by `;`, no `;` inside) on `db`.
async fn exec_all(db: &app::backend::db::Db, sql: &str) {
    for stmt in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        match db {
            app::backend::db::Db::Sqlite(p) => sqlx::query(stmt).execute(p).await.map(|_| ()),
            app::backend::db::Db::Postgres(p) => sqlx::query(stmt).execute(p).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }
}

async fn customers_from_before_become_one_member_organisations(backend: Backend) {
    // A database as the release before organisations left it (migrations up
    // to 0012), with two customers, an entitlement, credentials, an order
    // and audit events.
    let dir = tempfile::tempdir().unwrap();
    let url = support::fresh_database(backend, dir.path()).await;
    let db = app::backend::db::Db::connect(&url).await.unwrap();
    let before = |m: &sqlx::migrate::Migrator| sqlx::migrate::Migrator {
        migrations: std::borrow::Cow::Owned(m.migrations.iter().filter(|m| m.version <= 12).cloned().collect()),
        ..sqlx::migrate::Migrator::DEFAULT
    };
    match &db {
        app::backend::db::Db::Sqlite(p) => before(&sqlx::migrate!("../migrations/sqlite")).run(p).await.unwrap(),
        app::backend::db::Db::Postgres(p) => before(&sqlx::migrate!("../migrations/postgres")).run(p).await.unwrap(),
    }
    let t = "'2026-06-01T10:00:00Z'";
    let time = |s: &str| if backend == Backend::Postgres { format!("{s}::timestamptz") } else { s.to_owned() };
    let ts = time(t);
    exec_all(
        &db,
        &format!(
            "INSERT INTO users (id, email, password_hash, role, disabled, created_at, name, stripe_customer_id) \
               VALUES (41, 'old@acme.example', '!', 'customer', FALSE, {ts}, 'Acme GmbH', 'cus_old41');
             INSERT INTO users (id, email, password_hash, role, disabled, created_at) \
               VALUES (42, 'solo@example.com', '!', 'customer', FALSE, {ts});
             INSERT INTO users (id, email, password_hash, role, disabled, created_at) \
               VALUES (43, 'staff@vendor.example', '!', 'admin', FALSE, {ts});
             INSERT INTO products (id, slug, name, status, created_at, updated_at) VALUES (7, 'widget', 'Widget', 'published', {ts}, {ts});
             INSERT INTO product_repositories (product_id, pattern) VALUES (7, 'acme/widget');
             INSERT INTO entitlements (id, customer_id, product_id, status, source, starts_at, created_at, updated_at) \
               VALUES (5, 41, 7, 'active', 'manual', {ts}, {ts}, {ts});
             INSERT INTO registry_credentials (id, owner_user_id, kind, name, username, secret_hash, created_by, created_at) \
               VALUES (9, 41, 'pull', 'cluster', 'pull-oldcluster0001', 'x', 'admin', {ts});
             INSERT INTO registry_credentials (id, owner_user_id, kind, name, username, secret_hash, created_by, created_at) \
               VALUES (10, 43, 'push', 'ci', 'push-oldci00000001', 'y', 'admin', {ts});
             INSERT INTO audit_events (occurred_at, actor_user_id, actor, action, outcome, details, subject_user_id) \
               VALUES ({ts}, NULL, 'system', 'entitlement.grant', 'success', '{{\"product\":\"Widget\"}}', 41);
             INSERT INTO audit_events (occurred_at, actor_user_id, actor, action, outcome, details, subject_user_id) \
               VALUES ({ts}, 43, 'staff@vendor.example', 'auth.login', 'success', '{{}}', 43)"
        ),
    )
    .await;
    if backend == Backend::Postgres {
        for (t, c) in [("users", "id"), ("products", "id"), ("entitlements", "id"), ("registry_credentials", "id")] {
            exec_all(&db, &format!("SELECT setval(pg_get_serial_sequence('{t}', '{c}'), 100)")).await;
        }
    }
    db.close().await;

    // The new release starts on it (its migrations run at start-up).
    let app = TestApp::spawn_with(backend, Options { database_url: Some(url), ..Options::default() }).await;
    let acme = customers::get(&app.db, 41).await.unwrap();
    assert_eq!((acme.name.as_deref(), acme.email.as_str(), acme.member_count), (Some("Acme GmbH"), "old@acme.example", 1));
    assert_eq!(acme.members[0].role, app::domain::organisation::MemberRole::Owner);
    let solo = customers::get(&app.db, 42).await.unwrap();
    assert_eq!(solo.name.as_deref(), Some("solo@example.com"), "named after its address when it had no name");
    assert!(customers::get(&app.db, 43).await.is_err(), "staff are no organisation");
    assert_eq!(app::backend::db::orders::stripe_customer_id(&app.db, 41).await.unwrap().as_deref(), Some("cus_old41"));
    // Its entitlement, its credential (now the organisation's) and its history.
    let ents = entitlements::list(&app.db, &app::views::EntitlementFilter { customer_id: Some(41), ..Default::default() }, 10, 0).await.unwrap();
    assert_eq!((ents.len(), ents[0].customer_name.as_str()), (1, "Acme GmbH"));
    let creds = credentials::list_for_organisation(&app.db, 41, credentials::Reach::Any).await.unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!((creds[0].holder, creds[0].organisation_id), (Some(CredentialHolder::Organisation), Some(41)));
    let push = credentials::list_push(&app.db).await.unwrap();
    assert_eq!((push.len(), push[0].organisation_id), (1, None), "push credentials belong to no organisation");
    let history = app::backend::db::audit::list_for_organisation(&app.db, 41, 10).await.unwrap();
    assert!(history.iter().any(|e| e.action == "entitlement.grant" && e.subject_org_id.is_none() && e.organisation_id == Some(41)), "old rows mapped at query time");
    assert!(!history.iter().any(|e| e.action == "auth.login"), "the admin's log-in is no customer's");
    // The owner logs in with the old password hash replaced and sees it all.
    app::backend::services::users::reset_password(
        &app.db,
        &app::domain::Email::parse("old@acme.example").unwrap(),
        &app::domain::Password::parse(PASSWORD, None).unwrap(),
        Actor::System,
        &meta(),
    )
    .await
    .unwrap();
    let c = log_in(&app, "old@acme.example", PASSWORD).await;
    let (status, mine) = call(&app, &c, "my/credentials", &[]).await;
    assert_eq!((status, mine.as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    // The chain seals and verifies over old and new rows.
    app::backend::services::audit::chain::seal_pending(&app.db).await.unwrap();
    let v = app::backend::services::audit::chain::verify(&app.db).await.unwrap();
    assert!(v.broken.is_none(), "{v:?}");
}
