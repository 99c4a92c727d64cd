//! Accounts end to end over HTTP: sign-up, login, logout, roles, rate
//! limits, and the audit events each one leaves. Every test runs on SQLite
//! and on PostgreSQL.

use app::domain::Role;
use crate::support::{client, json, Backend, Options, TestApp, PASSWORD};
use reqwest::StatusCode;

on_both_backends!(
    signup_answers_the_same_for_new_and_taken_addresses_and_logs_nobody_in,
    signup_refuses_bad_input_naming_the_field,
    login_checks_the_password_and_audits_both_outcomes,
    the_session_cookie_is_hardened_and_cycled_at_login,
    logout_ends_the_session,
    server_functions_refuse_the_wrong_role,
    admins_create_accounts_that_can_log_in,
    logins_are_rate_limited_per_account,
    secure_cookie_when_the_base_url_is_https,
    admins_manage_accounts_and_the_last_admin_stays_one,
    sessions_are_listed_and_ended_one_by_one,
);

async fn signup_answers_the_same_for_new_and_taken_addresses_and_logs_nobody_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = client();
    let res = app.call(&c, "signup", &[("email", "New.Customer@Example.com"), ("password", PASSWORD)]).await;
    let new = (res.status(), res.text().await.unwrap());
    assert_eq!(new.0, StatusCode::OK);
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await, serde_json::Value::Null, "nobody is logged in");
    // The same address again (another case): the same answer, byte for byte.
    let res = app.call(&client(), "signup", &[("email", "NEW.customer@example.com"), ("password", "another good passphrase")]).await;
    assert_eq!((res.status(), res.text().await.unwrap()), new, "a taken address answers as a new one");

    // The new address got a confirmation link, the owner of the taken one a notice.
    let mails = app::backend::db::mail::recent(&app.db, None, 10).await.unwrap();
    let kinds: Vec<_> = mails.iter().rev().map(|m| (m.kind, m.to_address.as_str())).collect();
    use app::domain::mail::MailKind;
    assert_eq!(kinds, vec![(MailKind::VerifyEmail, "new.customer@example.com"), (MailKind::SignupTaken, "new.customer@example.com")]);

    let audit = app.audit().await;
    let signup = audit.iter().find(|e| e.0 == "auth.signup" && e.1 == "success").expect("signup audited");
    assert_eq!(signup.2, "new.customer@example.com");
    assert_eq!(signup.3.as_deref(), Some("127.0.0.1"), "client IP recorded");
    let taken = audit.iter().find(|e| e.0 == "auth.signup" && e.1 == "failure").expect("the second sign-up audited");
    assert_eq!(taken.4["reason"], "email_taken");

    // The unconfirmed account logs in with its password and browses, but
    // may not make a credential until its address is confirmed.
    let c = client();
    let res = app.call(&c, "login", &[("email", "new.customer@example.com"), ("password", PASSWORD)]).await;
    assert!(res.status().is_success(), "{}", res.status());
    let me = json(app.call(&c, "current_user", &[]).await).await;
    assert_eq!((me["email"].as_str(), me["email_verified"].as_bool()), (Some("new.customer@example.com"), Some(false)));
    let res = app.call(&c, "my/create_credential", &[("name", "laptop")]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("Unconfirmed"));
}

