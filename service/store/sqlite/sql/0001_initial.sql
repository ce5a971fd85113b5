-- Conferences, participants, the event log, Create request ids, and settings.
CREATE TABLE conferences (
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    status TEXT NOT NULL,
    revision INTEGER NOT NULL,
    data TEXT NOT NULL
);
-- At most one active conference per friendly name and account.
CREATE UNIQUE INDEX conferences_active_name
    ON conferences (account_sid, friendly_name) WHERE status != 'completed';

CREATE TABLE participants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    call_sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    conference_sid TEXT NOT NULL REFERENCES conferences (sid),
    label TEXT,
    active INTEGER NOT NULL,
    muted INTEGER NOT NULL,
    hold INTEGER NOT NULL,
    coaching INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    data TEXT NOT NULL
);
CREATE INDEX participants_conference ON participants (conference_sid, seq);
-- Labels are unique among a conference's active participants.
CREATE UNIQUE INDEX participants_active_label
    ON participants (conference_sid, label) WHERE active = 1 AND label IS NOT NULL;
CREATE INDEX participants_label ON participants (conference_sid, label, seq);
CREATE INDEX participants_active ON participants (active) WHERE active = 1;

CREATE TABLE events (
    conference_sid TEXT NOT NULL,
    revision INTEGER NOT NULL,
    account_sid TEXT NOT NULL,
    time REAL NOT NULL,
    type TEXT NOT NULL,
    call_sid TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (conference_sid, revision)
) WITHOUT ROWID;

CREATE TABLE requests (
    account_sid TEXT NOT NULL,
    request_id TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (account_sid, request_id)
) WITHOUT ROWID;

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
