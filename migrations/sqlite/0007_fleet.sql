-- What replicas share (SQLite). Keep in step with migrations/postgres/0007_fleet.sql.

-- Background jobs, each run once across the fleet (app/src/backend/services/jobs.rs):
-- a replica takes a job's lease with one conditional UPDATE (due, and no
-- live lease), runs it, then records the outcome and the next run. A
-- replica that dies mid-job leaves a lease that expires at lease_until.
CREATE TABLE jobs (
    name             TEXT PRIMARY KEY,
    next_run_at      TEXT NOT NULL,
    lease_holder     TEXT,
    lease_until      TEXT,
    last_started_at  TEXT,
    last_finished_at TEXT,
    last_ok          INTEGER,
    last_error       TEXT,
    runs             INTEGER NOT NULL DEFAULT 0
);

-- Rate limits shared by every replica (app/src/backend/web/ratelimit.rs):
-- one fixed window per key ("login:net:203.0.113.7", "token:net:2001:db8::/64"),
-- counted with one upsert; old windows are swept by a job.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start TEXT NOT NULL,
    count        INTEGER NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
