-- Listing an account's conferences newest first.
-- The index carries the rowid, the list order.
CREATE INDEX conferences_account ON conferences (account_sid)
