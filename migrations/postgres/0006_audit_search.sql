-- Text search over the audit log (PostgreSQL). Keep in step with
-- migrations/sqlite/0006_audit_search.sql.
--
-- audit_search: one row per event holding its search text, computed in
-- Rust (app/src/domain/audit_search.rs: the lowercased actor, target, IP,
-- user agent and detail values), written in the event's own transaction.
-- Searched with `body LIKE '%q%'` (q lowercased and escaped: the same exact
-- substring rule as SQLite) through a pg_trgm GIN index; queries of 1 or 2
-- characters use strpos (a scan). The GIN index is built by the back-fill
-- once it has indexed the events that predate this migration
-- (server/db/audit_search.rs, `CREATE INDEX` on a full table is far faster
-- than growing the index row by row).
-- Derived data: retention deletes the rows of the events it deletes.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE audit_search (
    event_id BIGINT PRIMARY KEY,
    body     TEXT   NOT NULL
);
-- A finer histogram of the texts: the planner reads how common a searched
-- text is from it (LIKE's selectivity), to choose between walking ids
-- newest first (common text) and the trigram index (rare text).
ALTER TABLE audit_search ALTER COLUMN body SET STATISTICS 1000;

-- How far the back-fill of events written before this migration has got
-- (run by `Db::migrate` before serving): every event with id <= done_upto
-- has its audit_search row. Locked FOR UPDATE by each back-fill batch, so
-- replicas starting at once take turns.
CREATE TABLE audit_search_backfill (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    done_upto BIGINT  NOT NULL
);
INSERT INTO audit_search_backfill (id, done_upto) VALUES (1, 0);
