//! The HTTP surface: security headers, cross-site refusal, the 404/403/500
//! pages, health, and the database's refusal to edit audit rows.

use app::domain::Role;
use crate::support::{client, json, Backend, TestApp, PASSWORD};
use reqwest::StatusCode;

on_both_backends!(
    pages_carry_security_headers_and_a_script_nonce,
    cross_site_writes_are_refused,
    unknown_pages_are_404_and_forbidden_pages_403,
    internal_errors_show_a_request_id_and_no_internals,
    audit_rows_cannot_be_changed_or_deleted,
    health_reports_the_database,
);

async fn pages_carry_security_headers_and_a_script_nonce(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get(&client(), "/login").await;
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers().clone();
    let csp = h["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(csp.contains("object-src 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert!(h.contains_key("x-request-id"));
    let nonce = csp.split("'nonce-").nth(1).and_then(|s| s.split('\'').next()).expect("a nonce in the policy");
    let html = res.text().await.unwrap();
    assert!(html.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry the policy's nonce");
    // A second response gets a different nonce.
    let again = app.get(&client(), "/login").await;
    assert_ne!(again.headers()["content-security-policy"].to_str().unwrap(), csp);
    // Non-HTML responses get a deny-all policy.
    let health = app.get(&client(), "/healthz").await;
    assert!(health.headers()["content-security-policy"].to_str().unwrap().starts_with("default-src 'none'"));
}

async fn cross_site_writes_are_refused(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.create_user("victim@example.com", PASSWORD, Role::Customer).await;
    let form = [("email", "victim@example.com"), ("password", PASSWORD)];
    let evil = client().post(app.url("/fn/login")).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    assert_eq!(evil.status(), StatusCode::FORBIDDEN);
    let cross = client().post(app.url("/fn/login")).header("sec-fetch-site", "cross-site").form(&form).send().await.unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);
    let same = client().post(app.url("/fn/login")).header("origin", &app.base).form(&form).send().await.unwrap();
    assert!(same.status().is_success());
}

async fn unknown_pages_are_404_and_forbidden_pages_403(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get(&client(), "/no/such/page").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(res.text().await.unwrap().contains("Page not found"));

    // Anonymous: sent to the login page.
    let res = app.get(&client(), "/admin").await;
    assert!(res.status().is_redirection(), "{}", res.status());
    assert_eq!(res.headers()["location"], "/login?next=%2Fadmin", "the log-in brings the visitor back");

    // A customer asking for an admin page: 403, rendered by the server.
    let (customer, _) = app.logged_in(Role::Customer).await;
    for path in ["/admin", "/admin/users", "/audit"] {
        let res = app.get(&customer, path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let html = res.text().await.unwrap();
        assert!(html.contains("Access denied"), "{path}");
        assert!(!html.contains("users-table") && !html.contains("audit-table"), "{path} leaks nothing");
    }
    let (admin, _) = app.logged_in(Role::Admin).await;
    let res = app.get(&admin, "/admin/users").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("users-table"));
}

async fn internal_errors_show_a_request_id_and_no_internals(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (customer, _) = app.logged_in(Role::Customer).await;
    // Break the database under the running app.
    app.exec("ALTER TABLE users RENAME TO users_gone").await.unwrap();

    let res = app.call(&customer, "current_user", &[]).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let body = json(res).await;
    assert_eq!(body["Internal"]["request_id"], request_id.as_str(), "the id the user sees is the request's");
    assert!(!body.to_string().to_lowercase().contains("users"), "no SQL in the answer: {body}");

    let res = app.get(&customer, "/account").await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let request_id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    let html = res.text().await.unwrap();
    assert!(html.contains("Something went wrong"));
    assert!(html.contains(&request_id), "the 500 page shows the request id");
    assert!(!html.contains("no such table") && !html.contains("does not exist"), "no internals on the page");
}

async fn audit_rows_cannot_be_changed_or_deleted(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.logged_in(Role::Customer).await;
    assert!(!app.audit().await.is_empty());
    let update = app.exec("UPDATE audit_events SET outcome = 'success'").await;
    assert!(update.unwrap_err().to_string().contains("append-only"));
    let delete = app.exec("DELETE FROM audit_events").await;
    assert!(delete.unwrap_err().to_string().contains("append-only"));
    if backend == Backend::Postgres {
        let truncate = app.exec("TRUNCATE audit_events").await;
        assert!(truncate.unwrap_err().to_string().contains("append-only"));
    }
}

async fn health_reports_the_database(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let res = app.get(&client(), "/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    app.db.close().await;
    let res = app.get(&client(), "/healthz").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
}
