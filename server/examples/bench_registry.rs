//! Benchmark helper (not a test) for `bench/registry.sh`: fills a database
//! for the token service, loads a running portal over HTTP, and counts the
//! audit rows it wrote.
//!
//!   bench_registry seed  DATABASE_URL CUSTOMERS
//!       20 published products (`acme/p0` … `acme/p19`, each also `acme/pN-*`),
//!       CUSTOMERS customers × 5 entitlements, one pull credential each
//!       (user `pull-benchN`, secret `bench-secret-N`), stored as the service
//!       stores them (hex SHA-256) by bulk INSERTs; an admin with a push
//!       credential, printed as `push USER SECRET`.
//!   bench_registry load  BASE_URL token|livez SECONDS CONCURRENCY CUSTOMERS
//!       CONCURRENCY keep-alive connections, each sending its next request
//!       when the last answer is read, for SECONDS (at most 120); every
//!       request in flight at the deadline is awaited, so the count is exact.
//!       Token requests rotate over the customers, each asking for one of
//!       its own repositories; a grant is a 200 whose token grants `pull`.
//!       Prints `result KIND requests granted other errors rps p50_ms p99_ms`.
//!   bench_registry count DATABASE_URL
//!       Prints `audit registry.token ROWS` (and per outcome).

use app::backend::services::audit::Actor;
use app::backend::services::{catalogue, credentials};
use app::backend::services::catalogue::ProductInput;
use app::domain::credential::CredentialKind;
use app::backend::db::{Db, Tx};
use app::backend::web::secrets::hash_secret;
use app::backend::web::RequestMeta;
use app::{domain::catalogue::ProductStatus, on_db, on_tx};
use base64::Engine;
use chrono::{Duration, Utc};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const PRODUCTS: i64 = 20;
const PER_CUSTOMER: i64 = 5;
const CHUNK: i64 = 500;
/// A bound on every connection's loop besides the deadline.
const MAX_PER_CONNECTION: usize = 5_000_000;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The products customer `c` is entitled to (as in bench_access).
fn products_of(c: i64) -> impl Iterator<Item = i64> {
    (0..PER_CUSTOMER).map(move |k| (c + k * 3) % PRODUCTS)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let num = |i: usize, d: u64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    match arg(0).as_str() {
        "seed" => seed(&arg(1), num(2, 10_000) as i64).await,
        "load" => load(&arg(1), &arg(2), num(3, 30).min(120), num(4, 64) as usize, num(5, 10_000) as i64).await,
        "count" => count(&arg(1)).await,
        "wrk-lua" => wrk_lua(num(1, 10_000) as i64),
        _ => Err("usage: bench_registry seed URL N | load BASE token|livez SECONDS CONCURRENCY N | count URL | wrk-lua N".into()),
    }
}

