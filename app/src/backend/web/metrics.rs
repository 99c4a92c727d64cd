//! The process's counters, in Prometheus's text format (`GET /metrics`,
//! `server::routes::health`): token decisions by outcome and their latency,
//! the token audit writer's commit latency and backlog, webhook deliveries
//! by outcome, job runs by job and outcome and their duration; the route
//! adds what it reads at scrape time (job lag, database pool, open attempt
//! counts). Counters are per process: Prometheus sums the replicas.
//! Plain atomics, no allocation on the hot path.

use std::{
    collections::BTreeMap,
    fmt::Write,
    sync::{
        atomic::{AtomicU64, Ordering::Relaxed},
        Mutex,
    },
    time::Duration,
};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5];

/// A latency histogram (cumulative on output, as Prometheus wants).
#[derive(Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS.len()],
    over: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        match BUCKETS.iter().position(|b| secs <= *b) {
            Some(i) => self.counts[i].fetch_add(1, Relaxed),
            None => self.over.fetch_add(1, Relaxed),
        };
        self.sum_micros.fetch_add(d.as_micros() as u64, Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str, labels: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let sep = if labels.is_empty() { "" } else { "," };
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.counts[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{b}\"}} {cumulative}");
        }
        cumulative += self.over.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cumulative}");
        let sum = self.sum_micros.load(Relaxed) as f64 / 1e6;
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {sum}\n{name}_count{braces} {cumulative}");
    }
}

/// How a token request was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOutcome {
    /// A token was issued.
    Granted,
    /// An authenticated caller was refused (own audit row).
    Denied,
    /// Nothing was authenticated (counted, `services::audit::attempts`).
    Unauthenticated,
    /// The network was over its failure limit (429).
    Limited,
    /// The request was malformed (400).
    Malformed,
    /// The portal could not decide or record (503).
    Unavailable,
}

const TOKEN_OUTCOMES: [(TokenOutcome, &str); 6] = [
    (TokenOutcome::Granted, "granted"),
    (TokenOutcome::Denied, "denied"),
    (TokenOutcome::Unauthenticated, "unauthenticated"),
    (TokenOutcome::Limited, "rate_limited"),
    (TokenOutcome::Malformed, "malformed"),
    (TokenOutcome::Unavailable, "unavailable"),
];

#[derive(Default)]
pub struct Metrics {
    tokens: [AtomicU64; 6],
    token_latency: Histogram,
    audit_commit: Histogram,
    audit_backlog: AtomicU64,
    webhooks: Mutex<BTreeMap<&'static str, u64>>,
    jobs: Mutex<BTreeMap<(&'static str, bool), u64>>,
    job_duration: Histogram,
}

impl Metrics {
    pub fn token(&self, outcome: TokenOutcome, took: Duration) {
        let i = TOKEN_OUTCOMES.iter().position(|(o, _)| *o == outcome).unwrap_or(0);
        self.tokens[i].fetch_add(1, Relaxed);
        self.token_latency.observe(took);
    }

    /// One group commit of the token audit writer: how long it took and
    /// how many decisions were still queued behind it.
    pub fn audit_commit(&self, took: Duration, backlog: usize) {
        self.audit_commit.observe(took);
        self.audit_backlog.store(backlog as u64, Relaxed);
    }

    pub fn webhook(&self, outcome: &'static str) {
        *self.webhooks.lock().unwrap_or_else(|e| e.into_inner()).entry(outcome).or_default() += 1;
    }

    pub fn job_ran(&self, name: &'static str, ok: bool, took: Duration) {
        *self.jobs.lock().unwrap_or_else(|e| e.into_inner()).entry((name, ok)).or_default() += 1;
        self.job_duration.observe(took);
    }

    /// The counters as Prometheus text; `gauges` are appended as given
    /// (`name`, `help`, `labels`, value), read by the caller at scrape time.
    pub fn render(&self, gauges: &[(&str, &str, String, f64)]) -> String {
        let mut out = String::with_capacity(4096);
        let _ = writeln!(out, "# HELP portcullis_token_requests_total Registry token requests by how they were answered.\n# TYPE portcullis_token_requests_total counter");
        for (i, (_, label)) in TOKEN_OUTCOMES.iter().enumerate() {
            let _ = writeln!(out, "portcullis_token_requests_total{{outcome=\"{label}\"}} {}", self.tokens[i].load(Relaxed));
        }
        self.token_latency.render(&mut out, "portcullis_token_request_seconds", "Time to answer a token request, audit commit included.", "");
        self.audit_commit.render(&mut out, "portcullis_audit_commit_seconds", "Time of one group commit of token decisions.", "");
        let _ = writeln!(out, "# HELP portcullis_audit_backlog Token decisions queued for the audit log after the last commit.\n# TYPE portcullis_audit_backlog gauge\nportcullis_audit_backlog {}", self.audit_backlog.load(Relaxed));
        let _ = writeln!(out, "# HELP portcullis_webhook_deliveries_total Stripe webhook deliveries by outcome.\n# TYPE portcullis_webhook_deliveries_total counter");
        for (outcome, n) in self.webhooks.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let _ = writeln!(out, "portcullis_webhook_deliveries_total{{outcome=\"{outcome}\"}} {n}");
        }
        let _ = writeln!(out, "# HELP portcullis_job_runs_total Background job runs on this replica by job and outcome.\n# TYPE portcullis_job_runs_total counter");
        for ((name, ok), n) in self.jobs.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            let outcome = if *ok { "ok" } else { "failed" };
            let _ = writeln!(out, "portcullis_job_runs_total{{job=\"{name}\",outcome=\"{outcome}\"}} {n}");
        }
        self.job_duration.render(&mut out, "portcullis_job_run_seconds", "Duration of background job runs on this replica.", "");
        let mut last = "";
        for (name, help, labels, value) in gauges {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                last = name;
            }
            let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
            let _ = writeln!(out, "{name}{braces} {value}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_histograms_and_gauges_in_prometheus_text() {
        let m = Metrics::default();
        m.token(TokenOutcome::Granted, Duration::from_micros(800));
        m.token(TokenOutcome::Granted, Duration::from_secs(5));
        m.job_ran("audit.seal", true, Duration::from_millis(2));
        let text = m.render(&[("portcullis_db_connections", "Pool connections.", "state=\"idle\"".into(), 3.0)]);
        assert!(text.contains("portcullis_token_requests_total{outcome=\"granted\"} 2"), "{text}");
        assert!(text.contains("portcullis_token_request_seconds_bucket{le=\"0.001\"} 1"), "{text}");
        assert!(text.contains("portcullis_token_request_seconds_bucket{le=\"+Inf\"} 2"), "{text}");
        assert!(text.contains("portcullis_job_runs_total{job=\"audit.seal\",outcome=\"ok\"} 1"), "{text}");
        assert!(text.contains("portcullis_db_connections{state=\"idle\"} 3"), "{text}");
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert_eq!(line.split(' ').count(), 2, "sample lines are `name{{labels}} value`: {line}");
        }
    }
}
