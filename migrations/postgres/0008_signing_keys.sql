-- The registry token-signing keys and the registry's shared secret, in the
-- database so every replica signs with the same key and follows a rotation
-- without a restart (PostgreSQL). Keep in step with
-- migrations/sqlite/0008_signing_keys.sql.
--
-- Private keys (PKCS#8 DER) and secrets are sealed with AES-256-GCM under a
-- key-encryption key from the environment (`kek_id`: first 8 hex digits of
-- its SHA-256), a random 96-bit nonce each, bound to their row by the
-- associated data (the kid; `registry secret NAME`). See
-- app/src/backend/services/signing_keys.rs and server/src/signing/.

CREATE TABLE signing_keys (
    kid          TEXT        PRIMARY KEY,
    state        TEXT        NOT NULL CHECK (state IN ('pending', 'active', 'retired')),
    kek_id       TEXT        NOT NULL,
    nonce        BYTEA       NOT NULL,
    sealed       BYTEA       NOT NULL,
    cert_pem     TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    activated_at TIMESTAMPTZ,
    retired_at   TIMESTAMPTZ
);
-- Exactly one key signs: at most one here, at least one kept by the code
-- (activation demotes and promotes in one transaction).
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

-- Named secrets the replicas share: `events`, the bearer secret the
-- registry sends with its notifications.
CREATE TABLE registry_secrets (
    name       TEXT        PRIMARY KEY,
    kek_id     TEXT        NOT NULL,
    nonce      BYTEA       NOT NULL,
    sealed     BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
