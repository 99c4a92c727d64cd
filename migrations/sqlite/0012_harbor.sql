-- Harbor provisioning (app/src/backend/services/harbor/): one Harbor robot
-- account per pull credential, kept in step with the customer's access by
-- an outbox the database fills itself. Keep in step with
-- migrations/postgres/0012_harbor.sql.

-- Whether this deployment provisions Harbor robots; written at start-up
-- from the configuration (`PORTCULLIS_HARBOR_URL`), read by the triggers.
CREATE TABLE provisioning (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    harbor INTEGER NOT NULL DEFAULT 0
);
INSERT INTO provisioning (id, harbor) VALUES (1, 0);

-- The outbox: "this customer's robots may have to change". Filled by the
-- triggers below in the transaction of the change itself (so no code path
-- can forget it, and nothing is sent for a change that rolled back),
-- emptied by the job `harbor.provision`, which reads the customer's state
-- as it is then and converges their robots (idempotent: a replay finds
-- nothing to do). due_at NULL = due now; attempts and last_error say how
-- delivery went.
CREATE TABLE harbor_outbox (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER NOT NULL REFERENCES users (id),
    cause       TEXT    NOT NULL CHECK (cause IN ('entitlement', 'credential', 'account', 'product', 'schedule', 'start')),
    created_at  TEXT    NOT NULL,
    due_at      TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT CHECK (last_error IS NULL OR length(last_error) <= 2000)
);
CREATE INDEX harbor_outbox_customer ON harbor_outbox (customer_id, id);

CREATE TRIGGER harbor_outbox_entitlement_ins AFTER INSERT ON entitlements
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT NEW.customer_id, 'entitlement', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_entitlement_upd AFTER UPDATE ON entitlements
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT NEW.customer_id, 'entitlement', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_credential_ins AFTER INSERT ON registry_credentials
WHEN NEW.kind = 'pull'
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT NEW.owner_user_id, 'credential', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_credential_upd
AFTER UPDATE OF secret_hash, expires_at, revoked_at ON registry_credentials
WHEN NEW.kind = 'pull'
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT NEW.owner_user_id, 'credential', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_account_upd AFTER UPDATE OF disabled ON users
WHEN NEW.role = 'customer' AND OLD.disabled IS NOT NEW.disabled
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT NEW.id, 'account', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_product_ins AFTER INSERT ON product_repositories
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT DISTINCT customer_id, 'product', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM entitlements WHERE product_id = NEW.product_id
      AND (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_product_del AFTER DELETE ON product_repositories
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT DISTINCT customer_id, 'product', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    FROM entitlements WHERE product_id = OLD.product_id
      AND (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;

-- What the portal knows of each credential's robot: its name in Harbor
-- (without Harbor's prefix; deterministic: the credential's user name), the
-- id Harbor gave it, its state and projects as last applied, and when the
-- customer's access next changes by itself (a window or grace end), which
-- the job turns into an outbox row at that minute.
CREATE TABLE harbor_robots (
    credential_id INTEGER PRIMARY KEY REFERENCES registry_credentials (id),
    customer_id   INTEGER NOT NULL REFERENCES users (id),
    name          TEXT    NOT NULL UNIQUE,
    harbor_id     INTEGER,
    state         TEXT    NOT NULL CHECK (state IN ('pending', 'enabled', 'disabled', 'deleted')),
    projects      TEXT    NOT NULL DEFAULT '',
    expires_at    TEXT,
    next_check_at TEXT,
    synced_at     TEXT,
    created_at    TEXT    NOT NULL
);
CREATE INDEX harbor_robots_customer ON harbor_robots (customer_id);
CREATE INDEX harbor_robots_next_check ON harbor_robots (next_check_at);

-- Robot secrets the portal must still hand on, sealed like the signing keys
-- (bound to the credential and purpose): `deliver`, the secret Harbor must
-- get (a new credential's or a rotated one's), deleted once Harbor has
-- confirmed it; `reveal`, a new secret of a robot the portal had to make
-- again, kept until its owner has seen it once, with the reason.
CREATE TABLE harbor_secrets (
    credential_id INTEGER NOT NULL REFERENCES registry_credentials (id),
    purpose       TEXT    NOT NULL CHECK (purpose IN ('deliver', 'reveal')),
    kek_id        TEXT    NOT NULL,
    nonce         BLOB    NOT NULL,
    sealed        BLOB    NOT NULL,
    reason        TEXT CHECK (reason IS NULL OR length(reason) <= 500),
    created_at    TEXT    NOT NULL,
    PRIMARY KEY (credential_id, purpose)
);

-- One row per run of the reconciler (robots read from Harbor, repaired,
-- failed).
CREATE TABLE harbor_reconciliations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT    NOT NULL,
    finished_at TEXT,
    checked     INTEGER NOT NULL DEFAULT 0,
    repaired    INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    error       TEXT CHECK (error IS NULL OR length(error) <= 2000)
);
CREATE INDEX harbor_reconciliations_started ON harbor_reconciliations (started_at);