async fn seed(url: &str, customers: i64) -> Result<(), Error> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    let started = Instant::now();
    let meta = RequestMeta::default();
    for p in 0..PRODUCTS {
        let input = ProductInput {
            name: format!("Product {p}"),
            repositories: vec![format!("acme/p{p}"), format!("acme/p{p}-*")],
            contact_sales: true,
            ..Default::default()
        };
        let id = catalogue::create(&db, &input, &[], Actor::System, &meta).await?.id;
        catalogue::set_status(&db, id, ProductStatus::Published, Actor::System, &meta).await?;
    }
    let product_ids: Vec<i64> = on_db!(&db, |pool| sqlx::query_scalar("SELECT id FROM products ORDER BY id")
        .fetch_all(pool)
        .await)?;
    let now = Utc::now();
    let (start, end) = (now - Duration::days(1), now + Duration::days(365));
    let mut c = 0;
    while c < customers {
        let upto = (c + CHUNK).min(customers);
        let mut tx = db.begin().await?;
        let emails: Vec<String> = (c..upto).map(|i| format!("c{i}@bench.example")).collect();
        on_tx!(&mut tx, |conn| {
            let mut q = sqlx::QueryBuilder::new("INSERT INTO users (email, password_hash, role, created_at) ");
            q.push_values(&emails, |mut b, e| {
                b.push_bind(e).push_bind("!").push_bind("customer").push_bind(now);
            });
            q.build().execute(conn).await.map(|_| ())
        })?;
        let ids = user_ids(&mut tx, &emails).await?;
        let grants: Vec<(i64, i64)> =
            (c..upto).zip(&ids).flat_map(|(i, id)| products_of(i).map(move |p| (*id, p))).collect();
        on_tx!(&mut tx, |conn| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO entitlements (customer_id, product_id, status, source, starts_at, ends_at, created_at, updated_at) ",
            );
            q.push_values(&grants, |mut b, (id, p)| {
                b.push_bind(*id)
                    .push_bind(product_ids[*p as usize])
                    .push_bind("active")
                    .push_bind("manual")
                    .push_bind(start)
                    .push_bind(end)
                    .push_bind(now)
                    .push_bind(now);
            });
            q.build().execute(conn).await.map(|_| ())
        })?;
        let creds: Vec<(i64, String, String)> =
            (c..upto).zip(&ids).map(|(i, id)| (*id, format!("pull-bench{i}"), hash_secret(&format!("bench-secret-{i}")))).collect();
        on_tx!(&mut tx, |conn| {
            let mut q = sqlx::QueryBuilder::new(
                "INSERT INTO registry_credentials (owner_user_id, kind, name, username, secret_hash, created_by, created_at) ",
            );
            q.push_values(&creds, |mut b, (id, user, hash)| {
                b.push_bind(*id).push_bind("pull").push_bind("bench").push_bind(user).push_bind(hash).push_bind("bench").push_bind(now);
            });
            q.build().execute(conn).await.map(|_| ())
        })?;
        tx.commit().await?;
        c = upto;
    }
    let admin = app::backend::services::users::create(
        &db,
        &app::domain::Email::parse("admin@bench.example")?,
        &app::domain::Password::parse("bench admin password", None)?,
        app::domain::Role::Admin,
        Actor::System,
        &meta,
    )
    .await
    .map_err(|e| format!("admin: {e:?}"))?;
    let push = credentials::create(&db, admin, CredentialKind::Push, "bench ci", None, None, Actor::System, &meta).await?;
    println!(
        "seeded {} in {:.1} s: {customers} customers × {PER_CUSTOMER} entitlements over {PRODUCTS} products, one pull credential each",
        db.backend(),
        started.elapsed().as_secs_f64()
    );
    println!("push {} {}", push.username, push.secret);
    db.close().await;
    Ok(())
}

async fn user_ids(tx: &mut Tx, emails: &[String]) -> Result<Vec<i64>, sqlx::Error> {
    let mut ids = Vec::with_capacity(emails.len());
    for e in emails {
        let sql = "SELECT id FROM users WHERE email = $1";
        ids.push(on_tx!(&mut *tx, |conn| sqlx::query_scalar(sql).bind(e).fetch_one(conn).await)?);
    }
    Ok(ids)
}

async fn count(url: &str) -> Result<(), Error> {
    let db = Db::connect(url).await?;
    let sql = "SELECT outcome, COUNT(*) FROM audit_events WHERE action = 'registry.token' GROUP BY outcome ORDER BY outcome";
    let rows: Vec<(String, i64)> = on_db!(&db, |pool| sqlx::query_as(sql).fetch_all(pool).await)?;
    let total: i64 = rows.iter().map(|r| r.1).sum();
    println!("audit registry.token {total}");
    for (outcome, n) in rows {
        println!("audit registry.token.{outcome} {n}");
    }
    db.close().await;
    Ok(())
}

/// One request's answer: status and whether it granted `pull`.
struct Answer {
    status: u16,
    granted: bool,
}

/// The `token_path` and `basic` of customer `c`'s token request.
fn token_request(c: i64) -> (String, String) {
    let p = products_of(c).nth((c % PER_CUSTOMER) as usize).unwrap_or(0);
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("pull-bench{c}:bench-secret-{c}"));
    (format!("/registry/token?service=portcullis-registry&scope=repository:acme/p{p}:pull"), basic)
}

/// A wrk script (Lua) sending the same token requests as `load`, rotating
/// over the customers: printed to standard output.
fn wrk_lua(customers: i64) -> Result<(), Error> {
    let mut out = String::from("-- generated by bench_registry wrk-lua\nlocal reqs = {\n");
    for c in 0..customers {
        let (path, basic) = token_request(c);
        out.push_str(&format!("  {{\"{path}\", \"Basic {basic}\"}},\n"));
    }
    out.push_str(
        "}\nlocal i = 0\nrequest = function()\n  i = i % #reqs + 1\n  local r = reqs[i]\n  \
         return wrk.format(\"GET\", r[1], {[\"Authorization\"] = r[2], [\"User-Agent\"] = \"wrk\"})\nend\n",
    );
    print!("{out}");
    Ok(())
}

