//! Benchmark (not a test): how fast `Decider::may_pull` answers, the access
//! check the registry token endpoint makes for every repository a pull
//! credential asks for (the same decision cache, entitlement loader and rule
//! as a token request, without the credential and the HTTP around it).
//!
//!   cargo run --release -p server --example bench_access -- [DATABASE_URL] [CUSTOMERS] [SECONDS] [CACHE_MS]
//!
//! Fills a fresh database (default: a temp SQLite file) with CUSTOMERS
//! customers (default 10,000) × 5 entitlements over 20 products, then asks
//! from 64 concurrent tasks for SECONDS (default 10) and prints checks per
//! second and p50/p99 latency. CACHE_MS is the cache's epoch age, as
//! `PORTCULLIS_REGISTRY_CACHE_MS` (default: the portal's default; 0 reads the
//! access epoch on every check). For PostgreSQL pass an empty database's URL.

use app::domain::access::{Decision, EntitlementSource};
use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, entitlements};
use app::backend::services::catalogue::ProductInput;
use app::backend::db::Db;
use app::backend::services::entitlements::Grant;
use app::backend::services::registry::Decider;
use app::backend::web::RequestMeta;
use chrono::{Duration, Utc};
use std::{sync::Arc, time::Instant};

const PRODUCTS: i64 = 20;
const PER_CUSTOMER: i64 = 5;
const CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = tempfile::tempdir()?;
    let url = args.get(1).filter(|u| !u.is_empty()).cloned().unwrap_or_else(|| format!("sqlite://{}/bench.db", dir.path().display()));
    let customers: i64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let seconds: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10).min(120);
    let cache_ms: u64 = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(server::config::DEFAULT_REGISTRY_CACHE_MS);

    let db = Db::connect(&url).await?;
    db.migrate().await?;
    println!(
        "may_pull benchmark on {} ({customers} customers × {PER_CUSTOMER} entitlements, {PRODUCTS} products, cache {cache_ms} ms)",
        db.backend()
    );
    let fill = Instant::now();
    let meta = RequestMeta::default();
    let mut products = Vec::new();
    for p in 0..PRODUCTS {
        let input = ProductInput {
            name: format!("Product {p}"),
            repositories: vec![format!("acme/p{p}"), format!("acme/p{p}-*")],
            contact_sales: true,
            ..Default::default()
        };
        products.push(catalogue::create(&db, &input, &[], Actor::System, &meta).await?.id);
    }
    let now = Utc::now();
    let mut first_customer = None;
    for c in 0..customers {
        let email = format!("c{c}@bench.example");
        let id = app::backend::services::customers::create(&db, &email, None, None, Actor::System, &meta).await?.id;
        first_customer.get_or_insert(id);
        for k in 0..PER_CUSTOMER {
            let product_id = products[((c + k * 3) % PRODUCTS) as usize];
            let grant = Grant {
                customer_id: id,
                product_id,
                source: EntitlementSource::Manual,
                starts_at: now - Duration::days(1),
                ends_at: Some(now + Duration::days(30)),
                note: None,
            };
            entitlements::grant(&db, &grant, Actor::System, &meta).await?;
        }
    }
    println!("  filled in {:.1} s", fill.elapsed().as_secs_f64());

    let first = first_customer.unwrap_or(1);
    let decider = Arc::new(Decider::new(db, std::time::Duration::from_millis(cache_ms)));
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for t in 0..CONCURRENCY {
        let decider = decider.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut granted, mut i) = (0u64, t as i64);
            while Instant::now() < deadline {
                let c = first + (i * 7919) % customers;
                let repo = format!("acme/p{}-plugin", (i % PRODUCTS));
                let t0 = Instant::now();
                if let Ok(Decision::Granted { .. }) = decider.may_pull(c, &repo, Utc::now()).await {
                    granted += 1;
                }
                lat.push(t0.elapsed());
                i += CONCURRENCY as i64;
            }
            (lat, granted)
        }));
    }
    let (mut lat, mut granted) = (Vec::new(), 0);
    for t in tasks {
        let (l, g) = t.await?;
        lat.extend(l);
        granted += g;
    }
    lat.sort();
    let pct = |p: f64| lat[((lat.len() - 1) as f64 * p) as usize].as_secs_f64() * 1000.0;
    println!(
        "  {} checks in {seconds} s at concurrency {CONCURRENCY}: {:.0} checks/s ({} granted); p50 {:.2} ms, p99 {:.2} ms",
        lat.len(),
        lat.len() as f64 / seconds as f64,
        granted,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
