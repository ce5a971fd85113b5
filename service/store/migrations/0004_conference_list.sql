-- Listing an account's conferences newest first (no semicolons in comments:
-- the runner splits on them). The index carries the rowid, the list order.
CREATE INDEX conferences_account ON conferences (account_sid)
