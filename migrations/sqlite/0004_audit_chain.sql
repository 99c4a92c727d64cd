-- Tamper evidence, retention and filter indexes for the audit log (SQLite).
-- Keep in step with migrations/postgres/0004_audit_chain.sql.
--
-- audit_seals: each event's hash, SHA-256 (hex) chaining it to the event
-- before it in id order; written once by the sealer
-- (app/src/server/audit_chain.rs) in a table of its own, so the events are
-- never updated. See ARCHITECTURE.md, *Audit*, for the exact definition.
CREATE TABLE audit_seals (
    event_id INTEGER PRIMARY KEY,
    hash     TEXT    NOT NULL
);

-- One row: how far the chain is sealed, and the retention anchor (events up
-- to anchor_id were archived and deleted; anchor_hash is the chain head at
-- that cut, where verification starts).
CREATE TABLE audit_chain (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    sealed_id   INTEGER NOT NULL,
    sealed_hash TEXT    NOT NULL,
    anchor_id   INTEGER NOT NULL,
    anchor_hash TEXT    NOT NULL,
    CHECK (anchor_id <= sealed_id)
);
INSERT INTO audit_chain (id, sealed_id, sealed_hash, anchor_id, anchor_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
        0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_chain_no_insert BEFORE INSERT ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain has exactly one row');
END;

CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain has exactly one row');
END;

-- Both marks only move forward; the anchor must be a sealed event's hash.
CREATE TRIGGER audit_chain_forward BEFORE UPDATE ON audit_chain
WHEN NEW.sealed_id < OLD.sealed_id OR NEW.anchor_id < OLD.anchor_id
  OR (NEW.anchor_id <> OLD.anchor_id AND NEW.anchor_hash IS NOT
      (SELECT hash FROM audit_seals WHERE event_id = NEW.anchor_id))
BEGIN
    SELECT RAISE(ABORT, 'audit_chain only moves forward, to sealed events');
END;

-- Append-only, with one exception: retention deletes the events (and their
-- seals) up to the anchor, which is moved only after the archive was written.
DROP TRIGGER audit_events_no_delete;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
WHEN OLD.id > (SELECT anchor_id FROM audit_chain WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (only archived events up to the retention anchor may be deleted)');
END;

CREATE TRIGGER audit_seals_no_update BEFORE UPDATE ON audit_seals
BEGIN
    SELECT RAISE(ABORT, 'audit_seals is append-only');
END;

CREATE TRIGGER audit_seals_no_delete BEFORE DELETE ON audit_seals
WHEN OLD.event_id > (SELECT anchor_id FROM audit_chain WHERE id = 1)
BEGIN
    SELECT RAISE(ABORT, 'audit_seals is append-only (only archived events up to the retention anchor may be deleted)');
END;

-- Filters (each ends in id for keyset paging, newest first).
CREATE INDEX audit_events_target ON audit_events (target_id, id);
CREATE INDEX audit_events_ip ON audit_events (ip, id);
CREATE INDEX audit_events_outcome ON audit_events (outcome, id);
CREATE INDEX audit_events_credential ON audit_events
    (COALESCE(json_extract(details, '$.username'), json_extract(details, '$.credential')), id);

-- Events per UTC day, action, outcome (and repository, for pulls), counted
-- by the sealer as it seals each event exactly once: the charts read this
-- instead of scanning the log. Derived data; retention leaves it alone.
CREATE TABLE audit_daily (
    day       TEXT   NOT NULL,
    action    TEXT   NOT NULL,
    outcome   TEXT   NOT NULL,
    target_id TEXT   NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (day, action, outcome, target_id)
);

-- The smallest and largest event id per UTC hour of occurred_at, kept by the
-- sealer: a time filter becomes an id range (exact: every event of those
-- hours lies inside it), so its pages are read in id order like the others.
CREATE TABLE audit_hours (
    hour   TEXT   NOT NULL PRIMARY KEY,
    min_id BIGINT NOT NULL,
    max_id BIGINT NOT NULL
);
