-- Organisations (app/src/backend/services/organisations.rs): a customer is
-- an organisation with members. Keep in step with
-- migrations/postgres/0013_organisations.sql.
--
-- An organisation's id is its founder's user id (the account whose sign-up
-- or creation made it). So every customer from before keeps its id as the
-- organisation's, entitlements, orders and Harbor rows keep their
-- customer_id (now an organisation id; their reference to users holds, as
-- the founder's row is never deleted) and links and REST ids keep meaning
-- the same customer.
CREATE TABLE organisations (
    id                 INTEGER PRIMARY KEY REFERENCES users (id),
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    stripe_customer_id TEXT    UNIQUE,
    created_at         TEXT    NOT NULL
);

-- A person belongs to at most one organisation. member_role: owner
-- (members, credentials, billing), billing (orders, payment notices),
-- member (own credentials). joined_at NULL: invited, not yet accepted.
ALTER TABLE users ADD COLUMN organisation_id INTEGER REFERENCES organisations (id);
ALTER TABLE users ADD COLUMN member_role TEXT CHECK (member_role IS NULL OR member_role IN ('owner', 'billing', 'member'));
ALTER TABLE users ADD COLUMN joined_at TEXT;
ALTER TABLE users ADD COLUMN invited_by INTEGER REFERENCES users (id);
CREATE INDEX users_organisation ON users (organisation_id);

-- Every customer becomes the owner of a one-member organisation with its
-- name (or address) and its Stripe customer. users.stripe_customer_id is
-- no longer read or written.
INSERT INTO organisations (id, name, stripe_customer_id, created_at)
SELECT id, COALESCE(name, email), stripe_customer_id, created_at FROM users WHERE role = 'customer';
UPDATE users SET organisation_id = id, member_role = 'owner', joined_at = created_at WHERE role = 'customer';

-- Pull credentials belong to an organisation; held by a member (revoked
-- when the member leaves) or by the organisation (CI, clusters: survive any
-- member's departure). The customers' credentials from before are the
-- organisation's. networks: the CIDR ranges the credential may be used
-- from (space separated, normalised; empty: anywhere).
ALTER TABLE registry_credentials ADD COLUMN organisation_id INTEGER REFERENCES organisations (id);
ALTER TABLE registry_credentials ADD COLUMN holder TEXT CHECK (holder IS NULL OR holder IN ('member', 'organisation'));
ALTER TABLE registry_credentials ADD COLUMN networks TEXT NOT NULL DEFAULT '' CHECK (length(networks) <= 2000);
UPDATE registry_credentials SET organisation_id = owner_user_id, holder = 'organisation' WHERE kind = 'pull';
CREATE INDEX registry_credentials_organisation ON registry_credentials (organisation_id, id);

-- The products a credential is limited to (none: every product the
-- organisation is entitled to).
CREATE TABLE credential_products (
    credential_id INTEGER NOT NULL REFERENCES registry_credentials (id),
    product_id    INTEGER NOT NULL REFERENCES products (id),
    PRIMARY KEY (credential_id, product_id)
);

-- The organisation an audit event concerns. Hashed into the chain when
-- present (app/src/backend/services/audit/chain.rs), so rows from before
-- keep their hashes; those rows are mapped at query time: up to
-- audit_upto, subject_user_id named the customer, whose id is the
-- organisation's.
ALTER TABLE audit_events ADD COLUMN subject_org_id INTEGER;
CREATE INDEX audit_events_subject_org ON audit_events (subject_org_id, id);
CREATE TABLE organisation_migration (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    audit_upto INTEGER NOT NULL
);
INSERT INTO organisation_migration (id, audit_upto) SELECT 1, COALESCE(MAX(id), 0) FROM audit_events;

-- Harbor: a credential's robot belongs to its organisation's outbox.
DROP TRIGGER harbor_outbox_credential_ins;
DROP TRIGGER harbor_outbox_credential_upd;
DROP TRIGGER harbor_outbox_account_upd;
CREATE TRIGGER harbor_outbox_credential_ins AFTER INSERT ON registry_credentials
WHEN NEW.kind = 'pull'
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT COALESCE(NEW.organisation_id, NEW.owner_user_id), 'credential', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_credential_upd
AFTER UPDATE OF secret_hash, expires_at, revoked_at ON registry_credentials
WHEN NEW.kind = 'pull'
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT COALESCE(NEW.organisation_id, NEW.owner_user_id), 'credential', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;
CREATE TRIGGER harbor_outbox_account_upd AFTER UPDATE OF disabled ON users
WHEN NEW.organisation_id IS NOT NULL AND OLD.disabled IS NOT NEW.disabled
BEGIN
    INSERT INTO harbor_outbox (customer_id, cause, created_at)
    SELECT NEW.organisation_id, 'account', strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
    WHERE (SELECT harbor FROM provisioning WHERE id = 1) = 1;
END;

-- The token service's cache follows memberships and limits too.
CREATE TRIGGER users_membership_epoch_upd AFTER UPDATE OF organisation_id, member_role, joined_at ON users
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_products_epoch_ins AFTER INSERT ON credential_products
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER credential_products_epoch_del AFTER DELETE ON credential_products
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
CREATE TRIGGER registry_credentials_limits_epoch_upd AFTER UPDATE OF networks, organisation_id, holder ON registry_credentials
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
