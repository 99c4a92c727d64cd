//! Mail and account recovery against a real SMTP server on loopback
//! (`support::mail`: aiosmtpd, read from its Maildir): "Forgot password"
//! sends a single-use link that sets the password and ends every session;
//! the answer is the same for addresses without an account, and limited
//! for both; customers made by an admin are invited; a mail the SMTP server
//! could not take waits, and an admin can send it again.

use crate::support::api::key;
use crate::support::mail::SmtpServer;
use crate::support::registry::free_port;
use crate::support::{client, json, Backend, Options, TestApp, PASSWORD};
use app::backend::services::audit::Actor;
use app::backend::services::mail::outbox;
use app::backend::web::RequestMeta;
use app::domain::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};

on_both_backends!(
    a_reset_link_sets_the_password_once_and_ends_every_session,
    unknown_addresses_get_the_same_answer_and_the_same_limits,
    customers_made_by_an_admin_are_invited_to_set_a_password,
    a_mail_the_server_cannot_take_waits_and_can_be_sent_again,
    demo_mode_without_smtp_delivers_to_the_local_mailbox_and_nothing_leaves_otherwise,
    a_sign_up_is_confirmed_by_its_link_then_address_and_password_change_with_notices,
);

async fn app_with_smtp(backend: Backend, port: u16) -> TestApp {
    let mut opts = Options::default();
    opts.mail.smtp = Some(SmtpServer::settings(port));
    TestApp::spawn_with(backend, opts).await
}

const NEW_PASSWORD: &str = "a brand new passphrase 42";

