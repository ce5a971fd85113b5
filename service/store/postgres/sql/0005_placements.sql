-- Calls a Create is placing at a remote carrier and has not recorded yet:
-- written in the transaction that decides the Create, deleted in the one
-- that records it (or once the call is known not to ring). A row left by a
-- process that died in between is looked up at the carrier by its key at
-- the next start, and the call ended.
CREATE TABLE placements (
    call_key TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    conference_sid TEXT NOT NULL,
    placed_at DOUBLE PRECISION NOT NULL,
    -- The replica placing it (its id): at its next start it is the one that
    -- knows none of its own is in flight any more.
    owner TEXT
);