async fn signup_refuses_bad_input_naming_the_field(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let c = client();
    let cases: &[(&str, &str, StatusCode, &str)] = &[
        ("not-an-email", PASSWORD, StatusCode::UNPROCESSABLE_ENTITY, "email"),
        ("<script>alert(1)</script>@x.com", PASSWORD, StatusCode::UNPROCESSABLE_ENTITY, "email"),
        ("ok@example.com", "short", StatusCode::UNPROCESSABLE_ENTITY, "password"),
        ("ok@example.com", &"x".repeat(500), StatusCode::UNPROCESSABLE_ENTITY, "password"),
    ];
    for (email, password, status, field) in cases {
        let res = app.call(&c, "signup", &[("email", email), ("password", password)]).await;
        assert_eq!(res.status(), *status, "{email}");
        let body = json(res).await;
        assert_eq!(body["Invalid"]["field"], *field, "{email}: {body}");
    }
    // A missing argument is a 400, not a crash.
    let res = app.call(&c, "signup", &[("email", "ok@example.com")]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // Nothing was written for any of them.
    let audit = app.audit().await;
    assert_eq!(audit.iter().filter(|e| e.0 == "auth.signup").count(), 0);
}

async fn login_checks_the_password_and_audits_both_outcomes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("ada@example.com", PASSWORD, Role::Customer).await;
    let c = client();

    let wrong = app.call(&c, "login", &[("email", "ada@example.com"), ("password", "wrong password!")]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong_body = json(wrong).await;
    let unknown = app.call(&c, "login", &[("email", "nobody@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(unknown).await, wrong_body, "unknown account and wrong password look the same");
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await, serde_json::Value::Null);

    let ok = app.call(&c, "login", &[("email", "ADA@example.com"), ("password", PASSWORD)]).await;
    assert!(ok.status().is_success(), "{}", ok.status());
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await["email"], "ada@example.com");

    // The success has its own row at once; the failures authenticated
    // nobody and are counted per network and minute (written here now).
    let audit = app.audit().await;
    let logins: Vec<_> = audit.iter().filter(|e| e.0 == "auth.login").collect();
    assert_eq!(logins.len(), 1);
    assert_eq!((logins[0].1.as_str(), logins[0].2.as_str()), ("success", "ada@example.com"));
    app.flush_attempts().await;
    let audit = app.audit().await;
    let failed: Vec<_> = audit.iter().filter(|e| e.0 == "auth.login" && e.1 == "failure").collect();
    assert_eq!(failed.len(), 2, "{failed:?}");
    for (reason, email) in [("wrong_password", "ada@example.com"), ("unknown_account", "nobody@example.com")] {
        let row = failed.iter().find(|e| e.4["reason"] == reason).unwrap_or_else(|| panic!("{reason}: {failed:?}"));
        assert_eq!((row.4["count"].as_u64(), row.4["aggregated"].as_bool()), (Some(1), Some(true)));
        assert_eq!(row.4["sample"]["email"], email);
        assert_eq!(row.3.as_deref(), Some("127.0.0.1"), "the row names the client network");
    }
}

async fn the_session_cookie_is_hardened_and_cycled_at_login(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("grace@example.com", PASSWORD, Role::Customer).await;
    let c = client();
    // Two logins in a row from one browser: the second must not reuse the id.
    let first = app.call(&c, "login", &[("email", "grace@example.com"), ("password", PASSWORD)]).await;
    let cookie1 = set_cookie(&first).expect("session cookie set at login");
    assert!(cookie1.starts_with("portcullis_session="), "{cookie1}");
    assert!(cookie1.contains("HttpOnly"), "{cookie1}");
    assert!(cookie1.contains("SameSite=Lax"), "{cookie1}");
    assert!(!cookie1.contains("Secure"), "plain http base URL: {cookie1}");
    let second = app.call(&c, "login", &[("email", "grace@example.com"), ("password", PASSWORD)]).await;
    let cookie2 = set_cookie(&second).expect("a new cookie at the second login");
    assert_ne!(value(&cookie1), value(&cookie2), "login cycles the session id");
}

fn set_cookie(res: &reqwest::Response) -> Option<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("portcullis_session="))
        .map(str::to_owned)
}

fn value(cookie: &str) -> &str {
    cookie.split(';').next().unwrap_or_default()
}

async fn logout_ends_the_session(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (c, email) = app.logged_in(Role::Customer).await;
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await["email"], email.as_str());
    let res = app.call(&c, "logout", &[]).await;
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(json(app.call(&c, "current_user", &[]).await).await, serde_json::Value::Null);
    assert!(app.audit().await.iter().any(|e| e.0 == "auth.logout" && e.2 == email));
}

async fn server_functions_refuse_the_wrong_role(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let anonymous = client();
    let res = app.call(&anonymous, "admin/list_users", &[]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);

    for role in [Role::Customer, Role::Auditor] {
        let (c, email) = app.logged_in(role).await;
        let res = app.call(&c, "admin/list_users", &[]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role}");
        assert_eq!(json(res).await, "Forbidden");
        let res = app
            .call(&c, "admin/create_user", &[("email", "x@example.com"), ("password", PASSWORD), ("role", "admin")])
            .await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{role} must not create accounts");
        let denied = app.audit().await.into_iter().filter(|e| e.0 == "authz.denied" && e.2 == email).count();
        assert_eq!(denied, 2, "{role}: each refusal audited");
    }
    // No account was created by the refused calls.
    let c = app.logged_in(Role::Admin).await.0;
    let page = json(app.call(&c, "admin/list_users", &[("search", "x@example.com")]).await).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 0);

    // Customers do not read the audit log; auditors do.
    let (customer, _) = app.logged_in(Role::Customer).await;
    assert_eq!(app.call(&customer, "audit/recent", &[]).await.status(), StatusCode::FORBIDDEN);
    let (auditor, _) = app.logged_in(Role::Auditor).await;
    assert_eq!(app.call(&auditor, "audit/recent", &[]).await.status(), StatusCode::OK);
}

