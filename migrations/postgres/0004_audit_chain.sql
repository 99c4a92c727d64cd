-- Tamper evidence, retention and filter indexes for the audit log (PostgreSQL).
-- Keep in step with migrations/sqlite/0004_audit_chain.sql.
--
-- audit_seals: each event's hash, SHA-256 (hex) chaining it to the event
-- before it in id order; written once by the sealer
-- (app/src/server/audit_chain.rs) in a table of its own, so the events are
-- never updated (no second version of each row, no index churn). See
-- ARCHITECTURE.md, *Audit*, for the exact definition.
CREATE TABLE audit_seals (
    event_id BIGINT PRIMARY KEY,
    hash     TEXT   NOT NULL
);

-- One row: how far the chain is sealed, and the retention anchor (events up
-- to anchor_id were archived and deleted; anchor_hash is the chain head at
-- that cut, where verification starts).
CREATE TABLE audit_chain (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    sealed_id   BIGINT NOT NULL,
    sealed_hash TEXT   NOT NULL,
    anchor_id   BIGINT NOT NULL,
    anchor_hash TEXT   NOT NULL,
    CHECK (anchor_id <= sealed_id)
);
INSERT INTO audit_chain (id, sealed_id, sealed_hash, anchor_id, anchor_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000',
        0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION audit_chain_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.sealed_id >= OLD.sealed_id AND NEW.anchor_id >= OLD.anchor_id
       AND (NEW.anchor_id = OLD.anchor_id
            OR NEW.anchor_hash IS NOT DISTINCT FROM (SELECT hash FROM audit_seals WHERE event_id = NEW.anchor_id)) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit_chain has one row and only moves forward, to sealed events';
END
$$;

CREATE TRIGGER audit_chain_guard BEFORE INSERT OR UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_guard();
CREATE TRIGGER audit_chain_no_truncate BEFORE TRUNCATE ON audit_chain
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Append-only, with one exception: retention deletes the events (and their
-- seals) up to the anchor, which is moved only after the archive was written.
CREATE FUNCTION audit_events_retention_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.id <= (SELECT anchor_id FROM audit_chain WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;

CREATE FUNCTION audit_seals_retention_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND OLD.event_id <= (SELECT anchor_id FROM audit_chain WHERE id = 1) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_seals is append-only';
END
$$;

DROP TRIGGER audit_events_no_update_delete ON audit_events;
CREATE TRIGGER audit_events_guard BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_retention_guard();
CREATE TRIGGER audit_seals_guard BEFORE UPDATE OR DELETE ON audit_seals
    FOR EACH ROW EXECUTE FUNCTION audit_seals_retention_guard();
CREATE TRIGGER audit_seals_no_truncate BEFORE TRUNCATE ON audit_seals
    FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Filters (each ends in id for keyset paging, newest first).
CREATE INDEX audit_events_target ON audit_events (target_id, id);
CREATE INDEX audit_events_ip ON audit_events (ip, id);
CREATE INDEX audit_events_outcome ON audit_events (outcome, id);
CREATE INDEX audit_events_credential ON audit_events
    ((COALESCE(details->>'username', details->>'credential')), id);

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
