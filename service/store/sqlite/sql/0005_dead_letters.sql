-- Status callbacks given up on after the last retry. Kept until redelivered
-- or until event retention removes the event they report. `params` is the
-- form the receiver would have got (JSON), `token` its
-- I-Twilio-Idempotency-Token, `url` and `method` where and how it was sent.
CREATE TABLE callback_dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_sid TEXT NOT NULL,
    conference_sid TEXT NOT NULL,
    revision INTEGER NOT NULL,
    kind TEXT NOT NULL,
    call_sid TEXT,
    callback_event TEXT NOT NULL,
    method TEXT NOT NULL,
    url TEXT NOT NULL,
    params TEXT NOT NULL,
    token TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_outcome TEXT NOT NULL,
    given_up_at REAL NOT NULL
);
CREATE INDEX callback_dead_letters_account ON callback_dead_letters (account_sid, id);
CREATE INDEX callback_dead_letters_event ON callback_dead_letters (conference_sid, revision)
