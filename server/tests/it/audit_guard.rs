//! The auditor may read but never write, on both databases: every server
//! function is listed in `FNS` with what it does, the list is checked
//! against the functions actually registered under `/fn/` (so a new one
//! fails here until it is classified), and every function that changes
//! something is called as a logged-in auditor with well-formed arguments:
//! each answers 403 (a role check, not a parse error), each refusal is
//! audited, and nothing changes. The REST API's write routes are walked the
//! same way in `api_guard.rs`.

use app::domain::Role;
use app::backend::services::audit::Actor;
use app::backend::services::credentials;
use app::backend::web::RequestMeta;
use crate::support::{
    self,
    api::{seed, Api},
    Backend,
};
use reqwest::StatusCode;
use serde_json::json;
use std::collections::BTreeSet;

on_both_backends!(an_auditor_is_refused_every_writing_server_function);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Signs in or out, or changes its own sign-in (password, address): anyone may, for their own account.
    Session,
    /// Reads only (who may read is each function's own business).
    Read,
    /// Changes something: an auditor must be refused.
    Write,
}

use Kind::*;

/// Every server function: path, kind, well-formed arguments (`{product}`
/// etc. are replaced by seeded ids).
const FNS: &[(&str, Kind, &[(&str, &str)])] = &[
    ("/fn/current_user", Read, &[]),
    ("/fn/login", Session, &[]),
    ("/fn/signup", Session, &[]),
    ("/fn/logout", Session, &[]),
    ("/fn/catalogue/list", Read, &[]),
    ("/fn/catalogue/get", Read, &[("slug", "widget-pro")]),
    ("/fn/catalogue/tags", Read, &[("slug", "widget-pro")]),
    ("/fn/catalogue/versions", Read, &[("slug", "widget-pro")]),
    ("/fn/my/pulls", Read, &[("filter[repository]", "acme/widget")]),
    ("/fn/admin/customer_pulls", Read, &[("customer_id", "{customer}"), ("filter[repository]", "acme/widget")]),
    ("/fn/audit/search", Read, &[]),
    ("/fn/audit/recent", Read, &[]),
    ("/fn/audit/event", Read, &[("id", "1")]),
    ("/fn/audit/charts", Read, &[]),
    ("/fn/admin/list_users", Read, &[]),
    ("/fn/admin/create_user", Write, &[("email", "new-admin@example.com"), ("password", support::PASSWORD), ("role", "admin")]),
    ("/fn/admin/change_user", Write, &[("id", "{customer}"), ("action", "disable")]),
    ("/fn/admin/api_keys", Read, &[]),
    ("/fn/admin/create_api_key", Write, &[("name", "sneaky"), ("role", "admin")]),
    ("/fn/admin/revoke_api_key", Write, &[("id", "{apikey}")]),
    ("/fn/admin/products", Read, &[]),
    ("/fn/admin/product", Read, &[("id", "{product}")]),
    ("/fn/admin/save_product", Write, &[("id", "{product}"), ("name", "Renamed"), ("repositories", "acme/widget")]),
    ("/fn/admin/product_status", Write, &[("id", "{product}"), ("status", "archived")]),
    ("/fn/admin/add_price", Write, &[("product_id", "{product}"), ("kind", "yearly"), ("amount", "99.00"), ("currency", "eur")]),
    ("/fn/admin/remove_price", Write, &[("product_id", "{product}"), ("price_id", "{price}")]),
    ("/fn/admin/customers", Read, &[]),
    ("/fn/admin/create_customer", Write, &[("email", "new-customer@example.com")]),
    ("/fn/admin/customer", Read, &[("id", "{customer}")]),
    ("/fn/admin/grant", Write, &[("customer_id", "{customer}"), ("product_id", "{product}")]),
    ("/fn/admin/entitlement", Write, &[("id", "{entitlement}"), ("action", "revoke"), ("reason", "auditor")]),
    ("/fn/admin/customer_credentials", Read, &[("customer_id", "{customer}")]),
    ("/fn/admin/create_credential", Write, &[("customer_id", "{customer}"), ("name", "sneaky")]),
    ("/fn/admin/revoke_credential", Write, &[("id", "{credential}")]),
    ("/fn/admin/rotate_credential", Write, &[("id", "{credential}")]),
    ("/fn/admin/push_credentials", Read, &[]),
    ("/fn/admin/create_push_credential", Write, &[("name", "sneaky")]),
    ("/fn/my/credentials", Read, &[]),
    ("/fn/my/create_credential", Write, &[("name", "mine")]),
    ("/fn/my/revoke_credential", Write, &[("id", "{credential}")]),
    ("/fn/my/rotate_credential", Write, &[("id", "{credential}")]),
    ("/fn/my/reveal_credential", Write, &[("id", "{credential}")]),
    ("/fn/my/registry_access", Read, &[]),
    ("/fn/my/entitlements", Read, &[]),
    ("/fn/my/organisation", Read, &[]),
    ("/fn/admin/product_delivery", Write, &[("id", "{product}"), ("licence", "perpetual"), ("gateway", "on")]),
    ("/fn/admin/releases", Read, &[("id", "{product}")]),
    ("/fn/admin/set_release", Write, &[("repository", "acme/widget"), ("digest", "sha256:0000000000000000000000000000000000000000000000000000000000000000"), ("released_at", "2026-01-01")]),
    ("/fn/my/invite", Write, &[("email", "colleague@example.com"), ("role", "member")]),
    ("/fn/my/remove_member", Write, &[("id", "{customer}")]),
    ("/fn/my/member_role", Write, &[("id", "{customer}"), ("role", "member")]),
    ("/fn/my/transfer_ownership", Write, &[("id", "{customer}")]),
    ("/fn/my/rename_organisation", Write, &[("name", "Renamed")]),
    ("/fn/my/leave_organisation", Write, &[]),
    ("/fn/billing/info", Read, &[]),
    ("/fn/my/start_checkout", Write, &[("price_id", "{price}")]),
    ("/fn/my/checkout_status", Read, &[("session_id", "cs_test_guard")]),
    ("/fn/my/orders", Read, &[]),
    ("/fn/my/billing_portal", Write, &[]),
    ("/fn/admin/customer_orders", Read, &[("customer_id", "{customer}")]),
    ("/fn/admin/billing_status", Read, &[]),
    ("/fn/admin/provisioning_status", Read, &[]),
    ("/fn/forgot_password", Session, &[]),
    ("/fn/mail_link", Read, &[("token", "not-a-token")]),
    ("/fn/confirm_email", Session, &[]),
    ("/fn/me/change_password", Session, &[]),
    ("/fn/me/change_email", Session, &[]),
    ("/fn/me/resend_confirmation", Session, &[]),
    ("/fn/me/logout_everywhere", Session, &[]),
    ("/fn/me/notices", Session, &[]),
    ("/fn/unsubscribe", Session, &[]),
    ("/fn/login_code", Session, &[]),
    ("/fn/me/two_factor_begin", Session, &[]),
    ("/fn/me/two_factor_confirm", Session, &[]),
    ("/fn/me/two_factor_disable", Session, &[]),
    ("/fn/me/sessions", Read, &[]),
    ("/fn/me/end_session", Session, &[]),
    ("/fn/admin/user_sessions", Read, &[("id", "{customer}")]),
    ("/fn/admin/end_user_session", Write, &[("id", "{customer}"), ("session_id", "x")]),
    ("/fn/reset_password", Session, &[]),
    ("/fn/admin/mail", Read, &[]),
    ("/fn/admin/resend_mail", Write, &[("id", "{mail}")]),
    ("/fn/demo/mailbox", Read, &[]),
    ("/fn/my/request_access", Write, &[("slug", "widget-pro"), ("kind", "trial")]),
    ("/fn/my/ownership", Read, &[]),
    ("/fn/admin/requests", Read, &[]),
    ("/fn/admin/answer_request", Write, &[("id", "1"), ("action", "reply"), ("reply", "no")]),
    ("/fn/admin/dashboard", Read, &[]),
];

