//! Audit-log query benchmark (run by bench/audit.sh; not a test): fills
//! `audit_events` to N rows with SQL (90 days of mostly token decisions over
//! 1,000 customers, 50 repositories, 5,000 IPs; eight events spread through
//! the log carry a rare note, `Incident-7F3A`), indexes them for text
//! search with the portal's own back-fill (`db::audit_search::index_pending`,
//! printing its time), then times the first page and the 100th page
//! (reached by keyset) of the auditor's common filters and text searches
//! through the real query code (`db::audit::search`, under the default time
//! limit), printing p50 and p95. The events are sealed into the hash chain
//! first (printing the rate), as the portal does: time filters use the
//! sealer's hour ranges. A search stopped by the time limit prints
//! `limit` (the portal answers it 422 `search_too_broad`).
//!
//! Usage: bench_audit DATABASE_URL [ROWS] [SAMPLES]   (defaults 10,000,000 and 40).
//! Bounded: the fill and the sealing stop after 60 minutes each, each timing loop after 60 s.

use app::backend::db::{
    audit::{search, ActionMatch, Filter, DEFAULT_QUERY_TIMEOUT},
    bounded::QueryError,
    Db,
};
use chrono::{Duration, Utc};
use std::time::{Duration as StdDuration, Instant};

const PAGE: i64 = 50;
const CHUNK: i64 = 500_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let url = args.get(1).ok_or("usage: bench_audit DATABASE_URL [ROWS] [SAMPLES]")?;
    let rows: i64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(10_000_000);
    let samples: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(40).clamp(5, 1000);
    let db = Db::connect(url).await?;
    db.migrate().await?;
    fill(&db, rows).await?;
    if let Db::Postgres(p) = &db {
        // As on a deployment upgraded with a populated log: the back-fill
        // fills the search table, then builds its trigram index.
        sqlx::query("DROP INDEX IF EXISTS audit_search_body_trgm").execute(p).await?;
    }
    let started = Instant::now();
    let indexed = app::backend::db::audit_search::index_pending(&db).await?;
    if indexed > 0 {
        println!("indexed {indexed} events for text search in {:.1} s", started.elapsed().as_secs_f64());
    }
    seal(&db).await?;
    let product = product_of_repo_7(&db).await?;
    let now = Utc::now();
    let text = |q: &str| Filter { text: Some(q.into()), ..Default::default() };
    let filters: Vec<(&str, Filter)> = vec![
        ("everything", Filter::default()),
        ("action=registry.token", Filter { action: Some(ActionMatch::Exact("registry.token".into())), ..Default::default() }),
        ("outcome=denied", Filter { outcome: Some("denied".into()), ..Default::default() }),
        ("member=421", Filter { member: Some(421), ..Default::default() }),
        ("credential=pull-00421", Filter { credential: Some("pull-00421".into()), ..Default::default() }),
        ("repository=acme/repo-7", Filter { repository: Some("acme/repo-7".into()), ..Default::default() }),
        ("ip=10.0.77.3", Filter { ip: Some("10.0.77.3".into()), ..Default::default() }),
        ("last 24 h", Filter { from: Some(now - Duration::days(1)), ..Default::default() }),
        ("30-60 days ago", Filter { from: Some(now - Duration::days(60)), to: Some(now - Duration::days(30)), ..Default::default() }),
        (
            "member=421 & denied & action=registry.token",
            Filter {
                member: Some(421),
                outcome: Some("denied".into()),
                action: Some(ActionMatch::Exact("registry.token".into())),
                ..Default::default()
            },
        ),
        // The product whose one repository is acme/repo-7: the events
        // naming it (none here) or its repository.
        ("product (acme/repo-7)", Filter { product: Some(product), ..Default::default() }),
        ("product (acme/repo-7) & last 24 h", Filter { product: Some(product), from: Some(now - Duration::days(1)), ..Default::default() }),
        ("repository=acme/repo-7 & registry.*", Filter { repository: Some("acme/repo-7".into()), action: Some(ActionMatch::Prefix("registry.".into())), ..Default::default() }),
        // Text: one event in 1,000 (its customer's credential), eight in
        // the whole log, none (no such trigram), one character.
        ("q=pull-00421 (early hit)", text("pull-00421")),
        ("q=Incident-7F3A (rare hit)", text("Incident-7F3A")),
        ("q=zzzz-not-there (no hit)", text("zzzz-not-there")),
        ("q=7 (one character)", text("7")),
        (
            "q=acme/repo-7 & before=ROWS/2",
            Filter { before: Some(rows / 2), ..text("acme/repo-7") },
        ),
        ("q=pull-00421 & action=registry.pull", Filter { action: Some(ActionMatch::Exact("registry.pull".into())), ..text("pull-00421") }),
        // Customer 421's events are all in acme/repo-30 (see fill_sql).
        ("q=acme/repo-30 & member=421", Filter { member: Some(421), ..text("acme/repo-30") }),
        ("q=acme/repo-7 & member=421 (no hit)", Filter { member: Some(421), ..text("acme/repo-7") }),
        ("q=pull-00421 & 30-60 days ago", Filter { from: Some(now - Duration::days(60)), to: Some(now - Duration::days(30)), ..text("pull-00421") }),
    ];
    println!("\n{} rows on {}, page size {PAGE}, {samples} samples each (ms)", count(&db).await?, db.backend());
    println!("{:<48} {:>9} {:>9} {:>10} {:>10}", "filter", "p1 p50", "p1 p95", "p100 p50", "p100 p95");
    for (name, filter) in filters {
        let first = time(&db, &filter, samples).await?;
        // The 100th page's cursor, by walking the keyset.
        let mut cursor = filter.clone();
        let mut reached = first.is_some();
        for _ in 1..100 {
            if !reached {
                break;
            }
            let page = match search(&db, &cursor, PAGE, DEFAULT_QUERY_TIMEOUT).await {
                Ok(page) => page,
                Err(QueryError::TooBroad(_)) => Vec::new(),
                Err(QueryError::Db(e)) => return Err(e.into()),
            };
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => cursor.before = Some(last.id),
                _ => reached = false,
            }
        }
        let hundredth = if reached { time(&db, &cursor, samples).await? } else { None };
        let fmt = |v: Option<(f64, f64)>, i: usize| v.map_or("-".to_owned(), |p| format!("{:.2}", if i == 0 { p.0 } else { p.1 }));
        let first_cells = match first {
            Some(_) => (fmt(first, 0), fmt(first, 1)),
            None => ("limit".to_owned(), "limit".to_owned()),
        };
        println!("{:<48} {:>9} {:>9} {:>10} {:>10}", name, first_cells.0, first_cells.1, fmt(hundredth, 0), fmt(hundredth, 1));
    }
    db.close().await;
    Ok(())
}

