//! The in-memory model: the records the objects are rendered from.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde_json::{Map, Value};
use tokio::sync::Notify;

pub type Metadata = Map<String, Value>;

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `prefix` + random alphanumerics, shaped like Stripe's ids.
pub fn new_id(prefix: &str, len: usize) -> String {
    let tail: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect();
    format!("{prefix}{tail}")
}

/// `ts` moved `count` intervals forward (calendar months and years).
pub fn add_interval(ts: i64, interval: &str, count: i64) -> i64 {
    let Some(start) = chrono::DateTime::from_timestamp(ts, 0) else {
        return ts;
    };
    let count32 = u32::try_from(count.max(1)).unwrap_or(1);
    let moved = match interval {
        "day" => start.checked_add_signed(chrono::TimeDelta::days(count)),
        "week" => start.checked_add_signed(chrono::TimeDelta::weeks(count)),
        "year" => start.checked_add_months(chrono::Months::new(count32.saturating_mul(12))),
        _ => start.checked_add_months(chrono::Months::new(count32)),
    };
    moved.map_or(ts, |t| t.timestamp())
}

pub struct Customer {
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
    pub invoice_prefix: String,
    pub next_invoice_sequence: i64,
}

pub struct Product {
    pub id: String,
    pub created: i64,
    pub updated: i64,
    pub name: String,
    pub description: Option<String>,
    pub active: bool,
    pub metadata: Metadata,
}

#[derive(Clone)]
pub struct Recurring {
    pub interval: String,
    pub interval_count: i64,
}

pub struct Price {
    pub id: String,
    pub created: i64,
    pub product: String,
    pub currency: String,
    pub unit_amount: i64,
    pub recurring: Option<Recurring>,
    pub active: bool,
    pub nickname: Option<String>,
    pub lookup_key: Option<String>,
    pub metadata: Metadata,
}

pub struct Session {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub expires_at: i64,
    /// `subscription` or `payment`.
    pub mode: String,
    /// `open`, `complete` or `expired`.
    pub status: String,
    pub customer: Option<String>,
    /// `None` when a customer was given, else `if_required` or `always`.
    pub customer_creation: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub success_url: String,
    pub cancel_url: Option<String>,
    pub metadata: Metadata,
    pub price: String,
    pub quantity: i64,
    pub subscription_metadata: Metadata,
    pub payment_intent_metadata: Metadata,
    pub subscription: Option<String>,
    pub payment_intent: Option<String>,
    pub invoice: Option<String>,
    pub completed_at: Option<i64>,
}

pub struct Subscription {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub price: String,
    pub quantity: i64,
    pub item_id: String,
    /// `active`, `past_due`, `unpaid` or `canceled`.
    pub status: String,
    pub period_start: i64,
    pub period_end: i64,
    pub cancel_at_period_end: bool,
    pub cancel_at: Option<i64>,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub cancel_reason: Option<String>,
    pub metadata: Metadata,
    pub latest_invoice: Option<String>,
    /// Armed by `fail_next_invoice`: the next renewal's payment fails.
    pub fail_next: bool,
}

pub struct Invoice {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub subscription: String,
    pub subscription_metadata: Metadata,
    pub line_id: String,
    pub price: String,
    pub quantity: i64,
    pub amount: i64,
    pub currency: String,
    pub billing_reason: String,
    /// `open` or `paid`.
    pub status: String,
    pub attempt_count: i64,
    pub paid_at: Option<i64>,
    pub next_payment_attempt: Option<i64>,
    /// The invoice's own period (the previous one for renewals, as Stripe does).
    pub period_start: i64,
    pub period_end: i64,
    /// The service period of its line.
    pub line_start: i64,
    pub line_end: i64,
    pub number: String,
    pub payment_intent: Option<String>,
    /// Its default `invoice_payment` (`inpay_...`), rendered from the invoice.
    pub payment_id: String,
}

pub struct PaymentIntent {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    /// `succeeded` or `requires_payment_method` (a failed attempt).
    pub status: String,
    pub latest_charge: Option<String>,
    pub failed: bool,
}

pub struct Refund {
    pub id: String,
    pub created: i64,
    pub amount: i64,
}

pub struct Charge {
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub payment_intent: String,
    pub billing_email: Option<String>,
    pub billing_name: Option<String>,
    pub refunds: Vec<Refund>,
    /// A dispute was opened on it (it stays true once set, as in Stripe).
    pub disputed: bool,
}

impl Charge {
    pub fn amount_refunded(&self) -> i64 {
        self.refunds.iter().map(|r| r.amount).sum()
    }
}

/// A chargeback on a charge (`dispute`).
pub struct Dispute {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub charge: String,
    pub payment_intent: String,
    pub amount: i64,
    pub currency: String,
    /// `needs_response`, `won` or `lost`.
    pub status: String,
    pub reason: String,
    pub due_by: i64,
}

impl Dispute {
    pub fn is_closed(&self) -> bool {
        matches!(self.status.as_str(), "won" | "lost")
    }
}

pub struct PortalSession {
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub return_url: Option<String>,
}

/// One emitted event and what happened to its deliveries.
pub struct EventRecord {
    pub id: String,
    pub type_: String,
    pub created: i64,
    pub body: String,
    /// Deliveries queued for it (2 with the duplicates switch, 0 without a URL).
    pub copies: u32,
    pub attempts: u32,
    pub delivered: u32,
    pub gave_up: u32,
    pub last_status: Option<u16>,
    pub last_error: Option<String>,
}

#[derive(Default)]
pub struct WebhookSettings {
    pub url: Option<String>,
    pub secret: String,
    pub duplicates: bool,
    pub out_of_order: bool,
    /// Queued events wait (are not sent) until this turns false again.
    pub hold: bool,
}

pub struct IdempotentReply {
    pub fingerprint: String,
    pub status: u16,
    pub body: Value,
}

#[derive(Default)]
pub struct Store {
    pub seq: u64,
    pub customers: HashMap<String, Customer>,
    pub products: HashMap<String, Product>,
    pub prices: HashMap<String, Price>,
    pub sessions: HashMap<String, Session>,
    pub subscriptions: HashMap<String, Subscription>,
    pub invoices: HashMap<String, Invoice>,
    pub payment_intents: HashMap<String, PaymentIntent>,
    pub charges: HashMap<String, Charge>,
    pub disputes: HashMap<String, Dispute>,
    pub portal_sessions: HashMap<String, PortalSession>,
    pub idempotency: HashMap<String, IdempotentReply>,
    pub events: Vec<EventRecord>,
    /// Indices into `events`, in delivery order.
    pub queue: VecDeque<usize>,
    pub webhooks: WebhookSettings,
}

impl Store {
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }
}

/// Everything the routes and the delivery task share.
pub struct Shared {
    store: Mutex<Store>,
    /// Wakes the delivery task when events are queued.
    pub wake: Notify,
    /// Wakes `flush` waiters when the queue drains.
    pub drained: Notify,
    pub api_key: String,
    pub public_base: String,
}

impl Shared {
    pub fn new(api_key: String, public_base: String, hooks: WebhookSettings) -> Self {
        let store = Store {
            webhooks: hooks,
            ..Store::default()
        };
        Self {
            store: Mutex::new(store),
            wake: Notify::new(),
            drained: Notify::new(),
            api_key,
            public_base,
        }
    }

    pub fn lock(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock leaves plain data; keep serving it.
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
