-- Registry credentials, registry events, pushed tags and the access epoch (SQLite).
-- Keep in step with migrations/postgres/0003_registry.sql.

-- Pull credentials (owned by a customer) and push credentials (owned by an
-- admin, for the vendor's CI). The secret is stored only as SHA-256.
CREATE TABLE registry_credentials (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_user_id  INTEGER NOT NULL REFERENCES users (id),
    kind           TEXT    NOT NULL CHECK (kind IN ('pull', 'push')),
    name           TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    username       TEXT    NOT NULL UNIQUE,
    secret_hash    TEXT    NOT NULL,
    created_by     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL,
    expires_at     TEXT,
    rotated_at     TEXT,
    last_used_at   TEXT,
    last_pulled_at TEXT,
    revoked_at     TEXT
);
CREATE INDEX registry_credentials_owner ON registry_credentials (owner_user_id, id);

-- Notifications from the registry, de-duplicated on the registry's event id.
-- Only manifest pushes and manifest GETs are kept (blob events are noise).
CREATE TABLE registry_events (
    event_id      TEXT    PRIMARY KEY,
    received_at   TEXT    NOT NULL,
    occurred_at   TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    repository    TEXT    NOT NULL,
    tag           TEXT,
    digest        TEXT,
    media_type    TEXT,
    method        TEXT,
    actor         TEXT,
    credential_id INTEGER,
    ip            TEXT,
    user_agent    TEXT
);
CREATE INDEX registry_events_repository ON registry_events (repository, occurred_at);
CREATE INDEX registry_events_credential ON registry_events (credential_id, occurred_at);

-- The tags each repository has, from push events (newest push wins).
CREATE TABLE repository_tags (
    repository TEXT NOT NULL,
    tag        TEXT NOT NULL,
    digest     TEXT NOT NULL,
    pushed_at  TEXT NOT NULL,
    pushed_by  TEXT,
    PRIMARY KEY (repository, tag)
);

-- A counter every change that can alter a registry decision bumps (by the
-- triggers below, so no code path can forget it). The token service caches
-- credentials and entitlements and re-reads them when the epoch moves.
CREATE TABLE access_epoch (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    epoch INTEGER NOT NULL
);
INSERT INTO access_epoch (id, epoch) VALUES (1, 0);

CREATE TRIGGER entitlements_epoch_ins AFTER INSERT ON entitlements
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER entitlements_epoch_upd AFTER UPDATE ON entitlements
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER entitlements_epoch_del AFTER DELETE ON entitlements
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER product_repositories_epoch_ins AFTER INSERT ON product_repositories
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER product_repositories_epoch_del AFTER DELETE ON product_repositories
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER products_epoch_upd AFTER UPDATE OF status ON products
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER users_epoch_upd AFTER UPDATE OF role, disabled ON users
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;

CREATE TRIGGER registry_credentials_epoch_ins AFTER INSERT ON registry_credentials
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER registry_credentials_epoch_upd
AFTER UPDATE OF owner_user_id, kind, username, secret_hash, expires_at, revoked_at ON registry_credentials
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
