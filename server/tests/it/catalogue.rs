//! Catalogue and entitlements through the service layer, on SQLite and
//! PostgreSQL: product rules, prices, grants and every change to them, the
//! access decision against real rows, and the audit record of each change.

use app::domain::{
    access::{Decision, Denial, EntitlementSource, EntitlementStatus},
    catalogue::{PriceKind, PriceSpec, ProductStatus},
    Role,
};
use app::error::AppError;
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, customers, entitlements};
use app::backend::services::catalogue::ProductInput;
use app::backend::db;
use app::backend::services::entitlements::{Change, Grant};
use app::backend::services::registry::Decider;
use app::backend::web::RequestMeta;
use chrono::{Duration, Utc};
use crate::support::{self, Backend, TestApp, PASSWORD};

on_both_backends!(
    products_are_created_edited_and_published_by_the_rules,
    prices_are_added_and_deactivated,
    may_pull_follows_grants_windows_and_changes,
    archiving_keeps_existing_access,
    revoked_is_final_and_windows_must_be_ordered,
    customers_search_and_paginate,
    demo_data_is_seeded_once,
);

fn input(name: &str, repos: &[&str]) -> ProductInput {
    ProductInput {
        name: name.into(),
        slug: None,
        description: "**bold** <script>alert(1)</script>".into(),
        contact_sales: false,
        repositories: repos.iter().map(|r| r.to_string()).collect(),
    }
}

fn meta() -> RequestMeta {
    RequestMeta::default()
}

async fn products_are_created_edited_and_published_by_the_rules(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let p = catalogue::create(db, &input("Acme Widget", &["acme/widget", " acme/widget-* ", "acme/widget"]), &[], Actor::System, &meta())
        .await
        .unwrap();
    assert_eq!(p.slug, "acme-widget");
    assert_eq!(p.status, ProductStatus::Draft);
    assert_eq!(p.repositories, vec!["acme/widget", "acme/widget-*"], "trimmed, de-duplicated, sorted");
    assert!(p.description_html.contains("<strong>bold</strong>"));
    assert!(!p.description_html.contains("<script"));

    // Not publishable without a price (or contact sales).
    let err = catalogue::set_status(db, p.id, ProductStatus::Published, Actor::System, &meta()).await.unwrap_err();
    assert_eq!(err.for_field("status").is_some(), true, "{err:?}");
    // Bad input names the field and writes nothing.
    for (bad, field) in [
        (input("", &["acme/x"]), "name"),
        (input(&"n".repeat(101), &["acme/x"]), "name"),
        (input("Ok", &["Acme/X"]), "repositories"),
        (input("Ok", &["acme/*/x"]), "repositories"),
        (ProductInput { slug: Some("Bad Slug".into()), ..input("Ok", &[]) }, "slug"),
        (input("'; DROP TABLE products; --", &["acme/x'; --"]), "repositories"),
    ] {
        let err = catalogue::create(db, &bad, &[], Actor::System, &meta()).await.unwrap_err();
        assert!(err.for_field(field).is_some(), "{field}: {err:?}");
    }
    assert_eq!(catalogue::list(db, None).await.unwrap().len(), 1);
    // A taken slug is a conflict on the slug field.
    let err = catalogue::create(db, &input("Acme  Widget", &[]), &[], Actor::System, &meta()).await.unwrap_err();
    assert!(matches!(&err, AppError::Conflict { field, .. } if field == "slug"), "{err:?}");

    // Contact sales makes it publishable; the public list and page see it.
    let edited = ProductInput { contact_sales: true, name: "Acme Widget Pro".into(), ..input("x", &["acme/widget"]) };
    let p = catalogue::update(db, p.id, &edited, Some(ProductStatus::Published), Actor::System, &meta()).await.unwrap();
    assert_eq!((p.status, p.name.as_str(), p.slug.as_str()), (ProductStatus::Published, "Acme Widget Pro", "acme-widget-pro"));
    assert_eq!(catalogue::list(db, Some(ProductStatus::Published)).await.unwrap().len(), 1);
    assert_eq!(catalogue::get_published(db, "acme-widget-pro").await.unwrap().id, p.id);
    // Drafts are not public.
    let draft = catalogue::create(db, &input("Secret", &["acme/secret"]), &[], Actor::System, &meta()).await.unwrap();
    assert_eq!(catalogue::get_published(db, &draft.slug).await.unwrap_err(), AppError::NotFound);
    assert_eq!(catalogue::get(db, 9999).await.unwrap_err(), AppError::NotFound);

    let actions: Vec<String> = app.audit().await.into_iter().map(|e| e.0).collect();
    assert_eq!(actions.iter().filter(|a| *a == "product.create").count(), 2);
    assert!(actions.contains(&"product.update".to_string()) && actions.contains(&"product.status".to_string()));
}