async fn admins_create_accounts_that_can_log_in(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, admin_email) = app.logged_in(Role::Admin).await;
    let res = app
        .call(&admin, "admin/create_user", &[("email", "auditor@example.com"), ("password", PASSWORD), ("role", "auditor")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let bad_role = app
        .call(&admin, "admin/create_user", &[("email", "root@example.com"), ("password", PASSWORD), ("role", "root")])
        .await;
    assert_eq!(bad_role.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(json(bad_role).await["Invalid"]["field"], "role");

    let c = client();
    let res = app.call(&c, "login", &[("email", "auditor@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(json(res).await["role"], "auditor");

    let page = json(app.call(&admin, "admin/list_users", &[("search", "auditor@")]).await).await;
    assert_eq!(page["users"][0]["email"], "auditor@example.com");
    // LIKE wildcards in a search are literal characters.
    let page = json(app.call(&admin, "admin/list_users", &[("search", "%")]).await).await;
    assert_eq!(page["users"].as_array().unwrap().len(), 0);
    let too_long = app.call(&admin, "admin/list_users", &[("search", &"a".repeat(101))]).await;
    assert_eq!(too_long.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let created = app.audit().await.into_iter().find(|e| e.0 == "user.create" && e.4["role"] == "auditor").unwrap();
    assert_eq!(created.2, admin_email, "the admin is the actor");
}

async fn logins_are_rate_limited_per_account(backend: Backend) {
    let app = TestApp::spawn_with(backend, Options { per_account_per_minute: 3, ..Options::default() }).await;
    app.create_user("target@example.com", PASSWORD, Role::Customer).await;
    for _ in 0..3 {
        let res = app.call(&client(), "login", &[("email", "target@example.com"), ("password", "wrong guess!!")]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    // Even the right password is refused until the bucket refills.
    let res = app.call(&client(), "login", &[("email", "target@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = res.headers()[reqwest::header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    let body = json(res).await;
    assert!(body["RateLimited"]["retry_after_secs"].as_u64().unwrap() >= 1, "{body}");
    assert_eq!(body["RateLimited"]["retry_after_secs"].as_u64(), Some(retry_after), "Retry-After says the same");
    // Another account from the same address is unaffected.
    app.create_user("other@example.com", PASSWORD, Role::Customer).await;
    let res = app.call(&client(), "login", &[("email", "other@example.com"), ("password", PASSWORD)]).await;
    assert!(res.status().is_success());
    app.flush_attempts().await;
    let audit = app.audit().await;
    assert!(audit.iter().any(|e| e.0 == "auth.login" && e.1 == "denied" && e.4["reason"] == "rate_limited"));
}

async fn secure_cookie_when_the_base_url_is_https(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options { base_url: Some("https://portal.example.com".into()), ..Options::default() },
    )
    .await;
    app.create_user("sec@example.com", PASSWORD, Role::Customer).await;
    let res = client()
        .post(app.url("/fn/login"))
        .header("origin", "https://portal.example.com")
        .form(&[("email", "sec@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert!(set_cookie(&res).unwrap().contains("Secure"));
}

async fn admins_manage_accounts_and_the_last_admin_stays_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, admin_email) = app.logged_in(Role::Admin).await;
    let admin_id = json(app.call(&admin, "current_user", &[]).await).await["id"].as_i64().unwrap();
    let (customer, _) = app.logged_in(Role::Customer).await;
    let customer_id = json(app.call(&customer, "current_user", &[]).await).await["id"].as_i64().unwrap();
    let change = |id: i64, action: &'static str, role: Option<&'static str>| {
        let (app, admin) = (&app, &admin);
        async move {
            let id = id.to_string();
            let mut form = vec![("id", id.as_str()), ("action", action)];
            if let Some(r) = role {
                form.push(("role", r));
            }
            app.call(admin, "admin/change_user", &form).await.status()
        }
    };
    let me = |c: &reqwest::Client| {
        let (app, c) = (&app, c.clone());
        async move { json(app.call(&c, "current_user", &[]).await).await }
    };

    // Disabled: the session ends at once and log-in fails; enabled again: it works.
    assert!(change(customer_id, "disable", None).await.is_success());
    assert_eq!(me(&customer).await, serde_json::Value::Null);
    assert!(change(customer_id, "enable", None).await.is_success());
    let c = client();
    let row = app::backend::db::users::find_by_id(&app.db, customer_id).await.unwrap().unwrap();
    assert!(app.call(&c, "login", &[("email", &row.email), ("password", PASSWORD)]).await.status().is_success());
    // Another role, effective on the next request.
    assert!(change(customer_id, "role", Some("auditor")).await.is_success());
    assert_eq!(me(&c).await["role"], "auditor");
    // A reset link by mail; ending the sessions.
    assert!(change(customer_id, "send_reset", None).await.is_success());
    let mails = app::backend::db::mail::recent(&app.db, None, 5).await.unwrap();
    assert_eq!((mails[0].kind, mails[0].user_id), (app::domain::mail::MailKind::PasswordReset, customer_id));
    assert!(change(customer_id, "end_sessions", None).await.is_success());
    assert_eq!(me(&c).await, serde_json::Value::Null);
    // Bad input names its field; an unknown account is 404.
    assert_eq!(change(customer_id, "explode", None).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change(customer_id, "role", Some("root")).await, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(change(customer_id + 1000, "disable", None).await, StatusCode::NOT_FOUND);

    // The only admin can be neither disabled nor demoted…
    assert_eq!(change(admin_id, "disable", None).await, StatusCode::CONFLICT);
    assert_eq!(change(admin_id, "role", Some("customer")).await, StatusCode::CONFLICT);
    assert_eq!(me(&admin).await["email"], admin_email.as_str());
    // …until there is another.
    assert!(change(customer_id, "role", Some("admin")).await.is_success());
    assert!(change(admin_id, "role", Some("auditor")).await.is_success());
    assert_eq!(me(&admin).await["role"], "auditor");

    let actions: Vec<String> = app.audit().await.into_iter().map(|e| e.0).collect();
    for a in ["user.disable", "user.enable", "user.role_change", "user.reset_sent", "user.sessions_ended"] {
        assert!(actions.iter().any(|x| x == a), "{a} audited: {actions:?}");
    }
}

async fn sessions_are_listed_and_ended_one_by_one(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (admin, _) = app.logged_in(Role::Admin).await;
    let (laptop, email) = app.logged_in(Role::Customer).await;
    let phone = client();
    let res = phone
        .post(app.url("/fn/login"))
        .header("origin", &app.base)
        .header("user-agent", "PhoneBrowser/1.0")
        .form(&[("email", email.as_str()), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    let id = json(app.call(&laptop, "current_user", &[]).await).await["id"].as_i64().unwrap().to_string();

    // The owner sees both, this one marked, and ends the phone's.
    let mine = json(app.call(&laptop, "me/sessions", &[]).await).await;
    let mine = mine.as_array().unwrap();
    assert_eq!(mine.len(), 2, "{mine:?}");
    assert_eq!(mine.iter().filter(|s| s["current"] == true).count(), 1);
    let phone_sid = mine.iter().find(|s| s["user_agent"] == "PhoneBrowser/1.0").expect("the phone's session")["id"].as_str().unwrap().to_owned();
    assert!(app.call(&laptop, "me/end_session", &[("session_id", &phone_sid)]).await.status().is_success());
    assert_eq!(json(app.call(&phone, "current_user", &[]).await).await, serde_json::Value::Null, "the phone is logged out");
    assert_eq!(json(app.call(&laptop, "current_user", &[]).await).await["email"], email.as_str(), "the laptop is not");
    assert_eq!(app.call(&laptop, "me/end_session", &[("session_id", &phone_sid)]).await.status(), StatusCode::NOT_FOUND);

    // An admin sees the account's sessions and ends the laptop's.
    let theirs = json(app.call(&admin, "admin/user_sessions", &[("id", &id)]).await).await;
    let theirs = theirs.as_array().unwrap();
    assert_eq!(theirs.len(), 1);
    let sid = theirs[0]["id"].as_str().unwrap().to_owned();
    assert!(app.call(&admin, "admin/end_user_session", &[("id", &id), ("session_id", &sid)]).await.status().is_success());
    assert_eq!(json(app.call(&laptop, "current_user", &[]).await).await, serde_json::Value::Null);
    // Nobody else's session can be ended through one's own list.
    let (other, _) = app.logged_in(Role::Customer).await;
    let admin_sid = json(app.call(&admin, "me/sessions", &[]).await).await[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(app.call(&other, "me/end_session", &[("session_id", &admin_sid)]).await.status(), StatusCode::NOT_FOUND);
    assert!(app.audit().await.iter().filter(|e| e.0 == "auth.session_ended").count() == 2);
}
