//! What replicas share, on SQLite and PostgreSQL: each background job runs
//! once across replicas and is taken over when a holder dies; log-in limits
//! hold across two portals on one database; liveness, readiness and the
//! metrics endpoint. (The fleet behind HAProxy with a real registry,
//! `kill -9` and a database restart are `scripts/fleet.sh`'s.)

use crate::support::{client, json, Backend, Options, TestApp, PASSWORD};
use app::backend::services::jobs::{self, Job};
use app::backend::web::metrics::Metrics;
use app::domain::Role;
use reqwest::{header, StatusCode};
use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};
use std::time::Duration;

on_both_backends!(
    a_job_runs_once_across_replicas_and_is_taken_over_after_its_lease,
    login_limits_hold_across_two_portals,
    liveness_readiness_and_metrics,
);

fn counting_job(name: &'static str, runs: Arc<AtomicUsize>, lease: Duration) -> Job {
    Job::new(name, Duration::from_secs(3600), lease, move || {
        let runs = runs.clone();
        async move {
            runs.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(200)).await;
            Ok("counted".to_owned())
        }
    })
}

async fn a_job_runs_once_across_replicas_and_is_taken_over_after_its_lease(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let metrics = Metrics::default();
    let runs = Arc::new(AtomicUsize::new(0));
    let job = counting_job("test.count", runs.clone(), Duration::from_secs(30));
    app::backend::db::jobs::ensure(&app.db, job.name, chrono::Utc::now()).await.unwrap();
    // Eight replicas ask at once: one runs it; the next run is an hour away.
    let asks = (0..8).map(|i| {
        let (db, job, metrics) = (app.db.clone(), job.clone(), &metrics);
        async move { jobs::run_once(&db, &format!("replica-{i}"), &job, metrics).await.unwrap() }
    });
    let ran: Vec<bool> = futures::future::join_all(asks).await;
    assert_eq!((ran.iter().filter(|r| **r).count(), runs.load(Ordering::SeqCst)), (1, 1));
    assert!(!jobs::run_once(&app.db, "replica-0", &job, &metrics).await.unwrap(), "not due again yet");

    // A replica takes a lease and dies mid-run: nobody else runs the job
    // until the lease expires, then another replica takes it over.
    let orphan = counting_job("test.orphan", runs.clone(), Duration::from_secs(2));
    let now = chrono::Utc::now();
    app::backend::db::jobs::ensure(&app.db, orphan.name, now).await.unwrap();
    assert!(app::backend::db::jobs::try_lease(&app.db, orphan.name, "dead-replica", now, now + chrono::Duration::seconds(2)).await.unwrap());
    assert!(!jobs::run_once(&app.db, "survivor", &orphan, &metrics).await.unwrap(), "the dead replica's lease still holds");
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    assert!(jobs::run_once(&app.db, "survivor", &orphan, &metrics).await.unwrap(), "taken over after the lease");
    let rows = jobs::status(&app.db).await.unwrap();
    let row = rows.iter().find(|r| r.name == "test.orphan").unwrap();
    assert_eq!((row.runs, row.last_ok, row.lease_holder.as_deref()), (1, Some(true), None));

    // The portal's own jobs ran: the chain sealer at least.
    let sealed = rows.iter().find(|r| r.name == "audit.seal").expect("the sealer is a fleet job");
    assert!(sealed.runs >= 1 && sealed.last_ok == Some(true), "{sealed:?}");
}

async fn login_limits_hold_across_two_portals(backend: Backend) {
    let a = TestApp::spawn_with(backend, Options { per_ip_per_minute: 4, ..Options::default() }).await;
    let b = a.replica(Options { per_ip_per_minute: 4, ..Options::default() }).await;
    a.create_user("ada@example.com", PASSWORD, Role::Customer).await;
    let wrong = [("email", "ada@example.com"), ("password", "not the password")];
    let mut statuses = Vec::new();
    for app in [&a, &b, &a, &b, &a] {
        statuses.push(app.call(&client(), "login", &wrong).await.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 401, 401, 429], "the fifth attempt from this network, whichever portal");
    let res = b.call(&client(), "login", &[("email", "ada@example.com"), ("password", PASSWORD)]).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key(header::RETRY_AFTER));
}

async fn liveness_readiness_and_metrics(backend: Backend) {
    let token = "metrics-token-metrics-token-0123456789";
    let app = TestApp::spawn_with(backend, Options { metrics_token: Some(token.into()), ..Options::default() }).await;
    let c = client();
    assert_eq!(c.get(app.url("/livez")).send().await.unwrap().text().await.unwrap(), "ok");
    assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::OK);
    assert_eq!(c.get(app.url("/metrics")).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(c.get(app.url("/metrics")).bearer_auth("wrong").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    // A token request of each kind, then the counters.
    let anonymous = c.get(app.url("/registry/token?service=portcullis-registry")).send().await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    let text = c.get(app.url("/metrics")).bearer_auth(token).send().await.unwrap().text().await.unwrap();
    for want in [
        "portcullis_token_requests_total{outcome=\"unauthenticated\"} 1",
        "portcullis_token_request_seconds_count 1",
        "portcullis_db_connections{state=\"open\"}",
        "portcullis_job_lag_seconds{job=\"audit.seal\"}",
    ] {
        assert!(text.contains(want), "{want} in:\n{text}");
    }
    let _ = json;
    // Without the database: not ready, but alive.
    app.db.close().await;
    assert_eq!(c.get(app.url("/readyz")).send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(c.get(app.url("/livez")).send().await.unwrap().status(), StatusCode::OK);
}