async fn a_reset_link_sets_the_password_once_and_ends_every_session(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, smtp.port).await;
    let email = "forgetful@example.com";
    let user_id = app.create_user(email, PASSWORD, Role::Customer).await;
    // A session from before the reset.
    let old = client();
    assert!(app.call(&old, "login", &[("email", email), ("password", PASSWORD)]).await.status().is_success());

    let res = app.call(&client(), "forgot_password", &[("email", "Forgetful@Example.com")]).await;
    assert_eq!(res.status(), StatusCode::OK);
    let mail = smtp.wait_for(email, 1).await.remove(0);
    assert_eq!(mail.subject, "Choose a new password");
    assert!(mail.message_id.starts_with("<mail-"), "{mail:?}");
    assert!(mail.html.contains("/reset-password?token="), "an HTML part with the link: {mail:?}");
    let token = mail.link_token();
    assert_eq!(token.len(), 43);
    // The outbox and the link table keep no token.
    let stored: Vec<String> = sqlx_strings(&app, "SELECT token_hash FROM account_links").await;
    assert!(stored.len() == 1 && !stored[0].contains(&token), "only a hash is stored");

    // The page the link opens names the account.
    let page = app.get(&client(), &format!("/reset-password?token={token}")).await.text().await.unwrap();
    assert!(page.contains(email) && page.contains("Choose a new password"), "{page}");

    // Too short a password is refused and leaves the link usable.
    let res = app.call(&client(), "reset_password", &[("token", &token), ("password", "short")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let fresh = client();
    let res = app.call(&fresh, "reset_password", &[("token", &token), ("password", NEW_PASSWORD)]).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());

    // Single use: the same link again is refused, and its page says so.
    let res = app.call(&client(), "reset_password", &[("token", &token), ("password", "yet another passphrase 7")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("expired or was already used"));
    let page = app.get(&client(), &format!("/reset-password?token={token}")).await.text().await.unwrap();
    assert!(page.contains("link-gone"), "{page}");

    // The session from before is over; the old password no longer works; the new one does.
    let me = app.call(&old, "current_user", &[]).await.text().await.unwrap();
    assert_eq!(me.trim(), "null", "the old session ended: {me}");
    let res = app.call(&client(), "login", &[("email", email), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app.call(&client(), "login", &[("email", email), ("password", NEW_PASSWORD)]).await;
    assert!(res.status().is_success(), "{}", res.status());

    let audit = app.audit().await;
    assert!(audit.iter().any(|(a, o, ..)| a == "account.reset_request" && o == "success"));
    let reset = audit.iter().find(|(a, ..)| a == "account.password_reset").expect("the reset is audited");
    assert_eq!(reset.1, "success");
    assert!(!format!("{audit:?}").contains(&token), "the token is never in the audit log");
    let _ = user_id;
}

async fn sqlx_strings(app: &TestApp, sql: &str) -> Vec<String> {
    match &app.db {
        app::backend::db::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
        app::backend::db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_all(p).await.unwrap(),
    }
}

async fn unknown_addresses_get_the_same_answer_and_the_same_limits(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let mut opts = Options::default();
    opts.mail.smtp = Some(SmtpServer::settings(smtp.port));
    opts.mail.limits.per_address_per_hour = std::num::NonZeroU32::new(2).unwrap();
    let app = TestApp::spawn_with(backend, opts).await;
    app.create_user("known@example.com", PASSWORD, Role::Customer).await;

    let ask = |email: &'static str| {
        let app = &app;
        async move {
            let res = app.call(&client(), "forgot_password", &[("email", email)]).await;
            let status = res.status();
            let retry = res.headers().get("retry-after").is_some();
            (status, retry, res.text().await.unwrap())
        }
    };
    let known = ask("known@example.com").await;
    let unknown = ask("nobody@example.com").await;
    assert_eq!(known, unknown, "the same status and body with or without an account");
    assert_eq!(known.0, StatusCode::OK);
    // Each address has its own limit of 2 an hour, account or not.
    assert_eq!(ask("known@example.com").await.0, StatusCode::OK);
    assert_eq!(ask("nobody@example.com").await.0, StatusCode::OK);
    let (k, u) = (ask("known@example.com").await, ask("nobody@example.com").await);
    // The same answer, except that each window's seconds-to-go are counted from
    // its own first request: the two may straddle a second boundary.
    let retry_secs = |body: &str| -> i64 {
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
        v["RateLimited"]["retry_after_secs"].as_i64().unwrap_or_else(|| panic!("{body}"))
    };
    assert_eq!((k.0, k.1), (u.0, u.1));
    assert!((retry_secs(&k.2) - retry_secs(&u.2)).abs() <= 1, "{k:?} {u:?}");
    assert_eq!(k.0, StatusCode::TOO_MANY_REQUESTS);
    assert!(k.1, "a 429 says when to come back");
    // A malformed address is a 422 on its field, before any limit or look-up.
    let res = app.call(&client(), "forgot_password", &[("email", "not an address")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Two mails to the account; none to the address without one.
    smtp.wait_for("known@example.com", 2).await;
    tokio::time::sleep(Duration::from_millis(2500)).await; // another delivery run
    assert!(smtp.messages().iter().all(|m| !m.to.contains("nobody@example.com")));
    assert_eq!(smtp.messages().len(), 2);
    app.flush_attempts().await;
    let audit = app.audit().await;
    assert!(audit.iter().any(|(a, o, _, _, d)| a == "account.reset_request" && o == "failure" && d.to_string().contains("unknown_account")));
    assert!(audit.iter().any(|(a, o, _, _, d)| a == "account.reset_request" && o == "denied" && d.to_string().contains("rate_limited")));
}

async fn customers_made_by_an_admin_are_invited_to_set_a_password(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, smtp.port).await;
    let admin = key(&app, "crm", Role::Admin).await;
    let res = app
        .client
        .post(app.url("/api/v1/customers"))
        .bearer_auth(&admin)
        .json(&json!({ "email": "new.buyer@example.com", "name": "New Buyer Ltd" }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let mail = smtp.wait_for("new.buyer@example.com", 1).await.remove(0);
    assert!(mail.subject.contains("set your password"), "{mail:?}");
    let token = mail.link_token();
    let page = app.get(&client(), &format!("/reset-password?token={token}")).await.text().await.unwrap();
    assert!(page.contains("Welcome: set your password"), "{page}");
    let res = app.call(&client(), "reset_password", &[("token", &token), ("password", NEW_PASSWORD)]).await;
    assert!(res.status().is_success() || res.status().is_redirection(), "{}", res.status());
    let c = client();
    let res = app.call(&c, "login", &[("email", "new.buyer@example.com"), ("password", NEW_PASSWORD)]).await;
    assert!(res.status().is_success(), "the invited customer logs in: {}", res.status());
    let audit = app.audit().await;
    let created = audit.iter().find(|(a, ..)| a == "customer.create").expect("customer.create");
    assert!(created.4["invitation_mail_id"].is_i64(), "{:?}", created.4);
    assert!(audit.iter().any(|(a, ..)| a == "account.invitation_accepted"));
}

async fn a_mail_the_server_cannot_take_waits_and_can_be_sent_again(backend: Backend) {
    // The portal is told about a port where nothing listens yet.
    let port = free_port();
    let app = app_with_smtp(backend, port).await;
    app.create_user("patient@example.com", PASSWORD, Role::Customer).await;
    assert_eq!(app.call(&client(), "forgot_password", &[("email", "patient@example.com")]).await.status(), StatusCode::OK);

    // The first attempt fails; the mail stays, waiting for its retry.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (id, status, attempts, error) = loop {
        let rows = app::backend::db::mail::recent(&app.db, None, 10).await.unwrap();
        let m = rows.first().expect("the mail is in the outbox").clone();
        if m.attempts >= 1 {
            break (m.id, m.status, m.attempts, m.last_error);
        }
        assert!(Instant::now() < deadline, "no delivery attempt within 20 s");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(status, app::domain::mail::MailStatus::Pending);
    assert_eq!(attempts, 1);
    assert!(error.is_some_and(|e| !e.is_empty()), "the failure is recorded");

    // The server comes up; the retry is 30 s away, an admin sends it now.
    let smtp = SmtpServer::start_on(port).await;
    outbox::resend(&app.db, id, Actor::System, &RequestMeta::default()).await.unwrap();
    let mail = smtp.wait_for("patient@example.com", 1).await.remove(0);
    assert_eq!(mail.link_token().len(), 43);
    // The row is marked sent once the server's answer is in (just after it got the mail).
    let deadline = Instant::now() + Duration::from_secs(10);
    while app::backend::db::mail::recent(&app.db, None, 10).await.unwrap()[0].status != app::domain::mail::MailStatus::Sent {
        assert!(Instant::now() < deadline, "the mail is not marked sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(app.audit().await.iter().any(|(a, ..)| a == "mail.resend"));
    // An unknown mail is a 404-style error, not a panic.
    assert!(outbox::resend(&app.db, id + 1000, Actor::System, &RequestMeta::default()).await.is_err());
}

async fn demo_mode_without_smtp_delivers_to_the_local_mailbox_and_nothing_leaves_otherwise(backend: Backend) {
    use app::backend::services::mail::Mail;
    let app = TestApp::spawn(backend).await;
    let limits = Default::default();
    // The test portal has no SMTP and is not in demo mode: mails wait.
    app.create_user("waiting@example.com", PASSWORD, Role::Customer).await;
    assert_eq!(app.call(&client(), "forgot_password", &[("email", "waiting@example.com")]).await.status(), StatusCode::OK);
    let off = Mail::new(app.db.clone(), None, false, &app.base, limits).unwrap();
    assert!(!off.delivers());
    assert_eq!(outbox::deliver_due(&app.db, &off, chrono::Utc::now()).await.unwrap(), "no transport: mails wait");
    let rows = app::backend::db::mail::recent(&app.db, None, 10).await.unwrap();
    assert_eq!((rows[0].status, rows[0].attempts), (app::domain::mail::MailStatus::Pending, 0));
    assert!(outbox::local_mailbox(&app.db, &off).await.is_err(), "no local mailbox outside demo mode");
    let page = app.get(&client(), "/demo/mailbox").await.text().await.unwrap();
    assert!(page.contains("mailbox-off"), "{page}");

    // Demo mode without SMTP: delivered to the local mailbox, link included.
    let demo = Mail::new(app.db.clone(), None, true, &app.base, limits).unwrap();
    assert!(demo.describe().contains("/demo/mailbox"));
    assert_eq!(outbox::deliver_due(&app.db, &demo, chrono::Utc::now()).await.unwrap(), "1 sent, 0 to retry, 0 failed");
    let local = outbox::local_mailbox(&app.db, &demo).await.unwrap();
    assert_eq!(local.len(), 1);
    assert_eq!(local[0].to_address, "waiting@example.com");
    let at = local[0].text.find("/reset-password?token=").expect("the link is in the local copy");
    let token: String = local[0].text[at + 22..].chars().take_while(char::is_ascii_alphanumeric).collect();
    let res = app.call(&client(), "mail_link", &[("token", &token)]).await;
    assert_eq!(res.status(), StatusCode::OK, "the local copy's link works");
}

/// The link of the newest mail to `to` whose subject contains `subject`.
async fn token_of(smtp: &SmtpServer, to: &str, subject: &str, path: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(m) = smtp.messages().into_iter().rev().find(|m| m.to.contains(to) && m.subject.contains(subject)) {
            let at = m.text.find(&format!("{path}?token=")).unwrap_or_else(|| panic!("no {path} link: {}", m.text));
            return m.text[at + path.len() + 7..].chars().take_while(char::is_ascii_alphanumeric).collect();
        }
        assert!(Instant::now() < deadline, "no mail \"{subject}\" to {to}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn a_sign_up_is_confirmed_by_its_link_then_address_and_password_change_with_notices(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let app = app_with_smtp(backend, smtp.port).await;
    let me = client();
    assert_eq!(app.call(&me, "signup", &[("email", "first@example.com"), ("password", PASSWORD)]).await.status(), StatusCode::OK);
    assert!(app.call(&me, "login", &[("email", "first@example.com"), ("password", PASSWORD)]).await.status().is_success());
    let token = token_of(&smtp, "first@example.com", "Confirm your e-mail address", "/confirm-email").await;

    // A confirmation link sets no password, and a visit confirms nothing.
    let res = app.call(&client(), "reset_password", &[("token", &token), ("password", NEW_PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = app.get(&client(), &format!("/confirm-email?token={token}")).await.text().await.unwrap();
    assert!(page.contains("first@example.com") && page.contains("Confirm my address"), "{page}");
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["email_verified"], false);
    // The button confirms; the link is then used up.
    assert!(app.call(&client(), "confirm_email", &[("token", &token)]).await.status().is_success());
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["email_verified"], true);
    assert_eq!(app.call(&client(), "confirm_email", &[("token", &token)]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.call(&me, "my/create_credential", &[("name", "laptop")]).await.status().is_success(), "confirmed: credentials allowed");

    // A second session, to see which changes end it.
    let other = client();
    assert!(app.call(&other, "login", &[("email", "first@example.com"), ("password", PASSWORD)]).await.status().is_success());

    // The address: the current password first, then a link to the new address.
    let res = app.call(&me, "me/change_email", &[("new_email", "second@example.com"), ("current_password", "not it at all")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(res).await["Invalid"]["field"], "current_password");
    assert!(app.call(&me, "me/change_email", &[("new_email", "second@example.com"), ("current_password", PASSWORD)]).await.status().is_success());
    let token = token_of(&smtp, "second@example.com", "Confirm your new e-mail address", "/confirm-email").await;
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["email"], "first@example.com", "not before the link is followed");
    assert!(app.call(&me, "confirm_email", &[("token", &token)]).await.status().is_success());
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["email"], "second@example.com");
    smtp.wait_for("first@example.com", 2).await; // the confirmation, then the notice to the old address
    assert!(smtp.messages().iter().any(|m| m.to.contains("first@example.com") && m.subject.contains("address was changed") && m.text.contains("second@example.com")));

    // The password: this session stays, the other ends, the owner is told.
    let res = app.call(&me, "me/change_password", &[("current_password", PASSWORD), ("new_password", NEW_PASSWORD)]).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["email"], "second@example.com", "this session stays");
    assert_eq!(json(app.call(&other, "current_user", &[]).await).await, serde_json::Value::Null, "the other ended");
    smtp.wait_for("second@example.com", 2).await;
    assert!(smtp.messages().iter().any(|m| m.to.contains("second@example.com") && m.subject == "Your password was changed"));

    // Log out everywhere: again only the others end.
    let third = client();
    assert!(app.call(&third, "login", &[("email", "second@example.com"), ("password", NEW_PASSWORD)]).await.status().is_success());
    assert!(app.call(&me, "me/logout_everywhere", &[]).await.status().is_success());
    assert_eq!(json(app.call(&third, "current_user", &[]).await).await, serde_json::Value::Null);
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["email"], "second@example.com");

    // Notices off and on again from the settings.
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["notices"], true);
    assert!(app.call(&me, "me/notices", &[("on", "false")]).await.status().is_success());
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["notices"], false);
    assert!(app.call(&me, "me/notices", &[("on", "true")]).await.status().is_success());
    assert_eq!(json(app.call(&me, "current_user", &[]).await).await["notices"], true);

    let actions: Vec<String> = app.audit().await.into_iter().map(|e| e.0).collect();
    for a in ["account.notices_off", "account.notices_on", "account.email_verified", "account.email_change_request", "account.email_change", "account.password_change", "auth.logout_everywhere"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}
