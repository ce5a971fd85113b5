-- Arrival marks for the account watch (Store.floor): the id of the
-- transaction that created each conference. A read's horizon is the oldest
-- transaction still running when it began (pg_snapshot_xmin), so no
-- conference below it can commit later, and writers share no lock for it.
-- Rows created before this migration carry the migration's own id.
ALTER TABLE conferences ADD COLUMN created_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX conferences_account_arrival ON conferences (account_sid, created_xid);
