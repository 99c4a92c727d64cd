-- Stripe billing: ids of the Stripe objects mirroring ours, orders (one per
-- Checkout Session) and the webhook events already processed (SQLite).
-- Keep in step with migrations/postgres/0005_billing.sql.

ALTER TABLE users ADD COLUMN stripe_customer_id TEXT;
CREATE UNIQUE INDEX users_stripe_customer ON users (stripe_customer_id);

ALTER TABLE products ADD COLUMN stripe_product_id TEXT;
CREATE UNIQUE INDEX products_stripe_product ON products (stripe_product_id);

ALTER TABLE prices ADD COLUMN stripe_price_id TEXT;
CREATE UNIQUE INDEX prices_stripe_price ON prices (stripe_price_id);

CREATE TABLE orders (
    id                         INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id                INTEGER NOT NULL REFERENCES users (id),
    product_id                 INTEGER NOT NULL REFERENCES products (id),
    price_id                   INTEGER NOT NULL REFERENCES prices (id),
    mode                       TEXT    NOT NULL CHECK (mode IN ('subscription', 'payment')),
    status                     TEXT    NOT NULL CHECK (status IN ('pending', 'active', 'past_due', 'unpaid',
                                   'canceled', 'paid', 'refunded', 'expired', 'incomplete', 'paused')),
    amount_cents               INTEGER NOT NULL,
    currency                   TEXT    NOT NULL,
    stripe_checkout_session_id TEXT    NOT NULL UNIQUE,
    stripe_subscription_id     TEXT    UNIQUE,
    stripe_payment_intent_id   TEXT    UNIQUE,
    entitlement_id             INTEGER REFERENCES entitlements (id),
    current_period_end         TEXT,
    past_due_since             TEXT,
    cancel_at_period_end       BOOLEAN NOT NULL DEFAULT FALSE,
    -- when the Stripe object last applied was read (a later read wins)
    stripe_state_at            TEXT,
    created_at                 TEXT    NOT NULL,
    updated_at                 TEXT    NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id, id);

CREATE TABLE stripe_events (
    id          TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    created     TEXT NOT NULL,
    received_at TEXT NOT NULL
);
