//! Trials and "contact sales", on SQLite and PostgreSQL: a customer asks
//! from the product page (once: asking again is a conflict), the admin sees
//! the request and the dashboard counts it, answers with a grant; the
//! customer now owns the product until the grant's end and receives the
//! answer by mail from a real SMTP server. Answering twice is refused. And
//! the dashboard's numbers each name the customers behind them; a CRM reads
//! and answers the requests through the REST API.

use crate::support::mail::SmtpServer;
use crate::support::{self, json, Backend, Options, TestApp};
use app::backend::services::audit::Actor;
use app::backend::services::catalogue::{self, ProductInput};
use app::backend::web::RequestMeta;
use app::domain::catalogue::{PriceKind, PriceSpec, ProductStatus};
use app::domain::Role;
use chrono::{DateTime, Duration, Utc};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(
    a_trial_request_is_answered_with_a_grant_and_a_mail,
    the_dashboard_counts_and_lists_the_same_customers,
    a_crm_reads_and_answers_sales_requests_through_the_api,
);

async fn published(app: &TestApp, name: &str) -> i64 {
    published_with(app, name, &[]).await
}

async fn published_with(app: &TestApp, name: &str, prices: &[PriceSpec]) -> i64 {
    let input = ProductInput {
        name: name.into(),
        slug: Some(name.to_lowercase()),
        contact_sales: true,
        repositories: vec![format!("acme/{}", name.to_lowercase())],
        ..Default::default()
    };
    let p = catalogue::create(&app.db, &input, prices, Actor::System, &RequestMeta::default()).await.unwrap();
    catalogue::set_status(&app.db, p.id, ProductStatus::Published, Actor::System, &RequestMeta::default()).await.unwrap();
    p.id
}

async fn call(app: &TestApp, c: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    let res = app.call(c, endpoint, form).await;
    let status = res.status();
    (status, json(res).await)
}

