//! Two-factor sign-in over HTTP on both databases: enrolment with a QR code
//! drawn on the server, log-in with a code computed here as an
//! authenticator app would, a code accepted once only, single-use recovery
//! codes, the policy that makes staff set one up, an admin's reset.

use crate::support::{client, json, Backend, Options, TestApp, PASSWORD};
use app::domain::two_factor::TwoFactorPolicy;
use app::domain::Role;
use reqwest::{Client, StatusCode};
use totp_rs::{Builder, Secret, Totp};

on_both_backends!(
    enrolment_log_in_with_a_code_once_and_recovery_codes_once,
    staff_set_up_a_second_factor_first_and_admins_can_reset_one,
);

/// The authenticator app: the secret the enrolment showed.
fn app_for(secret: &str) -> Totp {
    Builder::new().with_secret(Secret::try_from_base32(secret).unwrap()).with_account_name("test").build().unwrap()
}

fn code_at(t: &Totp, at: i64) -> String {
    t.generate(at as u64).to_string()
}

/// Sets up two-factor sign-in for the session's account; returns its app,
/// the moment of the code it was confirmed with, and the recovery codes.
async fn enrol(app: &TestApp, c: &Client) -> (Totp, i64, Vec<String>) {
    let e = json(app.call(c, "me/two_factor_begin", &[]).await).await;
    let svg = e["qr_svg"].as_str().unwrap();
    assert!(svg.contains("<svg") && !svg.contains("style=") && !svg.contains("<script") && !svg.contains("data:"), "inline SVG the CSP allows");
    assert!(e["otpauth"].as_str().unwrap().starts_with("otpauth://totp/"));
    let t = app_for(e["secret"].as_str().unwrap());
    let res = app.call(c, "me/two_factor_confirm", &[("code", "000000")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "a wrong first code");
    let t0 = chrono::Utc::now().timestamp();
    let res = app.call(c, "me/two_factor_confirm", &[("code", &code_at(&t, t0))]).await;
    assert!(res.status().is_success(), "{}", res.status());
    let codes: Vec<String> = serde_json::from_value(json(res).await).unwrap();
    assert_eq!(codes.len(), 10);
    (t, t0, codes)
}

async fn password_step(app: &TestApp, email: &str) -> Client {
    let c = client();
    let res = app.call(&c, "login", &[("email", email), ("password", PASSWORD)]).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await, serde_json::Value::Null, "not logged in on the password alone");
    c
}

async fn enrolment_log_in_with_a_code_once_and_recovery_codes_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c, email) = app.logged_in(Role::Customer).await;
    let (t, t0, codes) = enrol(&app, &c).await;
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await["two_factor"], true);

    // The code of the enrolment's own step was used: the next step's code logs in.
    let c2 = password_step(&app, &email).await;
    let first = code_at(&t, t0);
    let res = app.call(&c2, "login_code", &[("code", &first)]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "the code used at enrolment is not accepted again");
    let next = code_at(&t, t0 + 30);
    assert!(app.call(&c2, "login_code", &[("code", &next)]).await.status().is_success());
    assert_eq!(json(app.call(&c2, "current_user", &[]).await).await["email"], email.as_str());
    // The same code again, in another log-in: refused (no replay within its window).
    let c3 = password_step(&app, &email).await;
    assert_eq!(app.call(&c3, "login_code", &[("code", &next)]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.call(&c3, "login_code", &[("code", "not a code")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // A recovery code works once, written any way.
    let recovery = codes[0].to_uppercase().replace('-', " ");
    assert!(app.call(&c3, "login_code", &[("code", &recovery)]).await.status().is_success());
    let c4 = password_step(&app, &email).await;
    assert_eq!(app.call(&c4, "login_code", &[("code", &codes[0])]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.call(&c4, "login_code", &[("code", &codes[1])]).await.status().is_success());
    // Without the password step first, a code opens nothing.
    assert_eq!(app.call(&client(), "login_code", &[("code", &codes[5])]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);

    // Off with a current code (the app's next one is used already: a
    // recovery code does as well).
    assert_eq!(app.call(&c4, "me/two_factor_disable", &[("code", "123456")]).await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(app.call(&c4, "me/two_factor_disable", &[("code", &codes[2])]).await.status().is_success());
    let c5 = client();
    assert!(app.call(&c5, "login", &[("email", &email), ("password", PASSWORD)]).await.status().is_success());
    assert_eq!(json(app.call(&c5, "current_user", &[]).await).await["email"], email.as_str(), "the password alone again");

    app.flush_attempts().await;
    let audit = app.audit().await;
    let logins: Vec<_> = audit.iter().filter(|e| e.0 == "auth.login" && e.1 == "success").map(|e| e.4["second_factor"].clone()).collect();
    assert!(logins.contains(&serde_json::json!("totp")) && logins.contains(&serde_json::json!("recovery_code")), "{logins:?}");
    for a in ["account.2fa_enabled", "account.2fa_disabled"] {
        assert!(audit.iter().any(|e| e.0 == a), "{a}");
    }
    assert!(audit.iter().any(|e| e.0 == "auth.second_factor" && e.1 == "failure"), "wrong codes are counted attempts");
    assert!(!format!("{audit:?}").contains(&codes[3]), "no recovery code in the audit log");
}

async fn staff_set_up_a_second_factor_first_and_admins_can_reset_one(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options { two_factor: TwoFactorPolicy::staff(), ..Default::default() }).await;
    let (admin, _) = app.logged_in(Role::Admin).await;
    let res = app.call(&admin, "admin/list_users", &[]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("TwoFactorRequired"));
    // The settings still work: set it up, then the admin pages open.
    enrol(&app, &admin).await;
    assert_eq!(app.call(&admin, "admin/list_users", &[]).await.status(), StatusCode::OK);
    // Customers are not required to.
    let (customer, email) = app.logged_in(Role::Customer).await;
    assert_eq!(app.call(&customer, "my/entitlements", &[]).await.status(), StatusCode::OK);
    enrol(&app, &customer).await;
    let id = json(app.call(&customer, "current_user", &[]).await).await["id"].as_i64().unwrap().to_string();
    // A lost phone: an admin turns it off; the password alone logs in again.
    assert!(app.call(&admin, "admin/change_user", &[("id", &id), ("action", "reset_2fa")]).await.status().is_success());
    let c = client();
    assert!(app.call(&c, "login", &[("email", &email), ("password", PASSWORD)]).await.status().is_success());
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await["email"], email.as_str());
    assert!(app.audit().await.iter().any(|e| e.0 == "user.2fa_reset"));
}
