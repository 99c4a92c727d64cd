-- The pull gateway and per-version access (app/src/backend/services/gateway/).
-- Keep in step with migrations/postgres/0014_gateway.sql.

-- What a product's entitlements cover (domain::release::Licence): every
-- version while access lasts, or (perpetual) the versions released until
-- the entitlement's end, for good. gateway: the product is pulled through
-- the portal's pull gateway only (the token service grants customers
-- nothing on the upstream registry for it). A perpetual licence needs the
-- gateway: only it sees versions.
ALTER TABLE products ADD COLUMN licence TEXT NOT NULL DEFAULT 'subscription' CHECK (licence IN ('subscription', 'perpetual'));
ALTER TABLE products ADD COLUMN gateway BOOLEAN NOT NULL DEFAULT FALSE;

-- A release: a digest in a repository and when it was released: the first
-- time the portal saw it (source push: a registry notification; gateway:
-- the gateway read it), unless a vendor admin set the time (source admin).
CREATE TABLE releases (
    repository  TEXT NOT NULL CHECK (length(repository) <= 255),
    digest      TEXT NOT NULL CHECK (length(digest) <= 200),
    released_at TEXT NOT NULL,
    first_seen  TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('push', 'gateway', 'admin')),
    tag         TEXT CHECK (tag IS NULL OR length(tag) <= 128),
    set_by      TEXT CHECK (set_by IS NULL OR length(set_by) <= 300),
    PRIMARY KEY (repository, digest)
);

-- What a manifest refers to, read from the manifest itself when the gateway
-- served or listed it: blob (config, layers), child (an index's manifests),
-- subject (the manifest a signature, attestation or SBOM is about). A blob
-- is allowed when a manifest the customer may pull refers to it.
CREATE TABLE manifest_refs (
    repository TEXT NOT NULL CHECK (length(repository) <= 255),
    manifest   TEXT NOT NULL CHECK (length(manifest) <= 200),
    kind       TEXT NOT NULL CHECK (kind IN ('blob', 'child', 'subject')),
    target     TEXT NOT NULL CHECK (length(target) <= 200),
    PRIMARY KEY (repository, manifest, kind, target)
);
CREATE INDEX manifest_refs_target ON manifest_refs (repository, target, kind);

-- The token service's cache follows a product's licence and gateway flag.
CREATE TRIGGER products_delivery_epoch_upd AFTER UPDATE OF licence, gateway ON products
BEGIN UPDATE access_epoch SET epoch = epoch + 1 WHERE id = 1; END;
