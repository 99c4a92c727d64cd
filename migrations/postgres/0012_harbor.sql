-- Harbor provisioning (app/src/backend/services/harbor/): one Harbor robot
-- account per pull credential, kept in step with the customer's access by
-- an outbox the database fills itself. Keep in step with
-- migrations/sqlite/0012_harbor.sql.

-- Whether this deployment provisions Harbor robots; written at start-up
-- from the configuration (`PORTCULLIS_HARBOR_URL`), read by the triggers.
CREATE TABLE provisioning (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    harbor BOOLEAN NOT NULL DEFAULT FALSE
);
INSERT INTO provisioning (id, harbor) VALUES (1, FALSE);

-- The outbox: "this customer's robots may have to change". Filled by the
-- triggers below in the transaction of the change itself (so no code path
-- can forget it, and nothing is sent for a change that rolled back),
-- emptied by the job `harbor.provision`, which reads the customer's state
-- as it is then and converges their robots (idempotent: a replay finds
-- nothing to do). due_at NULL = due now; attempts and last_error say how
-- delivery went.
CREATE TABLE harbor_outbox (
    id          BIGSERIAL PRIMARY KEY,
    customer_id BIGINT      NOT NULL REFERENCES users (id),
    cause       TEXT        NOT NULL CHECK (cause IN ('entitlement', 'credential', 'account', 'product', 'schedule', 'start')),
    created_at  TIMESTAMPTZ NOT NULL,
    due_at      TIMESTAMPTZ,
    attempts    INTEGER     NOT NULL DEFAULT 0,
    last_error  TEXT CHECK (last_error IS NULL OR length(last_error) <= 2000)
);
CREATE INDEX harbor_outbox_customer ON harbor_outbox (customer_id, id);

CREATE FUNCTION harbor_enqueue(customer BIGINT, why TEXT) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF (SELECT harbor FROM provisioning WHERE id = 1) THEN
        INSERT INTO harbor_outbox (customer_id, cause, created_at) VALUES (customer, why, now());
    END IF;
END
$$;

CREATE FUNCTION harbor_outbox_entitlement() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM harbor_enqueue(NEW.customer_id, 'entitlement');
    RETURN NULL;
END
$$;
CREATE TRIGGER harbor_outbox_entitlement AFTER INSERT OR UPDATE ON entitlements
    FOR EACH ROW EXECUTE FUNCTION harbor_outbox_entitlement();

CREATE FUNCTION harbor_outbox_credential() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.kind = 'pull' THEN
        PERFORM harbor_enqueue(NEW.owner_user_id, 'credential');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER harbor_outbox_credential_ins AFTER INSERT ON registry_credentials
    FOR EACH ROW EXECUTE FUNCTION harbor_outbox_credential();
CREATE TRIGGER harbor_outbox_credential_upd AFTER UPDATE OF secret_hash, expires_at, revoked_at ON registry_credentials
    FOR EACH ROW EXECUTE FUNCTION harbor_outbox_credential();

CREATE FUNCTION harbor_outbox_account() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.role = 'customer' AND OLD.disabled IS DISTINCT FROM NEW.disabled THEN
        PERFORM harbor_enqueue(NEW.id, 'account');
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER harbor_outbox_account AFTER UPDATE OF disabled ON users
    FOR EACH ROW EXECUTE FUNCTION harbor_outbox_account();

CREATE FUNCTION harbor_outbox_product() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    product BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN product := OLD.product_id; ELSE product := NEW.product_id; END IF;
    IF (SELECT harbor FROM provisioning WHERE id = 1) THEN
        INSERT INTO harbor_outbox (customer_id, cause, created_at)
        SELECT DISTINCT customer_id, 'product', now() FROM entitlements WHERE product_id = product;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER harbor_outbox_product AFTER INSERT OR DELETE ON product_repositories
    FOR EACH ROW EXECUTE FUNCTION harbor_outbox_product();

-- What the portal knows of each credential's robot: its name in Harbor
-- (without Harbor's prefix; deterministic: the credential's user name), the
-- id Harbor gave it, its state and projects as last applied, and when the
-- customer's access next changes by itself (a window or grace end), which
-- the job turns into an outbox row at that minute.
CREATE TABLE harbor_robots (
    credential_id BIGINT      PRIMARY KEY REFERENCES registry_credentials (id),
    customer_id   BIGINT      NOT NULL REFERENCES users (id),
    name          TEXT        NOT NULL UNIQUE,
    harbor_id     BIGINT,
    state         TEXT        NOT NULL CHECK (state IN ('pending', 'enabled', 'disabled', 'deleted')),
    projects      TEXT        NOT NULL DEFAULT '',
    expires_at    TIMESTAMPTZ,
    next_check_at TIMESTAMPTZ,
    synced_at     TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);
CREATE INDEX harbor_robots_customer ON harbor_robots (customer_id);
CREATE INDEX harbor_robots_next_check ON harbor_robots (next_check_at);

-- Robot secrets the portal must still hand on, sealed like the signing keys
-- (bound to the credential and purpose): `deliver`, the secret Harbor must
-- get (a new credential's or a rotated one's), deleted once Harbor has
-- confirmed it; `reveal`, a new secret of a robot the portal had to make
-- again, kept until its owner has seen it once, with the reason.
CREATE TABLE harbor_secrets (
    credential_id BIGINT      NOT NULL REFERENCES registry_credentials (id),
    purpose       TEXT        NOT NULL CHECK (purpose IN ('deliver', 'reveal')),
    kek_id        TEXT        NOT NULL,
    nonce         BYTEA       NOT NULL,
    sealed        BYTEA       NOT NULL,
    reason        TEXT CHECK (reason IS NULL OR length(reason) <= 500),
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (credential_id, purpose)
);

-- One row per run of the reconciler (robots read from Harbor, repaired,
-- failed).
CREATE TABLE harbor_reconciliations (
    id          BIGSERIAL PRIMARY KEY,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    checked     BIGINT NOT NULL DEFAULT 0,
    repaired    BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    error       TEXT CHECK (error IS NULL OR length(error) <= 2000)
);
CREATE INDEX harbor_reconciliations_started ON harbor_reconciliations (started_at);
