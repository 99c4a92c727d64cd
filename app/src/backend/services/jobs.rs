//! Background jobs, each run once across the fleet. Every replica runs the
//! same list; each job has a row in `jobs` (`db::jobs`) with its next run
//! and a lease. A replica runs a job only after taking its lease with one
//! conditional UPDATE (the job is due and no live lease holds it), so of
//! replicas asking at once exactly one runs it; it then records the
//! outcome and the next run (`started + every`) and releases the lease. A
//! replica that dies mid-run leaves its lease, which expires at
//! `lease_until`: another replica takes the job over then. A run is cut
//! off at its lease (`tokio::time::timeout`), so two replicas never run
//! the same job at once. On shutdown each job finishes its run in flight.
//!
//! The jobs (`server::startup`): `audit.seal` (every second),
//! `sessions.sweep` (hourly), `rate_limits.sweep` (every 10 minutes),
//! `audit.retain` (daily, when retention is configured); later issues add
//! theirs here.

use crate::backend::db::{self, Db};
use crate::backend::web::metrics::Metrics;
use chrono::Utc;
use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

type Run = Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<String, String>> + Send>> + Send + Sync>;

/// One job: its name (the row's key), how often it runs, how long one run
/// may hold its lease, and the work (what it did, in words, or why not).
#[derive(Clone)]
pub struct Job {
    pub name: &'static str,
    pub every: Duration,
    pub lease: Duration,
    run: Run,
}

impl Job {
    pub fn new<F, Fut>(name: &'static str, every: Duration, lease: Duration, run: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, String>> + Send + 'static,
    {
        Self { name, every, lease, run: Arc::new(move || Box::pin(run())) }
    }
}

/// Every job's row: next run, lease, last outcome (metrics, dashboard).
pub async fn status(db: &Db) -> Result<Vec<db::jobs::JobRow>, sqlx::Error> {
    db::jobs::all(db).await
}

/// This replica's name in the leases: host, process id and a random part
/// (a restarted process is a new holder).
pub fn holder_id() -> String {
    let host = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty()).unwrap_or_else(|| "portal".into());
    format!("{host}-{}-{}", std::process::id(), crate::backend::web::session::random_token(6))
}

/// Runs `job` if it is due and its lease is free: `Ok(true)` if this
/// replica ran it.
pub async fn run_once(db: &Db, holder: &str, job: &Job, metrics: &Metrics) -> Result<bool, sqlx::Error> {
    let started = Utc::now();
    let until = started + chrono::Duration::from_std(job.lease).unwrap_or(chrono::Duration::minutes(5));
    if !db::jobs::try_lease(db, job.name, holder, started, until).await? {
        return Ok(false);
    }
    let outcome = tokio::time::timeout(job.lease, (job.run)()).await;
    let error = match outcome {
        Ok(Ok(_)) => None,
        Ok(Err(e)) => Some(e),
        Err(_) => Some(format!("stopped after its lease of {} s", job.lease.as_secs())),
    };
    if let Some(e) = &error {
        tracing::warn!(job = job.name, error = %e, "job failed");
    }
    let finished = Utc::now();
    metrics.job_ran(job.name, error.is_none(), (finished - started).to_std().unwrap_or_default());
    let next = started + chrono::Duration::from_std(job.every).unwrap_or(chrono::Duration::hours(1));
    if !db::jobs::finish(db, job.name, holder, finished, next, error.as_deref()).await? {
        tracing::warn!(job = job.name, "the job's lease expired during its run; another replica may have run it too");
    }
    Ok(true)
}

/// Runs every job of `jobs` when due until `stop`, each in its own task
/// (a slow job never delays another), checking at most every second.
pub async fn run(db: Db, jobs: Vec<Job>, metrics: Arc<Metrics>, stop: tokio::sync::watch::Receiver<bool>) {
    let holder = holder_id();
    let tasks: Vec<_> = jobs
        .into_iter()
        .map(|job| {
            let (db, holder, metrics, mut stop) = (db.clone(), holder.clone(), metrics.clone(), stop.clone());
            tokio::spawn(async move {
                let check = job.every.min(Duration::from_secs(1));
                let mut registered = false;
                loop {
                    if !registered {
                        registered = db::jobs::ensure(&db, job.name, Utc::now()).await.is_ok();
                    }
                    if let Err(e) = run_once(&db, &holder, &job, &metrics).await {
                        tracing::warn!(job = job.name, error = %e, "could not take or release the job's lease");
                    }
                    tokio::select! {
                        _ = tokio::time::sleep(check) => {}
                        _ = stop.changed() => break,
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
}
