-- Accounts and the append-only audit log (SQLite).
-- Keep in step with migrations/postgres/0001_accounts_and_audit.sql: same
-- tables, columns, constraints and indexes; only the type spellings differ.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    email         TEXT    NOT NULL UNIQUE CHECK (length(email) <= 254),
    password_hash TEXT    NOT NULL,
    role          TEXT    NOT NULL CHECK (role IN ('customer', 'admin', 'auditor')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    TEXT    NOT NULL,
    last_login_at TEXT
);

CREATE TABLE audit_events (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    occurred_at   TEXT    NOT NULL,
    actor_user_id INTEGER,
    actor         TEXT    NOT NULL,
    action        TEXT    NOT NULL,
    target_type   TEXT,
    target_id     TEXT,
    outcome       TEXT    NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
    ip            TEXT,
    user_agent    TEXT,
    details       TEXT    NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_events_occurred_at ON audit_events (occurred_at);
CREATE INDEX audit_events_actor_user_id ON audit_events (actor_user_id, id);
CREATE INDEX audit_events_action ON audit_events (action, id);

-- Append-only, enforced by the database as well as by the code.
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