#[test]
fn the_table_lists_every_registered_server_function() {
    let registered: BTreeSet<String> =
        leptos::server_fn::axum::server_fn_paths().map(|(p, _)| p.to_owned()).filter(|p| p.starts_with("/fn/")).collect();
    let listed: BTreeSet<String> = FNS.iter().map(|f| f.0.to_owned()).collect();
    let unlisted: Vec<_> = registered.difference(&listed).collect();
    let gone: Vec<_> = listed.difference(&registered).collect();
    assert!(unlisted.is_empty(), "classify these server functions in FNS (and give them arguments): {unlisted:?}");
    assert!(gone.is_empty(), "these are listed but no longer exist: {gone:?}");
    assert!(registered.len() >= 45, "the registry is populated: {registered:?}");
    assert_eq!(FNS.iter().filter(|f| f.1 == Write).count(), 33);
}

/// Everything a write could change: the REST snapshot plus row counts and
/// the credentials' and keys' secrets and revocations, and the orders.
async fn counts(api: &Api) -> serde_json::Value {
    let mut out = api.snapshot().await;
    let queries = [
        ("users", "SELECT COUNT(*) || ':' || COALESCE(MAX(role), '') || ':' || SUM(CASE WHEN disabled THEN 1 ELSE 0 END) || ':' || SUM(session_epoch) FROM users"),
        ("keys", "SELECT COUNT(*) || ':' || COUNT(revoked_at) FROM api_keys"),
        ("credentials", "SELECT COUNT(*) || ':' || COUNT(revoked_at) || ':' || COALESCE(MAX(secret_hash), '') FROM registry_credentials"),
        ("orders", "SELECT COUNT(*) || ':' || COALESCE(MAX(status), '') FROM orders"),
        ("members", "SELECT COUNT(organisation_id) || ':' || COUNT(joined_at) || ':' || COALESCE(MAX(member_role), '') || ':' || COALESCE(SUM(organisation_id), 0) FROM users"),
        ("organisations", "SELECT COUNT(*) || ':' || COALESCE(MAX(name), '') FROM organisations"),
        ("releases", "SELECT COUNT(*) || ':' || COALESCE(MAX(source), '') FROM releases"),
        ("mail", "SELECT COUNT(*) || ':' || COALESCE(MAX(status), '') || ':' || COALESCE(SUM(attempts), 0) FROM mail_outbox"),
    ];
    for (name, sql) in queries {
        let v: String = match &api.app.db {
            app::backend::db::Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
            app::backend::db::Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        };
        out[name] = json!(v);
    }
    out
}