async fn a_trial_request_is_answered_with_a_grant_and_a_mail(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let mut opts = Options::default();
    opts.mail.smtp = Some(SmtpServer::settings(smtp.port));
    let app = TestApp::spawn_with(backend, opts).await;
    let trial = PriceSpec { kind: PriceKind::Trial { days: 14 }, amount_cents: 0, currency: "eur".into() };
    let product = published_with(&app, "Trialware", &[trial]).await;
    published(&app, "Notrial").await;
    let (customer, email) = app.logged_in(Role::Customer).await;
    // A trial only of a product that has one.
    let (status, none) = call(&app, &customer, "my/request_access", &[("slug", "notrial"), ("kind", "trial")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{none}");
    let (admin, _) = app.logged_in(Role::Admin).await;

    // The customer asks; asking again while it is open is a conflict that says when.
    let (status, asked) = call(&app, &customer, "my/request_access", &[("slug", "trialware"), ("kind", "trial"), ("message", "Ten engineers\nwant to try it")]).await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    assert_eq!(asked["status"], "open");
    let id = asked["id"].as_i64().unwrap().to_string();
    let (status, again) = call(&app, &customer, "my/request_access", &[("slug", "trialware"), ("kind", "contact")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    assert!(again.to_string().contains("already asked"), "{again}");
    // Bad input is a 4xx naming the field; an unknown product is a 404.
    let (status, bad) = call(&app, &customer, "my/request_access", &[("slug", "trialware"), ("kind", "buy")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    let (status, _) = call(&app, &customer, "my/request_access", &[("slug", "no-such"), ("kind", "trial")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, owned) = call(&app, &customer, "my/ownership", &[]).await;
    let mine = owned.as_array().unwrap().iter().find(|o| o["product_id"] == product).expect("the product is listed");
    assert_eq!(mine["access"], false);
    assert_eq!(mine["open_request"]["id"].as_i64().unwrap().to_string(), id);

    // The admin sees it and the dashboard counts it.
    let (_, open) = call(&app, &admin, "admin/requests", &[("status", "open")]).await;
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
    assert_eq!(open[0]["message"], "Ten engineers\nwant to try it");
    assert_eq!(open[0]["requested_by"], email.as_str());
    let (_, figures) = call(&app, &admin, "admin/dashboard", &[]).await;
    assert_eq!(figures["open_requests"], 1, "{figures}");
    // A customer may not answer, nor read the admin's list.
    let (status, _) = call(&app, &customer, "admin/answer_request", &[("id", &id), ("action", "grant"), ("days", "14")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The answer: 14 days of trial, with words.
    let (status, answered) =
        call(&app, &admin, "admin/answer_request", &[("id", &id), ("action", "grant"), ("days", "14"), ("reply", "Enjoy <the> trial")]).await;
    assert_eq!(status, StatusCode::OK, "{answered}");
    assert_eq!(answered["status"], "granted");
    assert!(answered["entitlement_id"].as_i64().is_some());
    let (status, _) = call(&app, &admin, "admin/answer_request", &[("id", &id), ("action", "reply"), ("reply", "twice")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "an answered request stays answered");

    // The customer owns it now, until the grant's end.
    let (_, owned) = call(&app, &customer, "my/ownership", &[]).await;
    let mine = owned.as_array().unwrap().iter().find(|o| o["product_id"] == product).unwrap();
    assert_eq!(mine["access"], true, "{mine}");
    assert!(mine["open_request"].is_null());
    let until = DateTime::parse_from_rfc3339(mine["until"].as_str().unwrap()).unwrap().with_timezone(&Utc);
    assert!((until - (Utc::now() + Duration::days(14))).num_minutes().abs() < 5, "{until}");
    // And a trial is not asked for again once access is there.
    let (status, again) = call(&app, &customer, "my/request_access", &[("slug", "trialware"), ("kind", "trial")]).await;
    assert_eq!(status, StatusCode::CONFLICT, "{again}");
    let (_, ents) = call(&app, &customer, "my/entitlements", &[]).await;
    assert!(ents.to_string().contains("trial"), "a trial entitlement: {ents}");

    // The customer's page names the product in its recent activity.
    let org = answered["organisation_id"].as_i64().unwrap().to_string();
    let (_, detail) = call(&app, &admin, "admin/customer", &[("id", &org)]).await;
    assert!(detail["activity"].to_string().contains("Trialware (entitlement #"), "{}", detail["activity"]);

    // And the mail says so.
    let mail = smtp.wait_for(&email, 1).await.remove(0);
    assert_eq!(mail.subject, "Your access to Trialware is ready");
    assert!(mail.text.contains("Enjoy <the> trial"), "{}", mail.text);
    assert!(mail.html.contains("Enjoy &lt;the&gt; trial"), "escaped in HTML");

    // Auditors name a credential as people do: by its name.
    let (status, made) = call(&app, &customer, "my/create_credential", &[("name", "Trial Laptop")]).await;
    assert_eq!(status, StatusCode::OK, "{made}");
    let username = made["credential"]["username"].as_str().map(str::to_owned).unwrap_or_else(|| made["username"].as_str().unwrap_or_default().to_owned());
    let (status, by_name) = call(&app, &admin, "audit/search", &[("filter[credential]", "trial laptop")]).await;
    assert_eq!(status, StatusCode::OK, "{by_name}");
    let (_, by_username) = call(&app, &admin, "audit/search", &[("filter[credential]", &username)]).await;
    assert_eq!(by_name["events"], by_username["events"], "the name finds what the user name finds");
    let (status, unknown) = call(&app, &admin, "audit/search", &[("filter[credential]", "no such laptop")]).await;
    assert_eq!((status, unknown["Invalid"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("credential")), "{unknown}");

    // Each step is in the audit log.
    let (_, events) = call(&app, &admin, "audit/search", &[("filter[action]", "request.*")]).await;
    let actions: Vec<&str> = events["events"].as_array().map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect()).unwrap_or_default();
    assert!(actions.contains(&"request.create") && actions.contains(&"request.answer"), "{events}");
}

async fn the_dashboard_counts_and_lists_the_same_customers(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let product = published(&app, "Counted").await;
    let (admin, _) = app.logged_in(Role::Admin).await;
    let (_, before) = call(&app, &admin, "admin/dashboard", &[]).await;
    let org = app.create_user(&format!("counted-{}@example.com", uuid::Uuid::new_v4().simple()), support::PASSWORD, Role::Customer).await;
    // Access that ends in 10 days: counted as active and as ending.
    let now = Utc::now();
    let g = app::backend::services::entitlements::Grant {
        customer_id: org,
        product_id: product,
        source: app::domain::access::EntitlementSource::Manual,
        starts_at: now - Duration::days(1),
        ends_at: Some(now + Duration::days(10)),
        note: None,
    };
    app::backend::services::entitlements::grant(&app.db, &g, Actor::System, &RequestMeta::default()).await.unwrap();
    let (_, after) = call(&app, &admin, "admin/dashboard", &[]).await;
    assert_eq!(after["active_customers"].as_i64().unwrap(), before["active_customers"].as_i64().unwrap() + 1, "{after}");
    assert_eq!(after["ending_30d"].as_i64().unwrap(), before["ending_30d"].as_i64().unwrap() + 1, "{after}");
    for segment in ["active", "ending"] {
        let (status, page) = call(&app, &admin, "admin/customers", &[("segment", segment)]).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["customers"].as_array().unwrap().iter().any(|c| c["id"] == org), "{segment}: {page}");
    }
    let (_, failing) = call(&app, &admin, "admin/customers", &[("segment", "failing")]).await;
    assert!(!failing["customers"].as_array().unwrap().iter().any(|c| c["id"] == org), "{failing}");
    let (status, _) = call(&app, &admin, "admin/customers", &[("segment", "everyone")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `/api/v1/requests`: an auditor key reads, an admin key answers (the
/// member gets the mail, the audit log names the key), once.
async fn a_crm_reads_and_answers_sales_requests_through_the_api(backend: Backend) {
    let smtp = SmtpServer::start().await;
    let mut opts = Options::default();
    opts.mail.smtp = Some(SmtpServer::settings(smtp.port));
    let app = TestApp::spawn_with(backend, opts).await;
    published(&app, "Bespoke").await;
    let (customer, email) = app.logged_in(Role::Customer).await;
    let (status, asked) = call(&app, &customer, "my/request_access", &[("slug", "bespoke"), ("kind", "contact"), ("message", "200 seats?")]).await;
    assert_eq!(status, StatusCode::OK, "{asked}");
    let id = asked["id"].as_i64().unwrap();
    let admin_key = support::api::key(&app, "crm", Role::Admin).await;
    let auditor_key = support::api::key(&app, "reports", Role::Auditor).await;
    let api = |key: &str, method: reqwest::Method, path: &str, body: Option<Value>| {
        let req = app.client.request(method, app.url(path)).bearer_auth(key);
        let req = match body {
            Some(b) => req.json(&b),
            None => req,
        };
        async move {
            let res = req.send().await.unwrap();
            let status = res.status();
            (status, json(res).await)
        }
    };

    let (status, open) = api(&auditor_key, reqwest::Method::GET, "/api/v1/requests?status=open", None).await;
    assert_eq!(status, StatusCode::OK, "{open}");
    let items = open["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{open}");
    assert_eq!((items[0]["kind"].as_str(), items[0]["message"].as_str(), items[0]["requested_by"].as_str()), (Some("contact"), Some("200 seats?"), Some(email.as_str())));
    let (status, bad) = api(&auditor_key, reqwest::Method::GET, "/api/v1/requests?status=closed", None).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")), "{bad}");

    let answer = format!("/api/v1/requests/{id}/answer");
    let reply = serde_json::json!({ "action": "reply", "reply": "Our sales team will call you today." });
    let (status, _) = api(&auditor_key, reqwest::Method::POST, &answer, Some(reply.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "an auditor key only reads");
    let (status, bad) = api(&admin_key, reqwest::Method::POST, &answer, Some(serde_json::json!({ "action": "reply" }))).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("reply")), "{bad}");
    let (status, bad) = api(&admin_key, reqwest::Method::POST, &answer, Some(serde_json::json!({ "action": "grant", "days": 0 }))).await;
    assert_eq!((status, bad["error"]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("days")), "{bad}");
    let (status, done) = api(&admin_key, reqwest::Method::POST, &answer, Some(reply.clone())).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!((done["status"].as_str(), done["answered_by"].as_str(), done["entitlement_id"].as_i64()), (Some("answered"), None, None), "{done}");
    let (status, again) = api(&admin_key, reqwest::Method::POST, &answer, Some(reply)).await;
    assert_eq!((status, again["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("id")), "{again}");
    let (status, one) = api(&auditor_key, reqwest::Method::GET, &format!("/api/v1/requests/{id}"), None).await;
    assert_eq!((status, one["answer"].as_str()), (StatusCode::OK, Some("Our sales team will call you today.")), "{one}");
    assert_eq!(api(&auditor_key, reqwest::Method::GET, "/api/v1/requests/999999", None).await.0, StatusCode::NOT_FOUND);

    let mail = smtp.wait_for(&email, 1).await.remove(0);
    assert_eq!(mail.subject, "About Bespoke: the vendor answered");
    assert!(mail.text.contains("Our sales team will call you today."), "{}", mail.text);
    let audit = app.audit().await;
    let answered = audit.iter().find(|e| e.0 == "request.answer").expect("the answer is audited");
    assert!(answered.2.contains("crm"), "the key is the actor: {answered:?}");
}