async fn prices_are_added_and_deactivated(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let monthly = PriceSpec::parse(PriceKind::Monthly, 4900, "usd").unwrap();
    let p = catalogue::create(db, &input("Priced", &["acme/p"]), &[monthly], Actor::System, &meta()).await.unwrap();
    assert_eq!(p.prices.len(), 1);
    assert_eq!(p.prices[0].label, "$49.00 / month");
    let trial = PriceSpec::parse(PriceKind::Trial { days: 14 }, 0, "usd").unwrap();
    let p = catalogue::add_price(db, p.id, &trial, Actor::System, &meta()).await.unwrap();
    assert_eq!(p.prices.len(), 2);
    let p = catalogue::set_status(db, p.id, ProductStatus::Published, Actor::System, &meta()).await.unwrap();
    let first = p.prices[0].id;
    let p = catalogue::remove_price(db, p.id, first, Actor::System, &meta()).await.unwrap();
    assert!(!p.prices.iter().find(|x| x.id == first).unwrap().active, "kept, inactive");
    let public = catalogue::get_published(db, &p.slug).await.unwrap();
    assert_eq!(public.prices.len(), 1, "the public page shows active prices only");
    assert_eq!(catalogue::remove_price(db, p.id, first, Actor::System, &meta()).await.unwrap_err(), AppError::NotFound);
    assert_eq!(catalogue::add_price(db, 9999, &trial, Actor::System, &meta()).await.unwrap_err(), AppError::NotFound);
}

async fn customer(app: &TestApp, email: &str) -> i64 {
    customers::create(&app.db, email, Some("Customer Ltd"), Some(PASSWORD), Actor::System, &meta()).await.unwrap().id
}

