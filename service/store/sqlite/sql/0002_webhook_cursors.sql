-- Status callback delivery.
-- webhook_cursors: per conference, every callback of the events up to
-- `revision` is done, and so are the first `step` callbacks of the next event.
-- `sequence` is the next conference SequenceNumber.
-- webhook_call_sequences: the next call-progress SequenceNumber of each call.
CREATE TABLE webhook_cursors (
    conference_sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    revision INTEGER NOT NULL,
    step INTEGER NOT NULL,
    sequence INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE webhook_call_sequences (
    call_sid TEXT PRIMARY KEY,
    conference_sid TEXT NOT NULL,
    sequence INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX webhook_call_sequences_conference ON webhook_call_sequences (conference_sid);

-- History from before this migration is not replayed as callbacks.
INSERT INTO webhook_cursors (conference_sid, account_sid, revision, step, sequence)
    SELECT sid, account_sid, revision, 0, 1 FROM conferences
