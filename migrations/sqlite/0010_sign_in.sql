-- Signing in: two-factor sign-in and the sessions of each account (SQLite). Keep in step with
-- migrations/postgres/0010_sign_in.sql.

-- An account's TOTP secret, sealed like the signing keys (AES-256-GCM under
-- the key-encryption key, bound to the user id; see
-- app/src/backend/services/two_factor.rs). enabled_at is NULL while the
-- enrolment waits for its first code. last_step: the last time step a
-- code was accepted for; a code is accepted once (no replay).
CREATE TABLE two_factor (
    user_id    INTEGER     PRIMARY KEY REFERENCES users (id),
    kek_id     TEXT        NOT NULL,
    nonce      BLOB        NOT NULL,
    sealed     BLOB        NOT NULL,
    created_at TEXT        NOT NULL,
    enabled_at TEXT,
    last_step  INTEGER     NOT NULL DEFAULT 0
);

-- Single-use recovery codes: only their SHA-256.
CREATE TABLE recovery_codes (
    user_id   INTEGER     NOT NULL REFERENCES users (id),
    code_hash TEXT        NOT NULL,
    used_at   TEXT,
    PRIMARY KEY (user_id, code_hash)
);

-- Every logged-in session of an account (app/src/backend/services/auth.rs):
-- its random id (kept in the session), when it began and was last seen
-- (at most every 5 minutes), from where. A session whose row is gone is
-- over: an admin or the owner ended it, or every session of the account
-- ended (a new password, "log out everywhere", a disabled account).
CREATE TABLE user_sessions (
    id           TEXT        PRIMARY KEY CHECK (length(id) <= 64),
    user_id      INTEGER     NOT NULL REFERENCES users (id),
    created_at   TEXT        NOT NULL,
    last_seen_at TEXT        NOT NULL,
    ip           TEXT        CHECK (ip IS NULL OR length(ip) <= 64),
    user_agent   TEXT        CHECK (user_agent IS NULL OR length(user_agent) <= 256)
);
CREATE INDEX user_sessions_user ON user_sessions (user_id, last_seen_at);
