-- Text search over the audit log (SQLite). Keep in step with
-- migrations/postgres/0006_audit_search.sql.
--
-- audit_search: one row per event (rowid = the event's id) holding its
-- search text, computed in Rust (app/src/domain/audit_search.rs: the
-- lowercased actor, target, IP, user agent and detail values), written in
-- the event's own transaction. A trigram index: `body GLOB '*q*'` finds the
-- events whose text contains q through the trigrams of q (queries of 1 or
-- 2 characters scan). case_sensitive 1: the text and the query are already
-- lowercased, and GLOB is exact, so both databases match the same bytes.
-- detail=none keeps the index about a third of the size of detail=full;
-- GLOB checks each candidate against the stored text.
-- Derived data: retention deletes the rows of the events it deletes.
CREATE VIRTUAL TABLE audit_search USING fts5(body, tokenize = 'trigram case_sensitive 1', detail = none);

-- How far the back-fill of events written before this migration has got
-- (server/db/audit_search.rs, run by `Db::migrate` before serving): every
-- event with id <= done_upto has its audit_search row.
CREATE TABLE audit_search_backfill (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    done_upto INTEGER NOT NULL
);
INSERT INTO audit_search_backfill (id, done_upto) VALUES (1, 0);
