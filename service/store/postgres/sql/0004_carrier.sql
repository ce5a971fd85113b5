-- The carrier side of each call placed through the telephony port: the
-- carrier's conference SID the call is in (effects name it) and the highest
-- call-progress SequenceNumber applied (older reports change nothing).
CREATE TABLE carrier_calls (
    call_sid TEXT PRIMARY KEY,
    carrier_conference_sid TEXT NOT NULL,
    last_sequence BIGINT
);

-- The highest conference-event SequenceNumber applied per participant of a
-- carrier conference (scope: '<carrier conference SID>/<CallSid>').
CREATE TABLE carrier_event_sequences (
    scope TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL
);

-- Carrier callbacks already applied, by I-Twilio-Idempotency-Token: a retry
-- of one (on this replica or another) changes nothing.
CREATE TABLE carrier_callbacks (
    token TEXT PRIMARY KEY,
    received_at DOUBLE PRECISION NOT NULL
);
