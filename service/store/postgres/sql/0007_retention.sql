-- Retention (service/store/postgres/retention.py): what each expiry finds by
-- an index, so a batch reads only the rows it removes.
-- A Create's request_id is kept for its window from the time it was
-- recorded; ids recorded before this migration count from now.
ALTER TABLE requests ADD COLUMN recorded_at DOUBLE PRECISION NOT NULL DEFAULT 0;
UPDATE requests SET recorded_at = EXTRACT(EPOCH FROM now());
CREATE INDEX requests_recorded ON requests (recorded_at);

-- Ended participants by the time their call ended (a row of an older version
-- without ended_at counts from its last change). Only ended rows are indexed.
CREATE INDEX participants_ended ON participants
    ((COALESCE(data::jsonb ->> 'ended_at', data::jsonb ->> 'date_updated')::double precision))
    WHERE NOT active;

-- Ended conferences by the time they ended (their last change).
CREATE INDEX conferences_ended ON conferences (((data::jsonb ->> 'date_updated')::double precision))
    WHERE status = 'completed';

-- The carrier's side of a call, by the last time it was written (its
-- placement or its last report); its carrier conference's calls.
ALTER TABLE carrier_calls ADD COLUMN touched_at DOUBLE PRECISION NOT NULL DEFAULT 0;
UPDATE carrier_calls SET touched_at = EXTRACT(EPOCH FROM now());
CREATE INDEX carrier_calls_touched ON carrier_calls (touched_at);
CREATE INDEX carrier_calls_conference ON carrier_calls (carrier_conference_sid);

CREATE INDEX carrier_callbacks_received ON carrier_callbacks (received_at);
CREATE INDEX placements_placed ON placements (placed_at);
CREATE INDEX callback_dead_letters_given_up ON callback_dead_letters (given_up_at);
