-- The PostgreSQL schema: conferences, participants, the event log, Create
-- request ids, settings and status callback cursors. The same rows as the
-- SQLite store, with the rules held by constraints: one active conference per
-- friendly name and account, one active holder per label, one request id per
-- account, one event per conference revision.
CREATE TABLE conferences (
    ord BIGINT GENERATED ALWAYS AS IDENTITY,
    sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    friendly_name TEXT NOT NULL,
    status TEXT NOT NULL,
    revision BIGINT NOT NULL,
    data TEXT NOT NULL
);
CREATE UNIQUE INDEX conferences_active_name
    ON conferences (account_sid, friendly_name) WHERE status <> 'completed';

CREATE TABLE participants (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sid TEXT NOT NULL UNIQUE,
    account_sid TEXT NOT NULL,
    conference_sid TEXT NOT NULL REFERENCES conferences (sid),
    label TEXT,
    active BOOLEAN NOT NULL,
    muted BOOLEAN NOT NULL,
    hold BOOLEAN NOT NULL,
    coaching BOOLEAN NOT NULL,
    revision BIGINT NOT NULL,
    data TEXT NOT NULL,
    -- The replica whose dialer drives this call (see replicas).
    owner TEXT
);
CREATE INDEX participants_conference ON participants (conference_sid, seq);
CREATE INDEX participants_conference_active
    ON participants (conference_sid, seq) WHERE active;
CREATE UNIQUE INDEX participants_active_label
    ON participants (conference_sid, label) WHERE active AND label IS NOT NULL;
CREATE INDEX participants_label ON participants (conference_sid, label, seq);
CREATE INDEX participants_everywhere_active ON participants (seq) WHERE active;

CREATE TABLE events (
    conference_sid TEXT NOT NULL,
    revision BIGINT NOT NULL,
    account_sid TEXT NOT NULL,
    time DOUBLE PRECISION NOT NULL,
    type TEXT NOT NULL,
    call_sid TEXT,
    data TEXT NOT NULL,
    PRIMARY KEY (conference_sid, revision)
);
CREATE INDEX events_time ON events (time);

CREATE TABLE requests (
    account_sid TEXT NOT NULL,
    request_id TEXT NOT NULL,
    call_sid TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    PRIMARY KEY (account_sid, request_id)
);

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE webhook_cursors (
    conference_sid TEXT PRIMARY KEY,
    account_sid TEXT NOT NULL,
    revision BIGINT NOT NULL,
    step INTEGER NOT NULL,
    sequence INTEGER NOT NULL
);

CREATE TABLE webhook_call_sequences (
    call_sid TEXT PRIMARY KEY,
    conference_sid TEXT NOT NULL,
    sequence INTEGER NOT NULL
);
CREATE INDEX webhook_call_sequences_conference ON webhook_call_sequences (conference_sid);

-- Live replicas: each refreshes its heartbeat; the calls of one whose
-- heartbeat has expired are claimed and resolved by a survivor.
CREATE TABLE replicas (
    id TEXT PRIMARY KEY,
    heartbeat_at TIMESTAMPTZ NOT NULL
);