async fn load(base: &str, kind: &str, seconds: u64, concurrency: usize, customers: i64) -> Result<(), Error> {
    let addr = base.trim_start_matches("http://").trim_end_matches('/').to_owned();
    let token = match kind {
        "token" => true,
        "livez" => false,
        _ => return Err("kind must be token or livez".into()),
    };
    // Requests are prepared before the clock starts: the client only writes and reads.
    let requests: std::sync::Arc<Vec<Vec<u8>>> = std::sync::Arc::new(if token {
        (0..customers)
            .map(|c| {
                let (path, basic) = token_request(c);
                format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: bench-registry\r\nAuthorization: Basic {basic}\r\n\r\n")
                    .into_bytes()
            })
            .collect()
    } else {
        vec![format!("GET /livez HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: bench-registry\r\n\r\n").into_bytes()]
    });
    let deadline = Instant::now() + std::time::Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for t in 0..concurrency {
        let (addr, requests) = (addr.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat: Vec<u32> = Vec::new();
            let (mut granted, mut other, mut errors) = (0u64, 0u64, 0u64);
            let mut conn: Option<Conn> = None;
            let mut i = t;
            while Instant::now() < deadline && lat.len() + (errors as usize) < MAX_PER_CONNECTION {
                if conn.is_none() {
                    match Conn::open(&addr).await {
                        Ok(c) => conn = Some(c),
                        Err(_) => {
                            errors += 1;
                            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                            continue;
                        }
                    }
                }
                let req = &requests[i % requests.len()];
                i += concurrency;
                let t0 = Instant::now();
                let Some(c) = conn.as_mut() else { continue };
                let result = c.roundtrip(req, token).await;
                match result {
                    Ok(a) => {
                        lat.push(t0.elapsed().as_micros() as u32);
                        if a.status == 200 && (a.granted || !token) {
                            granted += 1;
                        } else {
                            other += 1;
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        conn = None;
                    }
                }
            }
            (lat, granted, other, errors)
        }));
    }
    let (mut lat, mut granted, mut other, mut errors) = (Vec::new(), 0, 0, 0);
    for t in tasks {
        let (l, g, o, e) = t.await?;
        lat.extend(l);
        granted += g;
        other += o;
        errors += e;
    }
    let elapsed = seconds as f64;
    lat.sort_unstable();
    let pct = |p: f64| if lat.is_empty() { 0.0 } else { lat[((lat.len() - 1) as f64 * p) as usize] as f64 / 1000.0 };
    println!(
        "result {kind} {} {granted} {other} {errors} {:.0} {:.2} {:.2}",
        lat.len(),
        granted as f64 / elapsed,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}

/// A keep-alive HTTP/1.1 connection: the leanest client (no pooling, no
/// header maps), so the two cores go to the portal.
struct Conn {
    stream: tokio::net::TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    async fn open(addr: &str) -> std::io::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, buf: Vec::with_capacity(4096) })
    }

    async fn roundtrip(&mut self, req: &[u8], token: bool) -> std::io::Result<Answer> {
        self.stream.write_all(req).await?;
        self.buf.clear();
        let bad = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_owned());
        let head_end = loop {
            if let Some(pos) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break pos + 4;
            }
            self.fill().await?;
        };
        let head = std::str::from_utf8(&self.buf[..head_end]).map_err(|_| bad("head not UTF-8"))?;
        let status: u16 = head.get(9..12).and_then(|s| s.parse().ok()).ok_or_else(|| bad("no status"))?;
        let length = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .ok_or_else(|| bad("no content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let body = &self.buf[head_end..head_end + length];
        let granted = token && status == 200 && grants_pull(body);
        Ok(Answer { status, granted })
    }

    async fn fill(&mut self) -> std::io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "closed"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

/// Whether a token response's JWT grants `pull` (its payload, decoded).
fn grants_pull(body: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(body) else { return false };
    let Some(jwt) = v.get("token").and_then(|t| t.as_str()) else { return false };
    let Some(payload) = jwt.split('.').nth(1) else { return false };
    let Ok(bytes) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload) else { return false };
    let Ok(claims) = serde_json::from_slice::<serde_json::Value>(&bytes) else { return false };
    claims["access"].as_array().is_some_and(|a| {
        a.iter().any(|x| x["actions"].as_array().is_some_and(|acts| acts.iter().any(|s| s == "pull")))
    })
}
