-- Catalogue, entitlements and API keys (SQLite).
-- Keep in step with migrations/postgres/0002_catalogue.sql.

-- The user whose access an audit event concerns (the customer of an
-- entitlement change, the account of a login), for per-customer activity.
ALTER TABLE audit_events ADD COLUMN subject_user_id INTEGER;
CREATE INDEX audit_events_subject ON audit_events (subject_user_id, id);

-- A display name for customers (a company or a person); optional.
ALTER TABLE users ADD COLUMN name TEXT CHECK (name IS NULL OR length(name) <= 200);

CREATE TABLE products (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    slug          TEXT    NOT NULL UNIQUE CHECK (length(slug) BETWEEN 2 AND 64),
    name          TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    description   TEXT    NOT NULL DEFAULT '' CHECK (length(description) <= 20000),
    status        TEXT    NOT NULL CHECK (status IN ('draft', 'published', 'archived')),
    contact_sales BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT    NOT NULL,
    updated_at    TEXT    NOT NULL
);

-- Exact repository names (acme/widget) or prefixes ending in * (acme/widget-*).
CREATE TABLE product_repositories (
    product_id INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    pattern    TEXT    NOT NULL CHECK (length(pattern) BETWEEN 1 AND 256),
    PRIMARY KEY (product_id, pattern)
);

CREATE TABLE prices (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    product_id   INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL CHECK (kind IN ('monthly', 'yearly', 'one_time', 'trial')),
    amount_cents INTEGER NOT NULL CHECK (amount_cents >= 0),
    currency     TEXT    NOT NULL CHECK (length(currency) = 3),
    -- months of access for one_time, days for trial, NULL for subscriptions
    duration     INTEGER CHECK (duration IS NULL OR duration BETWEEN 1 AND 1200),
    active       BOOLEAN NOT NULL DEFAULT TRUE,
    created_at   TEXT    NOT NULL
);
CREATE INDEX prices_product ON prices (product_id);

CREATE TABLE entitlements (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id      INTEGER NOT NULL REFERENCES users (id),
    product_id       INTEGER NOT NULL REFERENCES products (id),
    status           TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'revoked', 'expired')),
    source           TEXT    NOT NULL CHECK (source IN ('manual', 'subscription', 'one_time', 'trial')),
    starts_at        TEXT    NOT NULL,
    ends_at          TEXT,
    grace_until      TEXT,
    suspended_reason TEXT,
    note             TEXT CHECK (note IS NULL OR length(note) <= 1000),
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX entitlements_customer ON entitlements (customer_id);
CREATE INDEX entitlements_product ON entitlements (product_id);

CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    name         TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    role         TEXT    NOT NULL CHECK (role IN ('admin', 'auditor')),
    -- the key's public id (shown in lists); the secret is stored only as SHA-256
    key_id       TEXT    NOT NULL UNIQUE,
    secret_hash  TEXT    NOT NULL,
    created_by   TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    last_used_at TEXT,
    revoked_at   TEXT
);
