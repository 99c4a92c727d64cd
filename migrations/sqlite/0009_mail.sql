-- Mail, the single-use links it carries, and notices (SQLite). Keep in step with
-- migrations/postgres/0009_mail.sql.

-- Every mail the portal sends: written in the transaction of the event that
-- causes it, delivered by the mail.deliver job (once across the fleet, with
-- retries and backoff; app/src/backend/services/mail/). No secret sits
-- here: a mail's link is made when it is delivered, and account_links keeps
-- only its hash. local_copy holds the text as delivered only in demo mode
-- without SMTP (the local mailbox page shows it).
CREATE TABLE mail_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at      TEXT        NOT NULL,
    kind            TEXT        NOT NULL CHECK (kind IN ('password_reset', 'invitation', 'verify_email', 'signup_taken',
                                                         'password_changed', 'email_change', 'email_changed',
                                                         'access_ending', 'grace_started', 'grace_ended', 'admin_digest')),
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
    entitlement_id  INTEGER     REFERENCES entitlements (id)
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id, id);

-- Single-use links sent by mail (password reset, invitation, address
-- confirmation, address change): the SHA-256 of the token, never the token.
CREATE TABLE account_links (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    INTEGER     NOT NULL REFERENCES users (id),
    purpose    TEXT        NOT NULL CHECK (purpose IN ('reset', 'invite', 'verify', 'email_change')),
    -- email_change: the address the link confirms (the mail went there)
    new_email  TEXT        CHECK (new_email IS NULL OR length(new_email) <= 254),
    token_hash TEXT        NOT NULL UNIQUE,
    mail_id    INTEGER     NOT NULL REFERENCES mail_outbox (id),
    created_at TEXT        NOT NULL,
    expires_at TEXT        NOT NULL,
    used_at    TEXT
);
CREATE INDEX account_links_user ON account_links (user_id, purpose);

-- Raised when a password is reset or changed: a session made under an
-- older value is over (app/src/backend/services/auth.rs).
ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0;

-- When the account's address was shown to be its owner's (a confirmation,
-- reset or invitation link followed; accounts made by an admin, the CLI or
-- the demo count as confirmed). Unconfirmed accounts may log in and browse
-- but not buy or make credentials. Accounts from before count as confirmed.
ALTER TABLE users ADD COLUMN email_verified_at TEXT;
UPDATE users SET email_verified_at = created_at;

-- Notices (app/src/backend/services/notices.rs), each sent once per
-- entitlement, kind and occasion, across replicas and restarts: the
-- primary key is the guard. occasion: for `ending`, the threshold and the
-- end it counts to ("7d 2027-03-12T00:00:00Z"); for the grace notices, the
-- grace end. mail_id is NULL when the customer opted out of notices.
CREATE TABLE notices (
    entitlement_id INTEGER     NOT NULL REFERENCES entitlements (id),
    kind           TEXT        NOT NULL CHECK (kind IN ('ending', 'grace_started', 'grace_ended')),
    occasion       TEXT        NOT NULL CHECK (length(occasion) <= 64),
    mail_id        INTEGER     REFERENCES mail_outbox (id),
    created_at     TEXT        NOT NULL,
    PRIMARY KEY (entitlement_id, kind, occasion)
);

-- The admins' daily digest, once per day of the configured time zone.
CREATE TABLE digests (
    day        TEXT        PRIMARY KEY,
    created_at TEXT        NOT NULL,
    mails      INTEGER     NOT NULL
);

-- Optional mail (notices, the digest): whether the account opted out, and
-- the token of its one-click unsubscribe link (it can only unsubscribe).
ALTER TABLE users ADD COLUMN notices_opt_out BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN unsubscribe_token TEXT;
CREATE UNIQUE INDEX users_unsubscribe_token ON users (unsubscribe_token);
