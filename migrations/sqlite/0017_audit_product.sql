-- The auditor's product filter (app/src/backend/db/audit/search.rs,
-- `product_condition`): events naming a product in their details
-- (entitlements, orders, checkouts, access requests), newest first.
-- Keep in step with migrations/postgres/0017_audit_product.sql.
CREATE INDEX audit_events_product ON audit_events (json_extract(details, '$.product_id'), id);