/// Seals the filled events (as the running portal would, a second after
/// they were written) and prints the rate; bounded at 60 minutes.
async fn seal(db: &Db) -> Result<(), sqlx::Error> {
    let started = Instant::now();
    let mut total = 0;
    while started.elapsed() < StdDuration::from_secs(3600) {
        let n = app::backend::services::audit::chain::seal_pending(db).await?;
        if n == 0 {
            break;
        }
        total += n;
    }
    if total > 0 {
        println!("sealed {total} events into the hash chain: {:.0} events/s", total as f64 / started.elapsed().as_secs_f64());
        // What autovacuum would do in the next minutes (and would otherwise
        // do in the middle of the timings): visibility map, statistics.
        if let Db::Postgres(p) = db {
            sqlx::query("VACUUM (ANALYZE) audit_events, audit_seals, audit_search").execute(p).await?;
        }
    }
    Ok(())
}

/// p50 and p95 in ms of fetching the page `filter` names; `None` when the
/// time limit stops it.
async fn time(db: &Db, filter: &Filter, samples: usize) -> Result<Option<(f64, f64)>, sqlx::Error> {
    let page = |db: &Db, filter: &Filter| {
        let (db, filter) = (db.clone(), filter.clone());
        async move {
            match search(&db, &filter, PAGE, DEFAULT_QUERY_TIMEOUT).await {
                Ok(_) => Ok(true),
                Err(QueryError::TooBroad(_)) => Ok(false),
                Err(QueryError::Db(e)) => Err(e),
            }
        }
    };
    if !page(db, filter).await? {
        return Ok(None); // warming up already met the limit
    }
    let deadline = Instant::now() + StdDuration::from_secs(60);
    let mut ms = Vec::with_capacity(samples);
    while ms.len() < samples && Instant::now() < deadline {
        let t = Instant::now();
        if !page(db, filter).await? {
            return Ok(None);
        }
        ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    ms.sort_by(|a, b| a.total_cmp(b));
    let at = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    Ok(Some((at(0.5), at(0.95))))
}

async fn count(db: &Db) -> Result<i64, sqlx::Error> {
    app::backend::db::audit::max_id(db).await
}

/// Inserts rows `have+1..=rows` in chunks, with SQL only (no round trip a row).
async fn fill(db: &Db, rows: i64) -> Result<(), sqlx::Error> {
    let have = count(db).await?;
    if have >= rows {
        return Ok(());
    }
    let started = Instant::now();
    let end = Utc::now().timestamp();
    let span = 90 * 86_400_i64; // seconds covered by `rows`
    let mut from = have + 1;
    let mut chunks = 0;
    while from <= rows && chunks < 1_000 && started.elapsed() < StdDuration::from_secs(3600) {
        let to = (from + CHUNK - 1).min(rows);
        let t = Instant::now();
        let (pg, lite) = fill_sql(end - span, span as f64 / rows as f64, (rows / 8).max(1));
        match db {
            Db::Postgres(p) => sqlx::query(&pg).bind(from).bind(to).execute(p).await.map(|_| ())?,
            Db::Sqlite(p) => sqlx::query(&lite).bind(from).bind(to).execute(p).await.map(|_| ())?,
        }
        chunks += 1;
        eprintln!("filled {to} rows ({:.0} rows/s)", (to - from + 1) as f64 / t.elapsed().as_secs_f64());
        from = to + 1;
    }
    println!("filled {} rows in {:.1} s", rows - have, started.elapsed().as_secs_f64());
    if let Db::Postgres(p) = db {
        sqlx::query("ANALYZE audit_events").execute(p).await?;
    } else if let Db::Sqlite(p) = db {
        sqlx::query("ANALYZE").execute(p).await?;
    }
    Ok(())
}

/// The fill statement for each backend: row g (1-based) of `$1..=$2`.
/// Customer c = 1 + (g * 7919) % 1000 and repository g % 50 go together
/// (customer 421 is always acme/repo-30); one row in `rare` (the middle
/// one of each stretch) carries the note `Incident-7F3A`.
fn fill_sql(start: i64, step: f64, rare: i64) -> (String, String) {
    let mid = rare / 2;
    let cols = "occurred_at, actor_user_id, actor, action, target_type, target_id, outcome, ip, user_agent, details, subject_user_id";
    let pg = format!(
        "INSERT INTO audit_events ({cols}) SELECT to_timestamp({start} + g * {step}), NULL, 'user' || (1 + (g * 7919) % 1000) || '@example.com', \
         CASE WHEN g % 50 = 0 THEN 'auth.login' WHEN g % 12 = 0 THEN 'registry.pull' ELSE 'registry.token' END, 'repository', \
         'acme/repo-' || (g % 50), CASE WHEN g % 5 = 0 THEN 'denied' ELSE 'success' END, \
         '10.0.' || ((g * 13) % 250) || '.' || ((g * 7) % 20), 'docker/27.0 go/go1.22', \
         jsonb_build_object('username', 'pull-' || lpad((1 + (g * 7919) % 1000)::text, 5, '0'), 'scopes', 'pull', 'granted', g % 5 <> 0) \
         || CASE WHEN g % {rare} = {mid} THEN jsonb_build_object('note', 'Incident-7F3A') ELSE '{{}}'::jsonb END, \
         1 + (g * 7919) % 1000 FROM generate_series($1::bigint, $2::bigint) AS g"
    );
    let lite = format!(
        "WITH RECURSIVE s(g) AS (SELECT $1 UNION ALL SELECT g + 1 FROM s WHERE g < $2) \
         INSERT INTO audit_events ({cols}) SELECT strftime('%Y-%m-%dT%H:%M:%S+00:00', CAST({start} + g * {step} AS INTEGER), 'unixepoch'), NULL, \
         'user' || (1 + (g * 7919) % 1000) || '@example.com', \
         CASE WHEN g % 50 = 0 THEN 'auth.login' WHEN g % 12 = 0 THEN 'registry.pull' ELSE 'registry.token' END, 'repository', \
         'acme/repo-' || (g % 50), CASE WHEN g % 5 = 0 THEN 'denied' ELSE 'success' END, \
         '10.0.' || ((g * 13) % 250) || '.' || ((g * 7) % 20), 'docker/27.0 go/go1.22', \
         CASE WHEN g % {rare} = {mid} \
         THEN json_object('username', 'pull-' || printf('%05d', 1 + (g * 7919) % 1000), 'scopes', 'pull', 'granted', json(CASE WHEN g % 5 <> 0 THEN 'true' ELSE 'false' END), 'note', 'Incident-7F3A') \
         ELSE json_object('username', 'pull-' || printf('%05d', 1 + (g * 7919) % 1000), 'scopes', 'pull', 'granted', json(CASE WHEN g % 5 <> 0 THEN 'true' ELSE 'false' END)) END, \
         1 + (g * 7919) % 1000 FROM s"
    );
    (pg, lite)
}

/// A product whose one repository is `acme/repo-7` (made once), for the
/// product filter; its id.
async fn product_of_repo_7(db: &Db) -> Result<i64, sqlx::Error> {
    let now = Utc::now();
    let make = "INSERT INTO products (slug, name, description, status, contact_sales, created_at, updated_at) \
                VALUES ('bench-repo-7', 'Bench repo 7', '', 'published', FALSE, $1, $1) ON CONFLICT (slug) DO NOTHING";
    let id = "SELECT id FROM products WHERE slug = 'bench-repo-7'";
    let repo = "INSERT INTO product_repositories (product_id, pattern) VALUES ($1, 'acme/repo-7') ON CONFLICT DO NOTHING";
    match db {
        Db::Sqlite(p) => {
            sqlx::query(make).bind(now).execute(p).await?;
            let id: i64 = sqlx::query_scalar(id).fetch_one(p).await?;
            sqlx::query(repo).bind(id).execute(p).await?;
            Ok(id)
        }
        Db::Postgres(p) => {
            sqlx::query(make).bind(now).execute(p).await?;
            let id: i64 = sqlx::query_scalar(id).fetch_one(p).await?;
            sqlx::query(repo).bind(id).execute(p).await?;
            Ok(id)
        }
    }
}
