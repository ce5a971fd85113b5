-- Listing an account's conferences newest first, by creation order (ord).
CREATE INDEX conferences_account ON conferences (account_sid, ord);
