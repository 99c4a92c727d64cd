-- What replicas share (PostgreSQL). Keep in step with migrations/sqlite/0007_fleet.sql.

-- Background jobs, each run once across the fleet (app/src/backend/services/jobs.rs):
-- a replica takes a job's lease with one conditional UPDATE (due, and no
-- live lease), runs it, then records the outcome and the next run. A
-- replica that dies mid-job leaves a lease that expires at lease_until.
CREATE TABLE jobs (
    name             TEXT PRIMARY KEY,
    next_run_at      TIMESTAMPTZ NOT NULL,
    lease_holder     TEXT,
    lease_until      TIMESTAMPTZ,
    last_started_at  TIMESTAMPTZ,
    last_finished_at TIMESTAMPTZ,
    last_ok          BOOLEAN,
    last_error       TEXT,
    runs             BIGINT NOT NULL DEFAULT 0
);

-- Rate limits shared by every replica (app/src/backend/web/ratelimit.rs):
-- one fixed window per key ("login:net:203.0.113.7", "token:net:2001:db8::/64"),
-- counted with one upsert; old windows are swept by a job.
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    window_start TIMESTAMPTZ NOT NULL,
    count        BIGINT NOT NULL
);
CREATE INDEX rate_limits_window ON rate_limits (window_start);
