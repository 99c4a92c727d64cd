//! Events: emission, the delivery queue, signing and the delivery task.
//!
//! One task delivers the queue in order (unless held by the `hold` switch),
//! at least once: a non-2xx answer or
//! a connection error is retried (100 ms doubling, capped at 2 s, at most
//! [`MAX_ATTEMPTS`] attempts) before the next event is sent.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::sync::watch;

use crate::objects;
use crate::state::{new_id, now, EventRecord, Shared, Store};

pub const MAX_ATTEMPTS: u32 = 20;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// The longest `flush` waits.
pub const MAX_FLUSH: Duration = Duration::from_secs(30);

/// The events one action emits; queued together when the action ends.
#[derive(Default)]
pub struct Batch {
    events: Vec<usize>,
    /// `request.id` / `request.idempotency_key` of the API call behind them.
    pub request: (Option<String>, Option<String>),
}

impl Batch {
    pub fn new(request: (Option<String>, Option<String>)) -> Self {
        Self {
            events: Vec::new(),
            request,
        }
    }
}

impl Store {
    /// Records an event of `type_` about `object` (already rendered).
    pub fn emit(&mut self, batch: &mut Batch, type_: &str, object: Value, prev: Option<Value>) {
        let id = new_id("evt_", 24);
        let created = now();
        let pending = u32::from(self.webhooks.url.is_some());
        let body = objects::event(
            &id,
            type_,
            created,
            object,
            prev,
            pending,
            batch.request.clone(),
        );
        let body = serde_json::to_string(&body).unwrap_or_default();
        self.events.push(EventRecord {
            id,
            type_: type_.to_string(),
            created,
            body,
            copies: 0,
            attempts: 0,
            delivered: 0,
            gave_up: 0,
            last_status: None,
            last_error: None,
        });
        batch.events.push(self.events.len() - 1);
    }

    /// Queues a finished action's events, applying the test switches.
    pub fn enqueue(&mut self, batch: Batch) {
        if self.webhooks.url.is_none() || batch.events.is_empty() {
            return;
        }
        let mut order = batch.events;
        if self.webhooks.out_of_order {
            order.reverse();
        }
        let rounds = if self.webhooks.duplicates { 2 } else { 1 };
        for _ in 0..rounds {
            for &index in &order {
                if let Some(record) = self.events.get_mut(index) {
                    record.copies += 1;
                }
                self.queue.push_back(index);
            }
        }
    }
}

/// `t=TS,v1=HEX(HMAC-SHA256(secret, "TS.BODY"))`.
pub fn signature_header(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .expect("HMAC-SHA256 accepts keys of any length");
    mac.update(format!("{timestamp}.{body}").as_bytes());
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// The delivery task: runs until `stop` turns true.
pub async fn deliver_forever(shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(client) => client,
        Err(err) => {
            tracing::error!("stripe-standin: webhook client: {err}");
            return;
        }
    };
    loop {
        if *stop.borrow() {
            return;
        }
        let next = {
            let store = shared.lock();
            // Held: nothing is sent until the switch is released.
            if store.webhooks.hold { None } else { store.queue.front().copied() }
        };
        let Some(index) = next else {
            {
                let store = shared.lock();
                if store.queue.is_empty() {
                    shared.drained.notify_waiters();
                }
            }
            tokio::select! {
                _ = shared.wake.notified() => {}
                // Turned true, or the `StandIn` was dropped.
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            }
            continue;
        };
        let mut backoff = FIRST_BACKOFF;
        let mut attempt = 0;
        let delivered = loop {
            // Re-read each time: a test may change the URL or secret meanwhile.
            let target = {
                let mut store = shared.lock();
                let body = store.events.get(index).map(|e| e.body.clone());
                match (store.webhooks.url.clone(), body) {
                    (Some(url), Some(body)) => Some((url, store.webhooks.secret.clone(), body)),
                    _ => {
                        // The URL was removed: what waits stays recorded only.
                        store.queue.clear();
                        None
                    }
                }
            };
            let Some((url, secret, body)) = target else {
                break None;
            };
            attempt += 1;
            let header = signature_header(&secret, now(), &body);
            let result = client
                .post(&url)
                .header("content-type", "application/json")
                .header("stripe-signature", header)
                .header(
                    "user-agent",
                    "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                )
                .body(body)
                .send()
                .await;
            let (status, error) = match result {
                Ok(response) => (Some(response.status().as_u16()), None),
                Err(err) => (None, Some(err.to_string())),
            };
            let ok = status.is_some_and(|s| (200..300).contains(&s));
            {
                let mut store = shared.lock();
                if let Some(record) = store.events.get_mut(index) {
                    record.attempts += 1;
                    record.last_status = status;
                    record.last_error = error;
                }
            }
            if ok || attempt >= MAX_ATTEMPTS {
                break Some(ok);
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        };
        let Some(delivered) = delivered else {
            continue;
        };
        let mut store = shared.lock();
        if let Some(record) = store.events.get_mut(index) {
            if delivered {
                record.delivered += 1;
            } else {
                record.gave_up += 1;
            }
        }
        store.queue.pop_front();
    }
}

/// What `flush` reports.
pub fn counts(store: &Store, timed_out: bool) -> Value {
    let delivered: u32 = store.events.iter().map(|e| e.delivered).sum();
    let gave_up: u32 = store.events.iter().map(|e| e.gave_up).sum();
    json!({
        "events": store.events.len(),
        "queued": store.queue.len(),
        "delivered": delivered,
        "failed": gave_up,
        "timed_out": timed_out,
    })
}

/// Waits until the delivery queue is empty, at most `limit` (≤ 30 s).
pub async fn flush(shared: &Shared, limit: Duration) -> Value {
    let deadline = Instant::now() + limit.min(MAX_FLUSH);
    loop {
        let drained = shared.drained.notified();
        {
            let store = shared.lock();
            if store.queue.is_empty() {
                return counts(&store, false);
            }
        }
        shared.wake.notify_one();
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return counts(&shared.lock(), true);
        }
        // The task also re-checks every 500 ms, so this never waits on a lost wake-up.
        let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), drained).await;
    }
}

/// Every event with its delivery state (`GET /test/events`).
pub fn list_events(store: &Store) -> Value {
    let data: Vec<Value> = store
        .events
        .iter()
        .map(|e| {
            json!({
                "id": e.id,
                "type": e.type_,
                "created": e.created,
                "copies": e.copies,
                "attempts": e.attempts,
                "delivered": e.copies > 0 && e.delivered >= e.copies,
                "deliveries": e.delivered,
                "failed": e.gave_up,
                "last_status": e.last_status,
                "last_error": e.last_error,
                "event": serde_json::from_str::<Value>(&e.body).unwrap_or(Value::Null),
            })
        })
        .collect();
    json!({ "object": "list", "data": data, "queued": store.queue.len() })
}
