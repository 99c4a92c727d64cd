-- Requests for a trial or for contact with sales (app/src/backend/services/
-- requests.rs), and the mail that answers them (SQLite). Keep in step with
-- migrations/postgres/0016_requests.sql.
--
-- SQLite cannot widen mail_outbox's CHECK in place, and sqlx runs this file
-- in a transaction with foreign keys on (they cannot be turned off inside
-- one). So the outbox and the two tables that refer to it (account_links,
-- notices) are rebuilt together: the new children refer to the new outbox,
-- the old children go first (nothing refers to them), then the old outbox
-- (nothing refers to it any more), and the renames carry the references
-- over (SQLite rewrites REFERENCES on a table rename). All in the one
-- transaction: a crash leaves the old tables whole.

-- One request per organisation and product while it is open (the partial
-- unique index): asking again says when the first was made.
CREATE TABLE access_requests (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    organisation_id INTEGER NOT NULL REFERENCES organisations (id),
    requested_by    INTEGER NOT NULL REFERENCES users (id),
    product_id      INTEGER NOT NULL REFERENCES products (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('trial', 'contact')),
    message         TEXT    NOT NULL CHECK (length(message) <= 2000),
    status          TEXT    NOT NULL CHECK (status IN ('open', 'granted', 'answered')),
    created_at      TEXT    NOT NULL,
    answered_at     TEXT,
    answered_by     INTEGER REFERENCES users (id),
    answer          TEXT    CHECK (answer IS NULL OR length(answer) <= 4000),
    entitlement_id  INTEGER REFERENCES entitlements (id)
);
CREATE UNIQUE INDEX access_requests_one_open ON access_requests (organisation_id, product_id) WHERE status = 'open';
CREATE INDEX access_requests_status ON access_requests (status, id);

CREATE TABLE mail_outbox_new (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('password_reset', 'invitation', 'verify_email', 'signup_taken',
                                                         'password_changed', 'email_change', 'email_changed',
                                                         'access_ending', 'grace_started', 'grace_ended', 'admin_digest',
                                                         'request_answered')),
    user_id         INTEGER     NOT NULL REFERENCES users (id),
    to_address      TEXT        NOT NULL CHECK (length(to_address) <= 254),
    status          TEXT        NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER     NOT NULL DEFAULT 0,
    next_attempt_at TEXT        NOT NULL,
    last_error      TEXT        CHECK (last_error IS NULL OR length(last_error) <= 500),
    sent_at         TEXT,
    subject         TEXT        CHECK (subject IS NULL OR length(subject) <= 200),
    local_copy      TEXT,
    -- notices: the entitlement they are about (read when delivered)
    entitlement_id  INTEGER     REFERENCES entitlements (id),
    -- an answer to an access request (read when delivered)
    request_id      INTEGER     REFERENCES access_requests (id)
);
INSERT INTO mail_outbox_new (id, created_at, kind, user_id, to_address, status, attempts, next_attempt_at, last_error,
                             sent_at, subject, local_copy, entitlement_id)
    SELECT id, created_at, kind, user_id, to_address, status, attempts, next_attempt_at, last_error,
           sent_at, subject, local_copy, entitlement_id FROM mail_outbox;

CREATE TABLE account_links_new (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER     NOT NULL REFERENCES users (id),
    purpose    TEXT        NOT NULL CHECK (purpose IN ('reset', 'invite', 'verify', 'email_change')),
    -- email_change: the address the link confirms (the mail went there)
    new_email  TEXT        CHECK (new_email IS NULL OR length(new_email) <= 254),
    token_hash TEXT        NOT NULL UNIQUE,
    mail_id    INTEGER     NOT NULL REFERENCES mail_outbox_new (id),
    created_at TEXT        NOT NULL,
    expires_at TEXT        NOT NULL,
    used_at    TEXT
);
INSERT INTO account_links_new (id, user_id, purpose, new_email, token_hash, mail_id, created_at, expires_at, used_at)
    SELECT id, user_id, purpose, new_email, token_hash, mail_id, created_at, expires_at, used_at FROM account_links;

CREATE TABLE notices_new (
    entitlement_id INTEGER     NOT NULL REFERENCES entitlements (id),
    kind           TEXT        NOT NULL CHECK (kind IN ('ending', 'grace_started', 'grace_ended')),
    occasion       TEXT        NOT NULL CHECK (length(occasion) <= 64),
    mail_id        INTEGER     REFERENCES mail_outbox_new (id),
    created_at     TEXT        NOT NULL,
    PRIMARY KEY (entitlement_id, kind, occasion)
);
INSERT INTO notices_new (entitlement_id, kind, occasion, mail_id, created_at)
    SELECT entitlement_id, kind, occasion, mail_id, created_at FROM notices;

DROP TABLE account_links;
DROP TABLE notices;
DROP TABLE mail_outbox;
ALTER TABLE mail_outbox_new RENAME TO mail_outbox;
ALTER TABLE account_links_new RENAME TO account_links;
ALTER TABLE notices_new RENAME TO notices;
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, id);
CREATE INDEX account_links_user ON account_links (user_id, purpose);
