-- Billing that converges with Stripe: what is wrong with an order's latest
-- payment, and the runs of the reconciliation that re-reads Stripe
-- (app/src/backend/services/billing/reconcile.rs). Keep in step with
-- migrations/sqlite/0011_reconcile.sql.

-- The latest paid payment of an order (a one-time purchase's, or the
-- invoice of a subscription's current period): fully refunded, disputed
-- (a dispute is open) or the dispute was lost. NULL: nothing wrong.
ALTER TABLE orders ADD COLUMN payment_issue TEXT
    CHECK (payment_issue IS NULL OR payment_issue IN ('refunded', 'disputed', 'dispute_lost'));

-- One row per reconciliation run: why it ran (the daily schedule, webhook
-- deliveries refused since the last run, the command line), the orders it
-- re-read, those it changed and those it could not read (Stripe failed).
CREATE TABLE billing_reconciliations (
    id          BIGSERIAL PRIMARY KEY,
    cause       TEXT    NOT NULL CHECK (cause IN ('schedule', 'refusals', 'cli')),
    since       TIMESTAMPTZ,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    checked     BIGINT NOT NULL DEFAULT 0,
    repaired    BIGINT NOT NULL DEFAULT 0,
    failed      BIGINT NOT NULL DEFAULT 0,
    error       TEXT CHECK (error IS NULL OR length(error) <= 2000)
);
CREATE INDEX billing_reconciliations_started ON billing_reconciliations (started_at);