async fn may_pull_follows_grants_windows_and_changes(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let decider = Decider::new(db.clone(), std::time::Duration::ZERO);
    let c = customer(&app, "buyer@example.com").await;
    let other = customer(&app, "other@example.com").await;
    let widget = catalogue::create(db, &input("Widget", &["acme/widget", "acme/widget-*"]), &[], Actor::System, &meta()).await.unwrap();
    let now = Utc::now();
    assert_eq!(decider.may_pull(c, "acme/widget", now).await.unwrap(), Decision::Denied(Denial::NoEntitlement));

    let e = entitlements::grant(
        db,
        &Grant { customer_id: c, product_id: widget.id, source: EntitlementSource::Manual, starts_at: now - Duration::days(1), ends_at: Some(now + Duration::days(30)), note: None },
        Actor::System,
        &meta(),
    )
    .await
    .unwrap();
    assert!(e.grants_access);
    assert!(e.summary.starts_with("active until "), "{}", e.summary);
    let granted = Decision::Granted { entitlement_id: e.id };
    assert_eq!(decider.may_pull(c, "acme/widget", now).await.unwrap(), granted);
    assert_eq!(decider.may_pull(c, "acme/widget-plugin", now).await.unwrap(), granted);
    assert_eq!(decider.may_pull(c, "acme/gadget", now).await.unwrap(), Decision::Denied(Denial::NoEntitlement));
    assert_eq!(decider.may_pull(other, "acme/widget", now).await.unwrap(), Decision::Denied(Denial::NoEntitlement));
    // The window's end, as stored and read back by this backend.
    assert!(matches!(decider.may_pull(c, "acme/widget", now + Duration::days(31)).await.unwrap(), Decision::Denied(Denial::Expired { .. })));

    // Suspend → denied with the reason; resume → granted; extend → later end.
    let suspend = Change { status: Some(EntitlementStatus::Suspended), suspended_reason: Some("payment overdue".into()), ..Default::default() };
    let v = entitlements::change(db, e.id, &suspend, Actor::System, &meta()).await.unwrap();
    assert_eq!(v.summary, "suspended: payment overdue");
    assert_eq!(
        decider.may_pull(c, "acme/widget", now).await.unwrap(),
        Decision::Denied(Denial::Suspended { reason: Some("payment overdue".into()) })
    );
    let resume = Change { status: Some(EntitlementStatus::Active), ..Default::default() };
    entitlements::change(db, e.id, &resume, Actor::System, &meta()).await.unwrap();
    assert_eq!(decider.may_pull(c, "acme/widget", now).await.unwrap(), granted);
    let extend = Change { ends_at: Some(Some(now + Duration::days(90))), ..Default::default() };
    entitlements::change(db, e.id, &extend, Actor::System, &meta()).await.unwrap();
    assert_eq!(decider.may_pull(c, "acme/widget", now + Duration::days(60)).await.unwrap(), granted);

    // Each change is in the audit log, about this customer.
    let events = db::audit::list_for_user(db, c, 50).await.unwrap();
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    for a in ["entitlement.grant", "entitlement.suspend", "entitlement.resume", "entitlement.window", "customer.create"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    // Grants refuse non-customers and unknown products, naming the field.
    let admin = app.create_user("boss@example.com", PASSWORD, Role::Admin).await;
    let bad = Grant { customer_id: admin, product_id: widget.id, source: EntitlementSource::Manual, starts_at: now, ends_at: None, note: None };
    assert!(entitlements::grant(db, &bad, Actor::System, &meta()).await.unwrap_err().for_field("customer_id").is_some());
    let bad = Grant { customer_id: c, product_id: 9999, ..bad };
    assert!(entitlements::grant(db, &bad, Actor::System, &meta()).await.unwrap_err().for_field("product_id").is_some());
}

async fn archiving_keeps_existing_access(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let decider = Decider::new(db.clone(), std::time::Duration::ZERO);
    let c = customer(&app, "loyal@example.com").await;
    let p = catalogue::create(db, &ProductInput { contact_sales: true, ..input("Old", &["acme/old"]) }, &[], Actor::System, &meta()).await.unwrap();
    catalogue::set_status(db, p.id, ProductStatus::Published, Actor::System, &meta()).await.unwrap();
    let now = Utc::now();
    let g = Grant { customer_id: c, product_id: p.id, source: EntitlementSource::Manual, starts_at: now, ends_at: None, note: None };
    let e = entitlements::grant(db, &g, Actor::System, &meta()).await.unwrap();
    catalogue::set_status(db, p.id, ProductStatus::Archived, Actor::System, &meta()).await.unwrap();
    assert_eq!(catalogue::get_published(db, &p.slug).await.unwrap_err(), AppError::NotFound, "no longer sold");
    assert_eq!(decider.may_pull(c, "acme/old", now).await.unwrap(), Decision::Granted { entitlement_id: e.id });
}

async fn revoked_is_final_and_windows_must_be_ordered(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let decider = Decider::new(db.clone(), std::time::Duration::ZERO);
    let c = customer(&app, "gone@example.com").await;
    let p = catalogue::create(db, &input("Pro", &["acme/p"]), &[], Actor::System, &meta()).await.unwrap();
    let now = Utc::now();
    let backwards = Grant { customer_id: c, product_id: p.id, source: EntitlementSource::Trial, starts_at: now, ends_at: Some(now - Duration::days(1)), note: None };
    assert!(entitlements::grant(db, &backwards, Actor::System, &meta()).await.unwrap_err().for_field("ends_at").is_some());
    let e = entitlements::grant(db, &Grant { ends_at: Some(now + Duration::days(14)), ..backwards }, Actor::System, &meta()).await.unwrap();
    let revoke = Change { status: Some(EntitlementStatus::Revoked), ..Default::default() };
    entitlements::change(db, e.id, &revoke, Actor::System, &meta()).await.unwrap();
    assert_eq!(decider.may_pull(c, "acme/p", now).await.unwrap(), Decision::Denied(Denial::Revoked));
    let resume = Change { status: Some(EntitlementStatus::Active), ..Default::default() };
    assert!(entitlements::change(db, e.id, &resume, Actor::System, &meta()).await.unwrap_err().for_field("status").is_some());
    assert_eq!(entitlements::change(db, 9999, &resume, Actor::System, &meta()).await.unwrap_err(), AppError::NotFound);
    // A failed change leaves no audit row behind.
    let revokes = app.audit().await.iter().filter(|e| e.0 == "entitlement.revoke").count();
    assert_eq!(revokes, 1);
}

async fn customers_search_and_paginate(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    for i in 0..7 {
        customers::create(db, &format!("c{i}@shop.example"), Some(&format!("Shop {i}")), None, Actor::System, &meta()).await.unwrap();
    }
    customers::create(db, "odd_one@x.example", Some("100% <b>Odd</b>"), None, Actor::System, &meta()).await.unwrap();
    app.create_user("admin@shop.example", PASSWORD, Role::Admin).await;
    let (page1, total) = customers::list(db, Some("shop.example"), None, 5, 0).await.unwrap();
    assert_eq!((page1.len(), total), (5, 7), "admins are not customers");
    let (page2, _) = customers::list(db, Some("shop.example"), None, 5, 5).await.unwrap();
    assert_eq!(page2.len(), 2);
    assert!(page1.iter().chain(&page2).all(|c| c.email.ends_with("@shop.example")));
    let (by_name, _) = customers::list(db, Some("SHOP 3"), None, 50, 0).await.unwrap();
    assert_eq!(by_name.len(), 1, "search matches names, case-insensitively");
    let (literal, _) = customers::list(db, Some("100%"), None, 50, 0).await.unwrap();
    assert_eq!(literal.len(), 1, "% is a literal character");
    assert_eq!(literal[0].name.as_deref(), Some("100% <b>Odd</b>"), "stored as given");
    let (injection, _) = customers::list(db, Some("' OR '1'='1"), None, 50, 0).await.unwrap();
    assert!(injection.is_empty());
    assert!(customers::list(db, Some(&"x".repeat(101)), None, 50, 0).await.unwrap_err().for_field("search").is_some());
    let err = customers::create(db, "c1@shop.example", None, None, Actor::System, &meta()).await.unwrap_err();
    assert!(matches!(err, AppError::Conflict { .. }));
    // A customer made without a password cannot log in.
    let res = app.call(&support::client(), "login", &[("email", "c1@shop.example"), ("password", "anything at all")]).await;
    assert_eq!(res.status(), 401);
}

async fn demo_data_is_seeded_once(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let db = &app.db;
    let decider = Decider::new(db.clone(), std::time::Duration::ZERO);
    app::backend::services::demo::seed(db).await.unwrap();
    assert_eq!(app::backend::services::demo::seed_catalogue(db).await.unwrap(), 3);
    assert_eq!(app::backend::services::demo::seed_catalogue(db).await.unwrap(), 0, "idempotent");
    assert_eq!(catalogue::list(db, Some(ProductStatus::Published)).await.unwrap().len(), 3);
    let customer = db::users::find_by_email(db, &app::domain::Email::parse(app::backend::services::demo::DEMO_CUSTOMER).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        decider.may_pull(customer.id, "acme/widget-plugin", Utc::now()).await.unwrap(),
        Decision::Granted { .. }
    ));
}