async fn an_auditor_is_refused_every_writing_server_function(backend: Backend) {
    let api = Api::spawn(backend).await;
    let s = seed(&api).await;
    let meta = RequestMeta::default();
    let cred = credentials::create(&api.app.db, s.customer, app::domain::credential::CredentialKind::Pull, "guard", None, None, Actor::System, &meta).await.unwrap();
    let key = app::backend::services::api_keys::list(&api.app.db).await.unwrap()[0].id;
    let mail = {
        let mut tx = api.app.db.begin().await.unwrap();
        let email = app::domain::Email::parse("guard@example.com").unwrap();
        let id = app::backend::services::recovery::invite_in(&mut tx, s.customer, &email).await.unwrap();
        tx.commit().await.unwrap();
        id
    };
    let ids = [
        ("{product}", s.product),
        ("{price}", s.price),
        ("{customer}", s.customer),
        ("{entitlement}", s.entitlement),
        ("{credential}", cred.credential.id),
        ("{apikey}", key),
        ("{mail}", mail),
    ];
    let (auditor, _) = api.app.logged_in(Role::Auditor).await;
    let before = counts(&api).await;
    let denied_before = api.app.audit().await.iter().filter(|e| e.0 == "authz.denied").count();
    let writes: Vec<_> = FNS.iter().filter(|f| f.1 == Write).collect();
    for (path, _, args) in &writes {
        let args: Vec<(String, String)> = args
            .iter()
            .map(|(k, v)| (k.to_string(), ids.iter().fold(v.to_string(), |acc, (p, id)| acc.replace(p, &id.to_string()))))
            .collect();
        let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let res = api.app.call(&auditor, path.trim_start_matches("/fn/"), &form).await;
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}: {body}");
    }
    assert_eq!(counts(&api).await, before, "an auditor changed nothing");
    let denied: Vec<_> = api.app.audit().await.into_iter().filter(|e| e.0 == "authz.denied").collect();
    assert_eq!(denied.len() - denied_before, writes.len(), "every refusal is audited");
    assert!(denied.iter().all(|e| e.1 == "denied" && e.4["role"] == "auditor"));

    // Reads never fail on the server for the auditor.
    for (path, kind, args) in FNS {
        if *kind == Read {
            let args: Vec<(String, String)> = args
                .iter()
                .map(|(k, v)| (k.to_string(), ids.iter().fold(v.to_string(), |acc, (p, id)| acc.replace(p, &id.to_string()))))
                .collect();
            let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let status = api.app.call(&auditor, path.trim_start_matches("/fn/"), &form).await.status();
            assert!(!status.is_server_error() && status != StatusCode::BAD_REQUEST, "{path}: {status}");
        }
    }
}
