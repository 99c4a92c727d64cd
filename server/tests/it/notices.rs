//! Notices by mail against a real SMTP server on loopback: access ending
//! (once per threshold and end), a failed renewal and the end of its grace,
//! the admins' daily digest; each exactly once with two replicas running
//! the job at once and a restart in between; opted-out customers get no
//! mail (the notice is still recorded); the one-click unsubscribe of RFC
//! 8058 works without a session.

use crate::support::api::key;
use crate::support::mail::SmtpServer;
use crate::support::{Backend, Options, TestApp, PASSWORD};
use app::backend::services::notices::{self, NoticeSettings};
use app::domain::Role;
use chrono::{DateTime, Duration, NaiveTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

on_both_backends!(notices_go_out_once_each_across_replicas_and_restarts);

async fn set_times(app: &TestApp, id: i64, ends_at: Option<DateTime<Utc>>, grace_until: Option<DateTime<Utc>>) {
    let sql = "UPDATE entitlements SET ends_at = $1, grace_until = $2 WHERE id = $3";
    match &app.db {
        app::backend::db::Db::Sqlite(p) => sqlx::query(sql).bind(ends_at).bind(grace_until).bind(id).execute(p).await.map(|_| ()),
        app::backend::db::Db::Postgres(p) => sqlx::query(sql).bind(ends_at).bind(grace_until).bind(id).execute(p).await.map(|_| ()),
    }
    .unwrap();
}

async fn post(app: &TestApp, key: &str, path: &str, body: Value) -> Value {
    let res = app.client.post(app.url(path)).bearer_auth(key).json(&body).send().await.unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.unwrap()
}

/// The subjects of the notices to `to` so far: once at least `expected`
/// arrived (up to 20 s: a busy machine delivers late), then a moment more
/// for any that should not come.
async fn subjects(smtp: &SmtpServer, to: &str, expected: usize) -> Vec<String> {
    let now = || -> Vec<String> {
        smtp.messages().into_iter().filter(|m| m.to.contains(to) && !m.subject.contains("set your password")).map(|m| m.subject).collect()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while now().len() < expected && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    now()
}

async fn notices_go_out_once_each_across_replicas_and_restarts(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let with_smtp = || {
        let mut opts = Options::default();
        opts.mail.smtp = Some(SmtpServer::settings(smtp.port));
        opts
    };
    let mut a = TestApp::spawn_with(backend, with_smtp()).await;
    let b = a.replica(with_smtp()).await;
    let admin_key = key(&a, "crm", Role::Admin).await;
    a.create_user("boss@example.com", PASSWORD, Role::Admin).await;
    let product = post(&a, &admin_key, "/api/v1/products", json!({ "name": "Widget Pro", "repositories": ["acme/widget"], "contact_sales": true })).await;
    let grant = |email: &'static str| {
        let (a, admin_key, product) = (&a, admin_key.clone(), product["id"].clone());
        async move {
            let c = post(a, &admin_key, "/api/v1/customers", json!({ "email": email })).await;
            post(a, &admin_key, "/api/v1/entitlements", json!({ "customer_id": c["id"], "product_id": product })).await["id"].as_i64().unwrap()
        }
    };
    let ending = grant("ending@example.com").await;
    let failing = grant("failing@example.com").await;
    let quiet = grant("quiet@example.com").await;
    let now = Utc::now();
    set_times(&a, ending, Some(now + Duration::days(5)), None).await;
    set_times(&a, failing, Some(now + Duration::days(40)), Some(now + Duration::days(2))).await;
    set_times(&a, quiet, Some(now + Duration::days(5)), None).await;
    let quiet_id: i64 = app::backend::db::users::find_by_email(&a.db, &app::domain::Email::parse("quiet@example.com").unwrap()).await.unwrap().unwrap().id;
    let mut tx = a.db.begin().await.unwrap();
    app::backend::db::notices::set_opt_out(&mut tx, quiet_id, true).await.unwrap();
    // A customer waits for sales to answer: the digest says so.
    let asked = app::backend::db::requests::NewRequest {
        organisation_id: quiet_id,
        requested_by: quiet_id,
        product_id: product["id"].as_i64().unwrap(),
        kind: app::domain::request::RequestKind::Contact,
        message: "",
    };
    app::backend::db::requests::insert(&mut tx, &asked, now).await.unwrap().expect("one open request");
    tx.commit().await.unwrap();

    // Both replicas run the job at the same moment (the digest is due: 00:00 UTC).
    let settings = NoticeSettings { digest_at: NaiveTime::from_hms_opt(0, 0, 0), ..NoticeSettings::default() };
    let (ra, rb) = tokio::join!(notices::run(&a.db, &settings, now), notices::run(&b.db, &settings, now));
    ra.unwrap();
    rb.unwrap();
    // A restart in between, then the job again at the same moment: nothing new.
    a.stop().await;
    let a = b.replica(with_smtp()).await;
    notices::run(&a.db, &settings, now).await.unwrap();

    let ending_mails = subjects(&smtp, "ending@example.com", 1).await;
    assert_eq!(ending_mails.len(), 1, "once, not per replica: {ending_mails:?}");
    assert!(ending_mails[0].starts_with("Your access to Widget Pro ends on"), "{ending_mails:?}");
    let failing_mails = subjects(&smtp, "failing@example.com", 1).await;
    assert_eq!(failing_mails.len(), 1, "{failing_mails:?}");
    assert!(failing_mails[0].starts_with("Payment failed: access to Widget Pro continues until"), "{failing_mails:?}");
    assert!(subjects(&smtp, "quiet@example.com", 0).await.is_empty(), "opted out: no mail");
    let digests = subjects(&smtp, "boss@example.com", 1).await;
    assert_eq!(digests, vec!["Ending in the next 7 days: 2; requests waiting: 1".to_owned()], "one digest a day, both 5-day ends listed");
    let digest = smtp.messages().into_iter().find(|m| m.to.contains("boss@example.com")).unwrap();
    assert!(digest.text.contains("contact with sales of Widget Pro, asked by quiet@example.com"), "{}", digest.text);
    let mail = smtp.messages().into_iter().find(|m| m.to.contains("ending@example.com") && m.subject.starts_with("Your access")).unwrap();
    assert!(mail.text.contains("/unsubscribe?token="), "optional mail says how to stop it: {}", mail.text);

    // Later: the 1-day threshold, the grace end passed unpaid.
    let later = now + Duration::days(4) + Duration::hours(12);
    notices::run(&a.db, &settings, later).await.unwrap();
    notices::run(&a.db, &settings, later).await.unwrap();
    assert_eq!(subjects(&smtp, "ending@example.com", 2).await.len(), 2);
    let failing_mails = subjects(&smtp, "failing@example.com", 2).await;
    assert_eq!(failing_mails.len(), 2, "{failing_mails:?}");
    assert_eq!(failing_mails[1], "Access to Widget Pro stopped: payment overdue");

    // The one-click unsubscribe (RFC 8058) from the mail's header: no session needed.
    let raw_token = mail.text.split("/unsubscribe?token=").nth(1).unwrap().chars().take_while(char::is_ascii_alphanumeric).collect::<String>();
    let res = a
        .client
        .post(a.url(&format!("/unsubscribe?token={raw_token}")))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = a.client.post(a.url("/unsubscribe?token=nope")).body("List-Unsubscribe=One-Click").send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a malformed token is refused before any look-up");
    // An extension starts the count again, but the customer opted out now.
    set_times(&a, ending, Some(later + Duration::days(6)), None).await;
    notices::run(&a.db, &settings, later).await.unwrap();
    assert_eq!(subjects(&smtp, "ending@example.com", 2).await.len(), 2, "opted out by the one-click link");

    let audit = a.audit().await;
    let sent = audit.iter().filter(|e| e.0 == "notice.sent").count();
    let skipped = audit.iter().filter(|e| e.0 == "notice.skipped").count();
    assert_eq!((sent, skipped), (4, 3), "each notice audited once: 4 mailed, 3 recorded for opted-out customers");
    assert_eq!(audit.iter().filter(|e| e.0 == "notice.digest").count(), 2, "one digest per day: today's and the day of `later`");
    assert!(audit.iter().any(|e| e.0 == "account.notices_off"));
}
